//! `api/vpc-imds.json` says what the driver does: every default, range and name in it
//! is held here against the driver itself, so the generated surfaces cannot promise
//! what the machine does not do.

use std::time::Duration;

use serde_json::Value as Json;
use vpc_imds_driver::{Instant, LocalMachine, NamedArgs, Settings, Value};

fn description() -> Json {
    let text = include_str!("../../api/vpc-imds.json");
    serde_json::from_str(text).expect("the description is JSON")
}

fn value(v: &Json) -> Value<'_> {
    match v {
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map_or(Value::Float(n.as_f64().unwrap_or(0.0)), Value::Int),
        Json::String(s) => Value::Text(s),
        _ => Value::Null,
    }
}

/// The setting's value in the built configuration, in the description's unit.
fn effective(settings: &Settings, name: &str) -> Json {
    let config = settings.build().expect("valid settings");
    let core = config.core();
    let secs = |d: Duration| Json::from(d.as_secs_f64());
    match name {
        "endpoint" => Json::Null,
        "secure" => Json::from(settings.secure),
        "version" => Json::from(core.version().to_string()),
        "token_lifetime" => Json::from(core.token_lifetime()),
        "timeout" => secs(core.timeouts.operation),
        "connect_timeout" => secs(core.timeouts.connect),
        "request_timeout" => secs(core.timeouts.request),
        "max_attempts" => Json::from(core.retry.max_attempts),
        "base_delay" => secs(core.retry.base_delay),
        "max_delay" => secs(core.retry.max_delay),
        "max_response_bytes" => Json::from(core.max_body_bytes),
        other => panic!("setting {other} is described but this test does not know it"),
    }
}

fn same_number(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => (x - y).abs() < 1e-9,
        _ => a == b,
    }
}

#[test]
fn every_setting_default_and_range_is_the_drivers() {
    let desc = description();
    for s in desc["settings"].as_array().expect("settings") {
        let name = s["name"].as_str().expect("name");
        let default = effective(&Settings::default(), name);
        assert!(
            same_number(&default, &s["default"]),
            "{name}: driver default {default}, described {}",
            s["default"]
        );
        if let (Some(min), Some(max)) = (s["min"].as_f64(), s["max"].as_f64()) {
            // The whole-call timeout caps the others: it is set high so each limit
            // shows as itself.
            let fresh = || {
                let mut settings = Settings::default();
                settings.set("timeout", Value::Int(86_400)).expect("a day");
                settings
            };
            for v in [min, max] {
                let mut settings = fresh();
                let set = settings.set(name, Value::Float(v));
                let built = set.and_then(|()| settings.build().map(drop));
                assert!(built.is_ok(), "{name} = {v} should be accepted: {built:?}");
                assert!(
                    same_number(&effective(&settings, name), &Json::from(v)),
                    "{name} = {v}"
                );
            }
            let below = if s["type"] == "seconds" {
                min - min.max(0.001)
            } else {
                min - 1.0
            };
            for v in [below, max + 1.0] {
                let mut settings = fresh();
                let refused =
                    settings.set(name, Value::Float(v)).is_err() || settings.build().is_err();
                assert!(refused, "{name} = {v} should be refused");
            }
        }
    }
    // A name the description does not list is refused.
    assert!(Settings::default()
        .set("timeout_ms", Value::Int(1))
        .is_err());
}

#[test]
fn every_described_operation_and_argument_starts() {
    let desc = description();
    let csr = "-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----";
    for op in desc["operations"].as_array().expect("operations") {
        let name = op["op"].as_str().or(op["name"].as_str()).expect("name");
        let mut args = NamedArgs::default();
        for a in op["args"].as_array().expect("args") {
            let arg = a["name"].as_str().expect("arg name");
            let sample = match (a["type"].as_str(), arg) {
                (_, "csr") => Json::from(csr),
                (Some("id"), _) => Json::from("r006-1"),
                (Some("path"), _) => Json::from("instance"),
                (Some("string"), _) => Json::from("x"),
                (Some("integer"), _) => a["min"].clone(),
                (Some("seconds"), _) => Json::from(1.5),
                (Some("boolean"), _) => Json::from(true),
                (t, _) => panic!("{name}.{arg}: type {t:?}"),
            };
            // iam_token takes one profile selector at most.
            if arg.starts_with("profile_") && arg != "profile_id" {
                continue;
            }
            args.set(arg, value(&sample))
                .unwrap_or_else(|e| panic!("{name}.{arg}: {e}"));
        }
        if let Some(fixed) = op["fixed"].as_object() {
            for (k, v) in fixed {
                args.set(k, value(v)).expect("fixed argument");
            }
        }
        let config = Settings::default().build().expect("defaults");
        let mut machine = LocalMachine::new(config, 1);
        machine
            .start_named(name, &args, Instant::from_millis(0))
            .unwrap_or_else(|e| panic!("{name} does not start: {e}"));
    }
    assert!(NamedArgs::default()
        .set("frobnicate", Value::Int(1))
        .is_err());
}

#[test]
fn values_no_rule_takes_are_refused_naming_the_value() {
    use vpc_imds_driver::InputError;
    let mut args = NamedArgs::default();
    assert_eq!(
        args.set("profile_id", Value::NotUnicode),
        Err(InputError::ForbiddenCharacter { what: "profile_id" })
    );
    assert!(matches!(
        args.set("expires_in", Value::Other),
        Err(InputError::Malformed {
            what: "expires_in",
            ..
        })
    ));
    assert!(matches!(
        Settings::default().set("timeout", Value::NotUnicode),
        Err(InputError::Malformed {
            what: "timeout",
            ..
        })
    ));
    assert_eq!(args, NamedArgs::default(), "a refused value sets nothing");
}
