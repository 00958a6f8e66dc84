//! Listeners, connections, TLS, and the I/O wrapper that cuts responses short.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::service::Protocol;
use crate::state::State;
use crate::{api, control, lock};

/// Bytes of a response head written before a mid-headers drop: inside the header block.
pub const HEAD_CUT_BYTES: usize = 20;
/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);
/// First and longest pause after a failed accept.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// At most one accept-failure line per this interval.
pub(crate) const ACCEPT_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// The pause after each failed accept: 10 ms, doubling to 1 s, back to 10 ms
/// after a success. Accept errors (usually EMFILE: out of file descriptors)
/// repeat until something frees up, so retrying at once would spin a core.
#[derive(Debug)]
pub(crate) struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    pub fn new() -> Self {
        AcceptBackoff {
            next: ACCEPT_BACKOFF_MIN,
        }
    }

    /// A failure: how long to wait before the next accept.
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(ACCEPT_BACKOFF_MAX);
        wait
    }

    pub fn succeeded(&mut self) {
        self.next = ACCEPT_BACKOFF_MIN;
    }
}

/// Lets one log line through per interval and counts the ones it holds back.
#[derive(Debug)]
pub(crate) struct LogLimiter {
    interval: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl LogLimiter {
    pub fn new(interval: Duration) -> Self {
        LogLimiter {
            interval,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` if a line may be written at `now`, `n` being the lines held
    /// back since the last one written; `None` (and counted) otherwise.
    pub fn admit(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }

    /// Lines held back and not yet reported; resets the count.
    pub fn take_suppressed(&mut self) -> u64 {
        std::mem::take(&mut self.suppressed)
    }
}

fn not_shown(n: u64) -> String {
    match n {
        0 => String::new(),
        1 => "; 1 more accept failure not shown".into(),
        n => format!("; {n} more accept failures not shown"),
    }
}

/// Where the next response on a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// Before the first byte.
    Nothing,
    /// After [`HEAD_CUT_BYTES`] bytes.
    Headers,
    /// After the head and this many body bytes.
    Body(usize),
}

/// Set by the handler, read by the connection's [`CutIo`] when the response is written.
#[derive(Default)]
pub(crate) struct CutSwitch(Mutex<Option<Cut>>);

impl CutSwitch {
    pub fn arm(&self, cut: Cut) {
        *lock(&self.0) = Some(cut);
    }

    fn take(&self) -> Option<Cut> {
        lock(&self.0).take()
    }
}

enum CutState {
    Pass,
    /// This many more bytes, then the connection fails.
    Limit(usize),
    /// Looking for the `\r\n\r\n` that ends the head (`matched` bytes of it seen).
    FindHeadEnd {
        matched: u8,
        body: usize,
    },
    Dead,
}

/// Passes I/O through until a cut is armed, then writes only part of the
/// response and fails, so hyper closes the socket mid-response.
struct CutIo<T> {
    inner: T,
    switch: Arc<CutSwitch>,
    state: CutState,
}

fn head_end_step(matched: u8, b: u8) -> u8 {
    const END: &[u8; 4] = b"\r\n\r\n";
    if b == END[usize::from(matched)] {
        matched + 1
    } else if b == b'\r' {
        1
    } else {
        0
    }
}

fn dropped() -> io::Error {
    io::Error::new(
        io::ErrorKind::ConnectionAborted,
        "vpc-imds-emulator: injected connection drop",
    )
}

impl<T: AsyncRead + Unpin> AsyncRead for CutIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CutIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if let CutState::Pass = this.state {
            match this.switch.take() {
                Some(Cut::Nothing) => this.state = CutState::Limit(0),
                Some(Cut::Headers) => this.state = CutState::Limit(HEAD_CUT_BYTES),
                Some(Cut::Body(body)) => this.state = CutState::FindHeadEnd { matched: 0, body },
                None => {}
            }
        }
        match this.state {
            CutState::Pass => Pin::new(&mut this.inner).poll_write(cx, buf),
            CutState::Dead | CutState::Limit(0) => {
                this.state = CutState::Dead;
                Poll::Ready(Err(dropped()))
            }
            CutState::Limit(n) => {
                let w = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..n.min(buf.len())]))?;
                this.state = CutState::Limit(n - w);
                Poll::Ready(Ok(w))
            }
            CutState::FindHeadEnd { matched, body } => {
                let mut m = matched;
                let head_end = buf.iter().position(|&b| {
                    m = head_end_step(m, b);
                    m == 4
                });
                let allowed = head_end.map_or(buf.len(), |i| (i + 1 + body).min(buf.len()));
                let w = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..allowed]))?;
                let mut m = matched;
                this.state = CutState::FindHeadEnd { matched: 0, body };
                for (i, &b) in buf[..w].iter().enumerate() {
                    m = head_end_step(m, b);
                    if m == 4 {
                        this.state = CutState::Limit(body.saturating_sub(w - (i + 1)));
                        return Poll::Ready(Ok(w));
                    }
                }
                this.state = CutState::FindHeadEnd { matched: m, body };
                Poll::Ready(Ok(w))
            }
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        // One flat buffer per response keeps the cut arithmetic simple and
        // small responses in one segment.
        false
    }
}

/// Which HTTP service a listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Imds,
    Control,
}

/// Resolves once shutdown is signalled (or the signal's sender is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Accepts connections until shutdown is signalled.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
    kind: Kind,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = AcceptBackoff::new();
    let mut failing = false;
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = stopped(&mut shutdown) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning, and keep the log short.
                failing = true;
                let wait = backoff.failed();
                if let Some(held) = crate::lock(&state.accept_log).admit(Instant::now()) {
                    eprintln!(
                        "vpc-imds-emulator: accept failed: {e} (retrying in {} ms{})",
                        wait.as_millis(),
                        not_shown(held)
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(wait) => continue,
                    () = stopped(&mut shutdown) => break,
                }
            }
        };
        if std::mem::take(&mut failing) {
            backoff.succeeded();
            let held = crate::lock(&state.accept_log).take_suppressed();
            if held > 0 {
                eprintln!("vpc-imds-emulator: accepting again{}", not_shown(held));
            }
        }
        // Latency tests measure the emulator, not Nagle.
        let _ = stream.set_nodelay(true);
        if kind == Kind::Imds {
            let service = state.metadata_service();
            // The service's answers carry its hop limit as their IP TTL.
            let _ = stream.set_ttl(service.response_hop_limit.into());
            let protocol = if tls.is_some() {
                Protocol::Https
            } else {
                Protocol::Http
            };
            if service.protocol != protocol {
                // The other protocol: accepted, then silence (no handshake, no answer).
                let mut shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let _held = stream;
                    stopped(&mut shutdown).await;
                });
                continue;
            }
        }
        let (state, shutdown, tls) = (state.clone(), shutdown.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, state, kind, Protocol::Http, shutdown).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        serve_connection(stream, state, kind, Protocol::Https, shutdown).await;
                    }
                }
            }
        });
    }
}

async fn serve_connection<S>(
    io: S,
    state: Arc<State>,
    kind: Kind,
    protocol: Protocol,
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let head_timeout = state.head_timeout;
    let switch = Arc::new(CutSwitch::default());
    let io = TokioIo::new(CutIo {
        inner: io,
        switch: switch.clone(),
        state: CutState::Pass,
    });
    let service = service_fn(move |req| {
        let (state, switch) = (state.clone(), switch.clone());
        async move {
            Ok::<_, Infallible>(match kind {
                Kind::Imds => api::handle(state, switch, protocol, req).await,
                Kind::Control => control::handle(state, req).await,
            })
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        // Connection errors (client went away, injected drops) end only this connection.
        _ = conn.as_mut() => {}
        () = stopped(&mut shutdown) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, conn).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn cut_output(cut: Cut, writes: &[&[u8]]) -> (Vec<u8>, bool) {
        let switch = Arc::new(CutSwitch::default());
        switch.arm(cut);
        let mut io = CutIo {
            inner: Vec::new(),
            switch,
            state: CutState::Pass,
        };
        let mut failed = false;
        for w in writes {
            if io.write_all(w).await.is_err() {
                failed = true;
                break;
            }
        }
        (io.inner, failed)
    }

    #[test]
    fn accept_backoff_doubles_to_a_second_and_resets() {
        let mut b = AcceptBackoff::new();
        let waits: Vec<u128> = (0..10).map(|_| b.failed().as_millis()).collect();
        assert_eq!(waits, [10, 20, 40, 80, 160, 320, 640, 1000, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), Duration::from_millis(10));
        // Back-to-back failures for 10 s are ~17 accepts, not 200 (the old fixed
        // 50 ms) or millions (no pause).
        let mut b = AcceptBackoff::new();
        let (mut t, mut n) = (Duration::ZERO, 0);
        while t < Duration::from_secs(10) {
            t += b.failed();
            n += 1;
        }
        assert!(n <= 20, "{n}");
    }

    #[test]
    fn log_limiter_admits_one_line_per_interval_and_counts_the_rest() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let mut l = LogLimiter::new(Duration::from_secs(1));
        assert_eq!(l.admit(at(0)), Some(0));
        // 20 failures a second (the reported flood) -> one line a second.
        let admitted: Vec<(u64, u64)> = (1..=60)
            .filter_map(|i| l.admit(at(i * 50)).map(|held| (i * 50, held)))
            .collect();
        assert_eq!(admitted, [(1000, 19), (2000, 19), (3000, 19)]);
        assert_eq!(l.take_suppressed(), 0);
        assert_eq!(l.admit(at(3100)), None);
        assert_eq!(l.take_suppressed(), 1);
        assert_eq!(l.take_suppressed(), 0);
        // A clock that seems to go backwards never panics and never floods.
        assert_eq!(l.admit(start), None);
        assert_eq!(l.admit(at(4000)), Some(1));
        assert_eq!(not_shown(0), "");
        assert_eq!(not_shown(1), "; 1 more accept failure not shown");
        assert_eq!(not_shown(7), "; 7 more accept failures not shown");
    }

    #[tokio::test]
    async fn cuts_before_the_first_byte() {
        let resp = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody";
        let (out, failed) = cut_output(Cut::Nothing, &[resp]).await;
        assert!(failed);
        assert!(out.is_empty());
    }

    #[tokio::test]
    async fn cuts_inside_headers() {
        let resp = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nbody";
        let (out, failed) = cut_output(Cut::Headers, &[resp]).await;
        assert!(failed);
        assert_eq!(out, &resp[..HEAD_CUT_BYTES]);
    }

    #[tokio::test]
    async fn cuts_inside_body_across_writes() {
        let (out, failed) = cut_output(
            Cut::Body(2),
            &[b"HTTP/1.1 200 OK\r\nx: y\r", b"\n\r\nbo", b"dy"],
        )
        .await;
        assert!(failed);
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nx: y\r\n\r\nbo");
    }
}
