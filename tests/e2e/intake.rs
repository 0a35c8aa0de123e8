//! Alerts as SOCs have them: the same password spray written by Palisade's native format,
//! OCSF, Elastic Security, Splunk, Microsoft Sentinel and a config-defined mapping, run
//! through the binary, yields the same entities and the same response; bad lines are
//! reported with their line number and the batch goes on.

use std::collections::{BTreeMap, BTreeSet};

use palisade_e2e::{Case, Receiver, SPRAY_IP, workspace_root};
use serde_json::Value;

/// The spray samples the unit tests also read, and the id each format gives the alert.
const SAMPLES: [(&str, &str, &str); 6] = [
    ("native", "native/password-spray.json", "spray-native"),
    (
        "ocsf",
        "ocsf/password-spray.json",
        "7c3f0e9a-5b2d-4f61-9a57-2f4c1d0e8b11",
    ),
    (
        "ecs",
        "ecs/password-spray.json",
        "b1f0c2d4e6a8f0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0",
    ),
    (
        "splunk",
        "splunk/webhook-password-spray.json",
        "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5a1b2c3d4e5f60718_at_1795684320_4711",
    ),
    (
        "sentinel",
        "sentinel/securityalert-password-spray.json",
        "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3",
    ),
    ("mapping:acme", "mapping/acme-password-spray.json", "acme-77"),
];

/// The spray plugin on a webhook, and the mapping for Acme's format.
const CONFIG: &str = r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]

[intake.mappings.acme]
match = { vendor = "Acme IdP" }
id = "alert.id"
title = "alert.name"
rule_id = "alert.rule"
severity = "alert.level"
confidence = "alert.score"
timestamp = "alert.created"
tags = "labels"

[intake.mappings.acme.defaults]
source = "Acme IdP"
category = "credential-access"

[intake.mappings.acme.severity_values]
"3" = "high"

[[intake.mappings.acme.entities]]
kind = "user"
path = "accounts.compromised[*]"
sign_in = "success"

[[intake.mappings.acme.entities]]
kind = "user"
path = "accounts.failed"
sign_in = "failure"

[[intake.mappings.acme.entities]]
kind = "ip"
path = "attacker.ip"
direction = "source"
"#;

/// A sample as one JSONL line.
fn sample(path: &str) -> String {
    let file = workspace_root().join("tests/fixtures/alerts").join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    serde_json::from_str::<Value>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .to_string()
}

/// The users with their sign-in result, and the addresses, of an alert record.
fn entities(alert: &Value) -> BTreeSet<String> {
    alert["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entity| match entity["type"].as_str()? {
            "user" => Some(format!("user {} {}", entity["name"], entity["sign_in"])),
            "ip" => Some(format!("ip {}", entity["address"])),
            _ => None,
        })
        .collect()
}

#[test]
fn the_same_spray_from_six_formats_gets_the_same_entities_and_response() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(CONFIG);
    case.alerts(&SAMPLES.map(|(_, path, _)| sample(path)));

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let native = entities(&run.alert("spray-native")["alert"]);
    assert_eq!(
        native,
        BTreeSet::from([
            "user \"alice\" \"success\"".to_owned(),
            "user \"bob\" \"success\"".to_owned(),
            "user \"carol\" \"failure\"".to_owned(),
            format!("ip \"{SPRAY_IP}\""),
        ])
    );

    // Each alert's calls, by the alert id the webhook envelope carries.
    let mut calls: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for request in receiver.effects() {
        let target = match request.operation() {
            "revoke-sessions" => request.request()["user"].as_str().unwrap_or_default().to_owned(),
            "block-ip" => request.request()["target"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        calls
            .entry(request.body["alert_id"].as_str().unwrap_or_default().to_owned())
            .or_default()
            .push((
                format!("{}.{}", request.capability(), request.operation()),
                target,
            ));
    }

    for (format, _, id) in SAMPLES {
        let record = run.alert(id);
        assert_eq!(
            entities(&record["alert"]),
            native,
            "{format}: the same entities\n{run}"
        );
        assert_eq!(record["alert"]["severity"], "high", "{format}");
        assert_eq!(record["alert"]["category"], "credential-access", "{format}");

        let mut done = calls.remove(id).unwrap_or_default();
        done.sort();
        assert_eq!(
            done,
            [
                ("identity.revoke-sessions".to_owned(), "alice".to_owned()),
                ("identity.revoke-sessions".to_owned(), "bob".to_owned()),
                ("network.block-ip".to_owned(), SPRAY_IP.to_owned()),
                ("ticket.create".to_owned(), String::new()),
            ],
            "{format}: sessions revoked for alice and bob, the address blocked, one ticket\n{run}"
        );
        let spray = run.plugin(id, "password-spray");
        assert_eq!(spray["status"], "completed", "{format}\n{run}");
    }
    assert!(calls.is_empty(), "calls for no known alert: {calls:?}");
    assert_eq!(run.summary()["rejected"], 0, "{run}");
}

#[test]
fn bad_lines_are_reported_by_line_and_the_batch_goes_on() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(CONFIG);
    let mut ocsf_without_title: Value = serde_json::from_str(&sample("ocsf/password-spray.json")).unwrap();
    ocsf_without_title["finding_info"]
        .as_object_mut()
        .unwrap()
        .remove("title");
    let oversized = format!("{{\"padding\":\"{}\"}}", "x".repeat(4 << 20));
    case.alerts(&[
        r#"{"hello":"world"}"#.to_owned(),
        ocsf_without_title.to_string(),
        oversized,
        sample("splunk/webhook-password-spray.json"),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(3), "rejected lines make a partial run\n{run}");
    let rejected: BTreeMap<u64, String> = run
        .records("rejected")
        .into_iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["error"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(rejected.len(), 3, "{run}");
    assert!(
        ["ocsf", "ecs", "splunk", "sentinel", "native", "mapping:acme"]
            .iter()
            .all(|format| rejected[&1].contains(format)),
        "the formats tried: {}",
        rejected[&1]
    );
    assert_eq!(rejected[&2], "ocsf: missing required field `finding_info.title`");
    assert!(
        rejected[&3].contains(&format!("over the limit of {} bytes", 4 << 20)),
        "{}",
        rejected[&3]
    );
    assert_eq!(run.records("alert").len(), 1, "{run}");
    assert_eq!(
        receiver.calls("ticket", "create").len(),
        1,
        "the good line was acted on"
    );
}

#[test]
fn a_named_format_is_used_for_every_line_and_an_unknown_mapping_stops_the_run() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(CONFIG);
    case.alerts(&[
        sample("sentinel/securityalert-password-spray.json"),
        sample("native/password-spray.json"),
    ]);

    let run = case.palisade(&["simulate", "--json", "--format", "sentinel", "alerts.jsonl"]);
    assert_eq!(run.code, Some(3), "{run}");
    assert_eq!(run.records("alert").len(), 1, "{run}");
    let rejected = run.records("rejected");
    assert_eq!(rejected[0]["line"], 2, "{run}");
    assert_eq!(
        rejected[0]["error"],
        "sentinel: missing required field `SystemAlertId`"
    );
    assert!(receiver.effects().is_empty(), "simulate sends no action");

    let run = case.palisade(&["run", "--format", "mapping:nope", "alerts.jsonl"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stderr.contains("no mapping named \"nope\""), "{run}");
}
