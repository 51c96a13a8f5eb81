//! The Worker's own code, read with real parsers (oxc for TypeScript and
//! JavaScript, syn for Rust) for the KV mistakes `kvgen doctor` reports: a
//! literal expiration TTL under 60 s (KV answers 400), a `list()` whose
//! cursor is never read in its function (it silently stops at 1000 keys),
//! and a counter kept in KV (a get and a put of one key with arithmetic in
//! the function: lost updates and 429s).

use oxc_allocator::Allocator;
use oxc_ast::ast::{
    AssignmentExpression, AssignmentOperator, BinaryExpression, BinaryOperator, CallExpression,
    Expression, Function, IdentifierName, IdentifierReference, ObjectProperty, PropertyKey,
    UpdateExpression,
};
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType};
use oxc_syntax::module_record::ExportExportName;
use oxc_syntax::scope::ScopeFlags;

/// What a finding in user code is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A literal expiration TTL under 60 s: the value written.
    ShortTtl(String),
    /// A `list()` whose `cursor`/`list_complete` its function never reads.
    UnreadCursor,
    /// A get and a put of one key, with arithmetic, in one function: the
    /// key's text.
    Counter(String),
}

/// The deepest nesting of brackets a file may have to be read: deeper
/// files (hostile, or generated) are not parsed, so that the recursive
/// parsers stay within their stack.
pub const MAX_NESTING: usize = 400;

/// The deepest nesting of `(`, `[` and `{` in `text`, counted as plain
/// characters (strings and comments included: a conservative bound).
pub fn nesting(text: &str) -> usize {
    let (mut depth, mut most) = (0usize, 0usize);
    for b in text.bytes() {
        match b {
            b'(' | b'[' | b'{' => {
                depth += 1;
                most = most.max(depth);
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    most
}

/// A finding at a line (1-based) of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFinding {
    pub line: usize,
    pub kind: Kind,
}

/// What one function (or the module's top level) does.
#[derive(Default)]
struct Scope {
    lists: Vec<u32>,
    reads_cursor: bool,
    gets: Vec<String>,
    puts: Vec<(String, u32)>,
    arithmetic: bool,
}

struct TsChecker<'s> {
    source: &'s str,
    scopes: Vec<Scope>,
    found: Vec<(u32, Kind)>,
}

impl TsChecker<'_> {
    fn scope(&mut self) -> &mut Scope {
        self.scopes
            .last_mut()
            .expect("the module scope is always there")
    }

    fn close(&mut self) {
        let scope = self.scopes.pop().expect("opened before");
        if !scope.reads_cursor {
            for at in &scope.lists {
                self.found.push((*at, Kind::UnreadCursor));
            }
        }
        if scope.arithmetic {
            for (key, at) in &scope.puts {
                if scope.gets.contains(key) {
                    self.found.push((*at, Kind::Counter(key.clone())));
                }
            }
        }
        // A cursor read in an inner function counts for the outer one too.
        if scope.reads_cursor
            && let Some(outer) = self.scopes.last_mut()
        {
            outer.reads_cursor = true;
        }
    }

    fn mark_name(&mut self, name: &str) {
        if name == "cursor" || name == "list_complete" {
            self.scope().reads_cursor = true;
        }
    }
}

impl<'a> Visit<'a> for TsChecker<'_> {
    fn visit_function(&mut self, it: &Function<'a>, flags: ScopeFlags) {
        self.scopes.push(Scope::default());
        walk::walk_function(self, it, flags);
        self.close();
    }

    fn visit_arrow_function_expression(&mut self, it: &oxc_ast::ast::ArrowFunctionExpression<'a>) {
        self.scopes.push(Scope::default());
        walk::walk_arrow_function_expression(self, it);
        self.close();
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Expression::StaticMemberExpression(member) = &it.callee {
            let first = it.arguments.first().map(|a| {
                let span = a.span();
                self.source[span.start as usize..span.end as usize].to_string()
            });
            match (member.property.name.as_str(), first) {
                ("list", _) => {
                    let at = it.span.start;
                    self.scope().lists.push(at);
                }
                ("get", Some(key)) => self.scope().gets.push(key),
                ("put", Some(key)) if it.arguments.len() >= 2 => {
                    let at = it.span.start;
                    self.scope().puts.push((key, at));
                }
                _ => {}
            }
        }
        walk::walk_call_expression(self, it);
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let name = match &it.key {
            PropertyKey::StaticIdentifier(id) => Some(id.name.as_str()),
            PropertyKey::StringLiteral(s) => Some(s.value.as_str()),
            _ => None,
        };
        if name == Some("expirationTtl")
            && let Expression::NumericLiteral(n) = &it.value
            && n.value < 60.0
        {
            let span = n.span;
            let text = self.source[span.start as usize..span.end as usize].to_string();
            self.found.push((span.start, Kind::ShortTtl(text)));
        }
        walk::walk_object_property(self, it);
    }

    fn visit_identifier_name(&mut self, it: &IdentifierName<'a>) {
        self.mark_name(it.name.as_str());
    }

    fn visit_identifier_reference(&mut self, it: &IdentifierReference<'a>) {
        self.mark_name(it.name.as_str());
    }

    fn visit_binary_expression(&mut self, it: &BinaryExpression<'a>) {
        if matches!(
            it.operator,
            BinaryOperator::Addition
                | BinaryOperator::Subtraction
                | BinaryOperator::Multiplication
                | BinaryOperator::Division
        ) {
            self.scope().arithmetic = true;
        }
        walk::walk_binary_expression(self, it);
    }

    fn visit_update_expression(&mut self, it: &UpdateExpression<'a>) {
        self.scope().arithmetic = true;
        walk::walk_update_expression(self, it);
    }

    fn visit_assignment_expression(&mut self, it: &AssignmentExpression<'a>) {
        if matches!(
            it.operator,
            AssignmentOperator::Addition | AssignmentOperator::Subtraction
        ) {
            self.scope().arithmetic = true;
        }
        walk::walk_assignment_expression(self, it);
    }
}

/// The findings of a TypeScript or JavaScript file (`path` tells which,
/// by its extension); a file that does not parse has none.
pub fn check_ts(path: &std::path::Path, source: &str) -> Vec<CodeFinding> {
    let Ok(source_type) = SourceType::from_path(path) else {
        return Vec::new();
    };
    if nesting(source) > MAX_NESTING {
        return Vec::new();
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, source_type).parse();
    if parsed.panicked {
        return Vec::new();
    }
    let mut checker = TsChecker {
        source,
        scopes: vec![Scope::default()],
        found: Vec::new(),
    };
    checker.visit_program(&parsed.program);
    checker.close();
    let mut out: Vec<CodeFinding> = checker
        .found
        .into_iter()
        .map(|(at, kind)| CodeFinding {
            line: crate::text::line_col(source, at as usize).0,
            kind,
        })
        .collect();
    out.sort_by_key(|f| f.line);
    out
}

/// The findings of a Rust file: `.expiration_ttl(N)` with a literal N
/// under 60; a file that does not parse has none.
pub fn check_rust(source: &str) -> Vec<CodeFinding> {
    struct Calls(Vec<CodeFinding>);
    impl<'ast> syn::visit::Visit<'ast> for Calls {
        fn visit_expr_method_call(&mut self, it: &'ast syn::ExprMethodCall) {
            if it.method == "expiration_ttl"
                && let Some(syn::Expr::Lit(lit)) = it.args.first()
                && let syn::Lit::Int(n) = &lit.lit
                && n.base10_parse::<u64>().is_ok_and(|n| n < 60)
            {
                self.0.push(CodeFinding {
                    line: n.span().start().line,
                    kind: Kind::ShortTtl(n.to_string()),
                });
            }
            syn::visit::visit_expr_method_call(self, it);
        }
    }
    if nesting(source) > MAX_NESTING {
        return Vec::new();
    }
    let Ok(file) = syn::parse_file(source) else {
        return Vec::new();
    };
    let mut calls = Calls(Vec::new());
    syn::visit::Visit::visit_file(&mut calls, &file);
    calls.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(source: &str) -> Vec<(usize, Kind)> {
        check_ts(std::path::Path::new("a.ts"), source)
            .into_iter()
            .map(|f| (f.line, f.kind))
            .collect()
    }

    #[test]
    fn short_ttls_are_found_in_put_options() {
        assert_eq!(
            ts("await env.KV.put(k, v, {\n  expirationTtl: 30,\n});\n"),
            [(2, Kind::ShortTtl("30".into()))]
        );
        assert_eq!(
            ts("await env.KV.put(k, v, { \"expirationTtl\": 0 });\n"),
            [(1, Kind::ShortTtl("0".into()))]
        );
        assert!(ts("await env.KV.put(k, v, { expirationTtl: 60 });\n").is_empty());
        // Not a literal: not judged.
        assert!(ts("await env.KV.put(k, v, { expirationTtl: ttl });\n").is_empty());
        // In a comment or a string: not code.
        assert!(ts("// { expirationTtl: 5 }\nconst s = \"expirationTtl: 5\";\n").is_empty());
    }

    #[test]
    fn a_list_whose_cursor_is_never_read_is_found() {
        let once = "export async function all(env: Env) {\n  const page = await env.KV.list({ prefix: \"a\" });\n  return page.keys;\n}\n";
        assert_eq!(ts(once), [(2, Kind::UnreadCursor)]);
        let paged = "async function all(kv: KVNamespace) {\n  let cursor: string | undefined;\n  do {\n    const page = await kv.list({ cursor });\n    cursor = page.list_complete ? undefined : page.cursor;\n  } while (cursor);\n}\n";
        assert!(ts(paged).is_empty());
        let destructured = "const f = async (kv) => {\n  const { keys, list_complete } = await kv.list();\n  return list_complete ? keys : [];\n};\n";
        assert!(ts(destructured).is_empty());
        // Each function on its own.
        let two = "async function a(kv) { const p = await kv.list(); return p.cursor; }\nasync function b(kv) { return (await kv.list()).keys; }\n";
        assert_eq!(ts(two), [(2, Kind::UnreadCursor)]);
    }

    #[test]
    fn a_counter_in_kv_is_found() {
        let counter = "async function hit(env) {\n  const n = Number(await env.KV.get(\"hits\")) || 0;\n  await env.KV.put(\"hits\", String(n + 1));\n}\n";
        assert_eq!(ts(counter), [(3, Kind::Counter("\"hits\"".into()))]);
        // Another key, or no arithmetic: not a counter.
        assert!(ts("async function f(kv) { const v = await kv.get(\"a\"); await kv.put(\"b\", v + 1); }\n").is_empty());
        assert!(
            ts("async function f(kv) { const v = await kv.get(k); await kv.put(k, v); }\n")
                .is_empty()
        );
    }

    #[test]
    fn sources_that_do_not_parse_have_no_finding() {
        assert!(ts("function (").is_empty());
        assert!(check_rust("fn (").is_empty());
    }

    #[test]
    fn deeply_nested_sources_are_not_parsed() {
        let deep = |n: usize| format!("const a = {}1{};\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(nesting(&deep(MAX_NESTING)), MAX_NESTING);
        // At the bound it is parsed (a finding inside is found) ...
        let ttl = |n: usize| {
            format!(
                "kv.put(k, v, {}{{ expirationTtl: 5 }}{});\n",
                "[".repeat(n - 2),
                "]".repeat(n - 2)
            )
        };
        assert_eq!(ts(&ttl(MAX_NESTING)).len(), 1);
        // ... past it, not, however deep: no stack overflow.
        assert!(ts(&ttl(MAX_NESTING + 1)).is_empty());
        assert!(ts(&deep(200_000)).is_empty());
        let rust = format!(
            "fn f() {{ let a = {}1{}; }}",
            "(".repeat(200_000),
            ")".repeat(200_000)
        );
        assert!(check_rust(&rust).is_empty());
    }

    #[test]
    fn rust_short_ttls_are_found() {
        let source = "async fn f(kv: KvStore) {\n    kv.put(\"k\", \"v\").unwrap()\n        .expiration_ttl(30)\n        .execute().await.unwrap();\n}\n";
        assert_eq!(
            check_rust(source),
            [CodeFinding {
                line: 3,
                kind: Kind::ShortTtl("30".into())
            }]
        );
        assert!(check_rust("fn f() { x.expiration_ttl(3600); x.expiration_ttl(n); }").is_empty());
    }
}

/// What a Worker's main module says about an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryExport {
    /// It exports the name from the module given already (re-exported,
    /// imported then exported, or through `export * from` it).
    Present,
    /// An ES module without it: a line can be appended.
    Missing,
    /// It exports another thing of that name: what (`its own class
    /// Counter`, `Counter from "./do"`).
    Foreign(String),
    /// Not a module kvgen can append to: it does not parse, has no ES
    /// module syntax (a service worker), or nests too deep to read.
    Unknown,
}

/// A module specifier without its extension, for comparing the way a
/// bundler resolves them (`./kv/counter.js` is `./kv/counter`).
fn without_extension(spec: &str) -> &str {
    [".js", ".mjs", ".ts", ".mts"]
        .iter()
        .find_map(|ext| spec.strip_suffix(ext))
        .unwrap_or(spec)
}

/// Whether the module `source` (at `path`, for its syntax) exports `name`,
/// and from where; `from` is the specifier of the module that defines it.
pub fn entry_export(path: &std::path::Path, source: &str, name: &str, from: &str) -> EntryExport {
    let Ok(source_type) = SourceType::from_path(path) else {
        return EntryExport::Unknown;
    };
    if nesting(source) > MAX_NESTING {
        return EntryExport::Unknown;
    }
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, source_type.with_module(true)).parse();
    let record = &parsed.module_record;
    if parsed.panicked || !parsed.diagnostics.is_empty() || !record.has_module_syntax {
        return EntryExport::Unknown;
    }
    let ours = |request: &str| without_extension(request) == without_extension(from);
    let named = |e: &oxc_syntax::module_record::ExportEntry<'_>| matches!(&e.export_name, ExportExportName::Name(n) if n.name.as_str() == name);
    if let Some(entry) = record.indirect_export_entries.iter().find(|e| named(e)) {
        let request = entry
            .module_request
            .as_ref()
            .map_or("", |m| m.name.as_str());
        return if ours(request) {
            EntryExport::Present
        } else {
            EntryExport::Foreign(format!("{name} from {request:?}"))
        };
    }
    if let Some(entry) = record.local_export_entries.iter().find(|e| named(e)) {
        // `import { Counter } from "./kv/counter"; export { Counter };`
        let local = match &entry.local_name {
            oxc_syntax::module_record::ExportLocalName::Name(n) => Some(n.name.as_str()),
            _ => None,
        };
        let imported = record.import_entries.iter().find(|i| {
            Some(i.local_name.name.as_str()) == local && ours(i.module_request.name.as_str())
        });
        return match imported {
            Some(_) => EntryExport::Present,
            None => EntryExport::Foreign(format!("its own {name}")),
        };
    }
    let star = record.star_export_entries.iter().any(|e| {
        matches!(e.export_name, ExportExportName::Null)
            && e.module_request
                .as_ref()
                .is_some_and(|m| ours(m.name.as_str()))
    });
    if star {
        EntryExport::Present
    } else {
        EntryExport::Missing
    }
}
