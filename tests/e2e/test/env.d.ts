// The binding `kvgen create e2e-kv` adds to every fixture's config.
declare namespace Cloudflare {
	interface Env {
		E2E_KV: KVNamespace;
	}
}
