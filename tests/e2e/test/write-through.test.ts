// Behaviour of the generated write-through module (src/kv/write-through.ts),
// in workerd, against the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { writeThrough } from "@kv/write-through";
import { counting, total } from "./counting";
import { listed, nowSeconds } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

describe("writeThrough", () => {
	it("persists first, then writes the cache", async () => {
		await env.CACHE.put("user:1", JSON.stringify({ name: "old" }));
		const { kv, counts } = counting(env.CACHE);
		const seenDuringPersist: unknown[] = [];
		const persist = vi.fn(async (value: { name: string }) => {
			seenDuringPersist.push(value, await env.CACHE.get("user:1", "json"));
		});
		await writeThrough(kv, "user:1", { name: "new" }, persist, { ttl: 300 });
		expect(persist).toHaveBeenCalledTimes(1);
		// While persisting, the cache still held the old value.
		expect(seenDuringPersist).toEqual([{ name: "new" }, { name: "old" }]);
		expect(await env.CACHE.get("user:1", "json")).toEqual({ name: "new" });
		expect(counts.put).toBe(1);
		expect(total(counts)).toBe(1);
		expect((await listed(env.CACHE, "user:1"))?.expiration).toBeGreaterThanOrEqual(nowSeconds() + 299);
	});

	it("leaves the cache untouched when persist throws, and propagates the error", async () => {
		await env.CACHE.put("user:1", JSON.stringify({ name: "old" }));
		const { kv, counts } = counting(env.CACHE);
		const persist = async () => {
			throw new Error("database down");
		};
		await expect(writeThrough(kv, "user:1", { name: "new" }, persist)).rejects.toThrow("database down");
		expect(total(counts)).toBe(0);
		expect(await env.CACHE.get("user:1", "json")).toEqual({ name: "old" });
	});

	it("ttl: null stores without expiry", async () => {
		await writeThrough(env.CACHE, "k", 1, async () => {}, { ttl: null });
		const entry = await listed(env.CACHE, "k");
		expect(entry).toBeDefined();
		expect(entry?.expiration).toBeUndefined();
	});

	it("a null value is persisted and removed from the cache", async () => {
		await env.CACHE.put("user:1", JSON.stringify({ name: "old" }));
		const persist = vi.fn(async (_value: { name: string } | null) => {});
		await writeThrough<{ name: string } | null>(env.CACHE, "user:1", null, persist);
		expect(persist).toHaveBeenCalledWith(null);
		expect(await env.CACHE.get("user:1")).toBeNull();
	});
});

describe("writeThrough checks limits before persisting or calling KV", () => {
	it("rejects ttl 0 and 59", async () => {
		const { kv, counts } = counting(env.CACHE);
		const persist = vi.fn(async () => {});
		await expect(writeThrough(kv, "k", 1, persist, { ttl: 0 })).rejects.toThrow(RangeError);
		await expect(writeThrough(kv, "k", 1, persist, { ttl: 59 })).rejects.toThrow(/60/);
		expect(persist).not.toHaveBeenCalled();
		expect(total(counts)).toBe(0);
	});

	it("rejects a key over 512 bytes", async () => {
		const { kv, counts } = counting(env.CACHE);
		const persist = vi.fn(async () => {});
		await expect(writeThrough(kv, "k".repeat(513), 1, persist)).rejects.toThrow(/512/);
		expect(persist).not.toHaveBeenCalled();
		expect(total(counts)).toBe(0);
	});

	it("rejects a value over 25 MiB or one JSON cannot hold, before persisting", async () => {
		const { kv, counts } = counting(env.CACHE);
		const persist = vi.fn(async () => {});
		await expect(writeThrough(kv, "k", "x".repeat(25 * 1024 * 1024), persist)).rejects.toThrow(/25 MiB/);
		await expect(writeThrough<unknown>(kv, "k", () => 1, persist)).rejects.toThrow(TypeError);
		expect(persist).not.toHaveBeenCalled();
		expect(total(counts)).toBe(0);
	});
});
