//! Generated Wrangler configs for the property tests: comments, CRLF and
//! mixed line endings, a BOM, inline and table lists, environments, dotted
//! keys, trailing commas, one-line and multi-line containers, empty lists,
//! closing brackets sharing a line, a missing final newline.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

pub const ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
const OTHER_ID: &str = "11111111111111111111111111111111";

/// How the lines of a generated file end.
#[derive(Debug, Clone)]
pub struct Ending {
    bom: bool,
    /// Per line: CRLF or LF (cycled).
    crlf: Vec<bool>,
    final_newline: bool,
}

fn ending() -> impl Strategy<Value = Ending> {
    (
        any::<bool>(),
        prop_oneof![
            Just(vec![false]),
            Just(vec![true]),
            vec(any::<bool>(), 1..6),
        ],
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
        .prop_map(|(bom, crlf, final_newline)| Ending {
            bom,
            crlf,
            final_newline,
        })
}

impl Ending {
    fn join(&self, lines: &[String]) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for (i, line) in lines.iter().enumerate() {
            out.push_str(line);
            if i + 1 < lines.len() || self.final_newline {
                out.push_str(if self.crlf[i % self.crlf.len()] {
                    "\r\n"
                } else {
                    "\n"
                });
            }
        }
        out
    }
}

/// A `kv_namespaces` entry.
#[derive(Debug, Clone)]
pub struct Entry {
    binding: &'static str,
    id: Option<&'static str>,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        select(vec!["USERS", "CACHE", "KV", "SESSIONS"]),
        select(vec![None, Some(ID), Some(OTHER_ID)]),
    )
        .prop_map(|(binding, id)| Entry { binding, id })
}

fn entries() -> impl Strategy<Value = Vec<Entry>> {
    vec(entry(), 0..4).prop_map(|mut list| {
        let mut seen = Vec::new();
        list.retain(|e| {
            let new = !seen.contains(&e.binding);
            seen.push(e.binding);
            new
        });
        list
    })
}

/// How a bracketed list or object is laid out.
#[derive(Debug, Clone)]
pub struct Layout {
    one_line: bool,
    trailing_comma: bool,
    /// A comment after the last element (on its line).
    comment_after_last: bool,
    /// The closing bracket on the last element's line.
    close_on_last_line: bool,
    /// A comment inside an empty list.
    comment_when_empty: bool,
    blank_after_open: bool,
    blank_before_close: bool,
    pad: bool,
}

fn layout() -> impl Strategy<Value = Layout> {
    (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(false), 1 => Just(true)],
        prop_oneof![3 => Just(false), 1 => Just(true)],
        any::<bool>(),
        prop_oneof![4 => Just(false), 1 => Just(true)],
        prop_oneof![4 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(
            |(
                one_line,
                trailing_comma,
                comment_after_last,
                close_on_last_line,
                comment_when_empty,
                blank_after_open,
                blank_before_close,
                pad,
            )| Layout {
                one_line,
                trailing_comma,
                comment_after_last,
                close_on_last_line,
                comment_when_empty,
                blank_after_open,
                blank_before_close,
                pad,
            },
        )
}

// ---------------------------------------------------------------- TOML

/// How a TOML table writes its `kv_namespaces`.
#[derive(Debug, Clone)]
pub enum TomlKv {
    None,
    Inline(Vec<Entry>, Layout),
    Tables(Vec<Entry>),
}

fn toml_kv() -> impl Strategy<Value = TomlKv> {
    prop_oneof![
        Just(TomlKv::None),
        (entries(), layout()).prop_map(|(e, l)| TomlKv::Inline(e, l)),
        entries().prop_map(|e| {
            if e.is_empty() {
                TomlKv::None
            } else {
                TomlKv::Tables(e)
            }
        }),
    ]
}

/// How a TOML table writes its cron triggers.
#[derive(Debug, Clone)]
pub enum TomlCrons {
    None,
    /// `[triggers]` with `crons = [...]` (or without `crons`).
    Table(Option<(Vec<&'static str>, Layout)>),
    /// `triggers = { crons = [...] }`
    Inline(Vec<&'static str>),
}

fn crons() -> impl Strategy<Value = Vec<&'static str>> {
    vec(select(vec!["0 * * * *", "*/5 * * * *", "30 2 * * 1"]), 0..3).prop_map(|mut v| {
        v.dedup();
        v
    })
}

fn toml_crons() -> impl Strategy<Value = TomlCrons> {
    prop_oneof![
        2 => Just(TomlCrons::None),
        1 => proptest::option::of((crons(), layout())).prop_map(TomlCrons::Table),
        1 => crons().prop_map(TomlCrons::Inline),
    ]
}

#[derive(Debug, Clone)]
pub struct TomlEnv {
    name: &'static str,
    quoted_header: bool,
    indent: bool,
    name_key: bool,
    vars: bool,
    kv: TomlKv,
    crons: TomlCrons,
}

fn toml_env() -> impl Strategy<Value = TomlEnv> {
    (
        select(vec!["staging", "production"]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        toml_kv(),
        toml_crons(),
    )
        .prop_map(
            |(name, quoted_header, indent, name_key, vars, kv, crons)| TomlEnv {
                name,
                quoted_header,
                indent,
                name_key,
                vars,
                kv,
                crons,
            },
        )
}

#[derive(Debug, Clone)]
pub struct TomlConfig {
    ending: Ending,
    header_comment: bool,
    dotted_build: bool,
    comments: bool,
    literal_strings: bool,
    kv: TomlKv,
    crons: TomlCrons,
    vars_table: bool,
    envs: Vec<TomlEnv>,
    trailing_comment: bool,
}

pub fn toml_config() -> impl Strategy<Value = TomlConfig> {
    (
        ending(),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        toml_kv(),
        toml_crons(),
        any::<bool>(),
        vec(toml_env(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(
                ending,
                (header_comment, dotted_build, comments, literal_strings),
                kv,
                crons,
                vars_table,
                mut envs,
                trailing_comment,
            )| {
                let mut seen = Vec::new();
                envs.retain(|e| {
                    let new = !seen.contains(&e.name);
                    seen.push(e.name);
                    new
                });
                TomlConfig {
                    ending,
                    header_comment,
                    dotted_build,
                    comments,
                    literal_strings,
                    kv,
                    crons,
                    vars_table,
                    envs,
                    trailing_comment,
                }
            },
        )
}

impl TomlConfig {
    fn string(&self, s: &str) -> String {
        if self.literal_strings {
            format!("'{s}'")
        } else {
            format!("\"{s}\"")
        }
    }

    fn inline_entry(&self, e: &Entry) -> String {
        match e.id {
            Some(id) => format!(
                "{{ binding = {}, id = {} }}",
                self.string(e.binding),
                self.string(id)
            ),
            None => format!("{{ binding = {} }}", self.string(e.binding)),
        }
    }

    /// `key = [ ... ]` over one or several lines.
    fn inline_list(
        &self,
        out: &mut Vec<String>,
        indent: &str,
        key: &str,
        items: &[String],
        l: &Layout,
    ) {
        if l.one_line {
            let pad = if l.pad && items.is_empty() { " " } else { "" };
            let comma = if l.trailing_comma && !items.is_empty() {
                ","
            } else {
                ""
            };
            out.push(format!(
                "{indent}{key} = [{pad}{}{comma}]",
                items.join(", ")
            ));
            return;
        }
        out.push(format!("{indent}{key} = ["));
        if items.is_empty() && l.comment_when_empty {
            out.push(format!("{indent}  # none yet"));
        }
        for (i, item) in items.iter().enumerate() {
            let last = i + 1 == items.len();
            let comma = if !last || l.trailing_comma { "," } else { "" };
            let mut line = format!("{indent}  {item}{comma}");
            if last && l.close_on_last_line {
                line.push(']');
                if l.comment_after_last {
                    line.push_str(" # the list ends here");
                }
                out.push(line);
                return;
            }
            if last && l.comment_after_last {
                line.push_str(" # the last one");
            }
            out.push(line);
        }
        out.push(format!("{indent}]"));
    }

    fn kv_tables(&self, out: &mut Vec<String>, indent: &str, path: &str, entries: &[Entry]) {
        for e in entries {
            out.push(String::new());
            out.push(format!("{indent}[[{path}]]"));
            out.push(format!("{indent}binding = {}", self.string(e.binding)));
            if let Some(id) = e.id {
                out.push(format!("{indent}id = {}", self.string(id)));
            }
        }
    }

    fn crons_keys(&self, out: &mut Vec<String>, indent: &str, crons: &TomlCrons) {
        if let TomlCrons::Inline(list) = crons {
            let items: Vec<String> = list.iter().map(|c| self.string(c)).collect();
            out.push(format!(
                "{indent}triggers = {{ crons = [{}] }}",
                items.join(", ")
            ));
        }
    }

    fn crons_table(&self, out: &mut Vec<String>, indent: &str, path: &str, crons: &TomlCrons) {
        if let TomlCrons::Table(list) = crons {
            out.push(String::new());
            out.push(format!("{indent}[{path}]"));
            match list {
                Some((list, layout)) => {
                    let items: Vec<String> = list.iter().map(|c| self.string(c)).collect();
                    self.inline_list(out, indent, "crons", &items, layout);
                }
                None => out.push(format!("{indent}# no schedule yet")),
            }
        }
    }

    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if self.header_comment {
            out.push("# Wrangler configuration".to_string());
            out.push(String::new());
        }
        out.push(format!("name = {}", self.string("worker")));
        if self.dotted_build {
            out.push(format!("build.command = {}", self.string("npm run build")));
        }
        out.push(format!("main = {}", self.string("src/index.ts")));
        if self.comments {
            out.push("# the date decides the runtime's behaviour".to_string());
        }
        out.push(format!(
            "compatibility_date = {}",
            self.string("2025-06-01")
        ));
        if self.dotted_build {
            out.push(format!("build.cwd = {}", self.string("app")));
        }
        if let TomlKv::Inline(entries, layout) = &self.kv {
            let items: Vec<String> = entries.iter().map(|e| self.inline_entry(e)).collect();
            self.inline_list(&mut out, "", "kv_namespaces", &items, layout);
        }
        self.crons_keys(&mut out, "", &self.crons);
        if let TomlKv::Tables(entries) = &self.kv {
            self.kv_tables(&mut out, "", "kv_namespaces", entries);
        }
        self.crons_table(&mut out, "", "triggers", &self.crons);
        if self.vars_table {
            out.push(String::new());
            if self.comments {
                out.push("# plain variables".to_string());
            }
            out.push("[vars]".to_string());
            out.push(format!(
                "MODE = {} # where it runs",
                self.string("production")
            ));
        }
        for env in &self.envs {
            let indent = if env.indent { "  " } else { "" };
            let name = if env.quoted_header {
                format!("\"{}\"", env.name)
            } else {
                env.name.to_string()
            };
            out.push(String::new());
            if self.comments {
                out.push(format!("# the {} environment", env.name));
            }
            let has_keys = env.name_key
                || matches!(env.kv, TomlKv::Inline(..))
                || matches!(env.crons, TomlCrons::Inline(_));
            if has_keys || !env.vars {
                out.push(format!("[env.{name}]"));
            }
            if env.name_key {
                out.push(format!(
                    "{indent}name = {}",
                    self.string(&format!("worker-{}", env.name))
                ));
            }
            if let TomlKv::Inline(entries, layout) = &env.kv {
                let items: Vec<String> = entries.iter().map(|e| self.inline_entry(e)).collect();
                self.inline_list(&mut out, indent, "kv_namespaces", &items, layout);
            }
            self.crons_keys(&mut out, indent, &env.crons);
            if env.vars {
                out.push(String::new());
                out.push(format!("{indent}[env.{name}.vars]"));
                out.push(format!("{indent}MODE = {}", self.string(env.name)));
            }
            if let TomlKv::Tables(entries) = &env.kv {
                self.kv_tables(
                    &mut out,
                    indent,
                    &format!("env.{name}.kv_namespaces"),
                    entries,
                );
            }
            self.crons_table(
                &mut out,
                indent,
                &format!("env.{name}.triggers"),
                &env.crons,
            );
        }
        if self.trailing_comment {
            out.push(String::new());
            out.push("# the end".to_string());
        }
        self.ending.join(&out)
    }
}

// ---------------------------------------------------------------- JSONC

/// A JSON value with the layout of each container.
#[derive(Debug, Clone)]
pub enum Json {
    Str(String),
    Obj(Vec<(String, Json)>, Layout),
    Arr(Vec<Json>, Layout),
}

fn json_entry() -> impl Strategy<Value = Json> {
    (entry(), layout()).prop_map(|(e, l)| {
        let mut fields = vec![("binding".to_string(), Json::Str(e.binding.to_string()))];
        if let Some(id) = e.id {
            fields.push(("id".to_string(), Json::Str(id.to_string())));
        }
        Json::Obj(fields, l)
    })
}

fn json_kv() -> impl Strategy<Value = Option<Json>> {
    proptest::option::of(
        (vec(json_entry(), 0..4), layout()).prop_map(|(mut list, l)| {
            let mut seen = Vec::new();
            list.retain(|e| {
                let Json::Obj(fields, _) = e else { return true };
                let Json::Str(b) = &fields[0].1 else {
                    return true;
                };
                let new = !seen.contains(b);
                seen.push(b.clone());
                new
            });
            Json::Arr(list, l)
        }),
    )
}

fn json_triggers() -> impl Strategy<Value = Option<Json>> {
    proptest::option::of(
        (proptest::option::of((crons(), layout())), layout()).prop_map(|(crons, l)| {
            let fields = match crons {
                Some((list, cl)) => vec![(
                    "crons".to_string(),
                    Json::Arr(
                        list.into_iter().map(|c| Json::Str(c.to_string())).collect(),
                        cl,
                    ),
                )],
                None => Vec::new(),
            };
            Json::Obj(fields, l)
        }),
    )
}

fn json_env_body() -> impl Strategy<Value = Json> {
    (any::<bool>(), json_kv(), json_triggers(), layout()).prop_map(|(name, kv, triggers, l)| {
        let mut fields = Vec::new();
        if name {
            fields.push(("name".to_string(), Json::Str("worker-env".to_string())));
        }
        if let Some(kv) = kv {
            fields.push(("kv_namespaces".to_string(), kv));
        }
        if let Some(t) = triggers {
            fields.push(("triggers".to_string(), t));
        }
        Json::Obj(fields, l)
    })
}

#[derive(Debug, Clone)]
pub struct JsonConfig {
    ending: Ending,
    header_comment: bool,
    unit: &'static str,
    root: Json,
    comments: bool,
}

pub fn json_config() -> impl Strategy<Value = JsonConfig> {
    (
        ending(),
        any::<bool>(),
        select(vec!["\t", "  ", "    "]),
        (json_kv(), json_triggers(), any::<bool>()),
        proptest::option::of((
            vec(
                (select(vec!["staging", "production"]), json_env_body()),
                0..3,
            ),
            layout(),
        )),
        any::<bool>(),
        layout(),
        prop_oneof![6 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(
            |(
                ending,
                header_comment,
                unit,
                (kv, triggers, vars),
                env,
                env_first,
                mut root_layout,
                minified,
                comments,
            )| {
                let mut fields = Vec::new();
                if let (true, Some(env)) = (env_first, &env) {
                    fields.push(("env".to_string(), env_object(env)));
                }
                fields.push(("name".to_string(), Json::Str("worker".to_string())));
                fields.push(("main".to_string(), Json::Str("src/index.ts".to_string())));
                if vars {
                    let mut l = root_layout.clone();
                    l.one_line = true;
                    fields.push((
                        "vars".to_string(),
                        Json::Obj(
                            vec![("MODE".to_string(), Json::Str("production".to_string()))],
                            l,
                        ),
                    ));
                }
                if let Some(kv) = kv {
                    fields.push(("kv_namespaces".to_string(), kv));
                }
                if let Some(t) = triggers {
                    fields.push(("triggers".to_string(), t));
                }
                if let (false, Some(env)) = (env_first, &env) {
                    fields.push(("env".to_string(), env_object(env)));
                }
                root_layout.one_line = minified;
                JsonConfig {
                    ending,
                    header_comment,
                    unit,
                    root: Json::Obj(fields, root_layout),
                    comments,
                }
            },
        )
}

fn env_object((envs, layout): &(Vec<(&'static str, Json)>, Layout)) -> Json {
    let mut fields: Vec<(String, Json)> = Vec::new();
    for (name, body) in envs {
        if !fields.iter().any(|(n, _)| n == name) {
            fields.push((name.to_string(), body.clone()));
        }
    }
    Json::Obj(fields, layout.clone())
}

impl JsonConfig {
    pub fn render(&self) -> String {
        let mut lines = Vec::new();
        if self.header_comment {
            lines.push("/**".to_string());
            lines.push(" * Wrangler configuration".to_string());
            lines.push(" */".to_string());
        }
        let mut current = String::new();
        self.value(&self.root, "", false, &mut current, &mut lines);
        lines.push(current);
        self.ending.join(&lines)
    }

    /// Writes `value` at the end of `current` (the line being built), pushing
    /// finished lines to `lines`.
    fn value(
        &self,
        value: &Json,
        indent: &str,
        inline: bool,
        current: &mut String,
        lines: &mut Vec<String>,
    ) {
        match value {
            Json::Str(s) => current.push_str(&format!("\"{s}\"")),
            Json::Obj(fields, l) => {
                let members: Vec<(Option<&str>, &Json)> =
                    fields.iter().map(|(k, v)| (Some(k.as_str()), v)).collect();
                self.container(('{', '}'), &members, l, indent, inline, current, lines);
            }
            Json::Arr(items, l) => {
                let members: Vec<(Option<&str>, &Json)> = items.iter().map(|v| (None, v)).collect();
                self.container(('[', ']'), &members, l, indent, inline, current, lines);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn container(
        &self,
        (open, close): (char, char),
        members: &[(Option<&str>, &Json)],
        l: &Layout,
        indent: &str,
        inline: bool,
        current: &mut String,
        lines: &mut Vec<String>,
    ) {
        let member = |this: &Self,
                      key: Option<&str>,
                      v: &Json,
                      indent: &str,
                      inline: bool,
                      current: &mut String,
                      lines: &mut Vec<String>| {
            if let Some(key) = key {
                current.push_str(&format!("\"{key}\": "));
            }
            this.value(v, indent, inline, current, lines);
        };
        if inline || l.one_line {
            current.push(open);
            let pad = if l.pad && open == '{' && !members.is_empty() {
                " "
            } else {
                ""
            };
            current.push_str(pad);
            if members.is_empty() && l.comment_when_empty {
                current.push_str(" /* none yet */ ");
            }
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    current.push_str(", ");
                }
                member(self, *k, v, indent, true, current, lines);
            }
            if l.trailing_comma && !members.is_empty() {
                current.push(',');
            }
            current.push_str(pad);
            current.push(close);
            return;
        }
        current.push(open);
        lines.push(std::mem::take(current));
        if l.blank_after_open {
            lines.push(String::new());
        }
        let inner = format!("{indent}{}", self.unit);
        if members.is_empty() && l.comment_when_empty {
            lines.push(format!("{inner}// none yet"));
        }
        for (i, (k, v)) in members.iter().enumerate() {
            let last = i + 1 == members.len();
            if self.comments && i == 1 {
                lines.push(format!("{inner}// the second one"));
            }
            current.push_str(&inner);
            member(self, *k, v, &inner, false, current, lines);
            if !last || l.trailing_comma {
                current.push(',');
            }
            if last && l.close_on_last_line {
                if l.comment_after_last {
                    current.push_str(" /* last */");
                }
                current.push(close);
                return;
            }
            if last && l.comment_after_last {
                current.push_str(" // the last one");
            }
            lines.push(std::mem::take(current));
        }
        if l.blank_before_close {
            lines.push(String::new());
        }
        current.push_str(indent);
        current.push(close);
    }
}
