//! `palisade plugin test`: one plugin, one fixture alert, connector answers from a file, no
//! network. Shows what the plugin asked the host to do and what it concluded; with `--expect`,
//! says where that differs from what the author expected.
//!
//! Every capability is served by an embedded connector in a scratch folder whose data files
//! are written from the replies file, so the plugin runs through the same gate, grants and
//! backends as under `palisade run`.

use super::exit;
use palisade_alert::{Alert, Verdict};
use palisade_connectors::intel::Report;
use palisade_pipeline::config::Config;
use palisade_pipeline::{Pipeline, RunMode};
use palisade_runtime::capability::{ActionResult, PluginContext};
use palisade_runtime::{InvocationStatus, Limits, Runtime, RuntimeOptions};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct TestArgs {
    /// The plugin component (.wasm).
    file: PathBuf,
    /// The fixture alert: one alert in any format `palisade run` reads.
    #[arg(long)]
    alert: PathBuf,
    /// What the connectors answer (TOML: [[intel]], [[users]], [[hosts]], [[events]]).
    #[arg(long)]
    replies: Option<PathBuf>,
    /// What the run should produce (TOML: calls, verdict, risk_score, tags, notes); exit 1
    /// with a diff when it does not.
    #[arg(long)]
    expect: Option<PathBuf>,
    /// An operation to grant (repeatable); default: what the plugin's describe() asks for.
    #[arg(long = "grant", value_name = "OP")]
    grants: Vec<String>,
    /// A plugin setting, as `config.get` returns it (repeatable).
    #[arg(long = "setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    settings: Vec<(String, String)>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}

/// Connector answers, as the replies file gives them.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Replies {
    /// `intel.lookup` answers, in the embedded indicators file's shape.
    #[serde(default)]
    pub intel: Vec<Report>,
    #[serde(default)]
    pub users: Vec<UserReply>,
    #[serde(default)]
    pub hosts: Vec<HostReply>,
    #[serde(default)]
    pub events: Vec<EventReply>,
}

/// An `identity.lookup-user` answer; `id` defaults to the name.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserReply {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Other names the directory resolves to this account (short name, other addresses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
}

/// An `endpoint.lookup-host` answer; `id` defaults to the hostname.
#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HostReply {
    #[serde(default)]
    pub id: Option<String>,
    pub hostname: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default)]
    pub ip_addresses: Vec<String>,
    #[serde(default)]
    pub isolated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// A `siem.search` event: `raw` is one line of the embedded events file.
#[derive(Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventReply {
    pub raw: toml::Table,
}

fn yes() -> bool {
    true
}

/// What the author expects; what is left out is not compared.
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub verdict: Option<Verdict>,
    pub risk_score: Option<u8>,
    /// `"operation target"` (or just `"operation"` for one denied), as an exact set.
    pub calls: Option<Vec<String>>,
    /// Calls without side effects (`"intel.lookup 203.0.113.7"`, `"kv.get seen:alice"`), as an
    /// exact set.
    pub reads: Option<Vec<String>>,
    /// Tags the plugin added, as an exact set.
    pub tags: Option<Vec<String>>,
    /// Notes that must be there with these values; others may be too.
    pub notes: Option<BTreeMap<String, String>>,
}

/// One operation the plugin asked for, and what became of it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Call {
    pub operation: String,
    /// Empty for a denied operation, which never reaches a target.
    pub target: String,
    /// executed, failed, held, refused, simulated or denied.
    pub status: String,
    /// The gate's or connector's reason, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Call {
    /// How `calls` in an expect file names it.
    pub fn key(&self) -> String {
        if self.target.is_empty() {
            self.operation.clone()
        } else {
            format!("{} {}", self.operation, self.target)
        }
    }
}

/// What one run produced, in the terms an expect file uses.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Observed {
    pub calls: Vec<Call>,
    /// Lookups, searches and plugin state, with `status` the answer (`answered`, `not-found`, ...).
    pub reads: Vec<Call>,
    pub verdict: Option<Verdict>,
    pub risk_score: Option<u8>,
    pub tags: Vec<String>,
    pub notes: Vec<(String, String)>,
}

/// Reads a TOML file into `T`; errors are `file:line:column: message`.
pub fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, String> {
    let text =
        std::fs::read_to_string(path).map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
    parse_toml(path, &text)
}

pub fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, String> {
    toml::from_str(text).map_err(|error| {
        let (line, column) = error.span().map_or((1, 1), |span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |at| at + 1) + 1;
            (line, column)
        });
        format!("{}:{line}:{column}: {}", path.display(), error.message().trim())
    })
}

/// The differences between what was expected and what happened; empty when they agree.
pub fn compare(expect: &Expect, observed: &Observed) -> Vec<String> {
    let mut diffs = Vec::new();
    for (expected, made, what) in [
        (&expect.calls, &observed.calls, "call"),
        (&expect.reads, &observed.reads, "read"),
    ] {
        let Some(expected) = expected else { continue };
        let wanted: BTreeSet<&str> = expected.iter().map(String::as_str).collect();
        let made: BTreeMap<String, &Call> = made.iter().map(|call| (call.key(), call)).collect();
        for missing in wanted.iter().filter(|key| !made.contains_key(**key)) {
            diffs.push(format!("{what} expected but not made: {missing}"));
        }
        for (key, call) in made.iter().filter(|(key, _)| !wanted.contains(key.as_str())) {
            diffs.push(format!("{what} made but not expected: {key} ({})", call.status));
        }
    }
    if let Some(verdict) = expect.verdict
        && observed.verdict != Some(verdict)
    {
        diffs.push(format!(
            "verdict: expected {verdict}, got {}",
            observed.verdict.map_or("none".to_owned(), |v| v.to_string())
        ));
    }
    if let Some(risk) = expect.risk_score
        && observed.risk_score != Some(risk)
    {
        diffs.push(format!(
            "risk_score: expected {risk}, got {}",
            observed.risk_score.map_or("none".to_owned(), |r| r.to_string())
        ));
    }
    if let Some(tags) = &expect.tags {
        let wanted: BTreeSet<&str> = tags.iter().map(String::as_str).collect();
        let got: BTreeSet<&str> = observed.tags.iter().map(String::as_str).collect();
        for tag in wanted.difference(&got) {
            diffs.push(format!("tag expected but not added: {tag}"));
        }
        for tag in got.difference(&wanted) {
            diffs.push(format!("tag added but not expected: {tag}"));
        }
    }
    for (key, value) in expect.notes.iter().flatten() {
        let got: Vec<&str> = observed
            .notes
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect();
        if got.is_empty() {
            diffs.push(format!("note {key}: expected {value:?}, not written"));
        } else if !got.contains(&value.as_str()) {
            diffs.push(format!(
                "note {key}: expected {value:?}, got {:?}",
                got.join(", ")
            ));
        }
    }
    diffs
}

/// The embedded connector's data files and a config serving every capability from them.
/// Where `plugin test` keeps compiled plugins: the user's cache folder, so that an author
/// running it again and again on a 12-18 MB Python or JavaScript plugin waits for the compiler
/// only when the file changed. Without a home, the scratch folder (compiled every time).
fn compiled_dir(scratch: &Path) -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .map(|cache| cache.join("palisade").join("compiled"))
        .unwrap_or_else(|| scratch.join("compiled"))
}

#[allow(clippy::too_many_arguments)]
fn write_sandbox(
    dir: &Path,
    compiled: &Path,
    replies: &Replies,
    plugin: &str,
    wasm: &Path,
    grants: &[String],
    settings: &[(String, String)],
) -> Result<PathBuf, String> {
    let write = |name: &str, contents: String| {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
        Ok::<_, String>(path)
    };
    let json = |value: serde_json::Value| value.to_string();
    let users: Vec<serde_json::Value> = replies
        .users
        .iter()
        .map(|user| {
            let mut value = json!(user);
            value["id"] = json!(user.id.clone().unwrap_or_else(|| user.name.clone()));
            value
        })
        .collect();
    let hosts: Vec<serde_json::Value> = replies
        .hosts
        .iter()
        .map(|host| {
            let mut value = json!(host);
            value["id"] = json!(host.id.clone().unwrap_or_else(|| host.hostname.clone()));
            value
        })
        .collect();
    let mut events = String::new();
    for event in &replies.events {
        events.push_str(&serde_json::to_string(&event.raw).map_err(|error| error.to_string())?);
        events.push('\n');
    }
    let indicators = write("indicators.json", json(json!({ "indicators": replies.intel })))?;
    let directory = write("directory.json", json(json!({ "users": users })))?;
    let inventory = write("inventory.json", json(json!({ "hosts": hosts })))?;
    let events = write("events.jsonl", events)?;

    let text = |path: &Path| toml::Value::String(path.display().to_string());
    let mut connectors = toml::Table::new();
    for capability in [
        "intel", "siem", "ticket", "identity", "endpoint", "network", "notify",
    ] {
        connectors.insert(capability.into(), "test".into());
    }
    let mut local = toml::Table::new();
    local.insert("kind".into(), "embedded".into());
    local.insert("outbox".into(), text(&dir.join("outbox.jsonl")));
    local.insert("directory".into(), text(&directory));
    local.insert("indicators".into(), text(&indicators));
    local.insert("events".into(), text(&events));
    local.insert("inventory".into(), text(&inventory));
    let mut entry = toml::Table::new();
    entry.insert("path".into(), text(wasm));
    entry.insert("stage".into(), "respond".into());
    entry.insert(
        "grants".into(),
        toml::Value::Array(grants.iter().map(|g| g.as_str().into()).collect()),
    );
    entry.insert(
        "settings".into(),
        toml::Value::Table(
            settings
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().into()))
                .collect(),
        ),
    );
    let config = toml::toml! {
        [defaults]
        concurrency = 1
        [policy]
        mode = "enforce"
        min_confidence = 0
    };
    let mut config = config;
    config["defaults"]
        .as_table_mut()
        .expect("a table")
        .insert("state_dir".into(), text(&dir.join("state")));
    config["defaults"]
        .as_table_mut()
        .expect("a table")
        .insert("compiled_dir".into(), text(compiled));
    config["defaults"]
        .as_table_mut()
        .expect("a table")
        .insert("connectors".into(), toml::Value::Table(connectors));
    config.insert(
        "connectors".into(),
        toml::Value::Table(
            [("test".to_owned(), toml::Value::Table(local))]
                .into_iter()
                .collect(),
        ),
    );
    config.insert(
        "plugins".into(),
        toml::Value::Table(
            [(plugin.to_owned(), toml::Value::Table(entry))]
                .into_iter()
                .collect(),
        ),
    );
    let rendered = toml::to_string(&config).map_err(|error| error.to_string())?;
    write("palisade.toml", rendered)
}

pub async fn test(args: TestArgs) -> u8 {
    match run(&args).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            exit::USAGE
        }
    }
}

async fn run(args: &TestArgs) -> Result<u8, String> {
    let replies: Replies = match &args.replies {
        Some(path) => read_toml(path)?,
        None => Replies::default(),
    };
    let expect: Option<Expect> = args.expect.as_deref().map(read_toml).transpose()?;
    let text = std::fs::read_to_string(&args.alert)
        .map_err(|error| format!("{}: cannot read: {error}", args.alert.display()))?;
    let alert: Alert = palisade_alert::intake::parse(text.trim(), None)
        .map_err(|error| format!("{}: {error}", args.alert.display()))?;

    let dir = tempfile::tempdir().map_err(|error| format!("cannot create a scratch folder: {error}"))?;
    // What the plugin asks for, as `plugin inspect` shows it. Compiled into the cache the run
    // below reads, so the plugin is compiled once, not twice: seconds saved for a 12-18 MB
    // Python or JavaScript component.
    let compiled = compiled_dir(dir.path());
    let options = RuntimeOptions {
        cache_dir: Some(compiled.clone()),
        ..RuntimeOptions::default()
    };
    let runtime = Runtime::new(&options).map_err(|error| format!("{error:#}"))?;
    let stem = args.file.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin");
    let loaded = runtime
        .load(stem, &args.file, PluginContext::isolated(stem, Limits::default()))
        .await
        .map_err(|error| error.to_string())?;
    let name = loaded.info.name.clone();
    let grants = if args.grants.is_empty() {
        loaded.info.capabilities.clone()
    } else {
        args.grants.clone()
    };
    drop(loaded);

    let wasm = std::path::absolute(&args.file).map_err(|error| error.to_string())?;
    let config_path = write_sandbox(
        dir.path(),
        &compiled,
        &replies,
        &name,
        &wasm,
        &grants,
        &args.settings,
    )?;
    let config =
        Config::load(&config_path).map_err(|errors| format!("the test setup is invalid:\n{errors}"))?;
    let (pipeline, failures) = Pipeline::build(&config, RunMode::Live)
        .await
        .map_err(|error| format!("{error:#}"))?;
    if let Some(failure) = failures.first() {
        return Err(failure.error.to_string());
    }
    let report = pipeline.process(alert, None).await;
    let Some(run) = report.plugins.first() else {
        return Err("the plugin did not run".into());
    };
    let invocation = &run.invocation;
    let mut calls: Vec<Call> = invocation
        .calls
        .actions
        .iter()
        .map(|action| {
            let (status, detail) = match &action.result {
                ActionResult::Executed { reference } => ("executed", reference.clone()),
                ActionResult::Failed { error } => ("failed", Some(error.clone())),
                ActionResult::Simulated { would } => ("simulated", Some(would.clone())),
                ActionResult::Held { approval_id, reason } => {
                    ("held", Some(format!("approval {approval_id}: {reason}")))
                }
                ActionResult::Refused { reason } => ("refused", Some(reason.clone())),
            };
            Call {
                operation: action.operation.to_string(),
                target: action.target.clone(),
                status: status.into(),
                detail,
            }
        })
        .collect();
    calls.extend(invocation.calls.denied.iter().map(|operation| Call {
        operation: operation.to_string(),
        target: String::new(),
        status: "denied".into(),
        detail: Some("not granted".into()),
    }));
    let reads = invocation
        .calls
        .reads
        .iter()
        .map(|read| Call {
            operation: read.operation.to_string(),
            target: read.target.clone(),
            status: read.answer.into(),
            detail: None,
        })
        .collect();
    let outcome = invocation.outcome.clone().unwrap_or_default();
    let observed = Observed {
        calls,
        reads,
        verdict: outcome.verdict,
        risk_score: outcome.risk_score,
        tags: outcome.tags.clone(),
        notes: outcome.notes.clone(),
    };
    let outbox: Vec<serde_json::Value> = std::fs::read_to_string(dir.path().join("outbox.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let status = match &invocation.status {
        InvocationStatus::Completed => "completed".to_owned(),
        InvocationStatus::Failed(detail) => format!("failed: {detail}"),
        InvocationStatus::LimitExceeded(detail) => format!("limit exceeded: {detail}"),
        InvocationStatus::Trapped(detail) => format!("trapped: {detail}"),
    };
    let completed = matches!(invocation.status, InvocationStatus::Completed);
    let diffs = expect.as_ref().map(|expect| compare(expect, &observed));

    if args.json {
        println!(
            "{}",
            json!({
                "plugin": name,
                "grants": grants,
                "status": status,
                "host_calls": invocation.calls.host_calls,
                "calls": observed.calls,
                "reads": observed.reads,
                "outbox": outbox,
                "verdict": observed.verdict,
                "risk_score": observed.risk_score,
                "tags": observed.tags,
                "notes": observed.notes.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
                "summary": outcome.summary,
                "differences": diffs,
            })
        );
    } else {
        println!("{name}: {status}");
        println!(
            "grants:    {}",
            if grants.is_empty() {
                "none".to_owned()
            } else {
                grants.join(", ")
            }
        );
        println!("host calls: {}", invocation.calls.host_calls);
        for call in &observed.reads {
            println!("  {}: {}", call.key(), call.status);
        }
        for call in &observed.calls {
            match &call.detail {
                Some(detail) => println!("  {}: {} ({detail})", call.key(), call.status),
                None => println!("  {}: {}", call.key(), call.status),
            }
        }
        println!("outbox:    {} entries", outbox.len());
        println!(
            "verdict:   {}",
            observed.verdict.map_or("none".to_owned(), |v| v.to_string())
        );
        println!(
            "risk:      {}",
            observed.risk_score.map_or("none".to_owned(), |r| r.to_string())
        );
        println!("tags:      {}", observed.tags.join(", "));
        for (key, value) in &observed.notes {
            println!("note:      {key} = {value}");
        }
        if let Some(summary) = &outcome.summary {
            println!("summary:   {summary}");
        }
        match &diffs {
            Some(diffs) if diffs.is_empty() => println!("expectations met"),
            Some(diffs) => {
                println!("expectations NOT met:");
                for diff in diffs {
                    println!("  - {diff}");
                }
            }
            None => {}
        }
    }
    let met = diffs.as_ref().is_none_or(Vec::is_empty);
    Ok(if completed && met { exit::OK } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(operation: &str, target: &str, status: &str) -> Call {
        Call {
            operation: operation.into(),
            target: target.into(),
            status: status.into(),
            detail: None,
        }
    }

    #[test]
    fn replies_map_to_the_embedded_shapes() {
        let replies: Replies = parse_toml(
            Path::new("r.toml"),
            r#"
[[intel]]
indicator = "203.0.113.7"
reputation = "malicious"
score = 95
[[users]]
name = "alice"
groups = ["finance"]
[[hosts]]
hostname = "laptop-7"
[[events]]
raw = { user = "alice", action = "login" }
"#,
        )
        .unwrap();
        assert_eq!(replies.intel[0].score, 95);
        assert_eq!(replies.users[0].groups, ["finance"]);
        assert!(replies.users[0].enabled);
        assert_eq!(replies.hosts[0].hostname, "laptop-7");
        assert_eq!(replies.events[0].raw["user"].as_str(), Some("alice"));

        let dir = tempfile::tempdir().unwrap();
        let config = write_sandbox(
            dir.path(),
            &dir.path().join("compiled"),
            &replies,
            "p",
            Path::new("/p.wasm"),
            &["intel.lookup".into()],
            &[("k".into(), "v".into())],
        )
        .unwrap();
        let directory: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("directory.json")).unwrap())
                .unwrap();
        assert_eq!(directory["users"][0]["id"], "alice");
        let config = Config::load(&config).unwrap();
        assert_eq!(config.plugins[0].settings["k"], "v");
        assert_eq!(config.compiled_dir, dir.path().join("compiled"));
    }

    #[test]
    fn an_unknown_key_in_replies_is_located_by_line() {
        let error = parse_toml::<Replies>(
            Path::new("r.toml"),
            "[[users]]\nname = \"alice\"\n\n[[hosts]]\nhostname = \"h\"\ncolour = \"red\"\n",
        )
        .unwrap_err();
        assert!(error.starts_with("r.toml:6:"), "{error}");
        assert!(error.contains("colour"), "{error}");

        let error = parse_toml::<Replies>(Path::new("r.toml"), "[[intel]]\nindicator = \"x\"\n").unwrap_err();
        assert!(error.starts_with("r.toml:"), "{error}");
        assert!(error.contains("reputation"), "{error}");
    }

    #[test]
    fn expect_files_are_checked_too() {
        let expect: Expect = parse_toml(
            Path::new("e.toml"),
            "verdict = \"malicious\"\ncalls = [\"network.block-ip 203.0.113.7\"]\nnotes = { k = \"v\" }\n",
        )
        .unwrap();
        assert_eq!(expect.verdict, Some(Verdict::Malicious));
        let error = parse_toml::<Expect>(Path::new("e.toml"), "verdict = \"evil\"\n").unwrap_err();
        assert!(error.starts_with("e.toml:1:"), "{error}");
    }

    #[test]
    fn a_matching_run_has_no_differences_and_a_wrong_one_names_each() {
        let observed = Observed {
            calls: vec![
                call("identity.revoke-sessions", "alice", "executed"),
                call("network.block-ip", "203.0.113.7", "held"),
                call("ticket.create", "", "denied"),
            ],
            reads: vec![call("intel.lookup", "203.0.113.7", "answered")],
            verdict: Some(Verdict::Malicious),
            risk_score: Some(90),
            tags: vec!["spray".into()],
            notes: vec![("users".into(), "alice".into())],
        };
        let mut expect = Expect {
            verdict: Some(Verdict::Malicious),
            risk_score: Some(90),
            calls: Some(vec![
                "network.block-ip 203.0.113.7".into(),
                "identity.revoke-sessions alice".into(),
                "ticket.create".into(),
            ]),
            reads: Some(vec!["intel.lookup 203.0.113.7".into()]),
            tags: Some(vec!["spray".into()]),
            notes: Some([("users".to_owned(), "alice".to_owned())].into()),
        };
        assert!(compare(&expect, &observed).is_empty());

        expect.calls = Some(vec![
            "identity.revoke-sessions bob".into(),
            "network.block-ip 203.0.113.7".into(),
            "ticket.create".into(),
        ]);
        expect.verdict = Some(Verdict::Benign);
        expect.notes = Some([("users".to_owned(), "bob".to_owned())].into());
        let diffs = compare(&expect, &observed);
        assert_eq!(
            diffs,
            [
                "call expected but not made: identity.revoke-sessions bob",
                "call made but not expected: identity.revoke-sessions alice (executed)",
                "verdict: expected benign, got malicious",
                "note users: expected \"bob\", got \"alice\"",
            ]
        );
        // Nothing expected, nothing compared.
        assert!(compare(&Expect::default(), &observed).is_empty());

        let lookups = Expect {
            reads: Some(vec!["intel.lookup 198.51.100.1".into()]),
            ..Expect::default()
        };
        assert_eq!(
            compare(&lookups, &observed),
            [
                "read expected but not made: intel.lookup 198.51.100.1",
                "read made but not expected: intel.lookup 203.0.113.7 (answered)",
            ]
        );
    }
}
