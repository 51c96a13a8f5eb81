// Behaviour of the generated stale-while-revalidate module (src/kv/swr.ts),
// in workerd, against the contract in shared/spec/generated-api.md. The
// module keeps per-isolate state (refreshes in flight), so every test uses
// its own keys.
import { createExecutionContext, env, reset, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { staleWhileRevalidate } from "@kv/swr";
import { counting, total } from "./counting";
import { listed } from "./kv";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

/**
 * Fixes Date.now() at the current time t0 (whole seconds); returns t0 and a
 * function that moves the clock to t0 + `ms`. KV itself keeps the real time.
 */
function clock() {
	const t0 = Math.floor(Date.now() / 1000) * 1000;
	const spy = vi.spyOn(Date, "now").mockReturnValue(t0);
	return { t0, move: (ms: number) => spy.mockReturnValue(t0 + ms) };
}

/** A promise and the function that resolves it. */
function gate() {
	let open!: () => void;
	const opened = new Promise<void>((resolve) => {
		open = resolve;
	});
	return { opened, open };
}

describe("staleWhileRevalidate", () => {
	it("on a miss awaits load, stores the value to expire at ttl + staleTtl, with freshness metadata", async () => {
		const { t0 } = clock();
		const ctx = createExecutionContext();
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => ({ v: 1 }));
		const value = await staleWhileRevalidate(kv, "miss", load, { ttl: 30, staleTtl: 300, ctx });
		expect(value).toEqual({ v: 1 });
		expect(load).toHaveBeenCalledTimes(1);
		expect(counts).toMatchObject({ getWithMetadata: 1, put: 1 });
		const expiration = (await listed(env.CACHE, "miss"))?.expiration ?? 0;
		expect(Math.abs(expiration - (t0 / 1000 + 330))).toBeLessThanOrEqual(2);
		const { value: stored, metadata } = await env.CACHE.getWithMetadata<{ v: number }>("miss", "json");
		expect(stored).toEqual({ v: 1 });
		expect(metadata).toEqual({ fresh: t0 + 30_000, stale: t0 + 330_000 });
		await waitOnExecutionContext(ctx);
	});

	it("a fresh value is returned with one KV read and no load", async () => {
		const { move } = clock();
		const ctx = createExecutionContext();
		await staleWhileRevalidate(env.CACHE, "fresh", async () => "v1", { ttl: 60, staleTtl: 60, ctx });
		move(59_000);
		const { kv, counts } = counting(env.CACHE);
		const load = vi.fn(async () => "v2");
		expect(await staleWhileRevalidate(kv, "fresh", load, { ttl: 60, staleTtl: 60, ctx })).toBe("v1");
		expect(load).not.toHaveBeenCalled();
		expect(total(counts)).toBe(1);
		await waitOnExecutionContext(ctx);
		expect(load).not.toHaveBeenCalled();
	});

	it("serves a stale value at once and runs exactly one refresh through ctx.waitUntil", async () => {
		const { t0, move } = clock();
		const options = { ttl: 60, staleTtl: 600 };
		await staleWhileRevalidate(env.CACHE, "stale", async () => "v1", { ...options, ctx: createExecutionContext() });
		move(61_000);
		const { kv, counts } = counting(env.CACHE);
		const { opened, open } = gate();
		const load = vi.fn(async () => {
			await opened;
			return "v2";
		});
		const ctx = createExecutionContext();
		const waitUntil = vi.spyOn(ctx, "waitUntil");
		// Two concurrent reads: both get the stale value before the refresh
		// has finished (load is still blocked), and only one refresh starts.
		const both = await Promise.all([
			staleWhileRevalidate(kv, "stale", load, { ...options, ctx }),
			staleWhileRevalidate(kv, "stale", load, { ...options, ctx }),
		]);
		expect(both).toEqual(["v1", "v1"]);
		expect(load).toHaveBeenCalledTimes(1);
		expect(waitUntil).toHaveBeenCalledTimes(1);
		expect(counts.put).toBe(0);
		// A third read while the refresh is in flight starts none either.
		expect(await staleWhileRevalidate(kv, "stale", load, { ...options, ctx })).toBe("v1");
		expect(load).toHaveBeenCalledTimes(1);
		open();
		await waitOnExecutionContext(ctx);
		expect(counts.put).toBe(1);
		expect(await env.CACHE.get("stale", "json")).toBe("v2");
		const { metadata } = await env.CACHE.getWithMetadata("stale", "json");
		expect(metadata).toEqual({ fresh: t0 + 121_000, stale: t0 + 721_000 });
		// The refreshed value is fresh: no more loads.
		const after = createExecutionContext();
		expect(await staleWhileRevalidate(kv, "stale", load, { ...options, ctx: after })).toBe("v2");
		await waitOnExecutionContext(after);
		expect(load).toHaveBeenCalledTimes(1);
	});

	it("refreshes again once the refreshed value is stale in turn", async () => {
		const { move } = clock();
		const options = { ttl: 60, staleTtl: 600 };
		let n = 0;
		const load = vi.fn(async () => `v${++n}`);
		const run = async () => {
			const ctx = createExecutionContext();
			const value = await staleWhileRevalidate(env.CACHE, "again", load, { ...options, ctx });
			await waitOnExecutionContext(ctx);
			return value;
		};
		expect(await run()).toBe("v1");
		move(61_000);
		expect(await run()).toBe("v1");
		expect(load).toHaveBeenCalledTimes(2);
		move(122_000);
		expect(await run()).toBe("v2");
		expect(load).toHaveBeenCalledTimes(3);
		expect(await env.CACHE.get("again", "json")).toBe("v3");
	});

	it("a failed refresh is not thrown into the caller and does not stay in flight", async () => {
		const { move } = clock();
		const options = { ttl: 60, staleTtl: 600 };
		await staleWhileRevalidate(env.CACHE, "fails", async () => "v1", { ...options, ctx: createExecutionContext() });
		move(61_000);
		const logged = vi.spyOn(console, "error").mockImplementation(() => {});
		const failing = vi.fn(async (): Promise<string> => {
			throw new Error("source down");
		});
		const ctx = createExecutionContext();
		expect(await staleWhileRevalidate(env.CACHE, "fails", failing, { ...options, ctx })).toBe("v1");
		await waitOnExecutionContext(ctx);
		expect(failing).toHaveBeenCalledTimes(1);
		expect(logged).toHaveBeenCalled();
		expect(await env.CACHE.get("fails", "json")).toBe("v1");
		// The next stale read refreshes again, and this time it works.
		const load = vi.fn(async () => "v2");
		const next = createExecutionContext();
		expect(await staleWhileRevalidate(env.CACHE, "fails", load, { ...options, ctx: next })).toBe("v1");
		await waitOnExecutionContext(next);
		expect(load).toHaveBeenCalledTimes(1);
		expect(await env.CACHE.get("fails", "json")).toBe("v2");
	});

	it("past ttl + staleTtl, awaits load instead of serving the old value", async () => {
		const { move } = clock();
		const options = { ttl: 60, staleTtl: 60 };
		await staleWhileRevalidate(env.CACHE, "old", async () => "v1", { ...options, ctx: createExecutionContext() });
		// The entry would have expired in KV; the metadata decides even when
		// a location still serves it.
		move(120_000);
		const ctx = createExecutionContext();
		const load = vi.fn(async () => "v2");
		expect(await staleWhileRevalidate(env.CACHE, "old", load, { ...options, ctx })).toBe("v2");
		expect(load).toHaveBeenCalledTimes(1);
		await waitOnExecutionContext(ctx);
		expect(load).toHaveBeenCalledTimes(1);
	});

	it("treats a value without freshness metadata as a miss", async () => {
		await env.CACHE.put("plain", JSON.stringify("other"));
		const ctx = createExecutionContext();
		const load = vi.fn(async () => "mine");
		expect(await staleWhileRevalidate(env.CACHE, "plain", load, { ttl: 60, staleTtl: 0, ctx })).toBe("mine");
		expect(load).toHaveBeenCalledTimes(1);
		await waitOnExecutionContext(ctx);
	});

	it("a failing load on a miss propagates", async () => {
		const ctx = createExecutionContext();
		const load = async (): Promise<string> => {
			throw new Error("source down");
		};
		await expect(staleWhileRevalidate(env.CACHE, "down", load, { ttl: 60, staleTtl: 0, ctx })).rejects.toThrow("source down");
		expect(await env.CACHE.get("down")).toBeNull();
	});
});

describe("staleWhileRevalidate checks its options before KV is called", () => {
	it("rejects ttl + staleTtl under 60, ttl under 1 and a negative staleTtl", async () => {
		const { kv, counts } = counting(env.CACHE);
		const ctx = createExecutionContext();
		const load = vi.fn(async () => 1);
		const attempt = (ttl: number, staleTtl: number) => staleWhileRevalidate(kv, "k", load, { ttl, staleTtl, ctx });
		await expect(attempt(30, 29)).rejects.toThrow(RangeError);
		await expect(attempt(30, 29)).rejects.toThrow(/60/);
		await expect(attempt(59, 0)).rejects.toThrow(RangeError);
		await expect(attempt(0, 600)).rejects.toThrow(/ttl/);
		await expect(attempt(60, -1)).rejects.toThrow(/staleTtl/);
		await expect(attempt(1.5, 600)).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		expect(load).not.toHaveBeenCalled();
		expect(await attempt(1, 59)).toBe(1);
		expect(await attempt(60, 0)).toBe(1);
	});

	it("rejects a key over 512 bytes and a missing ctx", async () => {
		const { kv, counts } = counting(env.CACHE);
		const ctx = createExecutionContext();
		const load = async () => 1;
		await expect(staleWhileRevalidate(kv, "k".repeat(513), load, { ttl: 60, staleTtl: 0, ctx })).rejects.toThrow(/512/);
		const noCtx = { ttl: 60, staleTtl: 0 } as unknown as Parameters<typeof staleWhileRevalidate>[3];
		await expect(staleWhileRevalidate(kv, "k", load, noCtx)).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
	});
});
