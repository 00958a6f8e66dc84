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
    Plain(TcpStream),
    #[cfg(feature = "https")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            #[cfg(feature = "https")]
            Conn::Tls(s) => &s.sock,
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
        let addrs: Vec<SocketAddr> = match ip_literal(endpoint.host()) {
            Some(ip) => vec![SocketAddr::new(ip, endpoint.port())],
            // Only a host name gets here (the default endpoint is an address).
            #[cfg(feature = "resolve")]
            None => std::net::ToSocketAddrs::to_socket_addrs(&(endpoint.host(), endpoint.port()))
                .map_err(|e| Failure::new(TransportError::Unreachable, Some(e)))?
                .collect(),
            // Refused when the client was built (`ConfigError::HostNamesUnsupported`).
            #[cfg(not(feature = "resolve"))]
            None => Vec::new(),
        };
        let mut last = Failure::new(TransportError::Unreachable, None);
        for addr in addrs {
            let Some(budget) = remaining(deadline).map(|left| left.min(connect_timeout)) else {
                return Err(Failure::new(TransportError::ConnectTimeout, None));
            };
            match TcpStream::connect_timeout(&addr, budget) {
                Ok(tcp) => {
                    // Requests are one small write; don't let Nagle hold them back.
                    tcp.set_nodelay(true)
                        .map_err(|e| Failure::new(TransportError::ConnectionLost, Some(e)))?;
                    let conn = self.secure(tcp, connect_timeout, deadline)?;
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
    fn secure(&self, tcp: TcpStream, _: Duration, _: Instant) -> Result<Conn, Failure> {
        Ok(Conn::Plain(tcp))
    }

    #[cfg(feature = "https")]
    fn secure(
        &self,
        tcp: TcpStream,
        connect_timeout: Duration,
        deadline: Instant,
    ) -> Result<Conn, Failure> {
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
        // The handshake is part of connecting, and gets the connect timeout.
        while stream.conn.is_handshaking() {
            let budget = remaining(deadline)
                .map(|left| left.min(connect_timeout))
                .ok_or(Failure::new(TransportError::ConnectTimeout, None))?;
            let timeouts = stream
                .sock
                .set_read_timeout(Some(budget))
                .and_then(|()| stream.sock.set_write_timeout(Some(budget)));
            if let Err(e) = timeouts {
                return Err(Failure::new(TransportError::ConnectionLost, Some(e)));
            }
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

fn remaining(deadline: Instant) -> Option<Duration> {
    let left = deadline.saturating_duration_since(Instant::now());
    // Socket timeouts of zero mean "forever"; below a millisecond is over.
    (left >= Duration::from_millis(1)).then_some(left)
}

/// Writes the whole request before `deadline`.
pub(crate) fn send(conn: &mut Conn, wire: &[u8], deadline: Instant) -> Result<(), Failure> {
    let left = remaining(deadline).ok_or(Failure::new(TransportError::ResponseTimeout, None))?;
    let result = conn
        .tcp()
        .set_write_timeout(Some(left))
        .and_then(|()| conn.write_all(wire))
        .and_then(|()| conn.flush());
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
    loop {
        let left =
            remaining(deadline).ok_or(Failure::new(TransportError::ResponseTimeout, None))?;
        if let Err(e) = conn.tcp().set_read_timeout(Some(left)) {
            return Err(Failure::new(TransportError::ConnectionLost, Some(e)));
        }
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
