//! The cross-host scenarios (`tests/scenarios/scenarios.json`, schema in its
//! README) through the `Client`'s public API, each against its own in-process
//! emulator on 127.0.0.1.
//!
//! Every scenario must give the table's normalized outcome, except those in
//! [`KNOWN`]: where this host differs today, the outcome must still differ (a
//! strict expected failure), so the entry has to go when the host is fixed.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use vpc_imds::{Client, Error, RetryPolicy, Timeouts, TrustedProfile};
use vpc_imds_emulator::{Emulator, Fixture, RunningEmulator, DEFAULT_FIXTURE_JSON};

const TABLE: &str = include_str!("../../tests/scenarios/scenarios.json");
const HOST: &str = "rust";

/// Scenarios where this host differs today: name and the reason.
const KNOWN: &[(&str, &str)] = &[];

/// Scenarios run at the same time (they mostly sleep; each has its own emulator).
const PARALLEL: usize = 4;

#[test]
fn scenarios() {
    let table: Value = serde_json::from_str(TABLE).expect("scenarios.json parses");
    let scenarios = table["scenarios"].as_array().expect("a scenarios list");
    let mut names: Vec<&str> = scenarios
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), scenarios.len(), "scenario names are unique");
    for (name, _) in KNOWN {
        assert!(
            names.contains(name),
            "KNOWN names an unknown scenario {name}"
        );
    }

    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let report = Mutex::new(Vec::<(usize, String, bool)>::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(scenario) = scenarios.get(i) else {
                    return;
                };
                let (line, ok) = check(scenario);
                report.lock().unwrap().push((i, line, ok));
            });
        }
    });
    let mut report = report.into_inner().unwrap();
    report.sort_by_key(|r| r.0);
    let mut failed = 0;
    for (_, line, ok) in &report {
        println!("{line}");
        if !ok {
            failed += 1;
        }
    }
    println!(
        "scenarios (rust): {} run, {failed} failed, {:.1} s",
        report.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        failed, 0,
        "{failed} scenario(s) failed; see the lines above"
    );
}

/// Runs one scenario; a report line and whether it went as this host expects.
fn check(scenario: &Value) -> (String, bool) {
    let name = scenario["name"].as_str().unwrap();
    if let Some(why) = scenario["not_applicable"][HOST].as_str() {
        return (format!("n/a   {name}: {why}"), true);
    }
    let started = Instant::now();
    let diffs = match run(scenario) {
        Ok(diffs) => diffs,
        Err(setup) => vec![format!("setup failed: {setup}")],
    };
    let secs = started.elapsed().as_secs_f64();
    match (KNOWN.iter().find(|k| k.0 == name), diffs.is_empty()) {
        (None, true) => (format!("pass  {name} ({secs:.2} s)"), true),
        (None, false) => (format!("FAIL  {name}: {}", diffs.join("; ")), false),
        (Some((_, why)), false) => (
            format!("known {name}: {why} [differs: {}]", diffs.join("; ")),
            true,
        ),
        (Some(_), true) => (
            format!("FAIL  {name}: listed in KNOWN but now passes: remove the entry"),
            false,
        ),
    }
}

/// Sets the scenario up, runs it, and lists how the outcome differs from the table.
fn run(scenario: &Value) -> Result<Vec<String>, String> {
    let emu = start_emulator(&scenario["emulator"])?;
    for call in scenario["emulator"]["control"]
        .as_array()
        .into_iter()
        .flatten()
    {
        control(&emu, call)?;
    }
    let client = build_client(&emu, &scenario["client"])?;
    let started = Instant::now();
    let outcome = match &scenario["call"] {
        Value::Array(steps) => {
            let mut values = Vec::new();
            let mut error = None;
            for step in steps {
                if step.get("control").is_some() {
                    control(&emu, &step["control"])?;
                    continue;
                }
                match call(&client, step) {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            error.map_or(Ok(Value::Array(values)), Err)
        }
        step => call(&client, step),
    };
    let elapsed = started.elapsed().as_millis() as u64;
    let expect = &scenario["expect"];
    let mut diffs = Vec::new();
    let got = match &outcome {
        Ok(v) => json!({ "value": v }),
        Err(e) => json!({ "error": e }),
    };
    if let Some(value) = expect.get("value") {
        if !got.get("value").is_some_and(|got| matches(value, got)) {
            diffs.push(format!("expected value {value}, got {got}"));
        }
    } else if got
        .get("error")
        .map(|g| as_stated(g, &expect["error"]))
        .as_ref()
        != expect.get("error")
    {
        diffs.push(format!("expected error {}, got {got}", expect["error"]));
    }
    if let Some(limits) = expect.get("elapsed_ms") {
        if limits["min"].as_u64().is_some_and(|min| elapsed < min)
            || limits["max"].as_u64().is_some_and(|max| elapsed > max)
        {
            diffs.push(format!("took {elapsed} ms, expected {limits}"));
        }
    }
    if let Some(requests) = expect.get("requests") {
        let counters = control(&emu, &json!({"method": "GET", "path": "/counters"}))?;
        subset("requests", requests, &counters, &mut diffs);
    }
    Ok(diffs)
}

/// `want` as the table writes it: equal, except that `{"min": a, "max": b}` matches
/// any number in that range.
fn matches(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Object(w), Value::Number(n))
            if !w.is_empty() && w.keys().all(|k| k == "min" || k == "max") =>
        {
            let n = n.as_f64().unwrap_or(f64::NAN);
            w.get("min")
                .and_then(Value::as_f64)
                .is_none_or(|min| n >= min)
                && w.get("max")
                    .and_then(Value::as_f64)
                    .is_none_or(|max| n <= max)
        }
        (Value::Object(w), Value::Object(g)) => {
            w.len() == g.len()
                && w.iter()
                    .all(|(k, v)| g.get(k).is_some_and(|g| matches(v, g)))
        }
        (Value::Array(w), Value::Array(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(w, g)| matches(w, g))
        }
        _ => want == got,
    }
}

/// Checks that every member of `want` has its value in `got` (a missing counter is 0).
fn subset(at: &str, want: &Value, got: &Value, diffs: &mut Vec<String>) {
    for (key, want) in want.as_object().into_iter().flatten() {
        let have = got.get(key).cloned().unwrap_or(json!(0));
        if want.is_object() {
            subset(&format!("{at}.{key}"), want, &have, diffs);
        } else if &have != want {
            diffs.push(format!("{at}.{key}: expected {want}, got {have}"));
        }
    }
}

// -- the emulator ------------------------------------------------------------

fn start_emulator(setup: &Value) -> Result<RunningEmulator, String> {
    let mut builder = Emulator::builder().worker_threads(1);
    if let Some(patches) = setup["fixture"].as_array() {
        builder = builder.fixture(
            Fixture::from_json(&patched_fixture(patches))
                .map_err(|e| format!("the emulator refuses the fixture: {e}"))?,
        );
    }
    if let Some(ms) = setup["head_timeout_ms"].as_u64() {
        builder = builder.head_timeout(Duration::from_millis(ms));
    }
    builder.start().map_err(|e| format!("emulator: {e}"))
}

/// The built-in fixture with the patches applied: `value` sets a JSON value,
/// `raw` puts JSON text in place as it is (e.g. `1e999`).
fn patched_fixture(patches: &[Value]) -> String {
    let mut fixture: Value = serde_json::from_str(DEFAULT_FIXTURE_JSON).unwrap();
    let mut raws = Vec::new();
    for patch in patches {
        let value = match patch.get("raw") {
            Some(raw) => {
                raws.push(raw.as_str().unwrap().to_owned());
                json!(format!("@@raw{}@@", raws.len() - 1))
            }
            None => patch["value"].clone(),
        };
        let mut place = &mut fixture;
        for step in patch["path"].as_array().unwrap() {
            place = match step {
                Value::String(key) => &mut place[key.as_str()],
                index => &mut place[index.as_u64().unwrap() as usize],
            };
        }
        *place = value;
    }
    let mut text = fixture.to_string();
    for (i, raw) in raws.iter().enumerate() {
        text = text.replace(&format!("\"@@raw{i}@@\""), raw);
    }
    text
}

/// One exchange with the emulator on loopback (`Connection: close`): the body as JSON.
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<(u16, Vec<u8>), String> {
    let addr = base.strip_prefix("http://").ok_or("not an http:// URL")?;
    let mut conn = TcpStream::connect(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        req.push_str(&format!("{name}: {value}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    conn.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no response head")?;
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    // The emulator sends Content-Length (never chunked) with Connection: close.
    Ok((status, answer[split + 4..].to_vec()))
}

fn control(emu: &RunningEmulator, call: &Value) -> Result<Value, String> {
    let body = match call.get("body") {
        Some(b) => b.to_string(),
        None => String::new(),
    };
    let method = call["method"].as_str().unwrap();
    let path = call["path"].as_str().unwrap();
    let (status, body) = http(emu.control_url(), method, path, &[], &body)?;
    if status >= 300 {
        return Err(format!(
            "control {method} {path}: {status} {}",
            String::from_utf8_lossy(&body)
        ));
    }
    serde_json::from_slice(&body).map_err(|e| format!("control {path}: {e}"))
}

/// The length of a metadata document's body as the emulator serves it.
fn body_len(emu: &RunningEmulator, path: &str) -> Result<usize, String> {
    let version = "version=2025-08-26";
    let (_, token) = http(
        emu.base_url(),
        "PUT",
        &format!("/identity/v1/token?{version}"),
        &[("Metadata-Flavor", "ibm")],
        "",
    )?;
    let token: Value = serde_json::from_slice(&token).map_err(|e| e.to_string())?;
    let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap_or(""));
    let (status, body) = http(
        emu.base_url(),
        "GET",
        &format!("{path}?{version}"),
        &[("Authorization", &bearer)],
        "",
    )?;
    if status != 200 {
        return Err(format!("GET {path}: {status}"));
    }
    control(emu, &json!({"method": "POST", "path": "/reset"}))?;
    Ok(body.len())
}

// -- the client --------------------------------------------------------------

fn build_client(emu: &RunningEmulator, settings: &Value) -> Result<Client, String> {
    let endpoint = match settings["endpoint"].as_str() {
        Some("refused") => {
            // A loopback port nothing listens on.
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            format!("http://127.0.0.1:{port}")
        }
        // The emulator's port over https: it does not speak TLS.
        Some("tls_to_plain") => emu.base_url().replacen("http://", "https://", 1),
        Some(other) => return Err(format!("unknown endpoint {other}")),
        None => emu.base_url().to_owned(),
    };
    let mut b = Client::builder().endpoint(endpoint).ignore_env();
    let ms = |key: &str| settings[key].as_u64().map(Duration::from_millis);
    if ms("timeout_ms").is_some()
        || ms("request_timeout_ms").is_some()
        || ms("connect_timeout_ms").is_some()
    {
        let mut t = Timeouts::default();
        if let Some(d) = ms("timeout_ms") {
            t.operation = d;
            t.request = t.request.min(d);
            t.connect = t.connect.min(d);
        }
        if let Some(d) = ms("request_timeout_ms") {
            t.request = d;
        }
        if let Some(d) = ms("connect_timeout_ms") {
            t.connect = d;
        }
        b = b.timeouts(t);
    }
    if let Some(n) = settings["max_attempts"].as_u64() {
        b = b.retry(RetryPolicy {
            max_attempts: n as u8,
            ..RetryPolicy::default()
        });
    }
    match &settings["max_response_bytes"] {
        Value::Null => {}
        Value::Object(o) => {
            let len = body_len(emu, o["body_of"].as_str().unwrap())?;
            b = b.max_response_bytes((len as i64 + o["plus"].as_i64().unwrap_or(0)) as usize);
        }
        n => b = b.max_response_bytes(n.as_u64().unwrap() as usize),
    }
    if let Some(v) = settings["version"].as_str() {
        b = b.version(v);
    }
    if let Some(s) = settings["token_lifetime"].as_u64() {
        b = b.token_lifetime(s as u32);
    }
    b.build().map_err(|e| format!("client: {e}"))
}

/// One call (or `concurrent` identical ones), normalized.
fn call(client: &Client, step: &Value) -> Result<Value, Value> {
    if let Some(ms) = step["pause_ms"].as_u64() {
        std::thread::sleep(Duration::from_millis(ms));
    }
    let n = step["concurrent"].as_u64().unwrap_or(1) as usize;
    if n == 1 {
        return one(client, step);
    }
    let barrier = Barrier::new(n);
    let results: Vec<Result<Value, Value>> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    one(client, step)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        return Err(e.clone());
    }
    let first = results[0].clone();
    if results.iter().any(|r| r != &first) {
        return Ok(
            json!({"concurrent results differ": results.into_iter().map(|r| r.unwrap()).collect::<Vec<_>>()}),
        );
    }
    first
}

fn one(client: &Client, step: &Value) -> Result<Value, Value> {
    let op = step["op"].as_str().unwrap();
    let arg = |key: &str| step[key].as_str();
    let id = arg("id").unwrap_or("");
    let normalized = |e: Error| error_record(&e);
    Ok(match op {
        "instance" => json!({"id": client.instance().map_err(normalized)?.get().id.to_string()}),
        "initialization" => {
            let doc = client.initialization().map_err(normalized)?;
            let view = doc.get();
            let profile = view
                .default_trusted_profile
                .and_then(|p| p.target)
                .and_then(|t| t.id)
                .map(|id| id.to_string());
            json!({"keys": view.keys.len(), "default_trusted_profile": profile})
        }
        "identity_token" => {
            let expires_in = step["expires_in"].as_u64().map(|s| s as u32);
            let doc = client
                .identity_token_with(expires_in, arg("nonce"))
                .map_err(normalized)?;
            let mut value = json!({"expires_in": doc.expires_in()});
            if arg("nonce").is_some() {
                let echoed = doc.get().nonce.map(|n| n.to_string());
                value["nonce"] = json!(echoed);
                value["nonce_claim"] = jwt_claims(doc.token().expose())["nonce"].clone();
            }
            value
        }
        "iam_token" => {
            let profile = if let Some(id) = arg("profile_id") {
                TrustedProfile::Id(id)
            } else if let Some(crn) = arg("profile_crn") {
                TrustedProfile::Crn(crn)
            } else if let Some(name) = arg("profile_name") {
                TrustedProfile::Name(name)
            } else {
                TrustedProfile::Default
            };
            json!({"expires_in": client.iam_token(profile).map_err(normalized)?.expires_in()})
        }
        "key" => json!({"id": client.key(id).map_err(normalized)?.get().id.to_string()}),
        "network_interface" => {
            json!({"id": client.network_interface(id).map_err(normalized)?.get().id.to_string()})
        }
        "volume_attachment" => {
            json!({"id": client.volume_attachment(id).map_err(normalized)?.get().id.to_string()})
        }
        "placement_group" => {
            json!({"id": client.placement_group(id).map_err(normalized)?.get().id.to_string()})
        }
        "network_interfaces" => {
            json!({"count": client.network_interfaces().map_err(normalized)?.get().network_interfaces.len()})
        }
        "volume_attachments" => {
            json!({"count": client.volume_attachments().map_err(normalized)?.get().volume_attachments.len()})
        }
        "keys" => {
            let mut count = 0;
            for page in client.keys() {
                count += page.map_err(normalized)?.get().keys.len();
            }
            json!({ "count": count })
        }
        "placement_groups" => {
            let mut count = 0;
            for page in client.placement_groups() {
                count += page.map_err(normalized)?.get().placement_groups.len();
            }
            json!({ "count": count })
        }
        "ssh_keys" => json!(client.ssh_keys().map_err(normalized)?),
        "user_data" => {
            json!({"base64": base64(client.user_data().map_err(normalized)?.as_bytes())})
        }
        "get" => document(
            client
                .get(arg("path").unwrap_or(""))
                .map_err(normalized)?
                .json(),
        ),
        "get_all" => document(
            &client
                .get_all(arg("path").unwrap_or(""))
                .map_err(normalized)?,
        ),
        "wait_until_ready" => {
            let max = step["max_ms"].as_u64().map(Duration::from_millis);
            client.wait_until_ready(max).map_err(normalized)?;
            Value::Null
        }
        other => json!({ "unsupported op": other }),
    })
}

/// A JSON document as its top-level lists' lengths and whether it links a next page.
fn document(body: &[u8]) -> Value {
    let doc: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(o)) => o,
        _ => return json!({"not a JSON object": String::from_utf8_lossy(body)}),
    };
    let mut out = Map::new();
    for (key, value) in &doc {
        if let Value::Array(items) = value {
            out.insert(key.clone(), json!(items.len()));
        }
    }
    out.insert("next".into(), json!(doc.contains_key("next")));
    Value::Object(out)
}

/// The error record every host gives identically.
fn error_record(e: &Error) -> Value {
    let code = e.api().map(|a| a.code.as_str()).filter(|c| !c.is_empty());
    json!({
        "kind": e.kind().as_str(),
        "status": e.status(),
        "code": code,
        "cause": e.core().map(|c| c.cause().as_str()),
        "message": e.to_string(),
    })
}

/// The error record as the table states one: its message only as far as the
/// table's `message_prefix`, when it has one.
fn as_stated(got: &Value, want: &Value) -> Value {
    let mut got = got.clone();
    let Some(record) = got.as_object_mut() else {
        return got;
    };
    let message = record.remove("message");
    let message = message.as_ref().and_then(Value::as_str).unwrap_or_default();
    if let Some(prefix) = want.get("message_prefix").and_then(Value::as_str) {
        let stated = if message.starts_with(prefix) {
            prefix
        } else {
            message
        };
        record.insert("message_prefix".into(), json!(stated));
    }
    got
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The claims of a JWT (its middle part, base64url JSON); null when unreadable.
fn jwt_claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}
