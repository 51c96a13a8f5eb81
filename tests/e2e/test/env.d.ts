// The bindings kvgen adds to every fixture's config: `kvgen create e2e-kv`
// adds E2E_KV, `kvgen cache` its default binding CACHE, `kvgen flags` its
// default binding FLAGS, and `kvgen session` its default binding SESSIONS.
// `kvgen ratelimit E2E_LIMITER --limit 3 --period 10` adds E2E_LIMITER,
// `kvgen counter` COUNTERS (the Counter Durable Object), `kvgen config`
// CONFIG, `kvgen prefs` PREFS and `kvgen cache --metrics kvgen_cache`
// KV_METRICS.
declare namespace Cloudflare {
	interface Env {
		E2E_KV: KVNamespace;
		CACHE: KVNamespace;
		FLAGS: KVNamespace;
		SESSIONS: KVNamespace;
		E2E_LIMITER: RateLimit;
		COUNTERS: DurableObjectNamespace<import("@kv/counter").Counter>;
		CONFIG: KVNamespace;
		PREFS: KVNamespace;
		KV_METRICS: AnalyticsEngineDataset;
	}
}
