// Behaviour of the generated config module (src/kv/config.ts), in workerd,
// against the contract in shared/spec/generated-api.md.
//
// The module memoises reads per KV binding object, for the life of the
// isolate. Every test therefore reads through its own wrapper of CONFIG (a
// new object: an empty memo), made by `fresh()`, and writes fixtures
// straight to env.CONFIG.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigStore } from "@kv/config";
import { counting } from "./counting";

afterEach(async () => {
	vi.useRealTimers();
	vi.restoreAllMocks();
	await reset();
});

type Site = { banner: string; maxUploadMb: number; beta: boolean };
const defaults: Site = { banner: "", maxUploadMb: 10, beta: false };

/** A new wrapper of CONFIG (its own memo) and its KV call counts. */
function fresh() {
	return counting(env.CONFIG);
}

/** Stores a raw config value, as `wrangler kv key put` would. */
async function store(key: string, value: unknown) {
	await env.CONFIG.put(key, typeof value === "string" ? value : JSON.stringify(value));
}

/** Fakes the clock (Date only: KV I/O keeps its real timers). */
function fakeClock() {
	vi.useFakeTimers({ toFake: ["Date"] });
	vi.setSystemTime(1_800_000_000_000);
}

describe("ConfigStore.get", () => {
	it("returns the defaults when nothing is stored", async () => {
		const { kv, counts } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults });
		expect(await config.get()).toEqual(defaults);
		expect(counts.get).toBe(1);
		expect(counts.put).toBe(0);
	});

	it("reads `config:<name>` and puts the stored fields over the defaults", async () => {
		await store("config:site", { banner: "Sale!", beta: true, extra: 1 });
		const { kv, calls } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults });
		expect(await config.get()).toEqual({ banner: "Sale!", maxUploadMb: 10, beta: true, extra: 1 });
		expect(calls.get[0]?.[0]).toBe("config:site");
	});

	it("uses the prefix option for the key", async () => {
		await store("cfg/site", { maxUploadMb: 99 });
		const { kv } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults, prefix: "cfg/" });
		expect((await config.get()).maxUploadMb).toBe(99);
	});

	it("memoises: a second get within memoizeSeconds makes no KV call, and one after it reads again", async () => {
		fakeClock();
		await store("config:site", { banner: "one" });
		const { kv, counts } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults, memoizeSeconds: 30 });
		expect((await config.get()).banner).toBe("one");
		await store("config:site", { banner: "two" });
		vi.advanceTimersByTime(29_000);
		expect((await config.get()).banner).toBe("one");
		expect(counts.get).toBe(1);
		// Another store on the same binding and key shares the memo.
		const other = new ConfigStore(kv, { name: "site", defaults });
		expect((await other.get()).banner).toBe("one");
		expect(counts.get).toBe(1);
		vi.advanceTimersByTime(1_000);
		expect((await config.get()).banner).toBe("two");
		expect(counts.get).toBe(2);
	});

	it("memoizeSeconds 0 reads KV on every get", async () => {
		const { kv, counts } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults, memoizeSeconds: 0 });
		await config.get();
		await config.get();
		expect(counts.get).toBe(2);
	});

	it("returns a copy: changing it does not change the next get", async () => {
		const { kv } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults });
		const first = await config.get();
		first.banner = "changed";
		expect((await config.get()).banner).toBe("");
		expect(defaults.banner).toBe("");
	});

	it("invalid stored data gives the defaults and a console.error, once per memo window", async () => {
		fakeClock();
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		for (const [name, raw] of [
			["text", "not json"],
			["array", "[1, 2]"],
			["number", "42"],
			["null", "null"],
		]) {
			await store(`config:${name}`, raw);
			const { kv } = fresh();
			const config = new ConfigStore(kv, { name, defaults });
			error.mockClear();
			expect(await config.get()).toEqual(defaults);
			expect(await config.get()).toEqual(defaults);
			expect(error).toHaveBeenCalledTimes(1);
			expect(String(error.mock.calls[0]?.[0])).toContain(`config:${name}`);
		}
	});

	it("parse sees the stored fields merged over the defaults; a value it rejects gives the defaults and a console.error", async () => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		const seen: unknown[] = [];
		const parse = (value: unknown): Site => {
			seen.push(value);
			const site = value as Site;
			if (typeof site.maxUploadMb !== "number" || site.maxUploadMb > 100) {
				throw new TypeError("maxUploadMb must be a number up to 100");
			}
			return { ...site, banner: site.banner.toUpperCase() };
		};
		await store("config:site", { banner: "hi" });
		const { kv } = fresh();
		expect(await new ConfigStore(kv, { name: "site", defaults, parse }).get()).toEqual({ ...defaults, banner: "HI" });
		expect(seen).toEqual([{ banner: "hi", maxUploadMb: 10, beta: false }]);
		expect(error).not.toHaveBeenCalled();

		await store("config:big", { maxUploadMb: 1000 });
		const other = fresh();
		expect(await new ConfigStore(other.kv, { name: "big", defaults, parse }).get()).toEqual(defaults);
		expect(error).toHaveBeenCalledTimes(1);
		expect(String(error.mock.calls[0]?.[0])).toContain("maxUploadMb must be a number up to 100");
	});

	it("passes cacheTtl to the read, and checks its options before KV is called", async () => {
		const { kv, calls, counts } = fresh();
		await new ConfigStore(kv, { name: "site", defaults, cacheTtl: 300 }).get();
		expect(calls.get[0]?.[1]).toMatchObject({ cacheTtl: 300 });
		expect(() => new ConfigStore(kv, { name: "site", defaults, cacheTtl: 10 })).toThrow(RangeError);
		expect(() => new ConfigStore(kv, { name: "", defaults })).toThrow(RangeError);
		expect(() => new ConfigStore(kv, { name: "x".repeat(600), defaults })).toThrow(RangeError);
		expect(() => new ConfigStore(kv, { name: "site", defaults, memoizeSeconds: -1 })).toThrow(RangeError);
		expect(counts.get).toBe(1);
	});
});

describe("ConfigStore.set", () => {
	it("stores the value as JSON with one put, and refreshes this isolate's memo", async () => {
		fakeClock();
		const { kv, counts } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults });
		expect((await config.get()).banner).toBe("");
		await config.set({ ...defaults, banner: "new" });
		expect(counts.put).toBe(1);
		expect(await env.CONFIG.get("config:site", "json")).toEqual({ ...defaults, banner: "new" });
		// Within the memo window, without another read.
		expect((await config.get()).banner).toBe("new");
		expect(counts.get).toBe(1);
		// Other stores on the binding see it too.
		expect((await new ConfigStore(kv, { name: "site", defaults }).get()).banner).toBe("new");
		expect(counts.get).toBe(1);
	});

	it("validates with parse and stores what it returns", async () => {
		const parse = (value: unknown): Site => {
			const site = value as Site;
			if (site.maxUploadMb < 0) {
				throw new RangeError("maxUploadMb must not be negative");
			}
			return { banner: site.banner.trim(), maxUploadMb: site.maxUploadMb, beta: site.beta };
		};
		const { kv, counts } = fresh();
		const config = new ConfigStore(kv, { name: "site", defaults, parse });
		await expect(config.set({ ...defaults, maxUploadMb: -1 })).rejects.toThrow("maxUploadMb must not be negative");
		expect(counts.put).toBe(0);
		await config.set({ banner: "  padded  ", maxUploadMb: 5, beta: true });
		expect(await env.CONFIG.get("config:site", "json")).toEqual({ banner: "padded", maxUploadMb: 5, beta: true });
	});

	it("refuses a value that is not a plain object, before KV is called", async () => {
		const { kv, counts } = fresh();
		const config = new ConfigStore<Record<string, unknown>>(kv, { name: "site", defaults: {} });
		await expect(config.set([] as unknown as Record<string, unknown>)).rejects.toThrow(TypeError);
		await expect(config.set(null as unknown as Record<string, unknown>)).rejects.toThrow(TypeError);
		await expect(config.set(new Date() as unknown as Record<string, unknown>)).rejects.toThrow(TypeError);
		await expect(config.set({ big: "x".repeat(26 * 1024 * 1024) })).rejects.toThrow(RangeError);
		expect(counts.put).toBe(0);
	});
});
