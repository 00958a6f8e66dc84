//! Listeners, connections, TLS, and the I/O wrapper that cuts responses short.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::state::State;
use crate::{api, control, lock};

/// Bytes of a response head written before a mid-headers drop: inside the header block.
pub const HEAD_CUT_BYTES: usize = 20;
/// How long a TLS handshake may take before the connection is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish once shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(250);

/// Where the next response on a connection is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
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
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            () = stopped(&mut shutdown) => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Usually EMFILE: back off instead of spinning.
                eprintln!("vpc-imds-emulator: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Latency tests measure the emulator, not Nagle.
        let _ = stream.set_nodelay(true);
        let (state, shutdown, tls) = (state.clone(), shutdown.clone(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => serve_connection(stream, state, kind, shutdown).await,
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
                    {
                        serve_connection(stream, state, kind, shutdown).await;
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
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
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
                Kind::Imds => api::handle(state, switch, req).await,
                Kind::Control => control::handle(state, req).await,
            })
        }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
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
