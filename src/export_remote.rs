//! The remote source of `kvgen export`: every live key of a Workers KV
//! namespace read through Cloudflare's REST API, in key order.
//!
//! It sends the requests wrangler 4.86 itself sends (`wrangler kv key list`
//! and `wrangler kv bulk get`, read in its `wrangler-dist/cli.js`):
//!
//! - list: `GET {base}/accounts/{account}/storage/kv/namespaces/{ns}/keys?prefix=P`,
//!   then `…&cursor=C` while the previous page's `result_info.cursor` is
//!   neither missing, null nor empty (`fetchListResult` and `hasCursor`).
//!   wrangler sends no `limit`, so the API's default page size (1000)
//!   applies. Each page is `{success, errors, result: [{name, expiration?,
//!   metadata?}], result_info: {count, cursor}}`; a page may be empty and
//!   still carry a cursor.
//! - values: `POST {base}/accounts/{account}/storage/kv/namespaces/{ns}/bulk/get`
//!   with the JSON body `{"keys": [...]}` and nothing else, as
//!   `getKVBulkKeyValue` sends it, at most 100 keys a request (the API's
//!   limit). The answer is `{success, errors, result: {values: {key: text
//!   or null}}}`. The endpoint is documented for text values only, so a
//!   value that is not a string, is missing or null, or holds U+FFFD (which
//!   is what a lossy decoding of bytes that are not UTF-8 leaves) is read
//!   again by itself with `GET …/values/{encodeURIComponent(key)}`, which
//!   answers the raw bytes (`fetchKVGetValue`); a batch the endpoint refuses
//!   with a 4xx is read that way too. A key gone by then (404) was deleted
//!   since it was listed and is left out.
//! - expiration (seconds) and metadata come from the list, as
//!   `wrangler kv key list` prints them.
//!
//! Credentials are wrangler's: `CLOUDFLARE_API_TOKEN` (sent as
//! `Authorization: Bearer …`) and `CLOUDFLARE_ACCOUNT_ID`. The API base is
//! `https://api.cloudflare.com/client/v4` unless `KVGEN_CLOUDFLARE_API_BASE`
//! names another (the tests point it at a loopback server).
//!
//! Requests that get a 429, a 5xx or a transport error are tried again with
//! exponential backoff, waiting what `Retry-After` asks when it is there.
//! Value batches of one page are fetched a few at a time, and the next list
//! page is fetched meanwhile; records still come out in key order.
//!
//! Resuming: with a state file, after each page whose records the sink has
//! all taken (and flushed, in [`Sink::checkpoint`]), the file is replaced
//! atomically by the cursor of the next page and the count of records
//! emitted so far. A run that finds the file continues from that cursor;
//! the caller first cuts its output back to [`ResumeState::emitted`]
//! records, so that no key is written twice or missed. The file is removed
//! when the export completes.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::BadInput;

pub use crate::export::Record;

pub const API_TOKEN_ENV: &str = "CLOUDFLARE_API_TOKEN";
pub const ACCOUNT_ID_ENV: &str = "CLOUDFLARE_ACCOUNT_ID";
pub const API_BASE_ENV: &str = "KVGEN_CLOUDFLARE_API_BASE";
pub const DEFAULT_API_BASE: &str = "https://api.cloudflare.com/client/v4";
/// The most keys one `bulk/get` request may name.
pub const BULK_GET_MAX_KEYS: usize = 100;
/// How many value requests run at once by default.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// The largest value Workers KV stores is 25 MiB; a bulk answer holds up to
/// 100 of them, JSON-escaped.
const BODY_LIMIT: u64 = 16 << 30;
const STATE_VERSION: u32 = 1;

/// The account and the token the requests are made with.
#[derive(Clone)]
pub struct Credentials {
    pub account_id: String,
    pub api_token: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("account_id", &self.account_id)
            .field("api_token", &"…")
            .finish()
    }
}

impl Credentials {
    /// From `CLOUDFLARE_API_TOKEN` and `CLOUDFLARE_ACCOUNT_ID`.
    pub fn from_env() -> anyhow::Result<Credentials> {
        Credentials::from_lookup(|name| std::env::var(name).ok())
    }

    /// From the variables `lookup` finds; an error that names every one
    /// that is missing or empty.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Credentials> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let token = get(API_TOKEN_ENV);
        let account = get(ACCOUNT_ID_ENV);
        match (token, account) {
            (Some(api_token), Some(account_id)) => Ok(Credentials {
                account_id,
                api_token,
            }),
            (token, account) => {
                let missing: Vec<&str> = [
                    token.is_none().then_some(API_TOKEN_ENV),
                    account.is_none().then_some(ACCOUNT_ID_ENV),
                ]
                .into_iter()
                .flatten()
                .collect();
                Err(BadInput::new(format!(
                    "remote export needs {} set: {} is an API token with the \"Workers KV Storage Read\" \
                     permission, {} the id of the account that owns the namespace",
                    missing.join(" and "),
                    API_TOKEN_ENV,
                    ACCOUNT_ID_ENV
                ))
                .into())
            }
        }
    }
}

/// How failed requests are tried again.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure; doubled after each next one.
    pub base_delay: Duration,
    /// The longest wait between two tries, `Retry-After` included.
    pub max_delay: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Where the records go.
pub trait Sink {
    /// The next record, in key order.
    fn record(&mut self, record: Record) -> io::Result<()>;
    /// Every record of a page has been given; `emitted` records in all
    /// (counting those of the run resumed). Flush here: the state file that
    /// says so is written right after.
    fn checkpoint(&mut self, emitted: u64) -> io::Result<()> {
        let _ = emitted;
        Ok(())
    }
    /// How many bytes of output the records so far made, when the sink
    /// knows (kept in the state file: a resumed run cuts its output back to
    /// it, since a sink may leave records out).
    fn position(&self) -> Option<u64> {
        None
    }
}

impl<S: Sink + ?Sized> Sink for &mut S {
    fn record(&mut self, record: Record) -> io::Result<()> {
        (**self).record(record)
    }
    fn checkpoint(&mut self, emitted: u64) -> io::Result<()> {
        (**self).checkpoint(emitted)
    }
    fn position(&self) -> Option<u64> {
        (**self).position()
    }
}

/// What the state file of an interrupted run holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeState {
    pub version: u32,
    pub account_id: String,
    pub namespace_id: String,
    pub prefix: String,
    /// The cursor of the first page not yet emitted.
    pub cursor: String,
    /// Records emitted before that page.
    pub emitted: u64,
    /// The sink's output, in bytes, before that page (see [`Sink::position`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
}

impl ResumeState {
    /// The state in `path`, or `None` when there is no such file.
    pub fn load(path: &Path) -> anyhow::Result<Option<ResumeState>> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let state: ResumeState = serde_json::from_slice(&text).map_err(|e| {
            BadInput::new(format!(
                "{} is not a kvgen export state file ({e}); remove it to start over",
                path.display()
            ))
        })?;
        if state.version != STATE_VERSION {
            bail!(BadInput::new(format!(
                "{} was written by another kvgen version; remove it to start over",
                path.display()
            )));
        }
        Ok(Some(state))
    }

    /// Replaces `path` atomically (a temporary file beside it, synced, then
    /// renamed over it).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut file = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        serde_json::to_writer(&mut file, self)?;
        file.write_all(b"\n")?;
        file.as_file().sync_all()?;
        file.persist(path)
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Records emitted in all, those of a resumed run included.
    pub emitted: u64,
    /// Records the resumed run had emitted (0 when not resuming).
    pub resumed_at: u64,
    /// List pages read by this run.
    pub pages: u64,
    /// Keys listed but gone before their value was read.
    pub vanished: u64,
    /// Values read one by one (`GET …/values/{key}`).
    pub single_gets: u64,
    /// Requests tried again after a 429, a 5xx or a transport error.
    pub retries: u64,
}

/// One remote export: a namespace, an optional prefix, how to reach it.
#[derive(Debug, Clone)]
pub struct RemoteExport {
    /// Up to and including `/client/v4`, without a trailing slash.
    pub base_url: String,
    pub credentials: Credentials,
    pub namespace_id: String,
    pub prefix: Option<String>,
    /// Value requests at once (at least 1).
    pub concurrency: usize,
    pub retry: Retry,
    /// Resume from and checkpoint to this file.
    pub state_file: Option<PathBuf>,
}

impl RemoteExport {
    /// With the API base from `KVGEN_CLOUDFLARE_API_BASE` or the default.
    pub fn new(credentials: Credentials, namespace_id: impl Into<String>) -> RemoteExport {
        let base_url = std::env::var(API_BASE_ENV)
            .ok()
            .filter(|b| !b.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_API_BASE.to_string());
        RemoteExport {
            base_url: base_url.trim().trim_end_matches('/').to_string(),
            credentials,
            namespace_id: namespace_id.into(),
            prefix: None,
            concurrency: DEFAULT_CONCURRENCY,
            retry: Retry::default(),
            state_file: None,
        }
    }

    /// Every live key under the prefix, in key order, into `sink`.
    pub fn run(&self, mut sink: impl Sink) -> anyhow::Result<Summary> {
        let client = Client::new(self);
        let prefix = self.prefix.clone().unwrap_or_default();
        let mut summary = Summary::default();
        let mut cursor: Option<String> = None;
        if let Some(path) = &self.state_file
            && let Some(state) = ResumeState::load(path)?
        {
            if state.account_id != self.credentials.account_id
                || state.namespace_id != self.namespace_id
                || state.prefix != prefix
            {
                bail!(BadInput::new(format!(
                    "{} belongs to an export of namespace {} (account {}, prefix {:?}), not this one; \
                     remove it or name another state file",
                    path.display(),
                    state.namespace_id,
                    state.account_id,
                    state.prefix
                )));
            }
            cursor = Some(state.cursor);
            summary.emitted = state.emitted;
            summary.resumed_at = state.emitted;
        }

        let mut page = client.list(&prefix, cursor.as_deref())?;
        loop {
            summary.pages += 1;
            let next_cursor = page.cursor.clone();
            let batches: Vec<&[ListedKey]> = page.keys.chunks(BULK_GET_MAX_KEYS).collect();
            let concurrency = self.concurrency.max(1);
            let (next_page, emitted) = std::thread::scope(|scope| {
                let next = next_cursor
                    .as_deref()
                    .map(|c| scope.spawn(|| client.list(&prefix, Some(c))));
                let emitted = (|| -> anyhow::Result<()> {
                    for wave in batches.chunks(concurrency) {
                        let handles: Vec<_> = wave
                            .iter()
                            .map(|batch| scope.spawn(|| client.values(batch)))
                            .collect();
                        for handle in handles {
                            let fetched = handle.join().expect("a value request panicked")?;
                            summary.single_gets += fetched.single_gets;
                            for record in fetched.records {
                                match record {
                                    Some(record) => {
                                        sink.record(record).context("writing the export")?;
                                        summary.emitted += 1;
                                    }
                                    None => summary.vanished += 1,
                                }
                            }
                        }
                    }
                    Ok(())
                })();
                let next = next.map(|h| h.join().expect("a list request panicked"));
                (next, emitted)
            });
            emitted?;
            sink.checkpoint(summary.emitted)
                .context("writing the export")?;
            match (next_cursor, next_page) {
                (Some(cursor), Some(next_page)) => {
                    if let Some(path) = &self.state_file {
                        ResumeState {
                            version: STATE_VERSION,
                            account_id: self.credentials.account_id.clone(),
                            namespace_id: self.namespace_id.clone(),
                            prefix: prefix.clone(),
                            cursor,
                            emitted: summary.emitted,
                            output_bytes: sink.position(),
                        }
                        .save(path)?;
                    }
                    page = next_page?;
                }
                _ => break,
            }
        }
        if let Some(path) = &self.state_file {
            match std::fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("removing {}", path.display()));
                }
            }
        }
        summary.retries = client.retries.load(std::sync::atomic::Ordering::Relaxed);
        Ok(summary)
    }
}

/// A key as the list gives it.
#[derive(Debug, Deserialize)]
struct ListedKey {
    name: String,
    #[serde(default, deserialize_with = "seconds")]
    expiration: Option<u64>,
    #[serde(default)]
    metadata: Option<Box<RawValue>>,
}

/// Whole seconds from a JSON number, integer or not (the API's schema
/// types expirations as numbers).
fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let number: Option<serde_json::Number> = Option::deserialize(d)?;
    Ok(number.and_then(|n| {
        n.as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    }))
}

struct Page {
    keys: Vec<ListedKey>,
    /// The next page's cursor; `None` on the last page.
    cursor: Option<String>,
}

struct Fetched {
    /// One per key asked for, in order; `None` for a key that is gone.
    records: Vec<Option<Record>>,
    single_gets: u64,
}

#[derive(Debug, Deserialize)]
struct Envelope<T> {
    #[serde(default)]
    success: bool,
    result: Option<T>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ResultInfo {
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct BulkResult {
    #[serde(default)]
    values: HashMap<String, serde_json::Value>,
}

/// One answer: its status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

struct Client<'a> {
    agent: ureq::Agent,
    export: &'a RemoteExport,
    authorization: String,
    retries: std::sync::atomic::AtomicU64,
}

impl<'a> Client<'a> {
    fn new(export: &'a RemoteExport) -> Client<'a> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_global(Some(Duration::from_secs(600)))
            .user_agent(format!("kvgen/{}", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            agent: config.into(),
            export,
            authorization: format!("Bearer {}", export.credentials.api_token),
            retries: Default::default(),
        }
    }

    /// `/accounts/{account}/storage/kv/namespaces/{ns}`.
    fn namespace_path(&self) -> String {
        format!(
            "/accounts/{}/storage/kv/namespaces/{}",
            encode_uri_component(&self.export.credentials.account_id),
            encode_uri_component(&self.export.namespace_id)
        )
    }

    fn list(&self, prefix: &str, cursor: Option<&str>) -> anyhow::Result<Page> {
        let resource = format!("{}/keys", self.namespace_path());
        // `new URLSearchParams({ prefix })`, then `.set("cursor", …)`.
        let mut query = format!("?prefix={}", form_urlencode(prefix));
        if let Some(cursor) = cursor {
            let _ = write!(query, "&cursor={}", form_urlencode(cursor));
        }
        let answer = self.send("GET", &resource, &query, None)?;
        let envelope: Envelope<Vec<ListedKey>> = parse(&resource, &answer)?;
        let keys = envelope.result.unwrap_or_default();
        let cursor = envelope
            .result_info
            .and_then(|info| info.cursor)
            .filter(|c| !c.is_empty());
        Ok(Page { keys, cursor })
    }

    fn values(&self, batch: &[ListedKey]) -> anyhow::Result<Fetched> {
        let resource = format!("{}/bulk/get", self.namespace_path());
        let names: Vec<&str> = batch.iter().map(|k| k.name.as_str()).collect();
        let body = serde_json::to_vec(&serde_json::json!({ "keys": names }))?;
        let answer = self.send("POST", &resource, "", Some(&body))?;
        let mut texts =
            if (400..500).contains(&answer.status) && !matches!(answer.status, 401 | 403 | 404) {
                // Refused as a whole (a value that is not text, or too large an
                // answer): every key by itself.
                HashMap::new()
            } else {
                let envelope: Envelope<BulkResult> = parse(&resource, &answer)?;
                envelope.result.map(|r| r.values).unwrap_or_default()
            };
        let mut fetched = Fetched {
            records: Vec::with_capacity(batch.len()),
            single_gets: 0,
        };
        for listed in batch {
            let value = match texts.remove(&listed.name) {
                Some(serde_json::Value::String(text)) if !text.contains('\u{FFFD}') => {
                    Some(text.into_bytes())
                }
                _ => {
                    fetched.single_gets += 1;
                    self.value(&listed.name)?
                }
            };
            fetched.records.push(value.map(|value| Record {
                key: listed.name.clone(),
                value,
                expiration: listed.expiration,
                metadata: listed.metadata.clone(),
            }));
        }
        Ok(fetched)
    }

    /// The raw bytes of one value, `None` when the key is gone.
    fn value(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let resource = format!(
            "{}/values/{}",
            self.namespace_path(),
            encode_uri_component(key)
        );
        let answer = self.send("GET", &resource, "", None)?;
        match answer.status {
            200..=299 => Ok(Some(answer.body)),
            404 => Ok(None),
            _ => Err(api_error(&resource, &answer)),
        }
    }

    /// One request, tried again on a 429, a 5xx or a transport error.
    fn send(
        &self,
        method: &str,
        resource: &str,
        query: &str,
        body: Option<&[u8]>,
    ) -> anyhow::Result<Answer> {
        let url = format!("{}{}{}", self.export.base_url, resource, query);
        let retry = &self.export.retry;
        let attempts = retry.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(method, &url, body);
            let retry_after = match outcome {
                Ok((answer, _)) if !(answer.status == 429 || answer.status >= 500) => {
                    return Ok(answer);
                }
                Ok((answer, retry_after)) => {
                    if attempt >= attempts {
                        return Err(api_error(resource, &answer)
                            .context(format!("gave up after {attempts} tries")));
                    }
                    retry_after
                }
                Err(e) => {
                    if attempt >= attempts || !transient(&e) {
                        return Err(anyhow!(e).context(format!(
                            "{method} {url} failed{}",
                            if attempt > 1 {
                                format!(" after {attempt} tries")
                            } else {
                                String::new()
                            }
                        )));
                    }
                    None
                }
            };
            let backoff = retry
                .base_delay
                .saturating_mul(1u32 << (attempt - 1).min(20))
                .min(retry.max_delay);
            let wait = retry_after.map_or(backoff, |r| r.min(retry.max_delay));
            self.retries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            std::thread::sleep(wait);
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
    ) -> Result<(Answer, Option<Duration>), ureq::Error> {
        let mut response = match (method, body) {
            ("POST", Some(body)) => self
                .agent
                .post(url)
                .header("Authorization", &self.authorization)
                .header("Content-Type", "application/json")
                .send(body)?,
            _ => self
                .agent
                .get(url)
                .header("Authorization", &self.authorization)
                .call()?,
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_vec()?;
        Ok((Answer { status, body }, retry_after))
    }
}

/// Errors worth another try: the connection, not the request.
fn transient(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
            | ureq::Error::BodyStalled
    )
}

/// The envelope of a JSON answer, or the error it reports.
fn parse<T: serde::de::DeserializeOwned>(
    resource: &str,
    answer: &Answer,
) -> anyhow::Result<Envelope<T>> {
    match serde_json::from_slice::<Envelope<T>>(&answer.body) {
        Ok(envelope) if envelope.success && (200..300).contains(&answer.status) => Ok(envelope),
        _ => Err(api_error(resource, answer)),
    }
}

/// wrangler's wording: "A request to the Cloudflare API (…) failed.", then
/// each error as `message [code: N]`.
fn api_error(resource: &str, answer: &Answer) -> anyhow::Error {
    let mut text = format!(
        "A request to the Cloudflare API ({resource}) failed (HTTP {}).",
        answer.status
    );
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<ApiMessage>,
        #[serde(default)]
        messages: Vec<serde_json::Value>,
    }
    match serde_json::from_slice::<Errors>(&answer.body) {
        Ok(parsed) if !parsed.errors.is_empty() || !parsed.messages.is_empty() => {
            for e in parsed.errors {
                match e.code {
                    Some(code) => {
                        let _ = write!(text, "\n  {} [code: {code}]", e.message);
                    }
                    None => {
                        let _ = write!(text, "\n  {}", e.message);
                    }
                }
            }
            for m in parsed.messages {
                let m = m
                    .get("message")
                    .and_then(|m| m.as_str())
                    .map(str::to_string)
                    .unwrap_or_else(|| m.as_str().map_or_else(|| m.to_string(), str::to_string));
                let _ = write!(text, "\n  {m}");
            }
        }
        _ => {
            let body = String::from_utf8_lossy(&answer.body);
            let body: String = body.chars().take(200).collect();
            if !body.trim().is_empty() {
                let _ = write!(text, "\n  {}", body.trim());
            }
        }
    }
    match answer.status {
        401 | 403 => {
            let _ = write!(
                text,
                "\n{API_TOKEN_ENV} must be a valid API token with the \"Workers KV Storage Read\" permission \
                 on the account in {ACCOUNT_ID_ENV}."
            );
        }
        404 if !resource.contains("/values/") => {
            let _ = write!(
                text,
                "\nIs the namespace id right, and does the namespace belong to the account in {ACCOUNT_ID_ENV}?"
            );
        }
        _ => {}
    }
    anyhow!(text)
}

/// `Retry-After`: seconds, or an HTTP date (IMF-fixdate).
fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = parse_http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` as seconds since the epoch.
fn parse_http_date(value: &str) -> Option<u64> {
    let rest = value.split_once(", ")?.1;
    let mut parts = rest.split(' ');
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut clock = parts.next()?.split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (clock.next()??, clock.next()??, clock.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

/// JavaScript's `encodeURIComponent`: all but `A-Z a-z 0-9 - _ . ! ~ * ' ( )`
/// percent-encoded as UTF-8.
pub fn encode_uri_component(text: &str) -> String {
    percent_encode(
        text,
        |b| b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b),
        false,
    )
}

/// `URLSearchParams`' serialisation (application/x-www-form-urlencoded):
/// all but `A-Z a-z 0-9 * - . _` percent-encoded, a space as `+`.
pub fn form_urlencode(text: &str) -> String {
    percent_encode(
        text,
        |b| b.is_ascii_alphanumeric() || b"*-._".contains(&b),
        true,
    )
}

fn percent_encode(text: &str, keep: impl Fn(u8) -> bool, space_as_plus: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else if b == b' ' && space_as_plus {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_javascript() {
        assert_eq!(
            encode_uri_component("a b/c?d&é!~*'()"),
            "a%20b%2Fc%3Fd%26%C3%A9!~*'()"
        );
        assert_eq!(form_urlencode("a b/c~!*'é"), "a+b%2Fc%7E%21*%27%C3%A9");
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        assert_eq!(parse_retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn missing_credentials_are_named() {
        let err = Credentials::from_lookup(|_| None).unwrap_err().to_string();
        assert!(
            err.contains("CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"),
            "{err}"
        );
        let err = Credentials::from_lookup(|n| (n == API_TOKEN_ENV).then(|| "t".into()))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("remote export needs CLOUDFLARE_ACCOUNT_ID set"),
            "{err}"
        );
    }
}
