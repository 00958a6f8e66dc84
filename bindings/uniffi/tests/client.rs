//! The client loop with a transport written in Rust (no JVM): results, the token
//! shared by threads, the 401 refresh, and what one call costs on the native side.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use vpc_imds_uniffi::{
    error_kind, HttpRequest, HttpResponse, ImdsClient, ImdsSettings, InputText, Interruption,
    Transport, TransportError,
};

const TOKEN: &str =
    r#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln","expires_in":300}"#;

/// Answers from memory: tokens for PUT, the instance fixture for GET; the first
/// `unauthorized` GETs answer 401.
struct Canned {
    instance: Vec<u8>,
    puts: AtomicUsize,
    gets: AtomicUsize,
    unauthorized: AtomicUsize,
}

impl Canned {
    fn new(unauthorized: usize) -> Arc<Canned> {
        let instance = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/vectors/fixtures/instance.json"
        ))
        .expect("instance fixture");
        Arc::new(Canned {
            instance,
            puts: AtomicUsize::new(0),
            gets: AtomicUsize::new(0),
            unauthorized: AtomicUsize::new(unauthorized),
        })
    }
}

impl Transport for Canned {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if request.method == "PUT" {
            self.puts.fetch_add(1, Ordering::SeqCst);
            return Ok(HttpResponse {
                status: 200,
                retry_after: None,
                body: TOKEN.as_bytes().to_vec().into(),
                transfer_encoding: None,
            });
        }
        assert!(request
            .headers
            .iter()
            .any(|h| h.name == "Authorization" && h.secret));
        assert!(!request.to_string().contains("eyJ"), "Display redacts");
        self.gets.fetch_add(1, Ordering::SeqCst);
        let left = self.unauthorized.load(Ordering::SeqCst);
        if left > 0 {
            self.unauthorized.store(left - 1, Ordering::SeqCst);
            return Ok(HttpResponse {
                status: 401,
                retry_after: None,
                body: br#"{"errors":[{"code":"unauthenticated","message":"expired"}],"status_code":401,"trace":"t"}"#.to_vec().into(),
                transfer_encoding: None,
            });
        }
        Ok(HttpResponse {
            status: 200,
            retry_after: None,
            body: self.instance.clone().into(),
            transfer_encoding: None,
        })
    }
}

fn client(t: &Arc<Canned>) -> Arc<ImdsClient> {
    let settings = ImdsSettings {
        endpoint: Some(InputText("http://127.0.0.1:9".into())),
        ..ImdsSettings::default()
    };
    ImdsClient::new(settings, Some(t.clone()), None, None).expect("client")
}

#[test]
fn instance_token_shared_and_refresh() {
    let t = Canned::new(0);
    let c = client(&t);
    let instance = c.instance().expect("instance");
    assert_eq!(instance.name.as_deref(), Some("emu-vsi-1"));
    assert_eq!(
        instance.availability.and_then(|a| a.class_name).as_deref(),
        Some("standard")
    );
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || c.instance().map(|i| i.id).map_err(|e| e.to_string()))
        })
        .collect();
    for th in threads {
        assert_eq!(th.join().expect("thread").expect("instance"), instance.id);
    }
    assert_eq!(t.puts.load(Ordering::SeqCst), 1, "one token for 9 calls");

    let t = Canned::new(1);
    let c = client(&t);
    c.instance().expect("instance after one 401");
    assert_eq!(t.puts.load(Ordering::SeqCst), 2, "exactly one refresh");
    let t = Canned::new(5);
    let e = client(&t).instance().expect_err("401 twice");
    assert_eq!(error_kind(&e), "unauthorized");
    assert!(!e.to_string().contains("eyJ"));
}

#[test]
fn native_cost_per_call() {
    let t = Canned::new(0);
    let c = client(&t);
    for _ in 0..200 {
        c.instance().expect("warm-up");
    }
    let n = 2000;
    let start = Instant::now();
    for _ in 0..n {
        c.instance().expect("instance");
    }
    let per = start.elapsed() / n;
    println!("native side of one cached GET (driver, JSON reply), no FFI: {per:?}");
}

/// Refuses every request, counting them.
struct Refusing(AtomicUsize);

impl Transport for Refusing {
    fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(TransportError::Refused {
            detail: "nothing listens".into(),
        })
    }
}

/// Says "interrupted" from its `after`-th question on, counting them.
struct InterruptedAfter {
    after: usize,
    asked: AtomicUsize,
}

impl Interruption for InterruptedAfter {
    fn interrupted(&self) -> bool {
        self.asked.fetch_add(1, Ordering::SeqCst) + 1 >= self.after
    }
}

#[test]
fn an_interrupted_blocking_call_ends_as_interrupted_and_a_cached_call_never_asks() {
    let settings = || ImdsSettings {
        endpoint: Some(InputText("http://127.0.0.1:9".into())),
        ..ImdsSettings::default()
    };
    let refusing = Arc::new(Refusing(AtomicUsize::new(0)));
    let asker = Arc::new(InterruptedAfter {
        after: 4,
        asked: AtomicUsize::new(0),
    });
    let c = ImdsClient::new(
        settings(),
        Some(refusing.clone()),
        None,
        Some(asker.clone()),
    )
    .expect("client");
    let started = Instant::now();
    let e = c
        .wait_until_ready(Some(std::time::Duration::from_secs(30)))
        .expect_err("interrupted");
    assert_eq!(error_kind(&e), "interrupted", "{e}");
    assert_eq!(asker.asked.load(Ordering::SeqCst), 4);
    assert!(
        started.elapsed().as_secs() < 10,
        "ended by the interruption"
    );
    // Questions after failed sends and between backoff slices; a send per attempt.
    let sends = refusing.0.load(Ordering::SeqCst);
    assert!((1..=4).contains(&sends), "{sends} sends");

    // A cached call neither waits nor fails: its interruption is never asked.
    let t = Canned::new(0);
    let quiet = Arc::new(InterruptedAfter {
        after: usize::MAX,
        asked: AtomicUsize::new(0),
    });
    let c =
        ImdsClient::new(settings(), Some(t.clone()), None, Some(quiet.clone())).expect("client");
    for _ in 0..3 {
        c.instance().expect("instance");
    }
    assert_eq!(quiet.asked.load(Ordering::SeqCst), 0);
}
