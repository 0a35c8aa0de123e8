//! The gate's decision never loosens as confidence drops: for any policy, operation and
//! target, a lower confidence gets a decision at least as strict (execute < hold < refuse) as
//! a higher one. An unstated confidence is decided as the confidence the admin assumes, or is
//! never executed.

use palisade_core::capability::{OPERATIONS, Operation};
use palisade_policy::{BelowConfidence, Decision, Mode, Policy, Proposal, Protected, Target, Unstated};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn strictness(decision: &Decision) -> u8 {
    match decision {
        Decision::Execute => 0,
        Decision::Hold(_) => 1,
        Decision::Refuse(_) => 2,
    }
}

fn destructive() -> Vec<Operation> {
    OPERATIONS.iter().copied().filter(|op| op.destructive).collect()
}

fn policy() -> impl Strategy<Value = Policy> {
    let operations = destructive();
    (
        prop_oneof![Just(Mode::Enforce), Just(Mode::DryRun), Just(Mode::Approve)],
        prop::collection::vec((0..operations.len(), any::<u8>()), 0..4),
        any::<u8>(),
        prop_oneof![Just(BelowConfidence::Refuse), Just(BelowConfidence::Hold)],
        prop_oneof![
            Just(Unstated::Hold),
            Just(Unstated::Refuse),
            (0..=100u8).prop_map(Unstated::Assume)
        ],
        any::<bool>(),
    )
        .prop_map(move |(mode, minimums, default_min, below, unstated, protect)| {
            let protected = if protect {
                Protected::new(&["ceo@example.com".into()], &[], &["dc01".into()], &[], &[]).unwrap()
            } else {
                Protected::default()
            };
            Policy {
                mode,
                min_confidence: minimums
                    .into_iter()
                    .map(|(index, minimum)| (operations[index], minimum))
                    .collect::<BTreeMap<_, _>>(),
                default_min_confidence: default_min,
                below_confidence: below,
                unstated_confidence: unstated,
                protected,
                ..Policy::default()
            }
        })
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        prop::sample::select(vec!["alice@example.com", "CEO@example.com", "bob"]).prop_map(|name| {
            Target::Account {
                id: "00u1".into(),
                names: vec![name.into()],
                groups: Vec::new(),
            }
        }),
        prop::sample::select(vec!["dc01", "ws-17"]).prop_map(|name| Target::Device {
            id: "d-1".into(),
            names: vec![name.into()],
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_decision_never_loosens_as_confidence_drops(
        policy in policy(),
        operation in prop::sample::select(destructive()),
        target in target(),
    ) {
        let decide = |confidence: Option<u8>| {
            policy.decide(&Proposal { operation, target: &target, confidence })
        };
        // Every confidence, from the highest down: each step is at least as strict.
        let mut previous = decide(Some(u8::MAX));
        for confidence in (0..u8::MAX).rev() {
            let decision = decide(Some(confidence));
            prop_assert!(
                strictness(&decision) >= strictness(&previous),
                "confidence {} gets {:?} but {} got {:?}",
                confidence, decision, confidence + 1, previous
            );
            previous = decision;
        }
        let unstated = decide(None);
        match policy.unstated_confidence {
            Unstated::Assume(assumed) => prop_assert_eq!(unstated, decide(Some(assumed))),
            Unstated::Hold | Unstated::Refuse => prop_assert_ne!(unstated, Decision::Execute),
        }
    }
}
