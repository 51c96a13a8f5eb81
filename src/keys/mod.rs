//! Typed key patterns: the `[namespaces.X.keys.NAME]` and `[types.NAME]`
//! tables of `kvgen.toml`, as a model the generators of `schema` and
//! `namespaces` modules (TypeScript and Rust) will read: key patterns read
//! and checked against the design file's rules (whether two patterns can
//! produce one key is decided exactly), the type language read, with its
//! cycles found, and the `schema` modules of both languages generated from
//! it ([`ts_schema`], [`rust_schema`]), which accept and refuse the same
//! JSON (tests/fixtures/keys/schema-vectors.json). `design::parse` reads
//! the tables into this model.

pub mod pattern;
pub mod rust_namespaces;
pub mod rust_schema;
pub mod ts_namespaces;
pub mod ts_schema;
pub mod types;

pub use pattern::{KeyPattern, Piece};
pub use types::{Field, TypeDef, TypeExpr};

/// Characters that would hide or reorder the text around them where it
/// lands in generated code and messages: bidirectional controls (rustc
/// refuses them in comments) and invisible format characters. Refused in
/// key patterns, union literals and `about`, like control characters.
pub fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

/// What a key pattern's values are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// Text as it is.
    String,
    /// Any JSON value, not validated.
    Json,
    /// Raw bytes (ArrayBuffer in TypeScript, `Vec<u8>` in Rust).
    Bytes,
    /// A named type of `[types]`: JSON, validated on read and on write.
    Named(String),
}

impl ValueKind {
    pub fn parse(text: &str) -> ValueKind {
        match text {
            "string" => ValueKind::String,
            "json" => ValueKind::Json,
            "bytes" => ValueKind::Bytes,
            other => ValueKind::Named(other.to_string()),
        }
    }

    pub fn word(&self) -> &str {
        match self {
            ValueKind::String => "string",
            ValueKind::Json => "json",
            ValueKind::Bytes => "bytes",
            ValueKind::Named(name) => name,
        }
    }
}
