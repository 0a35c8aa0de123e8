//! Micro-benchmarks (criterion): one (alert, plugin) invocation in Palisade beside the floor (a
//! bare wasmtime host) and the same logic compiled natively; a granted host call; loading a
//! plugin from the compiled-code cache; the policy gate and the breaker's count; alert
//! parsing; and per plugin language (`languages-LANG`), the starter plugin `palisade plugin
//! new` writes, the same logic in each, invoked in Palisade and on the floor and loaded from
//! the compiled-code cache.
//!
//! `cargo bench -p palisade-e2e --bench micro`. After criterion's own report, a summary gives the
//! median of each benchmark's samples and the ratios BENCHMARKS.md quotes, all from this run.
//! `PALISADE_BENCH_LANGUAGES` (default `rust,python,js,c`) chooses the languages; each is
//! scaffolded and built (or taken from an earlier build) only when one of its benchmarks runs,
//! so `-- invoke-triage` builds none and `-- languages` only those.

mod common;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use futures::StreamExt;
use palisade_alert::{Alert, Annotation, native};
use palisade_connectors::Registry;
use palisade_pipeline::config::Config;
use palisade_policy::{Decision, Proposal, Target};
use palisade_runtime::capability::{Grants, Operation, PluginContext};
use palisade_runtime::{InvocationStatus, Limits, Plugin, Runtime, RuntimeOptions};
use palisade_store::{BreakerCheck, BreakerLimits, Store};
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Per benchmark, each call of its routine, warm-up rounds included: the iterations and the
/// time per iteration in nanoseconds.
static SAMPLES: Mutex<BTreeMap<String, Vec<(u64, f64)>>> = Mutex::new(BTreeMap::new());

/// Per language, the size of its starter component in bytes.
static SIZES: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// Runs `routine(iterations) -> elapsed` as criterion's benchmark `id` of `group` and keeps
/// its samples for the summary.
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    group_name: &str,
    id: &str,
    mut routine: impl FnMut(u64) -> Duration,
) {
    let key = format!("{group_name}/{id}");
    group.bench_function(id, |b| {
        b.iter_custom(|iterations| {
            let elapsed = routine(iterations);
            SAMPLES
                .lock()
                .unwrap()
                .entry(key.clone())
                .or_default()
                .push((iterations, elapsed.as_nanos() as f64 / iterations as f64));
            elapsed
        })
    });
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The alert triage sees in the chain: a password spray that ip-reputation found malicious.
fn triage_input() -> Alert {
    let mut alert = native::parse_line(&common::spray_line(7, 92)).expect("a valid alert");
    alert.annotations.push(Annotation {
        source: "ip-reputation".into(),
        key: format!("intel:{}", common::source_ip(7)),
        value: "malicious score=90 sources=abuse-feed tags=password-spray".into(),
    });
    alert
}

fn triage_settings() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("vip_users".to_owned(), "ceo,cfo".to_owned()),
        ("crown_jewels".to_owned(), "dc01,payroll-db".to_owned()),
    ])
}

fn context(name: &str, settings: BTreeMap<String, String>) -> PluginContext {
    PluginContext {
        settings: Arc::new(settings),
        ..PluginContext::isolated(name, Limits::default())
    }
}

/// The context the pipeline gives a configured plugin (as `pipeline::plugin_context` does).
fn configured_context(config: &Config, name: &str, registry: &Registry, store: &Store) -> PluginContext {
    let plugin = config
        .plugins
        .iter()
        .find(|p| p.name == name)
        .expect("the plugin is configured");
    PluginContext {
        name: plugin.name.as_str().into(),
        grants: Arc::new(plugin.grants.clone()),
        connectors: registry.for_plugin(&plugin.connectors),
        settings: Arc::new(plugin.settings.clone()),
        http: plugin.http.clone().map(Arc::new),
        store: Some(store.clone()),
        limits: plugin.limits,
        policy: Arc::new(plugin.policy.clone()),
        simulate: false,
        measured: None,
        ledger: None,
        repeats: Arc::new(palisade_runtime::capability::Repeats::new(name)),
    }
}

fn load(
    rt: &tokio::runtime::Runtime,
    runtime: &Runtime,
    name: &str,
    path: &Path,
    context: PluginContext,
) -> Plugin {
    rt.block_on(runtime.load(name, path, context))
        .unwrap_or_else(|e| panic!("load {name}: {e}"))
}

/// Runs `iterations` fresh-instance invocations and checks the last one completed.
fn invoke_loop(rt: &tokio::runtime::Runtime, plugin: &Plugin, alert: &Alert, iterations: u64) -> Duration {
    rt.block_on(async {
        let started = Instant::now();
        let mut last = None;
        for _ in 0..iterations {
            last = Some(plugin.invoke(alert).await);
        }
        let elapsed = started.elapsed();
        let last = last.expect("at least one iteration");
        assert_eq!(last.status, InvocationStatus::Completed, "{last:?}");
        elapsed
    })
}

fn async_floor_loop(
    rt: &tokio::runtime::Runtime,
    floor: &common::floor::AsyncFloor,
    alert: &common::floor::Alert,
    iterations: u64,
) -> Duration {
    rt.block_on(async {
        let started = Instant::now();
        for _ in 0..iterations {
            black_box(floor.handle(alert).await.expect("handle succeeds"));
        }
        started.elapsed()
    })
}

/// The native plugin's input: the SDK's alert type, as the guest receives it.
fn sdk_alert(alert: &Alert) -> palisade_sdk::Alert {
    use palisade_alert::Entity as E;
    use palisade_sdk::{Device, Direction, Entity, Ip, SignInResult, User};
    let mut sdk = palisade_sdk::Alert::new(
        alert.id.clone(),
        alert.title.clone(),
        match alert.severity {
            palisade_alert::Severity::Informational => palisade_sdk::Severity::Informational,
            palisade_alert::Severity::Low => palisade_sdk::Severity::Low,
            palisade_alert::Severity::Medium => palisade_sdk::Severity::Medium,
            palisade_alert::Severity::High => palisade_sdk::Severity::High,
            palisade_alert::Severity::Critical => palisade_sdk::Severity::Critical,
        },
    );
    sdk.source_product = alert.source_product.clone();
    sdk.rule_id = alert.rule_id.clone();
    sdk.rule_name = alert.rule_name.clone();
    sdk.category = alert.category.clone();
    sdk.confidence = alert.confidence.unwrap_or(0);
    sdk.timestamp = alert.timestamp.clone();
    sdk.tags = alert.tags.clone();
    sdk.raw = alert.raw.clone();
    sdk.entities = alert
        .entities
        .iter()
        .map(|entity| match entity {
            E::User {
                name, email, sign_in, ..
            } => Entity::User(User {
                email: email.clone(),
                sign_in: sign_in.map(|s| match s {
                    palisade_alert::SignInResult::Success => SignInResult::Success,
                    palisade_alert::SignInResult::Failure => SignInResult::Failure,
                }),
                ..User::new(name.clone())
            }),
            E::Host { hostname, fqdn, .. } => Entity::Host(Device {
                fqdn: fqdn.clone(),
                ..Device::new(hostname.clone())
            }),
            E::Ip { address, direction } => Entity::Ip(Ip::new(
                address.to_string(),
                direction.map(|d| match d {
                    palisade_alert::Direction::Source => Direction::Source,
                    palisade_alert::Direction::Destination => Direction::Destination,
                }),
            )),
            other => panic!("the native baseline's alerts carry no {}", other.label()),
        })
        .collect();
    sdk.annotations = alert
        .annotations
        .iter()
        .map(|a| palisade_sdk::Annotation {
            source: a.source.clone(),
            key: a.key.clone(),
            value: a.value.clone(),
        })
        .collect();
    sdk
}

fn invocations(c: &mut Criterion) {
    let plugins = common::plugins();
    let rt = current_thread();
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");

    // triage: no host operation, three settings read and one log line.
    let alert = triage_input();
    let floor_alert = common::floor::alert(&alert);
    let triage = load(
        &rt,
        &runtime,
        "triage",
        &plugins.triage,
        context("triage", triage_settings()),
    );
    let async_floor = common::floor::AsyncFloor::new(&plugins.triage, triage_settings());
    let pooling_floor = common::floor::AsyncFloor::pooling(&plugins.triage, triage_settings());
    let sync_floor = common::floor::SyncFloor::new(&plugins.triage, triage_settings());
    let native_alert = sdk_alert(&alert);
    let native = |alert: &palisade_sdk::Alert| {
        let alert = alert.clone();
        let settings = ::triage::Settings::parse(Some("ceo,cfo"), Some("dc01,payroll-db"), None);
        ::triage::triage(&alert, &settings)
    };
    // The three agree before they are timed.
    let wasm_risk = rt
        .block_on(triage.invoke(&alert))
        .outcome
        .and_then(|o| o.risk_score);
    assert_eq!(wasm_risk, native(&native_alert).risk_score);
    assert_eq!(
        rt.block_on(async_floor.handle(&floor_alert)).unwrap().risk_score,
        wasm_risk
    );

    let name = "invoke-triage";
    let mut group = c.benchmark_group(name);
    bench(&mut group, name, "palisade", |n| {
        invoke_loop(&rt, &triage, &alert, n)
    });
    bench(&mut group, name, "floor-async", |n| {
        async_floor_loop(&rt, &async_floor, &floor_alert, n)
    });
    bench(&mut group, name, "floor-async-pooling", |n| {
        async_floor_loop(&rt, &pooling_floor, &floor_alert, n)
    });
    bench(&mut group, name, "floor-sync", |n| {
        let started = Instant::now();
        for _ in 0..n {
            black_box(sync_floor.handle(&floor_alert).expect("handle succeeds"));
        }
        started.elapsed()
    });
    bench(&mut group, name, "native", |n| {
        let started = Instant::now();
        for _ in 0..n {
            black_box(native(black_box(&native_alert)));
        }
        started.elapsed()
    });
    group.finish();

    // password-spray, below its confidence threshold: two settings and a log line, no
    // operation. The same machinery as triage with a larger component.
    let quiet = native::parse_line(&common::spray_line(8, 50)).expect("a valid alert");
    let quiet_floor = common::floor::alert(&quiet);
    let spray_settings = BTreeMap::from([
        ("min_confidence".to_owned(), "80".to_owned()),
        ("block_hours".to_owned(), "24".to_owned()),
    ]);
    let spray = load(
        &rt,
        &runtime,
        "password-spray",
        &plugins.password_spray,
        context("password-spray", spray_settings.clone()),
    );
    let spray_floor = common::floor::AsyncFloor::new(&plugins.password_spray, spray_settings);
    let name = "invoke-password-spray-skip";
    let mut group = c.benchmark_group(name);
    bench(&mut group, name, "palisade", |n| {
        invoke_loop(&rt, &spray, &quiet, n)
    });
    bench(&mut group, name, "floor-async", |n| {
        async_floor_loop(&rt, &spray_floor, &quiet_floor, n)
    });
    group.finish();

    // password-spray acting: revoke one account's sessions, block the address, open a ticket.
    // Palisade with the embedded connector (outbox file), a store in memory for the audit, and
    // the policy in dry-run, so the breaker's count does not grow with the iterations; the
    // floor answers each operation with `executed` at once.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config =
        Config::load(&common::chain_config(dir.path(), 4, "dry-run", 1_000_000)).expect("a valid config");
    std::fs::create_dir_all(dir.path().join("state")).expect("create the state folder");
    let registry = Registry::build(&config.connectors).expect("the connectors");
    let store = Store::in_memory().expect("a store");
    let acting = load(
        &rt,
        &runtime,
        "password-spray",
        &plugins.password_spray,
        configured_context(&config, "password-spray", &registry, &store),
    );
    let loud = native::parse_line(&common::spray_line(9, 92)).expect("a valid alert");
    let loud_floor = common::floor::alert(&loud);
    let calls = rt.block_on(acting.invoke(&loud)).calls;
    assert_eq!(calls.actions.len(), 3, "{calls:?}");
    let name = "invoke-password-spray-act";
    let mut group = c.benchmark_group(name);
    bench(&mut group, name, "palisade", |n| {
        invoke_loop(&rt, &acting, &loud, n)
    });
    bench(&mut group, name, "floor-async", |n| {
        async_floor_loop(&rt, &spray_floor, &loud_floor, n)
    });
    group.finish();
}

fn host_calls(c: &mut Criterion) {
    let plugins = common::plugins();
    let rt = current_thread();
    let runtime = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
    let store = Store::in_memory().expect("a store");
    store
        .kv()
        .set(
            "bench",
            "bench-key",
            b"value",
            None,
            palisade_store::KvQuota::default(),
        )
        .expect("seed the key");
    let alert = native::parse_line(&common::spray_line(1, 92)).expect("a valid alert");
    let floor_alert = common::floor::alert(&alert);
    let name = "kv-get";
    let mut group = c.benchmark_group(name);
    for gets in [0u32, 100] {
        let settings = BTreeMap::from([("kv_gets".to_owned(), gets.to_string())]);
        let context = PluginContext {
            grants: Arc::new(Grants::new([Operation::parse("kv.get").expect("kv.get exists")])),
            store: Some(store.clone()),
            limits: Limits {
                host_calls: 1000,
                ..Limits::default()
            },
            ..context("bench", settings.clone())
        };
        let plugin = load(&rt, &runtime, "bench", &plugins.bench, context);
        let outcome = rt.block_on(plugin.invoke(&alert)).outcome.expect("an outcome");
        assert!(
            outcome.notes.contains(&("answered".to_owned(), gets.to_string())),
            "{outcome:?}"
        );
        let floor = common::floor::AsyncFloor::new(&plugins.bench, settings);
        bench(&mut group, name, &format!("palisade-{gets}"), |n| {
            invoke_loop(&rt, &plugin, &alert, n)
        });
        bench(&mut group, name, &format!("floor-async-{gets}"), |n| {
            async_floor_loop(&rt, &floor, &floor_alert, n)
        });
    }
    group.finish();
}

fn loading(c: &mut Criterion) {
    let plugins = common::plugins();
    let rt = current_thread();
    let cache = tempfile::tempdir().expect("a temporary folder");
    let cached = Runtime::new(&RuntimeOptions {
        cache_dir: Some(cache.path().join("compiled")),
        ..RuntimeOptions::default()
    })
    .expect("a runtime");
    let uncached = Runtime::new(&RuntimeOptions::default()).expect("a runtime");
    // Fills the cache.
    drop(load(
        &rt,
        &cached,
        "triage",
        &plugins.triage,
        context("triage", triage_settings()),
    ));

    let name = "load-triage";
    let mut group = c.benchmark_group(name);
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    bench(&mut group, name, "warm-cache", |n| {
        let started = Instant::now();
        for _ in 0..n {
            drop(load(
                &rt,
                &cached,
                "triage",
                &plugins.triage,
                context("triage", triage_settings()),
            ));
        }
        started.elapsed()
    });
    bench(&mut group, name, "no-cache-compile", |n| {
        let started = Instant::now();
        for _ in 0..n {
            drop(load(
                &rt,
                &uncached,
                "triage",
                &plugins.triage,
                context("triage", triage_settings()),
            ));
        }
        started.elapsed()
    });
    bench(&mut group, name, "runtime-new", |n| {
        let started = Instant::now();
        for _ in 0..n {
            drop(Runtime::new(&RuntimeOptions::default()).expect("a runtime"));
        }
        started.elapsed()
    });
    group.finish();
}

/// One language's starter, loaded into Palisade and onto the floor.
struct Language {
    starter: common::starter::Starter,
    plugin: Plugin,
    alert: Alert,
    floor: common::floor::AsyncFloor,
    floor_alert: common::floor::Alert,
}

impl Language {
    /// Scaffolds and builds (or reuses) the starter, loads it through `runtime` (which fills
    /// its cache), and checks that Palisade and the floor give the outcome the project's fixture
    /// expects (`fixtures/expect.toml`: risk 56, suspicious) before anything is timed.
    fn new(lang: &str, rt: &tokio::runtime::Runtime, runtime: &Runtime, cache: &Path) -> Language {
        let starter = common::starter::starter(lang);
        let size = std::fs::metadata(&starter.wasm).expect("the component").len();
        SIZES.lock().unwrap().insert(lang.to_owned(), size);
        let alert = native::parse_line(&starter.alert).expect("the fixture alert parses");
        let floor_alert = common::floor::alert(&alert);
        let plugin = load(
            rt,
            runtime,
            &starter_name(lang),
            &starter.wasm,
            starter_context(lang),
        );
        let floor = common::floor::AsyncFloor::cached(&starter.wasm, BTreeMap::new(), cache);
        let outcome = rt
            .block_on(plugin.invoke(&alert))
            .outcome
            .unwrap_or_else(|| panic!("{lang}: no outcome"));
        assert_eq!(outcome.risk_score, Some(56), "{lang}: {outcome:?}");
        assert_eq!(outcome.tags, ["triage:suspicious"], "{lang}: {outcome:?}");
        let on_floor = rt.block_on(floor.handle(&floor_alert)).expect("handle succeeds");
        assert_eq!(on_floor.risk_score, Some(56), "{lang}: floor {on_floor:?}");
        assert_eq!(on_floor.tags, ["triage:suspicious"], "{lang}: floor {on_floor:?}");
        Language {
            starter,
            plugin,
            alert,
            floor,
            floor_alert,
        }
    }
}

fn starter_name(lang: &str) -> String {
    format!("starter-{lang}")
}

/// As `palisade plugin test` runs a project: no settings (`min_confidence` at its default).
fn starter_context(lang: &str) -> PluginContext {
    context(&starter_name(lang), BTreeMap::new())
}

/// The languages to measure: `PALISADE_BENCH_LANGUAGES`, or all.
fn selected_languages() -> Vec<String> {
    let chosen =
        std::env::var("PALISADE_BENCH_LANGUAGES").unwrap_or_else(|_| common::starter::LANGUAGES.join(","));
    chosen
        .split(',')
        .map(str::trim)
        .filter(|lang| !lang.is_empty())
        .map(|lang| {
            assert!(
                common::starter::LANGUAGES.contains(&lang),
                "PALISADE_BENCH_LANGUAGES: unknown language {lang}"
            );
            lang.to_owned()
        })
        .collect()
}

/// Per language, the starter plugin (the same logic in each): `palisade` (`Plugin::invoke`, a
/// fresh instance), `floor-async` (the bare wasmtime host) on the project's fixture alert, and
/// `load-warm-cache` (`Runtime::load` from a warm compiled-code cache: read, hash, deserialize,
/// link, `describe()`). The caches live under target/ (`bench-compiled`), so only a changed
/// component is compiled again.
fn languages(c: &mut Criterion) {
    let rt = current_thread();
    let cache = palisade_e2e::target_dir().join("bench-compiled");
    let runtime = Runtime::new(&RuntimeOptions {
        cache_dir: Some(cache.clone()),
        ..RuntimeOptions::default()
    })
    .expect("a runtime");
    for lang in selected_languages() {
        // Set up on the first benchmark of the language that runs: none when a filter skips
        // them all. Outside the timed part of every routine.
        let setup = OnceCell::new();
        let ready = || setup.get_or_init(|| Language::new(&lang, &rt, &runtime, &cache));
        let name = format!("languages-{lang}");
        let mut group = c.benchmark_group(&name);
        bench(&mut group, &name, "palisade", |n| {
            let language = ready();
            invoke_loop(&rt, &language.plugin, &language.alert, n)
        });
        bench(&mut group, &name, "floor-async", |n| {
            let language = ready();
            async_floor_loop(&rt, &language.floor, &language.floor_alert, n)
        });
        group.sampling_mode(SamplingMode::Flat).sample_size(10);
        bench(&mut group, &name, "load-warm-cache", |n| {
            let wasm = &ready().starter.wasm;
            let started = Instant::now();
            for _ in 0..n {
                drop(load(
                    &rt,
                    &runtime,
                    &starter_name(&lang),
                    wasm,
                    starter_context(&lang),
                ));
            }
            started.elapsed()
        });
        group.finish();
    }
}

fn policy(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let config = Config::load(&common::chain_config(dir.path(), 4, "enforce", 50)).expect("a valid config");
    let policy = &config
        .plugins
        .iter()
        .find(|p| p.name == "password-spray")
        .expect("configured")
        .policy;
    let revoke = Operation::parse("identity.revoke-sessions").expect("exists");
    // As the gate sees an account once its connector resolved it: every name it answers to.
    let account = |login: &str| Target::Account {
        id: format!("00u-{login}"),
        names: vec![
            login.to_owned(),
            login.split('@').next().unwrap_or(login).to_owned(),
        ],
        groups: vec!["Everyone".to_owned()],
    };
    let alice = account("user1@example.com");
    let ceo = account("ceo@example.com");
    let proposal = |target| Proposal {
        operation: revoke,
        target,
        confidence: Some(92),
    };
    assert_eq!(policy.decide(&proposal(&alice)), Decision::Execute);
    assert!(matches!(policy.decide(&proposal(&ceo)), Decision::Hold(_)));

    let name = "policy-decide";
    let mut group = c.benchmark_group(name);
    for (id, target) in [("allowed", &alice), ("protected", &ceo)] {
        bench(&mut group, name, id, |n| {
            let started = Instant::now();
            for _ in 0..n {
                black_box(policy.decide(black_box(&proposal(target))));
            }
            started.elapsed()
        });
    }
    group.finish();

    // The blast-radius count every executed destructive operation waits for: a round trip to
    // the store's writer thread and a committed transaction in the database file. One at a
    // time, and sixteen at once as the default run has in flight, where commits are shared.
    let store = Store::open(&dir.path().join("breaker.db")).expect("a store");
    let breaker = store.breaker();
    let limits = BreakerLimits {
        window: Duration::from_secs(3600),
        per_plugin: Some(u32::MAX),
        global: Some(u32::MAX),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("a tokio runtime");
    let admit = |breaker: palisade_store::Breaker| async move {
        let check = breaker.admit("password-spray", limits).await;
        assert_eq!(check.expect("counted"), BreakerCheck::Allowed);
    };
    let name = "breaker-admit";
    let mut group = c.benchmark_group(name);
    bench(&mut group, name, "one-at-a-time", |n| {
        let started = Instant::now();
        rt.block_on(async {
            for _ in 0..n {
                admit(breaker.clone()).await;
            }
        });
        started.elapsed()
    });
    bench(&mut group, name, "16-in-flight", |n| {
        let started = Instant::now();
        rt.block_on(async {
            let mut admits =
                futures::stream::iter((0..n).map(|_| admit(breaker.clone()))).buffer_unordered(16);
            while admits.next().await.is_some() {}
        });
        started.elapsed()
    });
    group.finish();
}

fn parsing(c: &mut Criterion) {
    let line = common::spray_line(42, 92);
    let without_id = line.replacen(r#""id":"bench-42","#, "", 1);
    assert!(native::parse_line(&without_id).unwrap().id.starts_with("sha256-"));
    let alert = native::parse_line(&line).expect("a valid alert");

    let name = "alert";
    let mut group = c.benchmark_group(name);
    for (id, text) in [("parse", &line), ("parse-derive-id", &without_id)] {
        bench(&mut group, name, id, |n| {
            let started = Instant::now();
            for _ in 0..n {
                black_box(native::parse_line(black_box(text)).expect("valid"));
            }
            started.elapsed()
        });
    }
    bench(&mut group, name, "to-abi", |n| {
        let started = Instant::now();
        for _ in 0..n {
            black_box(palisade_abi::bindings::types::Alert::from(black_box(&alert)));
        }
        started.elapsed()
    });
    group.finish();
}

/// The median time per iteration of `key`'s samples. Criterion warms up first, calling the
/// routine with 1, 2, 4, ... iterations, then takes its samples; that leading doubling run is
/// left out (and with it, rarely, a sample or two that happen to continue it), unless it is
/// all there is (`--test` calls each routine once). The first rounds are the slowest (pages
/// faulted in), enough to move a median of 20 samples by 10 % or more.
fn median(key: &str) -> Option<f64> {
    let samples = SAMPLES.lock().unwrap();
    let calls = samples.get(key)?;
    let mut warm_up = 0;
    let mut doubling = 1;
    for (iterations, _) in calls {
        if *iterations != doubling {
            break;
        }
        warm_up += 1;
        doubling *= 2;
    }
    let measured = if warm_up < calls.len() {
        &calls[warm_up..]
    } else {
        &calls[..]
    };
    let mut values: Vec<f64> = measured.iter().map(|(_, nanos)| *nanos).collect();
    values.sort_by(f64::total_cmp);
    Some(values[values.len() / 2])
}

fn show(nanos: f64) -> String {
    if nanos >= 1e6 {
        format!("{:.2} ms", nanos / 1e6)
    } else if nanos >= 1e3 {
        format!("{:.1} us", nanos / 1e3)
    } else {
        format!("{nanos:.0} ns")
    }
}

/// The medians of this run, and the ratios BENCHMARKS.md quotes (those whose benchmarks ran).
fn summary() {
    let keys: Vec<String> = SAMPLES.lock().unwrap().keys().cloned().collect();
    if keys.is_empty() {
        return;
    }
    println!("\n== summary: median time per iteration (this run) ==");
    println!("machine: {}", common::machine());
    for key in &keys {
        println!("{key:<44} {:>12}", median(key).map_or_else(String::new, show));
    }
    println!("\n== ratios ==");
    let ratio = |a: &str, b: &str| Some(median(a)? / median(b)?);
    for base in ["floor-async", "floor-async-pooling", "floor-sync", "native"] {
        if let Some(r) = ratio("invoke-triage/palisade", &format!("invoke-triage/{base}")) {
            println!("triage: palisade / {base:<20} {r:>8.2}x");
        }
    }
    for group in ["invoke-password-spray-skip", "invoke-password-spray-act"] {
        if let Some(r) = ratio(&format!("{group}/palisade"), &format!("{group}/floor-async")) {
            println!("{group}: palisade / floor-async {r:.2}x");
        }
    }
    for host in ["palisade", "floor-async"] {
        let per_call = (|| {
            Some((median(&format!("kv-get/{host}-100"))? - median(&format!("kv-get/{host}-0"))?) / 100.0)
        })();
        if let Some(per_call) = per_call {
            println!("kv.get per call, {host:<12} {:>12}", show(per_call));
        }
    }
    if let Some(warm) = median("load-triage/warm-cache") {
        println!("load triage from the warm cache: {} (target <= 5 ms)", show(warm));
    }
    language_summary();
}

/// Per language: the medians, palisade / floor, each language against Rust, the warm-cache
/// load against its target (5 ms for Rust, 30 ms for Python or JavaScript; C, compiled ahead
/// like Rust, against Rust's) and the component's size.
fn language_summary() {
    let sizes = SIZES.lock().unwrap().clone();
    if sizes.is_empty() {
        return;
    }
    println!("\n== languages: the starter plugin (same logic), this run ==");
    println!(
        "{:<8} {:>10} {:>10} {:>8} {:>9} {:>9} {:>10} {:>8} {:>9} {:>9}",
        "lang", "palisade", "floor", "pal/flr", "vs rust", "flr/rust", "load", "target", "load/tgt", "size"
    );
    let get = |lang: &str, id: &str| median(&format!("languages-{lang}/{id}"));
    for lang in common::starter::LANGUAGES {
        let Some(size) = sizes.get(lang) else { continue };
        let cell = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), show);
        let times = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}x"));
        let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
        let palisade = get(lang, "palisade");
        let floor = get(lang, "floor-async");
        let load = get(lang, "load-warm-cache");
        let target_ms = if matches!(lang, "python" | "js") {
            30.0
        } else {
            5.0
        };
        println!(
            "{lang:<8} {:>10} {:>10} {:>8} {:>9} {:>9} {:>10} {:>8} {:>9} {:>9}",
            cell(palisade),
            cell(floor),
            times(ratio(palisade, floor)),
            times(ratio(palisade, get("rust", "palisade"))),
            times(ratio(floor, get("rust", "floor-async"))),
            cell(load),
            format!("{target_ms:.0} ms"),
            times(load.map(|l| l / (target_ms * 1e6))),
            if *size >= 1_000_000 {
                format!("{:.1} MB", *size as f64 / 1e6)
            } else {
                format!("{:.0} kB", *size as f64 / 1e3)
            },
        );
    }
}

fn main() {
    // Criterion's reports go to the workspace's target folder wherever this runs from.
    let root = palisade_e2e::workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir));
    let mut criterion = Criterion::default()
        .output_directory(&target.join("criterion"))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    invocations(&mut criterion);
    host_calls(&mut criterion);
    loading(&mut criterion);
    languages(&mut criterion);
    policy(&mut criterion);
    parsing(&mut criterion);
    criterion.final_summary();
    summary();
}
