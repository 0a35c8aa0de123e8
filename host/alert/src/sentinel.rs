//! Microsoft Sentinel: a row of the `SecurityAlert` table (as Log Analytics exports it, with
//! `Entities` and `ExtendedProperties` as JSON text), the alert resource of the Security
//! Insights REST API (`{"kind": "SecurityAlert", "properties": {"systemAlertId", ...}}`, or its
//! properties alone), and the incident a playbook's Sentinel incident trigger receives
//! (`{"object": {"properties": {...}}}`, or the incident resource itself).
//!
//! An optional field that cannot be read (`ExtendedProperties` or `Entities` that is not
//! JSON, as a truncated export leaves it) is dropped with a `dropped` annotation saying why;
//! the alert is still read.
//!
//! SecurityAlert:
//!
//! | alert field | SecurityAlert |
//! | --- | --- |
//! | id | `SystemAlertId`; required |
//! | title | `AlertName`, else `DisplayName`; required |
//! | source | `ProductName`, else `ProviderName`, else `Microsoft Sentinel` |
//! | rule | `ExtendedProperties["Analytic Rule Ids"]` (its first) and `["Analytic Rule Name"]`, else `AlertType` |
//! | category | the first of `Tactics` (comma-separated), else `uncategorized` |
//! | time | `StartTime` (the activity), else `TimeGenerated`; required |
//!
//! REST alert resource: id `systemAlertId`; title `alertDisplayName`, else `friendlyName`;
//! source `productName`, else `vendorName`; rule `alertType`; category the first of
//! `tactics`; time `startTimeUtc`, else `timeGenerated`; severity `severity`; confidence
//! `confidenceScore`, else `confidenceLevel`; custom details in `additionalData`.
//!
//! Incident: id `object.name` (the incident's GUID), else `incidentNumber`; title
//! `properties.title`; rule `relatedAnalyticRuleIds` (the first, its last path segment) and
//! the first alert's `alertDisplayName`; category `additionalData.tactics`; time
//! `firstActivityTimeUtc`, else `createdTimeUtc`; tags `labels[].labelName`; source the
//! first `additionalData.alertProductNames`.
//!
//! Severity (`AlertSeverity`, an incident's `severity`; Sentinel has no critical):
//!
//! | Sentinel | Palisade |
//! | --- | --- |
//! | Informational | informational |
//! | Low | low |
//! | Medium, absent | medium |
//! | High | high |
//!
//! Confidence: `ConfidenceScore` (a fraction 0-1, scaled to 0-100; 0-100 kept), else
//! `ConfidenceLevel` (Low 30, High 90; Unknown 50); an incident takes the highest of its
//! alerts'; else 50 (unstated).
//!
//! Entities: `Entities` (SecurityAlert) or `relatedEntities` (incident): account, host, ip,
//! url, filehash, file (its hashes), process, mailbox, mailMessage, dns; `$ref`s are
//! resolved. Sentinel entities carry no sign-in result: an analytics rule that lists
//! accounts by result does it with custom details `SucceededUsers` and `FailedUsers`, which
//! reach `ExtendedProperties["Custom Details"]` (and an incident alert's
//! `additionalData["Custom Details"]`).

use super::fields::{self, Entities, number, text, texts};
use super::intake::IntakeError;
use super::{Alert, Direction, Severity};
use serde_json::{Map, Value};
use std::collections::HashMap;

const FORMAT: &str = "sentinel";

pub(crate) fn looks_like(document: &Value) -> bool {
    document.get("SystemAlertId").is_some()
        || (document.get("AlertName").is_some() && document.get("ProviderName").is_some())
        || rest_alert(document).is_some()
        || incident(document).is_some()
}

/// The REST API's alert properties, when the document is the alert resource or its properties.
fn rest_alert(document: &Value) -> Option<&Value> {
    let properties = match document.get("properties") {
        Some(properties)
            if document
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|kind| kind.eq_ignore_ascii_case("SecurityAlert")) =>
        {
            properties
        }
        _ => document,
    };
    properties.get("systemAlertId").is_some().then_some(properties)
}

/// The incident resource, when the document is one or a trigger payload holding one.
fn incident(document: &Value) -> Option<&Value> {
    let object = document.get("object").unwrap_or(document);
    let properties = object.get("properties")?;
    (properties.get("incidentNumber").is_some()
        || object
            .get("type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("Microsoft.SecurityInsights/Incidents")))
    .then_some(object)
}

pub(crate) fn normalize(document: &Value, raw: &str) -> Result<Alert, IntakeError> {
    if let Some(incident) = incident(document) {
        return normalize_incident(incident, raw);
    }
    match rest_alert(document) {
        Some(properties) => normalize_rest_alert(properties, raw),
        None => normalize_alert(document, raw),
    }
}

fn normalize_rest_alert(properties: &Value, raw: &str) -> Result<Alert, IntakeError> {
    let id = text(properties, "systemAlertId")
        .ok_or_else(|| IntakeError::missing(FORMAT, "properties.systemAlertId"))?;
    let title = text(properties, "alertDisplayName")
        .or_else(|| text(properties, "friendlyName"))
        .ok_or_else(|| IntakeError::missing(FORMAT, "properties.alertDisplayName"))?;
    let (time_field, time) = ["startTimeUtc", "timeGenerated"]
        .into_iter()
        .find_map(|name| properties.get(name).filter(|v| !v.is_null()).map(|v| (name, v)))
        .ok_or_else(|| IntakeError::missing(FORMAT, "properties.timeGenerated"))?;
    let timestamp = fields::timestamp(time)
        .map_err(|message| IntakeError::invalid(FORMAT, format!("properties.{time_field}"), message))?;
    let mut entities = Entities::default();
    if let Some(details) = fields::path("additionalData.Custom Details").first(properties) {
        entities.sign_in_lists(&parse_embedded(details));
    }
    Ok(Alert {
        id,
        title,
        source_product: text(properties, "productName")
            .or_else(|| text(properties, "vendorName"))
            .unwrap_or_else(|| "Microsoft Sentinel".into()),
        rule_id: text(properties, "alertType"),
        rule_name: None,
        category: texts(properties, "tactics")
            .first()
            .map(|t| fields::kebab(t))
            .unwrap_or_else(|| "uncategorized".into()),
        severity: severity(text(properties, "severity").as_deref()),
        confidence: confidence(properties, "confidenceScore", "confidenceLevel"),
        timestamp,
        entities: entities.into_vec(),
        tags: Vec::new(),
        annotations: Vec::new(),
        verdict: None,
        risk_score: None,
        status: text(properties, "status").and_then(|w| fields::status_word(&w)),
        raw: raw.to_owned(),
    })
}

fn normalize_alert(row: &Value, raw: &str) -> Result<Alert, IntakeError> {
    let id = text(row, "SystemAlertId").ok_or_else(|| IntakeError::missing(FORMAT, "SystemAlertId"))?;
    let title = text(row, "AlertName")
        .or_else(|| text(row, "DisplayName"))
        .ok_or_else(|| IntakeError::missing(FORMAT, "AlertName"))?;
    let (time_field, time) = ["StartTime", "TimeGenerated"]
        .into_iter()
        .find_map(|name| row.get(name).filter(|v| !v.is_null()).map(|v| (name, v)))
        .ok_or_else(|| IntakeError::missing(FORMAT, "TimeGenerated"))?;
    let timestamp =
        fields::timestamp(time).map_err(|message| IntakeError::invalid(FORMAT, time_field, message))?;
    let mut annotations = Vec::new();
    let extended = json_field(row, "ExtendedProperties", &mut annotations);
    let rule_id = extended
        .get("Analytic Rule Ids")
        .map(fields::list)
        .and_then(|ids| ids.into_iter().next())
        .or_else(|| text(row, "AlertType"));
    let rule_name = extended.get("Analytic Rule Name").and_then(fields::scalar_text);
    let category = text(row, "Tactics")
        .and_then(|tactics| {
            tactics
                .split(',')
                .map(str::trim)
                .find(|t| !t.is_empty())
                .map(fields::kebab)
        })
        .unwrap_or_else(|| "uncategorized".into());
    let mut entities = Entities::default();
    let listed = json_field(row, "Entities", &mut annotations);
    entity_list(&listed, &mut entities);
    if let Some(details) = extended.get("Custom Details") {
        entities.sign_in_lists(&parse_embedded(details));
    }
    Ok(Alert {
        id,
        title,
        source_product: text(row, "ProductName")
            .or_else(|| text(row, "ProviderName"))
            .unwrap_or_else(|| "Microsoft Sentinel".into()),
        rule_id,
        rule_name,
        category,
        severity: severity(text(row, "AlertSeverity").as_deref()),
        confidence: confidence(row, "ConfidenceScore", "ConfidenceLevel"),
        timestamp,
        entities: entities.into_vec(),
        tags: Vec::new(),
        annotations,
        verdict: None,
        risk_score: None,
        status: text(row, "Status").and_then(|w| fields::status_word(&w)),
        raw: raw.to_owned(),
    })
}

fn normalize_incident(incident: &Value, raw: &str) -> Result<Alert, IntakeError> {
    let properties = &incident["properties"];
    let id = text(incident, "name")
        .or_else(|| text(properties, "incidentNumber").map(|n| format!("incident-{n}")))
        .ok_or_else(|| IntakeError::missing(FORMAT, "object.name"))?;
    let title = text(properties, "title").ok_or_else(|| IntakeError::missing(FORMAT, "properties.title"))?;
    let (time_field, time) = ["firstActivityTimeUtc", "createdTimeUtc"]
        .into_iter()
        .find_map(|name| properties.get(name).filter(|v| !v.is_null()).map(|v| (name, v)))
        .ok_or_else(|| IntakeError::missing(FORMAT, "properties.createdTimeUtc"))?;
    let timestamp = fields::timestamp(time)
        .map_err(|message| IntakeError::invalid(FORMAT, format!("properties.{time_field}"), message))?;
    let alerts: Vec<&Value> = properties
        .get("alerts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|alert| alert.get("properties").unwrap_or(alert))
        .collect();
    let mut entities = Entities::default();
    if let Some(related) = properties.get("relatedEntities") {
        entity_list(related, &mut entities);
    }
    for alert in &alerts {
        if let Some(details) = fields::path("additionalData.Custom Details").first(alert) {
            entities.sign_in_lists(&parse_embedded(details));
        }
    }
    let confidence = alerts
        .iter()
        .filter_map(|alert| confidence(alert, "confidenceScore", "confidenceLevel"))
        .max();
    let category = texts(properties, "additionalData.tactics")
        .first()
        .map(|t| fields::kebab(t))
        .unwrap_or_else(|| "uncategorized".into());
    Ok(Alert {
        id,
        title,
        source_product: texts(properties, "additionalData.alertProductNames")
            .into_iter()
            .next()
            .unwrap_or_else(|| "Microsoft Sentinel".into()),
        rule_id: texts(properties, "relatedAnalyticRuleIds")
            .first()
            .map(|id| id.rsplit('/').next().unwrap_or(id).to_owned()),
        rule_name: alerts.first().and_then(|alert| text(alert, "alertDisplayName")),
        category,
        severity: severity(text(properties, "severity").as_deref()),
        confidence,
        timestamp,
        entities: entities.into_vec(),
        tags: texts(properties, "labels.labelName"),
        annotations: Vec::new(),
        verdict: None,
        risk_score: None,
        status: text(properties, "status").and_then(|w| fields::status_word(&w)),
        raw: raw.to_owned(),
    })
}

fn severity(word: Option<&str>) -> Severity {
    match word.map(str::to_ascii_lowercase).as_deref() {
        Some("informational") => Severity::Informational,
        Some("low") => Severity::Low,
        Some("high") => Severity::High,
        _ => Severity::Medium,
    }
}

fn confidence(holder: &Value, score: &str, level: &str) -> Option<u8> {
    number(holder, score)
        .and_then(fields::percent)
        .or_else(|| text(holder, level).and_then(|l| fields::confidence_word(&l)))
}

/// An optional field Log Analytics exports as JSON text (or, from other tools, as JSON
/// itself). Text that is not JSON is dropped, and the alert says so: the rest of the alert
/// is still worth reading.
fn json_field(row: &Value, field: &str, annotations: &mut Vec<super::Annotation>) -> Value {
    match row.get(field) {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) if text.trim().is_empty() => Value::Null,
        Some(Value::String(text)) => serde_json::from_str(text).unwrap_or_else(|error| {
            annotations.push(super::Annotation {
                source: "palisade".into(),
                key: "dropped".into(),
                value: format!("{field}: is not JSON text: {error}"),
            });
            Value::Null
        }),
        Some(other) => other.clone(),
    }
}

fn parse_embedded(value: &Value) -> Value {
    match value {
        Value::String(text) => serde_json::from_str(text).unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// Reads Sentinel entities: a SecurityAlert's (`Type`, PascalCase properties, `$id`/`$ref`)
/// or an incident's (`kind`, camelCase `properties`).
fn entity_list(list: &Value, entities: &mut Entities) {
    let mut by_id: HashMap<String, &Map<String, Value>> = HashMap::new();
    collect_ids(list, &mut by_id);
    for item in list.as_array().into_iter().flatten() {
        let Some(object) = resolve(item, &by_id) else {
            continue;
        };
        // An incident's entity keeps its fields under `properties`.
        let (kind, props) = match (
            object.get("kind").and_then(Value::as_str),
            object.get("properties"),
        ) {
            (Some(kind), Some(Value::Object(properties))) => (kind, properties),
            _ => match object.get("Type").and_then(Value::as_str) {
                Some(kind) => (kind, object),
                None => continue,
            },
        };
        entity(kind, props, &by_id, entities);
    }
}

fn collect_ids<'a>(value: &'a Value, by_id: &mut HashMap<String, &'a Map<String, Value>>) {
    match value {
        Value::Object(object) => {
            if let Some(id) = object.get("$id").and_then(fields::scalar_text) {
                by_id.insert(id, object);
            }
            object.values().for_each(|v| collect_ids(v, by_id));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_ids(v, by_id)),
        _ => {}
    }
}

fn resolve<'a>(
    value: &'a Value,
    by_id: &HashMap<String, &'a Map<String, Value>>,
) -> Option<&'a Map<String, Value>> {
    let object = value.as_object()?;
    match object.get("$ref").and_then(fields::scalar_text) {
        Some(reference) => by_id.get(&reference).copied(),
        None => Some(object),
    }
}

/// A property by any of its spellings: SecurityAlert's PascalCase or an incident's camelCase.
fn get(props: &Map<String, Value>, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        props
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| fields::scalar_text(value))
    })
}

fn entity(
    kind: &str,
    props: &Map<String, Value>,
    by_id: &HashMap<String, &Map<String, Value>>,
    entities: &mut Entities,
) {
    match kind.to_ascii_lowercase().as_str() {
        "account" => {
            let upn_suffix = get(props, &["UPNSuffix"]);
            let Some(name) = get(props, &["Name", "AccountName"]) else {
                return;
            };
            entities
                .user(&name)
                .domain(get(props, &["NTDomain"]).or(upn_suffix.clone()))
                .email(upn_suffix.map(|suffix| format!("{name}@{suffix}")))
                .id(get(props, &["AadUserId", "Sid"]))
                .display_name(get(props, &["DisplayName", "FriendlyName"]))
                .add();
        }
        "host" => {
            let Some(hostname) = get(props, &["HostName"]) else {
                return;
            };
            let fqdn = get(props, &["DnsDomain"]).map(|domain| format!("{hostname}.{domain}"));
            entities.host(
                &hostname,
                fqdn,
                get(props, &["AzureID", "MdatpDeviceId", "OMSAgentID"]),
                get(props, &["OSFamily", "OSVersion"]),
                Vec::new(),
            );
        }
        "ip" => {
            if let Some(address) = get(props, &["Address"]) {
                entities.ip(&address, None);
            }
        }
        "url" => {
            if let Some(url) = get(props, &["Url"]) {
                entities.url(&url);
            }
        }
        "dns" | "dnsresolution" => {
            if let Some(domain) = get(props, &["DomainName"]) {
                entities.domain(&domain);
            }
        }
        "filehash" => {
            if let Some(value) = get(props, &["Value", "HashValue"]) {
                entities.hash(get(props, &["Algorithm"]).as_deref(), &value, None);
            }
        }
        "file" => {
            let name = get(props, &["Name", "FileName"]);
            for hash in props
                .get("FileHashes")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(hash) = resolve(hash, by_id)
                    && let Some(value) = get(hash, &["Value"])
                {
                    entities.hash(get(hash, &["Algorithm"]).as_deref(), &value, name.clone());
                }
            }
        }
        "process" => {
            let image = props
                .get("ImageFile")
                .and_then(|image| resolve(image, by_id))
                .and_then(|image| get(image, &["Name"]));
            let command_line = get(props, &["CommandLine"]);
            let Some(name) = image.or_else(|| {
                command_line
                    .as_deref()
                    .and_then(|c| c.split_whitespace().next())
                    .map(|first| first.rsplit(['\\', '/']).next().unwrap_or(first).to_owned())
            }) else {
                return;
            };
            let host = props
                .get("Host")
                .and_then(|host| resolve(host, by_id))
                .and_then(|host| get(host, &["HostName"]));
            let parent = props
                .get("ParentProcess")
                .and_then(|parent| resolve(parent, by_id))
                .and_then(|parent| parent.get("ImageFile"))
                .and_then(|image| resolve(image, by_id))
                .and_then(|image| get(image, &["Name"]));
            entities.process(
                &name,
                get(props, &["ProcessId"]).and_then(|pid| process_id(&pid)),
                command_line,
                host,
                parent,
            );
        }
        "mailbox" => {
            if let Some(address) = get(props, &["MailboxPrimaryAddress", "Upn"]) {
                entities.email(&address, get(props, &["DisplayName"]));
            }
        }
        "mailmessage" => {
            for field in ["Sender", "P1Sender", "P2Sender", "Recipient"] {
                if let Some(address) = get(props, &[field]) {
                    entities.email(&address, None);
                }
            }
            if let Some(ip) = get(props, &["SenderIP"]) {
                entities.ip(&ip, Some(Direction::Source));
            }
        }
        _ => {}
    }
}

/// A process id as Defender and Sentinel write it: decimal, or hexadecimal with `0x`.
fn process_id(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, SignInResult};

    const SPRAY: &str =
        include_str!("../../../tests/fixtures/alerts/sentinel/securityalert-password-spray.json");
    const INCIDENT: &str =
        include_str!("../../../tests/fixtures/alerts/sentinel/incident-playbook-malware.json");

    fn parse(text: &str) -> Result<Alert, IntakeError> {
        normalize(&serde_json::from_str(text).unwrap(), text)
    }

    #[test]
    fn a_security_alert_spray_with_custom_details() {
        let alert = parse(SPRAY).unwrap();
        assert_eq!(alert.id, "4d5e6f70-8192-4a3b-9c4d-5e6f708192a3");
        assert_eq!(alert.title, "Password spray against 3 accounts");
        assert_eq!(alert.source_product, "Azure Sentinel");
        assert_eq!(
            alert.rule_id.as_deref(),
            Some("8f3b2c1d-0e9a-4b7c-a6d5-e4f3a2b1c0d9")
        );
        assert_eq!(alert.rule_name.as_deref(), Some("Password spray"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(92));
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        let users: Vec<(&str, Option<SignInResult>, Option<&str>)> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::User {
                    name,
                    sign_in,
                    domain,
                    ..
                } => Some((name.as_str(), *sign_in, domain.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            users,
            [
                ("alice", Some(SignInResult::Success), Some("example.com")),
                ("bob", Some(SignInResult::Success), Some("example.com")),
                ("carol", Some(SignInResult::Failure), Some("example.com")),
            ]
        );
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::Ip { address, .. } if address.to_string() == "203.0.113.7"))
        );
    }

    #[test]
    fn an_incident_payload_resolves_its_entities_and_confidence() {
        let alert = parse(INCIDENT).unwrap();
        assert_eq!(alert.id, "a1b2c3d4-0000-4e5f-8a9b-0c1d2e3f4a5b");
        assert_eq!(alert.title, "Malicious executable on laptop-7");
        assert_eq!(alert.source_product, "Microsoft Defender for Endpoint");
        assert_eq!(
            alert.rule_id.as_deref(),
            Some("c0ffee00-1111-4222-8333-944445555666")
        );
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(90), "the highest of its alerts'");
        assert_eq!(alert.category, "execution");
        assert_eq!(alert.tags, ["endpoint"]);
        let has = |f: &dyn Fn(&Entity) -> bool| alert.entities.iter().any(f);
        assert!(has(
            &|e| matches!(e, Entity::Host { hostname, .. } if hostname == "laptop-7")
        ));
        assert!(has(
            &|e| matches!(e, Entity::FileHash { value, .. } if value.starts_with("9f86d0"))
        ));
        assert!(has(
            &|e| matches!(e, Entity::Process { name, pid: Some(4242), .. } if name == "invoice.exe")
        ));
        assert!(has(
            &|e| matches!(e, Entity::EmailAddress { address, .. } if address == "dave@example.com")
        ));
        assert!(has(&|e| matches!(e, Entity::User { name, .. } if name == "dave")));
    }

    #[test]
    fn entities_in_a_security_alert_resolve_refs() {
        let row = serde_json::json!({
            "SystemAlertId": "x", "AlertName": "t", "TimeGenerated": "2026-11-26T09:00:00Z",
            "Entities": "[{\"$id\":\"2\",\"Type\":\"host\",\"HostName\":\"laptop-7\"},{\"$id\":\"3\",\"Type\":\"file\",\"Name\":\"a.exe\",\"FileHashes\":[{\"$id\":\"4\",\"Type\":\"filehash\",\"Algorithm\":\"MD5\",\"Value\":\"098f6bcd4621d373cade4e832627b4f6\"}]},{\"$id\":\"5\",\"Type\":\"process\",\"ProcessId\":\"77\",\"ImageFile\":{\"$ref\":\"3\"},\"Host\":{\"$ref\":\"2\"}}]"
        });
        let alert = normalize(&row, "").unwrap();
        assert!(alert.entities.iter().any(|e| matches!(e, Entity::Process { name, pid: Some(77), host: Some(h), .. } if name == "a.exe" && h == "laptop-7")), "{:?}", alert.entities);
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::FileHash { file_name: Some(f), .. } if f == "a.exe"))
        );
        assert_eq!(alert.confidence, None, "unstated");
        assert_eq!(alert.severity, Severity::Medium);
    }

    #[test]
    fn a_truncated_optional_field_is_dropped_with_a_warning_not_the_alert() {
        let row = serde_json::json!({
            "SystemAlertId": "x", "AlertName": "t", "AlertType": "ThreatIntelligence",
            "TimeGenerated": "2026-11-26T09:00:00Z",
            "ExtendedProperties": "{\"Analytic Rule Name\": \"Spr",
            "Entities": "[{\"$id\":\"2\",\"Type\":\"ip\",\"Address\":\"203.0.113.7\"}]"
        });
        let alert = normalize(&row, "").unwrap();
        assert_eq!(alert.rule_id.as_deref(), Some("ThreatIntelligence"));
        assert_eq!(alert.entities.len(), 1, "{:?}", alert.entities);
        let dropped: Vec<&str> = alert
            .annotations
            .iter()
            .filter(|a| a.key == "dropped")
            .map(|a| a.value.as_str())
            .collect();
        assert_eq!(dropped.len(), 1, "{dropped:?}");
        assert!(
            dropped[0].starts_with("ExtendedProperties: is not JSON text"),
            "{dropped:?}"
        );
        let row = serde_json::json!({"SystemAlertId": "x", "TimeGenerated": "2026-11-26T09:00:00Z"});
        assert!(
            normalize(&row, "")
                .unwrap_err()
                .to_string()
                .contains("`AlertName`"),
            "a required field is still required"
        );
    }

    #[test]
    fn the_rest_apis_alert_resource_is_read() {
        // Shaped as GET .../providers/Microsoft.SecurityInsights/entities/{id} returns it.
        let resource = serde_json::json!({
            "id": "/subscriptions/d0cfe6b2-9ac0-4464-9919-dccaee2e48c0/resourceGroups/myRg/providers/Microsoft.OperationalInsights/workspaces/myWorkspace/providers/Microsoft.SecurityInsights/Entities/baa8a239-6fde-4ab7-a093-d09f7b75c58c",
            "name": "baa8a239-6fde-4ab7-a093-d09f7b75c58c",
            "type": "Microsoft.SecurityInsights/Entities",
            "kind": "SecurityAlert",
            "properties": {
                "systemAlertId": "baa8a239-6fde-4ab7-a093-d09f7b75c58c",
                "alertDisplayName": "Password spray against 3 accounts",
                "alertType": "PasswordSpray",
                "productName": "Azure Security Center",
                "severity": "High",
                "confidenceLevel": "High",
                "status": "New",
                "tactics": ["CredentialAccess"],
                "startTimeUtc": "2026-11-26T09:12:00Z",
                "timeGenerated": "2026-11-26T09:20:00Z",
                "friendlyName": "Password spray"
            }
        });
        assert!(looks_like(&resource));
        let alert = normalize(&resource, "").unwrap();
        assert_eq!(alert.id, "baa8a239-6fde-4ab7-a093-d09f7b75c58c");
        assert_eq!(alert.title, "Password spray against 3 accounts");
        assert_eq!(alert.source_product, "Azure Security Center");
        assert_eq!(alert.rule_id.as_deref(), Some("PasswordSpray"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(90));
        let properties_alone = resource["properties"].clone();
        assert!(looks_like(&properties_alone));
        assert_eq!(normalize(&properties_alone, "").unwrap().id, alert.id);
    }

    #[test]
    fn hexadecimal_process_ids_are_read() {
        assert_eq!(process_id("0x1a2b"), Some(0x1a2b));
        assert_eq!(process_id("6700"), Some(6700));
        assert_eq!(process_id("0xzz"), None);
    }
}
