//! Alert intake: one line in, an alert or an error out, in every format.

use arbitrary::{Arbitrary, Unstructured};
use palisade_alert::intake::{self, Format, Intake};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The kept sample of each format (`tests/fixtures/alerts`), and the format it is in.
const FIXTURES: &[(&str, &str)] = &[
    (
        "native",
        include_str!("../../../tests/fixtures/alerts/native/password-spray.json"),
    ),
    (
        "ocsf",
        include_str!("../../../tests/fixtures/alerts/ocsf/password-spray.json"),
    ),
    (
        "ocsf",
        include_str!("../../../tests/fixtures/alerts/ocsf/security-finding-1.0-malware.json"),
    ),
    (
        "ocsf",
        include_str!("../../../tests/fixtures/alerts/ocsf/compliance-finding-passed.json"),
    ),
    (
        "ecs",
        include_str!("../../../tests/fixtures/alerts/ecs/password-spray.json"),
    ),
    (
        "ecs",
        include_str!("../../../tests/fixtures/alerts/ecs/endpoint-malware-trusted-dll.json"),
    ),
    (
        "ecs",
        include_str!("../../../tests/fixtures/alerts/ecs/malware-flat-hit.json"),
    ),
    (
        "splunk",
        include_str!("../../../tests/fixtures/alerts/splunk/webhook-password-spray.json"),
    ),
    (
        "splunk",
        include_str!("../../../tests/fixtures/alerts/splunk/notable-brute-force.json"),
    ),
    (
        "splunk",
        include_str!("../../../tests/fixtures/alerts/splunk/notable-index-row-without-event-id.json"),
    ),
    (
        "splunk",
        include_str!("../../../tests/fixtures/alerts/splunk/webhook-documented-example.json"),
    ),
    (
        "sentinel",
        include_str!("../../../tests/fixtures/alerts/sentinel/securityalert-password-spray.json"),
    ),
    (
        "sentinel",
        include_str!("../../../tests/fixtures/alerts/sentinel/incident-playbook-malware.json"),
    ),
    (
        "sentinel",
        include_str!("../../../tests/fixtures/alerts/sentinel/incident-closed-false-positive.json"),
    ),
    (
        "sentinel",
        include_str!("../../../tests/fixtures/alerts/sentinel/rest-alert-resource.json"),
    ),
    (
        "mapping:acme",
        include_str!("../../../tests/fixtures/alerts/mapping/acme-password-spray.json"),
    ),
];

/// The field mapping of docs/intake.md, as `[intake]` holds it.
const ACME_MAPPING: &str = r#"
[mappings.acme]
match = { vendor = "Acme IdP" }
id = "alert.id"
title = "alert.name"
rule_id = "alert.rule"
severity = "alert.level"
confidence = "alert.score"
timestamp = "alert.created"
tags = "labels"

[mappings.acme.defaults]
source = "Acme IdP"
category = "credential-access"

[mappings.acme.severity_values]
"3" = "high"

[[mappings.acme.entities]]
kind = "user"
path = "accounts.compromised[*]"
sign_in = "success"

[[mappings.acme.entities]]
kind = "user"
path = "accounts.failed[*]"
sign_in = "failure"

[[mappings.acme.entities]]
kind = "ip"
path = "attacker.ip"
direction = "source"
"#;

/// One intake per way a line can be read: detected (with and without the config's mapping),
/// and each format named.
struct Intakes {
    detected: Intake,
    detected_with_mapping: Intake,
    named: Vec<Intake>,
}

fn intakes() -> &'static Intakes {
    static INTAKES: OnceLock<Intakes> = OnceLock::new();
    INTAKES.get_or_init(|| {
        let path = std::path::Path::new("palisade.toml");
        let raw: palisade_alert::config::RawIntake =
            toml::from_str(ACME_MAPPING).expect("the docs' mapping parses");
        let mut report = palisade_core::located::Reporter::new(path, ACME_MAPPING);
        let config = palisade_alert::config::IntakeConfig::from_toml(raw, &mut report);
        assert!(report.errors.is_empty(), "the docs' mapping is valid");
        let mappings = config.mappings;
        let named = ["native", "ocsf", "ecs", "splunk", "sentinel", "mapping:acme"]
            .iter()
            .map(|name| {
                let format: Format = name.parse().expect("a known format");
                Intake::new(Some(format), mappings.clone()).expect("the mapping exists")
            })
            .collect();
        Intakes {
            detected: Intake::new(None, Vec::new()).unwrap(),
            detected_with_mapping: Intake::new(None, mappings).unwrap(),
            named,
        }
    })
}

/// The intake a selector byte picks: 0 and 1 detect, 2.. name a format.
fn pick(selector: u8) -> &'static Intake {
    let intakes = intakes();
    match selector as usize % (intakes.named.len() + 2) {
        0 => &intakes.detected,
        1 => &intakes.detected_with_mapping,
        n => &intakes.named[n - 2],
    }
}

/// What every alert the intake returns must satisfy, whatever the input.
fn check(line: &str, result: Result<palisade_alert::Alert, intake::IntakeError>) {
    match result {
        Ok(alert) => {
            assert_eq!(alert.raw, line, "raw is the line exactly as received");
            assert!(
                alert.confidence.is_none_or(|c| c <= 100),
                "confidence {:?} is out of 0-100",
                alert.confidence
            );
            assert!(!alert.id.is_empty(), "an alert has an id");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// Arbitrary bytes as one line: the first byte picks detection or a named format.
pub fn alert_bytes(data: &[u8]) {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(line) = std::str::from_utf8(rest) else {
        return;
    };
    check(line, pick(*selector).parse(line));
    if *selector == 0 {
        // The convenience function every caller without a config uses.
        check(line, intake::parse(line, None));
    }
}

/// Strings the normalizers give meaning to, so edits reach past the type checks.
const STRINGS: &[&str] = &[
    "",
    " ",
    "high",
    "High",
    "critical",
    "informational",
    "Low",
    "medium",
    "5",
    "100",
    "101",
    "-1",
    "0.5",
    "1e400",
    "NaN",
    "2026-11-26T09:00:00Z",
    "2026-11-26T09:00:00.123456789+14:00",
    "2026-02-30T25:61:61Z",
    "9999-12-31T23:59:59-23:59",
    "1764147600",
    "1764147600000",
    "1764147600000000000",
    "-62135596800",
    "203.0.113.7",
    "::ffff:10.0.0.1",
    "[::1]",
    "10.0.0.0/8",
    "alice@example.com",
    "EXAMPLE\\alice",
    "Acme IdP",
    "3",
    "success",
    "failure",
    "Success",
    "true",
    "null",
    "{}",
    "[]",
    "d41d8cd98f00b204e9800998ecf8427e",
    "https://example.com/a?b=c",
    "xn--bcher-kva.example",
    "\u{200B}",
    "é",
    "ＡＢＣ",
    "\u{10FFFF}",
];

#[derive(Debug, Arbitrary)]
enum Text {
    Known(u8),
    Any(String),
}

impl Text {
    fn value(&self) -> String {
        match self {
            Text::Known(index) => STRINGS[*index as usize % STRINGS.len()].to_owned(),
            Text::Any(text) => text.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Key {
    /// A key some kept sample has: the format's own fields.
    Known(u16),
    Any(String),
}

#[derive(Debug, Arbitrary)]
enum FuzzValue {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    Small(u8),
    Text(Text),
    Array(Vec<FuzzValue>),
    Object(Vec<(Key, FuzzValue)>),
}

#[derive(Debug, Arbitrary)]
enum Edit {
    /// Replaces the node at this index of the document's nodes (pre-order).
    Replace(u16, FuzzValue),
    Remove(u16),
    /// Adds a key to the object at this index (or the nearest object above it).
    Insert(u16, Key, FuzzValue),
}

#[derive(Debug, Arbitrary)]
struct Structured {
    fixture: u8,
    /// Which intake reads it: 0 the format it is in, else as in [`alert_bytes`].
    reader: u8,
    edits: Vec<Edit>,
}

struct Samples {
    documents: Vec<(&'static str, Value)>,
    keys: Vec<String>,
}

fn samples() -> &'static Samples {
    static SAMPLES: OnceLock<Samples> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let documents: Vec<(&str, Value)> = FIXTURES
            .iter()
            .map(|(format, text)| {
                (
                    *format,
                    serde_json::from_str(text).expect("a kept sample is JSON"),
                )
            })
            .collect();
        let mut keys = Vec::new();
        fn collect(value: &Value, keys: &mut Vec<String>) {
            match value {
                Value::Object(map) => {
                    for (key, value) in map {
                        keys.push(key.clone());
                        collect(value, keys);
                    }
                }
                Value::Array(items) => items.iter().for_each(|item| collect(item, keys)),
                _ => {}
            }
        }
        for (_, document) in &documents {
            collect(document, &mut keys);
        }
        keys.sort();
        keys.dedup();
        Samples { documents, keys }
    })
}

impl FuzzValue {
    fn json(&self, keys: &[String]) -> Value {
        match self {
            FuzzValue::Null => Value::Null,
            FuzzValue::Bool(b) => (*b).into(),
            FuzzValue::Int(n) => (*n).into(),
            FuzzValue::Unsigned(n) => (*n).into(),
            FuzzValue::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
            FuzzValue::Small(n) => (*n).into(),
            FuzzValue::Text(text) => text.value().into(),
            FuzzValue::Array(items) => items.iter().map(|item| item.json(keys)).collect(),
            FuzzValue::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| (key.name(keys), value.json(keys)))
                    .collect(),
            ),
        }
    }
}

impl Key {
    fn name(&self, keys: &[String]) -> String {
        match self {
            Key::Known(index) => keys[*index as usize % keys.len()].clone(),
            Key::Any(text) => text.clone(),
        }
    }
}

/// The node at pre-order index `target` (counting from `*at`), as a mutable reference.
fn node<'a>(value: &'a mut Value, target: usize, at: &mut usize) -> Option<&'a mut Value> {
    if *at == target {
        return Some(value);
    }
    *at += 1;
    match value {
        Value::Object(map) => map.values_mut().find_map(|child| node(child, target, at)),
        Value::Array(items) => items.iter_mut().find_map(|child| node(child, target, at)),
        _ => None,
    }
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Object(map) => map.values().map(count).sum(),
        Value::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

/// The object holding the node at `target` (its parent), for removals.
fn remove_at(value: &mut Value, target: usize, at: &mut usize) -> bool {
    *at += 1; // `value` itself was counted by the caller
    match value {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if *at == target {
                    map.remove(&key);
                    return true;
                }
                if remove_at(map.get_mut(&key).unwrap(), target, at) {
                    return true;
                }
            }
            false
        }
        Value::Array(items) => {
            for index in 0..items.len() {
                if *at == target {
                    items.remove(index);
                    return true;
                }
                if remove_at(&mut items[index], target, at) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

/// JSON built from a kept sample's fields, edited: gets past the JSON parser and detection
/// into the normalizers' field handling.
pub fn alert_structured(data: &[u8]) {
    // Decoded here rather than by fuzz_target!'s typed closure, so the replay test decodes
    // the same bytes the same way.
    let Ok(input) = Structured::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let samples = samples();
    let (format, document) = &samples.documents[input.fixture as usize % samples.documents.len()];
    let mut document = document.clone();
    for edit in input.edits.iter().take(64) {
        let nodes = count(&document);
        match edit {
            Edit::Replace(index, value) => {
                let target = *index as usize % nodes;
                if let Some(node) = node(&mut document, target, &mut 0) {
                    *node = value.json(&samples.keys);
                }
            }
            Edit::Remove(index) => {
                let target = *index as usize % nodes;
                if target > 0 {
                    remove_at(&mut document, target, &mut 0);
                }
            }
            Edit::Insert(index, key, value) => {
                let target = *index as usize % nodes;
                let value = value.json(&samples.keys);
                match node(&mut document, target, &mut 0) {
                    Some(Value::Object(map)) => {
                        map.insert(key.name(&samples.keys), value);
                    }
                    _ => {
                        if let Value::Object(map) = &mut document {
                            map.insert(key.name(&samples.keys), value);
                        }
                    }
                }
            }
        }
    }
    if !document.is_object() {
        document = Value::Object(Map::new());
    }
    let line = document.to_string();
    let intake = match input.reader {
        0 => {
            let intakes = intakes();
            let index = ["native", "ocsf", "ecs", "splunk", "sentinel", "mapping:acme"]
                .iter()
                .position(|name| name == format)
                .expect("a fixture's format is named");
            &intakes.named[index]
        }
        n => pick(n - 1),
    };
    check(&line, intake.parse(&line));
}
