// Optional speed-up after install (esbuild's trick): where the platform
// package is there and links work, bin/kvgen.js is replaced by a hard link
// to the native binary, so `npx kvgen` starts without Node. It never fails
// the install: on any problem (scripts not allowed, Windows, another file
// system) the JavaScript launcher stays and works as it is.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

try {
	const platform = `${process.platform}-${process.arch}`;
	if (process.platform !== "win32" && !process.env.KVGEN_BINARY) {
		const native = require.resolve(`@kvgen/${platform}/bin/kvgen`);
		const shim = path.join(__dirname, "bin", "kvgen.js");
		const temp = `${shim}.${process.pid}.tmp`;
		fs.linkSync(native, temp);
		fs.renameSync(temp, shim);
	}
} catch {
	// The launcher stays.
}
