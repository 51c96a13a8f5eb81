// The generated schema.ts (src/kv/schema.ts) against the shared vectors of
// tests/fixtures/keys/schema-vectors.json, in workerd: every case accepted or
// refused as the vectors say (mode "parse", the default, through parse<Type>;
// mode "check" through check<Type>), what a read returns, and the
// SchemaError's path and key. tests/keys_schema.rs runs the same vectors
// under Node; tests/e2e.rs puts the vectors' [types] in the kvgen.toml.
import { env, reset } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as schema from "@kv/schema";
import { cacheKeys } from "@kv/namespaces";
import fixture from "../../fixtures/keys/schema-vectors.json";
import { counting, total } from "./counting";

afterEach(async () => {
	vi.restoreAllMocks();
	await reset();
});

interface Case {
	type: string;
	mode?: "parse" | "check";
	value: unknown;
	valid: boolean;
	read?: unknown;
	path?: string;
}

const cases = fixture.cases as Case[];
const KEY = "post:1";

type Fn = (value: unknown, key?: string) => unknown;

/** parse<Type> or check<Type> of the generated module. */
function generated(name: string): Fn | undefined {
	const fn: unknown = (schema as Record<string, unknown>)[name];
	return typeof fn === "function" ? (fn as Fn) : undefined;
}

/** The same JSON: arrays item by item, objects with the same own keys. */
function same(a: unknown, b: unknown): boolean {
	if (Array.isArray(a) || Array.isArray(b)) {
		return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
	}
	if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
		const keys = Object.keys(a);
		const other = b as Record<string, unknown>;
		return (
			keys.length === Object.keys(other).length &&
			keys.every((k) => Object.hasOwn(other, k) && same((a as Record<string, unknown>)[k], other[k]))
		);
	}
	return a === b;
}

/** What is wrong with one case, or nothing. */
function failures(c: Case, index: number): string[] {
	const mode = c.mode ?? "parse";
	const where = `case ${index} (${mode}${c.type} ${JSON.stringify(c.value)})`;
	const fn = generated(mode + c.type);
	if (fn === undefined) {
		return [`${where}: no function ${mode}${c.type}`];
	}
	const out: string[] = [];
	let result: unknown;
	let error: unknown;
	let threw = false;
	try {
		result = fn(c.value, KEY);
	} catch (e) {
		error = e;
		threw = true;
	}
	if (c.valid) {
		if (threw) {
			out.push(`${where}: refused: ${String(error)}`);
		} else if (mode === "parse") {
			if (!same(result, c.read)) {
				out.push(`${where}: read ${JSON.stringify(result)}, expected ${JSON.stringify(c.read)}`);
			}
			if (typeof c.value === "object" && c.value !== null && result === c.value) {
				out.push(`${where}: returned the value itself, not a new object`);
			}
			try {
				generated("check" + c.type)?.(result, KEY);
			} catch (e) {
				out.push(`${where}: what was read is refused on write: ${String(e)}`);
			}
		} else if (result !== undefined) {
			out.push(`${where}: check returned ${JSON.stringify(result)}`);
		}
	} else if (!threw) {
		out.push(`${where}: accepted, expected a SchemaError at ${c.path}`);
	} else if (!(error instanceof schema.SchemaError) || !(error instanceof TypeError)) {
		out.push(`${where}: threw ${String(error)}, not a SchemaError`);
	} else {
		if (error.path !== c.path) {
			out.push(`${where}: path ${error.path}, expected ${c.path} (${error.message})`);
		}
		if (error.key !== KEY || !error.message.includes(KEY) || !error.message.includes(String(c.path))) {
			out.push(`${where}: the error does not name the key and path: ${error.message}`);
		}
		if (error.name !== "SchemaError") {
			out.push(`${where}: error name ${error.name}`);
		}
	}
	return out;
}

describe("schema.ts against the shared vectors", () => {
	it("accepts and refuses every case as the vectors say", () => {
		let checked = 0;
		const found: string[] = [];
		cases.forEach((c, index) => {
			found.push(...failures(c, index));
			checked += 1;
		});
		expect(found).toEqual([]);
		expect(checked).toBe(fixture.cases.length);
		expect(checked).toBeGreaterThanOrEqual(40);
	});

	it("covers both modes and every type of the vectors", () => {
		const types = Object.keys(fixture.types);
		for (const c of cases) {
			expect(types).toContain(c.type);
		}
		expect(cases.some((c) => c.mode === "check")).toBe(true);
		expect(cases.some((c) => (c.mode ?? "parse") === "parse" && !c.valid)).toBe(true);
		for (const type of types) {
			expect(generated("parse" + type), `parse${type}`).toBeTypeOf("function");
			expect(generated("check" + type), `check${type}`).toBeTypeOf("function");
		}
	});

	it("a SchemaError without a key names only the path", () => {
		let error: unknown;
		try {
			schema.parseBasic(null);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(schema.SchemaError);
		expect(error).toBeInstanceOf(TypeError);
		expect("key" in (error as object)).toBe(false);
		expect((error as schema.SchemaError).path).toBe("$");
		expect((error as schema.SchemaError).message).toBe("$: expected an object");
	});
});

describe("the Post vectors through the typed key post:{id} (purpose cache)", () => {
	it("get returns what a read returns, and a miss for what a read refuses", async () => {
		const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
		const keys = cacheKeys(env.CACHE);
		const reads = cases.map((c, index) => ({ c, index })).filter(({ c }) => c.type === "Post" && (c.mode ?? "parse") === "parse");
		expect(reads.length).toBeGreaterThan(5);
		let refused = 0;
		for (const { c, index } of reads) {
			const id = `vector-${index}`;
			await env.CACHE.put(`post:${id}`, JSON.stringify(c.value));
			const read = await keys.post.get({ id });
			if (c.valid) {
				expect(read, `case ${index}`).toEqual(c.read);
			} else {
				refused += 1;
				expect(read, `case ${index}`).toBeNull();
				expect(String(warn.mock.calls.at(-1)?.[0]), `case ${index}`).toContain(`post:${id}`);
				expect(String(warn.mock.calls.at(-1)?.[0]), `case ${index}`).toContain(String(c.path));
			}
		}
		expect(refused).toBeGreaterThan(0);
		expect(warn).toHaveBeenCalledTimes(refused);
	});

	it("put writes what a write accepts, and nothing for what it refuses", async () => {
		const { kv, counts } = counting(env.CACHE);
		const keys = cacheKeys(kv);
		const writes = cases.map((c, index) => ({ c, index })).filter(({ c }) => c.type === "Post" && c.mode === "check");
		expect(writes.length).toBeGreaterThan(1);
		let accepted = 0;
		for (const { c, index } of writes) {
			const id = `write-${index}`;
			const put = keys.post.put({ id }, c.value as schema.Post);
			if (c.valid) {
				await put;
				accepted += 1;
				expect(await env.CACHE.get(`post:${id}`, "json"), `case ${index}`).toEqual(c.value);
			} else {
				const error = await put.then(
					() => undefined,
					(e: unknown) => e,
				);
				expect(error, `case ${index}`).toBeInstanceOf(schema.SchemaError);
				expect((error as schema.SchemaError).path, `case ${index}`).toBe(c.path);
				expect((error as schema.SchemaError).key, `case ${index}`).toBe(`post:${id}`);
			}
		}
		expect(counts.put).toBe(accepted);
		expect(total(counts)).toBe(accepted);
	});
});
