// Behaviour of the generated invalidation module (src/kv/invalidate.ts), in
// workerd, against the contract in shared/spec/generated-api.md.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { invalidate, invalidatePrefix } from "@kv/invalidate";
import { counting, total } from "./counting";
import { names as allNames } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

/** Every key name in CACHE, in KV's order. */
const names = () => allNames(env.CACHE);

/** Writes `count` keys `prefix0`, `prefix1`… (zero-padded). */
async function fill(prefix: string, count: number) {
	const keys = Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(3, "0")}`);
	await Promise.all(keys.map((key) => env.CACHE.put(key, "1")));
	return keys;
}

type ListPage = { keys: { name: string }[]; list_complete: boolean; cursor?: string };

/**
 * A namespace whose list() answers the given pages in turn (the real local
 * KV never returns an empty page that is not the last) and records the
 * options of each call; deletes are recorded too.
 */
function scripted(pages: ListPage[]) {
	const lists: KVNamespaceListOptions[] = [];
	const deletes: string[] = [];
	const kv = {
		async list(options: KVNamespaceListOptions) {
			lists.push(options);
			const page = pages.shift();
			if (page === undefined) {
				throw new Error("listed past the end");
			}
			return { ...page, cacheStatus: null };
		},
		async delete(key: string) {
			deletes.push(key);
		},
	} as unknown as KVNamespace;
	return { kv, lists, deletes };
}

describe("invalidate", () => {
	it("deletes each key, once, and ignores missing ones", async () => {
		await fill("user:", 3);
		const { kv, counts } = counting(env.CACHE);
		await invalidate(kv, "user:000", "user:002", "user:000", "never");
		expect(counts.delete).toBe(3);
		expect(total(counts)).toBe(3);
		expect(await names()).toEqual(["user:001"]);
	});

	it("with no keys does nothing", async () => {
		const { kv, counts } = counting(env.CACHE);
		await invalidate(kv);
		expect(total(counts)).toBe(0);
	});

	it("checks every key before deleting any", async () => {
		await fill("user:", 2);
		const { kv, counts } = counting(env.CACHE);
		await expect(invalidate(kv, "user:000", "k".repeat(513))).rejects.toThrow(/512/);
		await expect(invalidate(kv, "user:000", "")).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		expect(await names()).toEqual(["user:000", "user:001"]);
	});

	it("refuses more keys than one invocation may delete", async () => {
		const { kv, counts } = counting(env.CACHE);
		const keys = Array.from({ length: 1001 }, (_, i) => `k${i}`);
		await expect(invalidate(kv, ...keys)).rejects.toThrow(/1000/);
		expect(total(counts)).toBe(0);
	});
});

describe("invalidatePrefix", () => {
	it("deletes only the keys with the prefix", async () => {
		await fill("user:", 5);
		await fill("team:", 2);
		await env.CACHE.put("use", "1");
		const { kv, counts } = counting(env.CACHE);
		expect(await invalidatePrefix(kv, "user:")).toEqual({ deleted: 5, complete: true });
		expect(counts).toMatchObject({ list: 1, delete: 5 });
		expect(await names()).toEqual(["team:000", "team:001", "use"]);
	});

	it("over more keys than a page, stops before a small budget, then finishes on a second call", async () => {
		await fill("p:", 12);
		await env.CACHE.put("q:keep", "1");
		const first = counting(env.CACHE);
		const partial = await invalidatePrefix(first.kv, "p:", { maxOperations: 5 });
		expect(partial).toEqual({ deleted: 4, complete: false });
		// One list of at most 4 keys, then 4 deletes: exactly the budget.
		expect(first.counts).toMatchObject({ list: 1, delete: 4 });
		expect(total(first.counts)).toBeLessThanOrEqual(5);
		expect((await names()).filter((n) => n.startsWith("p:"))).toHaveLength(8);

		const second = counting(env.CACHE);
		const rest = await invalidatePrefix(second.kv, "p:", { maxOperations: 5 });
		expect(rest).toEqual({ deleted: 4, complete: false });
		expect(total(second.counts)).toBeLessThanOrEqual(5);

		const third = counting(env.CACHE);
		expect(await invalidatePrefix(third.kv, "p:")).toEqual({ deleted: 4, complete: true });
		expect(await names()).toEqual(["q:keep"]);
		// Nothing left: one list, complete.
		expect(await invalidatePrefix(env.CACHE, "p:")).toEqual({ deleted: 0, complete: true });
	});

	it("pages with the prefix on every page, goes on past an empty page, and counts every call", async () => {
		const { kv, lists, deletes } = scripted([
			{ keys: [{ name: "p:1" }, { name: "p:2" }], list_complete: false, cursor: "c1" },
			{ keys: [], list_complete: false, cursor: "c2" },
			{ keys: [{ name: "p:3" }], list_complete: true },
		]);
		expect(await invalidatePrefix(kv, "p:", { maxOperations: 100 })).toEqual({ deleted: 3, complete: true });
		expect(lists.map((o) => o.prefix)).toEqual(["p:", "p:", "p:"]);
		expect(lists.map((o) => o.cursor)).toEqual([undefined, "c1", "c2"]);
		// Each page lists at most what the budget left can delete.
		expect(lists.map((o) => o.limit)).toEqual([99, 96, 95]);
		expect(deletes).toEqual(["p:1", "p:2", "p:3"]);
	});

	it("stops before the budget even across empty pages", async () => {
		const { kv, lists, deletes } = scripted([
			{ keys: [{ name: "p:1" }], list_complete: false, cursor: "c1" },
			{ keys: [], list_complete: false, cursor: "c2" },
			{ keys: [{ name: "p:2" }], list_complete: false, cursor: "c3" },
			{ keys: [{ name: "p:3" }], list_complete: true },
		]);
		// 1 list + 1 delete, 1 empty list, 1 list + 1 delete = 5; one more
		// page could list but not delete, so it is not listed.
		expect(await invalidatePrefix(kv, "p:", { maxOperations: 6 })).toEqual({ deleted: 2, complete: false });
		expect(lists).toHaveLength(3);
		expect(deletes).toEqual(["p:1", "p:2"]);
	});

	it("is complete only when the listing finished", async () => {
		const { kv } = scripted([{ keys: [{ name: "p:1" }], list_complete: false, cursor: "c1" }]);
		expect(await invalidatePrefix(kv, "p:", { maxOperations: 2 })).toEqual({ deleted: 1, complete: false });
	});

	it("checks maxOperations and the prefix before KV is called", async () => {
		const { kv, counts } = counting(env.CACHE);
		for (const maxOperations of [0, 1, 1001, 2.5, Number.NaN]) {
			await expect(invalidatePrefix(kv, "p:", { maxOperations })).rejects.toThrow(RangeError);
		}
		await expect(invalidatePrefix(kv, "p".repeat(513))).rejects.toThrow(/512/);
		expect(total(counts)).toBe(0);
		expect(await invalidatePrefix(kv, "p:", { maxOperations: 1000 })).toEqual({ deleted: 0, complete: true });
	});
});
