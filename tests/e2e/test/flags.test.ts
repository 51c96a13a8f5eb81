// Behaviour of the generated feature flags module (src/kv/flags.ts), in
// workerd, against the contract in shared/spec/generated-api.md.
//
// The module memoises reads per KV binding object, for the life of the
// isolate. Every test therefore reads through its own wrapper of FLAGS (a new
// object: an empty memo), made by `fresh()`, and writes fixtures straight to
// env.FLAGS.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { bucket, FeatureFlags, type FeatureFlag, type FeatureFlagsOptions } from "@kv/flags";
import fixture from "../../fixtures/flags/bucket-vectors.json";
import { counting, total } from "./counting";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

type Vector = { user: string; flag: string; bucket: number };
const vectors: Vector[] = fixture.vectors;

/** FeatureFlags over a new wrapper of FLAGS: its own memo, its KV calls counted. */
function fresh(options?: FeatureFlagsOptions) {
	const { kv, counts } = counting(env.FLAGS);
	return { flags: new FeatureFlags(kv, options), counts, kv };
}

/** Stores a raw flag value, as `wrangler kv key put` would. */
async function store(name: string, value: unknown) {
	await env.FLAGS.put(`flag:${name}`, typeof value === "string" ? value : JSON.stringify(value));
}

/** A user whose bucket for `flag` is `b`, from the independent vectors. */
function userInBucket(flag: string, b: number): string {
	const found = vectors.find((v) => v.flag === flag && v.bucket === b);
	if (found === undefined) {
		throw new Error(`no vector with bucket ${b} for ${flag}`);
	}
	return found.user;
}

/** Fakes Date.now(), starting at `start`; returns a function that moves it. */
function clock(start = 1_800_000_000_000) {
	let now = start;
	vi.spyOn(Date, "now").mockImplementation(() => now);
	return (ms: number) => {
		now += ms;
	};
}

describe("isEnabled: the evaluation order", () => {
	it("1. a missing flag is off, with or without a user id", async () => {
		const { flags } = fresh();
		expect(await flags.isEnabled("nope", "user-1")).toBe(false);
		expect(await flags.isEnabled("nope")).toBe(false);
		expect(await flags.get("nope")).toBeNull();
	});

	it("2. enabled: false is off for everyone, even allowlisted users and percentage 100", async () => {
		await store("f", { enabled: false, percentage: 100, allowlist: ["vip"] });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "vip")).toBe(false);
		expect(await flags.isEnabled("f", "anyone")).toBe(false);
		expect(await flags.isEnabled("f")).toBe(false);
		await store("g", { enabled: false });
		expect(await flags.isEnabled("g", "vip")).toBe(false);
		expect(await flags.isEnabled("g")).toBe(false);
	});

	it("3. the denylist wins over the allowlist and over percentage 100", async () => {
		await store("f", { enabled: true, percentage: 100, allowlist: ["both"], denylist: ["both", "bad"] });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "both")).toBe(false);
		expect(await flags.isEnabled("f", "bad")).toBe(false);
		expect(await flags.isEnabled("f", "someone-else")).toBe(true);
		// Without a user id nobody can be denied.
		expect(await flags.isEnabled("f")).toBe(true);
	});

	it("3. the denylist applies to a flag without a percentage too", async () => {
		await store("f", { enabled: true, denylist: ["bad"] });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "bad")).toBe(false);
		expect(await flags.isEnabled("f", "good")).toBe(true);
	});

	it("4. the allowlist wins over the percentage (even 0)", async () => {
		await store("f", { enabled: true, percentage: 0, allowlist: ["vip"] });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "vip")).toBe(true);
		expect(await flags.isEnabled("f", "user-1")).toBe(false);
		expect(await flags.isEnabled("f")).toBe(false);
	});

	it("5. with a percentage, a user is on exactly when bucket(user, flag) < percentage", async () => {
		// bucket 42 for flag "beta" (vectors from Python's hashlib).
		const user = userInBucket("beta", 42);
		const { flags } = fresh();
		for (const [percentage, expected] of [
			[42, false],
			[43, true],
			[0, false],
			[99, true],
			[100, true],
		] as const) {
			await flags.set("beta", { enabled: true, percentage });
			expect(await flags.isEnabled("beta", user), `percentage ${percentage}`).toBe(expected);
		}
	});

	it("5. the bucket is per flag: the same user can be in and out of two 50 % rollouts", async () => {
		// From the vectors: a user with bucket < 50 for beta and >= 50 for dark_mode.
		const inDarkMode = (user: string) => vectors.some((w) => w.user === user && w.flag === "dark_mode" && w.bucket >= 50);
		const user = vectors.find((v) => v.flag === "beta" && v.bucket < 50 && inDarkMode(v.user))?.user ?? "";
		await store("beta", { enabled: true, percentage: 50 });
		await store("dark_mode", { enabled: true, percentage: 50 });
		const { flags } = fresh();
		expect(await flags.isEnabled("beta", user)).toBe(true);
		expect(await flags.isEnabled("dark_mode", user)).toBe(false);
	});

	it("5. a percentage below 100 without a user id is off", async () => {
		const { flags } = fresh();
		for (const percentage of [0, 1, 50, 98.5, 99]) {
			await flags.set("f", { enabled: true, percentage });
			expect(await flags.isEnabled("f"), `percentage ${percentage}`).toBe(false);
		}
	});

	it("5. percentage 100 is everyone, with or without a user id", async () => {
		await store("f", { enabled: true, percentage: 100 });
		const { flags } = fresh();
		expect(await flags.isEnabled("f")).toBe(true);
		for (let i = 0; i < 200; i++) {
			expect(await flags.isEnabled("f", `user-${i}`)).toBe(true);
		}
	});

	it("5. a fractional percentage selects the same users as the next whole number (as in Rust)", async () => {
		const in12 = userInBucket("beta", 12);
		const in13 = userInBucket("beta", 13);
		await store("beta", { enabled: true, percentage: 12.5 });
		const { flags } = fresh();
		expect(await flags.isEnabled("beta", in12)).toBe(true);
		expect(await flags.isEnabled("beta", in13)).toBe(false);
		expect(await flags.get("beta")).toEqual({ enabled: true, percentage: 12.5 });
		// Above 99, every bucket is below it: everyone, like 100.
		await flags.set("f", { enabled: true, percentage: 99.5 });
		expect(await flags.isEnabled("f")).toBe(true);
	});

	it("6. otherwise the flag is on (enabled), with or without a user id", async () => {
		await store("f", { enabled: true });
		await store("g", { enabled: true, allowlist: ["vip"] });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "user-1")).toBe(true);
		expect(await flags.isEnabled("f")).toBe(true);
		// An allowlist without a percentage does not restrict the flag.
		expect(await flags.isEnabled("g", "someone")).toBe(true);
	});
});

describe("percentage rollout", () => {
	it("over 10,000 users the enabled share is within 2 points of the percentage", async () => {
		const users = Array.from({ length: 10_000 }, (_, i) => `synthetic-user-${i}`);
		const { flags } = fresh();
		for (const percentage of [5, 25, 50, 90]) {
			await flags.set("rollout", { enabled: true, percentage });
			const answers = await Promise.all(users.map((user) => flags.isEnabled("rollout", user)));
			const share = (answers.filter(Boolean).length / users.length) * 100;
			expect(Math.abs(share - percentage), `${percentage} %: ${share} %`).toBeLessThanOrEqual(2);
		}
	});

	it("is stable: raising the percentage keeps everyone who had the flag", async () => {
		const users = Array.from({ length: 2000 }, (_, i) => `u${i}`);
		const { flags } = fresh();
		await flags.set("grow", { enabled: true, percentage: 20 });
		const before = await Promise.all(users.map((u) => flags.isEnabled("grow", u)));
		await flags.set("grow", { enabled: true, percentage: 60 });
		const after = await Promise.all(users.map((u) => flags.isEnabled("grow", u)));
		users.forEach((_, i) => {
			if (before[i]) {
				expect(after[i]).toBe(true);
			}
		});
		expect(after.filter(Boolean).length).toBeGreaterThan(before.filter(Boolean).length);
	});
});

describe("bucket", () => {
	it("equals every vector of tests/fixtures/flags/bucket-vectors.json (Python hashlib)", async () => {
		expect(vectors.length).toBe(5005);
		const mismatches: string[] = [];
		for (const v of vectors) {
			const actual = await bucket(v.user, v.flag);
			if (actual !== v.bucket) {
				mismatches.push(`bucket(${JSON.stringify(v.user)}, ${JSON.stringify(v.flag)}) = ${actual}, expected ${v.bucket}`);
			}
		}
		expect(mismatches.slice(0, 10)).toEqual([]);
	});

	it("is a whole number from 0 to 99", async () => {
		for (let i = 0; i < 500; i++) {
			const b = await bucket(`user-${i}`, "f");
			expect(Number.isInteger(b) && b >= 0 && b < 100).toBe(true);
		}
	});
});

describe("memoisation", () => {
	it("100 calls inside the window make at most 1 KV read; the next read comes after it", async () => {
		const tick = clock();
		await store("f", { enabled: true });
		const { flags, counts } = fresh();
		for (let i = 0; i < 100; i++) {
			expect(await flags.isEnabled("f", `user-${i}`)).toBe(true);
		}
		expect(counts.get).toBe(1);
		expect(total(counts)).toBe(1);
		// A change in KV is not seen inside the window...
		await store("f", { enabled: false });
		tick(29_999);
		expect(await flags.isEnabled("f")).toBe(true);
		expect(counts.get).toBe(1);
		// ...and is read once it has passed.
		tick(1);
		expect(await flags.isEnabled("f")).toBe(false);
		expect(counts.get).toBe(2);
		for (let i = 0; i < 100; i++) {
			await flags.isEnabled("f", `user-${i}`);
		}
		expect(counts.get).toBe(2);
	});

	it("a missing flag is memoised like a present one", async () => {
		const tick = clock();
		const { flags, counts } = fresh();
		for (let i = 0; i < 100; i++) {
			expect(await flags.isEnabled("missing", `user-${i}`)).toBe(false);
		}
		expect(await flags.get("missing")).toBeNull();
		expect(counts.get).toBe(1);
		// Created elsewhere: still missing here until the window has passed.
		await store("missing", { enabled: true });
		tick(10_000);
		expect(await flags.isEnabled("missing")).toBe(false);
		expect(counts.get).toBe(1);
		tick(20_000);
		expect(await flags.isEnabled("missing")).toBe(true);
		expect(counts.get).toBe(2);
	});

	it("memoizeSeconds sets the window; 0 reads KV on every call", async () => {
		const tick = clock();
		await store("f", { enabled: true });
		const short = fresh({ memoizeSeconds: 5 });
		await short.flags.isEnabled("f");
		tick(4_999);
		await short.flags.isEnabled("f");
		expect(short.counts.get).toBe(1);
		tick(1);
		await short.flags.isEnabled("f");
		expect(short.counts.get).toBe(2);

		const none = fresh({ memoizeSeconds: 0 });
		for (let i = 0; i < 5; i++) {
			await none.flags.isEnabled("f");
		}
		expect(none.counts.get).toBe(5);
	});

	it("is shared by every FeatureFlags on the same binding, and get() uses it too", async () => {
		clock();
		await store("f", { enabled: true, percentage: 30 });
		const { kv, counts } = counting(env.FLAGS);
		expect(await new FeatureFlags(kv).isEnabled("f")).toBe(false);
		expect(await new FeatureFlags(kv).get("f")).toEqual({ enabled: true, percentage: 30 });
		expect(await new FeatureFlags(kv).isEnabled("f")).toBe(false);
		expect(counts.get).toBe(1);
		// Another prefix is another key.
		expect(await new FeatureFlags(kv, { prefix: "other:" }).isEnabled("f")).toBe(false);
		expect(counts.get).toBe(2);
	});

	it("set() updates this isolate's memo at once, without a read", async () => {
		clock();
		const { flags, counts } = fresh();
		expect(await flags.isEnabled("f")).toBe(false); // missing, memoised
		await flags.set("f", { enabled: true });
		expect(await flags.isEnabled("f")).toBe(true);
		expect(await flags.get("f")).toEqual({ enabled: true });
		expect(counts).toMatchObject({ get: 1, put: 1 });
	});

	it("a failed set() leaves the memo alone", async () => {
		clock();
		await store("f", { enabled: true });
		const { flags, counts } = fresh();
		expect(await flags.isEnabled("f")).toBe(true);
		await expect(flags.set("f", { enabled: false, percentage: 101 })).rejects.toThrow(RangeError);
		expect(await flags.isEnabled("f")).toBe(true);
		expect(total(counts)).toBe(1);
	});

	it("a failed read is not memoised", async () => {
		clock();
		await store("f", { enabled: true });
		let fail = true;
		const kv = new Proxy(env.FLAGS, {
			get(target, property, receiver) {
				if (property === "get" && fail) {
					return async () => {
						fail = false;
						throw new Error("KV is down");
					};
				}
				const value: unknown = Reflect.get(target, property, receiver);
				return typeof value === "function" ? value.bind(target) : value;
			},
		});
		const flags = new FeatureFlags(kv);
		await expect(flags.isEnabled("f")).rejects.toThrow("KV is down");
		expect(await flags.isEnabled("f")).toBe(true);
	});

	it("passes cacheTtl on every read, and checks it", async () => {
		const { kv, calls } = counting(env.FLAGS);
		await new FeatureFlags(kv, { cacheTtl: 45, memoizeSeconds: 0 }).isEnabled("f");
		const options = calls.get.map((args) => args[1]);
		expect(options).toEqual([{ type: "text", cacheTtl: 45 }]);
		expect(() => new FeatureFlags(env.FLAGS, { cacheTtl: 29 })).toThrow(RangeError);
		expect(() => new FeatureFlags(env.FLAGS, { cacheTtl: 29 })).toThrow(/30/);
		expect(() => new FeatureFlags(env.FLAGS, { memoizeSeconds: -1 })).toThrow(RangeError);
		expect(() => new FeatureFlags(env.FLAGS, { memoizeSeconds: 1.5 })).toThrow(RangeError);
		expect(() => new FeatureFlags(env.FLAGS, { prefix: "p".repeat(512) })).toThrow(/512/);
	});
});

describe("set", () => {
	it("stores the flag as JSON at flag:<name>, without expiry, and get() reads it back", async () => {
		const { flags, counts } = fresh();
		const flag: FeatureFlag = { enabled: true, percentage: 25, allowlist: ["a"], denylist: ["b"] };
		await flags.set("new-checkout", flag);
		expect(counts).toMatchObject({ put: 1 });
		expect(await env.FLAGS.get("flag:new-checkout", "json")).toEqual(flag);
		const page = await env.FLAGS.list();
		expect(page.keys).toEqual([{ name: "flag:new-checkout" }]);
		expect(await fresh().flags.get("new-checkout")).toEqual(flag);
	});

	it("uses the prefix option, and fields set to undefined are left out", async () => {
		const { flags } = fresh({ prefix: "ff/" });
		const config = { enabled: true, percentage: undefined, allowlist: ["x"] } as unknown as FeatureFlag;
		await flags.set("x", config);
		expect(await env.FLAGS.get("ff/x")).toBe('{"enabled":true,"allowlist":["x"]}');
		expect(await env.FLAGS.get("flag:x")).toBeNull();
	});

	it("copies the lists: changing them after set() or on get()'s result changes nothing", async () => {
		clock();
		const { flags } = fresh();
		const allowlist = ["vip"];
		await flags.set("f", { enabled: true, percentage: 0, allowlist });
		allowlist.push("intruder");
		expect(await flags.isEnabled("f", "intruder")).toBe(false);
		const got = await flags.get("f");
		got?.allowlist?.push("intruder");
		expect(await flags.isEnabled("f", "intruder")).toBe(false);
		expect(await flags.get("f")).toEqual({ enabled: true, percentage: 0, allowlist: ["vip"] });
	});

	const invalid: [string, unknown, typeof TypeError | typeof RangeError][] = [
		["no enabled", {}, TypeError],
		["enabled as a string", { enabled: "true" }, TypeError],
		["enabled null", { enabled: null }, TypeError],
		["percentage over 100", { enabled: true, percentage: 101 }, RangeError],
		["negative percentage", { enabled: true, percentage: -1 }, RangeError],
		["percentage NaN", { enabled: true, percentage: Number.NaN }, RangeError],
		["percentage Infinity", { enabled: true, percentage: Infinity }, RangeError],
		["percentage as a string", { enabled: true, percentage: "50" }, TypeError],
		["percentage null", { enabled: true, percentage: null }, TypeError],
		["allowlist as a string", { enabled: true, allowlist: "vip" }, TypeError],
		["allowlist of numbers", { enabled: true, allowlist: [1, 2] }, TypeError],
		["denylist null", { enabled: true, denylist: null }, TypeError],
		["an empty user id", { enabled: true, denylist: ["ok", ""] }, RangeError],
		["an unknown field (denyList)", { enabled: true, denyList: ["x"] }, TypeError],
		["null", null, TypeError],
		["an array", [true], TypeError],
		["a boolean", true, TypeError],
	];
	for (const [what, config, error] of invalid) {
		it(`rejects ${what} before KV is called`, async () => {
			const { flags, counts } = fresh();
			await expect(flags.set("f", config as FeatureFlag)).rejects.toThrow(error);
			expect(total(counts)).toBe(0);
		});
	}

	it("rejects a flag over 25 MiB of JSON, a bad name or a key over 512 bytes, before KV is called", async () => {
		const { flags, counts } = fresh();
		const huge = { enabled: true, allowlist: ["x".repeat(25 * 1024 * 1024)] };
		await expect(flags.set("f", huge)).rejects.toThrow(RangeError);
		await expect(flags.set("f", huge)).rejects.toThrow(/25 MiB/);
		await expect(flags.set("", { enabled: true })).rejects.toThrow(RangeError);
		await expect(flags.set("f".repeat(508), { enabled: true })).rejects.toThrow(/512/);
		await expect(flags.isEnabled("f".repeat(508))).rejects.toThrow(/512/);
		await expect(flags.get("")).rejects.toThrow(RangeError);
		expect(total(counts)).toBe(0);
		// 507 + "flag:" = 512 bytes is allowed.
		await flags.set("f".repeat(507), { enabled: true });
		expect(counts.put).toBe(1);
	});
});

describe("a stored value that is not a valid flag", () => {
	const bad: [string, string][] = [
		["not JSON", "yes please"],
		["JSON null", "null"],
		["no enabled", '{"percentage":50}'],
		["enabled as a string", '{"enabled":"yes"}'],
		["percentage over 100", '{"enabled":true,"percentage":150}'],
		["a list of numbers", '{"enabled":true,"allowlist":[1]}'],
		["an empty user id", '{"enabled":true,"denylist":[""]}'],
	];
	for (const [what, raw] of bad) {
		it(`(${what}) counts as disabled, is logged once per read, and get() throws`, async () => {
			clock();
			const error = vi.spyOn(console, "error").mockImplementation(() => {});
			await store("broken", raw);
			const { flags, counts } = fresh();
			for (let i = 0; i < 100; i++) {
				expect(await flags.isEnabled("broken", `user-${i}`)).toBe(false);
			}
			expect(await flags.isEnabled("broken")).toBe(false);
			await expect(flags.get("broken")).rejects.toThrow(TypeError);
			await expect(flags.get("broken")).rejects.toThrow(/flag:broken/);
			expect(counts.get).toBe(1);
			expect(error).toHaveBeenCalledTimes(1);
			expect(String(error.mock.calls[0]?.[0])).toContain("flag:broken");
		});
	}

	it("is read as leniently as the Rust module: unknown fields are ignored, null is absent", async () => {
		await store("f", { enabled: true, percentage: null, allowlist: null, note: "from a newer version" });
		const { flags } = fresh();
		expect(await flags.isEnabled("f", "user-1")).toBe(true);
		expect(await flags.get("f")).toEqual({ enabled: true });
	});

	it("set() repairs it", async () => {
		vi.spyOn(console, "error").mockImplementation(() => {});
		await store("f", "{");
		const { flags } = fresh();
		expect(await flags.isEnabled("f")).toBe(false);
		await flags.set("f", { enabled: true });
		expect(await flags.isEnabled("f")).toBe(true);
	});
});

describe("list", () => {
	it("returns the names of the flags without the prefix, and nothing else", async () => {
		await env.FLAGS.put("other", "1");
		await env.FLAGS.put("flags-are-not-this", "1");
		const { flags } = fresh();
		await flags.set("beta", { enabled: true });
		await flags.set("a:b", { enabled: false });
		await flags.set("🚀launch", { enabled: true, percentage: 10 });
		expect(await flags.list()).toEqual(["a:b", "beta", "🚀launch"]);
		expect(await fresh({ prefix: "other:" }).flags.list()).toEqual([]);
	});

	it("pages through more than 1000 flags", async () => {
		const names = Array.from({ length: 1005 }, (_, i) => `f${String(i).padStart(4, "0")}`);
		await Promise.all(names.map((name) => env.FLAGS.put(`flag:${name}`, '{"enabled":true}')));
		await env.FLAGS.put("zzz", "1");
		const { flags, counts } = fresh();
		expect(await flags.list()).toEqual(names);
		expect(counts.list).toBe(2);
		// 1006 writes to the local KV store: seconds on a busy machine.
	}, 60_000);

	it("passes the prefix on every page and goes on past an empty page", async () => {
		type Page = { keys: { name: string }[]; list_complete: boolean; cursor?: string };
		const pages: Page[] = [
			{ keys: [{ name: "flag:a" }, { name: "flag:b" }], list_complete: false, cursor: "c1" },
			{ keys: [], list_complete: false, cursor: "c2" },
			{ keys: [{ name: "flag:c" }], list_complete: true },
		];
		const calls: KVNamespaceListOptions[] = [];
		const kv = {
			async list(options: KVNamespaceListOptions) {
				calls.push({ ...options });
				const page = pages.shift();
				if (page === undefined) {
					throw new Error("listed past the end");
				}
				return { ...page, cacheStatus: null };
			},
		} as unknown as KVNamespace;
		expect(await new FeatureFlags(kv).list()).toEqual(["a", "b", "c"]);
		expect(calls).toEqual([{ prefix: "flag:" }, { prefix: "flag:", cursor: "c1" }, { prefix: "flag:", cursor: "c2" }]);
	});

	it("with an empty prefix lists the whole namespace", async () => {
		await env.FLAGS.put("x", '{"enabled":true}');
		const { flags } = fresh({ prefix: "" });
		await flags.set("y", { enabled: false });
		expect(await flags.list()).toEqual(["x", "y"]);
		expect(await flags.isEnabled("x")).toBe(true);
	});
});
