//! OCSF 1.x findings: Detection Finding (`class_uid` 2004), Security Finding (2001) and
//! Compliance Finding (2003, whose check's `compliance.status` gives its status: a passed
//! check is read, and not responded to).
//!
//! | alert field | OCSF |
//! | --- | --- |
//! | id | `finding_info.uid` (1.0 Security Finding: `finding.uid`), required |
//! | title | `finding_info.title` (`finding.title`), required |
//! | source | `metadata.product.name`, else `metadata.product.vendor_name`, else `OCSF` |
//! | rule | `finding_info.analytic.uid` / `.name` (`analytic` in 1.0) |
//! | category | the first `finding_info.attacks[].tactic.name`, else the first `finding_info.types[]`, else the class: `detection-finding` / `security-finding` |
//! | time | `time_dt` (an RFC 3339 time), else `time` (documented in milliseconds since 1970; seconds, as several producers send, are recognised by their size), else `finding_info.created_time`; required |
//! | tags | `metadata.labels[]` |
//!
//! Severity (`severity_id`):
//!
//! | OCSF | Palisade |
//! | --- | --- |
//! | 1 Informational | informational |
//! | 2 Low | low |
//! | 3 Medium | medium |
//! | 4 High | high |
//! | 5 Critical, 6 Fatal | critical |
//! | 0 Unknown, 99 Other, absent | the `severity` caption if it names one, else medium |
//!
//! Confidence: `confidence_score` (0-100) as it is; else `confidence_id` 1 Low 30, 2 Medium 60,
//! 3 High 90 (0 Unknown and 99 Other: the `confidence` caption if it names one); else the
//! 1.0 integer `confidence` (0-100); else 50 (unstated).
//!
//! Entities: `actor.user`, `actor.process`, `src_endpoint` (its IP is the source),
//! `dst_endpoint` (destination), `device`, a top-level `process` and `file`, `observables[]` by
//! `type_id` (1 hostname: a host when it names a device or an endpoint, else a domain, such as
//! a DNS query's; 2 IP, with the direction of the endpoint it names,
//! 4 user name, 21 user, 5 email (an account, with its email, when the observable's `name` is
//! an account's attribute such as `actor.user.email_addr`), 6 URL, 8 hash, 9 process name),
//! every `resources[]` `owner`, and every `evidences[]` artifact's `user`, `actor`,
//! endpoints, `device`, `process`, `file` hashes, `url`, `email`.
//! An evidence artifact that holds a `user` and a `status_id` (1 Success, 2 Failure) or a
//! `status`, in the artifact or its `data`, says how that user's sign-in went: the
//! Authentication class's outcome, carried over by a producer that put each sign-in of the
//! detection in its evidence. `unmapped.succeeded_users` / `failed_users` are read too
//! (see [`super::fields::Entities::sign_in_lists`]).

use super::fields::{self, Entities, number, text, texts};
use super::intake::IntakeError;
use super::{Alert, Direction, Severity, SignInResult, Status};
use serde_json::Value;

const FORMAT: &str = "ocsf";

/// The finding classes read.
pub const DETECTION_FINDING: u64 = 2004;
pub const SECURITY_FINDING: u64 = 2001;
pub const COMPLIANCE_FINDING: u64 = 2003;

/// Whether the document is an OCSF event (it names its class), whichever the class.
pub(crate) fn looks_like(document: &Value) -> bool {
    document.get("class_uid").is_some_and(Value::is_u64)
        && (document.get("metadata").is_some() || document.get("category_uid").is_some())
}

pub(crate) fn normalize(document: &Value, raw: &str) -> Result<Alert, IntakeError> {
    let class = document.get("class_uid").and_then(Value::as_u64);
    match class {
        Some(DETECTION_FINDING | SECURITY_FINDING | COMPLIANCE_FINDING) => {}
        Some(other) => {
            return Err(IntakeError::invalid(
                FORMAT,
                "class_uid",
                format!(
                    "{other} is not a finding Palisade reads ({DETECTION_FINDING} Detection Finding, {SECURITY_FINDING} Security Finding, {COMPLIANCE_FINDING} Compliance Finding)"
                ),
            ));
        }
        None => return Err(IntakeError::missing(FORMAT, "class_uid")),
    }
    // 1.0 Security Findings call the object `finding`; 1.1 and later `finding_info`.
    let info = ["finding_info", "finding"]
        .into_iter()
        .find_map(|key| document.get(key))
        .ok_or_else(|| IntakeError::missing(FORMAT, "finding_info"))?;
    let id = text(info, "uid").ok_or_else(|| IntakeError::missing(FORMAT, "finding_info.uid"))?;
    let title = text(info, "title").ok_or_else(|| IntakeError::missing(FORMAT, "finding_info.title"))?;
    let analytic = info.get("analytic").or_else(|| document.get("analytic"));
    let rule_id = analytic.and_then(|a| text(a, "uid"));
    let rule_name = analytic.and_then(|a| text(a, "name"));
    let source_product = text(document, "metadata.product.name")
        .or_else(|| text(document, "metadata.product.vendor_name"))
        .unwrap_or_else(|| "OCSF".into());
    let category = texts(info, "attacks.tactic.name")
        .first()
        .or(texts(info, "types").first())
        .map(|c| fields::kebab(c))
        .unwrap_or_else(|| {
            if class == Some(DETECTION_FINDING) {
                "detection-finding".into()
            } else {
                "security-finding".into()
            }
        });
    let timestamp = timestamp(document, info)?;
    Ok(Alert {
        id,
        title,
        source_product,
        rule_id,
        rule_name,
        category,
        severity: severity(document),
        confidence: confidence(document),
        timestamp,
        entities: entities(document),
        tags: texts(document, "metadata.labels"),
        annotations: Vec::new(),
        verdict: None,
        risk_score: None,
        status: status(document),
        raw: raw.to_owned(),
    })
}

fn timestamp(document: &Value, info: &Value) -> Result<String, IntakeError> {
    let candidates = [
        // `time_dt` says what it means; `time`'s unit is the producer's guess at the schema.
        ("time_dt", document.get("time_dt")),
        ("time", document.get("time")),
        ("finding_info.created_time", info.get("created_time")),
    ];
    let (field, value) = candidates
        .into_iter()
        .find_map(|(field, value)| value.filter(|v| !v.is_null()).map(|v| (field, v)))
        .ok_or_else(|| IntakeError::missing(FORMAT, "time"))?;
    fields::timestamp(value).map_err(|message| IntakeError::invalid(FORMAT, field, message))
}

/// A compliance finding's check decides (passed, or failed: something to fix); else the
/// finding's own status.
fn status(document: &Value) -> Option<Status> {
    let compliance = match number(document, "compliance.status_id").map(|n| n as i64) {
        Some(1) => Some(Status::Passed),
        Some(2 | 3) => Some(Status::Failed),
        _ => text(document, "compliance.status").and_then(|w| fields::status_word(&w)),
    };
    compliance.or_else(|| match number(document, "status_id").map(|n| n as i64) {
        Some(1) => Some(Status::New),
        Some(2) => Some(Status::InProgress),
        Some(3) => Some(Status::Suppressed),
        Some(4) => Some(Status::Resolved),
        Some(5 | 6) => Some(Status::Closed),
        _ => text(document, "status").and_then(|w| fields::status_word(&w)),
    })
}

fn severity(document: &Value) -> Severity {
    match number(document, "severity_id").map(|n| n as i64) {
        Some(1) => Severity::Informational,
        Some(2) => Severity::Low,
        Some(3) => Severity::Medium,
        Some(4) => Severity::High,
        Some(5 | 6) => Severity::Critical,
        _ => text(document, "severity")
            .and_then(|caption| severity_word(&caption))
            .unwrap_or(Severity::Medium),
    }
}

fn severity_word(word: &str) -> Option<Severity> {
    Some(match word.to_ascii_lowercase().as_str() {
        "informational" | "info" => Severity::Informational,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" | "fatal" => Severity::Critical,
        _ => return None,
    })
}

fn confidence(document: &Value) -> Option<u8> {
    if let Some(score) = number(document, "confidence_score") {
        return Some(score.clamp(0.0, 100.0).round() as u8);
    }
    match number(document, "confidence_id").map(|n| n as i64) {
        Some(1) => return Some(30),
        Some(2) => return Some(60),
        Some(3) => return Some(90),
        Some(_) => {
            if let Some(word) = text(document, "confidence").and_then(|c| fields::confidence_word(&c)) {
                return Some(word);
            }
        }
        None => {}
    }
    // OCSF 1.0: `confidence` was the 0-100 integer that 1.1 renamed `confidence_score`.
    match document.get("confidence") {
        Some(Value::Number(n)) => n.as_f64().map(|n| n.clamp(0.0, 100.0) as u8),
        Some(Value::String(word)) => fields::confidence_word(word),
        _ => None,
    }
}

fn entities(document: &Value) -> Vec<super::Entity> {
    let mut entities = Entities::default();
    if let Some(actor) = document.get("actor") {
        actor_entities(actor, &mut entities);
    }
    endpoint(
        document.get("src_endpoint"),
        Some(Direction::Source),
        &mut entities,
    );
    endpoint(
        document.get("dst_endpoint"),
        Some(Direction::Destination),
        &mut entities,
    );
    device(document.get("device"), &mut entities);
    // Process Activity and detection findings name the process and file at the top level.
    if let Some(process) = document.get("process") {
        process_entity(process, None, &mut entities);
    }
    if let Some(file) = document.get("file") {
        file_entities(file, &mut entities);
    }
    for evidence in document
        .get("evidences")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let sign_in = evidence_sign_in(evidence);
        if let Some(user) = evidence.get("user") {
            user_entity(user, sign_in, &mut entities);
        }
        if let Some(actor) = evidence.get("actor") {
            if let Some(user) = actor.get("user") {
                user_entity(user, sign_in, &mut entities);
            }
            actor_entities(actor, &mut entities);
        }
        endpoint(
            evidence.get("src_endpoint"),
            Some(Direction::Source),
            &mut entities,
        );
        endpoint(
            evidence.get("dst_endpoint"),
            Some(Direction::Destination),
            &mut entities,
        );
        device(evidence.get("device"), &mut entities);
        if let Some(process) = evidence.get("process") {
            process_entity(process, None, &mut entities);
        }
        if let Some(file) = evidence.get("file") {
            file_entities(file, &mut entities);
        }
        if let Some(url) = text(evidence, "url.url_string") {
            entities.url(&url);
        }
        for address in texts(evidence, "email.from")
            .into_iter()
            .chain(texts(evidence, "email.to"))
        {
            entities.email(&address, None);
        }
    }
    // A finding's resources (class 2001 and others) name their accounts as owners.
    for resource in document
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(owner) = resource.get("owner") {
            user_entity(owner, None, &mut entities);
        }
    }
    for observable in document
        .get("observables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        observable_entity(observable, &mut entities);
    }
    if let Some(unmapped) = document.get("unmapped") {
        entities.sign_in_lists(unmapped);
    }
    entities.into_vec()
}

/// Whether an observable's `name` (the attribute path it was taken from) is an account's.
fn names_an_account(name: &str) -> bool {
    name.split(['.', '['])
        .any(|part| matches!(part, "user" | "owner" | "actor" | "account"))
}

fn actor_entities(actor: &Value, entities: &mut Entities) {
    if let Some(user) = actor.get("user") {
        user_entity(user, None, entities);
    }
    if let Some(process) = actor.get("process") {
        process_entity(process, None, entities);
    }
}

fn user_entity(user: &Value, sign_in: Option<SignInResult>, entities: &mut Entities) {
    let Some(name) = text(user, "name").or_else(|| text(user, "email_addr")) else {
        return;
    };
    entities
        .user(&name)
        .domain(text(user, "domain"))
        .email(text(user, "email_addr"))
        .id(text(user, "uid"))
        .display_name(text(user, "full_name"))
        .sign_in(sign_in)
        .add();
}

/// The outcome of the sign-in an evidence artifact records (see the module docs).
fn evidence_sign_in(evidence: &Value) -> Option<SignInResult> {
    [evidence, evidence.get("data").unwrap_or(&Value::Null)]
        .into_iter()
        .find_map(|holder| match number(holder, "status_id").map(|n| n as i64) {
            Some(1) => Some(SignInResult::Success),
            Some(2) => Some(SignInResult::Failure),
            _ => text(holder, "status").and_then(|s| fields::sign_in_word(&s)),
        })
}

fn endpoint(endpoint: Option<&Value>, direction: Option<Direction>, entities: &mut Entities) {
    let Some(endpoint) = endpoint else {
        return;
    };
    if let Some(ip) = text(endpoint, "ip") {
        entities.ip(&ip, direction);
    }
    if let Some(hostname) = text(endpoint, "hostname") {
        entities.host(
            &hostname,
            text(endpoint, "domain"),
            text(endpoint, "uid"),
            None,
            Vec::new(),
        );
    }
    if let Some(domain) = text(endpoint, "domain") {
        entities.domain(&domain);
    }
}

fn device(device: Option<&Value>, entities: &mut Entities) {
    let Some(device) = device else {
        return;
    };
    let Some(hostname) = text(device, "hostname").or_else(|| text(device, "name")) else {
        return;
    };
    let fqdn = text(device, "domain").map(|domain| format!("{hostname}.{domain}"));
    entities.host(
        &hostname,
        fqdn,
        text(device, "uid"),
        text(device, "os.name"),
        texts(device, "ip"),
    );
}

fn process_entity(process: &Value, host: Option<String>, entities: &mut Entities) {
    let Some(name) = text(process, "name").or_else(|| text(process, "file.name")) else {
        return;
    };
    entities.process(
        &name,
        number(process, "pid").map(|pid| pid as u32),
        text(process, "cmd_line"),
        host,
        text(process, "parent_process.name"),
    );
    if let Some(file) = process.get("file") {
        file_entities(file, entities);
    }
}

/// OCSF `file.hashes[]`: fingerprints with `algorithm_id` 1 MD5, 2 SHA-1, 3 SHA-256.
fn file_entities(file: &Value, entities: &mut Entities) {
    let name = text(file, "name");
    for hash in file.get("hashes").and_then(Value::as_array).into_iter().flatten() {
        let algorithm = match number(hash, "algorithm_id").map(|n| n as i64) {
            Some(1) => Some("md5"),
            Some(2) => Some("sha1"),
            Some(3) => Some("sha256"),
            _ => None,
        };
        if let Some(value) = text(hash, "value") {
            entities.hash(algorithm, &value, name.clone());
        }
    }
}

fn observable_entity(observable: &Value, entities: &mut Entities) {
    let Some(value) = text(observable, "value") else {
        return;
    };
    let name = text(observable, "name").unwrap_or_default();
    // `src_endpoint.ip`, `evidences[0].src_endpoint.ip`: the endpoint says the direction.
    let segments: Vec<&str> = name
        .split('.')
        .map(|s| s.split('[').next().unwrap_or(s))
        .collect();
    let direction = if segments.contains(&"src_endpoint") {
        Some(Direction::Source)
    } else if segments.contains(&"dst_endpoint") {
        Some(Direction::Destination)
    } else {
        None
    };
    // A hostname is a machine when it names a device or an endpoint; elsewhere (a DNS query,
    // a URL) it is a name the machine looked up or contacted: a domain, never a host to isolate.
    let names_a_machine = name.is_empty()
        || segments
            .iter()
            .any(|s| matches!(*s, "device" | "src_endpoint" | "dst_endpoint" | "agent"));
    match number(observable, "type_id").map(|n| n as i64) {
        Some(1) if names_a_machine => entities.host(&value, None, None, None, Vec::new()),
        Some(1) => entities.domain(&value),
        Some(2) => {
            entities.ip(&value, direction);
        }
        // 4 User Name, 21 User (OCSF 1.1).
        Some(4 | 21) => entities.user(&value).add(),
        // An address an observable names as an account's (`actor.user.email_addr`,
        // `resources[0].owner.email_addr`) is that account, as a Security Finding
        // (class 2001) names its users; any other is a mail address.
        Some(5) if names_an_account(&name) => entities.user(&value).email(Some(value.clone())).add(),
        Some(5) => entities.email(&value, None),
        Some(6) => entities.url(&value),
        Some(8) => entities.hash(None, &value, None),
        Some(9) => entities.process(&value, None, None, None, None),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Entity;

    const SPRAY: &str = include_str!("../../../tests/fixtures/alerts/ocsf/password-spray.json");
    const MALWARE: &str =
        include_str!("../../../tests/fixtures/alerts/ocsf/security-finding-1.0-malware.json");

    fn parse(text: &str) -> Result<Alert, IntakeError> {
        let document: Value = serde_json::from_str(text).unwrap();
        normalize(&document, text)
    }

    #[test]
    fn a_detection_finding_spray_carries_its_sign_ins_and_source() {
        let alert = parse(SPRAY).unwrap();
        assert_eq!(alert.id, "7c3f0e9a-5b2d-4f61-9a57-2f4c1d0e8b11");
        assert_eq!(alert.title, "Password spray against 3 accounts");
        assert_eq!(alert.source_product, "Okta Identity Engine");
        assert_eq!(alert.rule_id.as_deref(), Some("okta-spray-01"));
        assert_eq!(alert.rule_name.as_deref(), Some("Password spray"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(92));
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(alert.raw, SPRAY);
        let users: Vec<(&str, Option<SignInResult>)> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::User { name, sign_in, .. } => Some((name.as_str(), *sign_in)),
                _ => None,
            })
            .collect();
        assert_eq!(
            users,
            [
                ("alice", Some(SignInResult::Success)),
                ("bob", Some(SignInResult::Success)),
                ("carol", Some(SignInResult::Failure)),
            ]
        );
        let ips: Vec<&Entity> = alert
            .entities
            .iter()
            .filter(|e| matches!(e, Entity::Ip { .. }))
            .collect();
        assert_eq!(
            ips,
            [&Entity::Ip {
                address: "203.0.113.7".parse().unwrap(),
                direction: Some(Direction::Source)
            }],
            "the address named three times is one entity"
        );
    }

    #[test]
    fn a_1_0_security_finding_reads_finding_and_its_entities() {
        let alert = parse(MALWARE).unwrap();
        assert_eq!(alert.id, "sf-20261126-0042");
        assert_eq!(alert.severity, Severity::Critical, "6 Fatal is critical");
        assert_eq!(alert.confidence, Some(85), "the 1.0 integer confidence");
        assert_eq!(alert.category, "execution");
        assert!(alert.entities.iter().any(|e| matches!(e, Entity::Host { hostname, os: Some(os), .. } if hostname == "laptop-7" && os == "Windows")));
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::Process { name, pid: Some(4242), .. } if name == "invoice.exe"))
        );
        assert!(alert.entities.iter().any(|e| matches!(
            e,
            Entity::FileHash {
                algorithm: crate::HashAlgorithm::Sha256,
                ..
            }
        )));
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::Url { url } if url.starts_with("https://files.example.net/")))
        );
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::User { name, .. } if name == "dave"))
        );
    }

    /// A Security Finding (class 2001) as cloud posture tools send it: its accounts only in
    /// observables and resources (https://schema.ocsf.io/1.1.0/classes/security_finding,
    /// https://schema.ocsf.io/1.1.0/objects/observable).
    #[test]
    fn a_security_findings_accounts_in_observables_and_resources_are_users() {
        let finding = r#"{"class_uid":2001,"category_uid":2,"activity_id":1,"type_uid":200101,
            "time":1795687200000,"severity_id":4,"confidence":90,"state_id":1,
            "metadata":{"version":"1.1.0","product":{"name":"Security Hub","vendor_name":"AWS"}},
            "finding":{"uid":"arn:aws:securityhub:finding/1","title":"Access key used from a TOR exit node","types":["Credential Access"]},
            "resources":[{"type":"AwsIamUser","uid":"arn:aws:iam::123456789012:user/ops-admin",
                          "owner":{"name":"ops-admin","email_addr":"ops-admin@example.com","uid":"AIDAEXAMPLE"}}],
            "observables":[
              {"name":"actor.user.email_addr","type_id":5,"value":"dana@example.com"},
              {"name":"actor.user.name","type_id":4,"value":"dana"},
              {"name":"email.from","type_id":5,"value":"phisher@evil.example"}
            ]}"#;
        let alert = parse(finding).unwrap();
        let users: Vec<(&str, Option<&str>)> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::User { name, email, .. } => Some((name.as_str(), email.as_deref())),
                _ => None,
            })
            .collect();
        assert!(
            users.contains(&("ops-admin", Some("ops-admin@example.com"))),
            "{users:?}"
        );
        assert!(
            users.contains(&("dana@example.com", Some("dana@example.com"))),
            "{users:?}"
        );
        assert!(users.iter().any(|(name, _)| *name == "dana"), "{users:?}");
        assert!(
            alert.entities.iter().any(
                |e| matches!(e, Entity::EmailAddress { address, .. } if address == "phisher@evil.example")
            ),
            "a sender stays an address"
        );
        assert!(
            !alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::EmailAddress { address, .. } if address == "dana@example.com")),
            "an account's address is the account"
        );
    }

    #[test]
    fn scales_map_as_documented() {
        let with = |extra: &str| {
            let mut document: Value = serde_json::from_str(SPRAY).unwrap();
            let object = document.as_object_mut().unwrap();
            for key in [
                "severity_id",
                "severity",
                "confidence_score",
                "confidence_id",
                "confidence",
            ] {
                object.remove(key);
            }
            let extra: Value = serde_json::from_str(&format!("{{{extra}}}")).unwrap();
            object.extend(extra.as_object().unwrap().clone());
            normalize(&document, SPRAY).unwrap()
        };
        for (id, want) in [
            (1, Severity::Informational),
            (2, Severity::Low),
            (3, Severity::Medium),
            (4, Severity::High),
            (5, Severity::Critical),
            (6, Severity::Critical),
            (0, Severity::Medium),
            (99, Severity::Medium),
        ] {
            assert_eq!(with(&format!("\"severity_id\":{id}")).severity, want, "{id}");
        }
        assert_eq!(
            with("\"severity_id\":99,\"severity\":\"Low\"").severity,
            Severity::Low
        );
        assert_eq!(with("\"confidence_id\":1").confidence, Some(30));
        assert_eq!(with("\"confidence_id\":2").confidence, Some(60));
        assert_eq!(with("\"confidence_id\":3").confidence, Some(90));
        assert_eq!(with("\"confidence_id\":0").confidence, None, "unknown");
        assert_eq!(with("\"severity_id\":4").confidence, None, "unstated");
    }

    #[test]
    fn missing_and_wrong_fields_are_named() {
        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["finding_info"].as_object_mut().unwrap().remove("uid");
        let error = normalize(&document, SPRAY).unwrap_err().to_string();
        assert!(error.contains("`finding_info.uid`"), "{error}");

        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["class_uid"] = 3002.into();
        let error = normalize(&document, SPRAY).unwrap_err().to_string();
        assert!(error.contains("3002 is not a finding"), "{error}");

        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["time"] = "last tuesday".into();
        document.as_object_mut().unwrap().remove("time_dt");
        let error = normalize(&document, SPRAY).unwrap_err().to_string();
        assert!(error.contains("`time`"), "{error}");
    }

    #[test]
    fn time_in_seconds_is_read_as_seconds_and_time_dt_wins() {
        // A producer that put epoch seconds in `time`, beside `time_dt` saying so.
        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["time"] = 1_682_347_463u64.into();
        document["time_dt"] = "2023-04-24T14:44:23.218Z".into();
        let alert = normalize(&document, SPRAY).unwrap();
        assert_eq!(alert.timestamp, "2023-04-24T14:44:23.218Z");
        document.as_object_mut().unwrap().remove("time_dt");
        let alert = normalize(&document, SPRAY).unwrap();
        assert_eq!(alert.timestamp, "2023-04-24T14:44:23Z", "not January 1970");
    }

    #[test]
    fn a_sinkholed_name_is_a_domain_not_a_host_and_endpoints_give_directions() {
        let mut document: Value = serde_json::from_str(SPRAY).unwrap();
        document["observables"] = serde_json::json!([
            {"name": "query.hostname", "type_id": 1, "type": "Hostname", "value": "update-check.evil.example"},
            {"name": "device.hostname", "type_id": 1, "type": "Hostname", "value": "fin-ws-07"},
            {"name": "evidences[0].dst_endpoint.ip", "type_id": 2, "type": "IP Address", "value": "198.51.100.53"}
        ]);
        document["process"] =
            serde_json::json!({"name": "beacon.exe", "pid": 4242, "cmd_line": "beacon.exe -q"});
        let alert = normalize(&document, SPRAY).unwrap();
        let has = |want: &dyn Fn(&Entity) -> bool| alert.entities.iter().any(want);
        assert!(has(
            &|e| matches!(e, Entity::Domain { name } if name == "update-check.evil.example")
        ));
        assert!(!has(
            &|e| matches!(e, Entity::Host { hostname, .. } if hostname == "update-check.evil.example")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Host { hostname, .. } if hostname == "fin-ws-07")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Ip { address, direction: Some(Direction::Destination) } if address.to_string() == "198.51.100.53")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Process { name, pid: Some(4242), .. } if name == "beacon.exe")
        ));
    }
}
