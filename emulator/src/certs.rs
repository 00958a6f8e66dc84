//! Certificates: the server's self-signed TLS certificate and the CA that signs
//! instance identity certificates.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, CertifiedIssuer, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber,
};
use time::OffsetDateTime;

/// Host names and addresses the TLS certificate is valid for.
pub const TLS_NAMES: [&str; 4] = [
    "api.metadata.cloud.ibm.com",
    "localhost",
    "127.0.0.1",
    "::1",
];

fn io_err(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("{what}: {e}"))
}

/// A fresh self-signed server certificate; returns the rustls config and the PEM.
pub(crate) fn server_tls() -> std::io::Result<(Arc<rustls::ServerConfig>, String)> {
    let key = KeyPair::generate().map_err(|e| io_err("generating TLS key", e))?;
    let mut params = CertificateParams::new(TLS_NAMES.map(str::to_owned).to_vec())
        .map_err(|e| io_err("TLS certificate names", e))?;
    params
        .distinguished_name
        .push(DnType::CommonName, TLS_NAMES[0]);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "vpc-imds-emulator (self-signed)");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Strict verifiers (Python 3.13+, OpenSSL X509_STRICT) want an AKI.
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(30);
    let cert = params
        .self_signed(&key)
        .map_err(|e| io_err("signing TLS certificate", e))?;
    let pem = cert.pem();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io_err("TLS versions", e))?
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .map_err(|e| io_err("TLS certificate", e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(config), pem))
}

/// Signs identity certificates: a root CA and an intermediate, created at start-up.
pub(crate) struct CertAuthority {
    intermediate: CertifiedIssuer<'static, KeyPair>,
}

/// Why a CSR was refused.
#[derive(Debug)]
pub(crate) enum CsrError {
    /// Not a parsable, correctly self-signed PKCS#10 request.
    Unparsable(String),
    /// It asks for something the service sets or forbids (CN, extensions, other RDNs).
    Forbidden(&'static str),
    /// Signing failed (an emulator fault, not the caller's).
    Signing(String),
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, name);
    p.distinguished_name
        .push(DnType::OrganizationName, "vpc-imds-emulator (fake)");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    // Valid as far as the emulator's clock may be moved ahead (and a year past
    // it): a leaf issued at the emulated time must verify against its chain.
    let now = OffsetDateTime::now_utc();
    let ahead = i64::try_from(crate::MAX_CLOCK_OFFSET.as_secs()).unwrap_or(i64::MAX);
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::seconds(ahead) + time::Duration::days(365);
    p
}

impl CertAuthority {
    pub fn new() -> std::io::Result<Self> {
        let mk =
            |what| -> std::io::Result<KeyPair> { KeyPair::generate().map_err(|e| io_err(what, e)) };
        let root = CertifiedIssuer::self_signed(
            ca_params("FAKE Emulator Instance Identity Root CA"),
            mk("root CA key")?,
        )
        .map_err(|e| io_err("root CA", e))?;
        let mut inter_params = ca_params("FAKE Emulator Instance Identity Intermediate CA");
        inter_params.use_authority_key_identifier_extension = true;
        let intermediate = CertifiedIssuer::signed_by(inter_params, mk("intermediate key")?, &root)
            .map_err(|e| io_err("intermediate CA", e))?;
        Ok(CertAuthority { intermediate })
    }

    /// Signs `csr_pem` for `common_name`, valid from `now` for `lifetime_secs`;
    /// returns the PEM chain, leaf first.
    pub fn sign(
        &self,
        csr_pem: &str,
        common_name: &str,
        now_ms: i64,
        lifetime_secs: i64,
        serial: u64,
    ) -> Result<Vec<String>, CsrError> {
        let mut csr = CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| match e {
            rcgen::Error::UnsupportedExtension => {
                CsrError::Forbidden("the CSR must not request extensions")
            }
            other => CsrError::Unparsable(other.to_string()),
        })?;
        let p = &mut csr.params;
        if p.distinguished_name.get(&DnType::CommonName).is_some() {
            return Err(CsrError::Forbidden(
                "the CSR subject must not contain CN; the service sets it to the instance ID",
            ));
        }
        let allowed = |t: &DnType| {
            matches!(
                t,
                DnType::CountryName
                    | DnType::StateOrProvinceName
                    | DnType::LocalityName
                    | DnType::OrganizationName
                    | DnType::OrganizationalUnitName
            )
        };
        if p.distinguished_name.iter().any(|(t, _)| !allowed(t)) {
            return Err(CsrError::Forbidden(
                "the CSR subject may use only C, ST, L, O and OU",
            ));
        }
        if !p.subject_alt_names.is_empty()
            || !p.key_usages.is_empty()
            || !p.extended_key_usages.is_empty()
            || !matches!(p.is_ca, IsCa::NoCa)
        {
            return Err(CsrError::Forbidden("the CSR must not request extensions"));
        }
        p.distinguished_name
            .push(DnType::CommonName, common_name.to_owned());
        p.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        p.use_authority_key_identifier_extension = true;
        p.serial_number = Some(SerialNumber::from(serial.to_be_bytes().to_vec()));
        let start = OffsetDateTime::from_unix_timestamp(now_ms.div_euclid(1000))
            .map_err(|e| CsrError::Signing(e.to_string()))?;
        p.not_before = start;
        p.not_after = start + time::Duration::seconds(lifetime_secs);
        let leaf = csr
            .signed_by(&self.intermediate)
            .map_err(|e| CsrError::Signing(e.to_string()))?;
        Ok(vec![leaf.pem(), self.intermediate.pem()])
    }
}
