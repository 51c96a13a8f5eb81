//! The type language of `[types]`: `string`, `number`, `integer`,
//! `boolean`, `json`, a named type, `T[]`, `T?` on a field, and unions of
//! string literals (`'draft' | 'published'`).

use super::pattern::is_identifier;

/// A type expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    String,
    /// Any JSON number.
    Number,
    /// A JSON number with no fraction (`1.0` is one, `1.5` is not).
    Integer,
    Boolean,
    /// Any JSON value, not validated.
    Json,
    /// A type of `[types]`.
    Named(String),
    Array(Box<TypeExpr>),
    /// One of these strings.
    Literals(Vec<String>),
}

/// A field of a named type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// An identifier, as the JSON names it.
    pub name: String,
    pub ty: TypeExpr,
    /// `T?`: may be missing (or `null`, read as missing).
    pub optional: bool,
}

/// A named type (`[types.NAME]`): its fields in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDef {
    pub name: String,
    pub fields: Vec<Field>,
}

impl TypeDef {
    /// A type from its name and its fields as `kvgen.toml` writes them
    /// (`("tags", "string[]")`, `("views", "integer?")`), each field's name
    /// and type checked.
    pub fn parse(name: &str, fields: &[(&str, &str)]) -> Result<TypeDef, String> {
        let fields = fields
            .iter()
            .map(|(field, text)| {
                check_field_name(field)?;
                let (ty, optional) =
                    parse_field(text).map_err(|e| format!("{name}.{field}: {e}"))?;
                Ok(Field {
                    name: field.to_string(),
                    ty,
                    optional,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(TypeDef {
            name: name.to_string(),
            fields,
        })
    }
}

/// Names a type cannot have: the type language's own words and names the
/// generated TypeScript or Rust uses or that their standard libraries hold.
const RESERVED: &[&str] = &[
    "string",
    "number",
    "integer",
    "boolean",
    "json",
    "bytes",
    "Array",
    "Object",
    "String",
    "Number",
    "Boolean",
    "Error",
    "TypeError",
    "Promise",
    "Record",
    "Map",
    "Set",
    "Date",
    "JSON",
    "Math",
    "Symbol",
    "BigInt",
    "Function",
    "ArrayBuffer",
    "KVNamespace",
    "SchemaError",
    "TypedKey",
    "At",
    "Reader",
    "Obj",
    "Known",
    "Option",
    "Result",
    "Vec",
    "Value",
    "Self",
    "Some",
    "None",
    "Ok",
    "Err",
    "Box",
    "KvStore",
    "Kv",
    "Deserialize",
    "Serialize",
    "Debug",
    "Clone",
    "PartialEq",
    "Default",
];

/// Checks a type's name: an identifier starting with an uppercase letter,
/// not one the generated code or the languages use.
pub fn check_type_name(name: &str) -> Result<(), String> {
    if !is_identifier(name) || !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(format!(
            "type {name:?}: a type's name is an identifier starting with an uppercase letter, e.g. Post"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "type {name:?}: the name is taken by the type language or the generated code; choose another"
        ));
    }
    Ok(())
}

/// Checks a field's name: an identifier.
pub fn check_field_name(name: &str) -> Result<(), String> {
    if !is_identifier(name) {
        return Err(format!(
            "field {name:?}: a field's name is an identifier (letters, digits and _, not starting with a digit)"
        ));
    }
    if name == "__proto__" || name == "constructor" || name == "prototype" {
        return Err(format!(
            "field {name:?}: JavaScript objects treat this name specially; choose another"
        ));
    }
    // Every JavaScript object has these (from Object.prototype), so a
    // TypeScript interface with such a field of another type cannot be met.
    if crate::names::OBJECT_PROTOTYPE.contains(&name) {
        return Err(format!(
            "field {name:?}: every JavaScript object has a {name} method, so TypeScript cannot type this field; choose another"
        ));
    }
    Ok(())
}

/// Reads a field's type: an expression, optionally ending in `?`.
pub fn parse_field(text: &str) -> Result<(TypeExpr, bool), String> {
    let text = text.trim();
    match text.strip_suffix('?') {
        Some(inner) => Ok((parse(inner)?, true)),
        None => Ok((parse(text)?, false)),
    }
}

/// The most `[]` a type expression holds.
pub const MAX_ARRAY_DEPTH: usize = 8;

/// The most levels of JSON a value of a type may nest (objects and
/// arrays): well within serde_json's recursion limit of 128, so both
/// languages read every value the design allows.
pub const MAX_NESTING: usize = 32;

/// The most types a design holds.
pub const MAX_TYPES: usize = 256;

/// The levels of JSON a value of each type nests, in the order of `types`
/// (no cycles among them; unknown names count as one level).
pub fn nesting(types: &[TypeDef]) -> Vec<usize> {
    fn expr(ty: &TypeExpr, types: &[TypeDef], memo: &mut Vec<Option<usize>>) -> usize {
        match ty {
            TypeExpr::Array(inner) => 1 + expr(inner, types, memo),
            TypeExpr::Named(name) => match types.iter().position(|t| t.name == *name) {
                Some(at) => of(at, types, memo),
                None => 1,
            },
            _ => 0,
        }
    }
    fn of(at: usize, types: &[TypeDef], memo: &mut Vec<Option<usize>>) -> usize {
        if let Some(depth) = memo[at] {
            return depth;
        }
        let depth = 1 + types[at]
            .fields
            .iter()
            .map(|f| expr(&f.ty, types, memo))
            .max()
            .unwrap_or(0);
        memo[at] = Some(depth);
        depth
    }
    let mut memo = vec![None; types.len()];
    (0..types.len())
        .map(|at| of(at, types, &mut memo))
        .collect()
}

/// Reads a type expression (no `?`).
pub fn parse(text: &str) -> Result<TypeExpr, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty type".to_string());
    }
    if text.starts_with(['\'', '"']) || text.contains('|') {
        let mut literals = Vec::new();
        for part in text.split('|') {
            let part = part.trim();
            let quote = part.chars().next().filter(|c| *c == '\'' || *c == '"');
            let inner = quote
                .and_then(|q| part.strip_prefix(q)?.strip_suffix(q))
                .filter(|inner| {
                    !inner.contains(['\'', '"', '\\']) && !inner.chars().any(super::is_hidden)
                });
            let Some(inner) = inner else {
                return Err(format!(
                    "{part:?} in {text:?}: a union lists quoted strings, e.g. 'draft' | 'published' (no quotes, backslashes, control or invisible characters inside)"
                ));
            };
            if literals.iter().any(|l| l == inner) {
                return Err(format!("{part} appears twice in {text:?}"));
            }
            literals.push(inner.to_string());
        }
        return Ok(TypeExpr::Literals(literals));
    }
    let mut text = text;
    let mut depth = 0;
    while let Some(inner) = text.strip_suffix("[]") {
        text = inner.trim_end();
        depth += 1;
        if depth > MAX_ARRAY_DEPTH {
            return Err(format!(
                "arrays of arrays more than {MAX_ARRAY_DEPTH} deep; flatten the type"
            ));
        }
    }
    if depth > 0 {
        let mut ty = parse(text)?;
        for _ in 0..depth {
            ty = TypeExpr::Array(Box::new(ty));
        }
        return Ok(ty);
    }
    Ok(match text {
        "string" => TypeExpr::String,
        "number" => TypeExpr::Number,
        "integer" => TypeExpr::Integer,
        "boolean" => TypeExpr::Boolean,
        "json" => TypeExpr::Json,
        "bytes" => {
            return Err(
                "bytes is a kind of value, not a field type; use string (e.g. base64)".to_string(),
            );
        }
        name if is_identifier(name) => TypeExpr::Named(name.to_string()),
        other => {
            return Err(format!(
                "{other:?}: expected string, number, integer, boolean, json, a type of [types], T[] or a union of quoted strings"
            ));
        }
    })
}

impl TypeExpr {
    /// The named types this expression refers to.
    pub fn names(&self) -> Vec<&str> {
        match self {
            TypeExpr::Named(name) => vec![name],
            TypeExpr::Array(inner) => inner.names(),
            _ => Vec::new(),
        }
    }
}

/// The first cycle among `types` (`A -> B -> A`), when there is one.
pub fn cycle(types: &[TypeDef]) -> Option<Vec<String>> {
    fn visit<'a>(
        name: &'a str,
        types: &'a [TypeDef],
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| *n == name) {
            let mut cycle: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            cycle.push(name.to_string());
            return Some(cycle);
        }
        if done.contains(&name) {
            return None;
        }
        let def = types.iter().find(|t| t.name == name)?;
        path.push(name);
        for field in &def.fields {
            for next in field.ty.names() {
                if let Some(cycle) = visit(next, types, path, done) {
                    return Some(cycle);
                }
            }
        }
        path.pop();
        done.push(name);
        None
    }
    let mut done = Vec::new();
    for def in types {
        if let Some(cycle) = visit(&def.name, types, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_type_language_reads() {
        assert_eq!(
            parse("string[]").unwrap(),
            TypeExpr::Array(Box::new(TypeExpr::String))
        );
        assert_eq!(parse_field("integer?").unwrap(), (TypeExpr::Integer, true));
        assert_eq!(
            parse("'draft' | \"published\"").unwrap(),
            TypeExpr::Literals(vec!["draft".into(), "published".into()])
        );
        assert_eq!(
            parse_field("Author[][]?").unwrap(),
            (
                TypeExpr::Array(Box::new(TypeExpr::Array(Box::new(TypeExpr::Named(
                    "Author".into()
                ))))),
                true
            )
        );
        for bad in [
            "",
            "strin g",
            "'a' | b",
            "'a' | 'a'",
            "bytes",
            "'it''s'",
            "string??",
        ] {
            assert!(parse_field(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn field_names_javascript_objects_hold_are_refused() {
        for bad in [
            "__proto__",
            "constructor",
            "toString",
            "valueOf",
            "hasOwnProperty",
        ] {
            assert!(check_field_name(bad).is_err(), "{bad:?}");
        }
        for good in ["key", "path", "value", "length", "to_string", "type"] {
            assert!(check_field_name(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn cycles_are_found() {
        let def = |name: &str, refs: &[&str]| TypeDef {
            name: name.into(),
            fields: refs
                .iter()
                .map(|r| Field {
                    name: r.to_lowercase(),
                    ty: TypeExpr::Array(Box::new(TypeExpr::Named(r.to_string()))),
                    optional: true,
                })
                .collect(),
        };
        assert_eq!(cycle(&[def("A", &["B"]), def("B", &[])]), None);
        assert_eq!(
            cycle(&[def("A", &["B"]), def("B", &["A"])]),
            Some(vec!["A".into(), "B".into(), "A".into()])
        );
        assert_eq!(
            cycle(&[def("Node", &["Node"])]),
            Some(vec!["Node".into(), "Node".into()])
        );
    }
}
