//! The generated `schema.ts` against the shared vectors of
//! `tests/fixtures/keys/schema-vectors.json`: compiled with the pinned
//! TypeScript (`--strict`, `noUncheckedIndexedAccess`,
//! `exactOptionalPropertyTypes`) and run under Node, every case accepted or
//! refused as the vectors say, with what a read returns and the
//! `SchemaError.path` of a refusal.

mod common;

use std::fs;
use std::process::Command;

use common::node::{node_workspace, repo, run, skipped, tool};
use kvgen::keys::ts_schema::schema_ts;

const DRIVER: &str = r#"import { readFileSync } from "node:fs";
import * as schema from "./out/schema.js";

const vectors = JSON.parse(readFileSync(process.argv[2], "utf8"));
const KEY = "post:1";

function same(a, b) {
	if (Array.isArray(a) || Array.isArray(b)) {
		return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
	}
	if (typeof a === "object" && a !== null && typeof b === "object" && b !== null) {
		const keys = Object.keys(a);
		return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && same(a[k], b[k]));
	}
	return a === b;
}

const failures = [];
let checked = 0;
vectors.cases.forEach((c, index) => {
	const mode = c.mode ?? "parse";
	const where = `case ${index} (${mode}${c.type} ${JSON.stringify(c.value)})`;
	const fn = schema[mode + c.type];
	if (typeof fn !== "function") {
		failures.push(`${where}: no function ${mode}${c.type}`);
		return;
	}
	let result;
	let error;
	try {
		result = fn(c.value, KEY);
	} catch (e) {
		error = e;
	}
	checked += 1;
	if (c.valid) {
		if (error !== undefined) {
			failures.push(`${where}: refused: ${error.message}`);
		} else if (mode === "parse") {
			if (!same(result, c.read)) {
				failures.push(`${where}: read ${JSON.stringify(result)}, expected ${JSON.stringify(c.read)}`);
			}
			if (result === c.value) {
				failures.push(`${where}: returned the value itself, not a new object`);
			}
			try {
				schema["check" + c.type](result, KEY);
			} catch (e) {
				failures.push(`${where}: what was read is refused on write: ${e.message}`);
			}
		}
	} else if (error === undefined) {
		failures.push(`${where}: accepted, expected a SchemaError at ${c.path}`);
	} else if (!(error instanceof schema.SchemaError) || !(error instanceof TypeError)) {
		failures.push(`${where}: threw ${error}, not a SchemaError`);
	} else {
		if (error.path !== c.path) {
			failures.push(`${where}: path ${error.path}, expected ${c.path} (${error.message})`);
		}
		if (error.key !== KEY || !error.message.includes(KEY) || !error.message.includes(c.path)) {
			failures.push(`${where}: the error does not name the key and path: ${error.message}`);
		}
	}
});
const bare = (() => {
	try {
		schema.parseBasic(null);
	} catch (e) {
		return e;
	}
})();
if (!(bare instanceof schema.SchemaError) || "key" in bare || bare.message !== "$: expected an object") {
	failures.push(`an error without a key: ${bare && bare.message}`);
}
console.log(JSON.stringify({ checked, failures }));
"#;

#[test]
fn keys_schema_vectors_are_well_formed() {
    let vectors = common::schema_vectors();
    let types = common::vector_types(&vectors);
    let cases = vectors["cases"].as_array().unwrap();
    assert!(cases.len() >= 40);
    for case in cases {
        let ty = case["type"].as_str().unwrap();
        assert!(types.iter().any(|t| t.name == ty), "{case}");
        let valid = case["valid"].as_bool().unwrap();
        let check = case.get("mode").is_some_and(|m| m == "check");
        assert_eq!(valid && !check, case.get("read").is_some(), "{case}");
        assert_eq!(!valid, case["path"].as_str().is_some(), "{case}");
    }
}

#[test]
fn keys_schema_ts_runs_the_vectors() {
    if skipped() {
        return;
    }
    node_workspace();
    let vectors = common::schema_vectors();
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("schema.ts"),
        schema_ts(&common::vector_types(&vectors)),
    )
    .unwrap();
    fs::write(dir.path().join("run.mjs"), DRIVER).unwrap();
    fs::write(
        dir.path().join("package.json"),
        "{ \"type\": \"module\" }\n",
    )
    .unwrap();
    run(
        "tsc schema.ts",
        tool("tsc", dir.path()).args([
            "--strict",
            "--noUncheckedIndexedAccess",
            "--exactOptionalPropertyTypes",
            "--target",
            "es2022",
            "--module",
            "es2022",
            "--outDir",
            "out",
            "schema.ts",
        ]),
    );
    // The oldest TypeScript kvgen supports reads it too.
    run(
        "tsc-5.0 schema.ts",
        tool("tsc-5.0", dir.path()).args([
            "--strict",
            "--noUncheckedIndexedAccess",
            "--exactOptionalPropertyTypes",
            "--target",
            "es2022",
            "--noEmit",
            "schema.ts",
        ]),
    );
    let output = run(
        "node run.mjs",
        Command::new("node")
            .current_dir(dir.path())
            .arg("run.mjs")
            .arg(repo().join("tests/fixtures/keys/schema-vectors.json")),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let failures: Vec<&str> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(
        report["checked"].as_u64().unwrap() as usize,
        vectors["cases"].as_array().unwrap().len()
    );
}
