// Runs the behaviour tests in test/ inside workerd, against the modules kvgen
// generated into a copy of a fixture Worker. tests/e2e.rs sets:
//   KVGEN_E2E_PROJECT  the Worker folder kvgen ran in (required)
//   KVGEN_E2E_CONFIG   its Wrangler config file name (default wrangler.jsonc)
//   KVGEN_E2E_ENV      the Wrangler environment holding the binding, if any
//   KVGEN_E2E_KV_DIR   where kvgen wrote the modules (default src/kv)
//   KVGEN_E2E_MAIN     the Worker's main module (default src/index.ts)
// The tests import the generated modules as "@kv/<module>" (TypeScript or
// JavaScript ones alike) and use the KV
// binding E2E_KV that `kvgen create e2e-kv` added to the config.
import path from "node:path";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const project = process.env.KVGEN_E2E_PROJECT;
if (!project) {
	throw new Error("KVGEN_E2E_PROJECT is not set: run these tests through `cargo test --test e2e`");
}
const configFile = process.env.KVGEN_E2E_CONFIG ?? "wrangler.jsonc";
const environment = process.env.KVGEN_E2E_ENV || undefined;
const kvDir = process.env.KVGEN_E2E_KV_DIR ?? "src/kv";
const main = process.env.KVGEN_E2E_MAIN ?? "src/index.ts";

export default defineConfig({
	plugins: [
		cloudflareTest({
			main: path.join(project, main),
			wrangler: { configPath: path.join(project, configFile), environment },
		}),
	],
	resolve: {
		alias: { "@kv": path.join(project, kvDir) },
	},
	test: {
		include: ["test/**/*.test.ts"],
	},
});
