#!/usr/bin/env node
// Assembles the npm packages of a kvgen release from built binaries:
//
//   node npm/assemble.js --version 0.1.0 --out DIR linux-x64=PATH [darwin-arm64=PATH …]
//
// writes DIR/kvgen (the launcher: npm/kvgen with the version and one exact
// optional dependency per platform given) and DIR/<platform> (the package
// @kvgen/<platform>: its package.json with `os` and `cpu`, and the binary in
// bin/). Then `npm pack` or `npm publish` each folder. The release workflow
// and tests/npm.rs both run it.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

/** npm's `os` and `cpu` of each platform kvgen ships. */
const PLATFORMS = {
	"linux-x64": { os: "linux", cpu: "x64" },
	"linux-arm64": { os: "linux", cpu: "arm64" },
	"darwin-x64": { os: "darwin", cpu: "x64" },
	"darwin-arm64": { os: "darwin", cpu: "arm64" },
	"win32-x64": { os: "win32", cpu: "x64" },
};

function usage(message) {
	process.stderr.write(`assemble: ${message}\nusage: node npm/assemble.js --version V --out DIR PLATFORM=BINARY…\n`);
	process.exit(2);
}

const args = process.argv.slice(2);
let version;
let out;
const binaries = {};
for (let i = 0; i < args.length; i += 1) {
	if (args[i] === "--version") {
		version = args[++i];
	} else if (args[i] === "--out") {
		out = args[++i];
	} else {
		const [platform, binary] = args[i].split("=");
		if (!(platform in PLATFORMS) || !binary) {
			usage(`not PLATFORM=BINARY with a platform of ${Object.keys(PLATFORMS).join(", ")}: ${args[i]}`);
		}
		binaries[platform] = binary;
	}
}
if (!version || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
	usage("--version X.Y.Z is required");
}
if (!out) {
	usage("--out DIR is required");
}
if (Object.keys(binaries).length === 0) {
	usage("no binary given");
}

const here = __dirname;
const launcher = JSON.parse(fs.readFileSync(path.join(here, "kvgen", "package.json"), "utf8"));
launcher.version = version;
launcher.optionalDependencies = {};
fs.rmSync(out, { recursive: true, force: true });

for (const [platform, binary] of Object.entries(binaries)) {
	const name = `@kvgen/${platform}`;
	launcher.optionalDependencies[name] = version;
	const dir = path.join(out, platform);
	const file = PLATFORMS[platform].os === "win32" ? "kvgen.exe" : "kvgen";
	fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
	fs.copyFileSync(binary, path.join(dir, "bin", file));
	fs.chmodSync(path.join(dir, "bin", file), 0o755);
	const manifest = {
		name,
		version,
		description: `The kvgen binary for ${platform}; installed by the kvgen package.`,
		os: [PLATFORMS[platform].os],
		cpu: [PLATFORMS[platform].cpu],
		files: [`bin/${file}`],
		preferUnplugged: true,
	};
	fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
}

const dir = path.join(out, "kvgen");
fs.mkdirSync(path.join(dir, "bin"), { recursive: true });
for (const file of ["bin/kvgen.js", "install.js"]) {
	fs.copyFileSync(path.join(here, "kvgen", file), path.join(dir, file));
}
fs.chmodSync(path.join(dir, "bin", "kvgen.js"), 0o755);
fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(launcher, null, 2)}\n`);
process.stdout.write(`assembled kvgen ${version} for ${Object.keys(binaries).join(", ")} in ${out}\n`);
