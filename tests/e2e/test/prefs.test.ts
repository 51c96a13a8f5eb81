// Behaviour of the generated preferences module (src/kv/prefs.ts), in
// workerd, against the contract in shared/spec/generated-api.md. The value
// is the preferences as JSON and the version is in the key's metadata
// (`{ v: N }`); a value without it is version 1.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PreferencesStore } from "@kv/prefs";
import { counting, total } from "./counting";
import { listed, nowSeconds } from "./kv";

afterEach(async () => {
	vi.useRealTimers();
	vi.restoreAllMocks();
	await reset();
});

type Prefs = { theme: string; language: string; emails: boolean };
const defaults: Prefs = { theme: "light", language: "en", emails: true };

/**
 * A KV namespace over PREFS whose put() throws `message` (by default KV's
 * rate limit error) for its first `failures` calls, without writing, then
 * writes.
 */
function rateLimited(failures: number, message = "KV PUT failed: 429 Too Many Requests") {
	let puts = 0;
	const kv = new Proxy(env.PREFS, {
		get(target, property) {
			if (property === "put") {
				return async (...args: Parameters<KVNamespace["put"]>) => {
					puts += 1;
					if (puts <= failures) {
						throw new Error(message);
					}
					return target.put(...args);
				};
			}
			const value: unknown = Reflect.get(target, property, target);
			return typeof value === "function" ? value.bind(target) : value;
		},
	});
	return { kv, puts: () => puts };
}

describe("PreferencesStore.get", () => {
	it("returns the defaults for a user with nothing stored, without writing", async () => {
		const { kv, counts } = counting(env.PREFS);
		const prefs = new PreferencesStore(kv, { defaults });
		expect(await prefs.get("u1")).toEqual(defaults);
		expect(total(counts)).toBe(1);
		expect(counts.put).toBe(0);
	});

	it("puts the stored fields of `prefs:<userId>` over the defaults", async () => {
		await env.PREFS.put("prefs:u1", JSON.stringify({ theme: "dark" }));
		const prefs = new PreferencesStore(env.PREFS, { defaults });
		expect(await prefs.get("u1")).toEqual({ theme: "dark", language: "en", emails: true });
		expect(await prefs.get("u2")).toEqual(defaults);
	});

	it("a value without a version is version 1 and is migrated to version 2; get never writes", async () => {
		// Version 1 stored the theme as a boolean `dark`.
		await env.PREFS.put("prefs:u1", JSON.stringify({ dark: true, language: "fr" }));
		const migrate = vi.fn((stored: unknown, fromVersion: number): Prefs => {
			const old = stored as { dark: boolean; language: string };
			return { theme: old.dark ? "dark" : "light", language: old.language, emails: true };
		});
		const { kv, counts } = counting(env.PREFS);
		const prefs = new PreferencesStore(kv, { defaults, version: 2, migrate });
		expect(await prefs.get("u1")).toEqual({ theme: "dark", language: "fr", emails: true });
		expect(migrate).toHaveBeenCalledWith({ dark: true, language: "fr" }, 1);
		expect(counts.put).toBe(0);
		expect(await env.PREFS.get("prefs:u1", "json")).toEqual({ dark: true, language: "fr" });
	});

	it("a value of the current version is not migrated; update writes the migrated value with the new version", async () => {
		await env.PREFS.put("prefs:u1", JSON.stringify({ dark: false, language: "de" }), { metadata: { v: 1 } });
		const migrate = vi.fn((stored: unknown): Prefs => {
			const old = stored as { dark: boolean; language: string };
			return { theme: old.dark ? "dark" : "light", language: old.language, emails: false };
		});
		const prefs = new PreferencesStore(env.PREFS, { defaults, version: 2, migrate });
		const written = await prefs.update("u1", { emails: true });
		expect(written).toEqual({ theme: "light", language: "de", emails: true });
		const { value, metadata } = await env.PREFS.getWithMetadata("prefs:u1", "json");
		expect(value).toEqual(written);
		expect(metadata).toEqual({ v: 2 });
		migrate.mockClear();
		expect(await prefs.get("u1")).toEqual(written);
		expect(migrate).not.toHaveBeenCalled();
	});

	it("a value that is not a JSON object gives the defaults and a console.error", async () => {
		const error = vi.spyOn(console, "error").mockImplementation(() => {});
		await env.PREFS.put("prefs:bad", "not json");
		await env.PREFS.put("prefs:list", "[1]");
		const prefs = new PreferencesStore(env.PREFS, { defaults });
		expect(await prefs.get("bad")).toEqual(defaults);
		expect(await prefs.get("list")).toEqual(defaults);
		expect(error).toHaveBeenCalledTimes(2);
	});

	it("an error of migrate propagates, so update does not overwrite what it could not read", async () => {
		await env.PREFS.put("prefs:u1", JSON.stringify({ dark: true }));
		const migrate = () => {
			throw new Error("cannot migrate");
		};
		const { kv, counts } = counting(env.PREFS);
		const prefs = new PreferencesStore(kv, { defaults, version: 3, migrate });
		await expect(prefs.get("u1")).rejects.toThrow("cannot migrate");
		await expect(prefs.update("u1", { theme: "dark" })).rejects.toThrow("cannot migrate");
		expect(counts.put).toBe(0);
	});
});

describe("PreferencesStore.update", () => {
	it("merges the patch over the current value, writes once and returns what it wrote", async () => {
		await env.PREFS.put("prefs:u1", JSON.stringify({ theme: "dark" }));
		const { kv, counts } = counting(env.PREFS);
		const prefs = new PreferencesStore(kv, { defaults });
		const written = await prefs.update("u1", { language: "es", emails: undefined });
		expect(written).toEqual({ theme: "dark", language: "es", emails: true });
		expect(counts.put).toBe(1);
		expect(counts.getWithMetadata + counts.get).toBe(1);
		expect(total(counts)).toBe(2);
		// Stored: the user's own fields, not the defaults.
		const { value, metadata } = await env.PREFS.getWithMetadata("prefs:u1", "json");
		expect(value).toEqual({ theme: "dark", language: "es" });
		expect(metadata).toEqual({ v: 1 });
	});

	it("a default changed later still reaches the fields the user never set", async () => {
		await new PreferencesStore(env.PREFS, { defaults }).update("u1", { language: "fr" });
		const changed = { ...defaults, theme: "system" };
		expect(await new PreferencesStore(env.PREFS, { defaults: changed }).get("u1")).toEqual({
			...changed,
			language: "fr",
		});
	});

	it("an older store keeps the newer version of data a newer one wrote", async () => {
		await env.PREFS.put("prefs:u1", JSON.stringify({ theme: "dark" }), { metadata: { v: 3 } });
		const migrate = vi.fn((stored: unknown) => stored as Prefs);
		const older = new PreferencesStore(env.PREFS, { defaults, version: 2, migrate });
		await older.update("u1", { language: "it" });
		const { value, metadata } = await env.PREFS.getWithMetadata("prefs:u1", "json");
		expect(value).toEqual({ theme: "dark", language: "it" });
		expect(metadata).toEqual({ v: 3 });
		expect(migrate).not.toHaveBeenCalled();
	});

	it("stores without expiry by default, and with the ttl given", async () => {
		await new PreferencesStore(env.PREFS, { defaults }).update("forever", { theme: "dark" });
		expect((await listed(env.PREFS, "prefs:forever"))?.expiration).toBeUndefined();
		await new PreferencesStore(env.PREFS, { defaults, ttl: 3600 }).update("hour", { theme: "dark" });
		const expiration = (await listed(env.PREFS, "prefs:hour"))?.expiration ?? 0;
		expect(Math.abs(expiration - (nowSeconds() + 3600))).toBeLessThanOrEqual(2);
	});

	it("retries a put that KV rate limits (429) with backoff, then succeeds", async () => {
		vi.useFakeTimers({ toFake: ["setTimeout"] });
		const { kv, puts } = rateLimited(2);
		const prefs = new PreferencesStore(kv, { defaults });
		const pending = prefs.update("u1", { theme: "dark" });
		let settled = false;
		void pending.finally(() => {
			settled = true;
		});
		// The first retry waits at least 1 s, the second at least 2 s.
		await vi.advanceTimersByTimeAsync(900);
		expect(puts()).toBe(1);
		expect(settled).toBe(false);
		await vi.advanceTimersByTimeAsync(6_000);
		expect(await pending).toEqual({ ...defaults, theme: "dark" });
		expect(puts()).toBe(3);
		vi.useRealTimers();
		expect(await env.PREFS.get("prefs:u1", "json")).toEqual({ theme: "dark" });
	});

	it("gives up after 3 retries, and does not retry other errors", async () => {
		vi.useFakeTimers({ toFake: ["setTimeout"] });
		const limited = rateLimited(10);
		const pending = new PreferencesStore(limited.kv, { defaults }).update("u1", { theme: "dark" });
		const rejected = expect(pending).rejects.toThrow("429");
		await vi.advanceTimersByTimeAsync(20_000);
		await rejected;
		expect(limited.puts()).toBe(4);

		const broken = rateLimited(10, "KV PUT failed: 500 Internal Server Error");
		await expect(new PreferencesStore(broken.kv, { defaults }).update("u2", { theme: "dark" })).rejects.toThrow("500");
		expect(broken.puts()).toBe(1);
	});

	it("checks the user id, the patch and the ttl before KV is called", async () => {
		const { kv, counts } = counting(env.PREFS);
		const prefs = new PreferencesStore(kv, { defaults });
		await expect(prefs.get("")).rejects.toThrow(RangeError);
		await expect(prefs.update("", { theme: "dark" })).rejects.toThrow(RangeError);
		await expect(prefs.reset("")).rejects.toThrow(RangeError);
		await expect(prefs.get("x".repeat(507))).rejects.toThrow(RangeError);
		await expect(prefs.update("u1", [] as unknown as Partial<Prefs>)).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
		expect(() => new PreferencesStore(kv, { defaults, ttl: 0 })).toThrow(RangeError);
		expect(() => new PreferencesStore(kv, { defaults, version: 0 })).toThrow(RangeError);
		// 506 bytes of id and the 6-byte prefix: 512, the longest key.
		expect(await prefs.get("x".repeat(506))).toEqual(defaults);
	});
});

describe("PreferencesStore.reset", () => {
	it("deletes the stored preferences: get returns the defaults again", async () => {
		const prefs = new PreferencesStore(env.PREFS, { defaults, prefix: "p/" });
		await prefs.update("u1", { theme: "dark" });
		expect(await env.PREFS.get("p/u1")).not.toBeNull();
		await prefs.reset("u1");
		expect(await env.PREFS.get("p/u1")).toBeNull();
		expect(await prefs.get("u1")).toEqual(defaults);
	});
});
