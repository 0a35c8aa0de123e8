//! The gate every destructive operation passes before a connector is called.
//!
//! A plugin cannot bypass it: the broker consults it inside the host, after the grant check
//! and before the connector. [`Policy`] is the static part (mode, confidence, protected
//! entities); the circuit breaker, which needs the store, is applied by the broker through
//! [`Breaker`](palisade_store::Breaker).

pub mod config;
mod protected;

pub use protected::{Protected, Target};

use palisade_core::capability::Operation;
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

/// What happens to a destructive operation on an alert whose source stated no confidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unstated {
    /// A person decides (the default): an unknown confidence is not a medium one.
    #[default]
    Hold,
    Refuse,
    /// The admin vouches for the source: its alerts count as this confidence.
    Assume(u8),
}

impl Unstated {
    /// `hold`, `refuse` or `assume:N` (N from 0 to 100).
    pub fn parse(text: &str) -> Result<Unstated, String> {
        match text {
            "hold" => Ok(Unstated::Hold),
            "refuse" => Ok(Unstated::Refuse),
            _ => match text.strip_prefix("assume:").map(str::parse::<u8>) {
                Some(Ok(confidence)) if confidence <= 100 => Ok(Unstated::Assume(confidence)),
                _ => Err(format!(
                    "{text:?} is not \"hold\", \"refuse\" or \"assume:N\" with N from 0 to 100"
                )),
            },
        }
    }
}

/// What happens to a destructive operation whose target the connector cannot resolve to
/// exactly one record (not found, ambiguous, or the lookup failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unresolved {
    #[default]
    Hold,
    Refuse,
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
    pub unstated_confidence: Unstated,
    pub unresolved: Unresolved,
    pub protected: Protected,
    pub blast_radius: BlastRadius,
    /// How long a held operation may wait for approval.
    pub approval_ttl: Duration,
    /// When set, destructive operations run alone only for rules whose measured precision
    /// earned it; off unless configured.
    pub autonomy: Option<Autonomy>,
}

/// Earned autonomy: a destructive operation executes without a person only when its
/// detection rule's precision, measured from analysts' verdicts, reaches `min_precision`
/// (its Wilson lower bound, so a handful of right answers does not read as certainty) over at
/// least `min_labelled` labelled alerts within the window. New rules start supervised, and a
/// rule that starts to misfire loses its autonomy by itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Autonomy {
    pub min_precision: f64,
    pub min_labelled: u32,
    pub window: palisade_store::Window,
    pub min_precision_by_operation: BTreeMap<Operation, f64>,
}

impl Default for Autonomy {
    fn default() -> Self {
        Autonomy {
            min_precision: 0.95,
            min_labelled: 20,
            window: palisade_store::Window {
                period: Duration::from_secs(90 * 86_400),
                latest: 500,
            },
            min_precision_by_operation: BTreeMap::new(),
        }
    }
}

impl Autonomy {
    /// `None` when the rule has earned the operation; else why it waits for a person, with
    /// the figures.
    pub fn hold_reason(
        &self,
        operation: Operation,
        rule: &str,
        precision: &palisade_store::Precision,
    ) -> Option<String> {
        let minimum = self
            .min_precision_by_operation
            .get(&operation)
            .copied()
            .unwrap_or(self.min_precision);
        if precision.labelled < self.min_labelled {
            return Some(format!(
                "{rule}: {} labelled alerts of the {} needed before it may act alone (lower bound {:.2})",
                precision.labelled, self.min_labelled, precision.lower_bound
            ));
        }
        (precision.lower_bound < minimum).then(|| {
            format!(
                "{rule}: lower bound {:.2} over {} labelled alerts, below {minimum:.2}",
                precision.lower_bound, precision.labelled
            )
        })
    }
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
    /// The resolved record the connector will act on.
    pub target: &'a Target,
    /// `None` when the alert's source stated none.
    pub confidence: Option<u8>,
}

impl Policy {
    /// The decision from everything but the breaker. Protection outranks the rest: a
    /// protected entity is never acted on automatically.
    pub fn decide(&self, proposal: &Proposal<'_>) -> Decision {
        if let Some(reason) = self.protected.protects(proposal.target) {
            return Decision::Hold(reason);
        }
        let confidence = match (proposal.confidence, self.unstated_confidence) {
            (Some(confidence), _) | (None, Unstated::Assume(confidence)) => confidence,
            (None, Unstated::Hold) => {
                return Decision::Hold("the alert's source states no confidence".into());
            }
            (None, Unstated::Refuse) => {
                return Decision::Refuse("the alert's source states no confidence".into());
            }
        };
        let minimum = self
            .min_confidence
            .get(&proposal.operation)
            .copied()
            .unwrap_or(self.default_min_confidence);
        if confidence < minimum {
            let reason = format!(
                "alert confidence {confidence} is below the {} minimum of {minimum} for {}",
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

    /// The decision on an operation whose target could not be resolved to one record: it is
    /// never executed, as nothing says what it would act on.
    pub fn unresolved(&self, reason: String) -> Decision {
        match self.unresolved {
            Unresolved::Hold => Decision::Hold(reason),
            Unresolved::Refuse => Decision::Refuse(reason),
        }
    }

    /// The confidence a plugin is shown for an alert: the source's, or what the admin assumes
    /// for sources that state none (0, below every minimum, unless an admin assumes one).
    pub fn shown_confidence(&self, stated: Option<u8>) -> u8 {
        match (stated, self.unstated_confidence) {
            (Some(confidence), _) | (None, Unstated::Assume(confidence)) => confidence,
            (None, _) => 0,
        }
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
                &[],
            )
            .unwrap(),
            ..Policy::default()
        }
    }

    fn account(name: &str, groups: &[&str]) -> Target {
        Target::Account {
            id: format!("id-{name}"),
            names: vec![name.to_owned()],
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn decide(policy: &Policy, operation: &str, target: Target, confidence: Option<u8>) -> Decision {
        policy.decide(&Proposal {
            operation: op(operation),
            target: &target,
            confidence,
        })
    }

    #[test]
    fn a_protected_account_is_held_whatever_the_confidence() {
        let decision = decide(
            &policy(),
            "identity.revoke-sessions",
            account("CEO@example.com", &[]),
            Some(100),
        );
        assert!(matches!(decision, Decision::Hold(reason) if reason.contains("protected")));
        let decision = decide(
            &policy(),
            "identity.revoke-sessions",
            account("vp", &["Executives"]),
            Some(100),
        );
        assert!(matches!(decision, Decision::Hold(reason) if reason.contains("Executives")));
    }

    #[test]
    fn confidence_minimums_apply_per_operation_with_a_default() {
        let alice = || account("alice", &[]);
        assert_eq!(
            decide(&policy(), "identity.revoke-sessions", alice(), Some(75)),
            Decision::Execute
        );
        assert!(matches!(
            decide(&policy(), "identity.disable-user", alice(), Some(75)),
            Decision::Refuse(_)
        ));
        let holding = Policy {
            below_confidence: BelowConfidence::Hold,
            ..policy()
        };
        assert!(matches!(
            decide(&holding, "identity.revoke-sessions", alice(), Some(10)),
            Decision::Hold(_)
        ));
    }

    #[test]
    fn an_unstated_confidence_is_held_unless_the_admin_assumes_one() {
        let alice = || account("alice", &[]);
        let held = decide(&policy(), "identity.revoke-sessions", alice(), None);
        assert_eq!(
            held,
            Decision::Hold("the alert's source states no confidence".into())
        );
        let refusing = Policy {
            unstated_confidence: Unstated::Refuse,
            ..policy()
        };
        assert!(matches!(
            decide(&refusing, "identity.revoke-sessions", alice(), None),
            Decision::Refuse(_)
        ));
        let assuming = |n| Policy {
            unstated_confidence: Unstated::Assume(n),
            ..policy()
        };
        assert_eq!(
            decide(&assuming(90), "identity.disable-user", alice(), None),
            Decision::Execute
        );
        assert!(matches!(
            decide(&assuming(80), "identity.disable-user", alice(), None),
            Decision::Refuse(reason) if reason.contains("confidence 80")
        ));
        assert_eq!(policy().shown_confidence(None), 0);
        assert_eq!(assuming(90).shown_confidence(None), 90);
        assert_eq!(assuming(90).shown_confidence(Some(12)), 12);
        for (text, parsed) in [
            ("hold", Ok(Unstated::Hold)),
            ("refuse", Ok(Unstated::Refuse)),
            ("assume:90", Ok(Unstated::Assume(90))),
        ] {
            assert_eq!(Unstated::parse(text), parsed);
        }
        for bad in ["assume:101", "assume:", "medium", "assume:-1"] {
            assert!(Unstated::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unresolved_target_is_held_or_refused_never_executed() {
        assert!(matches!(policy().unresolved("no user".into()), Decision::Hold(_)));
        let refusing = Policy {
            unresolved: Unresolved::Refuse,
            ..policy()
        };
        assert!(matches!(
            refusing.unresolved("no user".into()),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn approve_mode_holds_and_protected_ranges_and_hosts_are_held() {
        let address = |text: &str| Target::Address(palisade_core::canonical::address::parse(text).unwrap());
        let device = |name: &str| Target::Device {
            id: "d-1".into(),
            names: vec![name.to_owned()],
        };
        let approve = Policy {
            mode: Mode::Approve,
            ..policy()
        };
        assert!(matches!(
            decide(&approve, "network.block-ip", address("203.0.113.7"), Some(99)),
            Decision::Hold(_)
        ));
        assert!(matches!(
            decide(&policy(), "network.block-ip", address("10.2.3.4"), Some(99)),
            Decision::Hold(_)
        ));
        assert!(
            matches!(
                decide(&policy(), "network.block-ip", address("0.0.0.0/0"), Some(99)),
                Decision::Hold(_)
            ),
            "a range covering a protected one"
        );
        assert!(matches!(
            decide(&policy(), "endpoint.isolate-host", device("DC01"), Some(99)),
            Decision::Hold(_)
        ));
        assert_eq!(
            decide(&policy(), "endpoint.isolate-host", device("fin-ws-07"), Some(99)),
            Decision::Execute
        );
    }

    /// A labelled replay: three rules whose alerts are true 99%, 90% and 60% of the time,
    /// their verdicts arriving over time.
    #[test]
    fn only_a_rule_whose_verdicts_earned_it_acts_alone_and_a_misfiring_one_loses_it() {
        use palisade_store::{Evidence, Store, Verdict};
        let store = Store::in_memory().unwrap();
        let verdicts = store.verdicts();
        let autonomy = Autonomy::default();
        let block = Operation::parse("network.block-ip").unwrap();
        let acts_alone = |rule: &str| {
            let precision = verdicts.precision(rule, autonomy.window).unwrap();
            autonomy.hold_reason(block, rule, &precision).is_none()
        };
        // A deterministic stream of outcomes: alert n of a rule true at `rate` percent is
        // false when (n * 37) % 100 falls at or past the rate.
        let mut n = 0u32;
        let mut label = |rule: &str, rate: u32, count: u32| {
            for _ in 0..count {
                n += 1;
                let id = format!("{rule}-{n}");
                verdicts.alert_rule(&id, rule, None);
                let verdict = if (n * 37) % 100 < rate {
                    Verdict::TruePositive
                } else {
                    Verdict::FalsePositive
                };
                verdicts
                    .record(&id, verdict, Evidence::Analyst, "replay", None)
                    .unwrap();
            }
        };
        for rule in ["spray", "phish", "beacon"] {
            assert!(!acts_alone(rule), "{rule}: new rules start supervised");
        }
        label("spray", 99, 10);
        assert!(!acts_alone("spray"), "too few labels yet");
        for _ in 0..30 {
            label("spray", 99, 10);
            label("phish", 90, 10);
            label("beacon", 60, 10);
        }
        assert!(
            acts_alone("spray"),
            "{:?}",
            verdicts.precision("spray", autonomy.window)
        );
        assert!(!acts_alone("phish"));
        assert!(!acts_alone("beacon"));
        // A burst of false positives takes the autonomy away.
        label("spray", 0, 20);
        assert!(!acts_alone("spray"));
        let precision = verdicts.precision("spray", autonomy.window).unwrap();
        let reason = autonomy.hold_reason(block, "Password spray", &precision).unwrap();
        assert!(reason.starts_with("Password spray: lower bound 0.9"), "{reason}");
        assert!(reason.ends_with("labelled alerts, below 0.95"), "{reason}");
    }
}
