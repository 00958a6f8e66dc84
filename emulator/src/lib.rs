//! `vpc-imds-emulator`: a faithful IBM Cloud VPC Instance Metadata Service for
//! tests, demos and CI.
//!
//! It serves every identity and metadata operation of both API generations
//! with IBM's validation rules and error bodies, JWT-shaped tokens with real
//! expiry, pagination, and injectable faults. Start it in-process from
//! synchronous code:
//!
//! ```no_run
//! use vpc_imds_emulator::{Emulator, FaultRule};
//!
//! let emu = Emulator::builder().start()?;
//! println!("IMDS at {}", emu.base_url()); // http://127.0.0.1:PORT
//! emu.control().add_fault(FaultRule::status(503).times(2)).unwrap();
//! emu.control().expire_tokens();
//! emu.control().advance_clock(std::time::Duration::from_secs(600)).unwrap();
//! let counters = emu.control().counters();
//! # let _ = counters;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! The server runs on its own tokio runtime thread and stops when the
//! [`RunningEmulator`] is dropped or [`RunningEmulator::shutdown`] is called.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod api;
mod certs;
mod clock;
mod control;
mod error;
mod faults;
mod fixture;
mod record;
mod server;
mod service;
mod state;
mod token;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

pub use api::MAX_BODY_BYTES;
pub use certs::TLS_NAMES;
pub use faults::{DropStage, FaultAction, FaultError, FaultRule, Faults};
pub use fixture::{Fixture, FixtureError, TrustedProfile, DEFAULT_FIXTURE_JSON};
pub use record::{Counters, LoggedRequest, LOG_CAPACITY};
pub use server::HEAD_CUT_BYTES;
pub use service::{MetadataService, MetadataServiceUpdate, Protocol, ServiceError};
pub use state::{ClockError, Control, MAX_CLOCK_OFFSET};

/// A lock that survives a panicked holder: the data are counters and
/// configuration, still meaningful after a panic elsewhere.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn lock_read<T>(m: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn lock_write<T>(m: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(PoisonError::into_inner)
}

/// Entry point: `Emulator::builder()...start()`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with the defaults: default fixture, no faults, plain HTTP,
    /// no CORS, both ports on 127.0.0.1 with OS-chosen port numbers.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Configures and starts an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    fixture: Option<Fixture>,
    faults: Faults,
    tls: bool,
    cert_out: Option<PathBuf>,
    cors: bool,
    listen: SocketAddr,
    control_listen: SocketAddr,
    worker_threads: Option<usize>,
    head_timeout: Duration,
    body_timeout: Duration,
    metadata_service: Option<MetadataService>,
    tls_listen: Option<SocketAddr>,
}

/// Default of [`EmulatorBuilder::head_timeout`] and [`EmulatorBuilder::body_timeout`].
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

const LOOPBACK_ANY_PORT: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            fixture: None,
            faults: Faults::default(),
            tls: false,
            cert_out: None,
            cors: false,
            listen: LOOPBACK_ANY_PORT,
            control_listen: LOOPBACK_ANY_PORT,
            worker_threads: None,
            head_timeout: DEFAULT_READ_TIMEOUT,
            body_timeout: DEFAULT_READ_TIMEOUT,
            metadata_service: None,
            tls_listen: None,
        }
    }
}

impl EmulatorBuilder {
    /// Serve this fixture instead of the default one.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = Some(fixture);
        self
    }

    /// Start with these faults (they can be changed later through [`Control`]).
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Serve HTTPS only, with a self-signed certificate for [`TLS_NAMES`]
    /// generated at start (see [`RunningEmulator::cert_pem`]).
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// With TLS: also write the certificate PEM to this file at start.
    pub fn cert_out(mut self, path: impl Into<PathBuf>) -> Self {
        self.cert_out = Some(path.into());
        self
    }

    /// Permissive CORS for browser clients (preflight included).
    pub fn cors(mut self, on: bool) -> Self {
        self.cors = on;
        self
    }

    /// Address of the metadata service (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Address of the control API (default `127.0.0.1:0`).
    pub fn control_listen(mut self, addr: SocketAddr) -> Self {
        self.control_listen = addr;
        self
    }

    /// Runtime worker threads for [`EmulatorBuilder::start`] (default: CPUs, at most 4).
    pub fn worker_threads(mut self, n: usize) -> Self {
        self.worker_threads = Some(n.max(1));
        self
    }

    /// How long a client may take to send a request head; an idle keep-alive
    /// connection is closed after the same time (default 30 s, at least 1 ms).
    pub fn head_timeout(mut self, timeout: Duration) -> Self {
        self.head_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// How long a client may take to send a request body once its head has
    /// arrived (default 30 s, at least 1 ms). A late body is answered
    /// 408 `request_timeout` and the connection is closed, so stalled clients
    /// cannot hold connections (and file descriptors) for ever.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Start with these `metadata_service` settings (see [`MetadataService`]);
    /// default: enabled, the protocol of the main listener, the fixture's
    /// `response_hop_limit` (else 1), callers on the instance (`caller_hops` 0).
    pub fn metadata_service(mut self, settings: MetadataService) -> Self {
        self.metadata_service = Some(settings);
        self
    }

    /// Also serve HTTPS on this address, beside the main listener (plain HTTP
    /// unless [`tls`](Self::tls)), with the same self-signed certificate. Only the
    /// listener whose protocol matches `metadata_service.protocol` answers; the
    /// other accepts connections and stays silent.
    pub fn tls_listen(mut self, addr: SocketAddr) -> Self {
        self.tls_listen = Some(addr);
        self
    }

    /// Binds both ports and prepares everything that can fail, before any thread starts.
    fn prepare(self) -> std::io::Result<Prepared> {
        self.faults
            .validate()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let mut faults = self.faults;
        if let Some(ms) = &self.metadata_service {
            ms.validate()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            faults.disabled |= !ms.enabled;
        }
        let fixture = self.fixture.unwrap_or_default();
        fixture.validate()?;
        let listener = TcpListener::bind(self.listen)?;
        let control_listener = TcpListener::bind(self.control_listen)?;
        listener.set_nonblocking(true)?;
        control_listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let control_addr = control_listener.local_addr()?;
        let tls_listener = match self.tls_listen {
            Some(a) => {
                let l = TcpListener::bind(a)?;
                l.set_nonblocking(true)?;
                Some(l)
            }
            None => None,
        };

        let (tls, cert_pem) = if self.tls || tls_listener.is_some() {
            let (config, pem) = certs::server_tls()?;
            if let Some(path) = &self.cert_out {
                std::fs::write(path, &pem).map_err(|e| {
                    std::io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
                })?;
            }
            (Some(tokio_rustls::TlsAcceptor::from(config)), Some(pem))
        } else {
            (None, None)
        };
        let scheme = if self.tls { "https" } else { "http" };
        let base_url = format!("{scheme}://{}", reachable(addr));
        let tls_addr = match &tls_listener {
            Some(l) => Some(l.local_addr()?),
            None => None,
        };
        let state = Arc::new(state::State {
            prepared: state::Prepared::new(&fixture, self.tls),
            tokens: token::TokenStore::default(),
            faults: Mutex::new(faults),
            recorder: Mutex::new(record::Recorder::default()),
            clock_offset_ms: AtomicI64::new(0),
            ids: token::Ids::new(),
            ca: certs::CertAuthority::new()?,
            cors: self.cors,
            tls: self.tls,
            base_url: base_url.clone(),
            head_timeout: self.head_timeout,
            body_timeout: self.body_timeout,
            accept_log: Mutex::new(server::LogLimiter::new(server::ACCEPT_LOG_INTERVAL)),
            service: RwLock::new(state::ServiceState::new(
                &fixture,
                self.tls,
                self.metadata_service,
            )),
        });
        Ok(Prepared {
            listener,
            control_listener,
            tls_listener,
            tls,
            state,
            info: Info {
                addr,
                control_addr,
                base_url,
                control_url: format!("http://{}", reachable(control_addr)),
                tls_url: tls_addr.map(|a| format!("https://{}", reachable(a))),
                tls_addr,
                cert_pem,
            },
            worker_threads: self.worker_threads,
        })
    }

    /// Starts the emulator on a background thread with its own tokio runtime and
    /// returns once both ports accept connections. Works from any thread,
    /// including inside another async runtime.
    pub fn start(self) -> std::io::Result<RunningEmulator> {
        let p = self.prepare()?;
        let threads = p
            .worker_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get().min(4)));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("vpc-imds-emulator")
            .enable_all()
            .build()?;
        let (tx, rx) = watch::channel(false);
        let serve = {
            let _guard = runtime.enter();
            p.serve(rx)?
        };
        let thread = std::thread::Builder::new()
            .name("vpc-imds-emulator".into())
            .spawn(move || {
                runtime.block_on(serve);
                // Dropping the runtime here ends connections still open after the grace period.
            })?;
        Ok(RunningEmulator {
            info: p.info,
            control: Control { state: p.state },
            shutdown: tx,
            thread: Some(thread),
        })
    }

    /// Starts the emulator as tasks on the current tokio runtime (call it from
    /// inside one). [`RunningEmulator::shutdown`] then only signals the tasks.
    pub fn spawn(self) -> std::io::Result<RunningEmulator> {
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|e| std::io::Error::other(format!("spawn needs a tokio runtime: {e}")))?;
        let p = self.prepare()?;
        let (tx, rx) = watch::channel(false);
        let serve = {
            let _guard = handle.enter();
            p.serve(rx)?
        };
        handle.spawn(serve);
        Ok(RunningEmulator {
            info: p.info,
            control: Control { state: p.state },
            shutdown: tx,
            thread: None,
        })
    }
}

/// An address a client on this machine can connect to (wildcards become loopback).
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[derive(Debug, Clone)]
struct Info {
    addr: SocketAddr,
    control_addr: SocketAddr,
    base_url: String,
    control_url: String,
    tls_addr: Option<SocketAddr>,
    tls_url: Option<String>,
    cert_pem: Option<String>,
}

struct Prepared {
    listener: TcpListener,
    control_listener: TcpListener,
    tls_listener: Option<TcpListener>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: Arc<state::State>,
    info: Info,
    worker_threads: Option<usize>,
}

impl Prepared {
    /// The future that runs both accept loops; must be created inside a runtime context.
    fn serve(
        &self,
        shutdown: watch::Receiver<bool>,
    ) -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
        let imds = tokio::net::TcpListener::from_std(self.listener.try_clone()?)?;
        let ctl = tokio::net::TcpListener::from_std(self.control_listener.try_clone()?)?;
        let extra = match (&self.tls_listener, &self.tls) {
            (Some(l), Some(acceptor)) => Some(server::accept_loop(
                tokio::net::TcpListener::from_std(l.try_clone()?)?,
                Some(acceptor.clone()),
                self.state.clone(),
                server::Kind::Imds,
                shutdown.clone(),
            )),
            _ => None,
        };
        // The main listener is TLS only with `tls(true)`; the acceptor may exist
        // for the extra HTTPS listener alone.
        let main_tls = if self.state.tls {
            self.tls.clone()
        } else {
            None
        };
        let imds_loop = server::accept_loop(
            imds,
            main_tls,
            self.state.clone(),
            server::Kind::Imds,
            shutdown.clone(),
        );
        let ctl_loop = server::accept_loop(
            ctl,
            None,
            self.state.clone(),
            server::Kind::Control,
            shutdown,
        );
        Ok(async move {
            let extra = async move {
                if let Some(extra) = extra {
                    extra.await;
                }
            };
            tokio::join!(imds_loop, ctl_loop, extra);
        })
    }
}

/// A running emulator. Dropping it stops the server.
pub struct RunningEmulator {
    info: Info,
    control: Control,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.info.base_url)
            .field("control_url", &self.info.control_url)
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// The bound address of the metadata service.
    pub fn addr(&self) -> SocketAddr {
        self.info.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://...` with TLS), no trailing slash.
    pub fn base_url(&self) -> &str {
        &self.info.base_url
    }

    /// The bound address of the control API.
    pub fn control_addr(&self) -> SocketAddr {
        self.info.control_addr
    }

    /// `http://127.0.0.1:PORT` of the control API.
    pub fn control_url(&self) -> &str {
        &self.info.control_url
    }

    /// The extra HTTPS listener's address ([`EmulatorBuilder::tls_listen`]).
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.info.tls_addr
    }

    /// `https://127.0.0.1:PORT` of the extra HTTPS listener, if there is one.
    pub fn tls_url(&self) -> Option<&str> {
        self.info.tls_url.as_deref()
    }

    /// Run-time control: faults, token expiry, clock, counters, request log.
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// With TLS: the self-signed server certificate (PEM) clients should trust.
    pub fn cert_pem(&self) -> Option<&str> {
        self.info.cert_pem.as_deref()
    }

    /// Stops accepting, gives open connections a short grace period, and (for
    /// [`EmulatorBuilder::start`]) waits for the server thread to end.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.stop();
    }
}
