// Behaviour of the generated counter module (src/kv/counter.ts), in workerd,
// against the contract in shared/spec/generated-api.md: the Counter Durable
// Object (SQLite storage) that `kvgen counter` bound as COUNTERS and exported
// from the Worker's main module. Storage is kept between tests, so every
// test uses its own counter names.
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { Counter, counters } from "@kv/counter";

const run = crypto.randomUUID();
let serial = 0;

/** A counter name no other test has used. */
function unique(name: string): string {
	serial += 1;
	return `${run}:${name}:${serial}`;
}

describe("counters", () => {
	it("increments atomically: 50 concurrent increments give exactly 50", async () => {
		const c = counters(env.COUNTERS);
		const name = unique("hits");
		const results = await Promise.all(Array.from({ length: 50 }, () => c.increment(name)));
		expect(await c.get(name)).toBe(50);
		// Each call got its own new value: 1 to 50, each once.
		expect([...results].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
	});

	it("returns the new value, by 1 by default or by the amount given", async () => {
		const c = counters(env.COUNTERS);
		const name = unique("views");
		expect(await c.increment(name)).toBe(1);
		expect(await c.increment(name, 5)).toBe(6);
		expect(await c.increment(name, 0)).toBe(6);
		expect(await c.get(name)).toBe(6);
	});

	it("a sum past the safe integers changes nothing and is a RangeError", async () => {
		const c = counters(env.COUNTERS);
		const name = unique("big");
		expect(await c.increment(name, Number.MAX_SAFE_INTEGER)).toBe(Number.MAX_SAFE_INTEGER);
		await expect(c.increment(name, 1)).rejects.toThrow("not be a safe integer");
		expect(await c.get(name)).toBe(Number.MAX_SAFE_INTEGER);
		expect(await c.increment(name, -1)).toBe(Number.MAX_SAFE_INTEGER - 1);
	});

	it("get of a counter never incremented is 0", async () => {
		const c = counters(env.COUNTERS);
		expect(await c.get(unique("never"))).toBe(0);
	});

	it("reset makes a counter read 0 again, and it counts from 0", async () => {
		const c = counters(env.COUNTERS);
		const name = unique("reset");
		await c.increment(name, 7);
		await c.reset(name);
		expect(await c.get(name)).toBe(0);
		expect(await c.increment(name)).toBe(1);
		// Resetting a counter that does not exist is fine.
		await expect(c.reset(unique("missing"))).resolves.toBeUndefined();
	});

	it("a negative by subtracts, below 0 too", async () => {
		const c = counters(env.COUNTERS);
		const name = unique("stock");
		await c.increment(name, 3);
		expect(await c.increment(name, -5)).toBe(-2);
		expect(await c.get(name)).toBe(-2);
	});

	it("counters of different names are independent", async () => {
		const c = counters(env.COUNTERS);
		const a = unique("a");
		const b = unique("b");
		await c.increment(a, 2);
		await c.increment(b, 10);
		expect(await c.get(a)).toBe(2);
		expect(await c.get(b)).toBe(10);
	});

	it("keeps one object per counter name, holding its value in SQLite", async () => {
		const name = unique("stored");
		await counters(env.COUNTERS).increment(name, 4);
		const stub = env.COUNTERS.get(env.COUNTERS.idFromName(name));
		const rows = await runInDurableObject(stub, (instance: Counter, state) => {
			expect(instance).toBeInstanceOf(Counter);
			return state.storage.sql.exec("SELECT name, value FROM counters").toArray();
		});
		expect(rows).toEqual([{ name, value: 4 }]);
	});

	it("rejects a by that is not a safe integer, and an empty name, before any call", async () => {
		// A namespace that records every use: none is expected.
		const get = vi.fn();
		const idFromName = vi.fn();
		const c = counters({ get, idFromName } as unknown as DurableObjectNamespace<Counter>);
		const name = unique("bad");
		for (const by of [1.5, Number.NaN, Infinity, 2 ** 53, "1" as unknown as number]) {
			await expect(c.increment(name, by)).rejects.toThrow(RangeError);
		}
		await expect(c.increment("")).rejects.toThrow(RangeError);
		await expect(c.get("")).rejects.toThrow(RangeError);
		await expect(c.reset("")).rejects.toThrow(RangeError);
		expect(get).not.toHaveBeenCalled();
		expect(idFromName).not.toHaveBeenCalled();
		expect(await counters(env.COUNTERS).get(name)).toBe(0);
	});
});
