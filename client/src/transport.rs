//! Blocking std transport: TCP (optionally TLS) connections and deadlines. Which
//! connection a request goes on, and when one is closed, is the machine's choice.
//!
//! Never a proxy: connections go straight to the endpoint's addresses, and no
//! proxy environment variable is read (the service answers only on the instance's
//! own link, so a proxy could only leak the token).

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use vpc_imds_core::config::{Endpoint, Scheme};
use vpc_imds_core::error::TransportError;

use crate::error::ConfigError;
use crate::trace::Trace;

/// Why one request got no response: what the driver is told, and the operating
/// system's or TLS library's error, if any.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: TransportError,
    pub(crate) detail: Option<io::Error>,
}

impl Failure {
    pub(crate) fn new(error: TransportError, detail: Option<io::Error>) -> Self {
        Failure { error, detail }
    }
}

/// An open connection: TCP, or TLS over TCP.
pub(crate) enum Conn {
    Plain(Timed),
    #[cfg(feature = "https")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Timed>>),
}

impl Conn {
    fn timed(&mut self) -> &mut Timed {
        match self {
            Conn::Plain(s) => s,
            #[cfg(feature = "https")]
            Conn::Tls(s) => &mut s.sock,
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A TCP stream whose every read and write ends by one deadline: each socket call
/// gets what is left of it. TLS reads and handshakes loop over many socket calls
/// inside rustls; a timeout set once would be granted afresh to each of them.
pub(crate) struct Timed {
    tcp: TcpStream,
    deadline: Instant,
}

impl Timed {
    fn left(&self) -> io::Result<Duration> {
        remaining(self.deadline).ok_or_else(|| io::Error::from(io::ErrorKind::TimedOut))
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.set_read_timeout(Some(self.left()?))?;
        self.tcp.read(buf)
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tcp.set_write_timeout(Some(self.left()?))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

pub(crate) struct Transport {
    endpoint: Endpoint,
    #[cfg(feature = "https")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// The transport to `endpoint`, if this build can reach it: HTTPS needs the
    /// feature `https`, a host name the feature `resolve`.
    pub(crate) fn new(endpoint: &Endpoint, ca_file: Option<&Path>) -> Result<Self, ConfigError> {
        let host = endpoint.host();
        if !cfg!(feature = "resolve") && ip_literal(host).is_none() {
            return Err(ConfigError::HostNamesUnsupported(host.to_owned()));
        }
        let secure = endpoint.scheme() == Scheme::Https;
        #[cfg(not(feature = "https"))]
        {
            let _ = ca_file; // only TLS reads it
            if secure {
                return Err(ConfigError::HttpsUnsupported);
            }
        }
        Ok(Transport {
            endpoint: endpoint.clone(),
            #[cfg(feature = "https")]
            tls: secure
                .then(|| crate::tls::client_config(ca_file))
                .transpose()?,
        })
    }

    pub(crate) fn connect(
        &self,
        connect_timeout: Duration,
        deadline: Instant,
        trace: &dyn Fn(&Trace<'_>),
    ) -> Result<Conn, Failure> {
        let endpoint = &self.endpoint;
        let started = Instant::now();
        // One connect timeout for all of connecting: the lookup, each address in
        // turn, the TLS handshake (as every other host bounds it).
        let connect_end = deadline.min(started + connect_timeout);
        let within =
            remaining(connect_end).ok_or(Failure::new(TransportError::ConnectTimeout, None))?;
        let addrs = lookup(endpoint.host(), endpoint.port(), within)?;
        let mut last = Failure::new(TransportError::Unreachable, None);
        for addr in addrs {
            let Some(budget) = remaining(connect_end) else {
                return Err(Failure::new(TransportError::ConnectTimeout, None));
            };
            match TcpStream::connect_timeout(&addr, budget) {
                Ok(tcp) => {
                    // Requests are one small write; don't let Nagle hold them back.
                    tcp.set_nodelay(true)
                        .map_err(|e| Failure::new(TransportError::ConnectionLost, Some(e)))?;
                    let timed = Timed {
                        tcp,
                        deadline: connect_end,
                    };
                    let conn = self.secure(timed)?;
                    trace(&Trace::Connected {
                        addr,
                        elapsed: started.elapsed(),
                    });
                    return Ok(conn);
                }
                Err(e) => last = Failure::new(connect_error(&e), Some(e)),
            }
        }
        Err(last)
    }

    #[cfg(not(feature = "https"))]
    fn secure(&self, tcp: Timed) -> Result<Conn, Failure> {
        Ok(Conn::Plain(tcp))
    }

    /// TLS over `tcp` when the endpoint is https, the handshake done by `tcp`'s
    /// deadline.
    #[cfg(feature = "https")]
    fn secure(&self, tcp: Timed) -> Result<Conn, Failure> {
        let endpoint = &self.endpoint;
        let Some(config) = self
            .tls
            .as_ref()
            .filter(|_| endpoint.scheme() == Scheme::Https)
        else {
            return Ok(Conn::Plain(tcp));
        };
        let tls_failure = |e: io::Error| Failure::new(TransportError::Tls, Some(e));
        let name = rustls::pki_types::ServerName::try_from(endpoint.bare_host().to_owned())
            .map_err(|e| tls_failure(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let session = rustls::ClientConnection::new(config.clone(), name)
            .map_err(|e| tls_failure(io::Error::other(e)))?;
        let mut stream = rustls::StreamOwned::new(session, tcp);
        while stream.conn.is_handshaking() {
            if let Err(e) = stream.conn.complete_io(&mut stream.sock) {
                let error = match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                        TransportError::ConnectTimeout
                    }
                    io::ErrorKind::InvalidData => TransportError::Tls,
                    _ => TransportError::ConnectionLost,
                };
                return Err(Failure::new(error, Some(e)));
            }
        }
        Ok(Conn::Tls(Box::new(stream)))
    }
}

/// Every address the client connects to for `host:port`, in the order it tries
/// them: an address literal is its own; a host name is resolved within `within`
/// (the system resolver blocks for as long as it likes, glibc: timeout × attempts
/// per nameserver, so it runs on a thread of its own, left to finish alone when the
/// time is up). A build without the feature `resolve` resolves no names.
pub fn lookup_host(host: &str, port: u16, within: Duration) -> io::Result<Vec<SocketAddr>> {
    if let Some(ip) = ip_literal(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    #[cfg(not(feature = "resolve"))]
    {
        let _ = within;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this build resolves no host names",
        ))
    }
    #[cfg(feature = "resolve")]
    {
        let (tx, rx) = std::sync::mpsc::channel();
        let name = host.to_owned();
        std::thread::Builder::new()
            .name("vpc-imds-resolve".into())
            .spawn(move || {
                let found = std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port));
                let _ = tx.send(found.map(Iterator::collect::<Vec<_>>));
            })?;
        match rx.recv_timeout(within) {
            Ok(Ok(all)) if all.is_empty() => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "the host name has no address",
            )),
            Ok(found) => found,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the host name was not resolved in time",
            )),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(io::Error::other("the host name lookup failed"))
            }
        }
    }
}

/// [`lookup_host`] as a transport failure: a name not resolved in time is a
/// connect timeout, any other failure unreachable.
fn lookup(host: &str, port: u16, within: Duration) -> Result<Vec<SocketAddr>, Failure> {
    lookup_host(host, port, within).map_err(|e| {
        let error = match e.kind() {
            io::ErrorKind::TimedOut => TransportError::ConnectTimeout,
            _ => TransportError::Unreachable,
        };
        Failure::new(error, Some(e))
    })
}

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    // Socket timeouts of zero mean "forever"; below a millisecond is over.
    (left >= Duration::from_millis(1)).then_some(left)
}

/// Writes the whole request before `deadline`.
pub(crate) fn send(conn: &mut Conn, wire: &[u8], deadline: Instant) -> Result<(), Failure> {
    conn.timed().deadline = deadline;
    let result = conn.write_all(wire).and_then(|()| conn.flush());
    result.map_err(|e| {
        let error = match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => TransportError::ResponseTimeout,
            #[cfg(feature = "https")]
            io::ErrorKind::InvalidData => TransportError::Tls,
            _ => TransportError::ConnectionLost,
        };
        Failure::new(error, Some(e))
    })
}

/// Reads once before `deadline`; 0 is a clean end. A reset or a cut without a
/// clean end is `ConnectionLost`.
pub(crate) fn read(conn: &mut Conn, space: &mut [u8], deadline: Instant) -> Result<usize, Failure> {
    conn.timed().deadline = deadline;
    loop {
        match conn.read(space) {
            Ok(n) => return Ok(n),
            Err(e) => match e.kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                    return Err(Failure::new(TransportError::ResponseTimeout, Some(e)))
                }
                io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                // TLS peers that close without close_notify.
                | io::ErrorKind::UnexpectedEof => {
                    return Err(Failure::new(TransportError::ConnectionLost, Some(e)))
                }
                #[cfg(feature = "https")]
                io::ErrorKind::InvalidData => {
                    return Err(Failure::new(TransportError::Tls, Some(e)))
                }
                _ => return Err(Failure::new(TransportError::ConnectionLost, Some(e))),
            },
        }
    }
}

/// The address an endpoint host is, if it is one (`[...]` around IPv6 allowed).
pub(crate) fn ip_literal(host: &str) -> Option<IpAddr> {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

/// Maps a failed connect to what the session is told.
fn connect_error(e: &io::Error) -> TransportError {
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => TransportError::Refused,
        K::TimedOut | K::WouldBlock => TransportError::ConnectTimeout,
        K::HostUnreachable | K::NetworkUnreachable | K::NetworkDown | K::AddrNotAvailable => {
            TransportError::Unreachable
        }
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe => TransportError::ConnectionLost,
        // Anything else (a firewall's EPERM/EACCES, an odd errno) still means
        // the service cannot be reached by this route.
        _ => TransportError::Unreachable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "resolve")]
    #[test]
    fn a_name_is_resolved_on_its_own_thread_within_the_time_given() {
        // localhost only: /etc/hosts answers, no nameserver is asked.
        let addrs = lookup("localhost", 8080, Duration::from_secs(5)).expect("localhost");
        assert!(
            addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 8080),
            "{addrs:?}"
        );
    }

    #[test]
    fn only_address_literals_skip_the_resolver() {
        assert_eq!(
            ip_literal("169.254.169.254"),
            Some(IpAddr::from([169, 254, 169, 254]))
        );
        assert_eq!(
            ip_literal("[::1]"),
            Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST))
        );
        assert_eq!(
            ip_literal("::1"),
            Some(IpAddr::from(std::net::Ipv6Addr::LOCALHOST))
        );
        for name in [
            "localhost",
            "api.metadata.cloud.ibm.com",
            "[localhost]",
            "1.2.3",
            "",
        ] {
            assert_eq!(ip_literal(name), None, "{name}");
        }
    }

    #[test]
    fn os_errors_map_as_the_cores_table_says() {
        // Every socket host reads a failed connect by the core's errno table; this
        // one reads io::ErrorKind, so it is held to the table here.
        for (errno, name) in libc_errno::ALL {
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(
                connect_error(&e),
                TransportError::from_errno(name, false),
                "{name} ({errno})"
            );
        }
    }

    /// Linux errno values (the tests run on Linux).
    mod libc_errno {
        pub const ALL: [(i32, &str); 13] = [
            (111, "ECONNREFUSED"),
            (101, "ENETUNREACH"),
            (113, "EHOSTUNREACH"),
            (100, "ENETDOWN"),
            (112, "EHOSTDOWN"),
            (99, "EADDRNOTAVAIL"),
            (110, "ETIMEDOUT"),
            (104, "ECONNRESET"),
            (103, "ECONNABORTED"),
            (32, "EPIPE"),
            (13, "EACCES"),
            (1, "EPERM"),
            (22, "EINVAL"),
        ];
    }
}
