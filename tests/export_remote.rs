//! The remote export source against a loopback HTTP server that answers in
//! the shapes Cloudflare's API gives wrangler 4.86 (`kv key list`,
//! `kv bulk get`, `kv key get`). No network.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kvgen::export_remote::{Credentials, Record, RemoteExport, ResumeState, Retry, Sink};
use serde_json::{Value, json};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const NAMESPACE: &str = "0f2ac74b498b48028cb68387c421e279";
const TOKEN: &str = "test-token";

#[derive(Clone)]
struct Entry {
    value: Vec<u8>,
    expiration: Option<u64>,
    metadata: Option<Value>,
}

/// What the bulk endpoint does with a value that is not UTF-8.
#[derive(Clone, Copy, PartialEq)]
enum Binary {
    /// Decodes it lossily (U+FFFD for each bad sequence).
    Lossy,
    /// Refuses the whole request with a 400.
    Refuse,
}

struct Fault {
    /// Matched against `METHOD target`.
    matches: String,
    status: u16,
    retry_after: Option<&'static str>,
    times: usize,
}

#[derive(Clone, Debug)]
struct Logged {
    method: String,
    target: String,
    authorization: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

struct Kv {
    entries: BTreeMap<String, Entry>,
    /// Listed, but gone when their value is read.
    ghosts: BTreeSet<String>,
    page_size: usize,
    /// An empty page (with a cursor) is served when a list reaches this offset.
    empty_page_at: Option<usize>,
    binary: Binary,
    faults: Vec<Fault>,
    log: Vec<Logged>,
}

struct Server {
    base: String,
    kv: Arc<Mutex<Kv>>,
    /// The most `bulk/get` requests that were in flight at once.
    max_bulk_in_flight: Arc<AtomicUsize>,
}

#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: Arc<AtomicUsize>,
}

impl Server {
    fn start(kv: Kv) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}/client/v4", listener.local_addr().unwrap());
        let kv = Arc::new(Mutex::new(kv));
        let shared = kv.clone();
        let in_flight = Arc::new(InFlight::default());
        let max_bulk_in_flight = in_flight.max.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let kv = shared.clone();
                let in_flight = in_flight.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &kv, &in_flight);
                });
            }
        });
        Server {
            base,
            kv,
            max_bulk_in_flight,
        }
    }

    fn export(&self) -> RemoteExport {
        let mut export = RemoteExport::new(
            Credentials {
                account_id: ACCOUNT.into(),
                api_token: TOKEN.into(),
            },
            NAMESPACE,
        );
        export.base_url = self.base.clone();
        export.concurrency = 3;
        export.retry = Retry {
            attempts: 4,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        };
        export
    }

    fn log(&self) -> Vec<Logged> {
        self.kv.lock().unwrap().log.clone()
    }
}

fn serve(stream: TcpStream, kv: &Mutex<Kv>, in_flight: &InFlight) -> io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let mut length = 0usize;
    let mut authorization = None;
    let mut content_type = None;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').unwrap();
        let value = value.trim().to_string();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap(),
            "authorization" => authorization = Some(value),
            "content-type" => content_type = Some(value),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request = Logged {
        method,
        target,
        authorization,
        content_type,
        body,
    };
    let bulk = request.target.ends_with("/bulk/get");
    if bulk {
        let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
        in_flight.max.fetch_max(now, Ordering::SeqCst);
        // Long enough for the client's other requests to overlap this one.
        std::thread::sleep(Duration::from_millis(30));
    }
    let (status, headers, body) = answer(kv, request);
    if bulk {
        in_flight.now.fetch_sub(1, Ordering::SeqCst);
    }
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(&body)?;
    out.flush()
}

type Answer = (u16, Vec<(&'static str, String)>, Vec<u8>);

fn json_answer(status: u16, value: Value) -> Answer {
    (
        status,
        vec![("Content-Type", "application/json".into())],
        serde_json::to_vec(&value).unwrap(),
    )
}

fn api_error(status: u16, code: u32, message: &str) -> Answer {
    json_answer(
        status,
        json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null}),
    )
}

fn answer(kv: &Mutex<Kv>, request: Logged) -> Answer {
    let mut kv = kv.lock().unwrap();
    kv.log.push(request.clone());
    let line = format!("{} {}", request.method, request.target);
    if let Some(fault) = kv
        .faults
        .iter_mut()
        .find(|f| f.times > 0 && line.contains(&f.matches))
    {
        fault.times -= 1;
        let mut answer = api_error(fault.status, 10013, "injected failure");
        if let Some(retry_after) = fault.retry_after {
            answer.1.push(("Retry-After", retry_after.into()));
        }
        return answer;
    }
    if request.authorization.as_deref() != Some(&format!("Bearer {TOKEN}")) {
        return api_error(401, 10000, "Authentication error");
    }
    let namespace = format!("/client/v4/accounts/{ACCOUNT}/storage/kv/namespaces/{NAMESPACE}/");
    let Some(rest) = request.target.strip_prefix(&namespace) else {
        return api_error(404, 10013, "namespace not found");
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    match (request.method.as_str(), path) {
        ("GET", "keys") => list(&kv, query),
        ("POST", "bulk/get") => bulk_get(&kv, &request),
        ("GET", p) if p.starts_with("values/") => {
            let key = percent_decode(&p["values/".len()..], false);
            match kv.entries.get(&key) {
                Some(entry) => (
                    200,
                    vec![("Content-Type", "application/octet-stream".into())],
                    entry.value.clone(),
                ),
                None => api_error(404, 10009, "get: 'key not found'"),
            }
        }
        _ => api_error(405, 10000, "no such route"),
    }
}

fn list(kv: &Kv, query: &str) -> Answer {
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(name, true), percent_decode(value, true))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let prefix = param("prefix").unwrap_or_default();
    let cursor = param("cursor");
    let (offset, after_empty) = match &cursor {
        None => (0, false),
        Some(c) => {
            let rest = c.strip_prefix("cur ").expect("a cursor this server gave");
            let (kind, offset) = rest.split_once(' ').unwrap();
            (offset.trim_end_matches("+/=").parse().unwrap(), kind == "e")
        }
    };
    let names: Vec<&String> = kv
        .entries
        .keys()
        .chain(kv.ghosts.iter())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|k| k.starts_with(&prefix))
        .collect();
    if kv.empty_page_at == Some(offset) && !after_empty && offset < names.len() {
        return json_answer(
            200,
            json!({"success": true, "errors": [], "messages": [], "result": [],
                   "result_info": {"count": 0, "cursor": format!("cur e {offset}+/=")}}),
        );
    }
    let page: Vec<Value> = names
        .iter()
        .skip(offset)
        .take(kv.page_size)
        .map(|name| {
            let mut key = json!({ "name": name });
            if let Some(entry) = kv.entries.get(*name) {
                if let Some(expiration) = entry.expiration {
                    key["expiration"] = json!(expiration);
                }
                if let Some(metadata) = &entry.metadata {
                    key["metadata"] = metadata.clone();
                }
            }
            key
        })
        .collect();
    let end = offset + page.len();
    let cursor = if end < names.len() {
        format!("cur c {end}+/=")
    } else {
        String::new()
    };
    json_answer(
        200,
        json!({"success": true, "errors": [], "messages": [], "result": page,
               "result_info": {"count": page.len(), "cursor": cursor}}),
    )
}

fn bulk_get(kv: &Kv, request: &Logged) -> Answer {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    let object = body.as_object().unwrap();
    assert_eq!(object.len(), 1, "wrangler sends only `keys`: {body}");
    let keys = object["keys"].as_array().unwrap();
    assert!(!keys.is_empty() && keys.len() <= 100, "{} keys", keys.len());
    let mut values = serde_json::Map::new();
    for key in keys {
        let key = key.as_str().unwrap();
        let value = match kv.entries.get(key) {
            None => Value::Null,
            Some(entry) => match std::str::from_utf8(&entry.value) {
                Ok(text) => json!(text),
                Err(_) if kv.binary == Binary::Refuse => {
                    return api_error(400, 10020, "bulk get supports text values only");
                }
                Err(_) => json!(String::from_utf8_lossy(&entry.value)),
            },
        };
        values.insert(key.to_string(), value);
    }
    json_answer(
        200,
        json!({"success": true, "errors": [], "messages": [], "result": {"values": values}}),
    )
}

fn percent_decode(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// A namespace with text, binary, metadata, expirations and awkward keys.
fn sample(count: usize) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    for i in 0..count {
        let key = match i % 5 {
            0 => format!("user:{i:03}"),
            1 => format!("a b/{i:03}?&=+%"),
            2 => format!("é\"quote\"\n{i:03}"),
            3 => format!("bin:{i:03}"),
            _ => format!("user:{i:03}:meta"),
        };
        let value = match i % 5 {
            3 => vec![0xff, 0x00, 0xfe, i as u8, 0x80, b'a'],
            2 => format!("ünïcødé ✓ \u{FFFD} {i}").into_bytes(),
            _ => format!("value {i}").into_bytes(),
        };
        entries.insert(
            key,
            Entry {
                value,
                expiration: (i % 3 == 0).then_some(2_000_000_000 + i as u64),
                metadata: (i % 4 == 0).then(|| json!({"i": i, "tag": "x\"y"})),
            },
        );
    }
    entries
}

fn kv(entries: BTreeMap<String, Entry>, page_size: usize) -> Kv {
    Kv {
        entries,
        ghosts: BTreeSet::new(),
        page_size,
        empty_page_at: None,
        binary: Binary::Lossy,
        faults: Vec::new(),
        log: Vec::new(),
    }
}

#[derive(Default)]
struct Collect {
    records: Vec<Record>,
    checkpoints: Vec<u64>,
    fail_after: Option<usize>,
}

impl Sink for Collect {
    fn record(&mut self, record: Record) -> io::Result<()> {
        if self.fail_after == Some(self.records.len()) {
            return Err(io::Error::other("disk full"));
        }
        self.records.push(record);
        Ok(())
    }
    fn checkpoint(&mut self, emitted: u64) -> io::Result<()> {
        self.checkpoints.push(emitted);
        Ok(())
    }
}

fn assert_records(records: &[Record], expected: &BTreeMap<String, Entry>) {
    let keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
    let want: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(keys, want, "every key once, in key order");
    for record in records {
        let entry = &expected[&record.key];
        assert_eq!(record.value, entry.value, "value of {:?}", record.key);
        assert_eq!(
            record.expiration, entry.expiration,
            "expiration of {:?}",
            record.key
        );
        let metadata: Option<Value> = record
            .metadata
            .as_ref()
            .map(|m| serde_json::from_str(m.get()).unwrap());
        assert_eq!(metadata, entry.metadata, "metadata of {:?}", record.key);
    }
}

#[test]
fn several_pages_an_empty_page_binary_text_metadata_and_expirations() {
    let entries = sample(230);
    let mut state = kv(entries.clone(), 100);
    state.empty_page_at = Some(100);
    let server = Server::start(state);
    let mut sink = Collect::default();
    let summary = server.export().run(&mut sink).unwrap();
    assert_records(&sink.records, &entries);
    assert_eq!(summary.emitted, 230);
    assert_eq!(summary.pages, 4, "100, empty, 100, 30");
    assert_eq!(sink.checkpoints, vec![100, 100, 200, 230]);
    assert_eq!(summary.retries, 0);

    let log = server.log();
    for request in &log {
        assert_eq!(request.authorization.as_deref(), Some("Bearer test-token"));
    }
    let lists: Vec<&str> = log
        .iter()
        .filter(|r| r.target.contains("/keys"))
        .map(|r| r.target.rsplit_once('?').unwrap().1)
        .collect();
    assert_eq!(
        lists,
        [
            "prefix=",
            "prefix=&cursor=cur+c+100%2B%2F%3D",
            "prefix=&cursor=cur+e+100%2B%2F%3D",
            "prefix=&cursor=cur+c+200%2B%2F%3D",
        ],
        "wrangler's query: prefix always, then cursor, no limit"
    );
    let bulk: Vec<&Logged> = log
        .iter()
        .filter(|r| r.target.ends_with("/bulk/get"))
        .collect();
    assert_eq!(bulk.len(), 3, "one request per 100 keys");
    for request in &bulk {
        assert_eq!(request.method, "POST");
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
    }
    // Binary values (lossy in bulk) and text holding U+FFFD were read again
    // by themselves, with the key as encodeURIComponent writes it.
    let singles: Vec<&str> = log
        .iter()
        .filter(|r| r.target.contains("/values/"))
        .map(|r| r.target.rsplit_once("/values/").unwrap().1)
        .collect();
    assert_eq!(summary.single_gets as usize, singles.len());
    assert_eq!(singles.len(), 92, "46 binary, 46 with U+FFFD");
    assert!(singles.contains(&"%C3%A9%22quote%22%0A002"), "{singles:?}");
}

#[test]
fn value_requests_run_a_few_at_a_time() {
    let entries = sample(1000);
    let server = Server::start(kv(entries.clone(), 1000));
    let mut sink = Collect::default();
    server.export().run(&mut sink).unwrap();
    assert_records(&sink.records, &entries);
    let max = server.max_bulk_in_flight.load(Ordering::SeqCst);
    assert!(
        (2..=3).contains(&max),
        "{max} bulk requests at once, concurrency 3"
    );
}

#[test]
fn a_prefix_is_sent_and_only_its_keys_come_out() {
    let entries = sample(60);
    let server = Server::start(kv(entries.clone(), 7));
    let mut export = server.export();
    export.prefix = Some("a b/".into());
    let mut sink = Collect::default();
    export.run(&mut sink).unwrap();
    let expected: BTreeMap<String, Entry> = entries
        .into_iter()
        .filter(|(k, _)| k.starts_with("a b/"))
        .collect();
    assert_records(&sink.records, &expected);
    let first = &server.log()[0];
    assert!(
        first.target.ends_with("/keys?prefix=a+b%2F"),
        "{}",
        first.target
    );
}

#[test]
fn a_429_and_a_500_are_retried_and_retry_after_is_honoured() {
    let entries = sample(40);
    let mut state = kv(entries.clone(), 10);
    state.faults = vec![
        Fault {
            matches: "GET /client/v4/accounts/".into(),
            status: 429,
            retry_after: Some("1"),
            times: 1,
        },
        Fault {
            matches: "POST ".into(),
            status: 500,
            retry_after: None,
            times: 1,
        },
        Fault {
            matches: "/values/".into(),
            status: 503,
            retry_after: None,
            times: 2,
        },
    ];
    let server = Server::start(state);
    let started = Instant::now();
    let mut sink = Collect::default();
    let summary = server.export().run(&mut sink).unwrap();
    assert_records(&sink.records, &entries);
    assert_eq!(summary.retries, 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was waited for"
    );
}

#[test]
fn a_bulk_request_refused_for_binary_values_is_read_key_by_key() {
    let entries = sample(25);
    let mut state = kv(entries.clone(), 1000);
    state.binary = Binary::Refuse;
    let server = Server::start(state);
    let mut sink = Collect::default();
    let summary = server.export().run(&mut sink).unwrap();
    assert_records(&sink.records, &entries);
    assert_eq!(summary.single_gets, 25);
}

#[test]
fn keys_deleted_after_listing_are_left_out() {
    let entries = sample(12);
    let mut state = kv(entries.clone(), 5);
    state.ghosts = ["ghost:1".to_string(), "user:000:gone".to_string()].into();
    let server = Server::start(state);
    let mut sink = Collect::default();
    let summary = server.export().run(&mut sink).unwrap();
    assert_records(&sink.records, &entries);
    assert_eq!(summary.vanished, 2);
}

#[test]
fn an_interrupted_run_resumes_without_duplicates_or_gaps() {
    let entries = sample(95);
    let mut state = kv(entries.clone(), 10);
    state.empty_page_at = Some(30);
    let server = Server::start(state);
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("export.state");
    let mut export = server.export();
    export.state_file = Some(state_file.clone());

    // 1. The sink fails in the middle of the fourth page.
    let mut sink = Collect {
        fail_after: Some(34),
        ..Collect::default()
    };
    let err = export.run(&mut sink).unwrap_err();
    assert!(format!("{err:#}").contains("disk full"), "{err:#}");
    let saved = ResumeState::load(&state_file).unwrap().unwrap();
    assert_eq!(saved.emitted, 30, "the last page that was all taken");
    assert_eq!(saved.namespace_id, NAMESPACE);
    // The caller cuts its output back to what the state file counts.
    let mut output = sink.records;
    output.truncate(saved.emitted as usize);

    // 2. The next run dies on the server: a page that keeps failing.
    server.kv.lock().unwrap().faults = vec![Fault {
        matches: "cursor=cur+c+60".into(),
        status: 502,
        retry_after: None,
        times: 4,
    }];
    let mut sink = Collect::default();
    let err = export.run(&mut sink).unwrap_err();
    assert!(format!("{err:#}").contains("HTTP 502"), "{err:#}");
    let saved = ResumeState::load(&state_file).unwrap().unwrap();
    assert!(
        saved.cursor.contains("50") || saved.cursor.contains("60"),
        "{saved:?}"
    );
    output.extend(sink.records);
    output.truncate(saved.emitted as usize);

    // 3. It finishes, and the state file is gone.
    let mut sink = Collect::default();
    let summary = export.run(&mut sink).unwrap();
    assert_eq!(summary.resumed_at, saved.emitted);
    assert_eq!(summary.emitted, 95);
    output.extend(sink.records);
    assert_records(&output, &entries);
    assert!(!state_file.exists());
    let lists = server
        .log()
        .iter()
        .filter(|r| r.target.contains("/keys?prefix=&cursor="))
        .count();
    assert!(lists > 0);
}

#[test]
fn a_state_file_of_another_export_is_refused() {
    let server = Server::start(kv(sample(5), 10));
    let dir = tempfile::tempdir().unwrap();
    let state_file = dir.path().join("s.json");
    ResumeState {
        version: 1,
        account_id: ACCOUNT.into(),
        namespace_id: "another".into(),
        prefix: String::new(),
        cursor: "cur c 3+/=".into(),
        emitted: 3,
        output_bytes: None,
    }
    .save(&state_file)
    .unwrap();
    let mut export = server.export();
    export.state_file = Some(state_file);
    let err = export.run(Collect::default()).unwrap_err().to_string();
    assert!(err.contains("namespace another"), "{err}");
    assert!(server.log().is_empty());
}

#[test]
fn a_refused_token_is_reported_at_once_naming_the_variables() {
    let server = Server::start(kv(sample(5), 10));
    let mut export = server.export();
    export.credentials.api_token = "wrong".into();
    let err = export.run(Collect::default()).unwrap_err().to_string();
    assert!(err.contains("Authentication error [code: 10000]"), "{err}");
    assert!(err.contains("CLOUDFLARE_API_TOKEN"), "{err}");
    assert_eq!(server.log().len(), 1, "a 401 is not retried");
}

/// A Worker whose config binds USERS to the namespace the server serves,
/// and NOID without an id.
fn worker() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("package.json"), "{}").unwrap();
    std::fs::write(
        dir.path().join("wrangler.jsonc"),
        format!(
            "{{\n  \"name\": \"w\",\n  \"main\": \"src/index.ts\",\n  \"kv_namespaces\": [\n    {{ \"binding\": \"USERS\", \"id\": \"{NAMESPACE}\" }},\n    {{ \"binding\": \"NOID\" }}\n  ]\n}}\n"
        ),
    )
    .unwrap();
    dir
}

/// The real binary in `dir`, with the credentials and the server's base.
fn kvgen(
    dir: &std::path::Path,
    server: &Server,
    args: &[&str],
    input: &[u8],
) -> std::process::Output {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
        .current_dir(dir)
        .args(args)
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        .env("KVGEN_CLOUDFLARE_API_BASE", &server.base)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Every line of an NDJSON export against the entries it came from, in
/// key order.
fn assert_export(text: &str, entries: &BTreeMap<String, Entry>) {
    use base64::Engine;
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    let expected: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(keys, expected);
    for line in &lines {
        let entry = &entries[line["key"].as_str().unwrap()];
        let value = line["value"].as_str().unwrap();
        let bytes = if line["base64"] == json!(true) {
            base64::engine::general_purpose::STANDARD
                .decode(value)
                .unwrap()
        } else {
            value.as_bytes().to_vec()
        };
        assert_eq!(bytes, entry.value, "{line}");
        assert_eq!(line["expiration"].as_u64(), entry.expiration, "{line}");
        assert_eq!(line.get("metadata"), entry.metadata.as_ref(), "{line}");
    }
}

#[test]
fn the_binary_exports_a_remote_namespace_that_bulk_put_reads_back() {
    let entries = sample(23);
    let server = Server::start(kv(entries.clone(), 10));
    let dir = worker();
    let out = kvgen(
        dir.path(),
        &server,
        &["export", "--remote", "--binding", "USERS"],
        b"",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_export(&text, &entries);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exported 23 keys"), "{stderr}");
    // Every request carries the token; it is never printed.
    assert!(
        server
            .log()
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer test-token"))
    );
    assert!(!stderr.contains(TOKEN));
    // What `kvgen bulk put` makes of it: every entry, checked.
    let put = kvgen(
        dir.path(),
        &server,
        &[
            "bulk",
            "put",
            "-",
            "--format",
            "ndjson",
            "--binding",
            "USERS",
            "--out",
            "up",
        ],
        text.as_bytes(),
    );
    assert_eq!(
        put.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let files: Vec<_> = std::fs::read_dir(dir.path().join("up"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .collect();
    let uploaded: Vec<Value> = files
        .iter()
        .flat_map(|f| {
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(f.path()).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(uploaded.len(), entries.len());
    // Or the upload files straight from the remote namespace.
    let bulk = kvgen(
        dir.path(),
        &server,
        &[
            "export",
            "--remote",
            "--binding",
            "USERS",
            "--format",
            "bulk",
            "--out",
            "direct",
        ],
        b"",
    );
    assert_eq!(
        bulk.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bulk.stderr)
    );
    let direct: Vec<Value> = std::fs::read_dir(dir.path().join("direct"))
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .flat_map(|f| {
            serde_json::from_slice::<Vec<Value>>(&std::fs::read(f.path()).unwrap()).unwrap()
        })
        .collect();
    assert_eq!(direct, uploaded);
}

#[test]
fn an_interrupted_export_to_a_file_is_resumed_with_no_key_twice_and_none_missed() {
    let entries = sample(35);
    let mut served = kv(entries.clone(), 10);
    // The third page is refused once (a 403 is not tried again): the first
    // run stops after two pages.
    served.faults.push(Fault {
        matches: "cursor=cur+c+20".into(),
        status: 403,
        retry_after: None,
        times: 1,
    });
    let server = Server::start(served);
    let dir = worker();
    let args = [
        "export",
        "--remote",
        "--binding",
        "USERS",
        "--out",
        "users.ndjson",
    ];
    let first = kvgen(dir.path(), &server, &args, b"");
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert_ne!(first.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(
        !dir.path().join("users.ndjson").exists(),
        "never half a file"
    );
    let partial = std::fs::read_to_string(dir.path().join("users.ndjson.partial")).unwrap();
    assert_eq!(partial.lines().count(), 20);
    assert!(dir.path().join("users.ndjson.partial.state").is_file());
    // Resumed: from the third page on, not from the start.
    let lists_before = server
        .log()
        .iter()
        .filter(|r| r.target.contains("/keys?"))
        .count();
    let second = kvgen(
        dir.path(),
        &server,
        &[&args[..], &["--resume"]].concat(),
        b"",
    );
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("resumed after 20 keys"));
    let text = std::fs::read_to_string(dir.path().join("users.ndjson")).unwrap();
    assert_export(&text, &entries);
    assert!(!dir.path().join("users.ndjson.partial").exists());
    assert!(!dir.path().join("users.ndjson.partial.state").exists());
    let log = server.log();
    let resumed_lists: Vec<&Logged> = log
        .iter()
        .filter(|r| r.target.contains("/keys?"))
        .skip(lists_before)
        .collect();
    assert!(
        resumed_lists[0].target.contains("cursor=cur+c+20"),
        "{:?}",
        resumed_lists[0].target
    );
    // Nothing left to resume.
    let again = kvgen(
        dir.path(),
        &server,
        &[&args[..], &["--resume", "--force"]].concat(),
        b"",
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("no interrupted export"));
}

#[test]
fn the_binary_refuses_a_remote_export_it_cannot_make_before_any_request() {
    let server = Server::start(kv(sample(3), 10));
    let dir = worker();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["export", "--remote", "--binding", "NOID"],
            "binding NOID of wrangler.jsonc has no id",
        ),
        (
            vec!["export", "--remote", "--local", "--binding", "USERS"],
            "cannot be used with",
        ),
        (vec!["export", "--binding", "USERS"], "--local"),
        (
            vec!["export", "--local", "--resume", "--binding", "USERS"],
            "--remote",
        ),
        (
            vec!["export", "--remote", "--resume", "--binding", "USERS"],
            "--resume continues an export into --out FILE",
        ),
    ];
    for (args, words) in cases {
        let out = kvgen(dir.path(), &server, &args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    // Without credentials: the variables named, nothing asked of the server.
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("kvgen"))
        .current_dir(dir.path())
        .args(["export", "--remote", "--binding", "USERS"])
        .env_remove("CLOUDFLARE_API_TOKEN")
        .env_remove("CLOUDFLARE_ACCOUNT_ID")
        .env("KVGEN_CLOUDFLARE_API_BASE", &server.base)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID"),
        "{stderr}"
    );
    assert!(server.log().is_empty());
}
