//! Resolve, then decide: a destructive operation is bound to the vendor's one record its
//! target names, and the policy decides on that record under every name it has, never on the
//! string a plugin passed.

use crate::{ActionRequest, CallContext, CapabilitySet, ConnectorError, Subject};
use palisade_policy::{Decision, Policy, Proposal, Target};

/// Resolve, then decide: binds `request` to the record its target resolves to (so it is acted
/// on and nothing else) and returns the policy's decision on that record under every name it
/// has, never on the string a plugin passed. The breaker is not consulted here.
///
/// Fails closed: a target that cannot be resolved to exactly one record (not found, ambiguous,
/// the lookup failed) is held or refused as the policy says; a name with a control character,
/// or an address that is none, is refused. `Err` only when no connector serves the capability,
/// saying so.
pub async fn resolve_and_decide(
    request: &mut ActionRequest,
    connectors: &CapabilitySet,
    cx: &CallContext,
    policy: &Policy,
    confidence: Option<u8>,
) -> Result<Decision, String> {
    match request.resolve(connectors, cx).await {
        Ok(subject) => {
            request.bind(&subject);
            Ok(policy.decide(&Proposal {
                operation: request.operation(),
                target: &policy_target(subject),
                confidence,
            }))
        }
        Err(ConnectorError::InvalidInput(reason)) => Ok(Decision::Refuse(reason)),
        Err(ConnectorError::Unsupported(reason)) => Err(reason),
        Err(error) => Ok(policy.unresolved(format!(
            "cannot resolve {} {:?} to one record: {error}",
            request.operation().capability,
            request.target()
        ))),
    }
}

/// Binds a held operation to its record at approval time, when it was held because its
/// target could not be resolved. The approver saw a name and a reason, not a record, so a
/// record that now turns out to be protected is not acted on: `Err` says why, and the
/// operation stays for denial. Already bound operations are left as they were approved.
pub async fn bind_for_approval(
    request: &mut ActionRequest,
    connectors: &CapabilitySet,
    cx: &CallContext,
    policy: &Policy,
) -> Result<(), String> {
    if request.resolved().is_some() || matches!(request, ActionRequest::Network { .. }) {
        return Ok(());
    }
    let subject = request
        .resolve(connectors, cx)
        .await
        .map_err(|error| format!("cannot resolve {:?} to one record: {error}", request.target()))?;
    request.bind(&subject);
    match policy.protected.protects(&policy_target(subject)) {
        Some(reason) => Err(format!(
            "{} now resolves to a protected record ({reason}); it was not approved as such",
            shown_target(request)
        )),
        None => Ok(()),
    }
}

/// What the policy decides on: the vendor's record with every name it answers to.
fn policy_target(subject: Subject) -> Target {
    match subject {
        Subject::Account(account) => {
            let mut names = account.names();
            names.extend(account.display_name);
            Target::Account {
                id: account.id,
                names,
                groups: account.groups,
            }
        }
        Subject::Device(device) => Target::Device {
            names: device.names(),
            id: device.id,
        },
        Subject::Network(canonical) => match palisade_core::canonical::address::parse(&canonical) {
            Ok(net) => Target::Address(net),
            Err(_) => Target::Domain(canonical),
        },
    }
}

/// The target as records and people see it: the name the plugin passed, and the record it
/// resolved to where that is another name.
pub fn shown_target(request: &ActionRequest) -> String {
    match request.resolved() {
        Some(resolved) if !crate::resolve::same_name(&resolved.name, request.target()) => {
            format!("{} ({}, id {})", request.target(), resolved.name, resolved.id)
        }
        _ => request.target().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::{EndpointAction, embedded::Inventory};
    use crate::identity::{IdentityAction, embedded::Directory};
    use crate::network::NetworkAction;
    use crate::outbox::Outbox;
    use palisade_policy::{Protected, Unresolved, Unstated};
    use std::sync::Arc;

    const DIRECTORY: &str = r#"{"users": [
        {"id": "00u0ceo", "name": "ceo@example.com", "email": "ceo@example.com", "display_name": "Dana Ortiz",
         "domain": "EXAMPLE", "aliases": ["dortiz", "dana.ortiz@example.com"]},
        {"id": "00u1alice", "name": "alice@example.com", "email": "alice@example.com", "domain": "EXAMPLE"},
        {"id": "00u7amy", "name": "amy@example.com", "aliases": ["shared"]},
        {"id": "00u8andy", "name": "andy@example.com", "aliases": ["shared"]}]}"#;
    const INVENTORY: &str = r#"{"hosts": [
        {"id": "d-0001", "hostname": "DC01", "fqdn": "dc01.corp.example.com", "ip_addresses": ["10.0.0.10"]},
        {"id": "d-0007", "hostname": "fin-ws-07", "fqdn": "fin-ws-07.corp.example.com", "ip_addresses": ["10.1.4.7"]}]}"#;

    struct World {
        connectors: CapabilitySet,
        outbox: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let directory = dir.path().join("directory.json");
        let inventory = dir.path().join("inventory.json");
        std::fs::write(&directory, DIRECTORY).unwrap();
        std::fs::write(&inventory, INVENTORY).unwrap();
        let outbox_path = dir.path().join("outbox.jsonl");
        let outbox = Arc::new(Outbox::open(&outbox_path).unwrap());
        World {
            connectors: CapabilitySet {
                identity: Some(Arc::new(
                    Directory::load(Some(&directory), outbox.clone()).unwrap(),
                )),
                endpoint: Some(Arc::new(Inventory::load(Some(&inventory), outbox).unwrap())),
                ..CapabilitySet::default()
            },
            outbox: outbox_path,
            _dir: dir,
        }
    }

    fn policy() -> Policy {
        Policy {
            default_min_confidence: 60,
            protected: Protected::new(
                &["ceo@example.com".into()],
                &[],
                &["dc*".into()],
                &["10.0.0.0/8".parse().unwrap()],
                &["example.com".into()],
            )
            .unwrap(),
            ..Policy::default()
        }
    }

    fn revoke(user: &str) -> ActionRequest {
        ActionRequest::Identity {
            action: IdentityAction::RevokeSessions,
            user: user.into(),
            reason: "spray".into(),
            resolved: None,
        }
    }

    fn isolate(host: &str) -> ActionRequest {
        ActionRequest::Endpoint {
            action: EndpointAction::IsolateHost,
            hostname: host.into(),
            reason: "malware".into(),
            resolved: None,
        }
    }

    async fn decide(
        world: &World,
        policy: &Policy,
        request: &mut ActionRequest,
        confidence: Option<u8>,
    ) -> Decision {
        let cx = CallContext::new("p", "a-1");
        resolve_and_decide(request, &world.connectors, &cx, policy, confidence)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn every_name_of_a_protected_account_is_held_and_the_hold_is_bound_to_its_id() {
        let world = world();
        for alias in [
            "ceo@example.com",
            "CEO@Example.com",
            "ceo",
            "EXAMPLE\\ceo",
            "example\\CEO",
            "ceo@EXAMPLE",
            "00u0ceo",
            "dortiz",
            "dana.ortiz@example.com",
            " ceo@example.com. ",
            "ｃｅｏ@example.com",
        ] {
            let mut request = revoke(alias);
            let decision = decide(&world, &policy(), &mut request, Some(99)).await;
            assert!(
                matches!(&decision, Decision::Hold(reason) if reason.contains("ceo@example.com (id 00u0ceo) is protected")),
                "{alias:?}: {decision:?}"
            );
            assert_eq!(
                request.resolved().map(|r| r.id.as_str()),
                Some("00u0ceo"),
                "{alias:?}"
            );
        }
        assert_eq!(std::fs::read_to_string(&world.outbox).unwrap_or_default(), "");
    }

    #[tokio::test]
    async fn look_alikes_control_characters_and_shared_names_are_never_executed() {
        let world = world();
        for unknown in ["ce0@example.com", "ceo@example.co", "ceo2", "c e o"] {
            let decision = decide(&world, &policy(), &mut revoke(unknown), Some(99)).await;
            assert!(
                matches!(&decision, Decision::Hold(reason) if reason.contains("not found")),
                "{unknown:?}: {decision:?}"
            );
        }
        for control in [
            "ceo\t@example.com",
            "ceo@example.com\r\n",
            "ce\u{200b}o",
            "ceo\u{0}",
        ] {
            let decision = decide(&world, &policy(), &mut revoke(control), Some(99)).await;
            assert!(
                matches!(decision, Decision::Refuse(_)),
                "{control:?}: {decision:?}"
            );
        }
        let shared = decide(&world, &policy(), &mut revoke("shared"), Some(99)).await;
        assert!(
            matches!(&shared, Decision::Hold(reason) if reason.contains("ambiguous") && reason.contains("00u7amy") && reason.contains("00u8andy")),
            "{shared:?}"
        );
        let refusing = Policy {
            unresolved: Unresolved::Refuse,
            ..policy()
        };
        assert!(matches!(
            decide(&world, &refusing, &mut revoke("ceo2"), Some(99)).await,
            Decision::Refuse(_)
        ));
    }

    #[tokio::test]
    async fn an_ordinary_account_executes_on_its_resolved_id() {
        let world = world();
        let mut request = revoke("EXAMPLE\\alice");
        assert_eq!(
            decide(&world, &policy(), &mut request, Some(99)).await,
            Decision::Execute
        );
        let cx = CallContext::new("p", "a-1");
        request.execute(&world.connectors, &cx).await.unwrap();
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&world.outbox).unwrap().trim()).unwrap();
        assert_eq!(line["request"]["user_id"], "00u1alice");
        assert_eq!(line["request"]["user"], "alice@example.com");
    }

    #[tokio::test]
    async fn a_protected_host_is_held_under_its_address_fqdn_and_other_spellings() {
        let world = world();
        for alias in [
            "dc01",
            "DC01.corp.example.com",
            "10.0.0.10",
            "::ffff:10.0.0.10",
            " .dc01",
            "d-0001",
            "dc01.",
        ] {
            let mut request = isolate(alias);
            let decision = decide(&world, &policy(), &mut request, Some(99)).await;
            assert!(
                matches!(&decision, Decision::Hold(reason) if reason.contains("d-0001")),
                "{alias:?}: {decision:?}"
            );
        }
        let mut workstation = isolate("FIN-WS-07.corp.example.com");
        assert_eq!(
            decide(&world, &policy(), &mut workstation, Some(99)).await,
            Decision::Execute
        );
        assert_eq!(workstation.resolved().map(|r| r.id.as_str()), Some("d-0007"));
        let unknown = decide(&world, &policy(), &mut isolate("dc02"), Some(99)).await;
        assert!(matches!(unknown, Decision::Hold(reason) if reason.contains("not found")));
    }

    #[tokio::test]
    async fn addresses_and_domains_are_decided_and_acted_on_in_canonical_form() {
        let world = world();
        let network = |action, target: &str| ActionRequest::Network {
            action,
            target: target.into(),
            duration_seconds: None,
            reason: "r".into(),
        };
        for held in [
            "::ffff:10.2.3.4",
            "64:ff9b::a02:304",
            "2002:a02:304::1",
            "::ffff:0:0/96",
            "0.0.0.0/0",
        ] {
            let decision = decide(
                &world,
                &policy(),
                &mut network(NetworkAction::BlockIp, held),
                Some(99),
            )
            .await;
            assert!(matches!(decision, Decision::Hold(_)), "{held}: {decision:?}");
        }
        let mut public = network(NetworkAction::BlockIp, "::ffff:203.0.113.7");
        assert_eq!(
            decide(&world, &policy(), &mut public, Some(99)).await,
            Decision::Execute
        );
        assert_eq!(
            public.target(),
            "203.0.113.7",
            "acted on as the address it reaches"
        );
        for held in ["EXAMPLE.com.", "mail.example.com", "com"] {
            let decision = decide(
                &world,
                &policy(),
                &mut network(NetworkAction::BlockDomain, held),
                Some(99),
            )
            .await;
            assert!(matches!(decision, Decision::Hold(_)), "{held}: {decision:?}");
        }
        let mut other = network(NetworkAction::BlockDomain, "Evil.EXAMPLE.net.");
        assert_eq!(
            decide(&world, &policy(), &mut other, Some(99)).await,
            Decision::Execute
        );
        assert_eq!(other.target(), "evil.example.net");
        let refused = decide(
            &world,
            &policy(),
            &mut network(NetworkAction::BlockIp, "10.0.0.1\n"),
            Some(99),
        )
        .await;
        assert!(matches!(refused, Decision::Refuse(_)));
    }

    #[tokio::test]
    async fn an_alert_without_a_stated_confidence_is_held_unless_the_admin_assumes_one() {
        let world = world();
        let held = decide(&world, &policy(), &mut revoke("alice"), None).await;
        assert!(matches!(held, Decision::Hold(reason) if reason.contains("no confidence")));
        let assuming = |n| Policy {
            unstated_confidence: Unstated::Assume(n),
            default_min_confidence: 80,
            ..policy()
        };
        assert_eq!(
            decide(&world, &assuming(90), &mut revoke("alice"), None).await,
            Decision::Execute
        );
        assert!(matches!(
            decide(&world, &assuming(70), &mut revoke("alice"), None).await,
            Decision::Refuse(_)
        ));
    }
}
