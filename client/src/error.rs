//! Errors: the core's kinds and causes, plus what only a std host can get wrong
//! (its configuration, and `wait` running out of time).

use std::fmt;
use std::path::PathBuf;

use vpc_imds_core::error::{ApiError, Cause, InputError};
pub use vpc_imds_core::ErrorKind;

/// An operation failed, or the client could not be built.
///
/// [`kind`](Self::kind) is the coarse class (the command line's exit code is
/// [`ErrorKind::exit_code`]); `Display` is one line and never holds a token.
#[derive(Debug)]
pub struct Error {
    // Boxed: the core's error carries IBM's message inline (no allocator there).
    repr: Box<Repr>,
}

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // `Error` boxes it whole
enum Repr {
    Core(vpc_imds_core::Error),
    Config(ConfigError),
}

/// A client configuration that cannot be used.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting is out of range or malformed (the endpoint, from the argument or
    /// `VPC_IMDS_ENDPOINT`, the version date, a timeout, a limit); says which.
    Invalid(InputError),
    /// An `https://` endpoint was chosen but this build has no HTTPS support
    /// (cargo feature `https`).
    HttpsUnsupported,
    /// The endpoint names a host, but this build has no resolver (cargo feature
    /// `resolve`): give an IP address.
    HostNamesUnsupported(String),
    /// The CA certificate file could not be read.
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The CA certificate file holds no usable PEM certificate.
    CaCertificates {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The TLS configuration could not be built.
    Tls(String),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Invalid(e) => write!(f, "invalid setting: {e}"),
            ConfigError::HttpsUnsupported => f.write_str(
                "this build of vpc-imds has no HTTPS support (rebuild with the cargo feature `https`)",
            ),
            ConfigError::HostNamesUnsupported(host) => write!(
                f,
                "this build of vpc-imds resolves no host names: give the endpoint as an IP address, not {host:?} (rebuild with the cargo feature `resolve`)"
            ),
            ConfigError::CaFile { path, error } => {
                write!(f, "cannot read CA file {}: {error}", path.display())
            }
            ConfigError::CaCertificates { path, reason } => {
                write!(f, "no usable CA certificate in {}: {reason}", path.display())
            }
            ConfigError::Tls(why) => write!(f, "cannot set up TLS: {why}"),
        }
    }
}

impl Error {
    /// What went wrong, coarsely.
    pub fn kind(&self) -> ErrorKind {
        match &*self.repr {
            Repr::Core(e) => e.kind(),
            Repr::Config(_) => ErrorKind::InvalidInput,
        }
    }

    /// The core's error, when the operation itself failed.
    pub fn core(&self) -> Option<&vpc_imds_core::Error> {
        match &*self.repr {
            Repr::Core(e) => Some(e),
            Repr::Config(_) => None,
        }
    }

    /// The configuration problem, if that is what this is.
    pub fn config(&self) -> Option<&ConfigError> {
        match &*self.repr {
            Repr::Config(e) => Some(e),
            _ => None,
        }
    }

    /// The service's error answer (status, IBM code, message, trace), if there was one.
    pub fn api(&self) -> Option<&ApiError> {
        match self.core()?.cause() {
            Cause::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The HTTP status the service answered with, if any.
    pub fn status(&self) -> Option<u16> {
        self.api().map(|a| a.status)
    }
}

impl From<vpc_imds_core::Error> for Error {
    fn from(e: vpc_imds_core::Error) -> Self {
        Error {
            repr: Box::new(Repr::Core(e)),
        }
    }
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        vpc_imds_core::Error::from(e).into()
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error {
            repr: Box::new(Repr::Config(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.repr {
            Repr::Core(e) => write!(f, "{e}"),
            Repr::Config(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &*self.repr {
            Repr::Core(e) => Some(e),
            Repr::Config(ConfigError::CaFile { error, .. }) => Some(error),
            Repr::Config(_) => None,
        }
    }
}
