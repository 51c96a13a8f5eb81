// Behaviour of the generated bulk module (src/kv/bulk.ts), in workerd,
// against the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { backoff, deleteMany, getMany, listAll, putMany } from "@kv/bulk";
import { counting, total } from "./counting";
import { listed, names as allNames, nowSeconds } from "./kv";

afterEach(async () => {
	vi.useRealTimers();
	vi.restoreAllMocks();
	await reset();
});

// What the binding throws when KV rate limits a call (workerd's
// checkForErrorStatus in src/workerd/api/kv.c++: "KV <METHOD> failed: <status> <statusText>").
const PUT_429 = "KV PUT failed: 429 Too Many Requests";
const DELETE_429 = "KV DELETE failed: 429 Too Many Requests";
const PUT_500 = "KV PUT failed: 500 Internal Server Error";

/** No wait between retries, so the tests stay fast. */
const noDelay = () => 0;

/** Every key name in E2E_KV, in KV's order. */
const names = () => allNames(env.E2E_KV);

/** Writes `count` keys `prefix000`, `prefix001`… with value "v<i>". */
async function fill(prefix: string, count: number, width = 3) {
	const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, "0")}`);
	await Promise.all(keys.map((key, i) => env.E2E_KV.put(key, `v${i}`)));
	return keys;
}

/** The methods the helpers below can intercept. */
type Method = "get" | "put" | "delete";

/**
 * A namespace whose `method` runs `hook(key, call)` first, `call` counting
 * that key's calls from 1 (for a bulk get, the key is the array of keys):
 * the hook may wait, or throw to make the call fail as KV would.
 */
function hooked(kv: KVNamespace, method: Method, hook: (key: string, call: number) => Promise<void> | void) {
	const calls = new Map<string, number>();
	return new Proxy(kv, {
		get(target, property, receiver) {
			const value: unknown = Reflect.get(target, property, receiver);
			if (property !== method || typeof value !== "function") {
				return value;
			}
			return async (key: string, ...rest: unknown[]) => {
				const call = (calls.get(key) ?? 0) + 1;
				calls.set(key, call);
				await hook(key, call);
				return (value as (...a: unknown[]) => unknown).apply(target, [key, ...rest]);
			};
		},
	});
}

/** A namespace whose `method` fails with `message` on the first `times` calls of each key in `plan`. */
function failing(kv: KVNamespace, method: "put" | "delete", plan: Record<string, { times: number; message: string }>) {
	return hooked(kv, method, (key, call) => {
		const rule = plan[key];
		if (rule !== undefined && call <= rule.times) {
			throw new Error(rule.message);
		}
	});
}

/** A namespace whose `method` takes `ms` per call; `peak` is the most calls seen in flight. */
function slow(kv: KVNamespace, method: Method, ms: number) {
	const stats = { active: 0, peak: 0 };
	const wrapped = hooked(kv, method, async () => {
		stats.active += 1;
		stats.peak = Math.max(stats.peak, stats.active);
		await new Promise((resolve) => setTimeout(resolve, ms));
		stats.active -= 1;
	});
	return { kv: wrapped, stats };
}

type ListPage = { keys: { name: string; expiration?: number; metadata?: unknown }[]; list_complete: boolean; cursor?: string };

/**
 * A namespace whose list() answers the given pages in turn (the local KV
 * never returns an empty page that is not the last) and records the options
 * of each call.
 */
function scripted(pages: ListPage[]) {
	const lists: KVNamespaceListOptions[] = [];
	const kv = {
		async list(options: KVNamespaceListOptions) {
			lists.push({ ...options });
			const page = pages.shift();
			if (page === undefined) {
				throw new Error("listed past the end");
			}
			return { ...page, cacheStatus: null };
		},
	} as unknown as KVNamespace;
	return { kv, lists };
}

/** Everything listAll yields, as names. */
async function collect(iterable: AsyncIterable<{ name: string }>): Promise<string[]> {
	const out: string[] = [];
	for await (const key of iterable) {
		out.push(key.name);
	}
	return out;
}

describe("getMany", () => {
	it("reads 250 keys in exactly 3 bulk gets of at most 100 keys; missing keys are null", async () => {
		await fill("k", 200);
		const keys = Array.from({ length: 250 }, (_, i) => `k${String(i).padStart(3, "0")}`);
		const { kv, counts, calls } = counting(env.E2E_KV);
		const values = await getMany(kv, keys);
		expect(counts.get).toBe(3);
		expect(total(counts)).toBe(3);
		expect(calls.get.map(([chunk]) => (chunk as string[]).length)).toEqual([100, 100, 50]);
		for (const [chunk, options] of calls.get) {
			expect(Array.isArray(chunk)).toBe(true);
			expect(options).toEqual({ type: "text" });
		}
		// Every key requested, in the order requested.
		expect([...values.keys()]).toEqual(keys);
		expect(values.get("k000")).toBe("v0");
		expect(values.get("k199")).toBe("v199");
		for (const key of keys.slice(200)) {
			expect(values.has(key)).toBe(true);
			expect(values.get(key)).toBeNull();
		}
	});

	it("splits 101 keys into 100 + 1, and makes no call for no keys", async () => {
		const keys = Array.from({ length: 101 }, (_, i) => `m${i}`);
		const { kv, counts, calls } = counting(env.E2E_KV);
		const values = await getMany(kv, keys);
		expect(calls.get.map(([chunk]) => (chunk as string[]).length)).toEqual([100, 1]);
		expect(values.size).toBe(101);
		expect([...values.values()].every((v) => v === null)).toBe(true);
		expect((await getMany(kv, [])).size).toBe(0);
		expect(counts.get).toBe(2);
	});

	it("reads a key given twice once", async () => {
		await env.E2E_KV.put("a", "1");
		const { kv, calls } = counting(env.E2E_KV);
		const values = await getMany(kv, ["a", "b", "a"]);
		expect(calls.get).toEqual([[["a", "b"], { type: "text" }]]);
		expect([...values.entries()]).toEqual([
			["a", "1"],
			["b", null],
		]);
	});

	it('"json" parses values, "text" (the default) returns them as stored', async () => {
		await env.E2E_KV.put("user:1", JSON.stringify({ name: "Ada" }));
		await env.E2E_KV.put("n", "42");
		const json = await getMany<{ name: string } | number>(env.E2E_KV, ["user:1", "n", "none"], "json");
		expect(json.get("user:1")).toEqual({ name: "Ada" });
		expect(json.get("n")).toBe(42);
		expect(json.get("none")).toBeNull();
		const text = await getMany(env.E2E_KV, ["user:1", "n"]);
		expect(text.get("user:1")).toBe('{"name":"Ada"}');
		expect(text.get("n")).toBe("42");
		expect((await getMany(env.E2E_KV, ["n"], "text")).get("n")).toBe("42");
	});

	it('rejects with "json" when a value is not JSON', async () => {
		await env.E2E_KV.put("bad", "not json");
		await expect(getMany(env.E2E_KV, ["bad"], "json")).rejects.toThrow();
	});

	it("passes cacheTtl to every bulk get", async () => {
		const { kv, calls } = counting(env.E2E_KV);
		await getMany(kv, ["a"], "json", { cacheTtl: 60 });
		expect(calls.get).toEqual([[["a"], { type: "json", cacheTtl: 60 }]]);
	});

	it("checks keys, type, cacheTtl and maxOperations before KV is called", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		await expect(getMany(kv, ["ok", "k".repeat(513)])).rejects.toThrow(/512/);
		await expect(getMany(kv, ["ok", ""])).rejects.toThrow(RangeError);
		await expect(getMany(kv, ["ok"], "arrayBuffer" as "text")).rejects.toThrow(TypeError);
		await expect(getMany(kv, ["ok"], "text", { cacheTtl: 29 })).rejects.toThrow(/30/);
		const keys = Array.from({ length: 201 }, (_, i) => `k${i}`);
		await expect(getMany(kv, keys, "text", { maxOperations: 2 })).rejects.toThrow(/maxOperations/);
		await expect(getMany(kv, keys, "text", { maxOperations: 1001 })).rejects.toThrow(RangeError);
		await expect(getMany(kv, keys, "text", { maxOperations: 0 })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		// 200 distinct keys (one given twice) fit in 2 bulk gets.
		const fits = [...keys.slice(0, 200), "k0"];
		expect((await getMany(kv, fits, "text", { maxOperations: 2 })).size).toBe(200);
		expect(counts.get).toBe(2);
	});

	it("runs at most 6 bulk gets at once", async () => {
		const { kv, stats } = slow(env.E2E_KV, "get", 5);
		const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
		expect((await getMany(kv, keys)).size).toBe(1000);
		expect(stats.peak).toBe(6);
	});
});

describe("putMany", () => {
	it("stores strings as they are and other values as JSON", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const result = await putMany(kv, [
			{ key: "s", value: "hello" },
			{ key: "q", value: '"already json"' },
			{ key: "o", value: { name: "Ada", tags: ["a"] } },
			{ key: "n", value: 42 },
			{ key: "b", value: false },
			{ key: "z", value: null },
		]);
		expect(result).toEqual({ written: 6, failed: [] });
		expect(counts.put).toBe(6);
		expect(total(counts)).toBe(6);
		expect(await env.E2E_KV.get("s")).toBe("hello");
		expect(await env.E2E_KV.get("q")).toBe('"already json"');
		expect(await env.E2E_KV.get("o")).toBe('{"name":"Ada","tags":["a"]}');
		expect(await env.E2E_KV.get("n")).toBe("42");
		expect(await env.E2E_KV.get("b")).toBe("false");
		expect(await env.E2E_KV.get("z")).toBe("null");
		// And getMany reads them back.
		const back = await getMany<unknown>(env.E2E_KV, ["o", "n"], "json");
		expect(back.get("o")).toEqual({ name: "Ada", tags: ["a"] });
	});

	it("stores an ArrayBuffer or typed array as its bytes", async () => {
		const bytes = new Uint8Array([0, 1, 2, 255]);
		expect(await putMany(env.E2E_KV, [{ key: "u8", value: bytes }, { key: "ab", value: bytes.buffer }])).toEqual({ written: 2, failed: [] });
		expect(new Uint8Array((await env.E2E_KV.get("u8", "arrayBuffer"))!)).toEqual(bytes);
		expect(new Uint8Array((await env.E2E_KV.get("ab", "arrayBuffer"))!)).toEqual(bytes);
	});

	it("applies ttl as expirationTtl and metadata; omitted or null ttl means no expiry", async () => {
		const { kv, calls } = counting(env.E2E_KV);
		const before = nowSeconds();
		const result = await putMany(kv, [
			{ key: "t", value: "1", ttl: 120, metadata: { v: 1, by: "ops" } },
			{ key: "never", value: "2", ttl: null },
			{ key: "omitted", value: "3" },
		]);
		expect(result).toEqual({ written: 3, failed: [] });
		const t = await listed(env.E2E_KV, "t");
		expect(t?.expiration).toBeGreaterThanOrEqual(before + 120);
		expect(t?.expiration).toBeLessThanOrEqual(nowSeconds() + 121);
		expect(t?.metadata).toEqual({ v: 1, by: "ops" });
		expect((await env.E2E_KV.getWithMetadata("t")).metadata).toEqual({ v: 1, by: "ops" });
		expect((await listed(env.E2E_KV, "never"))?.expiration).toBeUndefined();
		expect((await listed(env.E2E_KV, "omitted"))?.expiration).toBeUndefined();
		const options = new Map(calls.put.map(([key, , opts]) => [key, opts]));
		expect(options.get("t")).toEqual({ expirationTtl: 120, metadata: { v: 1, by: "ops" } });
		expect(options.get("never")).toEqual({});
		expect(options.get("omitted")).toEqual({});
	});

	it("retries a put that KV rate limits (429), then succeeds", async () => {
		const { kv, counts, calls } = counting(failing(env.E2E_KV, "put", { a: { times: 2, message: PUT_429 } }));
		const retryDelay = vi.fn(noDelay);
		const result = await putMany(kv, [{ key: "a", value: "A" }, { key: "b", value: "B" }], { retryDelay });
		expect(result).toEqual({ written: 2, failed: [] });
		expect(counts.put).toBe(4);
		expect(calls.put.filter(([key]) => key === "a")).toHaveLength(3);
		expect(retryDelay.mock.calls).toEqual([[1], [2]]);
		expect(await env.E2E_KV.get("a")).toBe("A");
	});

	it("recognises the 429 however KV words it, but nothing else", async () => {
		const plan = {
			a: { times: 1, message: "KV PUT failed: 429 " },
			b: { times: 1, message: "Too Many Requests" },
			c: { times: 1, message: "Too many API requests by single worker invocation." },
			d: { times: 1, message: "KV PUT failed: 414 UTF-8 encoded length of 600 exceeds key length limit of 512." },
		};
		const { kv, counts } = counting(failing(env.E2E_KV, "put", plan));
		const entries = ["a", "b", "c", "d"].map((key) => ({ key, value: key }));
		const result = await putMany(kv, entries, { retryDelay: noDelay });
		expect(result.written).toBe(2);
		expect(result.failed.map((f) => f.key)).toEqual(["c", "d"]);
		expect(counts.put).toBe(6);
	});

	it("does not retry other errors, and reports them per key", async () => {
		const { kv, counts } = counting(failing(env.E2E_KV, "put", { b: { times: 1, message: PUT_500 } }));
		const retryDelay = vi.fn(noDelay);
		const result = await putMany(kv, ["a", "b", "c"].map((key) => ({ key, value: key })), { retryDelay });
		expect(result).toEqual({ written: 2, failed: [{ key: "b", error: PUT_500 }] });
		expect(counts.put).toBe(3);
		expect(retryDelay).not.toHaveBeenCalled();
		expect(await names()).toEqual(["a", "c"]);
	});

	it("lists failures in the order of the entries, whatever their cause", async () => {
		const { kv } = counting(failing(env.E2E_KV, "put", { a: { times: 1, message: PUT_500 } }));
		const entries = [
			{ key: "a", value: "a" },
			{ key: "b", value: "b", ttl: 0 },
			{ key: "c", value: "c" },
			{ key: "d", value: "d" },
		];
		const result = await putMany(kv, entries, { maxOperations: 2, concurrency: 1 });
		expect(result.written).toBe(1);
		expect(result.failed.map((f) => f.key)).toEqual(["a", "b", "d"]);
		expect(result.failed[0]!.error).toBe(PUT_500);
		expect(result.failed[1]!.error).toMatch(/ttl/);
		expect(result.failed[2]!.error).toMatch(/^not attempted/);
	});

	it("gives up on a key still rate limited after `retries` retries", async () => {
		const first = counting(failing(env.E2E_KV, "put", { a: { times: 100, message: PUT_429 } }));
		const result = await putMany(first.kv, [{ key: "a", value: "A" }, { key: "b", value: "B" }], { retries: 2, retryDelay: noDelay });
		expect(result.written).toBe(1);
		expect(result.failed).toHaveLength(1);
		expect(result.failed[0]!.key).toBe("a");
		expect(result.failed[0]!.error).toContain(PUT_429);
		expect(result.failed[0]!.error).toMatch(/attempts: 3/);
		expect(first.counts.put).toBe(4);

		const second = counting(failing(env.E2E_KV, "put", { a: { times: 100, message: PUT_429 } }));
		const none = await putMany(second.kv, [{ key: "a", value: "A" }], { retries: 0, retryDelay: noDelay });
		expect(none.failed[0]!.error).toMatch(/429/);
		expect(second.counts.put).toBe(1);
	});

	it("retries 3 times by default", async () => {
		const { kv, counts } = counting(failing(env.E2E_KV, "put", { a: { times: 100, message: PUT_429 } }));
		const result = await putMany(kv, [{ key: "a", value: "A" }], { retryDelay: noDelay });
		expect(result.failed[0]!.error).toMatch(/attempts: 4/);
		expect(counts.put).toBe(4);
	});

	it("waits the default backoff, at least 1 s, before retrying", async () => {
		vi.useFakeTimers();
		vi.spyOn(Math, "random").mockReturnValue(0);
		const { kv, counts } = counting(failing(env.E2E_KV, "put", { a: { times: 2, message: PUT_429 } }));
		const done = putMany(kv, [{ key: "a", value: "A" }]);
		await vi.advanceTimersByTimeAsync(999);
		expect(counts.put).toBe(1);
		await vi.advanceTimersByTimeAsync(1);
		expect(counts.put).toBe(2);
		await vi.advanceTimersByTimeAsync(1999);
		expect(counts.put).toBe(2);
		await vi.advanceTimersByTimeAsync(1);
		expect(counts.put).toBe(3);
		vi.useRealTimers();
		expect(await done).toEqual({ written: 1, failed: [] });
	});

	it("reports invalid entries in `failed`, in order, and sends nothing for them", async () => {
		const { kv, counts, calls } = counting(env.E2E_KV);
		const stream = new ReadableStream();
		const result = await putMany(kv, [
			{ key: "ok1", value: "1" },
			{ key: "k".repeat(513), value: "x" },
			{ key: "", value: "x" },
			{ key: "ttl0", value: "x", ttl: 0 },
			{ key: "ttl59", value: "x", ttl: 59 },
			{ key: "meta", value: "x", metadata: { blob: "m".repeat(1100) } },
			{ key: "undef", value: undefined },
			{ key: "fn", value: () => 1 },
			{ key: "big", value: 10n },
			{ key: "huge", value: "h".repeat(25 * 1024 * 1024 + 1) },
			{ key: "stream", value: stream },
			{ key: "ok2", value: { a: 1 } },
		]);
		expect(result.written).toBe(2);
		expect(counts.put).toBe(2);
		expect(calls.put.map(([key]) => key)).toEqual(["ok1", "ok2"]);
		const errors = Object.fromEntries(result.failed.map((f) => [f.key.slice(0, 8), f.error]));
		expect(result.failed.map((f) => f.key)).toEqual(["k".repeat(513), "", "ttl0", "ttl59", "meta", "undef", "fn", "big", "huge", "stream"]);
		expect(errors["kkkkkkkk"]).toMatch(/512/);
		expect(errors[""]).toMatch(/empty/);
		expect(errors["ttl0"]).toMatch(/60/);
		expect(errors["ttl59"]).toMatch(/60/);
		expect(errors["meta"]).toMatch(/1024/);
		expect(errors["undef"]).toMatch(/undefined/);
		expect(errors["fn"]).toMatch(/function/);
		expect(errors["big"]).toBeTruthy();
		expect(errors["huge"]).toMatch(/25 MiB/);
		expect(errors["stream"]).toMatch(/ReadableStream/);
		expect(await names()).toEqual(["ok1", "ok2"]);
	});

	it("writes a key given twice once, from its first entry, and reports the others", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const result = await putMany(kv, [
			{ key: "a", value: "first" },
			{ key: "b", value: "b" },
			{ key: "a", value: "second" },
			{ key: "a", value: "third" },
		]);
		expect(result.written).toBe(2);
		expect(result.failed.map((f) => f.key)).toEqual(["a", "a"]);
		expect(result.failed[0]!.error).toMatch(/twice.*1 write per second/);
		expect(counts.put).toBe(2);
		expect(await env.E2E_KV.get("a")).toBe("first");
	});

	it("stops before maxOperations and reports the entries not attempted", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const entries = ["a", "b", "c", "d", "e"].map((key) => ({ key, value: key }));
		const result = await putMany(kv, entries, { maxOperations: 3, concurrency: 2 });
		expect(result.written).toBe(3);
		expect(result.failed.map((f) => f.key)).toEqual(["d", "e"]);
		expect(result.failed[0]!.error).toMatch(/^not attempted: .*3 KV operations/);
		expect(counts.put).toBe(3);
		expect(await names()).toEqual(["a", "b", "c"]);
	});

	it("counts every retry against maxOperations", async () => {
		const { kv, counts } = counting(failing(env.E2E_KV, "put", { a: { times: 1, message: PUT_429 } }));
		const entries = ["a", "b", "c"].map((key) => ({ key, value: key }));
		const result = await putMany(kv, entries, { maxOperations: 3, concurrency: 1, retryDelay: noDelay });
		// a: 2 attempts, b: 1; c does not fit.
		expect(result.written).toBe(2);
		expect(result.failed).toEqual([{ key: "c", error: expect.stringMatching(/^not attempted/) }]);
		expect(counts.put).toBe(3);

		const again = counting(failing(env.E2E_KV, "put", { x: { times: 5, message: PUT_429 } }));
		const stuck = await putMany(again.kv, [{ key: "x", value: "x" }], { maxOperations: 1, retryDelay: noDelay });
		expect(stuck.failed[0]!.error).toContain(PUT_429);
		expect(stuck.failed[0]!.error).toMatch(/not retried/);
		expect(again.counts.put).toBe(1);
	});

	it("uses the whole budget of 1000 when asked, and invalid entries cost nothing", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const entries = [{ key: "", value: "x" }, ...Array.from({ length: 4 }, (_, i) => ({ key: `k${i}`, value: "v" }))];
		const result = await putMany(kv, entries, { maxOperations: 4 });
		expect(result.written).toBe(4);
		expect(result.failed.map((f) => f.key)).toEqual([""]);
		expect(counts.put).toBe(4);
	});

	it("keeps at most `concurrency` puts in flight: 6 by default", async () => {
		const entries = Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: "v" }));
		const three = slow(env.E2E_KV, "put", 5);
		expect((await putMany(three.kv, entries, { concurrency: 3 })).written).toBe(12);
		expect(three.stats.peak).toBe(3);
		const byDefault = slow(env.E2E_KV, "put", 5);
		expect((await putMany(byDefault.kv, entries)).written).toBe(12);
		expect(byDefault.stats.peak).toBe(6);
	});

	it("checks its options before KV is called", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		const entries = [{ key: "a", value: "1" }];
		await expect(putMany(kv, entries, { concurrency: 0 })).rejects.toThrow(/concurrency/);
		await expect(putMany(kv, entries, { concurrency: 1.5 })).rejects.toThrow(RangeError);
		await expect(putMany(kv, entries, { retries: -1 })).rejects.toThrow(/retries/);
		await expect(putMany(kv, entries, { retries: 11 })).rejects.toThrow(RangeError);
		await expect(putMany(kv, entries, { maxOperations: 0 })).rejects.toThrow(/maxOperations/);
		await expect(putMany(kv, entries, { maxOperations: 1001 })).rejects.toThrow(RangeError);
		await expect(putMany(kv, entries, { retryDelay: 5 as unknown as () => number })).rejects.toThrow(TypeError);
		await expect(putMany(kv, "a" as unknown as [])).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
		expect(await putMany(kv, [])).toEqual({ written: 0, failed: [] });
		expect(total(counts)).toBe(0);
	});
});

describe("backoff", () => {
	it("starts at 1 s, doubles, adds up to as much again of jitter, and is capped", () => {
		const random = vi.spyOn(Math, "random").mockReturnValue(0);
		expect([1, 2, 3, 4].map(backoff)).toEqual([1000, 2000, 4000, 8000]);
		expect(backoff(10)).toBe(30_000);
		random.mockReturnValue(0.999);
		expect(backoff(1)).toBeGreaterThan(1900);
		expect(backoff(1)).toBeLessThan(2000);
		expect(backoff(3)).toBeLessThan(8000);
		expect(backoff(20)).toBeLessThan(60_000);
	});
});

describe("deleteMany", () => {
	it("deletes each key once; a missing key is not an error", async () => {
		await fill("d", 4);
		const { kv, counts } = counting(env.E2E_KV);
		const result = await deleteMany(kv, ["d000", "d002", "d000", "never"]);
		expect(result).toEqual({ deleted: 3, failed: [] });
		expect(counts.delete).toBe(3);
		expect(total(counts)).toBe(3);
		expect(await names()).toEqual(["d001", "d003"]);
	});

	it("reports invalid keys without sending them", async () => {
		await fill("d", 2);
		const { kv, counts } = counting(env.E2E_KV);
		const result = await deleteMany(kv, ["d000", "", "k".repeat(513), "d001"]);
		expect(result.deleted).toBe(2);
		expect(result.failed.map((f) => f.key)).toEqual(["", "k".repeat(513)]);
		expect(result.failed[1]!.error).toMatch(/512/);
		expect(counts.delete).toBe(2);
		expect(await names()).toEqual([]);
	});

	it("retries a delete that KV rate limits, and reports other errors at once", async () => {
		await fill("d", 3);
		const plan = { d000: { times: 1, message: DELETE_429 }, d001: { times: 1, message: "KV DELETE failed: 500 Internal Server Error" } };
		const { kv, counts } = counting(failing(env.E2E_KV, "delete", plan));
		const result = await deleteMany(kv, ["d000", "d001", "d002"], { retryDelay: noDelay });
		expect(result).toEqual({ deleted: 2, failed: [{ key: "d001", error: "KV DELETE failed: 500 Internal Server Error" }] });
		expect(counts.delete).toBe(4);
		expect(await names()).toEqual(["d001"]);
	});

	it("stops before maxOperations and reports the keys not attempted", async () => {
		await fill("d", 4);
		const { kv, counts } = counting(env.E2E_KV);
		const result = await deleteMany(kv, ["d000", "d001", "d002", "d003"], { maxOperations: 2 });
		expect(result.deleted).toBe(2);
		expect(result.failed.map((f) => f.key)).toEqual(["d002", "d003"]);
		expect(result.failed[0]!.error).toMatch(/^not attempted/);
		expect(counts.delete).toBe(2);
	});

	it("keeps at most `concurrency` deletes in flight and checks its options", async () => {
		const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
		const two = slow(env.E2E_KV, "delete", 5);
		expect((await deleteMany(two.kv, keys, { concurrency: 2 })).deleted).toBe(8);
		expect(two.stats.peak).toBe(2);
		const { kv, counts } = counting(env.E2E_KV);
		await expect(deleteMany(kv, keys, { concurrency: 0 })).rejects.toThrow(/concurrency/);
		await expect(deleteMany(kv, keys, { maxOperations: 1001 })).rejects.toThrow(/maxOperations/);
		await expect(deleteMany(kv, "k" as unknown as string[])).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
		expect(await deleteMany(kv, [])).toEqual({ deleted: 0, failed: [] });
		expect(total(counts)).toBe(0);
	});
});

describe("listAll", () => {
	// Writing 1000+ keys to the local KV takes a second or more on a slow
	// machine, hence the longer timeout.
	it("pages through more than 1000 keys with the cursor, one list() per page, the prefix on every page", { timeout: 20_000 }, async () => {
		const keys = await fill("p:", 1001, 4);
		await fill("q:", 3);
		await env.E2E_KV.put("p", "no colon");
		const { kv, counts, calls } = counting(env.E2E_KV);
		const all = await collect(listAll(kv));
		expect(all).toHaveLength(1005);
		expect(all.slice(1, 1002)).toEqual(keys);
		expect(counts.list).toBe(2);
		expect(total(counts)).toBe(2);
		const [first, second] = calls.list.map(([options]) => options as KVNamespaceListOptions);
		expect(first).toEqual({ limit: 1000 });
		expect(second?.limit).toBe(1000);
		expect(typeof second?.cursor).toBe("string");

		const prefixed = counting(env.E2E_KV);
		expect(await collect(listAll(prefixed.kv, "p:"))).toEqual(keys);
		const options = prefixed.calls.list.map(([o]) => o as KVNamespaceListOptions);
		expect(options.map((o) => o.prefix)).toEqual(["p:", "p:"]);
		expect(options.map((o) => o.limit)).toEqual([1000, 1000]);
		expect(options[0]?.cursor).toBeUndefined();
		expect(options[1]?.cursor).toBeTruthy();
		expect(await collect(listAll(env.E2E_KV, "q:"))).toEqual(["q:000", "q:001", "q:002"]);
		expect(await collect(listAll(env.E2E_KV, "none:"))).toEqual([]);
	});

	it("goes on past empty pages until list_complete, with the prefix and cursor each time", async () => {
		const { kv, lists } = scripted([
			{ keys: [{ name: "p:1" }, { name: "p:2" }], list_complete: false, cursor: "c1" },
			{ keys: [], list_complete: false, cursor: "c2" },
			{ keys: [], list_complete: false, cursor: "c3" },
			{ keys: [{ name: "p:3" }], list_complete: true },
		]);
		expect(await collect(listAll(kv, "p:"))).toEqual(["p:1", "p:2", "p:3"]);
		expect(lists).toEqual([
			{ prefix: "p:", limit: 1000 },
			{ prefix: "p:", limit: 1000, cursor: "c1" },
			{ prefix: "p:", limit: 1000, cursor: "c2" },
			{ prefix: "p:", limit: 1000, cursor: "c3" },
		]);
	});

	it("yields each key's expiration and metadata", async () => {
		const before = nowSeconds();
		await env.E2E_KV.put("a", "1", { expirationTtl: 300, metadata: { role: "admin" } });
		await env.E2E_KV.put("b", "2");
		const all: { name: string; expiration?: number; metadata?: unknown }[] = [];
		for await (const key of listAll(env.E2E_KV)) {
			all.push(key);
		}
		expect(all.map((k) => k.name)).toEqual(["a", "b"]);
		expect(all[0]?.expiration).toBeGreaterThanOrEqual(before + 300);
		expect(all[0]?.metadata).toEqual({ role: "admin" });
		expect(all[1]?.expiration).toBeUndefined();
	});

	it("lists lazily: breaking out after the first key makes one list() call", async () => {
		const { kv, lists } = scripted([
			{ keys: [{ name: "p:1" }, { name: "p:2" }], list_complete: false, cursor: "c1" },
			{ keys: [{ name: "p:3" }], list_complete: true },
		]);
		for await (const key of listAll(kv)) {
			expect(key.name).toBe("p:1");
			break;
		}
		expect(lists).toEqual([{ limit: 1000 }]);
	});

	it("throws after maxOperations pages when the listing is not complete", async () => {
		const { kv, lists } = scripted([
			{ keys: [{ name: "p:1" }], list_complete: false, cursor: "c1" },
			{ keys: [{ name: "p:2" }], list_complete: false, cursor: "c2" },
			{ keys: [{ name: "p:3" }], list_complete: true },
		]);
		const seen: string[] = [];
		await expect(async () => {
			for await (const key of listAll(kv, "p:", { maxOperations: 2 })) {
				seen.push(key.name);
			}
		}).rejects.toThrow(/maxOperations/);
		expect(seen).toEqual(["p:1", "p:2"]);
		expect(lists).toHaveLength(2);
		// A listing that completes on the last page allowed is fine.
		const exact = scripted([
			{ keys: [{ name: "p:1" }], list_complete: false, cursor: "c1" },
			{ keys: [{ name: "p:2" }], list_complete: true },
		]);
		expect(await collect(listAll(exact.kv, "p:", { maxOperations: 2 }))).toEqual(["p:1", "p:2"]);
	});

	it("throws rather than starting over when an incomplete page has no cursor", async () => {
		const { kv, lists } = scripted([
			{ keys: [{ name: "p:1" }], list_complete: false },
			{ keys: [{ name: "p:1" }], list_complete: false },
		]);
		const seen: string[] = [];
		await expect(async () => {
			for await (const key of listAll(kv, "p:")) {
				seen.push(key.name);
			}
		}).rejects.toThrow(/no cursor/);
		expect(seen).toEqual(["p:1"]);
		expect(lists).toHaveLength(1);
	});

	it("checks the prefix and maxOperations before listing", async () => {
		const { kv, counts } = counting(env.E2E_KV);
		await expect(collect(listAll(kv, "p".repeat(513)))).rejects.toThrow(/512/);
		await expect(collect(listAll(kv, "p:", { maxOperations: 0 }))).rejects.toThrow(RangeError);
		await expect(collect(listAll(kv, "p:", { maxOperations: 1001 }))).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
	});
});
