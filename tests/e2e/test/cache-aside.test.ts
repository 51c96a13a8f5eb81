// Behaviour of the generated cache-aside module (src/kv/cache-aside.ts), in
// workerd, against the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cacheAside } from "@kv/cache-aside";
import { counting, total } from "./counting";
import { listed, nowSeconds } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

describe("cacheAside", () => {
	it("a hit is exactly one KV read and never calls load", async () => {
		await env.CACHE.put("user:1", JSON.stringify({ name: "Ada" }));
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => ({ name: "from source" }));
		expect(await cacheAside(kv, "user:1", load)).toEqual({ name: "Ada" });
		expect(load).not.toHaveBeenCalled();
		expect(counts.get).toBe(1);
		expect(total(counts)).toBe(1);
	});

	it("a miss loads once, stores the value with the ttl and returns it", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => ({ name: "Ada" }));
		const before = nowSeconds();
		expect(await cacheAside(kv, "user:1", load, { ttl: 120 })).toEqual({ name: "Ada" });
		expect(load).toHaveBeenCalledTimes(1);
		expect(counts).toMatchObject({ get: 1, put: 1 });
		expect(total(counts)).toBe(2);
		expect(await env.CACHE.get("user:1", "json")).toEqual({ name: "Ada" });
		const entry = await listed(env.CACHE, "user:1");
		expect(entry?.expiration).toBeGreaterThanOrEqual(before + 120);
		expect(entry?.expiration).toBeLessThanOrEqual(nowSeconds() + 120);
		// The next call is a hit.
		expect(await cacheAside(kv, "user:1", load)).toEqual({ name: "Ada" });
		expect(load).toHaveBeenCalledTimes(1);
		expect(counts.put).toBe(1);
	});

	it("a null load is returned but not cached", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async (): Promise<string | null> => null);
		expect(await cacheAside(kv, "missing", load)).toBeNull();
		expect(await cacheAside(kv, "missing", load)).toBeNull();
		expect(load).toHaveBeenCalledTimes(2);
		expect(counts.put).toBe(0);
		expect(await env.CACHE.get("missing")).toBeNull();
		expect(await listed(env.CACHE, "missing")).toBeUndefined();
	});

	it("an undefined load is not cached either", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = async () => undefined as unknown as string | null;
		expect(await cacheAside(kv, "nothing", load)).toBeUndefined();
		expect(counts.put).toBe(0);
	});

	it("falsy values other than null are cached", async () => {
		const { kv } = counting(env.CACHE);
		for (const [name, value] of [["zero", 0], ["empty", ""], ["no", false]] as const) {
			expect(await cacheAside<unknown>(kv, name, async () => value)).toBe(value);
			expect(await env.CACHE.get(name, "json")).toBe(value);
		}
	});

	it("ttl: null stores without expiry", async () => {
		await cacheAside(env.CACHE, "forever", async () => 1, { ttl: null });
		const entry = await listed(env.CACHE, "forever");
		expect(entry).toBeDefined();
		expect(entry?.expiration).toBeUndefined();
	});

	it("without a ttl, stores with the default baked in by kvgen (or none)", async () => {
		const before = nowSeconds();
		await cacheAside(env.CACHE, "default", async () => 1);
		const expiration = (await listed(env.CACHE, "default"))?.expiration;
		if (expiration !== undefined) {
			// kvgen's default TTL is at least 60 s.
			expect(expiration).toBeGreaterThanOrEqual(before + 60);
		}
		expect(await env.CACHE.get("default", "json")).toBe(1);
	});

	it("passes cacheTtl to the read", async () => {
		const { kv, calls } = counting(env.CACHE);
		await cacheAside(kv, "k", async () => 1, { cacheTtl: 300 });
		expect(calls.get).toEqual([["k", { type: "json", cacheTtl: 300 }]]);
	});

	it("propagates a failing load and stores nothing", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = async (): Promise<number | null> => {
			throw new Error("source down");
		};
		await expect(cacheAside(kv, "k", load)).rejects.toThrow("source down");
		expect(counts.put).toBe(0);
	});
});

describe("cacheAside checks limits before KV is called", () => {
	it("rejects ttl 0 (never replaced by the default) and 59", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => 1);
		await expect(cacheAside(kv, "k", load, { ttl: 0 })).rejects.toThrow(RangeError);
		await expect(cacheAside(kv, "k", load, { ttl: 0 })).rejects.toThrow(/null/);
		await expect(cacheAside(kv, "k", load, { ttl: 59 })).rejects.toThrow(/60/);
		await expect(cacheAside(kv, "k", load, { ttl: 60.5 })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		expect(load).not.toHaveBeenCalled();
		await cacheAside(kv, "k", load, { ttl: 60 });
		expect(counts.put).toBe(1);
	});

	it("rejects a cacheTtl under 30", async () => {
		const { kv, counts } = counting(env.CACHE);
		await expect(cacheAside(kv, "k", async () => 1, { cacheTtl: 29 })).rejects.toThrow(/30/);
		expect(total(counts)).toBe(0);
	});

	it("rejects a key over 512 bytes and an empty key", async () => {
		const { kv, counts } = counting(env.CACHE);
		await expect(cacheAside(kv, "k".repeat(513), async () => 1)).rejects.toThrow(/512/);
		await expect(cacheAside(kv, "", async () => 1)).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});

	it("rejects a loaded value over 25 MiB before writing it", async () => {
		const { kv, counts } = counting(env.CACHE);
		const big = async () => "x".repeat(25 * 1024 * 1024);
		await expect(cacheAside(kv, "big", big)).rejects.toThrow(/25 MiB/);
		expect(counts.put).toBe(0);
	});
});
