//! What a caller can ask of the service: the operations, their names, their input
//! rules, and one table that says how each becomes a request and what it returns.
//!
//! The operations themselves ([`Operation`], [`SPECS`], [`Args`]) are listed once, in
//! `api/vpc-imds.json`, and generated into `operation_table.rs`; adding one is an entry
//! there and its model. The session only sequences.

use core::fmt::Write as _;

use heapless::String;

use crate::config::Config;
use crate::error::{BodyError, Error, InputError};
use crate::model::{
    AccessToken, IdentityCertificate, Initialization, Instance, Key, KeyCollection,
    NetworkInterface, NetworkInterfaceCollection, PageLinks, PlacementGroup,
    PlacementGroupCollection, VolumeAttachment, VolumeAttachmentCollection,
};
use crate::output::Output;
use crate::request::{Method, BODY_CAPACITY, TARGET_CAPACITY};
use crate::validate;

/// Which trusted profile an IAM token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrustedProfile<'a> {
    /// The instance's default trusted profile (no request body).
    Default,
    /// A linked profile by id, e.g. `Profile-8dd84246-...`.
    Id(&'a str),
    /// A linked profile by CRN.
    Crn(&'a str),
    /// A linked profile by name (IBM's Python, Node and Go SDK cores send this form too).
    Name(&'a str),
}

impl<'a> TrustedProfile<'a> {
    /// The profile named by at most one of an id, a CRN and a name (none: the default).
    ///
    /// ```
    /// use vpc_imds_core::operation::TrustedProfile;
    /// assert_eq!(TrustedProfile::from_parts(None, Some("crn:x"), None), Ok(TrustedProfile::Crn("crn:x")));
    /// assert!(TrustedProfile::from_parts(Some("a"), Some("b"), None).is_err());
    /// ```
    pub fn from_parts(
        id: Option<&'a str>,
        crn: Option<&'a str>,
        name: Option<&'a str>,
    ) -> Result<Self, InputError> {
        match (id, crn, name) {
            (None, None, None) => Ok(TrustedProfile::Default),
            (Some(v), None, None) => Ok(TrustedProfile::Id(v)),
            (None, Some(v), None) => Ok(TrustedProfile::Crn(v)),
            (None, None, Some(v)) => Ok(TrustedProfile::Name(v)),
            _ => Err(InputError::Malformed {
                what: "trusted profile",
                expected: "at most one of profile_id, profile_crn and profile_name",
            }),
        }
    }
}

/// Where an operation's request goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// The identity token path of the configured API generation.
    IdentityToken,
    /// The IAM token path of the configured API generation.
    IamToken,
    /// The identity certificates path of the configured API generation.
    Certificates,
    /// A fixed path below `/metadata/v1/`.
    Metadata(&'static str),
    /// A path below `/metadata/v1/` followed by `/{id}`.
    MetadataItem(&'static str),
    /// The caller's path below `/metadata/v1/`.
    Generic,
}

/// How one operation maps to the wire, and what it returns.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// The stable snake_case name, the same in every binding and in test vectors.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// Where the request goes.
    pub resource: Resource,
    /// Whether `next.href` is followed (for [`Operation::Get`], only with `all_pages`).
    pub paged: bool,
    /// The type name of the output ([`Output::type_name`]).
    pub output: &'static str,
    /// Parses a successful response body into `out`, the caller's output slot
    /// (in place: an output is up to ~14 KB, too big to move through frames on a
    /// small stack). On an error the slot holds a partial output.
    pub parse: for<'b> fn(&'b [u8], &mut Output<'b>) -> Result<(), BodyError>,
}

/// A parser that puts `$model`'s default into the slot as `Output::$variant` and
/// fills it there.
macro_rules! into {
    ($variant:ident, $model:ident) => {
        |body, out| {
            *out = Output::$variant($model::default());
            match out {
                Output::$variant(model) => $model::parse_into(body, model),
                _ => Ok(()),
            }
        }
    };
}

include!("operation_table.rs");

fn parse_iam_token<'b>(body: &'b [u8], out: &mut Output<'b>) -> Result<(), BodyError> {
    let token = AccessToken::parse(body)?;
    // It goes into a header too (the caller's): the same rule as the identity token.
    if token.header_safe_token().is_none() {
        return Err(BodyError {
            what: "token",
            reason: "access_token is empty, escaped, or not visible ASCII",
        });
    }
    *out = Output::IamToken(token);
    Ok(())
}

fn parse_raw<'b>(body: &'b [u8], out: &mut Output<'b>) -> Result<(), BodyError> {
    // Shallow check that the body is one JSON object.
    PageLinks::parse(body)?;
    *out = Output::Raw(body);
    Ok(())
}

/// Longest CSR accepted, in bytes.
pub const MAX_CSR_LEN: usize = 3072;
/// Longest identity certificate lifetime accepted, in seconds (a year).
pub const MAX_CERTIFICATE_LIFETIME: u32 = 86_400 * 365;

impl<'a> Operation<'a> {
    /// The stable snake_case name.
    pub const fn name(&self) -> &'static str {
        self.spec().name
    }

    /// Whether the operation follows `next.href` and delivers every page.
    pub const fn follows_pages(&self) -> bool {
        self.spec().paged
            || matches!(
                self,
                Operation::Get {
                    all_pages: true,
                    ..
                }
            )
    }

    /// Checks the operation's input without building anything.
    pub fn validate(&self) -> Result<(), InputError> {
        match *self {
            Operation::IdentityToken { expires_in, nonce } => {
                if let Some(s) = expires_in {
                    crate::config::check_lifetime(s)?;
                }
                nonce.map_or(Ok(()), |n| validate::nonce(n).map(drop))
            }
            Operation::IamToken {
                profile: TrustedProfile::Id(id),
            } => validate::profile_value(id, "trusted profile id").map(drop),
            Operation::IamToken {
                profile: TrustedProfile::Crn(crn),
            } => validate::profile_value(crn, "trusted profile crn").map(drop),
            Operation::IamToken {
                profile: TrustedProfile::Name(name),
            } => validate::profile_value(name, "trusted profile name").map(drop),
            Operation::NetworkInterface { id }
            | Operation::VolumeAttachment { id }
            | Operation::Key { id }
            | Operation::PlacementGroup { id } => validate::resource_id(id).map(drop),
            Operation::IdentityCertificate { csr, expires_in } => {
                if let Some(s) = expires_in {
                    if !(1..=MAX_CERTIFICATE_LIFETIME).contains(&s) {
                        return Err(InputError::OutOfRange {
                            what: "certificate expires_in",
                            min: 1,
                            max: MAX_CERTIFICATE_LIFETIME.into(),
                        });
                    }
                }
                if csr.len() > MAX_CSR_LEN {
                    return Err(InputError::TooLong {
                        what: "csr",
                        max: MAX_CSR_LEN,
                    });
                }
                if !csr.contains("-----BEGIN CERTIFICATE REQUEST-----") {
                    return Err(InputError::Malformed {
                        what: "csr",
                        expected: "a PEM CERTIFICATE REQUEST",
                    });
                }
                if csr
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\r')
                {
                    return Err(InputError::ForbiddenCharacter { what: "csr" });
                }
                Ok(())
            }
            Operation::Get { path, .. } => validate::metadata_path(path).map(drop),
            _ => Ok(()),
        }
    }

    /// Whether the operation needs a bearer token.
    pub const fn needs_token(&self) -> bool {
        !matches!(self, Operation::IdentityToken { .. })
    }

    /// Writes the request target and JSON body (if any) of this operation under
    /// `config`; returns whether there is a body. Validates the input first.
    pub fn write_request(
        &self,
        config: &Config,
        target: &mut String<TARGET_CAPACITY>,
        body: &mut String<BODY_CAPACITY>,
    ) -> Result<bool, Error> {
        self.validate()?;
        target.clear();
        body.clear();
        let too_long = |what| {
            Error::from(InputError::TooLong {
                what,
                max: match what {
                    "request body" => BODY_CAPACITY,
                    _ => TARGET_CAPACITY,
                },
            })
        };
        let api = config.version().identity_api();
        let version = config.version();
        let (path, id) = match self.spec().resource {
            Resource::IdentityToken => (api.token_path(), None),
            Resource::IamToken => (api.iam_token_path(), None),
            Resource::Certificates => (api.certificates_path(), None),
            Resource::Metadata(p) => (p, None),
            Resource::MetadataItem(p) => (p, self.id()),
            Resource::Generic => {
                let Operation::Get { path, .. } = *self else {
                    return Err(InputError::Empty { what: "path" }.into());
                };
                let (rel, query) = validate::metadata_path(path)?;
                write!(target, "/metadata/v1/{rel}?version={version}")
                    .map_err(|_| too_long("request"))?;
                if let Some(q) = query {
                    write!(target, "&{q}").map_err(|_| too_long("request"))?;
                }
                return Ok(false);
            }
        };
        if matches!(
            self.spec().resource,
            Resource::Metadata(_) | Resource::MetadataItem(_)
        ) {
            target
                .push_str("/metadata/v1/")
                .map_err(|_| too_long("request"))?;
        }
        target.push_str(path).map_err(|_| too_long("request"))?;
        if let Some(id) = id {
            write!(target, "/{}", validate::resource_id(id)?).map_err(|_| too_long("request"))?;
        }
        write!(target, "?version={version}").map_err(|_| too_long("request"))?;
        self.write_body(body).map_err(|()| too_long("request body"))
    }

    fn id(&self) -> Option<&'a str> {
        match *self {
            Operation::NetworkInterface { id }
            | Operation::VolumeAttachment { id }
            | Operation::Key { id }
            | Operation::PlacementGroup { id } => Some(id),
            _ => None,
        }
    }

    /// Writes the JSON body; `Ok(false)` when the operation sends none.
    fn write_body(&self, body: &mut String<BODY_CAPACITY>) -> Result<bool, ()> {
        match *self {
            Operation::IamToken { profile } => {
                let (field, value) = match profile {
                    TrustedProfile::Default => return Ok(false),
                    TrustedProfile::Id(v) => ("id", v),
                    TrustedProfile::Crn(v) => ("crn", v),
                    TrustedProfile::Name(v) => ("name", v),
                };
                write!(body, "{{\"trusted_profile\":{{\"{field}\":").map_err(drop)?;
                push_json_string(body, value)?;
                body.push_str("}}").map_err(drop)?;
                Ok(true)
            }
            Operation::IdentityCertificate { csr, expires_in } => {
                body.push_str("{\"csr\":").map_err(drop)?;
                push_json_string(body, csr)?;
                if let Some(s) = expires_in {
                    write!(body, ",\"expires_in\":{s}").map_err(drop)?;
                }
                body.push('}').map_err(drop)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Appends `v` as a JSON string literal.
pub(crate) fn push_json_string<const N: usize>(s: &mut String<N>, v: &str) -> Result<(), ()> {
    s.push('"').map_err(drop)?;
    for c in v.chars() {
        match c {
            '"' => s.push_str("\\\"").map_err(drop)?,
            '\\' => s.push_str("\\\\").map_err(drop)?,
            '\n' => s.push_str("\\n").map_err(drop)?,
            '\r' => s.push_str("\\r").map_err(drop)?,
            '\t' => s.push_str("\\t").map_err(drop)?,
            c if c.is_control() => write!(s, "\\u{:04x}", c as u32).map_err(drop)?,
            c => s.push(c).map_err(drop)?,
        }
    }
    s.push('"').map_err(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_order_matches_names() {
        let args = Args {
            id: Some("x"),
            csr: Some("-----BEGIN CERTIFICATE REQUEST-----"),
            path: Some("instance"),
            ..Args::default()
        };
        for spec in &SPECS {
            let op = Operation::from_name(spec.name, &args).unwrap();
            assert_eq!(op.name(), spec.name);
            assert!(op.validate().is_ok(), "{}", spec.name);
        }
    }

    #[test]
    fn at_most_one_profile() {
        let args = Args {
            profile_id: Some("a"),
            profile_name: Some("b"),
            ..Args::default()
        };
        assert!(matches!(
            Operation::from_name("iam_token", &args),
            Err(InputError::Malformed {
                what: "trusted profile",
                ..
            })
        ));
    }
}
