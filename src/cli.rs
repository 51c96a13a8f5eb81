//! The command line as clap sees it. Raw arguments only: validation happens
//! when a command turns them into a request.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::project::Lang;

/// Workers KV code and bindings for an existing Cloudflare Worker.
///
/// Run inside a Worker repository (TypeScript or Rust). kvgen generates the
/// KV code and adds the binding to the Wrangler config in place, keeping
/// every comment. Exit codes: 0 done (or dry run), 1 conflict (nothing
/// written), 2 bad input.
#[derive(Debug, Parser)]
#[command(name = "kvgen", version, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Run as if started in DIR.
    #[arg(short = 'C', long = "cwd", value_name = "DIR", global = true)]
    pub cwd: Option<PathBuf>,
    /// The Wrangler config [default: the first wrangler.json, wrangler.jsonc
    /// or wrangler.toml found walking up from the current folder].
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,
    /// Language of the generated code [default: kvgen.toml's, else detected:
    /// a Cargo.toml that depends on `worker` is rust, a package.json or
    /// tsconfig.json is ts, or js when the Worker's main is JavaScript and
    /// the project has no TypeScript].
    #[arg(long, value_enum, global = true)]
    pub lang: Option<Lang>,
    /// Where the modules go, relative to the project root [default: `kv`
    /// next to the config's `main`, e.g. src/kv for src/index.ts; for Rust,
    /// `kv` next to the crate root, e.g. src/kv].
    #[arg(long, value_name = "DIR", global = true)]
    pub dir: Option<String>,
    /// The KV binding to use [default: create: derived from NAMESPACE, e.g.
    /// user-cache -> USER_CACHE; cache: CACHE; flags: FLAGS; session:
    /// SESSIONS; bulk: the only KV binding in the config]. Added to the
    /// config when missing (`bulk put/delete` only name it in the commands
    /// they print, so it must be there).
    #[arg(long, value_name = "NAME", global = true)]
    pub binding: Option<String>,
    /// Put the binding under env.NAME (bindings are not inherited by
    /// environments); several names, comma-separated, put it in each, e.g.
    /// `--env staging,production` [default: the top level].
    #[arg(long, value_name = "NAME[,NAME…]", global = true)]
    pub env: Option<String>,
    /// Put the binding at the top level and in every environment of the
    /// config (the same binding name, with its own namespace in each).
    #[arg(long, global = true, conflicts_with = "env")]
    pub all_envs: bool,
    /// Print the plan and a unified diff of every file; write nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Overwrite files whose content differs from what kvgen would write
    /// [default: report a conflict and write nothing].
    #[arg(long, global = true)]
    pub force: bool,
    /// When your edits of a generated file and kvgen's changes overlap,
    /// write the merge into the file with git-style conflict markers for you
    /// to resolve (exit 1), instead of writing nothing; kvgen refuses to go
    /// on while the markers are there.
    #[arg(long, global = true)]
    pub write_conflicts: bool,
    /// Print the result as one JSON object instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add a kv_namespaces binding for NAMESPACE and generate the typed store
    /// (store.ts/keys.ts, or store.rs/keys.rs).
    Create(CreateArgs),
    /// Generate cache patterns on KV: cache-aside, write-through,
    /// stale-while-revalidate, invalidation and warming (binding CACHE unless
    /// --binding says otherwise).
    Cache(CacheArgs),
    /// Generate feature flags on KV (percentage rollout, allow and deny
    /// lists), using the FLAGS binding unless --binding says otherwise; `flags
    /// set` prints the Wrangler command that stores a flag.
    Flags(FlagsArgs),
    /// Generate a session store with signed cookies on KV (binding SESSIONS
    /// unless --binding says otherwise), and a local SESSION_SECRET in
    /// .dev.vars.
    Session(SessionArgs),
    /// Generate bulk helpers (getMany, putMany, deleteMany, listAll) for the
    /// only KV binding in the config, or --binding; `bulk put FILE` and
    /// `bulk delete FILE` turn data into checked files for `wrangler kv bulk`.
    Bulk(BulkArgs),
    /// Generate a rate limiter on the Rate Limiting binding (not on KV: KV
    /// allows one write per second per key and is eventually consistent, so
    /// a counter in KV loses requests): adds a `ratelimits` entry NAME with
    /// `simple = { limit, period }` and ratelimit.ts (ratelimit.rs).
    Ratelimit(RatelimitArgs),
    /// Generate atomic counters on a Durable Object with SQLite storage (not
    /// on KV, whose concurrent increments overwrite each other): the Counter
    /// class and its client (counter.ts / counter.rs), the
    /// durable_objects binding (COUNTERS unless --binding says otherwise),
    /// a migration that creates the class, and for TypeScript the class's
    /// export from the Worker's main module.
    Counter,
    /// Generate a validated configuration store on KV (binding CONFIG
    /// unless --binding says otherwise): defaults merged, memoised per
    /// isolate; `config set NAME --value JSON` prints the Wrangler command
    /// that stores a configuration.
    Config(ConfigArgs),
    /// Generate per-user preferences on KV (binding PREFS unless --binding
    /// says otherwise): defaults merged, versioned with a migrate hook,
    /// updates that return what they wrote and retry KV's 429s.
    Prefs,
    /// Write every live key of a KV namespace (--binding, in --env) as NDJSON
    /// in key order: `key`, `value` (base64 with `"base64": true` when not
    /// UTF-8 text), `expiration`, `metadata`, exactly what `kvgen bulk put`
    /// reads. `--local` reads the state `wrangler dev` keeps in
    /// .wrangler/state (the namespace's preview_id, else id, else the binding
    /// name, as wrangler dev uses); `--remote` reads the namespace in
    /// Cloudflare (its id) through the REST API.
    Export(ExportArgs),
    /// Make the Wrangler config and the generated code match kvgen.toml, the
    /// KV design every generating command records: each namespace's binding
    /// at the top level and in the environments it lists, its modules, the
    /// Rust wiring. A generated file you never edited is updated when
    /// kvgen's templates change; one you edited gets the changes merged in
    /// (`merge`), or is a conflict when both changed the same lines; one you
    /// deleted stays deleted. A binding or module removed from kvgen.toml is
    /// left where it is.
    Sync(SyncArgs),
    /// The namespace specification of kvgen.toml, read only: per namespace
    /// its purpose, ids per environment, default TTL, the key naming
    /// convention table, the generated modules, local figures from the
    /// state `wrangler dev` keeps (keys, bytes, expirations, keys per
    /// pattern), an implementation checklist and a health bar. Figures that
    /// need Cloudflare's API are shown as not available.
    Spec(SpecArgs),
    /// Check the KV setup, read only: the Wrangler config (a binding an
    /// environment lacks, preview_id equal to id, an id shared with
    /// production, fields wrangler rejects), the design against it, the
    /// generated code against the design, and the Env types. Each finding
    /// has a severity, a file and line, and the fix; exit 1 when there is
    /// an error (with --json, one JSON object).
    Doctor,
    /// Typed key patterns of the design: `key add` records one in
    /// kvgen.toml, then syncs (schema and namespaces modules).
    Key(KeyArgs),
    /// Print the completion script of SHELL on standard output, e.g.
    /// `kvgen completions bash > ~/.local/share/bash-completion/completions/kvgen`,
    /// `kvgen completions zsh > "${fpath[1]}/_kvgen"`,
    /// `kvgen completions fish > ~/.config/fish/completions/kvgen.fish`.
    Completions(CompletionsArgs),
    /// Write kvgen.toml (and kvgen.lock) for a project whose KV code kvgen
    /// generated before kvgen.toml existed: its KV bindings from the
    /// Wrangler config and its generated modules, recognised by their first
    /// line. `kvgen sync` then finds everything up to date.
    Init,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// bash, zsh, fish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Only this namespace of the design [default: every one].
    #[arg(value_name = "BINDING")]
    pub namespace: Option<String>,
    /// text (boxes), markdown (a document to commit, e.g. KV.md) or json.
    #[arg(long, value_enum, default_value = "text")]
    pub format: SpecFormat,
    /// Report local figures even when there is no local state yet [default:
    /// when .wrangler/state holds the namespace].
    #[arg(long)]
    pub local: bool,
    /// Plain ASCII instead of box drawing.
    #[arg(long)]
    pub ascii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SpecFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub action: KeyAction,
}

#[derive(Debug, Subcommand)]
pub enum KeyAction {
    /// Add a key pattern to namespace BINDING of kvgen.toml (in place,
    /// comments kept), then sync: a typed accessor NAME in the namespace's
    /// factory (`cacheKeys(env.CACHE).post` in TypeScript, `cache_keys(kv).post`
    /// in Rust). The value types are written by hand in kvgen.toml, as
    /// [types.NAME] tables (e.g. `[types.Post]` with `id = "string"`,
    /// `tags = "string[]"`, `views = "integer?"`, `status = "'draft' |
    /// 'published'"`); kvgen checks the whole design again. A key of that
    /// name that differs is a conflict (exit 1): edit kvgen.toml to change it.
    #[command(after_help = KEY_ADD_HELP)]
    Add(KeyAddArgs),
}

const KEY_ADD_HELP: &str = "Example:\n  kvgen key add CACHE post 'post:{id}' --value Post --ttl 600 --cache-ttl 60 --about 'Rendered posts'";

#[derive(Debug, Args)]
pub struct KeyAddArgs {
    /// The namespace's binding, as kvgen.toml has it (e.g. CACHE).
    #[arg(value_name = "BINDING")]
    pub namespace: String,
    /// The key pattern's name: an identifier (its accessor in the generated
    /// code, camelCase in TypeScript and snake_case in Rust).
    pub name: String,
    /// The pattern: literal text and {params}, ':'-separated, e.g.
    /// 'user:{id}:profile' (quote it for the shell). Params are non-empty
    /// and hold no ':'.
    pub pattern: String,
    /// What the values are: a type of kvgen.toml's [types], or string, json
    /// or bytes.
    #[arg(long, value_name = "TYPE", default_value = "json")]
    pub value: String,
    /// Seconds a write lives (at least 60), or `none` [default: the
    /// namespace's default_ttl, else no expiry].
    #[arg(long, value_name = "S")]
    pub ttl: Option<String>,
    /// Edge cache time of reads, in seconds (at least 30) [default: KV's, 60].
    #[arg(long, value_name = "S")]
    pub cache_ttl: Option<String>,
    /// What the keys hold, one line (the specification's "use case").
    #[arg(long, value_name = "TEXT")]
    pub about: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Write nothing; exit 1 and list what is out of date when anything
    /// would change (for CI, like `wrangler types --check`).
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Read the local state in .wrangler/state/v3/kv.
    #[arg(long, conflicts_with = "remote", required_unless_present = "remote")]
    pub local: bool,
    /// Read the namespace in Cloudflare (the binding's `id`) through its
    /// REST API, with the credentials wrangler uses: CLOUDFLARE_API_TOKEN
    /// and CLOUDFLARE_ACCOUNT_ID. It sends the requests wrangler 4.86 sends
    /// (`kv key list`, `kv bulk get`) and has been tested against a local
    /// server that answers in the shapes Cloudflare's API documents, not
    /// against a live account.
    #[arg(long)]
    pub remote: bool,
    /// With --remote --out FILE: continue an export that was interrupted,
    /// from FILE.partial and its state file, without writing a key twice or
    /// missing one.
    #[arg(long, requires = "remote")]
    pub resume: bool,
    /// Only keys that start with PREFIX.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Where to write: a file (written whole or not at all), or `-` for
    /// standard output; with `--format bulk`, a folder [default: standard
    /// output; with --format bulk, kv-bulk].
    #[arg(long, value_name = "FILE|DIR")]
    pub out: Option<PathBuf>,
    /// `ndjson`, or `bulk`: the checked files for `wrangler kv bulk put`
    /// that `kvgen bulk put` writes.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: ExportFormat,
}

/// What `kvgen export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// One JSON entry a line.
    Ndjson,
    /// Files for `wrangler kv bulk put`, 10,000 entries each at most.
    Bulk,
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    #[command(subcommand)]
    pub action: Option<BulkAction>,
}

#[derive(Debug, Subcommand)]
pub enum BulkAction {
    /// Turn a JSON array, NDJSON or CSV file (with the header
    /// key,value[,expiration_ttl][,expiration][,metadata]) into files for
    /// `wrangler kv bulk put`, checking every entry against Workers KV's
    /// limits; nothing is written unless all entries are valid.
    Put(BulkPutArgs),
    /// Turn keys (a JSON array of keys or of entries, NDJSON, or CSV with a
    /// `key` column) into files for `wrangler kv bulk delete`.
    Delete(BulkDataArgs),
}

#[derive(Debug, Args)]
pub struct BulkDataArgs {
    /// The input file, or `-` for standard input.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The input format [default: from the extension: .json, .ndjson or
    /// .jsonl, .csv; for standard input, from the first character].
    #[arg(long, value_enum)]
    pub format: Option<crate::bulk::Format>,
    /// Where the bulk files go, relative to the current folder.
    #[arg(long, value_name = "DIR", default_value = "kv-bulk")]
    pub out: PathBuf,
    /// Most entries per file, 1 to 10000 (Cloudflare's limit per bulk
    /// request); files also stay under 100 MB.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub chunk: usize,
    /// Prepended to every key, e.g. `user:`.
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Write the valid entries even if some are invalid (the invalid ones
    /// are listed) [default: write nothing if any entry is invalid].
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Debug, Args)]
pub struct BulkPutArgs {
    #[command(flatten)]
    pub data: BulkDataArgs,
    /// Expiry in seconds (at least 60) of entries that have neither
    /// expiration_ttl nor expiration [default: none].
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<String>,
    /// Values are base64 text of binary data (written with `base64: true`).
    /// Without it, CSV values that are not UTF-8 are encoded as base64.
    #[arg(long)]
    pub base64: bool,
}

#[derive(Debug, Args)]
pub struct RatelimitArgs {
    /// The binding's name (a JavaScript identifier, e.g. API_LIMITER): the
    /// `name` of the `ratelimits` entry.
    pub name: String,
    /// Requests allowed per key in each period.
    #[arg(long, value_name = "N")]
    pub limit: String,
    /// The period in seconds: 10 or 60, the only ones the binding has.
    #[arg(long, value_name = "10|60")]
    pub period: String,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: Option<ConfigAction>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a configuration value (a JSON object) and print the `wrangler
    /// kv key put` command that stores it at `config:NAME` (nothing is
    /// written, unless --out FILE).
    Set(ConfigSetArgs),
}

#[derive(Debug, Args)]
pub struct ConfigSetArgs {
    /// The configuration's name (letters, digits, '-', '_', '.'), the
    /// `name` a ConfigStore is given, e.g. checkout.
    pub name: String,
    /// The value: a JSON object, e.g. '{"currency":"EUR","maxItems":20}'
    /// (`--json` prints the result as JSON, as for every command).
    #[arg(long, value_name = "JSON")]
    pub value: String,
    /// Write the JSON to FILE (relative to the current folder) and print the
    /// `wrangler kv key put … --path FILE` command that stores it: for values
    /// too long for a command line. An existing FILE with other content is
    /// left alone unless --force.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// Session lifetime in seconds, from 60 to 34560000 (400 days: browsers
    /// cap a cookie's Max-Age there), baked into the store; the cookie's
    /// Max-Age and the KV expiry follow it [default: 86400].
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<String>,
    /// Name of the session cookie, baked into the store; a `__Host-` name
    /// keeps cookies planted by other subdomains out [default:
    /// __Host-session].
    #[arg(long, value_name = "NAME")]
    pub cookie: Option<String>,
}

#[derive(Debug, Args)]
pub struct FlagsArgs {
    #[command(subcommand)]
    pub action: Option<FlagsAction>,
}

#[derive(Debug, Subcommand)]
pub enum FlagsAction {
    /// Validate a flag definition and print the `wrangler kv key put`
    /// command that stores it (nothing is written, unless --out FILE).
    Set(FlagSetArgs),
}

#[derive(Debug, Args)]
pub struct FlagSetArgs {
    /// The flag's name (letters, digits, '-', '_', '.'), e.g. new-checkout.
    pub name: String,
    /// Whether the flag is on [default: true].
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub enabled: Option<bool>,
    /// Roll out to this share of users, 0 to 100 (100 = everyone, with or
    /// without a user id) [default: no percentage: `enabled` decides].
    #[arg(long, value_name = "N")]
    pub percentage: Option<String>,
    /// User ids that always get the flag (comma-separated).
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub allow: Vec<String>,
    /// User ids that never get the flag (comma-separated; wins over --allow).
    #[arg(long, value_name = "ID,…", value_delimiter = ',')]
    pub deny: Vec<String>,
    /// Write the flag's JSON to FILE (relative to the current folder) and
    /// print the `wrangler kv key put … --path FILE` command that stores it:
    /// for definitions too long for a command line, e.g. thousands of ids.
    /// An existing FILE with other content is left alone unless --force.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A cache pattern of `kvgen cache`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Pattern {
    /// cacheAside: read, else load and store (a null load is not cached).
    Aside,
    /// writeThrough: persist first, then update the cache.
    WriteThrough,
    /// staleWhileRevalidate: serve stale values while one refresh runs.
    Swr,
    /// invalidate and invalidatePrefix, within the operation budget.
    Invalidate,
    /// warm: fill the cache ahead of requests (e.g. from a cron trigger).
    Warm,
}

#[derive(Debug, Args)]
pub struct CacheArgs {
    /// The patterns to generate [default: all five].
    #[arg(value_enum, value_name = "PATTERN")]
    pub patterns: Vec<Pattern>,
    /// Default expiry of cached values, in seconds (from 60 to 3153600000, 100 years), or `none`
    /// for no expiry; baked into the modules [default: 3600].
    #[arg(long, value_name = "SECONDS|none")]
    pub ttl: Option<String>,
    /// With the warm pattern: also add this cron expression to
    /// `triggers.crons` in the Wrangler config, e.g. "*/30 * * * *". Checked
    /// as Cloudflare's Cron Triggers read it: minute 0-59, hour 0-23, day of
    /// month 1-31 (L, LW, L-3, 15W), month 1-12 or JAN-DEC, day of week 1-7
    /// (1 = Sunday) or SUN-SAT (5L, MON#2); `*`, lists, ranges and steps.
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// Count every lookup of cacheAside and staleWhileRevalidate (hit, miss,
    /// stale, error, and how long it took) in this Workers Analytics Engine
    /// dataset, through the binding KV_METRICS; the next steps print the SQL
    /// of the hit rate per key prefix.
    #[arg(long, value_name = "DATASET")]
    pub metrics: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the KV namespace (letters, digits, '-', '_', '.'), e.g. user-cache.
    pub namespace: String,
    /// The namespace id (32 lowercase hex characters, as printed by
    /// `wrangler kv namespace create`) [default: none: Wrangler creates the
    /// namespace on deploy].
    #[arg(long, value_name = "ID")]
    pub id: Option<String>,
    /// The id of the namespace used by `wrangler dev --remote` [default: none].
    #[arg(long, value_name = "ID")]
    pub preview_id: Option<String>,
    /// Default expiry of stored values, in seconds (from 60 to 3153600000, 100 years), or `none`
    /// for no expiry; baked into the generated store [default: 3600].
    #[arg(long, value_name = "SECONDS|none")]
    pub ttl: Option<String>,
}
