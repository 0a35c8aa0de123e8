use palisade_sdk::prelude::*;
use palisade_sdk::ticket::{NewTicket, TicketRef};

use crate::{Responder, Settings, respond};

/// Records every call and answers from a script.
#[derive(Default)]
struct FakeHost {
    revoke: Vec<(String, String)>,
    block: Vec<(String, Option<u32>, String)>,
    tickets: Vec<NewTicket>,
    /// Answer for the revoke of this user; executed otherwise.
    revoke_answer: Vec<(&'static str, Result<Receipt, ActionError>)>,
    block_answer: Option<Result<Receipt, ActionError>>,
    ticket_answer: Option<Result<TicketRef, ActionError>>,
}

fn receipt(status: ActionStatus) -> Receipt {
    Receipt {
        status,
        action_id: "act-1".into(),
        reference: None,
    }
}

impl Responder for FakeHost {
    fn revoke_sessions(&mut self, user: &str, reason: &str) -> Result<Receipt, ActionError> {
        self.revoke.push((user.into(), reason.into()));
        self.revoke_answer
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, r)| r.clone())
            .unwrap_or(Ok(receipt(ActionStatus::Executed)))
    }

    fn block_ip(
        &mut self,
        address: &str,
        duration_seconds: Option<u32>,
        reason: &str,
    ) -> Result<Receipt, ActionError> {
        self.block.push((address.into(), duration_seconds, reason.into()));
        self.block_answer
            .clone()
            .unwrap_or(Ok(receipt(ActionStatus::Executed)))
    }

    fn create_ticket(&mut self, ticket: &NewTicket) -> Result<TicketRef, ActionError> {
        self.tickets.push(ticket.clone());
        self.ticket_answer.clone().unwrap_or(Ok(TicketRef {
            id: "INC-42".into(),
            url: Some("https://tickets.example/INC-42".into()),
        }))
    }
}

fn user(name: &str, sign_in: SignInResult) -> Entity {
    User {
        sign_in: Some(sign_in),
        ..User::new(name)
    }
    .into()
}

/// 14 accounts sprayed from 203.0.113.7, 2 signed in; one destination address.
fn spray_alert() -> Alert {
    let mut entities = vec![
        Ip::new("203.0.113.7", Some(Direction::Source)).into(),
        Ip::new("10.0.0.8", Some(Direction::Destination)).into(),
        user("alice", SignInResult::Success),
        user("bob", SignInResult::Success),
    ];
    entities.extend((0..12).map(|i| user(&format!("user{i}"), SignInResult::Failure)));
    Alert {
        source_product: "Okta".into(),
        rule_name: Some("Password spray".into()),
        category: "credential-access".into(),
        confidence: 92,
        timestamp: "2025-11-26T10:00:00Z".into(),
        entities,
        annotations: vec![Annotation {
            source: "ip-reputation".into(),
            key: "intel:203.0.113.7".into(),
            value: "malicious score=95 sources=abuse-feed".into(),
        }],
        ..Alert::new("alert-7", "Password spray against Okta", Severity::High)
    }
}

#[test]
fn below_threshold_only_notes_why() {
    let alert = Alert {
        confidence: 60,
        ..spray_alert()
    };
    let mut host = FakeHost::default();
    let outcome = respond(&alert, &Settings::default(), &mut host);
    assert!(host.revoke.is_empty() && host.block.is_empty() && host.tickets.is_empty());
    assert_eq!(outcome.verdict, None);
    let why = outcome.note_value("skipped").unwrap();
    assert!(why.contains("60") && why.contains("80"), "{why}");
}

#[test]
fn revokes_signed_in_accounts_blocks_sources_and_opens_a_ticket() {
    let mut host = FakeHost::default();
    let outcome = respond(&spray_alert(), &Settings::default(), &mut host);

    let revoked: Vec<_> = host.revoke.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(revoked, ["alice", "bob"]);
    let reason = &host.revoke[0].1;
    assert!(
        reason.contains("alert-7") && reason.contains("Password spray"),
        "{reason}"
    );
    assert_eq!(host.block.len(), 1, "only the source address is blocked");
    assert_eq!(host.block[0].0, "203.0.113.7");
    assert_eq!(host.block[0].1, Some(24 * 3600));

    let ticket = &host.tickets[0];
    assert_eq!(
        ticket.title,
        "Password spray from 203.0.113.7: 2 of 14 accounts signed in"
    );
    assert_eq!(ticket.severity, Severity::High);
    assert_eq!(ticket.observables.len(), 15, "14 accounts and 1 source address");
    for expected in [
        "`alert-7`",
        "Okta",
        "2025-11-26T10:00:00Z",
        "92",
        "`203.0.113.7`",
        "`alice`: **signed in**",
        "`user3`: failed",
        "| identity.revoke-sessions | `bob` | executed (action act-1) |",
        "| network.block-ip | `203.0.113.7` | executed (action act-1) |",
        "ip-reputation: intel:203.0.113.7 = malicious score=95 sources=abuse-feed",
    ] {
        assert!(
            ticket.description.contains(expected),
            "missing {expected:?} in\n{}",
            ticket.description
        );
    }

    assert_eq!(outcome.verdict, Some(Verdict::Malicious));
    assert_eq!(outcome.tags, ["password-spray", "contained"]);
    assert_eq!(outcome.note_value("accounts_targeted"), Some("14"));
    assert_eq!(outcome.note_value("accounts_signed_in"), Some("2"));
    assert_eq!(outcome.note_value("sessions_revoked"), Some("2 of 2"));
    assert_eq!(outcome.note_value("ips_blocked"), Some("1 of 1"));
    assert_eq!(
        outcome.note_value("identity.revoke-sessions:alice"),
        Some("executed")
    );
    assert_eq!(
        outcome.note_value("network.block-ip:203.0.113.7"),
        Some("executed")
    );
    assert_eq!(
        outcome.note_value("ticket"),
        Some("INC-42 https://tickets.example/INC-42")
    );
    assert_eq!(outcome.note_value("denied"), None);
    assert!(outcome.summary.unwrap().contains("INC-42"));
}

#[test]
fn without_a_marked_source_every_address_is_blocked() {
    let alert = Alert {
        entities: vec![
            Ip::new("203.0.113.7", None).into(),
            Ip::new("198.51.100.9", Some(Direction::Destination)).into(),
            Ip::new("203.0.113.7", None).into(),
        ],
        ..spray_alert()
    };
    let mut host = FakeHost::default();
    respond(&alert, &Settings::default(), &mut host);
    let blocked: Vec<_> = host.block.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(blocked, ["203.0.113.7", "198.51.100.9"]);
    assert_eq!(
        host.tickets[0].title,
        "Password spray from 203.0.113.7 and 1 more: 0 of 0 accounts signed in"
    );
}

#[test]
fn failed_calls_are_noted_and_the_ticket_is_still_created() {
    let mut host = FakeHost {
        revoke_answer: vec![
            (
                "alice",
                Err(ActionError::Denied("identity.revoke-sessions".into())),
            ),
            ("bob", Err(ActionError::Denied("identity.revoke-sessions".into()))),
        ],
        block_answer: Some(Err(ActionError::ConnectorFailed("firewall unreachable".into()))),
        ..FakeHost::default()
    };
    let outcome = respond(&spray_alert(), &Settings::default(), &mut host);

    assert_eq!(host.revoke.len(), 2, "a denied call does not stop the next");
    assert_eq!(host.block.len(), 1);
    assert_eq!(host.tickets.len(), 1);
    let description = &host.tickets[0].description;
    assert!(
        description.contains("error: denied: identity.revoke-sessions"),
        "{description}"
    );
    assert!(
        description.contains("error: connector-failed: firewall unreachable"),
        "{description}"
    );

    assert_eq!(outcome.tags, ["password-spray"], "nothing was contained");
    assert_eq!(outcome.note_value("denied"), Some("identity.revoke-sessions"));
    assert_eq!(outcome.note_value("sessions_revoked"), Some("0 of 2"));
    assert_eq!(
        outcome.note_value("network.block-ip:203.0.113.7"),
        Some("error: connector-failed: firewall unreachable")
    );
}

#[test]
fn policy_results_are_reported_as_they_are() {
    let mut host = FakeHost {
        revoke_answer: vec![
            ("alice", Ok(receipt(ActionStatus::Held("ap-9".into())))),
            (
                "bob",
                Ok(receipt(ActionStatus::Refused("protected account".into()))),
            ),
        ],
        block_answer: Some(Ok(receipt(ActionStatus::Simulated))),
        ..FakeHost::default()
    };
    let outcome = respond(&spray_alert(), &Settings::default(), &mut host);
    assert_eq!(outcome.tags, ["password-spray", "awaiting-approval"]);
    assert_eq!(
        outcome.note_value("identity.revoke-sessions:alice"),
        Some("held (approval ap-9)")
    );
    assert_eq!(
        outcome.note_value("identity.revoke-sessions:bob"),
        Some("refused (protected account)")
    );
    assert_eq!(
        outcome.note_value("network.block-ip:203.0.113.7"),
        Some("simulated")
    );
    let description = &host.tickets[0].description;
    assert!(description.contains("held (approval ap-9)"), "{description}");
    assert!(
        description.contains("refused (protected account)"),
        "{description}"
    );
}

#[test]
fn a_failed_ticket_is_noted() {
    let mut host = FakeHost {
        ticket_answer: Some(Err(ActionError::Denied("ticket.create".into()))),
        ..FakeHost::default()
    };
    let outcome = respond(&spray_alert(), &Settings::default(), &mut host);
    assert_eq!(outcome.note_value("ticket"), Some("error: denied: ticket.create"));
    assert_eq!(outcome.note_value("denied"), Some("ticket.create"));
    assert!(outcome.has_tag("contained"));
}

#[test]
fn account_names_cannot_inject_markdown() {
    let alert = Alert {
        entities: vec![user("x](https://evil.example)`|", SignInResult::Failure)],
        ..spray_alert()
    };
    let mut host = FakeHost::default();
    respond(&alert, &Settings::default(), &mut host);
    let description = &host.tickets[0].description;
    assert!(
        description.contains("- `x](https://evil.example)`: failed"),
        "{description}"
    );
}

#[test]
fn settings_defaults_and_errors() {
    assert_eq!(Settings::parse(None, None), Ok(Settings::default()));
    assert_eq!(
        Settings::parse(Some("90"), Some("0")),
        Ok(Settings {
            min_confidence: 90,
            block_hours: 0
        })
    );
    assert!(matches!(
        Settings::parse(Some("101"), None),
        Err(ActionError::InvalidInput(m)) if m.contains("min_confidence")
    ));
    assert!(matches!(
        Settings::parse(None, Some("a day")),
        Err(ActionError::InvalidInput(m)) if m.contains("block_hours")
    ));
}

#[test]
fn zero_block_hours_blocks_without_expiry() {
    let settings = Settings {
        block_hours: 0,
        ..Settings::default()
    };
    let mut host = FakeHost::default();
    respond(&spray_alert(), &settings, &mut host);
    assert_eq!(host.block[0].1, None);
}

#[test]
fn describe_asks_for_what_it_uses() {
    use crate::PasswordSpray;
    let info = PasswordSpray::describe();
    assert_eq!(info.name, "password-spray");
    assert_eq!(
        info.capabilities,
        ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
    );
}
