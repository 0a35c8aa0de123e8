//! Outbound HTTP is the `http` capability: a plugin reaches only the scheme, host and port the
//! admin listed, never a loopback, private or metadata address unless the admin opened it
//! (and the metadata service never), with the response size capped. A hostile plugin tries
//! each way around it; every refusal is an error to the plugin, an audit record, and no
//! request at the stub server.
//!
//! Each attack is its own plugin entry in one config, run once on one alert; each test
//! asserts one guarantee on that run. The stub server is the loopback [`Receiver`].

use std::net::TcpListener;
use std::sync::OnceLock;

use palisade_e2e::{Case, Receiver, Recorded, Reply, Run, note, plain_alert, strings};
use serde_json::Value;

const ALERT: &str = "hostile-http-1";
/// In a refused URL's query: it must reach neither the log nor the audit.
const SECRET: &str = "api-key-7f3a9c-do-not-log";

struct HttpRun {
    run: Run,
    receiver: Receiver,
    /// Where a redirect and an unlisted request tried to go; it must have accepted nothing.
    elsewhere: TcpListener,
    case: Case,
}

fn rule(request: &Recorded, elsewhere: u16) -> Option<Reply> {
    let path = request.path.split('?').next().unwrap_or_default();
    Some(match path {
        "/ok" => Reply::json(200, &serde_json::json!({"hello": "world"})),
        "/redirect-ok" => Reply::redirect("/ok"),
        "/redirect-metadata" => Reply::redirect("http://169.254.169.254/latest/meta-data/iam/"),
        "/redirect-loopback" => Reply::redirect(&format!("http://127.0.0.1:{elsewhere}/steal")),
        "/redirect-private" => Reply::redirect("http://10.0.0.1/admin"),
        "/big" => Reply::body("x".repeat(8 * 1024), false),
        "/big-chunked" => Reply::body("x".repeat(8 * 1024), true),
        _ => return None,
    })
}

fn http_run() -> &'static HttpRun {
    static RUN: OnceLock<HttpRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let elsewhere = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        elsewhere.set_nonblocking(true).unwrap();
        let other = elsewhere.local_addr().unwrap().port();
        let receiver = Receiver::with_rule(move |request| rule(request, other));
        let port = receiver.port();
        let server = format!("http://127.0.0.1:{port}");

        // (plugin, urls, grants and [http] table, extra plugin keys)
        let plugins: Vec<(&str, Vec<String>, String, &str)> = vec![
            (
                "http-allowed",
                vec![format!("{server}/ok"), format!("{server}/redirect-ok")],
                granted(&[&server], true, ""),
                "",
            ),
            (
                "http-not-listed",
                vec![
                    format!("http://127.0.0.1:{other}/not-listed"),
                    format!("http://localhost:{port}/not-listed?key={SECRET}"),
                    format!("https://127.0.0.1:{port}/not-listed"),
                ],
                granted(&[&server], true, ""),
                "",
            ),
            (
                "http-loopback",
                vec![format!("{server}/loopback-private")],
                granted(&[&server], false, ""),
                "",
            ),
            (
                "http-localhost",
                vec![format!("http://localhost:{port}/localhost")],
                granted(&[&format!("http://localhost:{port}")], false, ""),
                "",
            ),
            (
                "http-metadata",
                vec!["http://169.254.169.254/latest/meta-data/".into()],
                granted(&["http://169.254.169.254", &server], true, ""),
                "",
            ),
            (
                "http-redirect",
                vec![
                    format!("{server}/redirect-metadata"),
                    format!("{server}/redirect-loopback"),
                    format!("{server}/redirect-private"),
                ],
                granted(&[&server, "http://169.254.169.254", "http://10.0.0.1"], false, ""),
                "",
            ),
            (
                "http-redirect-open",
                vec![
                    format!("{server}/redirect-metadata"),
                    format!("{server}/redirect-loopback"),
                ],
                granted(&[&server, "http://169.254.169.254"], true, ""),
                "",
            ),
            (
                "http-too-large",
                vec![format!("{server}/big"), format!("{server}/big-chunked")],
                granted(&[&server], true, "max_response_kib = 1"),
                "",
            ),
            (
                "http-ungranted",
                vec![format!("{server}/ungranted")],
                String::new(),
                "",
            ),
            (
                "http-flood",
                vec![format!("{server}/flood")],
                granted(&[&server], true, ""),
                "limits = { host_calls = 5 }\nsettings.repeat = 50\n",
            ),
        ];

        let mut config = String::from("[defaults]\nconcurrency = 1\n");
        for (name, urls, http, extra) in &plugins {
            config += &format!(
                "\n[plugins.{name}]\npath = \"${{HOSTILE}}\"\nstage = \"enrich\"\n\
                 match = {{ rules = [\"hostile-*\"] }}\n{extra}\
                 settings.attack = \"http\"\nsettings.urls = {urls:?}\n{}",
                http.replace("PLUGIN", name)
            );
        }
        let case = Case::new();
        case.config(&config);
        case.alerts(&[plain_alert(ALERT, "hostile-http")]);
        let run = case.run();
        HttpRun {
            run,
            receiver,
            elsewhere,
            case,
        }
    })
}

/// `grants = ["http"]` and the plugin's `[http]` table (`PLUGIN` stands for its name).
fn granted(allow: &[&str], allow_private: bool, extra: &str) -> String {
    format!(
        "grants = [\"http\"]\n[plugins.PLUGIN.http]\nallow = {allow:?}\nallow_private = {allow_private}\n{extra}\n"
    )
}

fn plugin(name: &str) -> (Value, &'static Run) {
    let http = http_run();
    (http.run.plugin(ALERT, name), &http.run)
}

/// The notes `http:0`, `http:1`, ... of a plugin, in order.
fn results(name: &str) -> Vec<String> {
    let (run_of, run) = plugin(name);
    assert_eq!(run_of["status"], "completed", "{name}\n{run}");
    (0..)
        .map_while(|index| note(&run_of, &format!("http:{index}")))
        .collect()
}

/// The paths the stub server was asked for, query removed.
fn paths_seen() -> Vec<String> {
    http_run()
        .receiver
        .requests()
        .iter()
        .map(|r| r.path.split('?').next().unwrap_or_default().to_owned())
        .collect()
}

/// `palisade audit --json --plugin NAME`: the host-call records for `http`.
fn audit(name: &str) -> Vec<Value> {
    let run = http_run()
        .case
        .palisade(&["audit", "--config", "palisade.toml", "--json", "--plugin", name]);
    assert_eq!(run.code, Some(0), "{run}");
    run.json()
        .into_iter()
        .filter(|r| r["kind"] == "host-call" && r["operation"] == "http")
        .collect()
}

fn decisions(name: &str) -> Vec<(String, String)> {
    audit(name)
        .iter()
        .map(|r| {
            (
                r["decision"].as_str().unwrap_or_default().to_owned(),
                r["detail"]["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn assert_denied(result: &str, why: &str) {
    assert!(result.starts_with("err:denied"), "{why}: {result:?} got through");
}

#[test]
fn an_allowed_request_reaches_the_listed_server_and_a_same_origin_redirect_is_followed() {
    let results = results("http-allowed");
    assert_eq!(results, ["ok:200:17", "ok:200:17"], "{}", http_run().run);
    let seen = paths_seen();
    assert_eq!(seen.iter().filter(|p| *p == "/ok").count(), 2, "{seen:?}");
    assert!(seen.contains(&"/redirect-ok".to_owned()), "{seen:?}");
    let audit = decisions("http-allowed");
    assert_eq!(audit.len(), 3, "two answers and the redirect: {audit:?}");
    assert!(
        audit.iter().all(|(decision, _)| decision == "answered"),
        "{audit:?}"
    );
}

#[test]
fn a_host_or_port_not_on_the_allow_list_is_denied_and_never_contacted() {
    let results = results("http-not-listed");
    assert_eq!(results.len(), 3, "{}", http_run().run);
    for result in &results {
        assert_denied(result, "an unlisted origin");
    }
    assert!(!paths_seen().contains(&"/not-listed".to_owned()));
    match http_run().elsewhere.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the unlisted port was reached: {other:?}"),
    }
    let audit = decisions("http-not-listed");
    assert_eq!(audit.len(), 3, "{audit:?}");
    for (decision, reason) in &audit {
        assert_eq!(decision, "refused");
        assert!(reason.contains("allow list"), "{reason}");
    }
}

#[test]
fn loopback_is_refused_unless_the_admin_allows_private_addresses() {
    assert_denied(&results("http-loopback")[0], "127.0.0.1 with allow_private off");
    assert!(!paths_seen().contains(&"/loopback-private".to_owned()));
    let audit = decisions("http-loopback");
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].0, "refused");
    assert!(audit[0].1.contains("loopback"), "{audit:?}");
}

#[test]
fn a_listed_name_that_resolves_to_loopback_is_refused() {
    assert_denied(&results("http-localhost")[0], "localhost with allow_private off");
    assert!(!paths_seen().contains(&"/localhost".to_owned()));
    let audit = decisions("http-localhost");
    assert_eq!(audit[0].0, "refused", "{audit:?}");
    assert!(
        audit[0].1.contains("localhost resolves to a loopback address"),
        "{audit:?}"
    );
}

#[test]
fn the_cloud_metadata_service_is_refused_even_when_listed_with_private_addresses_allowed() {
    assert_denied(&results("http-metadata")[0], "169.254.169.254");
    let audit = decisions("http-metadata");
    assert_eq!(audit[0].0, "refused", "{audit:?}");
    assert!(audit[0].1.contains("metadata"), "{audit:?}");
}

#[test]
fn a_redirect_to_a_private_address_is_refused_when_the_guest_follows_it() {
    // allow_private off: the first hop's server is loopback too, so the first hops are
    // refused as well; the redirects themselves are proved with allow_private on, below.
    for result in results("http-redirect") {
        assert_denied(&result, "a redirect chain starting at loopback");
    }

    // allow_private on: the server answers 302 to the metadata service and to a loopback
    // port that is not listed; the guest follows, the host refuses.
    let results = results("http-redirect-open");
    assert_eq!(results.len(), 2, "{}", http_run().run);
    for result in &results {
        assert_denied(result, "a followed redirect");
    }
    let seen = paths_seen();
    assert!(seen.contains(&"/redirect-metadata".to_owned()), "{seen:?}");
    assert!(seen.contains(&"/redirect-loopback".to_owned()), "{seen:?}");
    assert!(!seen.contains(&"/steal".to_owned()), "{seen:?}");
    match http_run().elsewhere.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the redirect target was reached: {other:?}"),
    }
    let audit = decisions("http-redirect-open");
    let answered = audit.iter().filter(|(d, _)| d == "answered").count();
    let refused: Vec<&String> = audit
        .iter()
        .filter(|(d, _)| d == "refused")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(answered, 2, "the two 302s: {audit:?}");
    assert_eq!(refused.len(), 2, "{audit:?}");
    assert!(refused[0].contains("metadata"), "{refused:?}");
    assert!(refused[1].contains("allow list"), "{refused:?}");
}

#[test]
fn a_response_over_the_size_limit_is_an_error_whether_announced_or_chunked() {
    let results = results("http-too-large");
    assert_eq!(results.len(), 2, "{}", http_run().run);
    for result in &results {
        assert!(result.starts_with("err:too large"), "{result:?}");
    }
    let audit = decisions("http-too-large");
    let refused: Vec<&String> = audit
        .iter()
        .filter(|(d, _)| d == "refused")
        .map(|(_, r)| r)
        .collect();
    assert_eq!(refused.len(), 2, "{audit:?}");
    assert!(refused.iter().all(|r| r.contains("1024")), "{refused:?}");
    // One refused on its Content-Length before a byte of body, one cut off while streaming.
    assert!(refused[0].contains("announces 8192 bytes"), "{refused:?}");
    assert!(refused[1].contains("passed the limit"), "{refused:?}");
}

#[test]
fn a_plugin_not_granted_http_is_denied_audited_and_sends_nothing() {
    let (ungranted, run) = plugin("http-ungranted");
    assert_eq!(ungranted["status"], "completed", "{run}");
    assert_denied(&note(&ungranted, "http:0").unwrap_or_default(), "no grant");
    assert_eq!(strings(&ungranted["denied"]), ["http"], "{run}");
    assert!(!paths_seen().contains(&"/ungranted".to_owned()));
    let audit = decisions("http-ungranted");
    assert_eq!(audit, [("denied".to_owned(), "not granted".to_owned())]);
    assert!(
        run.stderr_plain()
            .lines()
            .any(|l| l.contains("denied") && l.contains("http-ungranted") && l.contains("operation=http")),
        "no warning names the denial\n{run}"
    );
}

#[test]
fn requests_count_against_the_host_call_budget() {
    let (flood, run) = plugin("http-flood");
    assert_eq!(flood["status"], "limit-exceeded", "{run}");
    assert!(
        flood["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("host calls"),
        "{run}"
    );
    let sent = paths_seen().iter().filter(|p| *p == "/flood").count();
    assert!(
        sent <= 5,
        "{sent} requests went out with a budget of 5 host calls"
    );
}

#[test]
fn refusals_are_warned_without_paths_or_queries() {
    let run = &http_run().run;
    let log = run.stderr_plain();
    assert!(
        log.lines()
            .any(|l| l.contains("http: request refused") && l.contains("http-not-listed")),
        "{run}"
    );
    assert!(!log.contains(SECRET), "the query reached the log");
    assert!(!log.contains("/not-listed"), "the path reached the log");
    let audit = http_run()
        .case
        .palisade(&["audit", "--config", "palisade.toml", "--json"]);
    assert!(!audit.stdout.contains(SECRET), "the query reached the audit");
}

#[test]
fn the_rdap_plugin_annotates_an_address_and_a_domain_from_the_allowed_server() {
    let receiver = Receiver::with_rule(|request| match request.path.as_str() {
        "/rdap/ip/198.51.100.23" => Some(Reply::json(
            200,
            &serde_json::json!({
                "objectClassName": "ip network",
                "name": "EXAMPLE-NET",
                "country": "NL",
                "startAddress": "198.51.100.0",
                "endAddress": "198.51.100.255",
                "entities": [{"roles": ["registrant"],
                              "vcardArray": ["vcard", [["fn", {}, "text", "Example Hosting"]]]}]
            }),
        )),
        "/rdap/domain/login-examp1e.com" => Some(Reply::json(
            200,
            &serde_json::json!({
                "ldhName": "login-examp1e.com",
                "events": [{"eventAction": "registration", "eventDate": "2001-01-01T00:00:00Z"}],
                "entities": [{"roles": ["registrar"],
                              "vcardArray": ["vcard", [["fn", {}, "text", "Names Inc"]]]}]
            }),
        )),
        _ => Some(Reply::not_found()),
    });
    let server = format!("http://127.0.0.1:{}", receiver.port());
    let case = Case::new().var("SERVER", &server);
    case.config(
        r#"
[plugins.rdap-enrich]
path = "${RDAP_ENRICH}"
stage = "enrich"
grants = ["http"]
settings = { base_url = "${SERVER}/rdap" }
[plugins.rdap-enrich.http]
allow = ["${SERVER}"]
allow_private = true
"#,
    );
    let mut alert: Value = serde_json::from_str(&plain_alert("phish-1", "phishing")).unwrap();
    alert["entities"] = serde_json::json!([
        {"type": "ip", "address": "198.51.100.23", "direction": "destination"},
        {"type": "ip", "address": "192.168.1.20", "direction": "source"},
        {"type": "domain", "name": "login-examp1e.com"},
    ]);
    case.alerts(&[alert.to_string()]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let rdap = run.plugin("phish-1", "rdap-enrich");
    assert_eq!(
        note(&rdap, "rdap:198.51.100.23").as_deref(),
        Some("network=EXAMPLE-NET country=NL org=Example_Hosting range=198.51.100.0-198.51.100.255"),
        "{run}"
    );
    assert_eq!(
        note(&rdap, "rdap:192.168.1.20").as_deref(),
        Some("skipped: private address")
    );
    let domain = note(&rdap, "rdap:login-examp1e.com").unwrap_or_default();
    assert!(
        domain.starts_with("registered=2001-01-01 ") && domain.ends_with("registrar=Names_Inc"),
        "{domain:?}\n{run}"
    );
    assert_eq!(
        receiver.requests().len(),
        2,
        "the private address was not looked up"
    );
}
