//! The circuit breaker under concurrent operations: whatever the interleaving (tasks on a
//! multi-threaded runtime, and two processes' handles on one database), it admits exactly as
//! many destructive operations as its limits allow, never one more.
//!
//! A process counts executions ahead (leases) so most operations write nothing; the limit
//! still holds, since what is leased is counted, but the breaker may trip a little early (a
//! lease taken and not yet used). So: never more than the limits; every operation admitted
//! while nothing was held (a lost update would show as a hold without a trip); and once the
//! leases are handed back, the counts an operator sees are exactly the operations admitted.

use palisade_store::{BreakerCheck, BreakerLimits, Store};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

const PLUGINS: [&str; 3] = ["spray", "phish", "malware"];

/// One round of concurrent operations: which plugin asks, through which store handle.
fn round() -> impl Strategy<Value = Vec<(usize, usize)>> {
    prop::collection::vec((0..PLUGINS.len(), 0..2usize), 0..24)
}

fn limits() -> impl Strategy<Value = BreakerLimits> {
    (prop::option::of(1..6u32), prop::option::of(1..12u32)).prop_map(|(per_plugin, global)| BreakerLimits {
        window: Duration::from_secs(3600),
        per_plugin,
        global,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn the_breaker_never_admits_more_than_its_limits(
        limits in limits(),
        rounds in prop::collection::vec((round(), any::<bool>()), 1..4),
        handles in 1..=2usize,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        // Two handles on one file stand for two processes (a run and the service).
        let stores: Vec<Store> = (0..handles).map(|_| Store::open(&path).unwrap()).collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .enable_all()
            .build()
            .unwrap();
        // Counted since the last reset: rounds without a reset count on.
        let mut asked: BTreeMap<usize, u32> = BTreeMap::new();
        let mut allowed: BTreeMap<usize, u32> = BTreeMap::new();
        let mut held = false;
        for (operations, reset) in rounds {
            let admitted: Vec<(usize, BreakerCheck)> = runtime.block_on(async {
                let tasks: Vec<_> = operations
                    .iter()
                    .map(|&(plugin, handle)| {
                        let breaker = stores[handle % stores.len()].breaker();
                        tokio::spawn(async move {
                            (plugin, breaker.admit(PLUGINS[plugin], limits).await.unwrap())
                        })
                    })
                    .collect();
                let mut results = Vec::new();
                for task in tasks {
                    results.push(task.await.unwrap());
                }
                results
            });
            for (plugin, check) in &admitted {
                *asked.entry(*plugin).or_default() += 1;
                if *check == BreakerCheck::Allowed {
                    *allowed.entry(*plugin).or_default() += 1;
                } else {
                    held = true;
                }
            }
            let total: u32 = allowed.values().sum();
            for (plugin, count) in &allowed {
                if let Some(limit) = limits.per_plugin {
                    prop_assert!(*count <= limit, "{} admitted {count} over its limit {limit}", PLUGINS[*plugin]);
                }
            }
            if let Some(limit) = limits.global {
                prop_assert!(total <= limit, "{total} admitted over the global limit {limit}");
            }
            if !held {
                prop_assert_eq!(&allowed, &asked, "nothing was held, so everything was admitted");
            }
            runtime.block_on(async {
                for store in &stores {
                    store.breaker().settle().await.unwrap();
                }
            });
            let counts = stores[0].breaker().counts(limits.window).unwrap();
            let counted: BTreeMap<usize, u32> = counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(plugin, n)| (PLUGINS.iter().position(|p| p == plugin).unwrap(), *n))
                .collect();
            let admitted: BTreeMap<usize, u32> =
                allowed.iter().filter(|(_, n)| **n > 0).map(|(p, n)| (*p, *n)).collect();
            prop_assert_eq!(counted, admitted, "settled, the counts are the operations admitted");
            if reset {
                stores[0].breaker().reset(None).unwrap();
                asked.clear();
                allowed.clear();
                held = false;
            }
        }
    }
}
