//! Metadata operations: every path, consistency with the fixture, auth,
//! 404/405, and pagination.

mod common;

use common::*;
use serde_json::Value;
use std::time::Duration;
use vpc_imds_emulator::{Emulator, Fixture};

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn every_metadata_path_serves_the_fixture() {
    let emu = start();
    let tok = token(&emu);
    let f = Fixture::default();
    let q = |p: &str| format!("{p}?version={V_NEW}");

    let inst = get(&emu, &q("/metadata/v1/instance"), &tok);
    assert_eq!(inst.status, 200);
    assert_eq!(inst.header("content-type"), Some("application/json"));
    let inst = inst.json();
    assert_eq!(inst["id"], f.instance["id"]);
    assert_eq!(inst["metadata_service"]["protocol"], "http");

    let init = get(&emu, &q("/metadata/v1/instance/initialization"), &tok).json();
    let user_data = init["user_data"].as_str().unwrap();
    assert!(user_data.contains("Content-Type: multipart/mixed"));
    assert!(user_data.contains("#cloud-config"));
    assert!(user_data.contains("Grüße, 世界"));
    assert_eq!(
        init["default_trusted_profile"]["target"]["id"],
        f.trusted_profiles[0].id
    );

    // Instance summaries and collections agree.
    for (coll, summary) in [
        ("instance/network_interfaces", "network_interfaces"),
        ("instance/volume_attachments", "volume_attachments"),
        ("instance/network_attachments", "network_attachments"),
        (
            "instance/cluster_network_attachments",
            "cluster_network_attachments",
        ),
    ] {
        let list = get(&emu, &q(&format!("/metadata/v1/{coll}")), &tok);
        assert_eq!(list.status, 200, "{coll}");
        let key = coll.rsplit('/').next().unwrap();
        let listed = ids(&list.json()[key]);
        assert_eq!(listed, ids(&inst[summary]), "{coll}");
        for id in &listed {
            let one = get(&emu, &q(&format!("/metadata/v1/{coll}/{id}")), &tok);
            assert_eq!(one.status, 200, "{coll}/{id}");
            assert_eq!(one.json()["id"], id.as_str());
        }
    }
    assert!(ids(&inst["network_interfaces"]).len() >= 2);
    assert!(ids(&inst["volume_attachments"]).len() >= 2);
    assert_eq!(
        inst["primary_network_interface"]["id"],
        inst["network_interfaces"][0]["id"]
    );

    // The singular alias from the docs.
    let va = &ids(&inst["volume_attachments"])[1];
    let one = get(
        &emu,
        &q(&format!("/metadata/v1/instance/volume_attachment/{va}")),
        &tok,
    );
    assert_eq!(one.json()["id"], va.as_str());

    let sw = get(&emu, &q("/metadata/v1/instance/software_attachments"), &tok).json();
    assert!(sw["software_attachments"].is_array());

    // Keys: the same keys as initialization, rsa and ed25519.
    let keys = get(&emu, &q("/metadata/v1/keys"), &tok).json();
    assert_eq!(ids(&keys["keys"]), ids(&init["keys"]));
    assert!(keys["keys"].as_array().unwrap().len() >= 3);
    let types: Vec<&str> = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"rsa") && types.contains(&"ed25519"));
    for k in keys["keys"].as_array().unwrap() {
        let id = k["id"].as_str().unwrap();
        let one = get(&emu, &q(&format!("/metadata/v1/keys/{id}")), &tok).json();
        assert_eq!(&one, k);
        assert!(k["fingerprint"].as_str().unwrap().starts_with("SHA256:"));
        assert!(k["public_key"].as_str().unwrap().starts_with("ssh-"));
    }

    let pgs = get(&emu, &q("/metadata/v1/placement_groups"), &tok).json();
    assert_eq!(pgs["total_count"], 3);
    for id in ids(&pgs["placement_groups"]) {
        let one = get(
            &emu,
            &q(&format!("/metadata/v1/placement_groups/{id}")),
            &tok,
        )
        .json();
        assert_eq!(one["resource_type"], "placement_group");
    }
    // Every success counted.
    let c = emu.control().counters();
    assert!(c.metadata_gets >= 20, "{c:?}");
    assert_eq!(c.unauthenticated, 0);
}

#[test]
fn unknown_paths_and_ids_are_404() {
    let emu = start();
    let tok = token(&emu);
    for path in [
        "/metadata/v1/instance/network_interfaces/nope",
        "/metadata/v1/instance/volume_attachments/nope",
        "/metadata/v1/instance/volume_attachment/nope",
        "/metadata/v1/keys/nope",
        "/metadata/v1/placement_groups/nope",
        "/metadata/v1/instance/network_attachments/nope",
        "/metadata/v1/instance/cluster_network_attachments/nope",
        "/metadata/v1/instance/software_attachments/nope",
    ] {
        let e = get(&emu, &format!("{path}?version={V_NEW}"), &tok).ibm_error(404, "not_found");
        assert_eq!(e["target"]["value"], "nope", "{path}");
    }
    for path in [
        "/",
        "/metadata",
        "/metadata/v1",
        "/metadata/v1/",
        "/metadata/v1/instance/",
        "/metadata/v1/keys/",
        "/metadata/v2/instance",
        "/metadata/v1/instances",
        "/metadata/v1/network_interfaces",
        "/metadata/v1/instance/keys",
        "/metadata/v1/keys/a/b",
        "/latest/meta-data/",
    ] {
        get(&emu, &format!("{path}?version={V_NEW}"), &tok).ibm_error(404, "not_found");
    }
    assert_eq!(
        emu.control().counters().by_route.get("unmatched"),
        Some(&12)
    );
}

#[test]
fn wrong_methods_are_405() {
    let emu = start();
    let tok = token(&emu);
    for (method, path) in [
        ("POST", "/metadata/v1/instance"),
        ("PUT", "/metadata/v1/keys"),
        (
            "DELETE",
            "/metadata/v1/keys/r000-99999999-0000-4000-8000-000000000001",
        ),
        ("PATCH", "/metadata/v1/instance/initialization"),
        ("HEAD", "/metadata/v1/placement_groups"),
        ("OPTIONS", "/metadata/v1/instance"),
    ] {
        let auth = format!("Bearer {tok}");
        let req = build(
            "x",
            method,
            &format!("{path}?version={V_NEW}"),
            &[("Authorization", &auth)],
            None,
        );
        let out = raw(emu.addr(), &req, Duration::from_secs(5)).unwrap();
        if method == "HEAD" {
            // No body on HEAD; the head alone says 405.
            let head = String::from_utf8_lossy(&out).to_ascii_lowercase();
            assert!(
                head.starts_with("http/1.1 405") && head.contains("allow: get"),
                "{head}"
            );
            continue;
        }
        let r = parse(&out);
        r.ibm_error(405, "method_not_allowed");
        assert_eq!(r.header("allow"), Some("GET"), "{method} {path}");
    }
}

#[test]
fn bearer_token_rules() {
    let emu = start();
    let path = format!("/metadata/v1/instance?version={V_NEW}");
    let tok = token(&emu);
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![], "Authorization"),
        (vec![("Authorization", tok.clone())], "Bearer"),
        (vec![("Authorization", format!("Basic {tok}"))], "Bearer"),
        (vec![("Authorization", "Bearer ".into())], "Bearer"),
        (
            vec![("Authorization", "Bearer abc.def.ghi".into())],
            "not valid",
        ),
        (
            vec![("Authorization", format!("Bearer {tok}x"))],
            "not valid",
        ),
    ];
    for (headers, msg) in cases {
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let e = request(emu.addr(), "GET", &path, &h, None).ibm_error(401, "unauthenticated");
        assert!(e["message"].as_str().unwrap().contains(msg), "{e}");
    }
    // The scheme is case-insensitive.
    let r = request(
        emu.addr(),
        "GET",
        &path,
        &[("Authorization", &format!("bearer {tok}"))],
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(emu.control().counters().unauthenticated, 6);
}

#[test]
fn tokens_expire_for_real() {
    let emu = start();
    let path = format!("/metadata/v1/instance?version={V_NEW}");
    let short = token_with(&emu, V_NEW, r#"{"expires_in":5}"#).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let long = token_with(&emu, V_NEW, r#"{"expires_in":3600}"#).json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(get(&emu, &path, &short).status, 200);
    emu.control().advance_clock(Duration::from_secs(5)).unwrap();
    let e = get(&emu, &path, &short).ibm_error(401, "unauthenticated");
    assert!(e["message"].as_str().unwrap().contains("expired"));
    assert_eq!(get(&emu, &path, &long).status, 200);
    // A new token is stamped with the advanced clock.
    let fresh = token_with(&emu, V_NEW, "{}").json();
    let iat = jwt_part(fresh["access_token"].as_str().unwrap(), 1)["iat"]
        .as_i64()
        .unwrap();
    assert!(iat >= emu.control().now_ms() / 1000 - 2);

    emu.control().expire_tokens();
    get(&emu, &path, &long).ibm_error(401, "unauthenticated");
    get(&emu, &path, fresh["access_token"].as_str().unwrap()).ibm_error(401, "unauthenticated");
    // Tokens issued afterwards work.
    assert_eq!(get(&emu, &path, &token(&emu)).status, 200);
}

#[test]
fn pagination_follows_next_hrefs() {
    let emu = start();
    let tok = token(&emu);
    let base = emu.base_url().to_owned();
    for (coll, total) in [("keys", 3), ("placement_groups", 3)] {
        // Default page: everything, no next.
        let all = get(&emu, &format!("/metadata/v1/{coll}?version={V_NEW}"), &tok).json();
        assert_eq!(all["limit"], 50);
        assert_eq!(all["total_count"], total);
        assert_eq!(
            all["first"]["href"],
            format!("{base}/metadata/v1/{coll}?limit=50")
        );
        assert!(all.get("next").is_none());
        let every = ids(&all[coll]);

        // limit=2: two pages, hrefs absolute on our base URL.
        let mut collected = Vec::new();
        let mut url = format!("{base}/metadata/v1/{coll}?limit=2");
        let mut pages = 0;
        loop {
            let path = url.strip_prefix(&base).expect("href on our base");
            let page = get(&emu, &format!("{path}&version={V_NEW}"), &tok);
            assert_eq!(page.status, 200, "{path}");
            let page = page.json();
            assert_eq!(page["limit"], 2);
            assert_eq!(page["total_count"], total);
            assert_eq!(
                page["first"]["href"],
                format!("{base}/metadata/v1/{coll}?limit=2")
            );
            collected.extend(ids(&page[coll]));
            pages += 1;
            match page.get("next") {
                Some(next) => url = next["href"].as_str().unwrap().to_owned(),
                None => break,
            }
        }
        assert_eq!(pages, 2);
        assert_eq!(collected, every);
        let one = get(
            &emu,
            &format!("/metadata/v1/{coll}?version={V_NEW}&limit=1"),
            &tok,
        )
        .json();
        assert_eq!(ids(&one[coll]).len(), 1);
        assert!(one["next"]["href"].as_str().unwrap().contains("&start="));
        let max = get(
            &emu,
            &format!("/metadata/v1/{coll}?version={V_NEW}&limit=100"),
            &tok,
        );
        assert_eq!(max.status, 200);
    }
}

#[test]
fn pagination_rejects_bad_limit_and_start() {
    let emu = start();
    let tok = token(&emu);
    for bad in ["0", "101", "-1", "abc", "", "1.5", "+5", "99999999999"] {
        let e = get(
            &emu,
            &format!("/metadata/v1/keys?version={V_NEW}&limit={bad}"),
            &tok,
        )
        .ibm_error(400, "invalid_value");
        assert_eq!(e["target"]["name"], "limit");
        assert_eq!(e["target"]["type"], "query");
    }
    // A start token from another collection, or made up, is refused.
    let keys_next = get(
        &emu,
        &format!("/metadata/v1/keys?version={V_NEW}&limit=1"),
        &tok,
    )
    .json()["next"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = keys_next.split("start=").nth(1).unwrap();
    for bad in [start, "garbage", "%%%", ""] {
        let e = get(
            &emu,
            &format!("/metadata/v1/placement_groups?version={V_NEW}&start={bad}"),
            &tok,
        )
        .ibm_error(400, "invalid_value");
        assert_eq!(e["target"]["name"], "start");
    }
    assert_eq!(
        get(
            &emu,
            &format!("/metadata/v1/keys?version={V_NEW}&start={start}"),
            &tok
        )
        .status,
        200
    );
}

#[test]
fn hrefs_follow_the_host_the_client_used() {
    let emu = start();
    let tok = token(&emu);
    let req = build(
        "localhost:9999",
        "GET",
        &format!("/metadata/v1/placement_groups?version={V_NEW}&limit=1"),
        &[("Authorization", &format!("Bearer {tok}"))],
        None,
    );
    let page = parse(&raw(emu.addr(), &req, Duration::from_secs(5)).unwrap()).json();
    assert_eq!(
        page["first"]["href"],
        "http://localhost:9999/metadata/v1/placement_groups?limit=1"
    );
    assert!(page["next"]["href"]
        .as_str()
        .unwrap()
        .starts_with("http://localhost:9999/metadata/v1/placement_groups?limit=1&start="));
}

#[test]
fn custom_fixture_is_served() {
    let mut f = Fixture::default();
    f.instance.insert("name".into(), "custom-vsi".into());
    f.keys.truncate(1);
    let emu = Emulator::builder().fixture(f).start().unwrap();
    let tok = token(&emu);
    assert_eq!(
        get(
            &emu,
            &format!("/metadata/v1/instance?version={V_NEW}"),
            &tok
        )
        .json()["name"],
        "custom-vsi"
    );
    assert_eq!(
        get(&emu, &format!("/metadata/v1/keys?version={V_NEW}"), &tok).json()["total_count"],
        1
    );
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    use std::io::{BufRead, BufReader, Read, Write};
    let emu = start();
    let tok = token(&emu);
    let mut s = std::net::TcpStream::connect(emu.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(s.try_clone().unwrap());
    for _ in 0..5 {
        write!(
            s,
            "GET /metadata/v1/instance?version={V_NEW} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {tok}\r\n\r\n"
        )
        .unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        assert!(line.starts_with("HTTP/1.1 200"), "{line}");
        let mut len = 0;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        assert!(serde_json::from_slice::<Value>(&body).is_ok());
    }
}
