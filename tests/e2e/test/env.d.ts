// The bindings kvgen adds to every fixture's config: `kvgen create e2e-kv`
// adds E2E_KV, `kvgen cache` its default binding CACHE, `kvgen flags` its
// default binding FLAGS, and `kvgen session` its default binding SESSIONS.
declare namespace Cloudflare {
	interface Env {
		E2E_KV: KVNamespace;
		CACHE: KVNamespace;
		FLAGS: KVNamespace;
		SESSIONS: KVNamespace;
	}
}
