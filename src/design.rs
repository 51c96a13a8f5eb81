//! `kvgen.toml`: the Workers KV design of a Worker, as data.
//!
//! The file is read with the place of every problem (file:line:col) and
//! edited in place: an edit is text put in at places of the raw file (a new
//! namespace table at the end, a field after the last one of its table, an
//! element at the end of an array, a value replaced), so comments, blank
//! lines, order and the user's own additions stay as they were. The edited
//! text is read again and must mean the old design plus the change, or the
//! edit is refused.

use std::ops::Range;

use toml_edit::{Document, Item, Key, TableLike, Value};

use crate::config::splice::Splice;
use crate::config::toml as toml_text;
use crate::error::BadInput;
use crate::project::Lang;
use crate::text::{Text, line_col, next_line_start};

/// The design file's name, in the project root.
pub const FILE: &str = "kvgen.toml";

/// The first line of a new design file.
const HEADER: &str =
    "# kvgen.toml: the Workers KV design of this Worker. Edit it, then run `kvgen sync`.\n";

/// The longest session: browsers keep a cookie at most 400 days, whatever
/// its Max-Age (RFC 6265bis, "The Max-Age Attribute").
pub const MAX_SESSION_TTL: u64 = 400 * 86_400;

/// What a namespace is for (a closed set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Cache,
    Sessions,
    Flags,
    Config,
    Data,
}

impl Purpose {
    pub const ALL: [Purpose; 5] = [
        Purpose::Cache,
        Purpose::Sessions,
        Purpose::Flags,
        Purpose::Config,
        Purpose::Data,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Purpose::Cache => "cache",
            Purpose::Sessions => "sessions",
            Purpose::Flags => "flags",
            Purpose::Config => "config",
            Purpose::Data => "data",
        }
    }
}

/// A module kvgen generates for a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Module {
    Store,
    Aside,
    WriteThrough,
    Swr,
    Invalidate,
    Warm,
    Flags,
    Session,
    Bulk,
    Config,
    Prefs,
}

impl Module {
    pub const ALL: [Module; 11] = [
        Module::Store,
        Module::Aside,
        Module::WriteThrough,
        Module::Swr,
        Module::Invalidate,
        Module::Warm,
        Module::Flags,
        Module::Session,
        Module::Bulk,
        Module::Config,
        Module::Prefs,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Module::Store => "store",
            Module::Aside => "aside",
            Module::WriteThrough => "write-through",
            Module::Swr => "swr",
            Module::Invalidate => "invalidate",
            Module::Warm => "warm",
            Module::Flags => "flags",
            Module::Session => "session",
            Module::Bulk => "bulk",
            Module::Config => "config",
            Module::Prefs => "prefs",
        }
    }

    pub fn from_word(word: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.word() == word)
    }

    /// The kvgen command whose templates make this module.
    pub fn command(self) -> &'static str {
        match self {
            Module::Store => "create",
            Module::Aside
            | Module::WriteThrough
            | Module::Swr
            | Module::Invalidate
            | Module::Warm => "cache",
            Module::Flags => "flags",
            Module::Session => "session",
            Module::Bulk => "bulk",
            Module::Config => "config",
            Module::Prefs => "prefs",
        }
    }

    /// The stem of the module's one template in its command's folder (for
    /// the cache patterns, which share a folder); None when the module is
    /// every template of its folder.
    pub fn stem(self) -> Option<&'static str> {
        match self {
            Module::Aside => Some("cache-aside"),
            Module::WriteThrough => Some("write-through"),
            Module::Swr => Some("swr"),
            Module::Invalidate => Some("invalidate"),
            Module::Warm => Some("warm"),
            _ => None,
        }
    }
}

/// A TTL of the design: seconds (at least 60), or no expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ttl {
    Seconds(u64),
    Never,
}

impl Ttl {
    pub fn seconds(self) -> Option<u64> {
        match self {
            Ttl::Seconds(s) => Some(s),
            Ttl::Never => None,
        }
    }

    fn toml(self) -> String {
        match self {
            Ttl::Seconds(s) => s.to_string(),
            Ttl::Never => "\"none\"".to_string(),
        }
    }
}

/// One KV binding of the design.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub binding: String,
    /// The title `wrangler kv namespace create` is given; default: the
    /// binding in kebab case.
    pub title: Option<String>,
    pub purpose: Option<Purpose>,
    /// Environments that get the binding too.
    pub envs: Vec<String>,
    /// Whether the top level has the binding (default: yes).
    pub top_level: bool,
    pub default_ttl: Option<Ttl>,
    pub modules: Vec<Module>,
    /// Where this namespace's modules go when not `[kvgen] dir`.
    pub dir: Option<String>,
    /// The cron trigger that runs the warm pattern.
    pub cron: Option<String>,
    /// The session cookie's name.
    pub cookie: Option<String>,
    /// Typed key patterns, in file order.
    pub keys: Vec<crate::keys::KeyPattern>,
    /// The Analytics Engine dataset the cache lookups are counted in
    /// (binding [`METRICS_BINDING`]).
    pub metrics: Option<String>,
}

impl Namespace {
    pub fn new(binding: &str) -> Self {
        Namespace {
            binding: binding.to_string(),
            title: None,
            purpose: None,
            envs: Vec::new(),
            top_level: true,
            default_ttl: None,
            modules: Vec::new(),
            dir: None,
            cron: None,
            cookie: None,
            keys: Vec::new(),
            metrics: None,
        }
    }

    /// The namespace title: `title`, else derived from the binding
    /// ([`derived_title`]).
    pub fn title(&self) -> String {
        self.title
            .clone()
            .unwrap_or_else(|| derived_title(&self.binding))
    }

    /// Where the binding goes: None is the top level.
    pub fn targets(&self) -> Vec<Option<String>> {
        targets(&self.envs, self.top_level)
    }
}

/// Where a binding goes: the top level (None) when `top_level`, then each
/// environment of `envs`.
fn targets(envs: &[String], top_level: bool) -> Vec<Option<String>> {
    let mut targets = Vec::new();
    if top_level {
        targets.push(None);
    }
    targets.extend(envs.iter().cloned().map(Some));
    targets
}

/// The title a binding gets when none is given: `USER_CACHE` ->
/// `user-cache`, always a valid title (letters, digits, `-`, `_`, `.`,
/// starting with a letter or digit, at most 64 characters; `kv` when
/// nothing is left), so it is safe in a printed shell command.
pub fn derived_title(binding: &str) -> String {
    let title: String = binding
        .to_ascii_lowercase()
        .replace('_', "-")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
        .skip_while(|c| !c.is_ascii_alphanumeric())
        .take(64)
        .collect();
    if title.is_empty() {
        "kv".to_string()
    } else {
        title
    }
}

/// The Analytics Engine binding the cache metrics are written through.
pub const METRICS_BINDING: &str = "KV_METRICS";

/// The Durable Object class `kvgen counter` generates.
pub const COUNTER_CLASS: &str = "Counter";

/// Where a binding goes: the top level (unless `top_level = false`) and the
/// environments listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    pub envs: Vec<String>,
    pub top_level: bool,
}

impl Default for Places {
    fn default() -> Self {
        Places {
            envs: Vec::new(),
            top_level: true,
        }
    }
}

impl Places {
    /// Where the binding goes: None is the top level.
    pub fn targets(&self) -> Vec<Option<String>> {
        targets(&self.envs, self.top_level)
    }

    fn parts(&mut self) -> (&mut Vec<String>, &mut bool) {
        (&mut self.envs, &mut self.top_level)
    }

    fn fields(&self, out: &mut Vec<(&'static str, String)>) {
        if !self.envs.is_empty() {
            out.push(("envs", string_array(self.envs.iter().map(String::as_str))));
        }
        if !self.top_level {
            out.push(("top_level", "false".to_string()));
        }
    }
}

/// A Rate Limiting binding of the design (`[ratelimits.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub name: String,
    pub limit: u64,
    /// Seconds: 10 or 60.
    pub period: u64,
    pub places: Places,
}

/// A Durable Object binding of the counters (`[counters.BINDING]`), of
/// class [`COUNTER_CLASS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub binding: String,
    pub places: Places,
}

/// The most rate limiters, and counter bindings, a design holds.
pub const MAX_OTHER_BINDINGS: usize = 64;

/// The most namespaces a design holds (a Worker with more KV bindings than
/// this is not one kvgen is built for; the bound keeps every run quick).
pub const MAX_NAMESPACES: usize = 256;

/// The most key patterns a namespace holds (every pair is checked for
/// keys in common).
pub const MAX_KEYS: usize = 256;

/// The most overlapping-prefix warnings a namespace gets one by one.
const MAX_OVERLAP_WARNINGS: usize = 10;

/// The whole design.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Design {
    pub lang: Option<Lang>,
    pub dir: Option<String>,
    /// In file order.
    pub namespaces: Vec<Namespace>,
    /// `[types]`, in file order.
    pub types: Vec<crate::keys::TypeDef>,
    /// `[ratelimits]`, in file order.
    pub ratelimits: Vec<RateLimit>,
    /// `[counters]`, in file order.
    pub counters: Vec<Counter>,
    /// What is allowed but worth saying (overlapping listing prefixes).
    pub warnings: Vec<String>,
}

impl Design {
    pub fn namespace(&self, binding: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.binding == binding)
    }

    /// Every place (None: the top level) a namespace with the session
    /// module is bound, once each, in design order: where `wrangler dev`
    /// needs SESSION_SECRET.
    pub fn session_targets(&self) -> Vec<Option<String>> {
        let mut targets: Vec<Option<String>> = Vec::new();
        for ns in self
            .namespaces
            .iter()
            .filter(|n| n.modules.contains(&Module::Session))
        {
            for target in ns.targets() {
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
        }
        targets
    }
}

/// A problem at a place of the file.
fn error(shown: &str, body: &str, offset: usize, message: impl std::fmt::Display) -> BadInput {
    let (line, col) = line_col(body, offset);
    BadInput::new(format!("{shown}:{line}:{col}: {message}"))
}

fn key_at(table: &dyn TableLike, key: &str) -> usize {
    table.key(key).and_then(Key::span).map_or(0, |s| s.start)
}

fn item_at(item: &Item) -> Option<usize> {
    match item {
        Item::Value(v) => v.span().map(|s| s.start),
        Item::Table(t) => t.span().map(|s| s.start),
        Item::ArrayOfTables(a) => a.span().map(|s| s.start),
        Item::None => None,
    }
}

/// Reads a design file (`shown` names it in messages).
pub fn parse(raw: &str, shown: &str) -> Result<Design, BadInput> {
    let body = Text::new(raw).body;
    if let Some(offset) = crate::text::lone_cr(body) {
        return Err(error(
            shown,
            body,
            offset,
            "a carriage return that does not end a line (only LF and CRLF line breaks are supported)",
        ));
    }
    let doc = Document::parse(body).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        let reason = e.message().lines().next().unwrap_or("invalid TOML").trim();
        error(shown, body, offset, format!("invalid TOML: {reason}"))
    })?;
    let root = doc.as_table();
    let mut design = Design::default();
    for (key, item) in root.iter() {
        let at = key_at(root, key);
        match key {
            "kvgen" => read_settings(shown, body, item, at, &mut design)?,
            "namespaces" => {
                let table = item
                    .as_table_like()
                    .ok_or_else(|| error(shown, body, at, "`namespaces` is not a table"))?;
                for (binding, item) in table.iter() {
                    let at = key_at(table, binding);
                    if design.namespaces.len() == MAX_NAMESPACES {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!(
                                "more than {MAX_NAMESPACES} namespaces: kvgen designs at most {MAX_NAMESPACES} KV bindings per Worker"
                            ),
                        ));
                    }
                    design
                        .namespaces
                        .push(read_namespace(shown, body, binding, item, at)?);
                }
            }
            "types" => {
                let table = item
                    .as_table_like()
                    .ok_or_else(|| error(shown, body, at, "`types` is not a table"))?;
                for (name, item) in table.iter() {
                    let at = key_at(table, name);
                    if design.types.len() == crate::keys::types::MAX_TYPES {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!(
                                "more than {} types: kvgen designs at most {} value types",
                                crate::keys::types::MAX_TYPES,
                                crate::keys::types::MAX_TYPES
                            ),
                        ));
                    }
                    design.types.push(read_type(shown, body, name, item, at)?);
                }
            }
            "ratelimits" | "counters" => {
                let table = item
                    .as_table_like()
                    .ok_or_else(|| error(shown, body, at, format!("`{key}` is not a table")))?;
                for (name, item) in table.iter() {
                    let at = key_at(table, name);
                    if design.ratelimits.len() + design.counters.len() == MAX_OTHER_BINDINGS {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!(
                                "more than {MAX_OTHER_BINDINGS} rate limiters and counter bindings: kvgen designs at most {MAX_OTHER_BINDINGS}"
                            ),
                        ));
                    }
                    if key == "ratelimits" {
                        design
                            .ratelimits
                            .push(read_ratelimit(shown, body, name, item, at)?);
                    } else {
                        design
                            .counters
                            .push(read_counter(shown, body, name, item, at)?);
                    }
                }
            }
            other => {
                return Err(error(
                    shown,
                    body,
                    at,
                    format!(
                        "unknown table {}: a design has [kvgen], [namespaces.BINDING], [types.NAME], [ratelimits.NAME] and [counters.BINDING]",
                        crate::names::show(other)
                    ),
                ));
            }
        }
    }
    check_keys(shown, body, &doc, &mut design)?;
    check_bindings(shown, body, &doc, &design)?;
    Ok(design)
}

/// `envs` and `top_level` of a table, when `key` is one of them.
fn read_place(
    shown: &str,
    body: &str,
    key: &str,
    item: &Item,
    at: usize,
    (envs, top_level): (&mut Vec<String>, &mut bool),
) -> Result<bool, BadInput> {
    match key {
        "envs" => {
            for (value, at) in strings(shown, body, item, at, key)? {
                crate::names::env(value).map_err(|e| error(shown, body, at, e.0))?;
                if envs.iter().any(|e| e == value) {
                    return Err(error(
                        shown,
                        body,
                        at,
                        format!("envs lists {} twice", crate::names::show(value)),
                    ));
                }
                envs.push(value.to_string());
            }
            Ok(true)
        }
        "top_level" => {
            *top_level = item
                .as_bool()
                .ok_or_else(|| error(shown, body, at, "top_level: expected true or false"))?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

fn bound_somewhere(
    shown: &str,
    body: &str,
    at: usize,
    path: &str,
    (envs, top_level): (&[String], bool),
) -> Result<(), BadInput> {
    if !top_level && envs.is_empty() {
        return Err(error(
            shown,
            body,
            at,
            format!(
                "{path} is bound nowhere: top_level = false and no envs; list the environments that get it"
            ),
        ));
    }
    Ok(())
}

/// A table of a binding that is not a namespace (`[TABLE.NAME]`): the
/// name checked, `envs` and `top_level` read, every other key given to
/// `field` (false: unknown, and `has` lists what the table has).
fn read_binding_table(
    (shown, body): (&str, &str),
    (table_name, name): (&str, &str),
    (item, at): (&Item, usize),
    has: &str,
    field: &mut dyn FnMut(&str, &Item, usize) -> Result<bool, BadInput>,
) -> Result<Places, BadInput> {
    crate::names::binding(name).map_err(|e| error(shown, body, at, e.0))?;
    let path = format!("{table_name}.{name}");
    let table = item
        .as_table_like()
        .ok_or_else(|| error(shown, body, at, format!("`{path}` is not a table")))?;
    let mut places = Places::default();
    for (key, item) in table.iter() {
        let at = item_at(item).unwrap_or_else(|| key_at(table, key));
        if read_place(shown, body, key, item, at, places.parts())? || field(key, item, at)? {
            continue;
        }
        return Err(error(
            shown,
            body,
            key_at(table, key),
            format!("unknown key {} in [{path}]: {has}", crate::names::show(key)),
        ));
    }
    bound_somewhere(shown, body, at, &path, (&places.envs, places.top_level))?;
    Ok(places)
}

/// A `[ratelimits.NAME]` table.
fn read_ratelimit(
    shown: &str,
    body: &str,
    name: &str,
    item: &Item,
    at: usize,
) -> Result<RateLimit, BadInput> {
    let (mut limit, mut period) = (None, None);
    let places = read_binding_table(
        (shown, body),
        ("ratelimits", name),
        (item, at),
        "a rate limiter has limit, period, envs, top_level",
        &mut |key, item, at| {
            match key {
                "limit" => {
                    let value = item.as_integer().filter(|n| *n >= 1).ok_or_else(|| {
                        error(
                            shown,
                            body,
                            at,
                            "limit: expected a whole number of requests, at least 1",
                        )
                    })?;
                    limit = Some(value as u64);
                }
                "period" => {
                    let value =
                        item.as_integer()
                            .filter(|n| matches!(n, 10 | 60))
                            .ok_or_else(|| {
                                error(
                                    shown,
                                    body,
                                    at,
                                    "period: expected 10 or 60 (seconds): the only periods the Rate Limiting binding has",
                                )
                            })?;
                    period = Some(value as u64);
                }
                _ => return Ok(false),
            }
            Ok(true)
        },
    )?;
    let missing = |field: &str| error(shown, body, at, format!("ratelimits.{name} has no {field}"));
    Ok(RateLimit {
        name: name.to_string(),
        limit: limit.ok_or_else(|| missing("limit"))?,
        period: period.ok_or_else(|| missing("period"))?,
        places,
    })
}

/// A `[counters.BINDING]` table.
fn read_counter(
    shown: &str,
    body: &str,
    binding: &str,
    item: &Item,
    at: usize,
) -> Result<Counter, BadInput> {
    let places = read_binding_table(
        (shown, body),
        ("counters", binding),
        (item, at),
        "a counter binding has envs, top_level",
        &mut |_, _, _| Ok(false),
    )?;
    Ok(Counter {
        binding: binding.to_string(),
        places,
    })
}

/// A dataset name for `metrics`: letters, digits and `_`, not starting with a
/// digit (a plain SQL identifier, so the printed query needs no quoting).
pub fn check_dataset(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "dataset {}: expected letters, digits and '_' (not starting with a digit), at most 64 characters",
            crate::names::show(name)
        ))
    }
}

/// Every binding name of the design is one property of the Worker's Env:
/// two tables naming the same binding, or the metrics binding, are refused;
/// the namespaces counted in one metrics binding share its dataset.
fn check_bindings(
    shown: &str,
    body: &str,
    doc: &Document<&str>,
    design: &Design,
) -> Result<(), BadInput> {
    let root = doc.as_table();
    let place = |table: &str, name: &str| {
        root.get(table)
            .and_then(Item::as_table_like)
            .map_or(0, |t| key_at(t, name))
    };
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let names = design
        .namespaces
        .iter()
        .map(|n| ("namespaces", n.binding.as_str()))
        .chain(
            design
                .ratelimits
                .iter()
                .map(|r| ("ratelimits", r.name.as_str())),
        )
        .chain(
            design
                .counters
                .iter()
                .map(|c| ("counters", c.binding.as_str())),
        );
    let metrics_used = design.namespaces.iter().any(|n| n.metrics.is_some());
    for (table, name) in names {
        if let Some((other, _)) = seen.iter().find(|(_, n)| *n == name) {
            return Err(error(
                shown,
                body,
                place(table, name),
                format!(
                    "{table}.{name}: {other}.{name} has that binding name already (each binding is one property of the Worker's Env)"
                ),
            ));
        }
        if metrics_used && name == METRICS_BINDING {
            return Err(error(
                shown,
                body,
                place(table, name),
                format!(
                    "{table}.{name}: {METRICS_BINDING} is the Analytics Engine binding of the cache metrics"
                ),
            ));
        }
        seen.push((table, name));
    }
    // The Rust ratelimit module has a constant per limiter, named after it.
    let mut constants: Vec<(String, &str)> = Vec::new();
    for r in &design.ratelimits {
        use heck::ToShoutySnakeCase;
        let constant = r.name.to_shouty_snake_case();
        let at = place("ratelimits", &r.name);
        let reserved = [
            "DEFAULT_PERIOD",
            "LIMITERS",
            "CLIENT_IP_HEADER",
            "UNKNOWN_CLIENT",
        ];
        if !constant.starts_with(|c: char| c.is_ascii_uppercase())
            || !constant
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || reserved.contains(&constant.as_str())
        {
            return Err(error(
                shown,
                body,
                at,
                format!(
                    "ratelimits.{}: the generated Rust names a constant after the limiter, and {constant:?} cannot be one (use ASCII letters, digits and '_', starting with a letter, and none of {})",
                    r.name,
                    reserved.join(", ")
                ),
            ));
        }
        if let Some((_, other)) = constants.iter().find(|(c, _)| *c == constant) {
            return Err(error(
                shown,
                body,
                at,
                format!(
                    "ratelimits.{}: ratelimits.{other} gets the same constant {constant} in the generated Rust; rename one",
                    r.name
                ),
            ));
        }
        constants.push((constant, &r.name));
    }
    let mut datasets = design
        .namespaces
        .iter()
        .filter_map(|n| n.metrics.as_deref().map(|d| (n, d)));
    if let Some((first, dataset)) = datasets.next()
        && let Some((other, theirs)) = datasets.find(|(_, d)| d != &dataset)
    {
        return Err(error(
            shown,
            body,
            place("namespaces", &other.binding),
            format!(
                "namespaces.{}: metrics = {}, and namespaces.{} has metrics = {}: the {METRICS_BINDING} binding writes to one dataset",
                other.binding,
                crate::names::show(theirs),
                first.binding,
                crate::names::show(dataset)
            ),
        ));
    }
    Ok(())
}

fn read_settings(
    shown: &str,
    body: &str,
    item: &Item,
    at: usize,
    design: &mut Design,
) -> Result<(), BadInput> {
    let table = item
        .as_table_like()
        .ok_or_else(|| error(shown, body, at, "`kvgen` is not a table"))?;
    for (key, item) in table.iter() {
        let at = item_at(item).unwrap_or_else(|| key_at(table, key));
        match key {
            "lang" => {
                design.lang = Some(match string(shown, body, item, at, "lang")? {
                    "ts" => Lang::Ts,
                    "rust" => Lang::Rust,
                    "js" => Lang::Js,
                    other => {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!(
                                "lang = {}: expected \"ts\", \"js\" or \"rust\"",
                                crate::names::show(other)
                            ),
                        ));
                    }
                })
            }
            "dir" => {
                let dir = string(shown, body, item, at, "dir")?;
                check_dir(dir).map_err(|e| error(shown, body, at, e))?;
                design.dir = Some(dir.to_string());
            }
            other => {
                return Err(error(
                    shown,
                    body,
                    key_at(table, other),
                    format!(
                        "unknown key {} in [kvgen]: it has `lang` and `dir`",
                        crate::names::show(other)
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A module folder as the design names it: relative, plain names only.
pub fn check_dir(dir: &str) -> Result<(), String> {
    let plain = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    if dir.is_empty() || dir.starts_with('/') || !dir.split('/').all(plain) {
        return Err(format!(
            "dir = {}: expected a relative folder inside the project made of plain names (letters, digits, '-', '_', '.') separated by '/', e.g. \"src/kv\"",
            crate::names::show(dir)
        ));
    }
    Ok(())
}

const FIELDS: &str =
    "title, purpose, envs, top_level, default_ttl, modules, dir, cron, cookie, metrics, keys";

fn read_namespace(
    shown: &str,
    body: &str,
    binding: &str,
    item: &Item,
    at: usize,
) -> Result<Namespace, BadInput> {
    crate::names::binding(binding).map_err(|e| error(shown, body, at, e.0))?;
    let table = item.as_table_like().ok_or_else(|| {
        error(
            shown,
            body,
            at,
            format!("`namespaces.{binding}` is not a table"),
        )
    })?;
    let mut ns = Namespace::new(binding);
    let mut ttl_at = at;
    let mut modules_at = at;
    for (key, item) in table.iter() {
        let at = item_at(item).unwrap_or_else(|| key_at(table, key));
        if read_place(
            shown,
            body,
            key,
            item,
            at,
            (&mut ns.envs, &mut ns.top_level),
        )? {
            continue;
        }
        match key {
            "title" => {
                let title = string(shown, body, item, at, key)?;
                crate::names::namespace(title).map_err(|e| error(shown, body, at, e.0))?;
                ns.title = Some(title.to_string());
            }
            "purpose" => {
                let word = string(shown, body, item, at, key)?;
                ns.purpose = Some(
                    Purpose::ALL
                        .into_iter()
                        .find(|p| p.word() == word)
                        .ok_or_else(|| {
                            error(
                                shown,
                                body,
                                at,
                                format!(
                                    "purpose = {}: expected one of cache, sessions, flags, config, data",
                                    crate::names::show(word)
                                ),
                            )
                        })?,
                );
            }
            "default_ttl" => {
                ttl_at = at;
                ns.default_ttl = Some(read_ttl(shown, body, item, at, "default_ttl")?);
            }
            "modules" => {
                modules_at = at;
                for (word, at) in strings(shown, body, item, at, key)? {
                    let module = Module::from_word(word).ok_or_else(|| {
                        let all: Vec<&str> = Module::ALL.iter().map(|m| m.word()).collect();
                        error(
                            shown,
                            body,
                            at,
                            format!(
                                "unknown module {}: kvgen generates {}",
                                crate::names::show(word),
                                all.join(", ")
                            ),
                        )
                    })?;
                    if ns.modules.contains(&module) {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!("modules lists {} twice", crate::names::show(word)),
                        ));
                    }
                    ns.modules.push(module);
                }
            }
            "dir" => {
                let dir = string(shown, body, item, at, key)?;
                check_dir(dir).map_err(|e| error(shown, body, at, e))?;
                ns.dir = Some(dir.to_string());
            }
            "cron" => {
                let expr = string(shown, body, item, at, key)?;
                let checked = crate::cron::check(expr).map_err(|e| {
                    error(
                        shown,
                        body,
                        at,
                        format!("cron = {}: {e}", crate::names::show(expr)),
                    )
                })?;
                ns.cron = Some(checked);
            }
            "cookie" => {
                let name = string(shown, body, item, at, key)?;
                crate::names::cookie_name(name).map_err(|e| error(shown, body, at, e.0))?;
                ns.cookie = Some(name.to_string());
            }
            "metrics" => {
                let dataset = string(shown, body, item, at, key)?;
                check_dataset(dataset)
                    .map_err(|e| error(shown, body, at, format!("metrics: {e}")))?;
                ns.metrics = Some(dataset.to_string());
            }
            "keys" => {
                let keys = item.as_table_like().ok_or_else(|| {
                    error(shown, body, key_at(table, key), "`keys` is not a table")
                })?;
                for (name, item) in keys.iter() {
                    let at = key_at(keys, name);
                    if ns.keys.len() == MAX_KEYS {
                        return Err(error(
                            shown,
                            body,
                            at,
                            format!(
                                "more than {MAX_KEYS} key patterns in namespaces.{binding}: kvgen designs at most {MAX_KEYS} per namespace"
                            ),
                        ));
                    }
                    ns.keys.push(read_key(shown, body, name, item, at)?);
                }
            }
            other => {
                return Err(error(
                    shown,
                    body,
                    key_at(table, other),
                    format!(
                        "unknown key {} in [namespaces.{binding}]: a namespace has {FIELDS}",
                        crate::names::show(other)
                    ),
                ));
            }
        }
    }
    bound_somewhere(
        shown,
        body,
        at,
        &format!("namespaces.{binding}"),
        (&ns.envs, ns.top_level),
    )?;
    if ns.cron.is_some() && !ns.modules.contains(&Module::Warm) {
        return Err(error(
            shown,
            body,
            key_at(table, "cron"),
            "cron runs the warm pattern: add \"warm\" to modules, or remove cron",
        ));
    }
    if ns.cookie.is_some() && !ns.modules.contains(&Module::Session) {
        return Err(error(
            shown,
            body,
            key_at(table, "cookie"),
            "cookie names the session cookie: add \"session\" to modules, or remove cookie",
        ));
    }
    if ns.metrics.is_some()
        && !ns
            .modules
            .iter()
            .any(|m| matches!(m, Module::Aside | Module::Swr))
    {
        return Err(error(
            shown,
            body,
            key_at(table, "metrics"),
            "metrics counts the lookups of the cache patterns: add \"aside\" or \"swr\" to modules, or remove metrics",
        ));
    }
    if ns.modules.contains(&Module::Session) {
        let max = MAX_SESSION_TTL;
        match ns.default_ttl {
            Some(Ttl::Never) => {
                return Err(error(
                    shown,
                    body,
                    ttl_at,
                    "a session needs a lifetime: default_ttl = \"none\" cannot go with the session module",
                ));
            }
            Some(Ttl::Seconds(s)) if s > max => {
                return Err(error(
                    shown,
                    body,
                    ttl_at,
                    format!(
                        "default_ttl = {s} is longer than a session can live ({max} s, 400 days: browsers cap a cookie's Max-Age there)"
                    ),
                ));
            }
            _ => {}
        }
    }
    let _ = modules_at;
    Ok(ns)
}

/// A `[types.NAME]` table: each field's value is a type expression.
fn read_type(
    shown: &str,
    body: &str,
    name: &str,
    item: &Item,
    at: usize,
) -> Result<crate::keys::TypeDef, BadInput> {
    use crate::keys::types;
    types::check_type_name(name).map_err(|e| error(shown, body, at, e))?;
    let table = item
        .as_table_like()
        .ok_or_else(|| error(shown, body, at, format!("`types.{name}` is not a table")))?;
    let mut fields = Vec::new();
    for (field, item) in table.iter() {
        let key_place = key_at(table, field);
        types::check_field_name(field)
            .map_err(|e| error(shown, body, key_place, format!("types.{name}: {e}")))?;
        let place = item_at(item).unwrap_or(key_place);
        let text = string(shown, body, item, place, field)?;
        let (ty, optional) = types::parse_field(text)
            .map_err(|e| error(shown, body, place, format!("types.{name}.{field}: {e}")))?;
        fields.push(crate::keys::Field {
            name: field.to_string(),
            ty,
            optional,
        });
    }
    Ok(crate::keys::TypeDef {
        name: name.to_string(),
        fields,
    })
}

const KEY_FIELDS: &str = "pattern, value, ttl, cache_ttl, about";

/// A `[namespaces.X.keys.NAME]` table.
fn read_key(
    shown: &str,
    body: &str,
    name: &str,
    item: &Item,
    at: usize,
) -> Result<crate::keys::KeyPattern, BadInput> {
    use crate::keys::{KeyPattern, ValueKind, pattern};
    if !pattern::is_identifier(name) {
        return Err(error(
            shown,
            body,
            at,
            format!(
                "key {name:?}: a key pattern's name is an identifier (letters, digits and _, not starting with a digit)"
            ),
        ));
    }
    let table = item
        .as_table_like()
        .ok_or_else(|| error(shown, body, at, format!("`keys.{name}` is not a table")))?;
    let mut key = KeyPattern {
        name: name.to_string(),
        pattern: String::new(),
        pieces: Vec::new(),
        value: ValueKind::Json,
        ttl: None,
        cache_ttl: None,
        about: None,
    };
    let mut has_pattern = false;
    for (field, item) in table.iter() {
        let place = item_at(item).unwrap_or_else(|| key_at(table, field));
        match field {
            "pattern" => {
                let text = string(shown, body, item, place, field)?;
                key.pieces = pattern::parse(text)
                    .map_err(|e| error(shown, body, place, format!("keys.{name}.pattern: {e}")))?;
                key.pattern = text.to_string();
                has_pattern = true;
            }
            "value" => {
                let text = string(shown, body, item, place, field)?;
                key.value = ValueKind::parse(text);
                if let ValueKind::Named(type_name) = &key.value
                    && !pattern::is_identifier(type_name)
                {
                    return Err(error(
                        shown,
                        body,
                        place,
                        format!(
                            "keys.{name}.value = {}: expected a type of [types], or \"string\", \"json\" or \"bytes\"",
                            crate::names::show(text)
                        ),
                    ));
                }
            }
            "ttl" => key.ttl = Some(read_ttl(shown, body, item, place, "ttl")?),
            "cache_ttl" => match item.as_integer() {
                Some(s) if s >= 30 => key.cache_ttl = Some(s as u64),
                _ => {
                    return Err(error(
                        shown,
                        body,
                        place,
                        "cache_ttl: expected a whole number of seconds, at least 30 (the Workers KV minimum)",
                    ));
                }
            },
            "about" => {
                let text = string(shown, body, item, place, field)?;
                if text.chars().any(crate::keys::is_hidden) {
                    return Err(error(
                        shown,
                        body,
                        place,
                        "about: one line of text, no control or invisible characters",
                    ));
                }
                key.about = Some(text.to_string());
            }
            other => {
                return Err(error(
                    shown,
                    body,
                    key_at(table, other),
                    format!(
                        "unknown key {} in keys.{name}: a key pattern has {KEY_FIELDS}",
                        crate::names::show(other)
                    ),
                ));
            }
        }
    }
    if !has_pattern {
        return Err(error(
            shown,
            body,
            at,
            format!("keys.{name} has no `pattern`"),
        ));
    }
    Ok(key)
}

/// The rules across tables: every type named exists, no type contains
/// itself, no two patterns of a namespace can produce one key; patterns
/// whose listing prefixes overlap are a warning.
fn check_keys(
    shown: &str,
    body: &str,
    doc: &Document<&str>,
    design: &mut Design,
) -> Result<(), BadInput> {
    let root = doc.as_table();
    let type_at = |name: &str| {
        root.get("types")
            .and_then(Item::as_table_like)
            .map_or(0, |t| key_at(t, name))
    };
    let key_table = |binding: &str| {
        root.get("namespaces")
            .and_then(Item::as_table_like)
            .and_then(|t| t.get(binding))
            .and_then(Item::as_table_like)
            .and_then(|t| t.get("keys"))
            .and_then(Item::as_table_like)
    };
    let known = |name: &str| design.types.iter().any(|t| t.name == name);
    for def in &design.types {
        for field in &def.fields {
            for name in field.ty.names() {
                if !known(name) {
                    let place = root
                        .get("types")
                        .and_then(Item::as_table_like)
                        .and_then(|t| t.get(&def.name))
                        .and_then(Item::as_table_like)
                        .and_then(|t| t.get(&field.name))
                        .and_then(item_at)
                        .unwrap_or(type_at(&def.name));
                    return Err(error(
                        shown,
                        body,
                        place,
                        format!(
                            "types.{}.{}: no type {name:?} in [types]",
                            def.name, field.name
                        ),
                    ));
                }
            }
        }
    }
    if let Some(cycle) = crate::keys::types::cycle(&design.types) {
        return Err(error(
            shown,
            body,
            type_at(&cycle[0]),
            format!(
                "types {} contain themselves, so no value could ever be complete; break the cycle",
                cycle.join(" -> ")
            ),
        ));
    }
    let depths = crate::keys::types::nesting(&design.types);
    if let Some((def, depth)) = design
        .types
        .iter()
        .zip(depths)
        .find(|(_, depth)| *depth > crate::keys::types::MAX_NESTING)
    {
        return Err(error(
            shown,
            body,
            type_at(&def.name),
            format!(
                "type {}: its values nest {depth} levels of objects and arrays; at most {} (Rust's JSON reader stops at 128)",
                def.name,
                crate::keys::types::MAX_NESTING
            ),
        ));
    }
    let mut warnings = Vec::new();
    let mut budget = crate::keys::pattern::COLLISION_BUDGET;
    for ns in &design.namespaces {
        let table = key_table(&ns.binding);
        let place = |name: &str, field: &str| {
            table
                .and_then(|t| t.get(name))
                .and_then(Item::as_table_like)
                .and_then(|t| t.get(field))
                .and_then(item_at)
                .unwrap_or_else(|| table.map_or(0, |t| key_at(t, name)))
        };
        for key in &ns.keys {
            if let crate::keys::ValueKind::Named(name) = &key.value
                && !known(name)
            {
                return Err(error(
                    shown,
                    body,
                    place(&key.name, "value"),
                    format!("keys.{}.value: no type {name:?} in [types]", key.name),
                ));
            }
        }
        // Names the generated code gives keys and params must stay apart
        // in both languages (`user_id` and `userId` are one name there).
        for (i, a) in ns.keys.iter().enumerate() {
            if let Some(b) = ns.keys[..i]
                .iter()
                .find(|b| same_key_name(&a.name, &b.name))
            {
                return Err(error(
                    shown,
                    body,
                    table.map_or(0, |t| key_at(t, &a.name)),
                    format!(
                        "namespaces.{}: keys {:?} and {:?} are one name in the generated code ({} in TypeScript); rename one",
                        ns.binding,
                        b.name,
                        a.name,
                        crate::keys::ts_namespaces::property_name(&a.name)
                    ),
                ));
            }
            if let Some((q, p)) = crate::keys::rust_namespaces::param_collisions(a).first() {
                return Err(error(
                    shown,
                    body,
                    place(&a.name, "pattern"),
                    format!(
                        "keys.{}.pattern: params {{{q}}} and {{{p}}} are one name in Rust; rename one",
                        a.name
                    ),
                ));
            }
        }
        let mut overlaps = 0;
        for (i, a) in ns.keys.iter().enumerate() {
            for b in &ns.keys[i + 1..] {
                let collide = crate::keys::pattern::can_collide(&a.pieces, &b.pieces, &mut budget)
                    .map_err(|_| {
                        error(
                            shown,
                            body,
                            place(&b.name, "pattern"),
                            format!(
                                "namespaces.{}: the key patterns are too intricate to check that no two can produce one key (params against params, hundreds of times); use fewer params",
                                ns.binding
                            ),
                        )
                    })?;
                if collide {
                    return Err(error(
                        shown,
                        body,
                        place(&b.name, "pattern"),
                        format!(
                            "namespaces.{}: patterns {:?} ({}) and {:?} ({}) can produce the same key, so a read could not tell which value it holds; make a literal part differ",
                            ns.binding, a.pattern, a.name, b.pattern, b.name
                        ),
                    ));
                }
                let (pa, pb) = (a.list_prefix(), b.list_prefix());
                if pa.starts_with(&pb) || pb.starts_with(&pa) {
                    overlaps += 1;
                    if overlaps <= MAX_OVERLAP_WARNINGS {
                        warnings.push(format!(
                            "namespaces.{}: the listing prefixes of {:?} ({}) and {:?} ({}) overlap: each one's list() reads the other's keys too and keeps only the names that match its own pattern",
                            ns.binding, a.pattern, a.name, b.pattern, b.name
                        ));
                    }
                }
            }
        }
        if overlaps > MAX_OVERLAP_WARNINGS {
            warnings.push(format!(
                "namespaces.{}: {} more pairs of key patterns have overlapping listing prefixes",
                ns.binding,
                overlaps - MAX_OVERLAP_WARNINGS
            ));
        }
    }
    let keyed: Vec<&Namespace> = design
        .namespaces
        .iter()
        .filter(|n| !n.keys.is_empty())
        .collect();
    for (i, a) in keyed.iter().enumerate() {
        if let Some(b) = keyed[..i]
            .iter()
            .find(|b| same_factory(&a.binding, &b.binding))
        {
            return Err(error(
                shown,
                body,
                key_table(&a.binding)
                    .and_then(|t| t.iter().next().map(|(name, _)| key_at(t, name)))
                    .unwrap_or(0),
                format!(
                    "namespaces {} and {} both have typed keys, and their factories would have one name ({}); give one of them keys under another binding",
                    b.binding,
                    a.binding,
                    crate::keys::ts_namespaces::factory_name(&a.binding)
                ),
            ));
        }
    }
    design.warnings = warnings;
    Ok(())
}

/// Whether two key patterns' accessors are one name in the generated code
/// (`user_id` and `userId`: `userId` in TypeScript, `user_id` in Rust).
fn same_key_name(a: &str, b: &str) -> bool {
    use crate::keys::{rust_namespaces, ts_namespaces};
    ts_namespaces::property_name(a) == ts_namespaces::property_name(b)
        || rust_namespaces::field_name(a) == rust_namespaces::field_name(b)
}

/// Whether two namespaces' factories of typed keys are one name.
fn same_factory(a: &str, b: &str) -> bool {
    use crate::keys::{rust_namespaces, ts_namespaces};
    ts_namespaces::factory_name(a) == ts_namespaces::factory_name(b)
        || rust_namespaces::factory_name(a) == rust_namespaces::factory_name(b)
}

fn read_ttl(shown: &str, body: &str, item: &Item, at: usize, field: &str) -> Result<Ttl, BadInput> {
    match item.as_value() {
        Some(Value::String(s)) if s.value() == "none" => Ok(Ttl::Never),
        Some(Value::Integer(i)) if (60..=crate::commands::MAX_TTL as i64).contains(i.value()) => {
            Ok(Ttl::Seconds(*i.value() as u64))
        }
        _ => Err(error(
            shown,
            body,
            at,
            format!(
                "{field}: expected a whole number of seconds from 60 (the Workers KV minimum) to {} (100 years), or \"none\"",
                crate::commands::MAX_TTL
            ),
        )),
    }
}

fn string<'i>(
    shown: &str,
    body: &str,
    item: &'i Item,
    at: usize,
    key: &str,
) -> Result<&'i str, BadInput> {
    item.as_str()
        .ok_or_else(|| error(shown, body, at, format!("{key}: expected a string")))
}

fn strings<'i>(
    shown: &str,
    body: &str,
    item: &'i Item,
    at: usize,
    key: &str,
) -> Result<Vec<(&'i str, usize)>, BadInput> {
    let array = item.as_array().ok_or_else(|| {
        error(
            shown,
            body,
            at,
            format!("{key}: expected an array of strings"),
        )
    })?;
    array
        .iter()
        .map(|value| {
            let at = value.span().map_or(at, |s| s.start);
            value
                .as_str()
                .map(|s| (s, at))
                .ok_or_else(|| error(shown, body, at, format!("{key}: expected strings")))
        })
        .collect()
}

/// A new design file holding `design`.
pub fn render(design: &Design) -> String {
    let mut out = String::from(HEADER);
    if design.lang.is_some() || design.dir.is_some() {
        out.push_str("[kvgen]\n");
        if let Some(lang) = design.lang {
            out.push_str(&format!("lang = \"{}\"\n", lang_word(lang)));
        }
        if let Some(dir) = &design.dir {
            out.push_str(&format!("dir = {}\n", toml_text::quote(dir, None)));
        }
    }
    for ns in &design.namespaces {
        out.push('\n');
        out.push_str(&namespace_block(ns));
    }
    for record in design
        .ratelimits
        .iter()
        .cloned()
        .map(Record::RateLimit)
        .chain(design.counters.iter().cloned().map(Record::Counter))
    {
        out.push('\n');
        out.push_str(&record.block());
    }
    out
}

pub fn lang_word(lang: Lang) -> &'static str {
    match lang {
        Lang::Ts => "ts",
        Lang::Js => "js",
        Lang::Rust => "rust",
    }
}

/// The fields of a namespace as `key = value` lines (defaults left out), in
/// the order of the design file's documentation.
fn fields(ns: &Namespace) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(title) = &ns.title {
        out.push(("title", toml_text::quote(title, None)));
    }
    if let Some(purpose) = ns.purpose {
        out.push(("purpose", format!("\"{}\"", purpose.word())));
    }
    if !ns.envs.is_empty() {
        out.push(("envs", string_array(ns.envs.iter().map(String::as_str))));
    }
    if !ns.top_level {
        out.push(("top_level", "false".to_string()));
    }
    if let Some(ttl) = ns.default_ttl {
        out.push(("default_ttl", ttl.toml()));
    }
    if !ns.modules.is_empty() {
        out.push(("modules", string_array(ns.modules.iter().map(|m| m.word()))));
    }
    if let Some(dir) = &ns.dir {
        out.push(("dir", toml_text::quote(dir, None)));
    }
    if let Some(cron) = &ns.cron {
        out.push(("cron", toml_text::quote(cron, None)));
    }
    if let Some(cookie) = &ns.cookie {
        out.push(("cookie", toml_text::quote(cookie, None)));
    }
    if let Some(dataset) = &ns.metrics {
        out.push(("metrics", toml_text::quote(dataset, None)));
    }
    out
}

/// A table of the design a command records: a namespace, a rate limiter or
/// a counter binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Namespace(Namespace),
    RateLimit(RateLimit),
    Counter(Counter),
}

impl Record {
    fn table(&self) -> &'static str {
        match self {
            Record::Namespace(_) => "namespaces",
            Record::RateLimit(_) => "ratelimits",
            Record::Counter(_) => "counters",
        }
    }

    /// The binding's name.
    pub fn name(&self) -> &str {
        match self {
            Record::Namespace(ns) => &ns.binding,
            Record::RateLimit(r) => &r.name,
            Record::Counter(c) => &c.binding,
        }
    }

    pub fn targets(&self) -> Vec<Option<String>> {
        match self {
            Record::Namespace(ns) => ns.targets(),
            Record::RateLimit(r) => r.places.targets(),
            Record::Counter(c) => c.places.targets(),
        }
    }

    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Record::Namespace(ns) => fields(ns),
            Record::RateLimit(r) => {
                let mut out = vec![
                    ("limit", r.limit.to_string()),
                    ("period", r.period.to_string()),
                ];
                r.places.fields(&mut out);
                out
            }
            Record::Counter(c) => {
                let mut out = Vec::new();
                c.places.fields(&mut out);
                out
            }
        }
    }

    /// This table as `design` has it.
    pub fn find(&self, design: &Design) -> Option<Record> {
        let name = self.name();
        match self {
            Record::Namespace(_) => design.namespace(name).cloned().map(Record::Namespace),
            Record::RateLimit(_) => design
                .ratelimits
                .iter()
                .find(|r| r.name == name)
                .cloned()
                .map(Record::RateLimit),
            Record::Counter(_) => design
                .counters
                .iter()
                .find(|c| c.binding == name)
                .cloned()
                .map(Record::Counter),
        }
    }

    /// `design` with this table in place of its own (or added).
    fn put(&self, design: &mut Design) {
        fn replace<T: Clone>(list: &mut Vec<T>, want: &T, same: impl Fn(&T) -> bool) {
            match list.iter_mut().find(|t| same(t)) {
                Some(t) => *t = want.clone(),
                None => list.push(want.clone()),
            }
        }
        match self {
            Record::Namespace(ns) => {
                replace(&mut design.namespaces, ns, |n| n.binding == ns.binding)
            }
            Record::RateLimit(r) => replace(&mut design.ratelimits, r, |o| o.name == r.name),
            Record::Counter(c) => replace(&mut design.counters, c, |o| o.binding == c.binding),
        }
    }

    /// The edit rounds it may take: one per array element added, and one
    /// for the rest.
    fn rounds(&self) -> usize {
        match self {
            Record::Namespace(ns) => ns.envs.len() + ns.modules.len() + 2,
            Record::RateLimit(RateLimit { places, .. })
            | Record::Counter(Counter { places, .. }) => places.envs.len() + 2,
        }
    }

    fn block(&self) -> String {
        let mut out = format!("[{}.{}]\n", self.table(), toml_text::key_text(self.name()));
        for (key, value) in self.fields() {
            out.push_str(&format!("{key} = {value}\n"));
        }
        out
    }
}

fn string_array<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.map(|s| toml_text::quote(s, None)).collect();
    format!("[{}]", items.join(", "))
}

fn namespace_block(ns: &Namespace) -> String {
    Record::Namespace(ns.clone()).block()
}

/// The design file after `want` replaces the namespace of its binding (or
/// is added), edited in place. `raw` is the file as it is (None: missing,
/// then `settings` gives its `[kvgen]` table).
pub fn with_namespace(
    raw: Option<&str>,
    shown: &str,
    settings: &Design,
    want: &Namespace,
) -> Result<String, BadInput> {
    with_record(raw, shown, settings, &Record::Namespace(want.clone()))
}

/// The design file after `want` replaces the table of its name (or is
/// added), edited in place, as [`with_namespace`] does for namespaces.
pub fn with_record(
    raw: Option<&str>,
    shown: &str,
    settings: &Design,
    want: &Record,
) -> Result<String, BadInput> {
    let Some(raw) = raw else {
        let mut design = Design {
            lang: settings.lang,
            dir: settings.dir.clone(),
            ..Design::default()
        };
        want.put(&mut design);
        return Ok(render(&design));
    };
    let before = parse(raw, shown)?;
    let mut expected = before.clone();
    want.put(&mut expected);
    // One round of edits at a time: an array gains one element a round, so
    // each round's places are those of the text it edits.
    let mut current = raw.to_string();
    for _ in 0..want.rounds() {
        let design = parse(&current, shown)?;
        if want.find(&design).as_ref() == Some(want) {
            break;
        }
        match edit_round(&current, shown, &design, want)? {
            Some(next) => current = next,
            None => break,
        }
    }
    match parse(&current, shown) {
        Ok(after) if after == expected => Ok(current),
        _ => Err(BadInput::new(format!(
            "{shown}: kvgen could not record {}.{} in this file without changing the rest of its meaning; edit it by hand, then run `kvgen sync`",
            want.table(),
            want.name()
        ))),
    }
}

/// What `kvgen key add` does to the design file.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyEdit {
    /// The namespace has this key pattern already, as given.
    Same,
    /// The namespace has a key of that name, different: the pattern it has.
    Differs(crate::keys::KeyPattern),
    /// The design file with the key pattern added.
    Added(String),
}

/// The table of a key pattern, as `kvgen key add` appends it.
fn key_block(binding: &str, key: &crate::keys::KeyPattern) -> String {
    let mut out = format!(
        "[namespaces.{}.keys.{}]\n",
        toml_text::key_text(binding),
        toml_text::key_text(&key.name)
    );
    out.push_str(&format!(
        "pattern = {}\n",
        toml_text::quote(&key.pattern, None)
    ));
    out.push_str(&format!(
        "value = {}\n",
        toml_text::quote(key.value.word(), None)
    ));
    match key.ttl {
        Some(Ttl::Seconds(s)) => out.push_str(&format!("ttl = {s}\n")),
        Some(Ttl::Never) => out.push_str("ttl = \"none\"\n"),
        None => {}
    }
    if let Some(cache_ttl) = key.cache_ttl {
        out.push_str(&format!("cache_ttl = {cache_ttl}\n"));
    }
    if let Some(about) = &key.about {
        out.push_str(&format!("about = {}\n", toml_text::quote(about, None)));
    }
    out
}

/// Inserts `block` (a table) at the end of `body`: after a blank line,
/// keeping a missing final newline missing.
fn append_block(splice: &mut Splice, body: &str, block: &str) {
    let text = if body.trim().is_empty() {
        format!("{HEADER}\n{block}")
    } else if !body.ends_with('\n') {
        // A file without a final newline keeps it missing.
        format!("\n\n{}", block.strip_suffix('\n').unwrap_or(block))
    } else if crate::text::is_blank_line(body, crate::text::line_start(body, body.len() - 1)) {
        block.to_string()
    } else {
        format!("\n{block}")
    };
    let at = if body.trim().is_empty() {
        0
    } else {
        body.len()
    };
    splice.insert(body, at, &text);
}

/// The design file with key pattern `key` added to namespace `binding`, as
/// a table appended at the end. The result is read again with every rule
/// of the design (a collision with another pattern, an unknown type) and
/// must be the old design plus the key, or the edit is refused.
pub fn with_key(
    raw: &str,
    shown: &str,
    binding: &str,
    key: &crate::keys::KeyPattern,
) -> Result<KeyEdit, BadInput> {
    let before = parse(raw, shown)?;
    let Some(index) = before.namespaces.iter().position(|n| n.binding == binding) else {
        return Err(BadInput::new(format!(
            "{shown}: no namespace {binding}; key patterns belong to a namespace of the design (add it with e.g. `kvgen create NAME --binding {binding}`, or a [namespaces.{binding}] table)"
        )));
    };
    if let Some(old) = before.namespaces[index]
        .keys
        .iter()
        .find(|k| k.name == key.name)
    {
        return Ok(if old == key {
            KeyEdit::Same
        } else {
            KeyEdit::Differs(old.clone())
        });
    }
    let text = Text::new(raw);
    let lf = text.lf();
    let mut splice = Splice::new();
    append_block(&mut splice, &lf, &key_block(binding, key));
    // New lines get the line ending most of the file uses.
    let out = text.finish(&splice.apply(&lf));
    let mut expected = before.clone();
    expected.namespaces[index].keys.push(key.clone());
    match parse(&out, shown) {
        Ok(after) if after.namespaces == expected.namespaces && after.types == expected.types => {
            Ok(KeyEdit::Added(out))
        }
        // The rules of the design, about the key: said without the place
        // (it is in the text that would have been written).
        Err(e) => Err(BadInput::new(format!(
            "{shown}: keys.{} cannot be added to {binding}: {}",
            key.name,
            without_place(&e.0, shown)
        ))),
        Ok(_) => Err(BadInput::new(format!(
            "{shown}: kvgen could not add keys.{} to namespaces.{binding} in this file without changing the rest of its meaning; add the table by hand, then run `kvgen sync`",
            key.name
        ))),
    }
}

/// A message of [`parse`] without its `FILE:LINE:COL: ` prefix.
fn without_place<'a>(message: &'a str, shown: &str) -> &'a str {
    message
        .strip_prefix(shown)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.splitn(3, ':').nth(2))
        .map(str::trim_start)
        .unwrap_or(message)
}

/// One round of edits of `raw` towards `want`; None when there is nothing
/// to do.
fn edit_round(
    raw: &str,
    shown: &str,
    before: &Design,
    want: &Record,
) -> Result<Option<String>, BadInput> {
    let text = Text::new(raw);
    let body = text.body;
    let doc = Document::parse(body).expect("parsed by the caller");
    let root = doc.as_table();
    let mut splice = Splice::new();
    match want.find(before) {
        None => append_block(&mut splice, body, &want.block()),
        Some(old) => {
            let table = root
                .get(want.table())
                .and_then(Item::as_table_like)
                .and_then(|t| t.get(want.name()))
                .expect("parse found the table");
            edit_fields(
                &mut splice,
                shown,
                body,
                table,
                &old.fields(),
                &want.fields(),
            )?;
        }
    }
    if splice.is_empty() {
        return Ok(None);
    }
    let edited = splice.apply(body);
    let mut out = String::with_capacity(edited.len() + 3);
    if text.bom {
        out.push('\u{feff}');
    }
    out.push_str(&edited);
    Ok(Some(out))
}

/// Puts the fields of `want` that differ from `old` into the namespace's
/// table: a value replaced where the field is written, an array extended
/// when only elements were added, a new line (or inline pair) otherwise.
fn edit_fields(
    splice: &mut Splice,
    shown: &str,
    body: &str,
    item: &Item,
    old: &[(&'static str, String)],
    want: &[(&'static str, String)],
) -> Result<(), BadInput> {
    let table = item.as_table_like().expect("a namespace is a table");
    let mut new_lines = Vec::new();
    for (key, value) in want {
        let before = old.iter().find(|(k, _)| k == key).map(|(_, v)| v);
        if before == Some(value) {
            continue;
        }
        match table.get(key) {
            Some(existing) => {
                let Some(existing) = existing.as_value() else {
                    return Err(error(
                        shown,
                        body,
                        key_at(table, key),
                        format!("{key}: expected a value"),
                    ));
                };
                if let (Value::Array(array), Some(added)) =
                    (existing, appended(existing, value.as_str()))
                {
                    // One element a round (see `with_namespace`).
                    if let Some(element) = added.first() {
                        toml_text::push_to_array(splice, body, array, element);
                    }
                    continue;
                }
                let span = existing_value_span(existing);
                splice.replace(span, value.clone());
            }
            None => new_lines.push((*key, value.clone())),
        }
    }
    // A field written as `top_level = false` goes back to the default by
    // being set to true; fields are never removed.
    for (key, _) in old {
        if !want.iter().any(|(k, _)| k == key) && *key == "top_level" {
            let existing = table
                .get(key)
                .and_then(Item::as_value)
                .expect("read before");
            splice.replace(existing_value_span(existing), "true".to_string());
        }
    }
    if new_lines.is_empty() {
        return Ok(());
    }
    match item {
        Item::Value(Value::InlineTable(inline)) => {
            toml_text::add_to_inline_table(splice, body, inline, &new_lines);
        }
        Item::Table(t) if !t.is_dotted() => {
            // After the table's last value, else right after its header.
            let last = t
                .iter()
                .filter_map(|(_, item)| item.as_value().and_then(Value::span))
                .map(|s| s.end)
                .max();
            let at = match last {
                Some(end) => next_line_start(body, end),
                None => next_line_start(body, t.span().map_or(0, |s| s.end)),
            };
            let lines: String = new_lines
                .iter()
                .map(|(k, v)| format!("{k} = {v}\n"))
                .collect();
            toml_text::insert_lines(splice, body, at, &lines);
        }
        _ => {
            return Err(error(
                shown,
                body,
                item_at(item).unwrap_or(0),
                "kvgen edits a namespace written as a [namespaces.BINDING] table or an inline table; rewrite this one as a table",
            ));
        }
    }
    Ok(())
}

fn existing_value_span(value: &Value) -> Range<usize> {
    value.span().expect("parsed values have spans")
}

/// The elements `want` (an array's TOML text) has after those of
/// `existing`, when it starts with them; None otherwise.
fn appended(existing: &Value, want: &str) -> Option<Vec<String>> {
    let existing = existing.as_array()?;
    let wanted: Value = want.parse().ok()?;
    let wanted = wanted.as_array()?;
    let old: Vec<&str> = existing.iter().map(Value::as_str).collect::<Option<_>>()?;
    let new: Vec<&str> = wanted.iter().map(Value::as_str).collect::<Option<_>>()?;
    if new.len() <= old.len() || new[..old.len()] != old[..] {
        return None;
    }
    Some(
        new[old.len()..]
            .iter()
            .map(|s| toml_text::quote(s, None))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache() -> Namespace {
        Namespace {
            title: Some("cache".into()),
            purpose: Some(Purpose::Cache),
            default_ttl: Some(Ttl::Seconds(3600)),
            modules: vec![Module::Aside, Module::Swr],
            ..Namespace::new("CACHE")
        }
    }

    #[test]
    fn a_new_file_reads_back_as_its_design() {
        let design = Design {
            lang: Some(Lang::Ts),
            dir: Some("src/kv".into()),
            namespaces: vec![cache()],
            ..Design::default()
        };
        let text = render(&design);
        assert_eq!(parse(&text, "kvgen.toml").unwrap(), design);
        assert!(text.starts_with("# kvgen.toml"), "{text}");
    }

    #[test]
    fn edits_keep_comments_and_order() {
        let raw = "# mine\n[kvgen]\ndir = \"src/kv\" # here\n\n[namespaces.CACHE]  # the cache\ntitle = \"cache\"\nmodules = [\n  \"aside\", # first\n]\n# trailing\n\n[namespaces.OTHER]\n";
        let mut want = parse(raw, "k").unwrap().namespaces[0].clone();
        want.modules.push(Module::Swr);
        want.default_ttl = Some(Ttl::Seconds(120));
        let out = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap();
        assert_eq!(
            out,
            "# mine\n[kvgen]\ndir = \"src/kv\" # here\n\n[namespaces.CACHE]  # the cache\ntitle = \"cache\"\nmodules = [\n  \"aside\", # first\n  \"swr\",\n]\ndefault_ttl = 120\n# trailing\n\n[namespaces.OTHER]\n"
        );
        // The same again changes nothing.
        assert_eq!(
            with_namespace(Some(&out), "k", &Design::default(), &want).unwrap(),
            out
        );
    }

    #[test]
    fn a_new_namespace_goes_at_the_end_and_inline_tables_are_extended() {
        let raw = "namespaces.A = { purpose = \"data\" }\r\n";
        let mut want = parse(raw, "k").unwrap().namespaces[0].clone();
        want.modules = vec![Module::Bulk];
        let out = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap();
        assert_eq!(
            out,
            "namespaces.A = { purpose = \"data\", modules = [\"bulk\"] }\r\n"
        );
        let out = with_namespace(Some(&out), "k", &Design::default(), &cache()).unwrap();
        assert!(out.ends_with("\r\n\r\n[namespaces.CACHE]\r\ntitle = \"cache\"\r\npurpose = \"cache\"\r\ndefault_ttl = 3600\r\nmodules = [\"aside\", \"swr\"]\r\n"), "{out:?}");
        assert_eq!(parse(&out, "k").unwrap().namespaces.len(), 2);
    }

    #[test]
    fn unknown_and_invalid_fields_are_errors_with_their_place() {
        let cases = [
            (
                "[namespaces.CACHE]\ntitel = \"x\"\n",
                "k:2:1: unknown key \"titel\"",
            ),
            (
                "[namespaces.CACHE]\ndefault_ttl = 30\n",
                "k:2:15: default_ttl",
            ),
            (
                "[namespaces.CACHE]\nmodules = [\"aside\", \"nope\"]\n",
                "k:2:21: unknown module",
            ),
            (
                "[namespaces.CACHE]\npurpose = \"misc\"\n",
                "k:2:11: purpose",
            ),
            ("[namespaces.class]\n", "k:1:13: the binding \"class\""),
            (
                "[namespaces.A]\nenvs = [\"a\", \"a\"]\n",
                "k:2:14: envs lists",
            ),
            (
                "[namespaces.A]\ncron = \"* * * * *\"\n",
                "k:2:1: cron runs the warm",
            ),
            (
                "[namespaces.A]\ntop_level = false\n",
                "k:1:13: namespaces.A is bound nowhere",
            ),
            ("[kvgen]\nlang = \"go\"\n", "k:2:8: lang"),
            ("[kvgen]\ndir = \"../x\"\n", "k:2:7: dir"),
            ("[extra]\n", "k:1:2: unknown table"),
            (
                "[namespaces.A.keys.user]\npattern = \"user:{id}{x}\"\n",
                "k:2:11: keys.user.pattern: {x} follows another param",
            ),
            (
                "[namespaces.A.keys.user]\npattern = \"u:{id}\"\ncache_ttl = 10\n",
                "k:3:13: cache_ttl",
            ),
            (
                "[namespaces.A.keys.user]\npattern = \"u:{id}\"\nvalue = \"User\"\n",
                "k:3:9: keys.user.value: no type \"User\"",
            ),
            (
                "[namespaces.A.keys.a]\npattern = \"u:{id}\"\n[namespaces.A.keys.b]\npattern = \"u:{name}\"\n",
                "k:4:11: namespaces.A: patterns \"u:{id}\" (a) and \"u:{name}\" (b) can produce the same key",
            ),
            (
                "[types.A]\nb = \"B\"\n[types.B]\na = \"A[]?\"\n",
                "k:1:8: types A -> B -> A contain themselves",
            ),
            (
                "[types.A]\nb = \"Nope\"\n",
                "k:2:5: types.A.b: no type \"Nope\"",
            ),
            ("[types.post]\nid = \"string\"\n", "k:1:8: type \"post\""),
            (
                "[types.Post]\nid = \"strin\"\n",
                "k:2:6: types.Post.id: no type \"strin\"",
            ),
            (
                "[namespaces.A]\nmodules = [\"session\"]\ndefault_ttl = \"none\"\n",
                "k:3:15: a session needs",
            ),
            ("x = [\n", "k:1:6: invalid TOML"),
        ];
        for (raw, expected) in cases {
            let e = parse(raw, "k").unwrap_err().0;
            assert!(e.starts_with(expected), "{raw:?}: {e}");
        }
    }

    #[test]
    fn several_elements_go_into_a_multi_line_array_without_a_trailing_comma() {
        let raw = "[namespaces.CACHE]\nmodules = [\n  \"swr\"\n]\nenvs = [\n  \"a\" # first\n]\n";
        let mut want = parse(raw, "k").unwrap().namespaces[0].clone();
        want.modules
            .extend([Module::Aside, Module::Warm, Module::Invalidate]);
        want.envs.extend(["b".to_string(), "c".to_string()]);
        let out = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap();
        assert_eq!(
            out,
            "[namespaces.CACHE]\nmodules = [\n  \"swr\",\n  \"aside\",\n  \"warm\",\n  \"invalidate\"\n]\nenvs = [\n  \"a\", # first\n  \"b\",\n  \"c\"\n]\n"
        );
    }

    #[test]
    fn derived_titles_are_valid_titles() {
        for (binding, title) in [
            ("USER_CACHE", "user-cache"),
            ("_FLAGS", "flags"),
            ("$HOME", "home"),
            ("_", "kv"),
            ("$", "kv"),
            ("A__B", "a--b"),
        ] {
            assert_eq!(derived_title(binding), title);
            assert!(crate::names::namespace(&derived_title(binding)).is_ok());
        }
    }

    #[test]
    fn typed_keys_and_types_read_and_overlapping_prefixes_warn() {
        let raw = "[namespaces.CACHE]\npurpose = \"cache\"\n\n[namespaces.CACHE.keys.user]\npattern = \"user:{id}\"\nvalue = \"User\"\nttl = 600\ncache_ttl = 60\nabout = \"Users\"\n\n[namespaces.CACHE.keys.profile]\npattern = \"user:{id}:profile\"\nvalue = \"string\"\n\n[types.User]\nid = \"string\"\ntags = \"string[]\"\nviews = \"integer?\"\nstatus = \"'draft' | 'published'\"\n";
        let design = parse(raw, "k").unwrap();
        let keys = &design.namespaces[0].keys;
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].params(), ["id"]);
        assert_eq!(keys[0].ttl, Some(Ttl::Seconds(600)));
        assert_eq!(keys[0].cache_ttl, Some(60));
        assert_eq!(design.types[0].fields.len(), 4);
        assert!(design.types[0].fields[2].optional);
        assert_eq!(design.warnings.len(), 1, "{:?}", design.warnings);
        assert!(
            design.warnings[0]
                .contains("\"user:{id}\" (user) and \"user:{id}:profile\" (profile) overlap")
        );
        // A command edits the namespace's own fields and keeps its keys.
        let mut want = design.namespaces[0].clone();
        want.modules.push(Module::Aside);
        let out = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap();
        assert!(out.starts_with("[namespaces.CACHE]\npurpose = \"cache\"\nmodules = [\"aside\"]\n\n[namespaces.CACHE.keys.user]"), "{out}");
    }

    #[test]
    fn top_level_false_is_set_back_to_true() {
        let raw = "[namespaces.A]\nenvs = [\"staging\"]\ntop_level = false\n";
        let mut want = parse(raw, "k").unwrap().namespaces[0].clone();
        want.top_level = true;
        let out = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap();
        assert_eq!(
            out,
            "[namespaces.A]\nenvs = [\"staging\"]\ntop_level = true\n"
        );
    }

    #[test]
    fn namespaces_in_dotted_keys_are_refused_not_misedited() {
        let raw = "[namespaces]\nA.purpose = \"data\"\n";
        let mut want = parse(raw, "k").unwrap().namespaces[0].clone();
        want.modules = vec![Module::Bulk];
        let e = with_namespace(Some(raw), "k", &Design::default(), &want).unwrap_err();
        assert!(e.0.contains("rewrite this one as a table"), "{}", e.0);
    }
}
