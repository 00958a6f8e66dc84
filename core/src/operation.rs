//! What a caller can ask of the service.

use crate::error::InputError;
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

/// An operation a [`Session`](crate::session::Session) carries out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation<'a> {
    /// Create a new instance identity token (`PUT .../token`); it is also cached.
    IdentityToken {
        /// Lifetime in seconds (5..=3600); `None` uses the configured lifetime.
        expires_in: Option<u32>,
    },
    /// Exchange the identity token for an IAM token (`POST .../iam_token(s)`).
    IamToken {
        /// Which trusted profile.
        profile: TrustedProfile<'a>,
    },
    /// `GET /metadata/v1/instance`.
    Instance,
    /// `GET /metadata/v1/instance/initialization` (user data, keys, default profile).
    Initialization,
    /// `GET /metadata/v1/instance/network_interfaces`.
    NetworkInterfaces,
    /// `GET /metadata/v1/instance/network_interfaces/{id}`.
    NetworkInterface {
        /// Interface id.
        id: &'a str,
    },
    /// `GET /metadata/v1/instance/volume_attachments`.
    VolumeAttachments,
    /// `GET /metadata/v1/instance/volume_attachments/{id}`.
    VolumeAttachment {
        /// Attachment id.
        id: &'a str,
    },
    /// `GET /metadata/v1/keys`, every page.
    Keys,
    /// `GET /metadata/v1/keys/{id}`.
    Key {
        /// Key id.
        id: &'a str,
    },
    /// `GET /metadata/v1/placement_groups`, every page.
    PlacementGroups,
    /// `GET /metadata/v1/placement_groups/{id}`.
    PlacementGroup {
        /// Placement group id.
        id: &'a str,
    },
    /// Create an identity certificate (`POST .../certificates`) for a PEM CSR.
    IdentityCertificate {
        /// PEM `CERTIFICATE REQUEST`.
        csr: &'a str,
        /// Lifetime in seconds; `None` for the service's default.
        expires_in: Option<u32>,
    },
    /// `GET /metadata/v1/{path}`, returning the raw JSON body.
    Get {
        /// Path below `/metadata/v1/`, optionally with a query (not `version`).
        path: &'a str,
        /// Follow `next.href` and deliver every page.
        all_pages: bool,
    },
}

/// Longest CSR accepted, in bytes.
pub const MAX_CSR_LEN: usize = 3072;

impl Operation<'_> {
    /// Checks the operation's input without building anything.
    pub fn validate(&self) -> Result<(), InputError> {
        match *self {
            Operation::IdentityToken {
                expires_in: Some(s),
            } => crate::config::check_lifetime(s),
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
                    if !(1..=86_400 * 365).contains(&s) {
                        return Err(InputError::OutOfRange {
                            what: "certificate expires_in",
                            min: 1,
                            max: 86_400 * 365,
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
}
