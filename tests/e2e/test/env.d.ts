// The bindings kvgen adds to every fixture's config: `kvgen create e2e-kv`
// adds E2E_KV, `kvgen cache` its default binding CACHE, and `kvgen flags`
// its default binding FLAGS.
declare namespace Cloudflare {
	interface Env {
		E2E_KV: KVNamespace;
		CACHE: KVNamespace;
		FLAGS: KVNamespace;
	}
}
