// Behaviour of the generated cache warming module (src/kv/warm.ts), in
// workerd, against the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { warm } from "@kv/warm";
import { counting, total } from "./counting";
import { names as allNames, nowSeconds } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

/** Every key name in CACHE, in KV's order. */
const names = () => allNames(env.CACHE);

/** Entries `k0`…`k{n-1}` whose loads return `value-i`. */
function entries(n: number) {
	return Array.from({ length: n }, (_, i) => ({ key: `k${i}`, load: vi.fn(async () => `value-${i}`) }));
}

/** A namespace whose put rejects for the given keys. */
function failingPuts(kv: KVNamespace, bad: string[]) {
	return new Proxy(kv, {
		get(target, property, receiver) {
			const value: unknown = Reflect.get(target, property, receiver);
			if (property !== "put" || typeof value !== "function") {
				return value;
			}
			return (key: string, ...rest: unknown[]) => {
				if (bad.includes(key)) {
					return Promise.reject(new Error("KV put failed"));
				}
				return (value as (...a: unknown[]) => unknown).apply(target, [key, ...rest]);
			};
		},
	});
}

describe("warm", () => {
	it("loads every entry and stores it with the ttl", async () => {
		const { kv, counts } = counting(env.CACHE);
		const before = nowSeconds();
		const result = await warm(kv, entries(3), { ttl: 600 });
		expect(result).toEqual({ written: 3, skipped: 0, failed: [] });
		expect(counts.put).toBe(3);
		expect(total(counts)).toBe(3);
		expect(await env.CACHE.get("k1", "json")).toBe("value-1");
		const page = await env.CACHE.list();
		for (const key of page.keys) {
			expect(key.expiration).toBeGreaterThanOrEqual(before + 600);
		}
	});

	it("reports failed loads and failed writes in `failed`, in the order given, without throwing", async () => {
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		const list = entries(5);
		list[1]!.load.mockRejectedValue(new Error("source down"));
		list[3]!.load.mockRejectedValue(new Error("source down"));
		const kv = failingPuts(env.CACHE, ["k4"]);
		const result = await warm(kv, list, { ttl: null });
		expect(result).toEqual({ written: 2, skipped: 0, failed: ["k1", "k3", "k4"] });
		expect(await names()).toEqual(["k0", "k2"]);
		expect(logged).toHaveBeenCalledTimes(3);
	});

	it("honours skipExisting: existing keys are neither loaded nor written", async () => {
		await env.CACHE.put("k1", JSON.stringify("cached"));
		const { kv, counts } = counting(env.CACHE);
		const list = entries(3);
		const result = await warm(kv, list, { skipExisting: true, ttl: 120 });
		expect(result).toEqual({ written: 2, skipped: 1, failed: [] });
		expect(list[1]!.load).not.toHaveBeenCalled();
		expect(counts).toMatchObject({ get: 3, put: 2 });
		expect(await env.CACHE.get("k1", "json")).toBe("cached");
		expect(await env.CACHE.get("k2", "json")).toBe("value-2");
	});

	it("without skipExisting, overwrites existing keys and reads nothing", async () => {
		await env.CACHE.put("k0", JSON.stringify("cached"));
		const { kv, counts } = counting(env.CACHE);
		expect(await warm(kv, entries(1))).toEqual({ written: 1, skipped: 0, failed: [] });
		expect(total(counts)).toBe(1);
		expect(await env.CACHE.get("k0", "json")).toBe("value-0");
	});

	it("skips entries that load null or undefined", async () => {
		const list = [
			{ key: "a", load: async (): Promise<string | null> => null },
			{ key: "b", load: async (): Promise<string | null> => "b" },
		];
		expect(await warm(env.CACHE, list)).toEqual({ written: 1, skipped: 1, failed: [] });
		expect(await names()).toEqual(["b"]);
	});

	it("keeps at most `concurrency` loads in flight", async () => {
		let active = 0;
		let peak = 0;
		const list = Array.from({ length: 8 }, (_, i) => ({
			key: `k${i}`,
			load: async () => {
				active += 1;
				peak = Math.max(peak, active);
				await new Promise((resolve) => setTimeout(resolve, 5));
				active -= 1;
				return i;
			},
		}));
		expect(await warm(env.CACHE, list, { concurrency: 3 })).toEqual({ written: 8, skipped: 0, failed: [] });
		expect(peak).toBe(3);
		active = 0;
		peak = 0;
		await warm(env.CACHE, list, { concurrency: 1 });
		expect(peak).toBe(1);
	});

	it("accepts any iterable, such as a generator", async () => {
		function* generate() {
			yield { key: "g1", load: async () => 1 };
			yield { key: "g2", load: async () => 2 };
		}
		expect(await warm(env.CACHE, generate())).toEqual({ written: 2, skipped: 0, failed: [] });
	});

	it("stops before maxOperations and reports the entries it did not get to", async () => {
		const { kv, counts } = counting(env.CACHE);
		const list = entries(5);
		const result = await warm(kv, list, { maxOperations: 3, concurrency: 2 });
		expect(result).toEqual({ written: 3, skipped: 0, failed: ["k3", "k4"] });
		expect(total(counts)).toBe(3);
		expect(list[3]!.load).not.toHaveBeenCalled();
		expect(list[4]!.load).not.toHaveBeenCalled();
	});

	it("with skipExisting, budgets a read and a write per entry", async () => {
		await env.CACHE.put("k0", JSON.stringify("cached"));
		const { kv, counts } = counting(env.CACHE);
		const result = await warm(kv, entries(4), { maxOperations: 5, skipExisting: true, concurrency: 1 });
		// k0: 1 read (skipped), k1: 2, k2: 2 = 5; k3 would need 2 more.
		expect(result).toEqual({ written: 2, skipped: 1, failed: ["k3"] });
		expect(total(counts)).toBe(5);
	});
});

describe("warm checks its input before KV is called", () => {
	it("rejects ttl 0 and 59, bad concurrency and maxOperations", async () => {
		const { kv, counts } = counting(env.CACHE);
		const list = entries(2);
		await expect(warm(kv, list, { ttl: 0 })).rejects.toThrow(RangeError);
		await expect(warm(kv, list, { ttl: 59 })).rejects.toThrow(/60/);
		await expect(warm(kv, list, { concurrency: 0 })).rejects.toThrow(/concurrency/);
		await expect(warm(kv, list, { concurrency: 1.5 })).rejects.toThrow(RangeError);
		await expect(warm(kv, list, { maxOperations: 0 })).rejects.toThrow(/maxOperations/);
		await expect(warm(kv, list, { maxOperations: 1001 })).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		for (const entry of list) {
			expect(entry.load).not.toHaveBeenCalled();
		}
	});

	it("rejects an invalid key or one given twice", async () => {
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => 1);
		await expect(warm(kv, [{ key: "ok", load }, { key: "k".repeat(513), load }])).rejects.toThrow(/512/);
		await expect(warm(kv, [{ key: "a", load }, { key: "a", load }])).rejects.toThrow(/twice/);
		expect(total(counts)).toBe(0);
		expect(load).not.toHaveBeenCalled();
	});

	it("with no entries, does nothing", async () => {
		const { kv, counts } = counting(env.CACHE);
		expect(await warm(kv, [])).toEqual({ written: 0, skipped: 0, failed: [] });
		expect(total(counts)).toBe(0);
	});
});
