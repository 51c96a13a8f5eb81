// Behaviour of the typed keys kvgen generates from kvgen.toml (src/kv/namespaces.ts
// and src/kv/schema.ts), in workerd, against the contract in
// shared/spec/generated-api.md ("Typed keys") and design-file.md.
//
// tests/e2e.rs appends tests/fixtures/keys/e2e-design.toml to the project's
// kvgen.toml: CACHE (purpose cache, default_ttl 3600) has post:{id} (Post, ttl
// 600, cache_ttl 60), user:{id}:profile (string) and user:{id} (Author);
// E2E_KV (purpose data, default_ttl 3600) has author:{id} (Author, ttl
// "none"), blob:{kind}-{id} (bytes), doc:{a}:{b} (json) and mood:{who}😀{n}
// (string).
//
// "Logs once" is per key and isolate, and the isolate outlives a test, so
// every test uses keys of its own.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { cacheKeys, e2eKvKeys } from "@kv/namespaces";
import { SchemaError, type Post } from "@kv/schema";
import { counting, total } from "./counting";
import { listed, nowSeconds } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

/** A valid Post with id `id`. */
function post(id: string): Post {
	return { id, title: "Hi", tags: ["a", "b"], status: "draft", author: { name: "Ann", age: 40 } };
}

/** CACHE's typed keys over a counting wrapper. */
function cache() {
	const { kv, counts, calls } = counting(env.CACHE);
	return { keys: cacheKeys(kv), counts, calls };
}

/** E2E_KV's typed keys over a counting wrapper. */
function data() {
	const { kv, counts, calls } = counting(env.E2E_KV);
	return { keys: e2eKvKeys(kv), counts, calls };
}

/** The error a promise rejects with (fails when it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
	try {
		await promise;
	} catch (error) {
		return error;
	}
	throw new Error("expected a rejection");
}

/** The SchemaError a promise rejects with, checked to name `key` and `path`. */
async function schemaError(promise: Promise<unknown>, key: string, path: string) {
	const error = await rejection(promise);
	expect(error).toBeInstanceOf(SchemaError);
	expect(error).toBeInstanceOf(TypeError);
	const e = error as SchemaError;
	expect(e.key).toBe(key);
	expect(e.path).toBe(path);
	expect(e.message).toContain(key);
	expect(e.message).toContain(path);
	return e;
}

/** Everything an async generator yields. */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
	const out: T[] = [];
	for await (const item of items) {
		out.push(item);
	}
	return out;
}

/** The options object of the `index`th recorded call. */
function options(call: unknown[][], index: number, position: number): Record<string, unknown> {
	const args = call[index];
	expect(args).toBeDefined();
	return (args?.[position] ?? {}) as Record<string, unknown>;
}

describe("key building", () => {
	it("builds keys from params, and exposes the pattern", () => {
		const { keys, counts } = cache();
		expect(keys.post.key({ id: "1" })).toBe("post:1");
		expect(keys.post.pattern).toBe("post:{id}");
		expect(keys.profile.key({ id: "7" })).toBe("user:7:profile");
		expect(keys.profile.pattern).toBe("user:{id}:profile");
		expect(keys.user.key({ id: "7" })).toBe("user:7");
		const other = e2eKvKeys(env.E2E_KV);
		expect(other.author.key({ id: "a" })).toBe("author:a");
		expect(other.blob.key({ kind: "img", id: "1" })).toBe("blob:img-1");
		expect(other.blob.pattern).toBe("blob:{kind}-{id}");
		expect(other.doc.key({ a: "x", b: "y" })).toBe("doc:x:y");
		// Non-ASCII params are kept as they are.
		expect(keys.post.key({ id: "é €" })).toBe("post:é €");
		expect(total(counts)).toBe(0);
	});

	it("refuses an empty param, a param with ':', and a param that is not a string", () => {
		const { keys } = cache();
		expect(() => keys.post.key({ id: "" })).toThrow(RangeError);
		expect(() => keys.post.key({ id: "a:b" })).toThrow(RangeError);
		expect(() => keys.post.key({ id: "a:b" })).toThrow(/:/);
		expect(() => keys.post.key({ id: 5 as unknown as string })).toThrow(TypeError);
		expect(() => keys.post.key({ id: undefined as unknown as string })).toThrow(TypeError);
		expect(() => keys.post.key({} as { id: string })).toThrow(TypeError);
		expect(() => keys.post.key(null as unknown as { id: string })).toThrow(TypeError);
		const { keys: other } = data();
		expect(() => other.doc.key({ a: "x", b: "" })).toThrow(RangeError);
		expect(() => other.doc.key({ a: "x:y", b: "z" })).toThrow(RangeError);
		expect(() => other.blob.key({ kind: "img", id: 1 as unknown as string })).toThrow(TypeError);
	});

	it("refuses a param holding the text after it, so every key splits back one way", async () => {
		const { keys, counts } = data();
		// blob:{kind}-{id}: ("a", "b-c") and ("a-b", "c") would both be blob:a-b-c.
		expect(keys.blob.key({ kind: "a", id: "b-c" })).toBe("blob:a-b-c");
		expect(() => keys.blob.key({ kind: "a-b", id: "c" })).toThrow(RangeError);
		expect(() => keys.blob.key({ kind: "a-b", id: "c" })).toThrow(/"-"/);
		await expect(keys.blob.put({ kind: "a-b", id: "c" }, new ArrayBuffer(1))).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		await keys.blob.put({ kind: "img", id: "x-1" }, new ArrayBuffer(1));
		const blobs = await collect(keys.blob.list());
		expect(blobs.map((b) => b.params)).toEqual([{ kind: "img", id: "x-1" }]);
	});

	it("ends a param at a stop character outside the BMP, as Rust does", async () => {
		const { keys, counts } = data();
		// mood:{who}😀{n}: 😁 shares its first UTF-16 unit with 😀.
		expect(keys.mood.key({ who: "😁", n: "1" })).toBe("mood:😁😀1");
		expect(() => keys.mood.key({ who: "a😀b", n: "1" })).toThrow(RangeError);
		expect(total(counts)).toBe(0);
		await keys.mood.put({ who: "😁", n: "1" }, "happy");
		const moods = await collect(keys.mood.list());
		expect(moods.map((m) => m.params)).toEqual([{ who: "😁", n: "1" }]);
	});

	it("makes no KV call with an invalid param, from any method", async () => {
		const { keys, counts } = cache();
		for (const id of ["", "a:b"]) {
			await expect(keys.post.get({ id })).rejects.toThrow(RangeError);
			await expect(keys.post.getWithMetadata({ id })).rejects.toThrow(RangeError);
			await expect(keys.post.put({ id }, post("x"))).rejects.toThrow(RangeError);
			await expect(keys.post.delete({ id })).rejects.toThrow(RangeError);
		}
		const bad = { id: 42 as unknown as string };
		await expect(keys.post.get(bad)).rejects.toThrow(TypeError);
		await expect(keys.post.put(bad, post("x"))).rejects.toThrow(TypeError);
		await expect(keys.post.delete(bad)).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
	});

	it("refuses a key over 512 UTF-8 bytes before any KV call", async () => {
		const { keys, counts } = cache();
		// "post:" is 5 bytes: 507 more make 512, one more is over.
		expect(keys.post.key({ id: "a".repeat(507) })).toHaveLength(512);
		expect(() => keys.post.key({ id: "a".repeat(508) })).toThrow(RangeError);
		expect(() => keys.post.key({ id: "a".repeat(508) })).toThrow(/512/);
		// 169 three-byte characters make 512 bytes, 170 make 515 (in 175 UTF-16 units).
		expect(() => keys.post.key({ id: "€".repeat(169) })).not.toThrow();
		expect(() => keys.post.key({ id: "€".repeat(170) })).toThrow(RangeError);
		await expect(keys.post.put({ id: "a".repeat(508) }, post("x"))).rejects.toThrow(RangeError);
		await expect(keys.post.get({ id: "€".repeat(170) })).rejects.toThrow(RangeError);
		await expect(keys.post.delete({ id: "a".repeat(508) })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		await keys.post.put({ id: "a".repeat(507) }, post("long"));
		expect(counts.put).toBe(1);
		expect(await keys.post.get({ id: "a".repeat(507) })).toEqual(post("long"));
	});
});

describe("put validates the value before writing", () => {
	it("refuses invalid Posts with a SchemaError naming the key and path, writing nothing", async () => {
		const { keys, counts } = cache();
		const key = "post:put-invalid";
		const id = { id: "put-invalid" };
		const { title: _title, ...missing } = post("put-invalid");
		const invalid: [unknown, string][] = [
			[missing, "$.title"],
			[{ ...post("p"), status: "archived" }, "$.status"],
			[{ ...post("p"), author: { name: "Ann", age: 1.5 } }, "$.author.age"],
			[{ ...post("p"), likes: 3 }, "$.likes"],
			[{ ...post("p"), author: { name: "Ann", nick: "A" } }, "$.author.nick"],
			[{ ...post("p"), tags: ["a", 3] }, "$.tags[1]"],
			[{ ...post("p"), views: Number.NaN }, "$.views"],
			["a post", "$"],
			[null, "$"],
		];
		for (const [value, path] of invalid) {
			await schemaError(keys.post.put(id, value as Post), key, path);
		}
		expect(total(counts)).toBe(0);
		expect(await env.CACHE.get(key)).toBeNull();
	});

	it("refuses invalid values of every kind, writing nothing", async () => {
		const { keys, counts } = data();
		await schemaError(keys.author.put({ id: "bad" }, { name: 3 } as unknown as { name: string }), "author:bad", "$.name");
		await schemaError(keys.author.put({ id: "bad" }, { age: 2 } as unknown as { name: string }), "author:bad", "$.name");
		const blob = { kind: "k", id: "bad" };
		await expect(keys.blob.put(blob, "text" as unknown as ArrayBuffer)).rejects.toThrow(SchemaError);
		await expect(keys.doc.put({ a: "x", b: "bad" }, undefined)).rejects.toThrow(TypeError);
		const { keys: cached, counts: cachedCounts } = cache();
		await schemaError(cached.profile.put({ id: "bad" }, 5 as unknown as string), "user:bad:profile", "$");
		expect(total(counts) + total(cachedCounts)).toBe(0);
	});

	it("writes a valid Post, and get returns a new object equal to it", async () => {
		const { keys, counts } = cache();
		const value = post("put-valid");
		await keys.post.put({ id: "put-valid" }, value);
		expect(counts.put).toBe(1);
		expect(await env.CACHE.get("post:put-valid", "json")).toEqual(value);
		const read = await keys.post.get({ id: "put-valid" });
		expect(read).toEqual(value);
		expect(read).not.toBe(value);
		// Optional fields may be left out, and null is written as it is and read as absent.
		const bare = { id: "b", title: "T", tags: [], status: "published" as const, author: { name: "B" } };
		await keys.post.put({ id: "put-bare" }, bare);
		expect(await keys.post.get({ id: "put-bare" })).toEqual(bare);
	});

	it("writes a valid Author to the data namespace and reads it back", async () => {
		const { keys } = data();
		await keys.author.put({ id: "put-author" }, { name: "Ann", age: 3 });
		expect(await keys.author.get({ id: "put-author" })).toEqual({ name: "Ann", age: 3 });
		expect(await keys.author.get({ id: "put-nobody" })).toBeNull();
	});

	it("refuses a value over 25 MiB before any KV call", async () => {
		const { keys, counts } = data();
		const max = 25 * 1024 * 1024;
		await expect(keys.blob.put({ kind: "big", id: "1" }, new ArrayBuffer(max + 1))).rejects.toThrow(RangeError);
		await expect(keys.doc.put({ a: "big", b: "1" }, "x".repeat(max))).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});

	it("refuses metadata over 1024 bytes before any KV call", async () => {
		const { keys, counts } = cache();
		const metadata = { pad: "x".repeat(1100) };
		await expect(keys.post.put({ id: "meta-big" }, post("m"), { metadata })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});
});

describe("get validates what it reads", () => {
	it("in a cache namespace, invalid data is a miss, logged once per key", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const { keys } = cache();
		await env.CACHE.put("post:get-notjson", "{not json");
		await env.CACHE.put("post:get-shape", JSON.stringify({ ...post("s"), status: "archived" }));
		await env.CACHE.put("user:get-shape", JSON.stringify({ age: 3 }));
		expect(await keys.post.get({ id: "get-notjson" })).toBeNull();
		expect(await keys.post.get({ id: "get-notjson" })).toBeNull();
		expect(warn).toHaveBeenCalledTimes(1);
		expect(String(warn.mock.calls[0]?.[0])).toContain("post:get-notjson");
		expect(await keys.post.get({ id: "get-shape" })).toBeNull();
		expect(await keys.post.getWithMetadata({ id: "get-shape" })).toEqual({ value: null, metadata: null });
		expect(await keys.post.get({ id: "get-shape" })).toBeNull();
		expect(warn).toHaveBeenCalledTimes(2);
		expect(String(warn.mock.calls[1]?.[0])).toContain("post:get-shape");
		expect(String(warn.mock.calls[1]?.[0])).toContain("$.status");
		expect(await keys.user.get({ id: "get-shape" })).toBeNull();
		expect(await keys.user.get({ id: "get-shape" })).toBeNull();
		expect(warn).toHaveBeenCalledTimes(3);
		expect(String(warn.mock.calls[2]?.[0])).toContain("user:get-shape");
		expect(String(warn.mock.calls[2]?.[0])).toContain("$.name");
		// The data is left where it is.
		expect(await env.CACHE.get("post:get-notjson")).toBe("{not json");
	});

	it("in a cache namespace, valid data is read after invalid data is replaced", async () => {
		vi.spyOn(console, "warn").mockImplementation(() => {});
		const { keys } = cache();
		await env.CACHE.put("post:get-fixed", "[]");
		expect(await keys.post.get({ id: "get-fixed" })).toBeNull();
		await keys.post.put({ id: "get-fixed" }, post("get-fixed"));
		expect(await keys.post.get({ id: "get-fixed" })).toEqual(post("get-fixed"));
	});

	it("in a data namespace, invalid data throws a SchemaError naming the key and the JSON path", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const { keys } = data();
		await env.E2E_KV.put("author:get-age", JSON.stringify({ name: "Ann", age: 1.5 }));
		await env.E2E_KV.put("author:get-name", JSON.stringify({ age: 3 }));
		await env.E2E_KV.put("author:get-text", "not JSON at all");
		await env.E2E_KV.put("author:get-array", "[1,2]");
		await schemaError(keys.author.get({ id: "get-age" }), "author:get-age", "$.age");
		await schemaError(keys.author.get({ id: "get-age" }), "author:get-age", "$.age");
		await schemaError(keys.author.get({ id: "get-name" }), "author:get-name", "$.name");
		await schemaError(keys.author.getWithMetadata({ id: "get-name" }), "author:get-name", "$.name");
		await schemaError(keys.author.get({ id: "get-text" }), "author:get-text", "$");
		await schemaError(keys.author.get({ id: "get-array" }), "author:get-array", "$");
		expect(warn).not.toHaveBeenCalled();
	});

	it("reads drop fields the type does not name, and null optional fields", async () => {
		const { keys } = data();
		await env.E2E_KV.put("author:get-extra", JSON.stringify({ name: "Ann", age: null, nick: "A" }));
		expect(await keys.author.get({ id: "get-extra" })).toEqual({ name: "Ann" });
	});

	it("json values that are not JSON throw at $ in a data namespace", async () => {
		const { keys } = data();
		await env.E2E_KV.put("doc:get:notjson", "{");
		await schemaError(keys.doc.get({ a: "get", b: "notjson" }), "doc:get:notjson", "$");
	});
});

describe("TTL and cacheTtl", () => {
	it("put uses the pattern's ttl, else the namespace's default_ttl, else none", async () => {
		const { keys, calls } = cache();
		await keys.post.put({ id: "ttl-post" }, post("ttl-post"));
		await keys.profile.put({ id: "ttl-profile" }, "hello");
		await keys.user.put({ id: "ttl-user" }, { name: "U" });
		expect(options(calls.put, 0, 2)["expirationTtl"]).toBe(600);
		expect(options(calls.put, 1, 2)["expirationTtl"]).toBe(3600);
		expect(options(calls.put, 2, 2)["expirationTtl"]).toBe(3600);
		const { keys: other, calls: dataCalls } = data();
		await other.author.put({ id: "ttl-author" }, { name: "A" });
		await other.doc.put({ a: "ttl", b: "doc" }, { any: 1 });
		const author = options(dataCalls.put, 0, 2);
		expect(author["expirationTtl"]).toBeUndefined();
		expect(author["expiration"]).toBeUndefined();
		expect(options(dataCalls.put, 1, 2)["expirationTtl"]).toBe(3600);
	});

	it("listed expirations follow the TTLs", async () => {
		const { keys } = cache();
		const before = nowSeconds();
		await keys.post.put({ id: "exp-post" }, post("exp-post"));
		await keys.profile.put({ id: "exp-profile" }, "p");
		const after = nowSeconds();
		const postEntry = await listed(env.CACHE, "post:exp-post");
		expect(postEntry?.expiration).toBeGreaterThanOrEqual(before + 600);
		expect(postEntry?.expiration).toBeLessThanOrEqual(after + 601);
		const profileEntry = await listed(env.CACHE, "user:exp-profile:profile");
		expect(profileEntry?.expiration).toBeGreaterThanOrEqual(before + 3600);
		expect(profileEntry?.expiration).toBeLessThanOrEqual(after + 3601);
		const fromList = (await collect(keys.post.list())).find((k) => k.key === "post:exp-post");
		expect(fromList?.expiration).toBe(postEntry?.expiration);
		const { keys: other } = data();
		await other.author.put({ id: "exp-author" }, { name: "A" });
		expect((await listed(env.E2E_KV, "author:exp-author"))?.expiration).toBeUndefined();
		const author = (await collect(other.author.list())).find((k) => k.key === "author:exp-author");
		expect(author).toBeDefined();
		expect(author?.expiration).toBeUndefined();
	});

	it("get sends the pattern's cacheTtl, and none where the design has none", async () => {
		const { keys, calls } = cache();
		await keys.post.get({ id: "ctl-missing" });
		await keys.post.getWithMetadata({ id: "ctl-missing" });
		await keys.profile.get({ id: "ctl-missing" });
		const getOptions = options(calls.get, 0, 1);
		expect(getOptions["cacheTtl"]).toBe(60);
		expect(options(calls.getWithMetadata, 0, 1)["cacheTtl"]).toBe(60);
		expect(options(calls.get, 1, 1)["cacheTtl"]).toBeUndefined();
	});

	it("per-call options override the design", async () => {
		const { keys, calls } = cache();
		const before = nowSeconds();
		await keys.post.put({ id: "ovr-120" }, post("o"), { ttl: 120 });
		await keys.post.put({ id: "ovr-none" }, post("o"), { ttl: null });
		await keys.profile.put({ id: "ovr-none" }, "p", { ttl: null });
		expect(options(calls.put, 0, 2)["expirationTtl"]).toBe(120);
		expect(options(calls.put, 1, 2)["expirationTtl"]).toBeUndefined();
		expect(options(calls.put, 1, 2)["expiration"]).toBeUndefined();
		expect(options(calls.put, 2, 2)["expirationTtl"]).toBeUndefined();
		const entry = await listed(env.CACHE, "post:ovr-120");
		expect(entry?.expiration).toBeGreaterThanOrEqual(before + 120);
		expect(entry?.expiration).toBeLessThanOrEqual(nowSeconds() + 121);
		expect((await listed(env.CACHE, "post:ovr-none"))?.expiration).toBeUndefined();
		expect((await listed(env.CACHE, "user:ovr-none:profile"))?.expiration).toBeUndefined();
		await keys.post.get({ id: "ovr-120" }, { cacheTtl: 300 });
		await keys.post.getWithMetadata({ id: "ovr-120" }, { cacheTtl: 30 });
		await keys.profile.get({ id: "ovr-none" }, { cacheTtl: 45 });
		expect(options(calls.get, 0, 1)["cacheTtl"]).toBe(300);
		expect(options(calls.getWithMetadata, 0, 1)["cacheTtl"]).toBe(30);
		expect(options(calls.get, 1, 1)["cacheTtl"]).toBe(45);
		// The value is still read and validated as usual.
		expect(await keys.post.get({ id: "ovr-120" }, { cacheTtl: 300 })).toEqual(post("o"));
	});

	it("invalid overrides throw a RangeError before any KV call", async () => {
		const { keys, counts } = cache();
		await expect(keys.post.put({ id: "bad-ttl" }, post("b"), { ttl: 0 })).rejects.toThrow(RangeError);
		await expect(keys.post.put({ id: "bad-ttl" }, post("b"), { ttl: 59 })).rejects.toThrow(RangeError);
		await expect(keys.post.put({ id: "bad-ttl" }, post("b"), { ttl: 59 })).rejects.toThrow(/60/);
		await expect(keys.post.put({ id: "bad-ttl" }, post("b"), { ttl: 120.5 })).rejects.toThrow(RangeError);
		await expect(keys.profile.put({ id: "bad-ttl" }, "p", { ttl: 0 })).rejects.toThrow(RangeError);
		await expect(keys.post.get({ id: "bad-ttl" }, { cacheTtl: 10 })).rejects.toThrow(RangeError);
		await expect(keys.post.get({ id: "bad-ttl" }, { cacheTtl: 10 })).rejects.toThrow(/30/);
		await expect(keys.post.getWithMetadata({ id: "bad-ttl" }, { cacheTtl: 29 })).rejects.toThrow(RangeError);
		await expect(keys.profile.get({ id: "bad-ttl" }, { cacheTtl: 0 })).rejects.toThrow(RangeError);
		const { keys: other, counts: dataCounts } = data();
		await expect(other.author.put({ id: "bad-ttl" }, { name: "A" }, { ttl: 0 })).rejects.toThrow(RangeError);
		expect(total(counts) + total(dataCounts)).toBe(0);
		// The boundaries are accepted.
		await keys.post.put({ id: "ok-ttl" }, post("b"), { ttl: 60 });
		await keys.post.get({ id: "ok-ttl" }, { cacheTtl: 30 });
		expect(counts.put).toBe(1);
		expect(counts.get).toBe(1);
	});
});

describe("getWithMetadata", () => {
	it("returns the value and its metadata; both null when missing", async () => {
		const { keys } = cache();
		await keys.post.put({ id: "meta-1" }, post("meta-1"), { metadata: { v: 2, by: "test" } });
		expect(await keys.post.getWithMetadata({ id: "meta-1" })).toEqual({
			value: post("meta-1"),
			metadata: { v: 2, by: "test" },
		});
		await keys.post.put({ id: "meta-none" }, post("meta-none"));
		expect(await keys.post.getWithMetadata({ id: "meta-none" })).toEqual({ value: post("meta-none"), metadata: null });
		expect(await keys.post.getWithMetadata({ id: "meta-missing" })).toEqual({ value: null, metadata: null });
		const { keys: other } = data();
		const bytes = new Uint8Array([1, 2, 3]).buffer;
		await other.blob.put({ kind: "m", id: "1" }, bytes, { metadata: { type: "raw" } });
		const held = await other.blob.getWithMetadata({ kind: "m", id: "1" });
		expect(held.value).toBeInstanceOf(ArrayBuffer);
		expect([...new Uint8Array(held.value as ArrayBuffer)]).toEqual([1, 2, 3]);
		expect(held.metadata).toEqual({ type: "raw" });
		expect(await other.author.getWithMetadata({ id: "meta-missing" })).toEqual({ value: null, metadata: null });
	});
});

describe("value kinds", () => {
	it("bytes round-trip an ArrayBuffer", async () => {
		const { keys } = data();
		const bytes = new Uint8Array(256);
		for (let i = 0; i < bytes.length; i++) {
			bytes[i] = i;
		}
		await keys.blob.put({ kind: "all", id: "1" }, bytes.buffer);
		const read = await keys.blob.get({ kind: "all", id: "1" });
		expect(read).toBeInstanceOf(ArrayBuffer);
		expect([...new Uint8Array(read as ArrayBuffer)]).toEqual([...bytes]);
		const empty = new ArrayBuffer(0);
		await keys.blob.put({ kind: "empty", id: "1" }, empty);
		expect((await keys.blob.get({ kind: "empty", id: "1" }))?.byteLength).toBe(0);
		expect(await keys.blob.get({ kind: "none", id: "1" })).toBeNull();
	});

	it("json refuses null, and a stored null reads as a missing key, without metadata", async () => {
		const { keys, counts } = data();
		await schemaError(keys.doc.put({ a: "n", b: "1" }, null), "doc:n:1", "$");
		expect(total(counts)).toBe(0);
		await env.E2E_KV.put("doc:n:2", "null", { metadata: { m: 1 } });
		expect(await keys.doc.get({ a: "n", b: "2" })).toBeNull();
		expect(await keys.doc.getWithMetadata({ a: "n", b: "2" })).toEqual({ value: null, metadata: null });
	});

	it("json stores any JSON value, not validated", async () => {
		const { keys } = data();
		const values: unknown[] = [{ a: [1, "two", null] }, [1, { b: true }], "text", 0, 1.5, false, { nested: { deep: [[]] } }];
		for (const [i, value] of values.entries()) {
			await keys.doc.put({ a: "any", b: String(i) }, value);
		}
		for (const [i, value] of values.entries()) {
			expect(await keys.doc.get({ a: "any", b: String(i) })).toEqual(value);
		}
	});

	it("string values are stored as text, as they are", async () => {
		const { keys } = cache();
		await keys.profile.put({ id: "text" }, '{"not": "parsed"} ✓');
		expect(await env.CACHE.get("user:text:profile")).toBe('{"not": "parsed"} ✓');
		expect(await keys.profile.get({ id: "text" })).toBe('{"not": "parsed"} ✓');
		await env.CACHE.put("user:raw:profile", "plain");
		expect(await keys.profile.get({ id: "raw" })).toBe("plain");
	});
});

describe("list", () => {
	it("walks every page and yields only the keys of the pattern, with params", async () => {
		const ids = Array.from({ length: 25 }, (_, i) => `u${String(i).padStart(2, "0")}`);
		const { keys, counts, calls } = cache();
		for (const id of ids) {
			await keys.user.put({ id }, { name: id });
			await keys.profile.put({ id }, `profile of ${id}`);
		}
		// Keys under the same prefix that neither pattern produces, and others.
		for (const raw of ["user:u00:other", "user:u01:profile:x", "users:1", "user", "post:1", "a:user:1"]) {
			await env.CACHE.put(raw, "{}");
		}
		const callsBefore = counts.list;
		const users = await collect(keys.user.list({ limit: 10 }));
		const userPages = counts.list - callsBefore;
		expect(users.map((u) => u.key)).toEqual(ids.map((id) => `user:${id}`));
		expect(users.map((u) => u.params)).toEqual(ids.map((id) => ({ id })));
		// 25 users, 25 profiles and 2 other keys under "user:", 10 a page.
		expect(userPages).toBeGreaterThanOrEqual(6);
		for (const args of calls.list) {
			expect(args[0]).toMatchObject({ prefix: "user:", limit: 10 });
		}
		const profiles = await collect(keys.profile.list({ limit: 10 }));
		expect(profiles.map((p) => p.key)).toEqual(ids.map((id) => `user:${id}:profile`));
		expect(profiles.map((p) => p.params)).toEqual(ids.map((id) => ({ id })));
		expect(counts.list - callsBefore - userPages).toBeGreaterThanOrEqual(6);
		const now = nowSeconds();
		for (const entry of [...users, ...profiles]) {
			expect(entry.expiration).toBeGreaterThanOrEqual(now + 3500);
			expect(entry.expiration).toBeLessThanOrEqual(now + 3601);
		}
		// Without a limit: one page holds them all.
		const pagesBefore = counts.list;
		expect(await collect(keys.user.list())).toHaveLength(25);
		expect(counts.list - pagesBefore).toBe(1);
	});

	it("yields metadata, and parses params inside and beside literals", async () => {
		const { keys } = data();
		await keys.doc.put({ a: "x", b: "y" }, 1, { metadata: { n: 1 } });
		await keys.doc.put({ a: "x", b: "z" }, 2);
		await env.E2E_KV.put("doc:x", "1");
		await env.E2E_KV.put("doc:x:y:z", "1");
		const docs = await collect(keys.doc.list());
		expect(docs.map((d) => [d.key, d.params])).toEqual([
			["doc:x:y", { a: "x", b: "y" }],
			["doc:x:z", { a: "x", b: "z" }],
		]);
		expect(docs[0]?.metadata).toEqual({ n: 1 });
		expect(docs[1]?.metadata).toBeUndefined();
		await keys.blob.put({ kind: "img", id: "1" }, new ArrayBuffer(1));
		await env.E2E_KV.put("blob:nodash", "1");
		const blobs = await collect(keys.blob.list());
		expect(blobs.map((b) => [b.key, b.params])).toEqual([["blob:img-1", { kind: "img", id: "1" }]]);
	});

	it("refuses a page size outside 1..1000 before any KV call", async () => {
		const { keys, counts } = cache();
		await expect(collect(keys.user.list({ limit: 0 }))).rejects.toThrow(RangeError);
		await expect(collect(keys.user.list({ limit: 1001 }))).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});
});

describe("delete", () => {
	it("removes the key; deleting a missing key is not an error", async () => {
		const { keys, counts } = cache();
		await keys.post.put({ id: "del-1" }, post("del-1"));
		await keys.post.delete({ id: "del-1" });
		expect(counts.delete).toBe(1);
		expect(await keys.post.get({ id: "del-1" })).toBeNull();
		expect(await env.CACHE.get("post:del-1")).toBeNull();
		await expect(keys.post.delete({ id: "del-never" })).resolves.toBeUndefined();
		const { keys: other } = data();
		await other.blob.put({ kind: "d", id: "1" }, new ArrayBuffer(2));
		await other.blob.delete({ kind: "d", id: "1" });
		expect(await other.blob.get({ kind: "d", id: "1" })).toBeNull();
	});
});
