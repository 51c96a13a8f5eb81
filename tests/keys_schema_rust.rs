//! The generated `schema.rs` against the shared vectors of
//! `tests/fixtures/keys/schema-vectors.json`: a throwaway crate (serde,
//! serde_json) holding it is built offline, checked with clippy
//! `-D warnings` and rustfmt, and runs every case of mode "parse" through
//! `Type::parse`: accepted or refused as the vectors say, what a read
//! serializes to, and the `SchemaError.path` of a refusal. (Mode "check"
//! cases are the TypeScript write check; a Rust struct cannot hold fields
//! its type does not name.)

mod common;

use std::fmt::Write;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::node::{repo, run};
use kvgen::keys::rust_schema::schema_rs;
use kvgen::keys::types::{Field, TypeDef, parse_field};

const MAIN: &str = r#"mod edge;
mod schema;

use serde_json::Value;

const KEY: &str = "post:1";

/// Equal JSON, numbers compared by value (an f64 field serializes 1 as 1.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("the vectors' path");
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures: Vec<String> = Vec::new();
    let mut checked = 0;
    for (index, case) in vectors["cases"].as_array().unwrap().iter().enumerate() {
        if case.get("mode").is_some_and(|m| m != "parse") {
            continue;
        }
        let ty = case["type"].as_str().unwrap();
        let where_ = format!("case {index} (parse{ty} {})", case["value"]);
        checked += 1;
        let result = parse(ty, &case["value"]);
        if let (false, Some(message)) = (case["valid"].as_bool().unwrap(), refused_by_serde(ty, &case["value"])) {
            let path = case["path"].as_str().unwrap();
            if !message.starts_with(&format!("{path}: ")) {
                failures.push(format!("{where_}: serde refuses it with {message:?}, not at {path}"));
            }
        } else if !case["valid"].as_bool().unwrap() {
            failures.push(format!("{where_}: serde accepts it"));
        }
        match (case["valid"].as_bool().unwrap(), result) {
            (true, Ok((read, again))) => {
                if !same(&read, &case["read"]) {
                    failures.push(format!("{where_}: read {read}, expected {}", case["read"]));
                }
                if !again {
                    failures.push(format!("{where_}: what was read does not read back the same"));
                }
            }
            (true, Err(e)) => failures.push(format!("{where_}: refused: {e}")),
            (false, Ok((read, _))) => failures.push(format!(
                "{where_}: accepted as {read}, expected a SchemaError at {}",
                case["path"]
            )),
            (false, Err(e)) => {
                if e.path != case["path"].as_str().unwrap() {
                    failures.push(format!("{where_}: path {}, expected {} ({e})", e.path, case["path"]));
                }
                let text = e.to_string();
                if e.key.as_deref() != Some(KEY) || !text.contains(KEY) || !text.contains(&e.path) {
                    failures.push(format!("{where_}: the error does not name the key and path: {text}"));
                }
            }
        }
    }
    match schema::Basic::from_json("{\"s\": ", None) {
        Err(e) if e.path == "$" && e.key.is_none() && e.to_string().starts_with("$: ") => {}
        other => failures.push(format!("JSON syntax error: {other:?}")),
    }
    match schema::Basic::parse(&Value::Null, None) {
        Err(e) if e.to_string() == "$: expected an object" => {}
        other => failures.push(format!("an error without a key: {other:?}")),
    }
    failures.extend(edge_cases());
    println!("{}", serde_json::json!({ "checked": checked, "failures": failures }));
}

/// The names of edge.rs (keywords, collisions, long names) read and write.
fn edge_cases() -> Vec<String> {
    let mut failures = Vec::new();
    let long = "aVeryLongFieldNameThatGoesOnAndOnAndOnForAWhileSoThatItsLineOverflows";
    let mut value = serde_json::json!({
        "type": "on hold", "self": null, "fooBar": 1e3, "foo_bar": 2, "_": true,
        "match": "A", "long": "b", "n": [[1.0], []], "extra": 1
    });
    value[long] = Value::from("x");
    match edge::Edge::parse(&value, None) {
        Ok(read) => {
            if read.r#type != edge::EdgeTypeLiteral::OnHold || read.foo_bar != 1000 || read.r#match != edge::EdgeMatch::V1 {
                failures.push(format!("edge: read {read:?}"));
            }
            let mut expected = serde_json::json!({
                "type": "on hold", "fooBar": 1000, "foo_bar": 2.0, "_": true,
                "match": "A", "long": "b", "n": [[1], []]
            });
            expected[long] = Value::from("x");
            let json = serde_json::to_value(&read).unwrap();
            if json != expected {
                failures.push(format!("edge: wrote {json}, expected {expected}"));
            }
        }
        Err(e) => failures.push(format!("edge: refused: {e}")),
    }
    for (field, bad, path) in [
        ("fooBar", serde_json::json!(1e19), "$.fooBar"),
        ("fooBar", serde_json::json!(u64::MAX), "$.fooBar"),
        ("n", serde_json::json!([[1], [2, 0.5]]), "$.n[1][1]"),
        ("match", serde_json::json!("a "), "$.match"),
    ] {
        let mut value = value.clone();
        value[field] = bad;
        match edge::Edge::parse(&value, None) {
            Err(e) if e.path == path => {}
            other => failures.push(format!("edge: {field}: {other:?}, expected a refusal at {path}")),
        }
    }
    if edge::EdgeType::parse(&serde_json::json!({}), None).is_err() || edge::Empty::from_json("[]", None).is_ok() {
        failures.push("edge: empty types".to_string());
    }
    failures
}
"#;

/// Types whose names test the generator's naming (not valid in kvgen.toml
/// in every case, but the model holds them).
fn edge_types() -> Vec<TypeDef> {
    let field = |name: &str, text: &str| {
        let (ty, optional) = parse_field(text).unwrap();
        Field {
            name: name.to_string(),
            ty,
            optional,
        }
    };
    vec![
        TypeDef {
            name: "Edge".into(),
            fields: vec![
                field("type", "'in-progress' | 'on hold' | 'x'"),
                field("self", "string?"),
                field("fooBar", "integer"),
                field("foo_bar", "number?"),
                field(
                    "aVeryLongFieldNameThatGoesOnAndOnAndOnForAWhileSoThatItsLineOverflows",
                    "string",
                ),
                field("_", "boolean?"),
                field("match", "'a' | 'A'"),
                field(
                    "long",
                    "'this literal is long enough to push its match arm past the line width of rustfmt' | 'b'",
                ),
                field("n", "integer[][]?"),
            ],
        },
        TypeDef {
            name: "EdgeType".into(),
            fields: Vec::new(),
        },
        TypeDef {
            name: "Empty".into(),
            fields: Vec::new(),
        },
    ]
}

/// `parse(ty, value)`: the read value serialized, and whether reading that
/// gives the same struct again.
fn dispatch(types: &[TypeDef]) -> String {
    let mut out = String::from(
        "\nfn parse(ty: &str, value: &Value) -> Result<(Value, bool), schema::SchemaError> {\n    match ty {\n",
    );
    for def in types {
        let name = &def.name;
        let _ = writeln!(
            out,
            "        {name:?} => {{\n            let read = schema::{name}::parse(value, Some(KEY))?;\n            let json = serde_json::to_value(&read).unwrap();\n            let again = schema::{name}::parse(&json, None).as_ref() == Ok(&read);\n            let serde: Result<schema::{name}, _> = serde_json::from_value(value.clone());\n            let again = again && serde.ok().as_ref() == Some(&read);\n            Ok((json, again))\n        }}"
        );
    }
    out.push_str("        other => panic!(\"no type {other}\"),\n    }\n}\n");
    out.push_str(
        "\n/// The message of serde_json::from_value's refusal, if it refuses.\nfn refused_by_serde(ty: &str, value: &Value) -> Option<String> {\n    match ty {\n",
    );
    for def in types {
        let name = &def.name;
        let _ = writeln!(
            out,
            "        {name:?} => serde_json::from_value::<schema::{name}>(value.clone()).err().map(|e| e.to_string()),"
        );
    }
    out.push_str("        other => panic!(\"no type {other}\"),\n    }\n}\n");
    out
}

/// A crate folder kept between runs (with a shared target folder), so
/// repeated runs are warm.
fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys-schema-rust")
}

fn cargo(project: &Path, args: &[&str]) -> std::process::Output {
    common::node::cargo_in(project, &crate_dir().join("target"), args)
}

#[test]
fn keys_schema_rust_runs_the_vectors() {
    let vectors = common::schema_vectors();
    let types = common::vector_types(&vectors);
    let project = crate_dir().join("crate");
    fs::create_dir_all(project.join("src")).unwrap();
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"keys-schema-vectors\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nserde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\n[workspace]\n",
    )
    .unwrap();
    fs::copy(repo().join("Cargo.lock"), project.join("Cargo.lock")).unwrap();
    let schema = schema_rs(&types);
    fs::write(project.join("src/schema.rs"), &schema).unwrap();
    fs::write(project.join("src/edge.rs"), schema_rs(&edge_types())).unwrap();
    fs::write(
        project.join("src/main.rs"),
        format!("{MAIN}{}", dispatch(&types)),
    )
    .unwrap();

    // rustfmt leaves the generated files as they are.
    for file in ["schema.rs", "edge.rs"] {
        run(
            &format!("rustfmt --check {file}"),
            Command::new("rustfmt")
                .args(["--check", "--edition", "2021"])
                .arg(project.join("src").join(file)),
        );
    }
    cargo(
        &project,
        &["clippy", "--offline", "--quiet", "--", "-D", "warnings"],
    );
    cargo(&project, &["build", "--offline", "--quiet"]);
    let output = run(
        "keys-schema-vectors",
        Command::new(crate_dir().join("target/debug/keys-schema-vectors"))
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
    let parse_cases = vectors["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c.get("mode").is_none_or(|m| m == "parse"))
        .count();
    assert!(parse_cases >= 50);
    assert_eq!(report["checked"].as_u64().unwrap() as usize, parse_cases);
}
