// Behaviour of the generated rate limiting module (src/kv/ratelimit.ts), in
// workerd, against the contract in shared/spec/generated-api.md. It uses the
// real Rate Limiting binding E2E_LIMITER that `kvgen ratelimit E2E_LIMITER
// --limit 3 --period 10` added: locally an in-memory fixed window of 10 s
// per key, which is never reset between tests, so every test uses its own
// keys (unique per run) and stays within one window by checking, before it
// starts, that at least 5 s of the current window are left.
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { LIMITS, RateLimiter } from "@kv/ratelimit";

const run = crypto.randomUUID();
let serial = 0;

/** A key no other test (or earlier run in this workerd) has used. */
function unique(name: string): string {
	serial += 1;
	return `${run}:${name}:${serial}`;
}

/** Waits, if needed, so that at least 5 s of the 10 s window are left. */
beforeEach(async () => {
	const into = Date.now() % 10_000;
	if (into > 5_000) {
		await new Promise((resolve) => setTimeout(resolve, 10_050 - into));
	}
});

/** A request from `ip`, or without CF-Connecting-IP. */
function from(ip?: string): Request {
	const headers = ip === undefined ? undefined : { "CF-Connecting-IP": ip };
	return new Request("https://example.com/", { headers });
}

describe("RateLimiter", () => {
	it("exports the limiters of the config with their limit and period", () => {
		expect(LIMITS.E2E_LIMITER).toEqual({ limit: 3, period: 10 });
		expect(new RateLimiter(env.E2E_LIMITER).period).toBe(10);
	});

	it("allows `limit` calls for a key, then denies it within the period", async () => {
		const limiter = new RateLimiter(env.E2E_LIMITER);
		const key = unique("user");
		const results = [];
		for (let i = 0; i < 5; i += 1) {
			results.push(await limiter.limit(key));
		}
		expect(results).toEqual([true, true, true, false, false]);
	});

	it("counts keys independently", async () => {
		const limiter = new RateLimiter(env.E2E_LIMITER);
		const a = unique("a");
		const b = unique("b");
		for (let i = 0; i < 3; i += 1) {
			expect(await limiter.limit(a)).toBe(true);
		}
		expect(await limiter.limit(a)).toBe(false);
		expect(await limiter.limit(b)).toBe(true);
		expect(await limiter.limit(b)).toBe(true);
		expect(await limiter.limit(a)).toBe(false);
	});

	it("check() returns null while allowed, then a 429 with Retry-After: the period", async () => {
		const limiter = new RateLimiter(env.E2E_LIMITER);
		const ip = unique("203.0.113.7");
		for (let i = 0; i < 3; i += 1) {
			expect(await limiter.check(from(ip))).toBeNull();
		}
		const denied = await limiter.check(from(ip));
		expect(denied).toBeInstanceOf(Response);
		expect(denied?.status).toBe(429);
		expect(denied?.headers.get("Retry-After")).toBe("10");
		// Another client is still allowed.
		expect(await limiter.check(from(unique("198.51.100.1")))).toBeNull();
	});

	it("check() keys on CF-Connecting-IP, on the key given, and on \"unknown\" without either", async () => {
		const limit = vi.fn(async (_: RateLimitOptions) => ({ success: true }));
		const limiter = new RateLimiter({ limit });
		await limiter.check(from("192.0.2.1"));
		await limiter.check(from("192.0.2.1"), "user:42");
		await limiter.check(from());
		expect(limit.mock.calls.map(([options]) => options)).toEqual([{ key: "192.0.2.1" }, { key: "user:42" }, { key: "unknown" }]);
	});

	it("check() uses the period option as Retry-After", async () => {
		const limiter = new RateLimiter({ limit: async () => ({ success: false }) }, { period: 60 });
		const denied = await limiter.check(from("192.0.2.2"));
		expect(denied?.status).toBe(429);
		expect(denied?.headers.get("Retry-After")).toBe("60");
		expect(await denied?.text()).toBe("Too Many Requests");
	});

	it("a prefix makes limiters on one binding count apart", async () => {
		const key = unique("shared");
		const login = new RateLimiter(env.E2E_LIMITER, { prefix: "login:" });
		const api = new RateLimiter(env.E2E_LIMITER, { prefix: "api:" });
		for (let i = 0; i < 3; i += 1) {
			expect(await login.limit(key)).toBe(true);
		}
		expect(await login.limit(key)).toBe(false);
		expect(await api.limit(key)).toBe(true);
		// The prefix is put before the key given to the binding.
		const limit = vi.fn(async (_: RateLimitOptions) => ({ success: true }));
		await new RateLimiter({ limit }, { prefix: "login:" }).limit("ada");
		expect(limit).toHaveBeenCalledWith({ key: "login:ada" });
	});

	it("rejects an empty key before calling the binding, and a period other than 10 or 60", async () => {
		const limit = vi.fn(async (_: RateLimitOptions) => ({ success: true }));
		const limiter = new RateLimiter({ limit });
		await expect(limiter.limit("")).rejects.toThrow(RangeError);
		await expect(limiter.check(from("192.0.2.3"), "")).rejects.toThrow(RangeError);
		expect(limit).not.toHaveBeenCalled();
		expect(() => new RateLimiter(env.E2E_LIMITER, { period: 30 })).toThrow(RangeError);
		expect(() => new RateLimiter(env.E2E_LIMITER, { period: LIMITS.E2E_LIMITER.period })).not.toThrow();
	});
});
