// Behaviour of the cache metrics (src/kv/metrics.ts, and the `metrics`
// option that `kvgen cache --metrics kvgen_cache` adds to cacheAside and
// staleWhileRevalidate), in workerd, against the contract in
// shared/spec/generated-api.md. The local Analytics Engine binding records
// nothing, so the tests pass a recording fake dataset; one test checks that
// the real (local) binding KV_METRICS is accepted.
import { createExecutionContext, env, reset, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cacheAside } from "@kv/cache-aside";
import { recordLookup } from "@kv/metrics";
import { staleWhileRevalidate } from "@kv/swr";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

/** A dataset that keeps every data point written to it. */
function recording() {
	const points: AnalyticsEngineDataPoint[] = [];
	const dataset: AnalyticsEngineDataset = {
		writeDataPoint(point?: AnalyticsEngineDataPoint) {
			points.push(point ?? {});
		},
	};
	return { dataset, points };
}

/** A dataset whose writeDataPoint always throws. */
const throwing: AnalyticsEngineDataset = {
	writeDataPoint() {
		throw new Error("dataset unavailable");
	},
};

/** A KV namespace over CACHE whose reads fail. */
function failingReads(): KVNamespace {
	return new Proxy(env.CACHE, {
		get(target, property) {
			if (property === "get" || property === "getWithMetadata") {
				return async () => {
					throw new Error("KV GET failed: 500 Internal Server Error");
				};
			}
			const value: unknown = Reflect.get(target, property, target);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
}

/** Fixes Date.now() at t0; returns a function that moves it to t0 + `ms`. */
function clock() {
	const t0 = Math.floor(Date.now() / 1000) * 1000;
	const spy = vi.spyOn(Date, "now").mockReturnValue(t0);
	return (ms: number) => spy.mockReturnValue(t0 + ms);
}

describe("cacheAside metrics", () => {
	it("writes one data point per lookup: a miss, then a hit", async () => {
		const { dataset, points } = recording();
		const load = async () => ({ id: 1 });
		await cacheAside(env.CACHE, "user:1", load, { metrics: dataset });
		expect(points).toEqual([{ blobs: ["cacheAside", "user", "miss"], doubles: [1, expect.any(Number)], indexes: ["CACHE"] }]);
		await cacheAside(env.CACHE, "user:1", load, { metrics: dataset });
		expect(points).toHaveLength(2);
		expect(points[1]).toEqual({ blobs: ["cacheAside", "user", "hit"], doubles: [1, expect.any(Number)], indexes: ["CACHE"] });
		for (const point of points) {
			const ms = point.doubles?.[1] ?? -1;
			expect(ms).toBeGreaterThanOrEqual(0);
		}
	});

	it("measures the milliseconds of the KV read", async () => {
		const move = clock();
		const { dataset, points } = recording();
		const slow = new Proxy(env.CACHE, {
			get(target, property) {
				if (property === "get") {
					return async (...args: Parameters<KVNamespace["get"]>) => {
						move(25);
						return (target.get as (...a: unknown[]) => Promise<unknown>)(...args);
					};
				}
				const value: unknown = Reflect.get(target, property, target);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		await cacheAside(slow, "timed:1", async () => null, { metrics: dataset });
		expect(points[0]?.doubles).toEqual([1, 25]);
	});

	it("uses metricsIndex as the index, and the whole key as the prefix when it has no ':'", async () => {
		const { dataset, points } = recording();
		await cacheAside(env.CACHE, "motd", async () => "hello", { metrics: dataset, metricsIndex: "site-cache" });
		expect(points).toEqual([{ blobs: ["cacheAside", "motd", "miss"], doubles: [1, expect.any(Number)], indexes: ["site-cache"] }]);
	});

	it("an error of the KV read is one 'error' data point, and still propagates", async () => {
		const { dataset, points } = recording();
		const load = vi.fn(async () => 1);
		await expect(cacheAside(failingReads(), "user:2", load, { metrics: dataset })).rejects.toThrow("500");
		expect(points).toEqual([{ blobs: ["cacheAside", "user", "error"], doubles: [1, expect.any(Number)], indexes: ["CACHE"] }]);
		expect(load).not.toHaveBeenCalled();
	});

	it("a dataset whose writeDataPoint throws never breaks the lookup", async () => {
		vi.spyOn(console, "error").mockImplementation(() => {});
		const load = async () => ({ id: 3 });
		expect(await cacheAside(env.CACHE, "user:3", load, { metrics: throwing })).toEqual({ id: 3 });
		expect(await cacheAside(env.CACHE, "user:3", load, { metrics: throwing })).toEqual({ id: 3 });
		await expect(cacheAside(failingReads(), "user:3", load, { metrics: throwing })).rejects.toThrow("500");
	});

	it("without the option no data point is written, and the real binding is accepted", async () => {
		const write = vi.spyOn(env.KV_METRICS, "writeDataPoint");
		expect(await cacheAside(env.CACHE, "user:4", async () => 4)).toBe(4);
		expect(write).not.toHaveBeenCalled();
		expect(await cacheAside(env.CACHE, "user:4", async () => 5, { metrics: env.KV_METRICS })).toBe(4);
		expect(write).toHaveBeenCalledTimes(1);
	});
});

describe("staleWhileRevalidate metrics", () => {
	it("writes one data point per lookup: miss, hit, stale", async () => {
		const move = clock();
		const ctx = createExecutionContext();
		const { dataset, points } = recording();
		const options = { ttl: 60, staleTtl: 600, ctx, metrics: dataset };
		let version = 0;
		const load = async () => ({ version: ++version });
		expect(await staleWhileRevalidate(env.CACHE, "posts:all", load, options)).toEqual({ version: 1 });
		expect(await staleWhileRevalidate(env.CACHE, "posts:all", load, options)).toEqual({ version: 1 });
		move(61_000);
		expect(await staleWhileRevalidate(env.CACHE, "posts:all", load, options)).toEqual({ version: 1 });
		await waitOnExecutionContext(ctx);
		const blobs = points.map((point) => point.blobs);
		expect(blobs).toEqual([
			["staleWhileRevalidate", "posts", "miss"],
			["staleWhileRevalidate", "posts", "hit"],
			["staleWhileRevalidate", "posts", "stale"],
		]);
		for (const point of points) {
			expect(point.doubles).toEqual([1, expect.any(Number)]);
			expect(point.indexes).toEqual(["CACHE"]);
		}
	});

	it("an error of the KV read is one 'error' data point, and still propagates", async () => {
		const ctx = createExecutionContext();
		const { dataset, points } = recording();
		const options = { ttl: 60, staleTtl: 600, ctx, metrics: dataset, metricsIndex: "swr" };
		await expect(staleWhileRevalidate(failingReads(), "posts:x", async () => 1, options)).rejects.toThrow("500");
		expect(points).toEqual([{ blobs: ["staleWhileRevalidate", "posts", "error"], doubles: [1, expect.any(Number)], indexes: ["swr"] }]);
	});

	it("a dataset whose writeDataPoint throws never breaks the lookup", async () => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const move = clock();
		const ctx = createExecutionContext();
		const options = { ttl: 60, staleTtl: 600, ctx, metrics: throwing };
		expect(await staleWhileRevalidate(env.CACHE, "posts:y", async () => "a", options)).toBe("a");
		expect(await staleWhileRevalidate(env.CACHE, "posts:y", async () => "b", options)).toBe("a");
		move(61_000);
		expect(await staleWhileRevalidate(env.CACHE, "posts:y", async () => "c", options)).toBe("a");
		await waitOnExecutionContext(ctx);
		expect(await env.CACHE.get("posts:y", "json")).toBe("c");
		// Logged at most once per isolate, never thrown.
		expect(error.mock.calls.filter(([message]) => String(message).startsWith("recordLookup")).length).toBeLessThanOrEqual(1);
	});
});

describe("recordLookup", () => {
	it("does nothing without a dataset, and never throws", () => {
		expect(() => recordLookup({}, "cacheAside", "a:b", "hit", Date.now())).not.toThrow();
		vi.spyOn(console, "error").mockImplementation(() => {});
		expect(() => recordLookup({ metrics: throwing }, "cacheAside", "a:b", "hit", Date.now())).not.toThrow();
	});
});
