// The bindings kvgen adds to every fixture's config: `kvgen create e2e-kv`
// adds E2E_KV, and `kvgen cache` its default binding CACHE.
declare namespace Cloudflare {
	interface Env {
		E2E_KV: KVNamespace;
		CACHE: KVNamespace;
	}
}
