#!/usr/bin/env node
// The `kvgen` command of the npm package: runs the native kvgen binary of
// this platform, which npm installed as the optional dependency
// @kvgen/<os>-<arch>, with the same arguments, standard streams and exit
// code (128 + the signal's number when a signal stopped it).
"use strict";

const { spawnSync } = require("node:child_process");
const { constants } = require("node:os");

/** The package that carries the binary, by `${process.platform}-${process.arch}`. */
const PACKAGES = {
	"linux-x64": "@kvgen/linux-x64",
	"linux-arm64": "@kvgen/linux-arm64",
	"darwin-x64": "@kvgen/darwin-x64",
	"darwin-arm64": "@kvgen/darwin-arm64",
	"win32-x64": "@kvgen/win32-x64",
};

function fail(message) {
	process.stderr.write(`kvgen: ${message}\n`);
	process.exit(1);
}

function binary() {
	const override = process.env.KVGEN_BINARY;
	if (override) {
		return override;
	}
	const platform = `${process.platform}-${process.arch}`;
	const name = PACKAGES[platform];
	if (name === undefined) {
		fail(
			`there is no kvgen binary on npm for ${platform}; build it with \`cargo install kvgen\`, then run \`kvgen\` (or set KVGEN_BINARY to its path)`,
		);
	}
	const file = process.platform === "win32" ? "kvgen.exe" : "kvgen";
	try {
		return require.resolve(`${name}/bin/${file}`);
	} catch {
		fail(
			[
				`the package ${name}, which holds the kvgen binary for ${platform}, is not installed.`,
				"npm installs it as an optional dependency, so it is left out when optional dependencies are:",
				"- installed with --omit=optional (or --no-optional): install again without it;",
				"- a lockfile made on another platform (npm/cli#4828): delete node_modules and package-lock.json, then npm install;",
				`- or install kvgen without npm: \`cargo install kvgen\`, or set KVGEN_BINARY to a kvgen binary.`,
			].join("\n"),
		);
	}
}

const result = spawnSync(binary(), process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
	fail(`cannot run ${result.error.path ?? "the kvgen binary"}: ${result.error.message}`);
}
if (result.signal) {
	process.exit(128 + (constants.signals[result.signal] ?? 0));
}
process.exit(result.status ?? 1);
