//! End to end: the C plugin `hash-blocklist`, built from source with its pinned toolchain
//! (wit-bindgen, clang-19, wasm-tools, the wasmtime 48 preview1 adapter), through the real
//! binary: a seeded digest is quarantined on its host and an unknown one is not, a digest
//! learned from a malicious verdict is quarantined in a later run (kv persists), a protected
//! host's quarantine is held by the policy gate, malformed digests reach no one,
//! `palisade plugin test` passes on the plugin's own fixtures, and the plugin's C frees what
//! it owns (under AddressSanitizer, against a fake host).

use palisade_e2e::{Case, Receiver, Recorded, Run, foreign_plugin, note, strings, workspace_root};
use serde_json::{Value, json};

/// sha256("invoice.exe-dropper"), sha256("loader.dll-stage2"), sha256("unknown-tool.exe").
const DROPPER: &str = "3519085147f5809bf270fae2b66a188bf08c794acedd860dc4dfd36f099e656c";
const LOADER: &str = "aede36f6ad3f8fa2e960ce6df63a878daa2b4015d5979d79456ed7be14f1f683";
const UNKNOWN: &str = "ed4b1cc6d26c2cb4689f839699922f40d4ed910513537fe37cfa66685cf4ee9d";

const PLUGIN: &str = "hash-blocklist";

/// endpoint and intel served by the receiver (intel answers 404, not found, by default);
/// `EXTRA` is replaced by each test's settings, policy and other plugins.
const CONFIG: &str = r#"
[defaults.connectors]
endpoint = "hook"
intel = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000

[plugins.hash-blocklist]
path = "${HASH_BLOCKLIST}"
stage = "respond"
grants = ["kv.get", "kv.set", "kv.delete", "intel.lookup", "endpoint.quarantine-file"]

EXTRA
"#;

fn case_with(receiver: &Receiver, extra: &str) -> Case {
    let wasm = foreign_plugin(PLUGIN);
    let case = Case::new()
        .receiver(receiver)
        .var("HASH_BLOCKLIST", &wasm.display().to_string());
    case.config(&CONFIG.replace("EXTRA", extra));
    case
}

/// An EDR alert in the native format with these entities.
fn edr_alert(id: &str, severity: &str, confidence: u8, entities: Value) -> String {
    json!({
        "id": id,
        "title": "Suspicious binary executed",
        "source": "EDR",
        "rule": {"id": "edr-exec-17", "name": "Suspicious execution"},
        "category": "malware",
        "severity": severity,
        "confidence": confidence,
        "timestamp": "2026-11-26T11:04:00Z",
        "entities": entities,
        "tags": ["edr"],
    })
    .to_string()
}

fn host(name: &str) -> Value {
    json!({"type": "host", "hostname": name})
}

fn sha256(value: &str) -> Value {
    json!({"type": "file-hash", "algorithm": "sha256", "value": value})
}

/// The (hostname, sha256) of every quarantine the connector was asked for, in order.
fn quarantines(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .calls("endpoint", "quarantine-file")
        .iter()
        .map(|r: &Recorded| {
            let field = |name: &str| r.request()[name].as_str().unwrap_or_default().to_owned();
            (field("hostname"), field("sha256"))
        })
        .collect()
}

fn pair(host: &str, digest: &str) -> (String, String) {
    (host.to_owned(), digest.to_owned())
}

/// The plugin's quarantine actions on alert `id`, as (target, status).
fn actions(run: &Run, id: &str) -> Vec<(String, String)> {
    run.plugin(id, PLUGIN)["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|a| a["operation"] == "endpoint.quarantine-file")
        .map(|a| {
            let field = |name: &str| a[name].as_str().unwrap_or_default().to_owned();
            (field("target"), field("status"))
        })
        .collect()
}

fn receipt_note(host: &str, digest: &str) -> String {
    format!("endpoint.quarantine-file:{host}:{digest}")
}

#[test]
fn a_seeded_digest_is_quarantined_once_on_its_host_and_an_unknown_one_is_not() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        &format!("[plugins.hash-blocklist.settings]\nseed = \"{DROPPER},\\n {LOADER}\"\n"),
    );
    case.alerts(&[edr_alert(
        "seed-1",
        "high",
        90,
        json!([host("laptop-7"), sha256(DROPPER), sha256(UNKNOWN)]),
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        quarantines(&receiver),
        [pair("laptop-7", DROPPER)],
        "{:#?}\n{run}",
        receiver.requests()
    );
    let request = &receiver.calls("endpoint", "quarantine-file")[0];
    let reason = request.request()["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains(DROPPER),
        "the reason names the digest: {reason:?}"
    );
    // The unknown digest was only asked about, never acted on.
    let mentions: Vec<String> = receiver
        .requests()
        .iter()
        .filter(|r| r.raw_body.contains(UNKNOWN))
        .map(|r| format!("{}.{}", r.capability(), r.operation()))
        .collect();
    assert_eq!(mentions, ["intel.lookup"], "{run}");

    let plugin = run.plugin("seed-1", PLUGIN);
    assert_eq!(actions(&run, "seed-1"), [pair("laptop-7", "executed")], "{run}");
    assert_eq!(
        note(&plugin, "seed").as_deref(),
        Some("2 loaded, 0 removed"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, &format!("listed:{DROPPER}")).as_deref(),
        Some("seed"),
        "{plugin:#}"
    );
    assert_eq!(note(&plugin, &format!("listed:{UNKNOWN}")), None, "{plugin:#}");
    assert_eq!(
        note(&plugin, &receipt_note("laptop-7", DROPPER)).as_deref(),
        Some("executed"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "quarantined").as_deref(),
        Some("1 of 1"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "hashes_checked").as_deref(),
        Some("2"),
        "{plugin:#}"
    );
    assert_eq!(plugin["outcome"]["verdict"], "malicious", "{plugin:#}");
    let mut tags = strings(&plugin["outcome"]["tags"]);
    tags.sort();
    assert_eq!(tags, ["hash-blocklist", "quarantined"], "{plugin:#}");

    // A second run with the same seed does not load it again: kv remembers it.
    case.alerts(&[edr_alert(
        "seed-2",
        "high",
        90,
        json!([host("laptop-9"), sha256(LOADER)]),
    )]);
    let again = case.run();
    assert_eq!(again.code, Some(0), "{again}");
    let plugin = again.plugin("seed-2", PLUGIN);
    assert_eq!(note(&plugin, "seed"), None, "{plugin:#}");
    assert_eq!(
        quarantines(&receiver),
        [pair("laptop-7", DROPPER), pair("laptop-9", LOADER)],
        "{again}"
    );
}

#[test]
fn a_digest_learned_from_a_malicious_verdict_is_quarantined_in_a_later_run() {
    let receiver = Receiver::start();
    // triage runs first and sets the verdict: malicious for a critical, confident alert,
    // benign for a low one.
    let case = case_with(
        &receiver,
        "[plugins.triage]\npath = \"${TRIAGE}\"\nstage = \"triage\"\n",
    );
    case.alerts(&[edr_alert(
        "learn-1",
        "critical",
        95,
        json!([host("ws-12"), sha256(LOADER)]),
    )]);
    let first = case.run();
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(first.plugins_run("learn-1"), ["triage", PLUGIN], "{first}");
    let plugin = first.plugin("learn-1", PLUGIN);
    assert_eq!(note(&plugin, "learned").as_deref(), Some("1"), "{plugin:#}");
    let why = note(&plugin, &format!("listed:{LOADER}")).unwrap_or_default();
    assert!(
        why.starts_with("learned from alert learn-1") && why.contains("verdict"),
        "{why:?}"
    );
    assert_eq!(quarantines(&receiver), [pair("ws-12", LOADER)], "{first}");

    // A later alert, in another process, that nothing else condemns: triage finds it benign
    // and intel does not know the digest, so only the learned entry can make it match.
    case.alerts(&[edr_alert(
        "later-1",
        "low",
        80,
        json!([host("ws-40"), sha256(LOADER)]),
    )]);
    let later = case.run();
    assert_eq!(later.code, Some(0), "{later}");
    let triage = later.plugin("later-1", "triage");
    assert_eq!(triage["outcome"]["verdict"], "benign", "{triage:#}");
    let plugin = later.plugin("later-1", PLUGIN);
    assert_eq!(note(&plugin, "learned"), None, "{plugin:#}");
    assert_eq!(
        note(&plugin, &format!("listed:{LOADER}")).as_deref(),
        Some(why.as_str()),
        "the entry says where it was learned: {plugin:#}"
    );
    assert_eq!(
        quarantines(&receiver),
        [pair("ws-12", LOADER), pair("ws-40", LOADER)],
        "{later}"
    );
    assert_eq!(actions(&later, "later-1"), [pair("ws-40", "executed")], "{later}");
}

#[test]
fn a_protected_hosts_quarantine_is_held_by_the_policy_gate_and_the_other_host_is_quarantined() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        &format!(
            "[plugins.hash-blocklist.settings]\nseed = \"{DROPPER}\"\n\n[policy.protected]\nhosts = [\"dc-*\"]\n"
        ),
    );
    case.alerts(&[edr_alert(
        "dc-1",
        "high",
        95,
        json!([
            host("dc-01"),
            {"type": "process", "name": "invoice.exe", "pid": 4242, "host": "laptop-7"},
            sha256(DROPPER)
        ]),
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        quarantines(&receiver),
        [pair("laptop-7", DROPPER)],
        "the protected host reaches no connector: {:#?}",
        receiver.requests()
    );
    let mut statuses = actions(&run, "dc-1");
    statuses.sort();
    assert_eq!(
        statuses,
        [pair("dc-01", "held"), pair("laptop-7", "executed")],
        "{run}"
    );
    let held = run.plugin("dc-1", PLUGIN)["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|a| a["target"] == "dc-01")
        .cloned()
        .unwrap_or_default();
    let approval = held["approval_id"].as_str().unwrap_or_default();
    assert!(!approval.is_empty(), "{held:#}");

    let plugin = run.plugin("dc-1", PLUGIN);
    assert_eq!(
        note(&plugin, &receipt_note("dc-01", DROPPER)),
        Some(format!("held: {approval}")),
        "the plugin saw the receipt the gate gave: {plugin:#}"
    );
    assert_eq!(
        note(&plugin, "quarantined").as_deref(),
        Some("1 of 2"),
        "{plugin:#}"
    );
    let mut tags = strings(&plugin["outcome"]["tags"]);
    tags.sort();
    assert_eq!(
        tags,
        ["awaiting-approval", "hash-blocklist", "quarantined"],
        "{plugin:#}"
    );
    assert_eq!(run.summary()["actions_held"], 1, "{run}");
}

#[test]
fn malformed_digests_and_other_algorithms_reach_no_one() {
    let receiver = Receiver::start();
    let case = case_with(
        &receiver,
        &format!(
            "[plugins.hash-blocklist.settings]\nseed = \"{DROPPER}, DEADBEEF, {}\"\n",
            DROPPER.to_uppercase()
        ),
    );
    let nul_inside = format!("{}\u{0}", &DROPPER[..63]);
    assert_eq!(nul_inside.len(), 64, "the length is right; a byte is not");
    case.alerts(&[edr_alert(
        "bad-1",
        "high",
        95,
        json!([
            host("laptop-7"),
            sha256(&DROPPER.to_uppercase()),
            sha256(&DROPPER[..63]),
            sha256(&format!("{DROPPER}0")),
            sha256(&format!("{}g", &DROPPER[..63])),
            sha256(&nul_inside),
            {"type": "file-hash", "algorithm": "md5", "value": DROPPER},
        ]),
    )]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        receiver.requests().is_empty(),
        "no intel lookup and no quarantine: {:#?}",
        receiver.requests()
    );
    let plugin = run.plugin("bad-1", PLUGIN);
    assert_eq!(
        note(&plugin, "hashes_checked").as_deref(),
        Some("0"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "hashes_malformed").as_deref(),
        Some("5"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "hashes_ignored").as_deref(),
        Some("1 MD5/SHA-1 (quarantine-file takes a SHA-256)"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "seed_rejected").as_deref(),
        Some("2 entries are not SHA-256 digests (64 lower-case hex)"),
        "{plugin:#}"
    );
    assert_eq!(
        note(&plugin, "seed").as_deref(),
        Some("1 loaded, 0 removed"),
        "{plugin:#}"
    );
    assert_eq!(plugin["outcome"]["verdict"], Value::Null, "{plugin:#}");
    assert!(actions(&run, "bad-1").is_empty(), "{run}");
}

#[test]
fn plugin_test_passes_on_the_plugins_own_fixtures_and_fails_without_intel() {
    let wasm = foreign_plugin(PLUGIN).display().to_string();
    let fixtures = workspace_root().join("plugins/hash-blocklist/fixtures");
    let file = |name: &str| fixtures.join(name).display().to_string();
    let (alert, replies, expect) = (file("alert.json"), file("replies.toml"), file("expect.toml"));
    let args = |extra: &[&'static str]| {
        let mut args: Vec<String> = ["plugin", "test", &wasm, "--alert", &alert, "--replies", &replies]
            .iter()
            .map(|a| a.to_string())
            .collect();
        args.extend(["--expect".to_owned(), expect.clone()]);
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let case = Case::new();

    let passing = args(&[]);
    let run = case.palisade(&passing.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("expectations met"), "{run}");
    assert!(
        run.stdout.contains("endpoint.quarantine-file build-3: executed"),
        "the process entity's host counts: {run}"
    );

    // Without intel nothing condemns the dropper: the same expectations must fail.
    let failing = args(&["--setting", "intel=off"]);
    let run = case.palisade(&failing.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout
            .contains("call expected but not made: endpoint.quarantine-file laptop-7"),
        "{run}"
    );
}

#[test]
fn the_plugins_c_code_frees_what_it_owns_on_every_path_under_address_sanitizer() {
    // A fresh instance per alert would hide a leak inside wasmtime, so the plugin's C runs
    // natively against a fake host that speaks the bindings' memory layout.
    let script = workspace_root().join("plugins/hash-blocklist/leakcheck/run");
    let output = std::process::Command::new(&script)
        .current_dir(workspace_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}\n{stdout}\n{stderr}", output.status);
    assert!(
        stdout.contains("every path ran, nothing leaked"),
        "{stdout}\n{stderr}"
    );
}
