//! `bench-plugin`: measures the cost of a granted host call. `handle` makes `kv_gets` (a
//! setting, 0 when unset) `kv.get` calls of one key and returns an outcome noting how many
//! answered, so the benchmarks can subtract a run with 0 calls from a run with N.

use palisade_sdk::prelude::*;

struct BenchPlugin;

impl Action for BenchPlugin {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Makes `kv_gets` kv.get calls and returns, to time a host call",
            ["kv.get"],
        )
    }

    fn handle(_alert: Alert) -> Result<Outcome, ActionError> {
        let calls = setting_parse::<u32>("kv_gets")?.unwrap_or(0);
        let mut answered = 0u32;
        for _ in 0..calls {
            if kv::get("bench-key")?.is_some() {
                answered += 1;
            }
        }
        Ok(Outcome::new()
            .note("kv_gets", calls.to_string())
            .note("answered", answered.to_string()))
    }
}

palisade_sdk::export!(BenchPlugin);
