//! The generated `namespaces.rs` in a throwaway workers-rs crate (`worker`
//! 0.8, built offline from the fixture's lock file) beside `schema.rs` and
//! `limits.rs`, for a design with a `cache` and a `data` namespace that uses
//! every value kind, a param inside a pattern, two params, params and keys
//! named like Rust keywords and a pattern without params: rustfmt leaves it
//! as it is, it builds and passes clippy `-D warnings` on the host and (when
//! installed) on wasm32-unknown-unknown, a caller of every method compiles,
//! and its own unit tests pass under `cargo test`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::node::{announce, repo, run, skipped};
use kvgen::keys::rust_namespaces::namespaces_rs;
use kvgen::keys::rust_schema::schema_rs;

const DESIGN: &str = r#"
[namespaces.CACHE]
purpose = "cache"
default_ttl = 3600

[namespaces.CACHE.keys.post]
pattern = "post:{id}"
value = "Post"
ttl = 600
cache_ttl = 60
about = "Rendered posts, by post id"

[namespaces.CACHE.keys.page]
pattern = "page:{path}"
value = "string"

[namespaces.CACHE.keys.blob]
pattern = "blob:{tenant}:{hash}"
value = "bytes"
cache_ttl = 300

[namespaces.USER_DATA]
purpose = "data"

[namespaces.USER_DATA.keys.profile]
pattern = "user:{id}:profile"
value = "Profile"
ttl = "none"

[namespaces.USER_DATA.keys.settings]
pattern = "settings:{type}"
value = "json"
ttl = 86400

[namespaces.USER_DATA.keys.match]
pattern = "match:{self}-{fn}"
value = "Profile"

[namespaces.USER_DATA.keys.singleton]
pattern = "config"
value = "string"

[namespaces.USER_DATA.keys.aVeryLongKeyNameThatMakesLongStructNames]
pattern = "archive:{organizationIdentifier}:{projectIdentifierWithALongName}:{revision}:v"
value = "AnExtremelyLongTypeNameThatPushesTheSpecLinePastTheLineWidth"
about = "Names long enough to make rustfmt break lines"

[namespaces.USER_DATA.keys.dup]
pattern = "dup:{userId}-{userName}"
value = "bytes"

[types.AnExtremelyLongTypeNameThatPushesTheSpecLinePastTheLineWidth]
n = "integer"

[types.Author]
name = "string"

[types.Post]
id = "string"
title = "string"
views = "number?"
score = "number"
status = "'draft' | 'published'"
author = "Author"

[types.Profile]
name = "string"
age = "integer?"
"#;

/// Calls every method of the generated API, so its signatures are checked
/// by the compiler (it is not run: it needs a Workers runtime).
const LIB: &str = r#"pub mod kv;

use kv::namespaces::{cache_keys, user_data_keys, GetOptions, KeyError, ListOptions, PutOptions, Ttl};
use kv::schema::{Author, Post, PostStatus, Profile};

pub async fn every_call(kv: worker::kv::KvStore) -> Result<(), KeyError> {
    let cache = cache_keys(kv.clone());
    assert_eq!(kv::namespaces::CachePostKey::PATTERN, "post:{id}");
    let post = Post {
        id: "1".into(),
        title: "t".into(),
        views: None,
        score: 1.5,
        status: PostStatus::Draft,
        author: Author { name: "a".into() },
    };
    let key: String = cache.post.key("1")?;
    cache.post.put(&key, &post, PutOptions::default()).await?;
    let _: Option<Post> = cache.post.get("1").await?;
    let _: Option<Post> = cache.post.get_with_options("1", GetOptions { cache_ttl: Some(120) }).await?;
    let (_, _): (Option<Post>, Option<serde_json::Value>) =
        cache.post.get_with_metadata("1", GetOptions::default()).await?;
    cache.post.delete("1").await?;
    for listed in cache.post.list(ListOptions { limit: Some(100) }).await? {
        let _: (String, String, Option<u64>) = (listed.key, listed.params.id, listed.expiration);
    }
    cache.page.put("/", "<p>hi</p>", PutOptions { ttl: Some(Ttl::Never), metadata: None }).await?;
    let _: Option<String> = cache.page.get("/").await?;
    cache.blob.put("t", "h", &[1, 2, 3], PutOptions::default()).await?;
    let _: Option<Vec<u8>> = cache.blob.get("t", "h").await?;
    let blobs = cache.blob.list(ListOptions::default()).await?;
    let _: Vec<(String, String)> = blobs.into_iter().map(|b| (b.params.tenant, b.params.hash)).collect();

    let data = user_data_keys(kv);
    let profile = Profile { name: "n".into(), age: Some(3) };
    data.profile.put("42", &profile, PutOptions { ttl: None, metadata: Some(serde_json::json!({ "v": 1 })) }).await?;
    let _: Option<Profile> = data.profile.get("42").await?;
    data.settings.put("dark", &serde_json::json!({ "on": true }), PutOptions::default()).await?;
    let _: Option<serde_json::Value> = data.settings.get("dark").await?;
    let _: String = data.settings.list(ListOptions::default()).await?.remove(0).params.r#type;
    data.r#match.put("a", "b", &profile, PutOptions::default()).await?;
    let listed = data.r#match.list(ListOptions::default()).await?;
    let _: Vec<(String, String)> = listed.into_iter().map(|m| (m.params.self_param, m.params.r#fn)).collect();
    data.singleton.put("text", PutOptions::default()).await?;
    let _: String = data.singleton.key()?;
    let _: Option<String> = data.singleton.get().await?;
    Ok(())
}

/// KeyError converts into worker::Error for handlers returning worker::Result.
pub async fn handler(kv: worker::kv::KvStore) -> worker::Result<Option<String>> {
    Ok(cache_keys(kv).page.get("/").await?)
}
"#;

/// Named values checked on write (NaN refused, where JSON would make it null) and on read,
/// and invalid data: a miss in a cache namespace, an error naming the key and path elsewhere.
const CHECKS: &str = r##"
#[cfg(test)]
mod checks {
    use super::super::schema::{Author, Post, PostStatus, Profile};
    use super::*;

    fn post() -> Post {
        Post {
            id: "1".into(),
            title: "t".into(),
            views: Some(2.0),
            score: 1.5,
            status: PostStatus::Published,
            author: Author { name: "a".into() },
        }
    }

    fn text(stored: Stored<'_>) -> String {
        match stored {
            Stored::Text(text) => text,
            Stored::Bytes(_) => panic!("bytes"),
        }
    }

    #[test]
    fn named_values_are_checked_on_write() {
        let written = text(Named::<Post>::encode(&post(), "post:1").unwrap());
        let read = Named::<Post>::decode(Raw::Text(written), "post:1").unwrap();
        assert_eq!(read, post());
        for (value, path) in [
            (Post { score: f64::NAN, ..post() }, "$.score"),
            (Post { views: Some(f64::INFINITY), ..post() }, "$.views"),
        ] {
            let error = Named::<Post>::encode(&value, "post:1").err().expect("refused");
            assert_eq!((error.key.as_deref(), error.path.as_str()), (Some("post:1"), path));
        }
        let absent = Post { views: None, ..post() };
        assert!(Named::<Post>::encode(&absent, "post:1").is_ok());
    }

    #[test]
    fn invalid_data_is_a_miss_in_a_cache_namespace_and_an_error_elsewhere() {
        let cache = &CachePostKey::SPEC;
        let data = &UserDataProfileKey::SPEC;
        for raw in ["not json", r#"{"id": 1}"#] {
            assert!(matches!(cache.checked(Some(Raw::Text(raw.into())), "post:1"), Ok(None)));
            match data.checked(Some(Raw::Text(raw.into())), "user:1:profile") {
                Err(KeyError::Schema(error)) => {
                    assert_eq!(error.key.as_deref(), Some("user:1:profile"));
                    assert_eq!(error.path, if raw == "not json" { "$" } else { "$.name" });
                    let message = KeyError::Schema(error).to_string();
                    assert!(message.contains("user:1:profile"), "{message}");
                }
                other => panic!("{raw}: {other:?}"),
            }
        }
        let valid = r#"{"name": "n", "age": 3.0, "extra": 1}"#.to_string();
        let profile = data.checked(Some(Raw::Text(valid)), "user:1:profile").unwrap();
        assert_eq!(profile, Some(Profile { name: "n".into(), age: Some(3) }));
        assert!(matches!(data.checked(None, "user:1:profile"), Ok(None)));
        // Strings and bytes are never invalid; json only when it is not JSON.
        let page = &CachePageKey::SPEC;
        let text = page.checked(Some(Raw::Text("<p>".into())), "page:/").unwrap();
        assert_eq!(text.as_deref(), Some("<p>"));
        let settings = &UserDataSettingsKey::SPEC;
        let error = settings.checked(Some(Raw::Text("{".into())), "settings:x");
        assert!(matches!(error, Err(KeyError::Schema(e)) if e.path == "$"));
    }
}
"##;

fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("keys-namespaces-rust")
}

fn cargo(project: &Path, args: &[&str]) -> std::process::Output {
    // The target folder of the Rust Worker of tests/e2e.rs: workers-rs and
    // its dependencies are built once for both.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-worker-target");
    common::node::cargo_in(project, &target, args)
}

fn limits_rs() -> String {
    let files = kvgen::templates::render_folder(
        kvgen::project::Lang::Rust,
        "common",
        minijinja::context! { worker_minor => 8 },
        &|_| true,
    )
    .unwrap();
    files
        .into_iter()
        .find(|f| f.name == "limits.rs")
        .expect("common renders limits.rs")
        .content
}

#[test]
fn keys_namespaces_rust_builds_lints_and_tests_in_a_workers_rs_crate() {
    if skipped() {
        return;
    }
    let design = kvgen::design::parse(DESIGN, "kvgen.toml").unwrap();
    let namespaces: Vec<&kvgen::design::Namespace> = design
        .namespaces
        .iter()
        .filter(|ns| !ns.keys.is_empty())
        .collect();
    assert_eq!(namespaces.len(), 2);
    let text = namespaces_rs(&namespaces, &design.types);

    let project = crate_dir().join("crate");
    let kv = project.join("src/kv");
    fs::create_dir_all(&kv).unwrap();
    fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"keys-namespaces\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[dependencies]\nworker = \"0.8\"\nserde = { version = \"1\", features = [\"derive\"] }\nserde_json = \"1\"\n\n[workspace]\n",
    )
    .unwrap();
    fs::copy(
        repo().join("tests/fixtures/projects/rust-worker/Cargo.lock"),
        project.join("Cargo.lock"),
    )
    .unwrap();
    fs::write(project.join("src/lib.rs"), LIB).unwrap();
    fs::write(
        kv.join("mod.rs"),
        "pub mod limits;\npub mod namespaces;\npub mod schema;\n",
    )
    .unwrap();
    fs::write(kv.join("limits.rs"), limits_rs()).unwrap();
    fs::write(kv.join("schema.rs"), schema_rs(&design.types)).unwrap();
    fs::write(kv.join("namespaces.rs"), &text).unwrap();

    run(
        "rustfmt --check namespaces.rs",
        Command::new("rustfmt")
            .args(["--check", "--edition", "2021"])
            .arg(kv.join("namespaces.rs")),
    );
    // The codecs and the handling of invalid data are private: a test module appended to
    // namespaces.rs (after the rustfmt check) reaches them.
    fs::write(kv.join("namespaces.rs"), format!("{text}{CHECKS}")).unwrap();
    cargo(&project, &["check", "--offline", "--quiet"]);
    cargo(
        &project,
        &[
            "clippy",
            "--offline",
            "--quiet",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    );
    let output = cargo(&project, &["test", "--offline", "--quiet", "--lib"]);
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(
        report.contains("test result: ok"),
        "the generated tests did not run: {report}"
    );
    for name in [
        "cache_post_key_builds_its_keys_and_reads_them_back",
        "user_data_match_key_builds_its_keys_and_reads_them_back",
        "user_data_singleton_key_builds_its_keys_and_reads_them_back",
        "a_param_ends_at_the_separator_or_the_text_after_it",
    ] {
        assert!(text.contains(&format!("fn {name}()")), "{name}");
    }
    if common::node::wasm32_installed() {
        let wasm = ["--target", "wasm32-unknown-unknown"];
        cargo(
            &project,
            &[&["check", "--offline", "--quiet"][..], &wasm].concat(),
        );
        cargo(
            &project,
            &[
                &["clippy", "--offline", "--quiet"][..],
                &wasm,
                &["--", "-D", "warnings"],
            ]
            .concat(),
        );
    } else {
        announce(
            "keys_namespaces_rust: wasm32-unknown-unknown is not installed: the wasm32 check was skipped",
        );
    }
}
