//! The gate every destructive operation passes before a connector is called.
//!
//! A plugin cannot bypass it: the broker consults it inside the host, after the grant check
//! and before the connector. [`Policy`] is the static part (mode, confidence, protected
//! entities); the circuit breaker, which needs the store, is applied by the broker through
//! [`Breaker`](crate::store::Breaker).

mod protected;

pub use protected::{Protected, Target};

use crate::capability::Operation;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// How destructive operations are carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Executed when policy allows; held or refused otherwise.
    #[default]
    Enforce,
    /// Nothing is executed; the plugin is told `simulated` and the record says what would
    /// have happened.
    DryRun,
    /// Every destructive operation waits for a person.
    Approve,
}

/// What happens to an operation whose alert is below the operation's minimum confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BelowConfidence {
    #[default]
    Refuse,
    Hold,
}

/// A plugin's effective policy: the global one with the plugin's overrides applied.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub mode: Mode,
    /// Minimum alert confidence per operation.
    pub min_confidence: BTreeMap<Operation, u8>,
    /// For destructive operations not listed above.
    pub default_min_confidence: u8,
    pub below_confidence: BelowConfidence,
    pub protected: Protected,
    pub blast_radius: BlastRadius,
    /// How long a held operation may wait for approval.
    pub approval_ttl: Duration,
}

/// Circuit-breaker limits: destructive operations executed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlastRadius {
    pub window: Duration,
    pub per_plugin: Option<u32>,
    pub global: Option<u32>,
}

impl Default for BlastRadius {
    fn default() -> Self {
        BlastRadius {
            window: Duration::from_secs(3600),
            per_plugin: Some(50),
            global: Some(200),
        }
    }
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", content = "reason", rename_all = "kebab-case")]
pub enum Decision {
    Execute,
    /// Wait for a person; the reason says why.
    Hold(String),
    Refuse(String),
}

/// What is known about the operation when the gate decides.
pub struct Proposal<'a> {
    pub operation: Operation,
    pub target: &'a Target,
    pub confidence: u8,
    /// The account's groups, where the identity connector could say.
    pub groups: Option<&'a [String]>,
}

impl Policy {
    /// The decision from everything but the breaker. Protection outranks the rest: a
    /// protected entity is never acted on automatically.
    pub fn decide(&self, proposal: &Proposal<'_>) -> Decision {
        if let Some(reason) = self.protected.protects(proposal.target, proposal.groups) {
            return Decision::Hold(reason);
        }
        let minimum = self
            .min_confidence
            .get(&proposal.operation)
            .copied()
            .unwrap_or(self.default_min_confidence);
        if proposal.confidence < minimum {
            let reason = format!(
                "alert confidence {} is below the {} minimum of {minimum} for {}",
                proposal.confidence,
                if self.min_confidence.contains_key(&proposal.operation) {
                    "configured"
                } else {
                    "default"
                },
                proposal.operation
            );
            return match self.below_confidence {
                BelowConfidence::Refuse => Decision::Refuse(reason),
                BelowConfidence::Hold => Decision::Hold(reason),
            };
        }
        if self.mode == Mode::Approve {
            return Decision::Hold("policy mode is approve".into());
        }
        Decision::Execute
    }

    /// Whether the groups of an account matter to the decision (so the broker looks them up).
    pub fn needs_groups(&self) -> bool {
        self.protected.has_groups()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(name: &str) -> Operation {
        Operation::parse(name).unwrap()
    }

    fn policy() -> Policy {
        Policy {
            default_min_confidence: 70,
            min_confidence: [(op("identity.disable-user"), 90)].into_iter().collect(),
            protected: Protected::new(
                &["ceo@example.com".into()],
                &["executives".into()],
                &["dc*".into()],
                &["10.0.0.0/8".parse().unwrap()],
            )
            .unwrap(),
            ..Policy::default()
        }
    }

    fn decide(
        policy: &Policy,
        operation: &str,
        target: Target,
        confidence: u8,
        groups: Option<&[String]>,
    ) -> Decision {
        policy.decide(&Proposal {
            operation: op(operation),
            target: &target,
            confidence,
            groups,
        })
    }

    #[test]
    fn a_protected_account_is_held_whatever_the_confidence() {
        let decision = decide(
            &policy(),
            "identity.revoke-sessions",
            Target::User("CEO@example.com".into()),
            100,
            None,
        );
        assert!(matches!(decision, Decision::Hold(reason) if reason.contains("protected")));
        let executives = ["executives".to_owned()];
        let decision = decide(
            &policy(),
            "identity.revoke-sessions",
            Target::User("vp".into()),
            100,
            Some(&executives),
        );
        assert!(matches!(decision, Decision::Hold(reason) if reason.contains("executives")));
    }

    #[test]
    fn confidence_minimums_apply_per_operation_with_a_default() {
        let alice = || Target::User("alice".into());
        assert_eq!(
            decide(&policy(), "identity.revoke-sessions", alice(), 75, None),
            Decision::Execute
        );
        assert!(matches!(
            decide(&policy(), "identity.disable-user", alice(), 75, None),
            Decision::Refuse(_)
        ));
        let holding = Policy {
            below_confidence: BelowConfidence::Hold,
            ..policy()
        };
        assert!(matches!(
            decide(&holding, "identity.revoke-sessions", alice(), 10, None),
            Decision::Hold(_)
        ));
    }

    #[test]
    fn approve_mode_holds_and_protected_ranges_and_hosts_are_held() {
        let approve = Policy {
            mode: Mode::Approve,
            ..policy()
        };
        assert!(matches!(
            decide(
                &approve,
                "network.block-ip",
                Target::Address("203.0.113.7".into()),
                99,
                None
            ),
            Decision::Hold(_)
        ));
        assert!(matches!(
            decide(
                &policy(),
                "network.block-ip",
                Target::Address("10.2.3.4".into()),
                99,
                None
            ),
            Decision::Hold(_)
        ));
        assert!(
            matches!(
                decide(
                    &policy(),
                    "network.block-ip",
                    Target::Address("0.0.0.0/0".into()),
                    99,
                    None
                ),
                Decision::Hold(_)
            ),
            "a range covering a protected one"
        );
        assert!(matches!(
            decide(
                &policy(),
                "endpoint.isolate-host",
                Target::Host("DC01".into()),
                99,
                None
            ),
            Decision::Hold(_)
        ));
        assert_eq!(
            decide(
                &policy(),
                "endpoint.isolate-host",
                Target::Host("fin-ws-07".into()),
                99,
                None
            ),
            Decision::Execute
        );
    }
}
