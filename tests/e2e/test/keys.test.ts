// Behaviour of the generated key builder (src/kv/keys.ts).
import { describe, expect, it } from "vitest";
import { SEPARATOR, key } from "@kv/keys";

describe("key()", () => {
	it("joins parts with the one separator", () => {
		expect(SEPARATOR).toBe(":");
		expect(key("user", 123)).toBe("user:123");
		expect(key("a", "b", "c")).toBe("a:b:c");
		expect(key("only")).toBe("only");
	});

	it("rejects a part that contains the separator", () => {
		expect(() => key("a:b", "c")).toThrow(RangeError);
		expect(() => key("a", "b:c")).toThrow(/separator/);
	});

	it("rejects an empty part and no parts", () => {
		expect(() => key("user", "")).toThrow(RangeError);
		expect(() => key()).toThrow(RangeError);
	});

	it("rejects numbers that are not finite", () => {
		expect(() => key("n", Number.NaN)).toThrow(RangeError);
		expect(() => key("n", Number.POSITIVE_INFINITY)).toThrow(RangeError);
	});

	it("rejects a key over 512 bytes", () => {
		expect(() => key("a".repeat(300), "b".repeat(300))).toThrow(/512/);
		expect(key("a".repeat(255), "b".repeat(256))).toHaveLength(512);
	});
});
