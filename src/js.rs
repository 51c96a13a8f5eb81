//! JavaScript from the generated TypeScript, for Workers written in
//! JavaScript: the same modules with their types moved into JSDoc.
//!
//! The TypeScript is parsed with oxc, and every piece of type syntax is
//! either removed or turned into the JSDoc TypeScript reads in a `.js` file
//! (`tsc --checkJs`), in place, so the code, its comments and its layout
//! stay as they are:
//!
//! - functions and methods: `@template`, `@param {T} name` (`[name]` when
//!   optional) and `@returns {T}`, merged into the doc comment they have
//!   (an existing `@param name text` line gains its type);
//! - variables and class fields: `@type {T}` (also for `new Map<K, V>()`),
//!   with `@private`, `@protected` and `@readonly` for the modifiers;
//! - classes: `@template`, `@extends` with type arguments, `@implements`;
//! - `type` and `interface` declarations: `@typedef`, with one `@property`
//!   per member (its doc comment kept) where the type is an object;
//! - type-only imports and exports: `@typedef {import("…").Name} Name`;
//! - `x as T` and `x satisfies T`: `/** @type {T} */ (x)` and
//!   `/** @satisfies {T} */ (x)`.
//!
//! What JSDoc cannot say (type arguments of a call, `x!`, enums, parameter
//! properties…) is an error naming the line, and the result is parsed again
//! as JavaScript: the templates must keep to what converts.

use std::collections::{BTreeMap, HashSet};

use oxc_allocator::Allocator;
use oxc_ast::ast::*;
use oxc_ast_visit::{Visit, walk};
use oxc_parser::Parser;
use oxc_span::{GetSpan, SourceType, Span};
use oxc_syntax::scope::ScopeFlags;

/// The JavaScript module for the TypeScript module `source`.
pub fn from_typescript(source: &str) -> Result<String, String> {
    convert(source, false).map(|js| examples(&js))
}

/// `source` converted; an `example` (code in a doc comment) loses the type
/// arguments of its calls, which only say what a caller expects.
fn convert(source: &str, example: bool) -> Result<String, String> {
    let allocator = Allocator::default();
    let parsed = Parser::new(&allocator, source, SourceType::ts()).parse();
    if let Some(error) = parsed.diagnostics.first() {
        return Err(format!("the TypeScript does not parse: {error}"));
    }
    let mut strip = Strip {
        src: source,
        comments: &parsed.program.comments,
        edits: Vec::new(),
        docs: BTreeMap::new(),
        errors: Vec::new(),
        export_anchor: None,
        fn_anchors: BTreeMap::new(),
        allowed_type_args: HashSet::new(),
        seq: 0,
        quiet: false,
        example,
    };
    strip.visit_program(&parsed.program);
    strip.render_docs();
    if !strip.errors.is_empty() {
        return Err(strip.errors.join("\n"));
    }
    let out = apply(source, strip.edits)?;
    let allocator = Allocator::default();
    let again = Parser::new(&allocator, &out, SourceType::mjs()).parse();
    if let Some(error) = again.diagnostics.first() {
        let at = error.labels.first().map_or(0, |label| label.offset());
        let (line, _) = crate::text::line_col(&out, at as usize);
        return Err(format!(
            "the JavaScript does not parse at line {line}: {error} (TypeScript syntax with no JavaScript form left in)"
        ));
    }
    Ok(out)
}

/// The TypeScript examples of the doc comments (```ts blocks) as
/// JavaScript (```js), where they convert to plain code: one that would
/// need a JSDoc comment of its own (inside the doc comment) stays as it is.
fn examples(js: &str) -> String {
    let mut out = String::with_capacity(js.len());
    let mut lines = js.split_inclusive('\n');
    while let Some(line) = lines.next() {
        // `{indent}*{gap}```ts`
        let fence = line.trim_end();
        let Some((indent, rest)) = fence.split_once('*') else {
            out.push_str(line);
            continue;
        };
        let gap = &rest[..rest.len() - rest.trim_start().len()];
        if !indent.trim().is_empty() || gap.is_empty() || rest.trim_start() != "```ts" {
            out.push_str(line);
            continue;
        }
        let mut block = Vec::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            block.push(inner);
            let text = inner.trim();
            if text.strip_prefix('*').map(str::trim) == Some("```") {
                closed = true;
                break;
            }
        }
        let body = &block[..block.len().saturating_sub(usize::from(closed))];
        let code: String = body
            .iter()
            .map(|l| {
                let l = l.trim_start();
                let l = l.strip_prefix('*').unwrap_or(l);
                let l = l.strip_prefix(gap).unwrap_or(l.trim_start());
                if l.trim().is_empty() { "\n" } else { l }
            })
            .collect();
        // The code sat in a comment, so it holds no `*/`; a conversion that
        // adds one (a JSDoc comment) would end the doc comment.
        let converted = convert(&code, true).ok().filter(|js| !js.contains("*/"));
        match (closed, converted) {
            (true, Some(js)) => {
                out.push_str(&line.replacen("```ts", "```js", 1));
                for l in js.lines() {
                    out.push_str(indent);
                    out.push('*');
                    if !l.is_empty() {
                        out.push_str(gap);
                        out.push_str(l);
                    }
                    out.push('\n');
                }
                out.push_str(block.last().expect("closed"));
            }
            _ => {
                out.push_str(line);
                block.iter().for_each(|l| out.push_str(l));
            }
        }
    }
    out
}

/// A specifier of an import or export.
#[derive(Debug)]
struct Specifier {
    span: Span,
    is_type: bool,
    imported: String,
    local: String,
    kind: SpecifierKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SpecifierKind {
    /// `{ a as b }`
    Braced,
    /// A default or namespace import.
    Other,
}

#[derive(Debug)]
struct Edit {
    start: u32,
    end: u32,
    text: String,
    seq: usize,
}

fn apply(source: &str, mut edits: Vec<Edit>) -> Result<String, String> {
    edits.sort_by_key(|e| (e.start, e.end, e.seq));
    let mut out = String::with_capacity(source.len());
    let mut at = 0usize;
    for edit in &edits {
        let (start, end) = (edit.start as usize, edit.end as usize);
        if start < at {
            let (line, _) = crate::text::line_col(source, start);
            return Err(format!(
                "line {line}: two changes overlap (a type inside a type cast?)"
            ));
        }
        out.push_str(&source[at..start]);
        out.push_str(&edit.text);
        at = end;
    }
    out.push_str(&source[at..]);
    Ok(out)
}

/// A JSDoc tag to write.
#[derive(Debug, Clone)]
enum Tag {
    /// `@template`, `@extends`, `@private`, `@typedef`…: written as is.
    Plain(String),
    Param {
        name: String,
        ty: String,
        optional: bool,
        rest: bool,
    },
    Returns(String),
}

/// The JSDoc for the declaration at one place.
#[derive(Debug, Default)]
struct Doc {
    /// A comment of its own before the declaration; else inline, on the
    /// same line.
    block: bool,
    tags: Vec<Tag>,
    /// The end of a type-only statement the doc replaces.
    replaces: Option<u32>,
}

struct Strip<'s> {
    src: &'s str,
    comments: &'s [oxc_ast::Comment],
    edits: Vec<Edit>,
    docs: BTreeMap<u32, Doc>,
    errors: Vec<String>,
    /// The start of the `export` whose declaration is visited next.
    export_anchor: Option<u32>,
    /// Functions whose JSDoc goes to their declaration: function start →
    /// the declaration's start.
    fn_anchors: BTreeMap<u32, u32>,
    /// Type arguments already turned into a `@type` (`new Map<K, V>()`).
    allowed_type_args: HashSet<u32>,
    seq: usize,
    /// Tags only, no edits (an overload signature, removed whole).
    quiet: bool,
    /// Converting an example in a doc comment.
    example: bool,
}

/// Modifiers JavaScript does not have, and the JSDoc tag of each.
const TS_MODIFIERS: &[(&str, Option<&str>)] = &[
    ("private", Some("@private")),
    ("protected", Some("@protected")),
    ("public", None),
    ("readonly", Some("@readonly")),
    ("override", Some("@override")),
    ("declare", None),
    ("abstract", None),
];

impl<'s> Strip<'s> {
    fn edit(&mut self, start: u32, end: u32, text: impl Into<String>) {
        if self.quiet {
            return;
        }
        self.seq += 1;
        self.edits.push(Edit {
            start,
            end,
            text: text.into(),
            seq: self.seq,
        });
    }

    fn remove(&mut self, span: Span) {
        self.edit(span.start, span.end, "");
    }

    fn error(&mut self, at: u32, what: &str) {
        let (line, _) = crate::text::line_col(self.src, at as usize);
        self.errors.push(format!(
            "line {line}: {what} has no JavaScript form (keep it out of the templates)"
        ));
    }

    fn doc(&mut self, anchor: u32, tags: Vec<Tag>) {
        let block = self.starts_line(anchor);
        let doc = self.docs.entry(anchor).or_default();
        doc.block = block;
        doc.tags.extend(tags);
    }

    /// The text of `at`'s line before it.
    fn line_before(&self, at: u32) -> &'s str {
        let before = &self.src[..at as usize];
        &before[before.rfind('\n').map_or(0, |i| i + 1)..]
    }

    /// Whether only white space comes before `at` on its line.
    fn starts_line(&self, at: u32) -> bool {
        self.line_before(at).trim().is_empty()
    }

    /// The white space that starts the line of `at`.
    fn indent(&self, at: u32) -> &'s str {
        let line = self.line_before(at);
        &line[..line.len() - line.trim_start().len()]
    }

    /// Where the removal of a statement starting at `at` starts: its line's
    /// indentation too when nothing else is before it on the line.
    fn line_start(&self, at: u32) -> u32 {
        if self.starts_line(at) {
            at - self.indent(at).len() as u32
        } else {
            at
        }
    }

    /// The text of a type, on one line and without comments.
    fn ty(&self, span: Span) -> String {
        let mut text = String::new();
        let mut at = span.start;
        // The comments are in source order.
        let first = self.comments.partition_point(|c| c.span.start < span.start);
        for comment in &self.comments[first..] {
            if comment.span.start >= span.end {
                break;
            }
            if comment.span.start >= at && comment.span.end <= span.end {
                text.push_str(&self.src[at as usize..comment.span.start as usize]);
                at = comment.span.end;
            }
        }
        text.push_str(&self.src[at as usize..span.end as usize]);
        let mut one = one_line(&text);
        if let Some(rest) = one.strip_prefix("| ") {
            one = rest.to_string();
        }
        // In a comment, `*/` would end it: only a string type can hold it,
        // where `\/` is the same `/`.
        one.replace("*/", "*\\/")
    }

    fn annotation(&self, annotation: &TSTypeAnnotation) -> String {
        self.ty(annotation.type_annotation.span())
    }

    /// `@template` tags for type parameters, and their removal.
    fn templates(&mut self, params: Option<&TSTypeParameterDeclaration>) -> Vec<Tag> {
        if let Some(params) = params {
            self.remove(params.span);
        }
        self.template_tags(params)
    }

    /// The tags of a function's signature, with its types removed.
    fn signature(
        &mut self,
        type_params: Option<&TSTypeParameterDeclaration>,
        this_param: Option<&TSThisParameter>,
        params: &FormalParameters,
        return_type: Option<&TSTypeAnnotation>,
    ) -> Vec<Tag> {
        let mut tags = self.templates(type_params);
        if let Some(this) = this_param {
            self.error(this.span.start, "a `this` parameter");
        }
        for param in &params.items {
            if param.accessibility.is_some() || param.readonly || param.r#override {
                self.error(param.span.start, "a parameter property");
                continue;
            }
            let BindingPattern::BindingIdentifier(id) = &param.pattern else {
                if param.type_annotation.is_some() {
                    self.error(param.span.start, "a typed destructured parameter");
                }
                continue;
            };
            let optional = param.optional || param.initializer.is_some();
            let end = match &param.type_annotation {
                Some(annotation) => {
                    tags.push(Tag::Param {
                        name: id.name.to_string(),
                        ty: self.annotation(annotation),
                        optional,
                        rest: false,
                    });
                    annotation.span.end
                }
                None if param.optional => id.span.end + 1,
                None => continue,
            };
            self.edit(id.span.end, end, "");
        }
        if let Some(rest) = &params.rest
            && let Some(annotation) = &rest.type_annotation
        {
            let BindingPattern::BindingIdentifier(id) = &rest.rest.argument else {
                self.error(rest.span.start, "a typed destructured rest parameter");
                return tags;
            };
            // `...T` for `T[]`; a tuple type as it is.
            let (ty, rest) = match &annotation.type_annotation {
                TSType::TSArrayType(array) => (self.ty(array.element_type.span()), true),
                other => (self.ty(other.span()), false),
            };
            tags.push(Tag::Param {
                name: id.name.to_string(),
                ty,
                optional: false,
                rest,
            });
            self.remove(annotation.span);
        }
        if let Some(returns) = return_type {
            tags.push(Tag::Returns(self.annotation(returns)));
            self.remove(returns.span);
        }
        tags
    }

    /// Removes the TypeScript modifiers between `start` and `key`, returning
    /// their tags.
    fn modifiers(&mut self, start: u32, key: u32) -> Vec<Tag> {
        let prefix = &self.src[start as usize..key as usize];
        let mut kept = Vec::new();
        let mut tags = Vec::new();
        let mut changed = false;
        for word in prefix.split_whitespace() {
            match TS_MODIFIERS.iter().find(|(ts, _)| *ts == word) {
                Some((ts, tag)) => {
                    changed = true;
                    if matches!(*ts, "declare" | "abstract") {
                        self.error(start, &format!("a `{ts}` class member"));
                    }
                    if let Some(tag) = tag {
                        tags.push(Tag::Plain(tag.to_string()));
                    }
                }
                None => kept.push(word),
            }
        }
        if changed {
            let mut text = kept.join(" ");
            if !text.is_empty() && !text.ends_with('[') && !text.ends_with('*') {
                text.push(' ');
            }
            self.edit(start, key, text);
        }
        tags
    }

    /// The place a declaration's JSDoc goes: the `export` before it, if any.
    fn anchor(&mut self, start: u32) -> u32 {
        self.export_anchor.take().unwrap_or(start)
    }

    /// `@type` for `new C<A>()`, removing the type arguments.
    fn new_type(&mut self, init: Option<&Expression>) -> Option<String> {
        let Some(Expression::NewExpression(new)) = init else {
            return None;
        };
        if self.example {
            return None;
        }
        let args = new.type_arguments.as_ref()?;
        self.allowed_type_args.insert(args.span.start);
        self.remove(args.span);
        Some(format!(
            "{}{}",
            self.ty(new.callee.span()),
            self.ty(args.span)
        ))
    }

    /// A statement that is only types: replaced by its JSDoc.
    fn replace_statement(&mut self, anchor: u32, end: u32, tags: Vec<Tag>) {
        self.doc(anchor, tags);
        self.docs.entry(anchor).or_default().replaces = Some(end);
    }

    fn typedef_import(&self, source: &str, imported: &str, local: &str) -> String {
        format!("/** @typedef {{import({source}).{imported}}} {local} */",)
    }

    /// Type-only specifiers of an import or export: each becomes a
    /// `@typedef` after the statement, which keeps the others.
    fn type_specifiers(
        &mut self,
        statement: Span,
        keyword: &str,
        source: Option<&StringLiteral>,
        all_types: bool,
        specifiers: &[Specifier],
    ) {
        let is_type = |s: &Specifier| all_types || s.is_type;
        if !specifiers.iter().any(is_type) {
            return;
        }
        let indent = self.indent(statement.start).to_string();
        let source = source.map(|s| &self.src[s.span.start as usize..s.span.end as usize]);
        let typedefs: Vec<String> = match source {
            Some(source) => specifiers
                .iter()
                .filter(|s| is_type(s))
                .map(|s| self.typedef_import(source, &s.imported, &s.local))
                .collect(),
            // `export type { T }`: a local typedef is exported already.
            None => Vec::new(),
        };
        let text = &self.src[statement.start as usize..statement.end as usize];
        let values: Vec<&Specifier> = specifiers.iter().filter(|s| !is_type(s)).collect();
        if values.is_empty() {
            // The whole statement goes, and its line with it when empty.
            let mut end = statement.end;
            let mut start = statement.start;
            if typedefs.is_empty() {
                start = self.line_start(start);
                if start < statement.start && self.src[end as usize..].starts_with('\n') {
                    end += 1;
                }
            }
            self.edit(start, end, typedefs.join(&format!("\n{indent}")));
            return;
        }
        // The statement again, with its value specifiers only.
        let (open, close) = if text.contains("{ ") {
            ("{ ", " }")
        } else {
            ("{", "}")
        };
        let mut parts = Vec::new();
        let mut braced = Vec::new();
        for value in values {
            let written = &self.src[value.span.start as usize..value.span.end as usize];
            match value.kind {
                SpecifierKind::Braced => braced.push(written.trim_start_matches("type ").trim()),
                SpecifierKind::Other => parts.push(written.to_string()),
            }
        }
        if !braced.is_empty() {
            parts.push(format!("{open}{}{close}", braced.join(", ")));
        }
        let from = source.map(|s| format!(" from {s}")).unwrap_or_default();
        let semi = if text.ends_with(';') { ";" } else { "" };
        let mut rebuilt = format!("{keyword} {}{from}{semi}", parts.join(", "));
        for typedef in typedefs {
            rebuilt.push_str(&format!("\n{indent}{typedef}"));
        }
        self.edit(statement.start, statement.end, rebuilt);
    }

    /// The members of an object type as `@property` tags, when each can be
    /// one (named properties).
    fn properties(&self, members: &[TSSignature]) -> Option<Vec<Tag>> {
        let mut tags = Vec::new();
        for member in members {
            let (key, optional, ty, start) = match member {
                TSSignature::TSPropertySignature(p) => (
                    &p.key,
                    p.optional,
                    self.annotation(p.type_annotation.as_ref()?),
                    p.span.start,
                ),
                // A method keeps its method syntax (parameters checked
                // bivariantly, as in the interface): the type stays whole.
                _ => return None,
            };
            let PropertyKey::StaticIdentifier(name) = key else {
                return None;
            };
            let name = if optional {
                format!("[{}]", name.name)
            } else {
                name.name.to_string()
            };
            let mut tag = format!("@property {{{ty}}} {name}");
            if let Some(comment) = self.doc_comment_before(start) {
                for line in doc_lines(&self.src[comment.start as usize..comment.end as usize]) {
                    tag.push('\n');
                    if !line.is_empty() {
                        tag.push_str("  ");
                        tag.push_str(&line);
                    }
                }
            }
            tags.push(Tag::Plain(tag));
        }
        Some(tags)
    }

    /// The JSDoc comment just before `at` (only white space between).
    fn doc_comment_before(&self, at: u32) -> Option<Span> {
        let before = self.comments.partition_point(|c| c.span.end <= at);
        let comment = self.comments[..before].last()?;
        let between = &self.src[comment.span.end as usize..at as usize];
        let text = &self.src[comment.span.start as usize..comment.span.end as usize];
        (between.trim().is_empty() && text.starts_with("/**") && !text.starts_with("/**/"))
            .then_some(comment.span)
    }

    /// Writes each declaration's JSDoc, merged into its doc comment.
    fn render_docs(&mut self) {
        let docs = std::mem::take(&mut self.docs);
        for (anchor, doc) in docs {
            let indent = self.indent(anchor).to_string();
            let existing = if doc.block {
                self.doc_comment_before(anchor)
            } else {
                None
            };
            let mut lines = existing
                .map(|span| doc_lines(&self.src[span.start as usize..span.end as usize]))
                .unwrap_or_default();
            for tag in &doc.tags {
                merge(&mut lines, tag);
            }
            let text = if doc.block {
                let one = format!("/** {} */", lines.join(" "));
                let multiline = existing.is_some_and(|span| {
                    self.src[span.start as usize..span.end as usize].contains('\n')
                });
                if lines.len() == 1 && !multiline && indent.len() + one.len() <= 80 {
                    one
                } else {
                    let mut text = String::from("/**");
                    for line in &lines {
                        text.push('\n');
                        text.push_str(&indent);
                        text.push_str(" *");
                        if !line.is_empty() {
                            text.push(' ');
                            text.push_str(line);
                        }
                    }
                    text.push('\n');
                    text.push_str(&indent);
                    text.push_str(" */");
                    text
                }
            } else {
                format!("/** {} */", lines.join(" "))
            };
            match (doc.replaces, existing) {
                (Some(end), Some(comment)) => self.edit(comment.start, end, text),
                (Some(end), None) => self.edit(anchor, end, text),
                (None, Some(comment)) => self.edit(comment.start, comment.end, text),
                (None, None) if doc.block => {
                    self.edit(anchor, anchor, format!("{text}\n{indent}"));
                }
                (None, None) => self.edit(anchor, anchor, format!("{text} ")),
            }
        }
    }

    fn function_like(
        &mut self,
        start: u32,
        type_params: Option<&TSTypeParameterDeclaration>,
        this_param: Option<&TSThisParameter>,
        params: &FormalParameters,
        return_type: Option<&TSTypeAnnotation>,
    ) {
        let tags = self.signature(type_params, this_param, params, return_type);
        if tags.is_empty() {
            return;
        }
        match self.fn_anchors.get(&start).copied() {
            Some(anchor) => self.doc(anchor, tags),
            None => {
                let doc = self.docs.entry(start).or_default();
                doc.tags.extend(tags);
            }
        }
    }
}

/// Adds `tag` to the lines of a doc comment: an existing untyped
/// `@param name …` or `@returns …` line gains the type; a new tag goes
/// where it reads in order (`@template`, `@param`, `@returns`), others last.
fn merge(lines: &mut Vec<String>, tag: &Tag) {
    match tag {
        Tag::Plain(text) if text.starts_with("@template") => {
            let at = after_last(lines, "@template").unwrap_or_else(|| tag_start(lines));
            lines.insert(at, text.clone());
        }
        Tag::Plain(text) => lines.extend(text.lines().map(str::to_string)),
        Tag::Param {
            name,
            ty,
            optional,
            rest,
        } => {
            let ty = if *rest {
                format!("...{ty}")
            } else {
                ty.clone()
            };
            let shown = if *optional {
                format!("[{name}]")
            } else {
                name.clone()
            };
            if let Some(line) = lines.iter_mut().find(|l| names_param(l, name)) {
                let text = line["@param".len()..].trim_start();
                // `[name=default]` as written, else the name (`[name]` when
                // optional).
                let (shown, text) = match text.strip_prefix('[').and(text.find(']')) {
                    Some(close) => (&text[..=close], &text[close + 1..]),
                    None => (
                        shown.as_str(),
                        text.strip_prefix(name.as_str()).unwrap_or(text),
                    ),
                };
                *line = format!("@param {{{ty}}} {shown}{text}");
                return;
            }
            // Before `@param name.field` lines, else after the other
            // parameters.
            let field = format!("{name}.");
            let at = lines
                .iter()
                .position(|l| {
                    l.strip_prefix("@param")
                        .is_some_and(|r| r.trim_start().starts_with(&field))
                })
                .or_else(|| after_last(lines, "@param"))
                .or_else(|| after_last(lines, "@template"))
                .unwrap_or_else(|| tag_start(lines));
            lines.insert(at, format!("@param {{{ty}}} {shown}"));
        }
        Tag::Returns(ty) => {
            let untyped = |l: &String| {
                ["@returns", "@return"].iter().find_map(|tag| {
                    let rest = l.strip_prefix(tag)?;
                    let words = rest.trim_start();
                    (rest.is_empty() || rest.starts_with(' ') && !words.starts_with('{'))
                        .then_some(rest.to_string())
                })
            };
            if let Some((line, rest)) = lines
                .iter_mut()
                .find_map(|l| untyped(l).map(|rest| (l, rest)))
            {
                *line = format!("@returns {{{ty}}}{rest}");
                return;
            }
            let at = after_last(lines, "@param")
                .or_else(|| after_last(lines, "@template"))
                .unwrap_or_else(|| tag_start(lines));
            lines.insert(at, format!("@returns {{{ty}}}"));
        }
    }
}

/// A type's text on one line: each run of white space outside string and
/// template literals made one space.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote = None;
    let mut escaped = false;
    let mut space = false;
    for c in text.trim().chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c.is_whitespace() => space = true,
            None => {
                if space {
                    out.push(' ');
                    space = false;
                }
                if matches!(c, '"' | '\'' | '`') {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// Where the tags of a doc comment start (its end when it has none).
fn tag_start(lines: &[String]) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with('@'))
        .unwrap_or(lines.len())
}

/// The line after the last tag line `tag …` (with the lines that continue
/// it), if there is one.
fn after_last(lines: &[String], tag: &str) -> Option<usize> {
    let last = lines.iter().rposition(|l| {
        l.strip_prefix(tag)
            .is_some_and(|r| r.is_empty() || r.starts_with(' '))
    })?;
    Some(
        lines[last + 1..]
            .iter()
            .position(|l| l.starts_with('@'))
            .map_or(lines.len(), |i| last + 1 + i),
    )
}

/// Whether a doc line is `@param NAME …` (without a type).
fn names_param(line: &str, name: &str) -> bool {
    let Some(rest) = line.strip_prefix("@param") else {
        return false;
    };
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    rest.strip_prefix(name)
        .is_some_and(|after| after.is_empty() || after.starts_with([' ', ']', '=', '\t']))
}

/// The lines of a JSDoc comment, without `/**`, `*/` and the leading `*`s;
/// blank lines at either end dropped.
fn doc_lines(comment: &str) -> Vec<String> {
    let inner = comment
        .strip_prefix("/**")
        .and_then(|c| c.strip_suffix("*/"))
        .unwrap_or(comment);
    let mut lines: Vec<String> = inner
        .lines()
        .map(|line| {
            let line = line.trim_start();
            let line = line.strip_prefix('*').unwrap_or(line);
            let line = line.strip_prefix(' ').unwrap_or(line);
            line.trim_end().to_string()
        })
        .collect();
    while lines.first().is_some_and(String::is_empty) {
        lines.remove(0);
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    lines
}

fn export_list(specifiers: &[ExportSpecifier]) -> Vec<Specifier> {
    specifiers
        .iter()
        .map(|s| Specifier {
            span: s.span,
            is_type: s.export_kind.is_type(),
            imported: export_name(&s.local),
            local: export_name(&s.exported),
            kind: SpecifierKind::Braced,
        })
        .collect()
}

fn export_name(name: &ModuleExportName) -> String {
    match name {
        ModuleExportName::IdentifierName(id) => id.name.to_string(),
        ModuleExportName::IdentifierReference(id) => id.name.to_string(),
        ModuleExportName::StringLiteral(s) => s.value.to_string(),
    }
}

impl<'a> Visit<'a> for Strip<'_> {
    fn visit_import_declaration(&mut self, it: &ImportDeclaration<'a>) {
        let Some(specifiers) = &it.specifiers else {
            return;
        };
        let all_types = it.import_kind.is_type();
        let mut list = Vec::new();
        for specifier in specifiers {
            list.push(match specifier {
                ImportDeclarationSpecifier::ImportSpecifier(s) => Specifier {
                    span: s.span,
                    is_type: s.import_kind.is_type(),
                    imported: export_name(&s.imported),
                    local: s.local.name.to_string(),
                    kind: SpecifierKind::Braced,
                },
                ImportDeclarationSpecifier::ImportDefaultSpecifier(s) => Specifier {
                    span: s.span,
                    is_type: all_types,
                    imported: "default".to_string(),
                    local: s.local.name.to_string(),
                    kind: SpecifierKind::Other,
                },
                ImportDeclarationSpecifier::ImportNamespaceSpecifier(s) => {
                    if all_types {
                        self.error(s.span.start, "`import type * as`");
                        return;
                    }
                    Specifier {
                        span: s.span,
                        is_type: false,
                        imported: String::new(),
                        local: s.local.name.to_string(),
                        kind: SpecifierKind::Other,
                    }
                }
            });
        }
        if it.with_clause.is_some() && list.iter().any(|s| s.is_type) && !all_types {
            self.error(
                it.span.start,
                "an import with attributes and type specifiers",
            );
            return;
        }
        self.type_specifiers(it.span, "import", Some(&it.source), all_types, &list);
    }

    fn visit_export_declaration(&mut self, it: &ExportDeclaration<'a>) {
        self.export_anchor = Some(it.span.start);
        self.visit_declaration(&it.declaration);
        self.export_anchor = None;
    }

    fn visit_export_default_declaration(&mut self, it: &ExportDefaultDeclaration<'a>) {
        self.export_anchor = Some(it.span.start);
        walk::walk_export_default_declaration(self, it);
        self.export_anchor = None;
    }

    fn visit_export_named_declaration(&mut self, it: &ExportNamedDeclaration<'a>) {
        let list = export_list(&it.specifiers);
        let all_types = it.export_kind.is_type();
        self.type_specifiers(it.span, "export", None, all_types, &list);
    }

    fn visit_export_from_declaration(&mut self, it: &ExportFromDeclaration<'a>) {
        let list = export_list(&it.specifiers);
        let all_types = it.export_kind.is_type();
        if it.with_clause.is_some() && list.iter().any(|s| s.is_type) && !all_types {
            self.error(
                it.span.start,
                "an export with attributes and type specifiers",
            );
            return;
        }
        self.type_specifiers(it.span, "export", Some(&it.source), all_types, &list);
    }

    fn visit_ts_type_alias_declaration(&mut self, it: &TSTypeAliasDeclaration<'a>) {
        let anchor = self.anchor(it.span.start);
        let end = self.statement_end(it.span.end);
        if it.declare {
            self.error(it.span.start, "`declare type`");
        }
        let members = match &it.type_annotation {
            TSType::TSTypeLiteral(literal) => Some(&literal.members[..]),
            _ => None,
        };
        let whole = self.ty(it.type_annotation.span());
        let tags = self.typedef(&it.id.name, it.type_parameters.as_deref(), members, whole);
        self.replace_statement(anchor, end, tags);
    }

    fn visit_ts_interface_declaration(&mut self, it: &TSInterfaceDeclaration<'a>) {
        let anchor = self.anchor(it.span.start);
        let end = self.statement_end(it.span.end);
        if it.declare {
            self.error(it.span.start, "`declare interface`");
        }
        // `interface A extends B { … }` is the type `B & { … }`.
        let members = it.extends.is_empty().then_some(&it.body.body[..]);
        let mut parts: Vec<String> = it.extends.iter().map(|e| self.ty(e.span)).collect();
        parts.push(self.ty(it.body.span));
        let tags = self.typedef(
            &it.id.name,
            it.type_parameters.as_deref(),
            members,
            parts.join(" & "),
        );
        self.replace_statement(anchor, end, tags);
    }

    fn visit_ts_enum_declaration(&mut self, it: &TSEnumDeclaration<'a>) {
        self.error(it.span.start, "an enum");
    }

    fn visit_ts_namespace_declaration(&mut self, it: &TSNamespaceDeclaration<'a>) {
        self.error(it.span.start, "a namespace");
    }

    fn visit_ts_external_module_declaration(&mut self, it: &TSExternalModuleDeclaration<'a>) {
        self.error(it.span.start, "`declare module`");
    }

    fn visit_ts_global_declaration(&mut self, it: &TSGlobalDeclaration<'a>) {
        self.error(it.span.start, "`declare global`");
    }

    fn visit_class(&mut self, it: &Class<'a>) {
        let anchor = match self.export_anchor.take() {
            Some(anchor) => anchor,
            // A class expression: the declaration it initializes.
            None => self
                .fn_anchors
                .get(&it.span.start)
                .copied()
                .unwrap_or(it.span.start),
        };
        if it.r#abstract || it.declare {
            self.error(it.span.start, "an abstract or declared class");
        }
        let mut tags = self.templates(it.type_parameters.as_deref());
        if let Some(heritage) = &it.heritage
            && let Some(args) = &heritage.type_arguments
        {
            tags.push(Tag::Plain(format!(
                "@extends {{{}{}}}",
                self.ty(heritage.expression.span()),
                self.ty(args.span)
            )));
            self.remove(args.span);
        }
        if let (Some(first), Some(last)) = (it.implements.first(), it.implements.last()) {
            let before = &self.src[..first.span.start as usize];
            let keyword = before
                .rfind("implements")
                .map_or(first.span.start, |i| i as u32);
            let keyword = self.src[..keyword as usize].trim_end().len() as u32;
            for implemented in &it.implements {
                tags.push(Tag::Plain(format!(
                    "@implements {{{}}}",
                    self.ty(implemented.span)
                )));
            }
            self.edit(keyword, last.span.end, "");
        }
        if !tags.is_empty() {
            self.doc(anchor, tags);
        }
        let elements = &it.body.body;
        let mut i = 0;
        while i < elements.len() {
            if let ClassElement::MethodDefinition(signature) = &elements[i]
                && signature.value.body.is_none()
            {
                match elements.get(i + 1) {
                    Some(ClassElement::MethodDefinition(method))
                        if method.value.body.is_some()
                            && self.ty(method.key.span()) == self.ty(signature.key.span()) =>
                    {
                        self.overloaded(signature, method);
                        i += 2;
                    }
                    _ => {
                        self.error(
                            signature.span.start,
                            "an overloaded method (more than one signature)",
                        );
                        i += 1;
                    }
                }
                continue;
            }
            self.visit_class_element(&elements[i]);
            i += 1;
        }
        if let Some(heritage) = &it.heritage {
            self.visit_expression(&heritage.expression);
        }
    }

    fn visit_property_definition(&mut self, it: &PropertyDefinition<'a>) {
        if it.declare {
            self.declared_field(it);
            return;
        }
        let anchor = it.span.start;
        let mut tags = self.modifiers(it.span.start, it.key.span().start);
        let key_end = key_end(self.src, &it.key, it.computed);
        if let Some(annotation) = &it.type_annotation {
            // `v?: T` may be undefined; `v!: T` is assigned elsewhere.
            let mut ty = self.annotation(annotation);
            if it.optional {
                ty = format!("{ty} | undefined");
            }
            tags.push(Tag::Plain(format!("@type {{{ty}}}")));
            self.edit(key_end, annotation.span.end, "");
        } else if it.optional || it.definite {
            self.edit(key_end, key_end + 1, "");
        } else if let Some(ty) = self.new_type(it.value.as_ref()) {
            tags.push(Tag::Plain(format!("@type {{{ty}}}")));
        }
        if !tags.is_empty() {
            self.doc(anchor, tags);
        }
        if let Some(value) = &it.value {
            self.visit_expression(value);
        }
    }

    fn visit_method_definition(&mut self, it: &MethodDefinition<'a>) {
        let tags = self.modifiers(it.span.start, it.key.span().start);
        if it.optional {
            self.error(it.span.start, "an optional method");
        }
        if !tags.is_empty() {
            self.doc(it.span.start, tags);
        }
        self.fn_anchors.insert(it.value.span.start, it.span.start);
        self.visit_function(&it.value, ScopeFlags::empty());
    }

    fn visit_ts_index_signature(&mut self, it: &TSIndexSignature<'a>) {
        self.error(it.span.start, "an index signature in a class");
    }

    fn visit_object_property(&mut self, it: &ObjectProperty<'a>) {
        let is_function = matches!(
            it.value,
            Expression::FunctionExpression(_) | Expression::ArrowFunctionExpression(_)
        );
        if is_function && self.starts_line(it.span.start) {
            self.fn_anchors.insert(it.value.span().start, it.span.start);
        }
        walk::walk_object_property(self, it);
    }

    fn visit_variable_declaration(&mut self, it: &VariableDeclaration<'a>) {
        let anchor = self.anchor(it.span.start);
        if it.declare {
            self.error(it.span.start, "`declare`");
        }
        let typed = it
            .declarations
            .iter()
            .filter(|d| d.type_annotation.is_some())
            .count();
        if it.declarations.len() > 1 && typed > 0 {
            self.error(it.span.start, "several typed variables in one declaration");
        }
        if let [declarator] = it.declarations.as_slice() {
            if declarator.definite {
                self.error(declarator.span.start, "a definite (`!`) variable");
            }
            if let Some(annotation) = &declarator.type_annotation {
                let ty = self.annotation(annotation);
                self.doc(anchor, vec![Tag::Plain(format!("@type {{{ty}}}"))]);
                self.edit(declarator.id.span().end, annotation.span.end, "");
            } else if let Some(ty) = self.new_type(declarator.init.as_ref()) {
                self.doc(anchor, vec![Tag::Plain(format!("@type {{{ty}}}"))]);
            } else if let Some(
                Expression::ArrowFunctionExpression(_)
                | Expression::FunctionExpression(_)
                | Expression::ClassExpression(_),
            ) = &declarator.init
            {
                let start = declarator.init.as_ref().expect("matched").span().start;
                self.fn_anchors.insert(start, anchor);
            }
        }
        walk::walk_variable_declaration(self, it);
    }

    fn visit_catch_parameter(&mut self, it: &CatchParameter<'a>) {
        if let Some(annotation) = &it.type_annotation {
            self.remove(annotation.span);
        }
    }

    fn visit_function(&mut self, it: &Function<'a>, _flags: ScopeFlags) {
        if it.declare || it.body.is_none() {
            self.error(
                it.span.start,
                "a function without a body (an overload or `declare`)",
            );
            return;
        }
        if it.is_declaration() {
            let anchor = self.anchor(it.span.start);
            self.fn_anchors.insert(it.span.start, anchor);
        }
        self.function_like(
            it.span.start,
            it.type_parameters.as_deref(),
            it.this_param.as_deref(),
            &it.params,
            it.return_type.as_deref(),
        );
        self.visit_formal_parameters(&it.params);
        if let Some(body) = &it.body {
            self.visit_function_body(body);
        }
    }

    fn visit_arrow_function_expression(&mut self, it: &ArrowFunctionExpression<'a>) {
        self.function_like(
            it.span.start,
            it.type_parameters.as_deref(),
            None,
            &it.params,
            it.return_type.as_deref(),
        );
        self.visit_formal_parameters(&it.params);
        self.visit_arrow_function_body(&it.body);
    }

    fn visit_formal_parameter(&mut self, it: &FormalParameter<'a>) {
        if let Some(init) = &it.initializer {
            self.visit_expression(init);
        }
    }

    fn visit_parenthesized_expression(&mut self, it: &ParenthesizedExpression<'a>) {
        // `(x as T)`: its parentheses are the cast's.
        let (tag, ty, inner, end) = match &it.expression {
            Expression::TSAsExpression(cast) => (
                "@type",
                &cast.type_annotation,
                &cast.expression,
                cast.span.end,
            ),
            Expression::TSSatisfiesExpression(cast) => (
                "@satisfies",
                &cast.type_annotation,
                &cast.expression,
                cast.span.end,
            ),
            _ => return walk::walk_parenthesized_expression(self, it),
        };
        if matches!(inner, Expression::ParenthesizedExpression(_)) {
            return walk::walk_parenthesized_expression(self, it);
        }
        let ty = self.ty(ty.span());
        self.edit(
            it.span.start,
            it.span.start,
            format!("/** {tag} {{{ty}}} */ "),
        );
        self.edit(inner.span().end, end, "");
        self.visit_expression(inner);
    }

    fn visit_ts_as_expression(&mut self, it: &TSAsExpression<'a>) {
        let ty = self.ty(it.type_annotation.span());
        self.cast("@type", ty, &it.expression, it.span.end);
    }

    fn visit_ts_satisfies_expression(&mut self, it: &TSSatisfiesExpression<'a>) {
        let ty = self.ty(it.type_annotation.span());
        self.cast("@satisfies", ty, &it.expression, it.span.end);
    }

    fn visit_ts_type_assertion(&mut self, it: &TSTypeAssertion<'a>) {
        let ty = self.ty(it.type_annotation.span());
        self.edit(it.span.start, it.expression.span().start, "");
        self.cast("@type", ty, &it.expression, it.span.end);
    }

    fn visit_ts_non_null_expression(&mut self, it: &TSNonNullExpression<'a>) {
        self.error(it.span.start, "a non-null assertion (`x!`)");
    }

    fn visit_ts_instantiation_expression(&mut self, it: &TSInstantiationExpression<'a>) {
        self.error(it.span.start, "an instantiation expression");
    }

    fn visit_call_expression(&mut self, it: &CallExpression<'a>) {
        if let Some(args) = &it.type_arguments {
            self.type_arguments(
                args,
                "type arguments of a call (cast the result with `as` instead)",
            );
        }
        self.visit_expression(&it.callee);
        for argument in &it.arguments {
            self.visit_argument(argument);
        }
    }

    fn visit_tagged_template_expression(&mut self, it: &TaggedTemplateExpression<'a>) {
        if let Some(args) = &it.type_arguments {
            self.type_arguments(args, "type arguments of a tagged template");
        }
        self.visit_expression(&it.tag);
        self.visit_template_literal(&it.quasi);
    }

    fn visit_new_expression(&mut self, it: &NewExpression<'a>) {
        if let Some(args) = &it.type_arguments
            && !self.allowed_type_args.contains(&args.span.start)
        {
            self.type_arguments(
                args,
                "type arguments of `new` outside a declaration (annotate the variable instead)",
            );
        }
        self.visit_expression(&it.callee);
        for argument in &it.arguments {
            self.visit_argument(argument);
        }
    }

    fn visit_ts_type(&mut self, _it: &TSType<'a>) {}

    fn visit_ts_type_annotation(&mut self, _it: &TSTypeAnnotation<'a>) {}
}

impl<'a> Strip<'_> {
    /// Type arguments JSDoc cannot carry: dropped from an example, else
    /// refused as `what`.
    fn type_arguments(&mut self, args: &TSTypeParameterInstantiation<'a>, what: &str) {
        if self.example {
            self.remove(args.span);
        } else {
            self.error(args.span.start, what);
        }
    }

    /// A `declare` field (a property with no initializer of its own): in
    /// JavaScript the constructor's assignment declares it, so the field
    /// goes, with its doc comment and its line.
    fn declared_field(&mut self, it: &PropertyDefinition<'a>) {
        let name = self.ty(it.key.span());
        if !self.src.contains(&format!("this.{name} = ")) {
            self.error(
                it.span.start,
                "a `declare` field no `this.NAME = …` assigns",
            );
            return;
        }
        let start = self
            .doc_comment_before(it.span.start)
            .map_or(it.span.start, |c| c.start);
        let line = self.line_start(start);
        let mut end = it.span.end;
        if line < start && self.src[end as usize..].starts_with('\n') {
            end += 1;
        }
        self.edit(line, end, "");
    }

    /// A method with one signature before it: the method gets the
    /// signature's types (its doc comment, its modifiers), and the signature
    /// goes.
    fn overloaded(&mut self, signature: &MethodDefinition<'a>, method: &MethodDefinition<'a>) {
        self.quiet = true;
        let mut tags = self.modifiers(signature.span.start, signature.key.span().start);
        let function = &signature.value;
        tags.extend(self.signature(
            function.type_parameters.as_deref(),
            function.this_param.as_deref(),
            &function.params,
            function.return_type.as_deref(),
        ));
        self.quiet = false;
        let names = |params: &FormalParameters| -> Vec<String> {
            params
                .items
                .iter()
                .map(|p| self.ty(p.pattern.span()))
                .collect()
        };
        if names(&function.params) != names(&method.value.params) {
            self.error(
                method.span.start,
                "an overload whose parameters are named differently",
            );
        }
        self.edit(signature.span.start, method.span.start, "");
        self.modifiers(method.span.start, method.key.span().start);
        let function = &method.value;
        self.signature(
            function.type_parameters.as_deref(),
            function.this_param.as_deref(),
            &function.params,
            function.return_type.as_deref(),
        );
        self.doc(signature.span.start, tags);
        self.visit_formal_parameters(&function.params);
        if let Some(body) = &function.body {
            self.visit_function_body(body);
        }
    }

    /// The `@typedef` of a declared type: an object with one `@property` per
    /// member when `members` can each be one, else the `whole` type.
    fn typedef(
        &self,
        name: &str,
        params: Option<&TSTypeParameterDeclaration>,
        members: Option<&[TSSignature]>,
        whole: String,
    ) -> Vec<Tag> {
        let mut tags = self.template_tags(params);
        match members.and_then(|members| self.properties(members)) {
            Some(properties) => {
                tags.push(Tag::Plain(format!("@typedef {{object}} {name}")));
                tags.extend(properties);
            }
            None => tags.push(Tag::Plain(format!("@typedef {{{whole}}} {name}"))),
        }
        tags
    }

    /// `@template` tags of a type declaration (nothing removed: the
    /// declaration goes whole).
    fn template_tags(&self, params: Option<&TSTypeParameterDeclaration>) -> Vec<Tag> {
        let Some(params) = params else {
            return Vec::new();
        };
        params
            .params
            .iter()
            .map(|param| {
                let mut tag = String::from("@template ");
                if let Some(constraint) = &param.constraint {
                    tag.push_str(&format!("{{{}}} ", self.ty(constraint.span())));
                }
                match &param.default {
                    Some(default) => tag.push_str(&format!(
                        "[{}={}]",
                        param.name.name,
                        self.ty(default.span())
                    )),
                    None => tag.push_str(&param.name.name),
                }
                Tag::Plain(tag)
            })
            .collect()
    }

    /// The end of a statement, with its `;`.
    fn statement_end(&self, end: u32) -> u32 {
        let rest = &self.src[end as usize..];
        if rest.starts_with(';') { end + 1 } else { end }
    }

    /// `/** @type {T} */ (expression)`, parentheses kept where they are.
    fn cast(&mut self, tag: &str, ty: String, expression: &Expression, end: u32) {
        let start = expression.span().start;
        // Parentheses that are not another cast's serve this one.
        let own = match expression {
            Expression::ParenthesizedExpression(inner) => !matches!(
                inner.expression,
                Expression::TSAsExpression(_) | Expression::TSSatisfiesExpression(_)
            ),
            _ => false,
        };
        if own {
            self.edit(start, start, format!("/** {tag} {{{ty}}} */ "));
            self.edit(expression.span().end, end, "");
        } else {
            self.edit(start, start, format!("/** {tag} {{{ty}}} */ ("));
            self.edit(expression.span().end, end, ")");
        }
        self.visit_expression(expression);
    }
}

/// Where a class member's key ends (after `]` when computed).
fn key_end(src: &str, key: &PropertyKey, computed: bool) -> u32 {
    let end = key.span().end;
    if computed {
        src[end as usize..]
            .find(']')
            .map_or(end, |i| end + i as u32 + 1)
    } else {
        end
    }
}

#[cfg(test)]
mod tests {
    use super::from_typescript;

    fn js(ts: &str) -> String {
        from_typescript(ts).unwrap_or_else(|e| panic!("{e}\n{ts}"))
    }

    #[test]
    fn functions_get_their_types_in_jsdoc() {
        let out = js(
            "/**\n * Reads.\n * @param kv The binding.\n * @returns The value.\n */\nexport async function read<T>(kv: KVNamespace, key: string, ttl?: number, ...rest: string[]): Promise<T | null> {\n\treturn (await kv.get(key, \"json\")) as T | null;\n}\n",
        );
        assert_eq!(
            out,
            "/**\n * Reads.\n * @template T\n * @param {KVNamespace} kv The binding.\n * @param {string} key\n * @param {number} [ttl]\n * @param {...string} rest\n * @returns {Promise<T | null>} The value.\n */\nexport async function read(kv, key, ttl, ...rest) {\n\treturn /** @type {T | null} */ (await kv.get(key, \"json\"));\n}\n"
        );
    }

    #[test]
    fn types_become_typedefs_with_their_member_docs() {
        let out = js(concat!(
            "import type { A, B as C } from \"./a.js\";\n",
            "import { x, type D } from \"./d.js\";\n",
            "/** Options. */\n",
            "export interface Opts {\n",
            "\t/** The prefix. */\n",
            "\tprefix?: string;\n",
            "\tlimit: number;\n",
            "}\n",
            "type Pair<T = string> = [T, T];\n",
            "export type Codec<T> = { encode(value: T): string };\n",
            "export const y = x;\n",
        ));
        assert_eq!(
            out,
            concat!(
                "/** @typedef {import(\"./a.js\").A} A */\n",
                "/** @typedef {import(\"./a.js\").B} C */\n",
                "import { x } from \"./d.js\";\n",
                "/** @typedef {import(\"./d.js\").D} D */\n",
                "/**\n",
                " * Options.\n",
                " * @typedef {object} Opts\n",
                " * @property {string} [prefix]\n",
                " *   The prefix.\n",
                " * @property {number} limit\n",
                " */\n",
                "/**\n",
                " * @template [T=string]\n",
                " * @typedef {[T, T]} Pair\n",
                " */\n",
                "/**\n",
                " * @template T\n",
                " * @typedef {{ encode(value: T): string }} Codec\n",
                " */\n",
                "export const y = x;\n",
            )
        );
    }

    #[test]
    fn classes_keep_their_code_and_get_typed_members() {
        let out = js(concat!(
            "export class Store<T extends object> extends Base<T> {\n",
            "\t/** The binding. */\n",
            "\treadonly #kv: KVNamespace;\n",
            "\tprivate cache = new Map<string, T>();\n",
            "\tdeclare readonly key?: string;\n",
            "\tconstructor(kv: KVNamespace, key?: string) {\n",
            "\t\tsuper();\n",
            "\t\tthis.#kv = kv;\n",
            "\t\tif (key !== undefined) this.key = key;\n",
            "\t}\n",
            "\t/** Reads. */\n",
            "\tget(key: string): Promise<T>;\n",
            "\tasync get(key: string) {\n",
            "\t\tconst seen = (this.cache.get(key) as T | undefined) ?? null;\n",
            "\t\treturn seen satisfies T | null;\n",
            "\t}\n",
            "}\n",
        ));
        assert_eq!(
            out,
            concat!(
                "/**\n",
                " * @template {object} T\n",
                " * @extends {Base<T>}\n",
                " */\n",
                "export class Store extends Base {\n",
                "\t/**\n",
                "\t * The binding.\n",
                "\t * @readonly\n",
                "\t * @type {KVNamespace}\n",
                "\t */\n",
                "\t#kv;\n",
                "\t/**\n",
                "\t * @private\n",
                "\t * @type {Map<string, T>}\n",
                "\t */\n",
                "\tcache = new Map();\n",
                "\t/**\n",
                "\t * @param {KVNamespace} kv\n",
                "\t * @param {string} [key]\n",
                "\t */\n",
                "\tconstructor(kv, key) {\n",
                "\t\tsuper();\n",
                "\t\tthis.#kv = kv;\n",
                "\t\tif (key !== undefined) this.key = key;\n",
                "\t}\n",
                "\t/**\n",
                "\t * Reads.\n",
                "\t * @param {string} key\n",
                "\t * @returns {Promise<T>}\n",
                "\t */\n",
                "\tasync get(key) {\n",
                "\t\tconst seen = /** @type {T | undefined} */ (this.cache.get(key)) ?? null;\n",
                "\t\treturn /** @satisfies {T | null} */ (seen);\n",
                "\t}\n",
                "}\n",
            )
        );
    }

    #[test]
    fn arrows_get_inline_jsdoc_and_variables_their_type() {
        let out = js(concat!(
            "const n: number | null = 1;\n",
            "export const f = async (a: string, b = 2): Promise<number> => a.length + b;\n",
            "[1].map((v: number) => v * 2);\n",
            "try { f(\"\"); } catch (e: unknown) { throw e; }\n",
        ));
        assert_eq!(
            out,
            concat!(
                "/** @type {number | null} */\n",
                "const n = 1;\n",
                "/**\n",
                " * @param {string} a\n",
                " * @returns {Promise<number>}\n",
                " */\n",
                "export const f = async (a, b = 2) => a.length + b;\n",
                "[1].map(/** @param {number} v */ (v) => v * 2);\n",
                "try { f(\"\"); } catch (e) { throw e; }\n",
            )
        );
    }

    #[test]
    fn what_jsdoc_cannot_say_is_refused_with_its_line() {
        for (ts, what) in [
            ("const a = [1][0]!;\n", "line 1: a non-null assertion"),
            ("\nenum E { A }\n", "line 2: an enum"),
            (
                "declare const k: number;\nkv.get<T>(k);\n",
                "line 2: type arguments of a call",
            ),
            (
                "class A {\n\tconstructor(private k: string) {}\n}\n",
                "line 2: a parameter property",
            ),
            (
                "function f(a: string): void;\nfunction f(a: string) {}\n",
                "line 1: a function without a body",
            ),
            ("namespace N {}\n", "line 1: a namespace"),
            (
                "const b: unknown = (x as any)!;\n",
                "line 1: a non-null assertion",
            ),
        ] {
            let error = from_typescript(ts).expect_err(ts);
            assert!(error.contains(what), "{ts}: {error}");
        }
        assert!(
            from_typescript("const = ;")
                .unwrap_err()
                .contains("does not parse")
        );
    }

    #[test]
    fn examples_in_doc_comments_become_javascript_where_they_can() {
        let ts = concat!(
            "/**\n",
            " * ```ts\n",
            " * const store = new KVStore<User>(kv);\n",
            " * const user = await store.get<User>(key);\n",
            " *\n",
            " * ```\n",
            " *\n",
            " * ```ts\n",
            " * const user: User = await store.get(key);\n",
            " * ```\n",
            " *\n",
            " * ```ts\n",
            " * async scheduled(controller, env) { ... }\n",
            " * ```\n",
            " */\n",
            "export const x = 1;\n",
        );
        // The first block converts; the second would need a JSDoc comment
        // inside the doc comment, the third does not parse: both stay.
        let expected = ts
            .replacen("```ts", "```js", 1)
            .replace("KVStore<User>", "KVStore")
            .replace("get<User>", "get");
        assert_eq!(js(ts), expected);
    }

    #[test]
    fn imports_keep_their_values_and_defaults() {
        assert_eq!(
            js(
                "import D, { type A, b } from './x.js'\nimport * as ns from \"./n.js\";\nexport { b, type A as C };\nexport const a: A = D(ns, b);\n"
            ),
            concat!(
                "import D, { b } from './x.js'\n",
                "/** @typedef {import('./x.js').A} A */\n",
                "import * as ns from \"./n.js\";\n",
                "export { b };\n",
                "/** @type {A} */\n",
                "export const a = D(ns, b);\n",
            )
        );
        // On one line with other code: only the statement changes.
        assert_eq!(
            js("let a = 1; import type { A, B } from \"./x.js\";\n"),
            "let a = 1; /** @typedef {import(\"./x.js\").A} A */\n/** @typedef {import(\"./x.js\").B} B */\n"
        );
    }

    #[test]
    fn default_exports_get_their_doc_before_export() {
        assert_eq!(
            js("export default class Store<T> {\n\tget(v: T): T {\n\t\treturn v;\n\t}\n}\n"),
            "/** @template T */\nexport default class Store {\n\t/**\n\t * @param {T} v\n\t * @returns {T}\n\t */\n\tget(v) {\n\t\treturn v;\n\t}\n}\n"
        );
        assert_eq!(
            js("export default function id<T>(v: T): T {\n\treturn v;\n}\n"),
            "/**\n * @template T\n * @param {T} v\n * @returns {T}\n */\nexport default function id(v) {\n\treturn v;\n}\n"
        );
        // The interface goes whole: nothing else becomes the default export.
        assert_eq!(
            js("export default interface Foo {\n\ta: string;\n}\nfunction f() {}\n"),
            "/**\n * @typedef {object} Foo\n * @property {string} a\n */\nfunction f() {}\n"
        );
        assert_eq!(
            js("export const A = class<T> {\n\tv?: T;\n};\n")
                .lines()
                .next(),
            Some("/** @template T */")
        );
    }

    #[test]
    fn casts_nest_and_string_types_keep_their_text() {
        assert_eq!(
            js("const n = ((x as unknown) as number) + 1;\n"),
            "const n = (/** @type {number} */ (/** @type {unknown} */ (x))) + 1;\n"
        );
        assert_eq!(
            js("type S = \"draft  x\" | 'a*/b' | `t  ${string}`;\n"),
            "/** @typedef {\"draft  x\" | 'a*\\/b' | `t  ${string}`} S */\n"
        );
        assert_eq!(
            js("/**\n * @param [ttl=60] Seconds.\n */\nfunction f(ttl: number = 60) {}\n"),
            "/**\n * @param {number} [ttl=60] Seconds.\n */\nfunction f(ttl = 60) {}\n"
        );
        let error = from_typescript("tag<string>`hello`;\n").unwrap_err();
        assert!(
            error.contains("line 1: type arguments of a tagged template"),
            "{error}"
        );
    }

    #[test]
    fn examples_keep_the_gap_after_the_star() {
        let ts =
            "/**\n *   ```ts\n *   const a = f<User>(1);\n *   ```\n */\nexport const x = 1;\n";
        assert_eq!(
            js(ts),
            "/**\n *   ```js\n *   const a = f(1);\n *   ```\n */\nexport const x = 1;\n"
        );
    }
}
