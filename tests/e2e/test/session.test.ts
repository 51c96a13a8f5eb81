// Behaviour of the generated session store (src/kv/session.ts), in workerd,
// against the contract in shared/spec/generated-api.md. kvgen runs
// `kvgen session` without options, so the baked-in defaults are a ttl of
// 86400 s and the cookie name "__Host-session".
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionStore, type SessionOptions } from "@kv/session";
import { counting, total } from "./counting";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

type User = { name: string; roles: string[] };

const NEW_SECRET = "new-secret-0123456789abcdef0123456789abcdef";
const OLD_SECRET = "old-secret-fedcba9876543210fedcba9876543210";
const OTHER_SECRET = "some-other-secret-00000000000000000000000000";
const ALICE: User = { name: "alice", roles: ["admin"] };
const DAY = 86_400;

/**
 * A store over a counting wrapper of SESSIONS, signing with NEW_SECRET, with
 * the default ttl and cookie name given explicitly (only the test of the
 * defaults relies on what kvgen baked in).
 */
function store(options: Partial<SessionOptions> = {}) {
	const { kv, counts } = counting(env.SESSIONS);
	const all = { secrets: [NEW_SECRET], ttl: DAY, cookieName: "session", ...options };
	const sessions = new SessionStore<User>(kv, all);
	return { sessions, counts };
}

/** A request with `cookie` as its Cookie header (none when undefined). */
function request(cookie?: string): Request {
	const headers = cookie === undefined ? undefined : { Cookie: cookie };
	return new Request("https://example.com/account", { headers });
}

/** The `name=value` pair at the start of a Set-Cookie value. */
function pair(setCookie: string): string {
	return setCookie.split(";")[0] ?? "";
}

/** The value of a Set-Cookie header value. */
function valueOf(setCookie: string): string {
	const first = pair(setCookie);
	return first.slice(first.indexOf("=") + 1);
}

/**
 * Fixes Date.now() at t0, a whole second one to two seconds ahead of the real
 * time; returns t0 and a function that moves the clock to t0 + `ms`. KV
 * itself keeps the real time, and being ahead of it keeps every expiration
 * the store computes at least 60 s ahead by KV's clock too, however slowly
 * the test runs up to the write.
 */
function clock() {
	const t0 = (Math.ceil(Date.now() / 1000) + 1) * 1000;
	const spy = vi.spyOn(Date, "now").mockReturnValue(t0);
	return { t0, move: (ms: number) => spy.mockReturnValue(t0 + ms) };
}

/** The KV entry of session `id`, as list() shows it (with its expiration). */
async function entry(id: string) {
	const page = await env.SESSIONS.list();
	const found = page.keys.filter((k) => k.name.includes(id));
	expect(found).toHaveLength(1);
	return found[0]!;
}

/** base64url text to bytes (throws on anything else). */
function decode(text: string): Uint8Array {
	expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
	const base64 = text.replaceAll("-", "+").replaceAll("_", "/");
	const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
	return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** `text` with the character at `index` replaced by another valid one. */
function flip(text: string, index: number): string {
	const c = text[index] === "A" ? "B" : "A";
	return text.slice(0, index) + c + text.slice(index + 1);
}

describe("create and fromRequest", () => {
	it("round-trips: the cookie create() returns brings back the session", async () => {
		const { t0 } = clock();
		const { sessions, counts } = store();
		const { session, cookie } = await sessions.create(ALICE);
		expect(session).toEqual({ id: session.id, data: ALICE, createdAt: t0, expiresAt: t0 + DAY * 1000 });
		expect(counts).toMatchObject({ put: 1, get: 0 });
		const found = await sessions.fromRequest(request(pair(cookie)));
		expect(found).toEqual(session);
		expect(counts).toMatchObject({ put: 1, get: 1 });
		expect(await sessions.get(session.id)).toEqual(session);
	});

	it("sets the cookie with HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=<ttl> (defaults: __Host-session, 86400)", async () => {
		const defaults = new SessionStore<User>(env.SESSIONS, { secrets: [NEW_SECRET] });
		const { cookie, session } = await defaults.create(ALICE);
		expect(session.expiresAt - session.createdAt).toBe(DAY * 1000);
		expect(cookie).toMatch(/^__Host-session=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; HttpOnly; Secure; SameSite=Lax; Path=\/; Max-Age=86400$/);
		expect(valueOf(cookie).startsWith(`${session.id}.`)).toBe(true);
		const custom = await store({ ttl: 3600, cookieName: "__Host-sid" }).sessions.create(ALICE);
		expect(custom.cookie).toMatch(/^__Host-sid=[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+; HttpOnly; Secure; SameSite=Lax; Path=\/; Max-Age=3600$/);
		expect(custom.session.expiresAt - custom.session.createdAt).toBe(3_600_000);
	});

	it("finds its cookie among others: spaces, quotes, names sharing a prefix", async () => {
		const { sessions } = store();
		const { session, cookie } = await sessions.create(ALICE);
		const value = valueOf(cookie);
		const headers = [
			`session=${value}`,
			`theme=dark; session=${value}; lang=en`,
			`  session_old=junk ;sessionx=junk;   session=${value}  ; x=1`,
			`a=b; session="${value}"`,
			`xsession=${value}x; session=${value}`,
		];
		for (const header of headers) {
			expect(await sessions.fromRequest(request(header)), header).toEqual(session);
		}
		// The same value under another name is not the session cookie.
		expect(await sessions.fromRequest(request(`sid=${value}; sessionx=${value}`))).toBeNull();
		const named = store({ cookieName: "__Host-sid" }).sessions;
		expect(await named.fromRequest(request(`session=${value}; __Host-sid=${value}`))).toEqual(session);
		expect(await named.fromRequest(request(`session=${value}`))).toBeNull();
	});

	it("gives null, without an exception or a KV read, for a tampered id, a tampered signature or an unsigned cookie", async () => {
		const { sessions: creator } = store();
		const { session, cookie } = await creator.create(ALICE);
		const other = await creator.create({ name: "bob", roles: [] });
		const value = valueOf(cookie);
		const [id, signature] = value.split(".") as [string, string];
		const { sessions, counts } = store();
		const bad = [
			`${flip(id, 10)}.${signature}`, // tampered id
			`${id}.${flip(signature, 10)}`, // tampered signature
			`${id}.${flip(signature, 0)}`,
			`${other.session.id}.${signature}`, // a real id with another's signature
			id, // unsigned
			`${id}.`,
			`${id}.${signature}.${signature}`,
			`.${signature}`,
			"",
			"%%%.%%%",
			"not a cookie at all",
			`${id}.${signature.slice(0, -1)}`,
			`${id}.${signature}A`,
			`${id}.${signature}==`,
			`${id}.${"+/".repeat(22)}`,
			`${id}.${"A".repeat(10_000)}`,
		];
		for (const v of bad) {
			await expect(sessions.fromRequest(request(`session=${v}`)), v).resolves.toBeNull();
		}
		await expect(sessions.fromRequest(request())).resolves.toBeNull();
		await expect(sessions.fromRequest(request("session"))).resolves.toBeNull();
		await expect(sessions.fromRequest(request(";;=;session=;"))).resolves.toBeNull();
		expect(total(counts)).toBe(0);
		// Signed with a secret the store does not know.
		const stranger = await store({ secrets: [OTHER_SECRET] }).sessions.create(ALICE);
		expect(await sessions.fromRequest(request(pair(stranger.cookie)))).toBeNull();
		// The untampered cookie still works.
		expect(await sessions.fromRequest(request(pair(cookie)))).toEqual(session);
	});

	it("checks signatures with crypto.subtle.verify (constant time), not by comparing strings", async () => {
		const { sessions } = store({ secrets: [NEW_SECRET, OLD_SECRET] });
		const { session, cookie } = await sessions.create(ALICE);
		const verify = vi.spyOn(crypto.subtle, "verify");
		const sign = vi.spyOn(crypto.subtle, "sign");
		expect(await sessions.fromRequest(request(pair(cookie)))).toEqual(session);
		expect(verify).toHaveBeenCalled();
		expect(sign).not.toHaveBeenCalled();
	});
});

/** The attributes of a Set-Cookie value, by lower-case name. */
function attributes(setCookie: string): Map<string, string> {
	const found = new Map<string, string>();
	for (const part of setCookie.split(";").slice(1)) {
		const [name = "", value = ""] = part.split("=");
		found.set(name.trim().toLowerCase(), value.trim());
	}
	return found;
}

describe("cookie tossing: a planted session cookie", () => {
	it("makes no session when the Cookie header carries the session cookie more than once, without a KV read", async () => {
		const { sessions: creator } = store();
		const victim = await creator.create(ALICE);
		const attacker = await creator.create({ name: "mallory", roles: ["admin"] });
		const destroyed = await creator.create({ name: "old", roles: [] });
		await creator.destroy(destroyed.session.id);
		const { sessions, counts } = store();
		const [mine, theirs, gone] = [victim, attacker, destroyed].map((c) => pair(c.cookie));
		const headers = [
			`${theirs}; ${mine}`, // a sibling subdomain's cookie sent first
			`${mine}; ${theirs}`,
			`${gone}; ${mine}`, // a destroyed session's cookie planted to log the victim out
			`${mine}; ${mine}`,
			`session=forged; ${mine}`,
			`${mine}; lang=en; session=`,
		];
		for (const header of headers) {
			expect(await sessions.fromRequest(request(header)), header).toBeNull();
		}
		expect(total(counts)).toBe(0);
		expect(await sessions.fromRequest(request(`lang=en; ${mine}`))).toEqual(victim.session);
	});

	it("under the default __Host- name, a plain-named cookie from elsewhere is just another cookie", async () => {
		const host = new SessionStore<User>(env.SESSIONS, { secrets: [NEW_SECRET] });
		const victim = await host.create(ALICE);
		const planted = await store().sessions.create({ name: "mallory", roles: [] });
		const header = `${pair(planted.cookie)}; ${pair(victim.cookie)}`;
		expect(pair(victim.cookie).startsWith("__Host-session=")).toBe(true);
		expect(await host.fromRequest(request(header))).toEqual(victim.session);
	});

	it("__Host- and __Secure- names get the attributes their prefix requires: Secure, Path=/, no Domain", async () => {
		for (const cookieName of [undefined, "__Host-sid", "__Secure-sid", "__host-sid"]) {
			const sessions = new SessionStore<User>(env.SESSIONS, { secrets: [NEW_SECRET], cookieName });
			const { session, cookie } = await sessions.create(ALICE);
			const values = [cookie, await sessions.cookie(session.id), (await sessions.destroy(session.id)).cookie];
			for (const value of values) {
				const found = attributes(value);
				expect(found.has("secure"), value).toBe(true);
				expect(found.get("path"), value).toBe("/");
				expect(found.has("domain"), value).toBe(false);
				expect(value.startsWith(`${cookieName ?? "__Host-session"}=`), value).toBe(true);
			}
		}
	});
});

describe("cookie(id) takes only ids the store makes", () => {
	it("throws a TypeError for anything else, so no attribute can be injected", async () => {
		const { sessions, counts } = store();
		const { session } = await sessions.create(ALICE);
		const bad: unknown[] = [
			"",
			"abc",
			`${session.id}; Domain=evil.example`,
			`${session.id}; Max-Age=999999999`,
			`${session.id.slice(0, 42)};`,
			`${session.id.slice(0, 41)}\r\n`,
			`${session.id}\r\nSet-Cookie: admin=1`,
			`${"A".repeat(42)}B`, // 43 characters, but not how 32 bytes are written
			`${"A".repeat(42)}.`,
			"A".repeat(44),
			undefined,
			null,
			42,
		];
		for (const id of bad) {
			await expect(sessions.cookie(id as string), String(id)).rejects.toThrow(TypeError);
		}
		expect(counts).toMatchObject({ put: 1, get: 0 });
		const cookie = await sessions.cookie(session.id);
		expect(valueOf(cookie).startsWith(`${session.id}.`)).toBe(true);
		expect(await sessions.cookie("A".repeat(43))).toMatch(/^session=A{43}\./);
	});
});

describe("secret rotation", () => {
	it("accepts a cookie signed with the old secret while it is second in secrets, and not once it is gone", async () => {
		const before = store({ secrets: [OLD_SECRET] }).sessions;
		const { session, cookie } = await before.create(ALICE);
		const rotating = store({ secrets: [NEW_SECRET, OLD_SECRET] }).sessions;
		expect(await rotating.fromRequest(request(pair(cookie)))).toEqual(session);
		const after = store({ secrets: [NEW_SECRET] }).sessions;
		expect(await after.fromRequest(request(pair(cookie)))).toBeNull();
	});

	it("signs new cookies with secrets[0]", async () => {
		const rotating = store({ secrets: [NEW_SECRET, OLD_SECRET] }).sessions;
		const { session, cookie } = await rotating.create(ALICE);
		expect(await store({ secrets: [NEW_SECRET] }).sessions.fromRequest(request(pair(cookie)))).toEqual(session);
		expect(await store({ secrets: [OLD_SECRET] }).sessions.fromRequest(request(pair(cookie)))).toBeNull();
		const reissued = await rotating.cookie(session.id);
		expect(valueOf(reissued)).toBe(valueOf(cookie));
	});
});

describe("get, update, destroy", () => {
	it("destroy deletes the session (get then gives null) and returns a clearing cookie with Max-Age=0", async () => {
		const { sessions, counts } = store();
		const { session, cookie } = await sessions.create(ALICE);
		const { cookie: clearing } = await sessions.destroy(session.id);
		expect(counts.delete).toBe(1);
		expect(clearing).toBe("session=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
		expect(await sessions.get(session.id)).toBeNull();
		expect(await sessions.fromRequest(request(pair(cookie)))).toBeNull();
		expect(await env.SESSIONS.list()).toMatchObject({ keys: [] });
		const named = store({ cookieName: "__Host-sid" }).sessions;
		expect((await named.destroy(session.id)).cookie).toBe("__Host-sid=; HttpOnly; Secure; SameSite=Lax; Path=/; Max-Age=0");
	});

	it("destroy of an id that cannot be a session makes no KV call and still clears the cookie", async () => {
		const { sessions, counts } = store();
		expect((await sessions.destroy("../etc")).cookie).toMatch(/^session=; .*Max-Age=0$/);
		expect(total(counts)).toBe(0);
	});

	it("stores the session to expire in KV at its expiresAt", async () => {
		clock();
		const { session } = await store({ ttl: 3600 }).sessions.create(ALICE);
		const listed = await entry(session.id);
		expect(listed.expiration).toBe(Math.ceil(session.expiresAt / 1000));
		const { createdAt, expiresAt } = session;
		expect(await env.SESSIONS.get(listed.name, "json")).toEqual({ data: ALICE, createdAt, expiresAt });
	});

	it("get gives null once expiresAt has passed, even while KV still holds the entry", async () => {
		const { move } = clock();
		const { sessions } = store({ ttl: 60 });
		const { session, cookie } = await sessions.create(ALICE);
		move(59_999);
		expect(await sessions.get(session.id)).toEqual(session);
		move(60_000);
		expect(await sessions.get(session.id)).toBeNull();
		expect(await sessions.fromRequest(request(pair(cookie)))).toBeNull();
		expect(await env.SESSIONS.list()).toMatchObject({ keys: [{}] });
	});

	it("get of a missing session or of something that is not an id gives null; no KV call for the latter", async () => {
		const { sessions, counts } = store();
		expect(await sessions.get("A".repeat(43))).toBeNull();
		expect(counts.get).toBe(1);
		for (const id of ["", "abc", "session:x", "A".repeat(600), "A".repeat(42) + ".", "A".repeat(42) + "B"]) {
			expect(await sessions.get(id)).toBeNull();
		}
		expect(counts.get).toBe(1);
	});

	it("update replaces the data with one write and keeps createdAt, expiresAt and the KV expiration", async () => {
		const { move } = clock();
		const { sessions, counts } = store({ ttl: 3600 });
		const { session } = await sessions.create(ALICE);
		move(1_000_000);
		const bob: User = { name: "bob", roles: [] };
		expect(await sessions.update(session.id, bob)).toBe(true);
		expect(counts).toMatchObject({ get: 1, put: 2 });
		expect(await sessions.get(session.id)).toEqual({ ...session, data: bob });
		expect((await entry(session.id)).expiration).toBe(Math.ceil(session.expiresAt / 1000));
	});

	it("update near the end keeps the KV expiration at least 60 s ahead, as KV requires", async () => {
		const { t0, move } = clock();
		const { sessions } = store({ ttl: 60 });
		const { session } = await sessions.create(ALICE);
		move(30_000);
		expect(await sessions.update(session.id, { name: "late", roles: [] })).toBe(true);
		expect((await entry(session.id)).expiration).toBeGreaterThanOrEqual(t0 / 1000 + 90);
		expect((await sessions.get(session.id))?.expiresAt).toBe(session.expiresAt);
	});

	it("update of a missing or expired session gives false and writes nothing", async () => {
		const { move } = clock();
		const { sessions, counts } = store({ ttl: 60 });
		expect(await sessions.update("A".repeat(43), ALICE)).toBe(false);
		const { session } = await sessions.create(ALICE);
		move(61_000);
		expect(await sessions.update(session.id, ALICE)).toBe(false);
		expect(counts.put).toBe(1);
	});
});

describe("refresh (sliding expiry)", () => {
	it("writes nothing while more than half the ttl is left, then writes exactly once", async () => {
		const { t0, move } = clock();
		const { sessions, counts } = store();
		const { session } = await sessions.create(ALICE);
		expect(counts.put).toBe(1);
		for (const at of [0, 1_000, 3_600_000, DAY * 500 - 1_000]) {
			move(at);
			expect(await sessions.refresh(session.id)).toBe(true);
		}
		expect(counts.put).toBe(1);
		expect((await sessions.get(session.id))?.expiresAt).toBe(t0 + DAY * 1000);
		// Less than half the ttl left: one write, the session ends a ttl from now.
		const now = DAY * 500 + 1_000;
		move(now);
		expect(await sessions.refresh(session.id)).toBe(true);
		expect(counts.put).toBe(2);
		const refreshed = await sessions.get(session.id);
		expect(refreshed).toEqual({ ...session, expiresAt: t0 + now + DAY * 1000 });
		expect((await entry(session.id)).expiration).toBe(Math.ceil((t0 + now + DAY * 1000) / 1000));
		// Right after, and many times more: no further write.
		for (let i = 0; i < 10; i++) {
			expect(await sessions.refresh(session.id)).toBe(true);
		}
		move(now + 1_000);
		expect(await sessions.refresh(session.id)).toBe(true);
		expect(counts.put).toBe(2);
	});

	it("gives false for a missing, destroyed or expired session, writing nothing", async () => {
		const { move } = clock();
		const { sessions, counts } = store({ ttl: 120 });
		expect(await sessions.refresh("A".repeat(43))).toBe(false);
		expect(await sessions.refresh("nope")).toBe(false);
		const { session } = await sessions.create(ALICE);
		const { session: other } = await sessions.create(ALICE);
		await sessions.destroy(other.id);
		expect(await sessions.refresh(other.id)).toBe(false);
		move(120_000);
		expect(await sessions.refresh(session.id)).toBe(false);
		expect(counts.put).toBe(2);
	});
});

describe("ids and options", () => {
	it("ids are distinct base64url strings of at least 16 random bytes", async () => {
		const { sessions } = store();
		const ids = new Set<string>();
		for (let i = 0; i < 20; i++) {
			const { session, cookie } = await sessions.create(ALICE);
			expect(decode(session.id).byteLength).toBeGreaterThanOrEqual(16);
			expect(valueOf(cookie).split(".")[0]).toBe(session.id);
			ids.add(session.id);
		}
		expect(ids.size).toBe(20);
	});

	it("rejects a ttl under 60 (0 included), over 400 days or not whole, before any KV call", () => {
		for (const ttl of [59, 0, -1, 60.5, Number.NaN, 34_560_001, Number.POSITIVE_INFINITY]) {
			expect(() => store({ ttl }), String(ttl)).toThrow(RangeError);
		}
		expect(() => store({ ttl: 60 })).not.toThrow();
		expect(() => store({ ttl: 34_560_000 })).not.toThrow();
	});

	it("a 400-day session is created and its cookie says so", async () => {
		const { sessions } = store({ ttl: 34_560_000 });
		const { session, cookie } = await sessions.create(ALICE);
		expect(cookie.endsWith("; Max-Age=34560000")).toBe(true);
		expect(session.expiresAt - session.createdAt).toBe(34_560_000_000);
		expect(await sessions.fromRequest(request(pair(cookie)))).toEqual(session);
	});

	it("rejects missing or short secrets and a cookie name that is not a token", () => {
		for (const secrets of [[], [""], ["short"], [NEW_SECRET, "short"]]) {
			expect(() => store({ secrets }), JSON.stringify(secrets)).toThrow();
		}
		for (const cookieName of ["", "a b", "a;b", "a=b", 'a"b', "sess\u00e9"]) {
			expect(() => store({ cookieName }), cookieName).toThrow();
		}
		expect(() => store({ cookieName: "__Host-sid" })).not.toThrow();
	});

	it("rejects data JSON cannot store, before any KV call", async () => {
		const { kv, counts } = counting(env.SESSIONS);
		const sessions = new SessionStore<unknown>(kv, { secrets: [NEW_SECRET] });
		await expect(sessions.create(undefined)).rejects.toThrow(TypeError);
		expect(total(counts)).toBe(0);
	});
});
