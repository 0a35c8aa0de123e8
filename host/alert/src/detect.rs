//! Which format a document is in, from the fields each format always has.
//!
//! Mappings with a `match` come first (the admin's word is the most specific), then the
//! vendor formats by their signature fields, then the native format. The vendor signatures
//! do not overlap: OCSF has a numeric `class_uid`, Elastic `kibana.alert.*`, Splunk a
//! notable's `event_id` or the webhook's `sid` and `result`, Sentinel `SystemAlertId` or an
//! incident's `properties`.

use super::mapping::Mapping;
use super::{ecs, ocsf, sentinel, splunk};
use serde_json::Value;

/// A format found for one document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Detected<'m> {
    Native,
    Ocsf,
    Ecs,
    Splunk,
    Sentinel,
    Mapping(&'m Mapping),
}

/// What each format is recognized by, for the error when none is.
pub(crate) const SIGNATURES: [&str; 5] = [
    "ocsf (class_uid and metadata)",
    "ecs (kibana.alert.rule.name or kibana.alert.uuid)",
    "splunk (a notable's rule with urgency, security_domain or orig_sid, or the webhook's sid and result)",
    "sentinel (SystemAlertId, the REST alert's properties.systemAlertId, or an incident's properties.incidentNumber)",
    "native (title, source, severity, confidence, timestamp)",
];

/// The native format's required keys; a document with most of them is taken as native, so
/// that a misspelt key is reported by the native parser rather than as an unknown format.
const NATIVE_KEYS: [&str; 6] = [
    "title",
    "source",
    "category",
    "severity",
    "confidence",
    "timestamp",
];

pub(crate) fn detect<'m>(document: &Value, mappings: &'m [Mapping]) -> Option<Detected<'m>> {
    if let Some(mapping) = mappings.iter().find(|m| m.matches(document)) {
        return Some(Detected::Mapping(mapping));
    }
    if ocsf::looks_like(document) {
        return Some(Detected::Ocsf);
    }
    if ecs::looks_like(document) {
        return Some(Detected::Ecs);
    }
    if splunk::looks_like(document) {
        return Some(Detected::Splunk);
    }
    if sentinel::looks_like(document) {
        return Some(Detected::Sentinel);
    }
    let object = document.as_object()?;
    let native_keys = NATIVE_KEYS
        .iter()
        .filter(|key| object.contains_key(**key))
        .count();
    (native_keys >= 4).then_some(Detected::Native)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Value {
        let text = std::fs::read_to_string(format!(
            "{}/../../tests/fixtures/alerts/{path}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_sample_is_detected_as_its_own_format() {
        for (path, want) in [
            ("native/password-spray.json", "Native"),
            ("ocsf/password-spray.json", "Ocsf"),
            ("ocsf/security-finding-1.0-malware.json", "Ocsf"),
            ("ecs/password-spray.json", "Ecs"),
            ("ecs/malware-flat-hit.json", "Ecs"),
            ("splunk/webhook-password-spray.json", "Splunk"),
            ("splunk/notable-brute-force.json", "Splunk"),
            ("sentinel/securityalert-password-spray.json", "Sentinel"),
            ("sentinel/incident-playbook-malware.json", "Sentinel"),
        ] {
            let found = detect(&fixture(path), &[]).map(|d| format!("{d:?}"));
            assert_eq!(found.as_deref(), Some(want), "{path}");
        }
        assert!(detect(&fixture("mapping/acme-password-spray.json"), &[]).is_none());
    }

    #[test]
    fn a_native_alert_with_a_typo_is_still_native() {
        let document = serde_json::json!({"titel": "x", "source": "s", "category": "c", "severity": "high", "confidence": 1, "timestamp": "t"});
        assert!(matches!(detect(&document, &[]), Some(Detected::Native)));
        assert!(detect(&serde_json::json!({"hello": "world"}), &[]).is_none());
        assert!(detect(&serde_json::json!([1, 2]), &[]).is_none());
    }
}
