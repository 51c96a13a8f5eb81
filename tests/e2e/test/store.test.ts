// Behaviour of the generated KVStore (src/kv/store.ts), in workerd, against
// the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { KVStore } from "@kv/store";
import { counting, total } from "./counting";
import { listed, nowSeconds } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

describe("KVStore without a prefix", () => {
	it("stores JSON values and reads them back", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.set("user:1", { name: "Ada", tags: ["a", "b"] });
		expect(await store.get<{ name: string }>("user:1")).toEqual({ name: "Ada", tags: ["a", "b"] });
		expect(await env.E2E_KV.get("user:1", "json")).toEqual({ name: "Ada", tags: ["a", "b"] });
		expect(await store.get("missing")).toBeNull();
	});

	it("applies the default TTL of 3600 s when no ttl is given", async () => {
		const store = new KVStore(env.E2E_KV);
		const before = nowSeconds();
		await store.set("k", 1);
		const entry = await listed(env.E2E_KV, "k");
		expect(entry?.expiration).toBeGreaterThanOrEqual(before + 3600);
		expect(entry?.expiration).toBeLessThanOrEqual(nowSeconds() + 3600);
	});

	it("deletes, and deleting a missing key is not an error", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.set("k", "v");
		await store.delete("k");
		expect(await store.get("k")).toBeNull();
		await expect(store.delete("never-there")).resolves.toBeUndefined();
	});
});

describe("KVStore with a prefix", () => {
	it("writes under prefix:key and reads it back", async () => {
		const store = new KVStore(env.E2E_KV, { prefix: "app" });
		await store.set("x", 42);
		expect(await env.E2E_KV.get("app:x", "json")).toBe(42);
		expect(await env.E2E_KV.get("x")).toBeNull();
		expect(await store.get("x")).toBe(42);
	});

	it("lists only its own keys, with names WITHOUT the prefix", async () => {
		const store = new KVStore(env.E2E_KV, { prefix: "app" });
		await env.E2E_KV.put("other:y", "1");
		await store.set("user:1", 1, { metadata: { role: "admin" } });
		await store.set("user:2", 2, { ttl: null });
		await store.set("team:1", 3);
		const page = await store.list();
		expect(page.complete).toBe(true);
		expect(page.cursor).toBeUndefined();
		expect(page.keys.map((k) => k.name)).toEqual(["team:1", "user:1", "user:2"]);
		expect(page.keys[1]?.metadata).toEqual({ role: "admin" });
		expect(page.keys[2]?.expiration).toBeUndefined();
		expect(page.keys[0]?.expiration).toBeTypeOf("number");
		const users = await store.list({ prefix: "user:" });
		expect(users.keys.map((k) => k.name)).toEqual(["user:1", "user:2"]);
	});

	it("pages with a cursor until complete", async () => {
		const store = new KVStore(env.E2E_KV, { prefix: "p" });
		for (const n of [1, 2, 3, 4, 5]) {
			await store.set(`k${n}`, n);
		}
		const names: string[] = [];
		let cursor: string | undefined;
		let pages = 0;
		do {
			const page = await store.list({ limit: 2, ...(cursor === undefined ? {} : { cursor }) });
			names.push(...page.keys.map((k) => k.name));
			cursor = page.cursor;
			pages += 1;
			if (page.complete) {
				expect(page.cursor).toBeUndefined();
				break;
			}
			expect(page.cursor).toBeTypeOf("string");
		} while (pages < 10);
		expect(names).toEqual(["k1", "k2", "k3", "k4", "k5"]);
		expect(pages).toBe(3);
	});

	it("checks the key limit on the key including the prefix", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv, { prefix: "app" });
		// "app:" is 4 bytes: 508 more make 512, one more is over.
		await store.set("a".repeat(508), 1);
		await expect(store.set("a".repeat(509), 1)).rejects.toThrow(RangeError);
		expect(counts.put).toBe(1);
	});
});

describe("limits are checked before KV is called", () => {
	it("rejects a 59 s TTL", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		await expect(store.set("k", 1, { ttl: 59 })).rejects.toThrow(RangeError);
		await expect(store.set("k", 1, { ttl: 59 })).rejects.toThrow(/60/);
		expect(total(counts)).toBe(0);
		await store.set("k", 1, { ttl: 60 });
		expect(counts.put).toBe(1);
	});

	it("rejects a key over 512 UTF-8 bytes", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		await expect(store.set("k".repeat(513), 1)).rejects.toThrow(/512/);
		// 171 three-byte characters are 513 bytes but only 171 UTF-16 units.
		await expect(store.set("€".repeat(171), 1)).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		await store.set("€".repeat(170), 1);
		expect(counts.put).toBe(1);
	});

	it("rejects metadata over 1024 bytes", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		// {"a":"…"} is 8 bytes plus the string.
		const fits = { a: "x".repeat(1016) };
		const over = { a: "x".repeat(1017) };
		await expect(store.set("k", 1, { metadata: over })).rejects.toThrow(/1024/);
		expect(total(counts)).toBe(0);
		await store.set("k", 1, { metadata: fits });
		expect((await store.getWithMetadata("k")).metadata).toEqual(fits);
	});

	it("rejects a value over 25 MiB", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		await expect(store.set("big", "x".repeat(25 * 1024 * 1024))).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});

	it("rejects an empty key", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		await expect(new KVStore(kv).set("", 1)).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});

	it("rejects a cacheTtl under 30 and a defaultTtl under 60", () => {
		expect(() => new KVStore(env.E2E_KV, { cacheTtl: 29 })).toThrow(RangeError);
		expect(() => new KVStore(env.E2E_KV, { defaultTtl: 59 })).toThrow(RangeError);
		expect(() => new KVStore(env.E2E_KV, { cacheTtl: 30, defaultTtl: 60 })).not.toThrow();
	});

	it("rejects an expiration less than 60 s away, using Date.now()", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		const now = Date.now();
		vi.spyOn(Date, "now").mockReturnValue(now);
		const soon = Math.floor(now / 1000) + 30;
		await expect(store.set("k", 1, { expiration: soon })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		const later = Math.floor(now / 1000) + 600;
		await store.set("k", 1, { expiration: later });
		expect((await listed(env.E2E_KV, "k"))?.expiration).toBe(later);
	});
});

describe("TTL 0 and null", () => {
	it("ttl: 0 throws instead of being replaced by the default", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		await expect(store.set("k", 1, { ttl: 0 })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});

	it("defaultTtl: 0 throws too", () => {
		expect(() => new KVStore(env.E2E_KV, { defaultTtl: 0 })).toThrow(RangeError);
	});

	it("ttl: null stores without expiry", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.set("forever", 1, { ttl: null });
		const entry = await listed(env.E2E_KV, "forever");
		expect(entry).toBeDefined();
		expect(entry?.expiration).toBeUndefined();
	});

	it("defaultTtl: null stores without expiry unless a ttl is given", async () => {
		const store = new KVStore(env.E2E_KV, { defaultTtl: null });
		await store.set("a", 1);
		await store.set("b", 1, { ttl: 120 });
		expect((await listed(env.E2E_KV, "a"))?.expiration).toBeUndefined();
		expect((await listed(env.E2E_KV, "b"))?.expiration).toBeGreaterThanOrEqual(nowSeconds() + 119);
	});
});

describe("getOrSet", () => {
	it("calls load once, then serves from KV", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const store = new KVStore(kv);
		let loads = 0;
		const load = async () => {
			loads += 1;
			return { n: 7 };
		};
		expect(await store.getOrSet("k", load)).toEqual({ n: 7 });
		expect(await store.getOrSet("k", load)).toEqual({ n: 7 });
		expect(await store.getOrSet("k", load)).toEqual({ n: 7 });
		expect(loads).toBe(1);
		expect(counts.put).toBe(1);
		expect(await env.E2E_KV.get("k", "json")).toEqual({ n: 7 });
	});

	it("stores with the given options", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.getOrSet("k", async () => 1, { ttl: null, metadata: { v: 1 } });
		const entry = await listed(env.E2E_KV, "k");
		expect(entry?.expiration).toBeUndefined();
		expect(entry?.metadata).toEqual({ v: 1 });
	});

	it("does not call load when the options are invalid", async () => {
		const store = new KVStore(env.E2E_KV);
		let loads = 0;
		await expect(
			store.getOrSet("k", async () => {
				loads += 1;
				return 1;
			}, { ttl: 10 }),
		).rejects.toThrow(RangeError);
		expect(loads).toBe(0);
	});
});

describe("exists and getWithMetadata", () => {
	it("exists is true for a stored key and false otherwise", async () => {
		const store = new KVStore(env.E2E_KV, { prefix: "e" });
		await store.set("there", { big: "x".repeat(100_000) });
		expect(await store.exists("there")).toBe(true);
		expect(await store.exists("absent")).toBe(false);
		await store.delete("there");
		expect(await store.exists("there")).toBe(false);
	});

	it("returns the value and its metadata", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.set("k", { a: 1 }, { metadata: { version: 2 } });
		expect(await store.getWithMetadata<{ a: number }, { version: number }>("k")).toEqual({
			value: { a: 1 },
			metadata: { version: 2 },
		});
	});

	it("returns null metadata for a key written without any", async () => {
		const store = new KVStore(env.E2E_KV);
		await store.set("k", "v");
		expect(await store.getWithMetadata("k")).toEqual({ value: "v", metadata: null });
	});

	it("returns nulls for a missing key", async () => {
		const store = new KVStore(env.E2E_KV);
		expect(await store.getWithMetadata("missing")).toEqual({ value: null, metadata: null });
	});
});
