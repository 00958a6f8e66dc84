//! Identity operations: tokens, IAM token exchange, certificates, and the
//! `version` rules that choose between the two API generations.

mod common;

use common::*;
use rustls::pki_types::pem::PemObject as _;
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use vpc_imds_emulator::{Emulator, Fixture};

const OLD_TOKEN: &str = "/instance_identity/v1/token";
const NEW_TOKEN: &str = "/identity/v1/token";

fn put_token(
    emu: &vpc_imds_emulator::RunningEmulator,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Resp {
    request(emu.addr(), "PUT", path, headers, body.map(str::as_bytes))
}

const FLAVOR: (&str, &str) = ("Metadata-Flavor", "ibm");

#[test]
fn token_response_shape_and_jwt_claims() {
    let emu = start();
    let before = emu.control().now_ms() / 1000;
    let r = token_with(&emu, V_NEW, r#"{"expires_in": 600, "nonce": "n-123"}"#);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["expires_in"], 600);
    assert_eq!(v["nonce"], "n-123");
    let created = v["created_at"].as_str().unwrap();
    let expires = v["expires_at"].as_str().unwrap();
    // RFC 3339, UTC, milliseconds.
    for ts in [created, expires] {
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
    let tok = v["access_token"].as_str().unwrap();
    assert_eq!(tok.split('.').count(), 3);
    assert!(tok
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.'));
    let header = jwt_part(tok, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"]
        .as_str()
        .is_some_and(|k| k.starts_with("VSI-CR_")));
    let claims = jwt_part(tok, 1);
    let iat = claims["iat"].as_i64().expect("integer iat");
    let exp = claims["exp"].as_i64().expect("integer exp");
    assert!(iat >= before && iat <= before + 5);
    assert_eq!(exp - iat, 600);
    assert_eq!(claims["nonce"], "n-123");
    assert!(claims["aud"].is_array());
    let fixture = Fixture::default();
    assert_eq!(claims["sub"], fixture.instance["crn"]);
    assert_eq!(claims["iaas"]["instanceID"], fixture.instance["id"]);
    assert_eq!(claims["iaas"]["accountID"], "0000fakeaccount0000");
    assert_eq!(claims["iaas"]["zone"], "us-south-1");
    assert_eq!(claims["iaas"]["region"], "us-south");
    assert_eq!(claims["iss"], "VSI-CR_us-south");
    assert_eq!(claims["vpc"]["id"], fixture.instance["vpc"]["id"]);
    assert_eq!(claims["ip_addresses"][0]["address"], "10.0.0.4");
    // Signature: base64url bytes.
    let sig = tok.split('.').nth(2).unwrap();
    assert!(sig.len() > 300);
}

#[test]
fn tokens_are_unique_and_default_to_300_seconds_without_nonce() {
    let emu = start();
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let v = token_with(&emu, V_NEW, "{}").json();
        assert_eq!(v["expires_in"], 300);
        assert!(v.get("nonce").is_none());
        assert!(jwt_part(v["access_token"].as_str().unwrap(), 1)
            .get("nonce")
            .is_none());
        assert!(seen.insert(v["access_token"].as_str().unwrap().to_owned()));
    }
}

#[test]
fn token_body_may_be_empty_absent_or_form_typed() {
    let emu = start();
    let path = format!("{NEW_TOKEN}?version={V_NEW}");
    // No body, no Content-Length.
    let r = put_token(&emu, &path, &[FLAVOR], None);
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["expires_in"], 300);
    // Empty body.
    assert_eq!(put_token(&emu, &path, &[FLAVOR], Some("")).status, 200);
    assert_eq!(put_token(&emu, &path, &[FLAVOR], Some("  \n")).status, 200);
    // curl -d sends a form content type; the service does not care.
    let r = put_token(
        &emu,
        &path,
        &[
            FLAVOR,
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        Some(r#"{ "expires_in": 3600 }"#),
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["expires_in"], 3600);
    // Flavor value is matched without regard to case.
    assert_eq!(
        put_token(&emu, &path, &[("metadata-flavor", "IBM")], None).status,
        200
    );
}

#[test]
fn token_requires_metadata_flavor() {
    let emu = start();
    let path = format!("{NEW_TOKEN}?version={V_NEW}");
    let e = put_token(&emu, &path, &[], Some("{}")).ibm_error(400, "missing_value");
    assert_eq!(e["target"]["name"], "Metadata-Flavor");
    assert_eq!(e["target"]["type"], "header");
    // An empty value is no value.
    for empty in ["", " "] {
        put_token(&emu, &path, &[("Metadata-Flavor", empty)], Some("{}"))
            .ibm_error(400, "missing_value");
    }
    let e = put_token(&emu, &path, &[("Metadata-Flavor", "google")], Some("{}"))
        .ibm_error(400, "invalid_value");
    assert_eq!(e["target"]["value"], "google");
    assert_eq!(emu.control().counters().token_creations, 0);
}

#[test]
fn expires_in_range_is_5_to_3600() {
    let emu = start();
    for ok in [5, 6, 300, 3599, 3600] {
        let r = token_with(&emu, V_NEW, &format!(r#"{{"expires_in":{ok}}}"#));
        assert_eq!(r.status, 200, "{ok}");
        assert_eq!(r.json()["expires_in"], ok);
    }
    for (bad, shown) in [
        ("4", "4"),
        ("0", "0"),
        ("-1", "-1"),
        ("3601", "3601"),
        ("7200", "7200"),
        ("300.5", "300.5"),
        (r#""300""#, "300"),
        ("true", "true"),
    ] {
        let r = token_with(&emu, V_NEW, &format!(r#"{{"expires_in":{bad}}}"#));
        let e = r.ibm_error(400, "invalid_value");
        assert_eq!(e["target"]["name"], "expires_in", "{bad}");
        assert_eq!(e["target"]["type"], "field");
        assert_eq!(e["target"]["value"], shown);
    }
}

#[test]
fn malformed_and_unknown_bodies() {
    let emu = start();
    for bad in [
        "{",
        "not json",
        "[1]",
        "\"x\"",
        "null",
        "{\"expires_in\":300,}",
    ] {
        token_with(&emu, V_NEW, bad).ibm_error(400, "invalid_request");
    }
    let e = token_with(&emu, V_NEW, r#"{"expires_in":300,"color":"blue"}"#)
        .ibm_error(400, "unknown_field");
    assert_eq!(e["target"]["name"], "color");
    let big = format!(
        r#"{{"nonce":"{}"}}"#,
        "x".repeat(vpc_imds_emulator::MAX_BODY_BYTES)
    );
    token_with(&emu, V_NEW, &big).ibm_error(400, "invalid_request");
    let e = token_with(
        &emu,
        V_NEW,
        &format!(r#"{{"nonce":"{}"}}"#, "x".repeat(1025)),
    )
    .ibm_error(400, "invalid_value");
    assert_eq!(e["target"]["name"], "nonce");
    token_with(&emu, V_NEW, r#"{"nonce":5}"#).ibm_error(400, "invalid_value");
}

#[test]
fn version_is_required_and_validated() {
    let emu = start();
    let e = put_token(&emu, NEW_TOKEN, &[FLAVOR], Some("{}")).ibm_error(400, "missing_field");
    assert_eq!(e["target"]["name"], "version");
    assert_eq!(e["target"]["type"], "query");
    let tomorrow = utc_date(1);
    for bad in [
        "2025-13-01",
        "2025-02-30",
        "20250826",
        "latest",
        "",
        "2021-09-09",
        "2999-01-01",
        &tomorrow,
    ] {
        let e = put_token(&emu, &format!("{NEW_TOKEN}?version={bad}"), &[FLAVOR], None)
            .ibm_error(400, "invalid_value");
        assert_eq!(e["target"]["name"], "version", "{bad}");
        assert_eq!(e["target"]["value"], bad);
    }
    for ok in [
        "2021-09-10",
        "2021-10-12",
        "2022-03-01",
        "2024-11-12",
        "2025-08-25",
        "2025-08-26",
        "2025-10-14",
        &utc_date(0),
    ] {
        let r = put_token(&emu, &format!("{NEW_TOKEN}?version={ok}"), &[FLAVOR], None);
        assert_eq!(r.status, 200, "{ok}");
    }
    // The metadata API checks the version too, before authentication.
    get(&emu, "/metadata/v1/instance", "x").ibm_error(400, "missing_field");
}

#[test]
fn old_identity_paths_end_at_2025_08_26() {
    let emu = start();
    let tok = token(&emu);
    for v in ["2022-03-01", "2025-08-25"] {
        let r = put_token(&emu, &format!("{OLD_TOKEN}?version={v}"), &[FLAVOR], None);
        assert_eq!(r.status, 200, "{v}");
        let r = post_as(
            &emu,
            &format!("/instance_identity/v1/iam_token?version={v}"),
            &tok,
        );
        assert_eq!(r.status, 200, "{v}");
    }
    // The beta API (maturity=beta) cut over on 2025-07-15.
    for (v, status) in [
        ("2025-07-14", 200),
        ("2025-07-15", 404),
        ("2025-08-25", 404),
    ] {
        let path = format!("{OLD_TOKEN}?version={v}&maturity=beta");
        assert_eq!(
            put_token(&emu, &path, &[FLAVOR], None).status,
            status,
            "beta {v}"
        );
    }
    for v in ["2025-08-26", &utc_date(0)] {
        put_token(&emu, &format!("{OLD_TOKEN}?version={v}"), &[FLAVOR], None)
            .ibm_error(404, "not_found");
        post_as(
            &emu,
            &format!("/instance_identity/v1/iam_token?version={v}"),
            &tok,
        )
        .ibm_error(404, "not_found");
        post_as(
            &emu,
            &format!("/instance_identity/v1/certificates?version={v}"),
            &tok,
        )
        .ibm_error(404, "not_found");
    }
    // The new family works for every version; a token from one family works on the other.
    let old_tok = token_with(&emu, V_OLD, "{}").json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for v in ["2021-09-10", "2022-03-01", "2025-08-26"] {
        let r = post_as(
            &emu,
            &format!("/identity/v1/iam_tokens?version={v}"),
            &old_tok,
        );
        assert_eq!(r.status, 200, "{v}");
    }
    // Singular/plural belong to their own generation.
    post_as(
        &emu,
        &format!("/identity/v1/iam_token?version={V_NEW}"),
        &tok,
    )
    .ibm_error(404, "not_found");
    post_as(
        &emu,
        &format!("/instance_identity/v1/iam_tokens?version={V_OLD}"),
        &tok,
    )
    .ibm_error(404, "not_found");
}

#[test]
fn identity_methods_are_enforced() {
    let emu = start();
    for (method, path, allow) in [
        ("GET", NEW_TOKEN, "PUT"),
        ("POST", NEW_TOKEN, "PUT"),
        ("PUT", "/identity/v1/iam_tokens", "POST"),
        ("GET", "/identity/v1/certificates", "POST"),
    ] {
        let r = request(
            emu.addr(),
            method,
            &format!("{path}?version={V_NEW}"),
            &[FLAVOR],
            None,
        );
        r.ibm_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some(allow));
    }
    // The old path is 405 for a wrong method while it exists, and not found once
    // the version removed it (no method is advertised then).
    let old = |version: &str| {
        request(
            emu.addr(),
            "DELETE",
            &format!("{OLD_TOKEN}?version={version}"),
            &[FLAVOR],
            None,
        )
    };
    let r = old(V_OLD);
    r.ibm_error(405, "method_not_allowed");
    assert_eq!(r.header("allow"), Some("PUT"));
    let r = old(V_NEW);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("allow"), None);
}

/// A `POST` to `path` with the identity token `tok` and no body.
fn post_as(emu: &vpc_imds_emulator::RunningEmulator, path: &str, tok: &str) -> Resp {
    request(
        emu.addr(),
        "POST",
        path,
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    )
}

fn iam(emu: &vpc_imds_emulator::RunningEmulator, tok: &str, body: Option<&str>) -> Resp {
    request(
        emu.addr(),
        "POST",
        &format!("/identity/v1/iam_tokens?version={V_NEW}"),
        &[
            ("Authorization", &format!("Bearer {tok}")),
            ("Content-Type", "application/json"),
        ],
        body.map(str::as_bytes),
    )
}

#[test]
fn iam_token_for_default_and_named_profiles() {
    let emu = start();
    let tok = token(&emu);
    let fixture = Fixture::default();
    let default = &fixture.trusted_profiles[0];
    let other = &fixture.trusted_profiles[1];
    assert!(default.linked && other.linked);

    let check = |r: Resp, profile_id: &str| {
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["expires_in"], 3600);
        assert!(v["created_at"].is_string() && v["expires_at"].is_string());
        let iam_tok = v["access_token"].as_str().unwrap();
        let claims = jwt_part(iam_tok, 1);
        assert_eq!(claims["sub"], profile_id);
        assert_eq!(claims["iam_id"], format!("iam-{profile_id}"));
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        assert_eq!(jwt_part(iam_tok, 0)["alg"], "RS256");
        iam_tok.to_owned()
    };
    // No body, empty body, and {} all mean the default profile.
    check(iam(&emu, &tok, None), &default.id);
    check(iam(&emu, &tok, Some("")), &default.id);
    check(iam(&emu, &tok, Some("{}")), &default.id);
    check(
        iam(
            &emu,
            &tok,
            Some(&format!(r#"{{"trusted_profile":{{"id":"{}"}}}}"#, other.id)),
        ),
        &other.id,
    );
    check(
        iam(
            &emu,
            &tok,
            Some(&format!(
                r#"{{"trusted_profile":{{"crn":"{}"}}}}"#,
                other.crn
            )),
        ),
        &other.id,
    );
    let iam_tok = check(
        iam(
            &emu,
            &tok,
            Some(&format!(
                r#"{{"trusted_profile":{{"name":"{}"}}}}"#,
                other.name
            )),
        ),
        &other.id,
    );
    assert_eq!(emu.control().counters().iam_token_exchanges, 6);
    // An IAM token is not an instance identity token.
    get(
        &emu,
        &format!("/metadata/v1/instance?version={V_NEW}"),
        &iam_tok,
    )
    .ibm_error(401, "unauthenticated");
}

#[test]
fn iam_token_errors() {
    let emu = start();
    let tok = token(&emu);
    let fixture = Fixture::default();
    let unlinked = fixture.trusted_profiles.iter().find(|p| !p.linked).unwrap();
    for body in [
        format!(r#"{{"trusted_profile":{{"id":"{}"}}}}"#, unlinked.id),
        format!(r#"{{"trusted_profile":{{"crn":"{}"}}}}"#, unlinked.crn),
        r#"{"trusted_profile":{"id":"Profile-00000000-0000-4000-8000-00000000dead"}}"#.into(),
        r#"{"trusted_profile":{"name":"no-such-profile"}}"#.into(),
    ] {
        let e = iam(&emu, &tok, Some(&body)).ibm_error(400, "profile_not_linked");
        assert!(e["target"]["name"]
            .as_str()
            .unwrap()
            .starts_with("trusted_profile."));
    }
    iam(
        &emu,
        &tok,
        Some(r#"{"trusted_profile":{"id":"a","crn":"b"}}"#),
    )
    .ibm_error(400, "invalid_value");
    iam(&emu, &tok, Some(r#"{"trusted_profile":{"id":7}}"#)).ibm_error(400, "invalid_value");
    iam(&emu, &tok, Some(r#"{"trusted_profile":"x"}"#)).ibm_error(400, "invalid_value");
    iam(&emu, &tok, Some(r#"{"trusted_profile":{}}"#)).ibm_error(400, "missing_field");
    let e = iam(
        &emu,
        &tok,
        Some(r#"{"trusted_profile":{"id":"a","color":1}}"#),
    )
    .ibm_error(400, "unknown_field");
    assert_eq!(e["target"]["name"], "trusted_profile.color");
    iam(&emu, &tok, Some(r#"{"profile":{}}"#)).ibm_error(400, "unknown_field");
    iam(&emu, &tok, Some("{oops")).ibm_error(400, "invalid_request");
    // Authentication comes first.
    iam(&emu, "not-a-token", None).ibm_error(401, "unauthenticated");
    let r = request(
        emu.addr(),
        "POST",
        &format!("/identity/v1/iam_tokens?version={V_NEW}"),
        &[],
        None,
    );
    r.ibm_error(401, "unauthenticated");
    assert_eq!(emu.control().counters().iam_token_exchanges, 0);
}

#[test]
fn iam_token_without_default_profile_is_missing_field() {
    let mut fixture = Fixture::default();
    fixture.initialization.remove("default_trusted_profile");
    let emu = Emulator::builder()
        .fixture(fixture.clone())
        .start()
        .unwrap();
    let tok = token(&emu);
    let e = iam(&emu, &tok, None).ibm_error(400, "missing_field");
    assert_eq!(e["target"]["name"], "trusted_profile.id");
    // Naming a linked profile still works.
    let body = format!(
        r#"{{"trusted_profile":{{"id":"{}"}}}}"#,
        fixture.trusted_profiles[1].id
    );
    assert_eq!(iam(&emu, &tok, Some(&body)).status, 200);
}

#[test]
fn expired_identity_token_cannot_be_exchanged() {
    let emu = start();
    let tok = token_with(&emu, V_NEW, r#"{"expires_in":5}"#).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(iam(&emu, &tok, None).status, 200);
    emu.control().advance_clock(Duration::from_secs(6)).unwrap();
    let e = iam(&emu, &tok, None).ibm_error(401, "unauthenticated");
    assert!(e["message"].as_str().unwrap().contains("expired"));
}

fn csr(params: rcgen::CertificateParams) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn cert_req(
    emu: &vpc_imds_emulator::RunningEmulator,
    tok: &str,
    path: &str,
    version: &str,
    body: &Value,
) -> Resp {
    request(
        emu.addr(),
        "POST",
        &format!("{path}?version={version}"),
        &[("Authorization", &format!("Bearer {tok}"))],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn identity_certificates() {
    let emu = start();
    let tok = token(&emu);
    let mut params = rcgen::CertificateParams::default();
    // rcgen's default subject has a CN; the service forbids one.
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Example");
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "US");
    let pem = csr(params);
    for (path, version) in [
        ("/identity/v1/certificates", V_NEW),
        ("/instance_identity/v1/certificates", V_OLD),
    ] {
        let r = cert_req(
            &emu,
            &tok,
            path,
            version,
            &serde_json::json!({ "csr": pem, "expires_in": 600 }),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        let v = r.json();
        assert_eq!(v["expires_in"], 600);
        assert!(v["id"].is_string() && v["created_at"].is_string() && v["expires_at"].is_string());
        let chain = v["certificates"].as_array().unwrap();
        assert_eq!(chain.len(), 2, "leaf then intermediate");
        for c in chain {
            assert!(c
                .as_str()
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE-----"));
        }
        // The leaf's subject CN is the instance ID (DER contains it as a UTF8/printable string).
        let leaf = rustls::pki_types::CertificateDer::from_pem_slice(
            chain[0].as_str().unwrap().as_bytes(),
        )
        .expect("leaf PEM");
        let id = Fixture::default().instance["id"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(leaf.windows(id.len()).any(|w| w == id.as_bytes()));
    }
    let v = cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": pem }),
    )
    .json();
    assert_eq!(v["expires_in"], 3600, "default lifetime");
    assert_eq!(emu.control().counters().certificate_creations, 3);

    // Rules.
    let mut with_cn = rcgen::CertificateParams::default();
    with_cn
        .distinguished_name
        .push(rcgen::DnType::CommonName, "me");
    let e = cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": csr(with_cn) }),
    )
    .ibm_error(400, "invalid_value");
    assert_eq!(e["target"]["name"], "csr");
    let mut with_san = rcgen::CertificateParams::new(vec!["example.com".to_string()]).unwrap();
    with_san.distinguished_name = rcgen::DistinguishedName::new();
    cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": csr(with_san) }),
    )
    .ibm_error(400, "invalid_value");
    cert_req(&emu, &tok, "/identity/v1/certificates", V_NEW, &serde_json::json!({ "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" }))
        .ibm_error(400, "invalid_value");
    cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({}),
    )
    .ibm_error(400, "missing_field");
    cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": pem, "x": 1 }),
    )
    .ibm_error(400, "unknown_field");
    cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": pem, "expires_in": 1 }),
    )
    .ibm_error(400, "invalid_value");
    cert_req(
        &emu,
        "bad",
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": pem }),
    )
    .ibm_error(401, "unauthenticated");
}

/// With the emulator's clock two years ahead, an issued leaf still lies within
/// its intermediate's validity (the chain verifies at the emulated time).
#[test]
fn certificates_issued_on_a_clock_moved_ahead_fit_their_chain() {
    let emu = start();
    emu.control()
        .advance_clock(Duration::from_secs(2 * 366 * 86_400))
        .unwrap();
    let tok = token(&emu);
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Example");
    let r = cert_req(
        &emu,
        &tok,
        "/identity/v1/certificates",
        V_NEW,
        &serde_json::json!({ "csr": csr(params) }),
    );
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let chain = r.json()["certificates"].clone();
    let validity = |i: usize| {
        let der = rustls::pki_types::CertificateDer::from_pem_slice(
            chain[i].as_str().unwrap().as_bytes(),
        )
        .unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let v = cert.validity();
        (v.not_before.timestamp(), v.not_after.timestamp())
    };
    let (leaf, intermediate) = (validity(0), validity(1));
    assert!(
        intermediate.0 <= leaf.0 && leaf.1 <= intermediate.1,
        "leaf {leaf:?} outside its intermediate {intermediate:?}"
    );
}
