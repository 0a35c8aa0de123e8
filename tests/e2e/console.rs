//! The web console (`/ui`) in a real browser, against the real binary: people added with
//! `palisade user add`, the demo alerts posted signed, the vendor a loopback [`Receiver`].
//! Each test starts its own service and browser; outcomes are read from the receiver (what was
//! done at the vendor), status codes, and the audit through the API, not from the page alone.
//! Every page is saved under `target/console-screenshots/` for a reviewer.

use palisade_e2e::{Answer, Browser, Case, Receiver, Reply, SPRAY_IP, Serving, workspace_root};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SOURCES_SECRET: &str = "signing-key-for-console-tests";
const API_TOKEN: &str = "api-token-for-console-tests";

/// The demo's pipeline (intel, triage, the spray response) acting through the receiver; the
/// CEO's account and the spray's address are protected, so both are held for a person.
const CONFIG: &str = r#"
[defaults.connectors]
intel = "hook"
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"
timeout_ms = 5000

[plugins.ip-reputation]
path = "${IP_REPUTATION}"
stage = "enrich"
grants = ["intel.lookup"]

[plugins.triage]
path = "${TRIAGE}"
stage = "triage"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
settings = { min_confidence = 80, block_hours = 24 }

[policy.protected]
users = ["ceo@example.com"]
ip_ranges = ["203.0.113.7/32"]

[serve.tokens.reader]
role = "viewer"
token = { env = "PALISADE_E2E_API_TOKEN" }

[serve.sources.okta]
auth = "hmac"
secret = { file = "sources.key" }

[serve.sources.edr]
auth = "hmac"
secret = { file = "sources.key" }
"#;

/// The demo alert with the CEO among the accounts that signed in.
const SPRAY: &str = "okta-7741";
const REVOKE: &str = "identity.revoke-sessions";
const BLOCK: &str = "network.block-ip";

/// A service with console users, its vendor and its folder.
struct Console {
    receiver: Receiver,
    /// The folder the service runs in, removed when the test ends.
    _case: Case,
    serving: Serving,
}

fn password(user: &str) -> String {
    format!("{user}-password-for-console-tests")
}

/// Starts the service with these `(name, role)` console users, added as an admin would.
fn console(users: &[(&str, &str)]) -> Console {
    // The spray's address is known bad, so the alerts get different verdicts and priorities.
    let receiver = Receiver::with_rule(|request| {
        (request.is("intel", "lookup") && request.request()["value"] == SPRAY_IP)
            .then(|| Reply::intel(SPRAY_IP, "malicious", 95, &["abuse-feed"]))
    });
    let case = Case::new()
        .receiver(&receiver)
        .env("PALISADE_E2E_API_TOKEN", API_TOKEN);
    case.write("sources.key", SOURCES_SECRET);
    case.config(CONFIG);
    for (name, role) in users {
        let added = case.palisade_with_stdin(
            &[
                "user",
                "add",
                name,
                "--role",
                role,
                "--config",
                "palisade.toml",
                "--password-stdin",
            ],
            Some(&format!("{}\n", password(name))),
        );
        assert_eq!(added.code, Some(0), "{added}");
    }
    let serving = case.serve();
    Console {
        receiver,
        _case: case,
        serving,
    }
}

impl Console {
    fn browser(&self) -> Browser {
        Browser::start(&format!("http://{}", self.serving.address))
    }

    fn api(&self) -> Vec<(&'static str, String)> {
        vec![("authorization", format!("Bearer {API_TOKEN}"))]
    }

    /// Posts the demo alerts (the README's `plugins/demo/alerts.jsonl`, whose last line is
    /// malformed), the EDR's through its own source, worst first as the file has them, and
    /// waits for their reports; returns the ids taken.
    fn post_demo_alerts(&self) -> Vec<String> {
        let demo = std::fs::read_to_string(workspace_root().join("plugins/demo/alerts.jsonl"))
            .expect("read the demo alerts");
        let (edr, okta): (Vec<&str>, Vec<&str>) =
            demo.lines().partition(|line| line.contains(r#""id":"edr-"#));
        let mut taken = Vec::new();
        for (source, lines) in [("okta", okta), ("edr", edr)] {
            let answer = self
                .serving
                .post_signed(source, SOURCES_SECRET, &(lines.join("\n") + "\n"));
            assert_eq!(answer.status, 202, "{answer:?}");
            taken.extend(palisade_e2e::strings(&answer.json()["accepted"]));
        }
        assert_eq!(
            taken,
            ["okta-7741", "okta-7742", "edr-1182"],
            "the malformed line is left out"
        );
        for id in &taken {
            self.report(id);
        }
        taken
    }

    /// The report of `id` once the service has kept it.
    fn report(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let answer = self.serving.get(&format!("/v1/alerts/{id}"), &self.api());
            if answer.status == 200 {
                return answer.json();
            }
            assert_eq!(answer.status, 404, "{answer:?}");
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "no report for {id}:\n{}",
                self.serving.stderr()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// The audit as the API gives it, oldest first.
    fn audit(&self) -> Vec<Value> {
        let answer = self.serving.get("/v1/audit?limit=1000", &self.api());
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()["records"].as_array().cloned().unwrap_or_default()
    }

    /// Held operations, decided ones too.
    fn approvals(&self) -> Vec<Value> {
        let answer = self.serving.get("/v1/approvals?all=true", &self.api());
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.json()["approvals"].as_array().cloned().unwrap_or_default()
    }

    /// The held operation `operation` on `target`.
    fn approval(&self, operation: &str, target: &str) -> Value {
        let all = self.approvals();
        all.iter()
            .find(|a| a["operation"] == operation && a["target"] == target)
            .cloned()
            .unwrap_or_else(|| panic!("no held {operation} on {target}: {all:#?}"))
    }

    /// A form posted outside the browser with the browser's session cookie, as a forger who
    /// got hold of it would.
    fn forge(&self, path: &str, session: &str, form: &str) -> Answer {
        self.serving.post(
            path,
            &[
                ("cookie", format!("palisade_session={session}")),
                ("content-type", "application/x-www-form-urlencoded".to_owned()),
            ],
            form.as_bytes(),
        )
    }
}

/// Signs `user` in through the login form and waits for the overview.
fn sign_in(browser: &Browser, user: &str) {
    browser.goto("/ui/login");
    browser.fill("#user", user);
    browser.fill("#password", &password(user));
    browser.click("form.login button[type=submit]");
    browser.wait_for_path("/ui/");
}

/// The session cookie the browser holds; panics when it has none.
fn session(browser: &Browser) -> String {
    browser
        .cookie("palisade_session")
        .expect("a signed-in browser holds the session cookie")
}

/// Waits for a `role="status"` message that contains `text` (the page's answer to a decision,
/// in the swapped row with htmx or at the top of the page without).
fn wait_for_status(browser: &Browser, text: &str) {
    browser.wait_until(
        &format!("told {text:?}"),
        &format!(
            "[...document.querySelectorAll('[role=status]')].some(m => m.textContent.includes({}))",
            json!(text)
        ),
    );
}

/// The held revocation on the CEO's account: an approver approves it from the approvals page,
/// it is carried out once at the vendor under their name; a POST without the CSRF token does
/// nothing. The held block on the spray's address, approved too, is then undone from the
/// alert's page, once.
#[test]
fn an_approver_approves_the_held_ceo_revocation_once_and_undoes_an_approved_block() {
    let console = console(&[("oncall", "approver")]);
    console.post_demo_alerts();
    let ceo = console.approval(REVOKE, "ceo@example.com");
    let block = console.approval(BLOCK, SPRAY_IP);
    let ceo_id = ceo["id"].as_str().unwrap().to_owned();
    let block_id = block["id"].as_str().unwrap().to_owned();
    let revoked_ceo = || {
        console
            .receiver
            .calls("identity", "revoke-sessions")
            .into_iter()
            .filter(|call| call.request()["user"] == "ceo@example.com")
            .count()
    };
    assert_eq!(revoked_ceo(), 0, "the protected account waits for a person");

    let browser = console.browser();
    sign_in(&browser, "oncall");
    browser.goto("/ui/approvals");
    let ceo_row = format!("#approvals tr[data-approval-id='{ceo_id}']");
    let evidence = browser.text(&ceo_row);
    for shown in [SPRAY, REVOKE, "ceo@example.com", "protected", "Expires"] {
        assert!(
            evidence.contains(shown),
            "{shown:?} is not in the row: {evidence}"
        );
    }
    browser.screenshot("approvals");

    // Forged without the token, with the approver's own session: refused, nothing done.
    let unguarded = console.forge(&format!("/ui/approvals/{ceo_id}/approve"), &session(&browser), "");
    assert_eq!(unguarded.status, 403, "{unguarded:?}");
    assert_eq!(revoked_ceo(), 0, "a POST without the CSRF token did something");

    browser.click(&format!("{ceo_row} form.approve button[type=submit]"));
    wait_for_status(
        &browser,
        "Approved: executed identity.revoke-sessions on ceo@example.com",
    );
    assert_eq!(revoked_ceo(), 1, "{:#?}", console.receiver.requests());
    browser.screenshot("approvals-decided");

    browser.goto("/ui/approvals");
    browser.click(&format!(
        "#approvals tr[data-approval-id='{block_id}'] form.approve button[type=submit]"
    ));
    wait_for_status(
        &browser,
        &format!("Approved: executed network.block-ip on {SPRAY_IP}"),
    );
    assert_eq!(console.receiver.calls("network", "block-ip").len(), 1);

    // The alert's page offers one undo: the approved block's. Revoked sessions cannot be given
    // back (the CEO's and the others'), and the ticket stays.
    let approved_block = console.approval(BLOCK, SPRAY_IP);
    let block_action = approved_block["action_id"]
        .as_str()
        .unwrap_or_else(|| panic!("an executed approval names its action: {approved_block:#}"))
        .to_owned();
    browser.goto(&format!("/ui/alerts/{SPRAY}"));
    let undo_action = format!("/ui/actions/{block_action}/undo");
    assert_eq!(
        browser.attributes("#actions form.undo", "action"),
        [Some(undo_action.clone())],
        "the undo forms on the alert's page"
    );
    let undo_form = format!("#actions form.undo[action='{undo_action}']");
    browser.click(&format!("{undo_form} button[type=submit]"));
    browser.wait_until(
        "shown undone",
        "document.querySelector('#actions').textContent.includes('Undone')",
    );
    browser.screenshot("alert-undone");
    let unblocked = console.receiver.calls("network", "unblock-ip");
    assert_eq!(unblocked.len(), 1, "{:#?}", console.receiver.requests());
    assert_eq!(unblocked[0].request()["target"], SPRAY_IP);
    assert_eq!(revoked_ceo(), 1, "the revocation was carried out once in all");

    // The decisions and the undo are the approver's, as the console names them.
    for approval in [
        console.approval(REVOKE, "ceo@example.com"),
        console.approval(BLOCK, SPRAY_IP),
    ] {
        assert_eq!(approval["status"], "executed", "{approval:#}");
        assert_eq!(approval["decided_by"], "console:oncall", "{approval:#}");
    }
    let audit = console.audit();
    let undone: Vec<&Value> = audit
        .iter()
        .filter(|r| r["kind"] == "undo" && r["decision"] == "undone")
        .collect();
    assert_eq!(undone.len(), 1, "{audit:#?}");
    assert_eq!(undone[0]["detail"]["undoes"], block_action.as_str(), "{audit:#?}");
    assert_eq!(undone[0]["detail"]["by"], "console:oncall", "{audit:#?}");
    let refusals = console_refusals(&audit);
    assert_eq!(refusals.len(), 1, "the forged POST alone: {audit:#?}");
    assert_eq!(refusals[0]["detail"]["user"], "oncall", "{audit:#?}");
}

/// The console's refusals in the audit.
fn console_refusals(audit: &[Value]) -> Vec<Value> {
    audit
        .iter()
        .filter(|r| r["kind"] == "console" && r["decision"] == "refused")
        .cloned()
        .collect()
}

/// A viewer reads the held operations but is offered no decision, and a POST forged with their
/// valid session and CSRF token is refused: the role is checked on the server.
#[test]
fn a_viewer_sees_the_approvals_without_buttons_and_a_forged_approval_is_refused() {
    let console = console(&[("reader", "viewer")]);
    console.post_demo_alerts();
    let ceo_id = console.approval(REVOKE, "ceo@example.com")["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let browser = console.browser();
    sign_in(&browser, "reader");
    browser.goto("/ui/approvals");
    assert_eq!(
        browser.count("#approvals tr[data-approval-id]"),
        2,
        "{}",
        browser.body_text()
    );
    for control in [
        "form.approve",
        "form.deny",
        "#approvals button",
        "#approvals input",
    ] {
        assert_eq!(browser.count(control), 0, "a viewer is offered {control}");
    }
    browser.screenshot("approvals-viewer");

    let token = browser.attributes("input[name=csrf]", "value");
    let token = token
        .first()
        .cloned()
        .flatten()
        .expect("the page carries the session's CSRF token (the sign-out form)");
    let forged = console.forge(
        &format!("/ui/approvals/{ceo_id}/approve"),
        &session(&browser),
        &format!("csrf={token}"),
    );
    assert_eq!(forged.status, 403, "{forged:?}");
    assert!(
        console
            .receiver
            .calls("identity", "revoke-sessions")
            .iter()
            .all(|call| call.request()["user"] != "ceo@example.com"),
        "a viewer's forged approval reached the vendor"
    );
    assert_eq!(console.approval(REVOKE, "ceo@example.com")["status"], "pending");
    let refusals = console_refusals(&console.audit());
    assert_eq!(refusals.len(), 1, "{refusals:#?}");
    assert_eq!(refusals[0]["detail"]["user"], "reader", "{refusals:#?}");
    assert_eq!(
        refusals[0]["detail"]["route"],
        format!("/ui/approvals/{ceo_id}/approve"),
        "{refusals:#?}"
    );
}

/// A wrong password gets the page's message and no session, answers 401, and is audited with
/// the user and the address it came from.
#[test]
fn a_wrong_password_is_refused_and_audited() {
    let console = console(&[("oncall", "approver")]);
    let browser = console.browser();
    browser.goto("/ui/login");
    browser.fill("#user", "oncall");
    browser.fill("#password", "not-the-password-at-all");
    browser.click("form.login button[type=submit]");
    browser.wait_until(
        "told the password is wrong",
        "document.querySelector('[role=alert]')?.textContent.includes('Wrong user or password')",
    );
    assert_eq!(browser.path(), "/ui/login");
    assert_eq!(
        browser.cookie("palisade_session"),
        None,
        "a session for a wrong password"
    );
    browser.screenshot("login-refused");

    // The status, which a browser does not show: the same form posted by hand.
    let form = console.serving.get("/ui/login", &[]);
    assert_eq!(form.status, 200, "{form:?}");
    let cookie = form
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .find_map(|(_, value)| {
            value
                .split(';')
                .next()
                .filter(|pair| pair.starts_with("palisade_login="))
        })
        .unwrap_or_else(|| panic!("the login form sets its CSRF cookie: {form:?}"))
        .to_owned();
    let token = cookie.trim_start_matches("palisade_login=");
    let refused = console.serving.post(
        "/ui/login",
        &[
            ("cookie", cookie.clone()),
            ("content-type", "application/x-www-form-urlencoded".to_owned()),
        ],
        format!("csrf={token}&user=oncall&password=another-wrong-password").as_bytes(),
    );
    assert_eq!(refused.status, 401, "{refused:?}");
    let sessions_set = refused
        .headers
        .iter()
        .filter(|(name, value)| name == "set-cookie" && value.starts_with("palisade_session="))
        .count();
    assert_eq!(sessions_set, 0, "{refused:?}");

    let audit = console.audit();
    let wrong: Vec<Value> = console_refusals(&audit)
        .into_iter()
        .filter(|r| r["detail"]["reason"] == "wrong user or password")
        .collect();
    assert_eq!(
        wrong.len(),
        2,
        "the browser's attempt and the hand-made one: {audit:#?}"
    );
    for record in &wrong {
        assert_eq!(record["detail"]["user"], "oncall", "{record:#}");
        assert!(
            record["detail"]["remote"]
                .as_str()
                .is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{record:#}"
        );
        assert!(
            !record.to_string().contains("wrong-password"),
            "the password is never audited: {record:#}"
        );
    }
}

/// The alert ids in the list, top to bottom.
fn listed(browser: &Browser) -> Vec<String> {
    browser
        .attributes("#alerts tbody tr[data-alert-id]", "data-alert-id")
        .into_iter()
        .flatten()
        .collect()
}

/// Submits the filter form and waits for the filtered list.
fn apply_filters(browser: &Browser) {
    browser.script("document.body.dataset.beforeFilter = 'yes'", vec![]);
    browser.click("#alert-filters button[type=submit]");
    // A new page has no mark; then the address is the list's with the form's query.
    browser.wait_until("the filtered list loaded", "!document.body.dataset.beforeFilter");
    browser.wait_for_path("/ui/alerts");
}

/// The list is worst first by priority (not by arrival nor by id), and each filter of the form
/// keeps exactly the alerts whose reports match it.
#[test]
fn the_alert_list_puts_the_worst_first_and_each_filter_keeps_the_matching_alerts() {
    let console = console(&[("reader", "viewer")]);
    let ids = console.post_demo_alerts();
    // What each filter reads, from the reports as the API gives them; the source is the
    // intake source each was posted to.
    let reports: Vec<(String, Value)> = ids.iter().map(|id| (id.clone(), console.report(id))).collect();
    let facts = |id: &str, key: &str| -> String {
        let report = &reports.iter().find(|(i, _)| i == id).expect("a posted alert").1;
        match key {
            "priority" => report["priority"]["label"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            "verdict" => report["alert"]["verdict"].as_str().unwrap_or_default().to_owned(),
            "rule" => report["alert"]["rule_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            "source" => if id.starts_with("edr-") { "edr" } else { "okta" }.to_owned(),
            _ => unreachable!("{key}"),
        }
    };
    let score = |id: &str| {
        let report = &reports.iter().find(|(i, _)| i == id).expect("a posted alert").1;
        report["priority"]["score"]
            .as_u64()
            .unwrap_or_else(|| panic!("no priority score: {report:#}"))
    };

    let browser = console.browser();
    sign_in(&browser, "reader");
    browser.goto("/ui/alerts");
    let mut worst_first = ids.clone();
    worst_first.sort_by_key(|id| std::cmp::Reverse(score(id)));
    // Posted worst first, so newest first would differ; ids sorted would too.
    assert_ne!(worst_first, ["edr-1182", "okta-7741", "okta-7742"]);
    let scores: Vec<u64> = worst_first.iter().map(|id| score(id)).collect();
    assert!(
        scores.windows(2).all(|pair| pair[0] > pair[1]),
        "distinct priorities: {scores:?}"
    );
    assert_eq!(listed(&browser), worst_first);

    // Each select set to the worst alert's value keeps some alerts and leaves out others.
    for filter in ["priority", "verdict", "source", "rule"] {
        let value = facts(SPRAY, filter);
        let expected: Vec<String> = worst_first
            .iter()
            .filter(|id| facts(id, filter) == value)
            .cloned()
            .collect();
        assert!(
            !expected.is_empty() && expected.len() < ids.len(),
            "{filter}={value} would not tell a working filter from a broken one: {expected:?}"
        );
        browser.goto("/ui/alerts");
        browser.select(&format!("#alert-filters select[name={filter}]"), &value);
        apply_filters(&browser);
        assert_eq!(listed(&browser), expected, "{filter}={value}");
    }

    // Time: a day either side of now (the reports finished seconds ago), read as UTC.
    let day = |offset: i64| palisade_e2e::datetime_local(palisade_e2e::serve_now() + offset * 86_400);
    for (field, value, expected) in [
        ("since", day(-1), worst_first.clone()),
        ("since", day(1), Vec::new()),
        ("until", day(1), worst_first.clone()),
        ("until", day(-1), Vec::new()),
    ] {
        browser.goto("/ui/alerts");
        browser.set_value(&format!("#alert-filters input[name={field}]"), &value);
        apply_filters(&browser);
        assert!(
            browser.path().contains(&format!("{field}=")),
            "{}",
            browser.path()
        );
        assert_eq!(listed(&browser), expected, "{field}={value}");
    }
}

/// What is wrong with the page shown, for people who use a keyboard or a screen reader:
/// controls without a label, buttons without a name, headings that skip a level, a missing
/// language or title, charts without a text alternative.
const ACCESSIBILITY_PROBLEMS: &str = r#"
const problems = [];
const describe = el => el.outerHTML.slice(0, 160);
for (const control of document.querySelectorAll('input, select, textarea')) {
  if (control.type === 'hidden') continue;
  const labelled = [...control.labels].some(label => label.textContent.trim() !== '')
    || (control.getAttribute('aria-label') || '').trim() !== ''
    || control.hasAttribute('aria-labelledby');
  if (!labelled) problems.push('a control without a label: ' + describe(control));
}
for (const button of document.querySelectorAll('button')) {
  if (!button.textContent.trim() && !(button.getAttribute('aria-label') || '').trim())
    problems.push('a button without a name: ' + describe(button));
}
const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
if (headings.length === 0 || headings[0].tagName !== 'H1') problems.push('the first heading is not an h1');
if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
let previous = 0;
for (const heading of headings) {
  const level = Number(heading.tagName[1]);
  if (level > previous + 1) problems.push(`h${level} after h${previous}: ${heading.textContent.trim()}`);
  previous = level;
}
if (!document.documentElement.lang) problems.push('no lang on <html>');
if (!document.title.trim()) problems.push('no <title>');
for (const svg of document.querySelectorAll('svg')) {
  if (svg.closest('[aria-hidden=true]')) continue;
  const named = (svg.getAttribute('aria-label') || '').trim() !== '' || svg.querySelector(':scope > title');
  if (svg.getAttribute('role') !== 'img' || !named) problems.push('a chart without role=img and a name: ' + describe(svg));
}
for (const link of document.querySelectorAll('a[href]')) {
  if (!link.textContent.trim() && !(link.getAttribute('aria-label') || '').trim())
    problems.push('a link without text: ' + describe(link));
}
return problems;
"#;

/// The element that has the keyboard focus, and whether its focus can be seen: an outline of
/// at least 2px that is not transparent, or a box shadow.
const FOCUS_SEEN: &str = r#"
const el = document.activeElement;
if (!el || el === document.body) return {element: null, visible: false};
const style = getComputedStyle(el);
const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
  && style.outlineColor !== 'transparent' && !/^rgba\(.*,\s*0\)$/.test(style.outlineColor);
const shadow = style.boxShadow && style.boxShadow !== 'none';
return {element: el.outerHTML.slice(0, 120), visible: Boolean(outline || shadow),
        outline: `${style.outlineStyle} ${style.outlineWidth} ${style.outlineColor}`};
"#;

/// Resources the page loaded from anywhere but this server.
const FOREIGN_RESOURCES: &str = r#"
return performance.getEntriesByType('resource').map(entry => entry.name)
  .filter(name => new URL(name).origin !== location.origin);
"#;

/// Checks the page shown: accessible, nothing refused by the Content-Security-Policy or failing
/// in its scripts, nothing loaded from elsewhere, the focus visible on the first controls a
/// keyboard reaches; then saves it as `NAME.png`.
fn check_page(browser: &Browser, path: &str, name: &str) {
    // What earlier pages logged was theirs.
    browser.console_errors();
    browser.goto(path);
    // Saved first, so a page that fails a check below is there to look at.
    browser.screenshot(name);
    let problems = browser.script(ACCESSIBILITY_PROBLEMS, vec![]);
    assert_eq!(problems, json!([]), "{path}: accessibility");
    let foreign = browser.script(FOREIGN_RESOURCES, vec![]);
    assert_eq!(foreign, json!([]), "{path}: loaded from elsewhere");
    // Freshly loaded, so Tab starts at the top of the page.
    for press in 1..=3 {
        browser.press_tab();
        let focus = browser.script(FOCUS_SEEN, vec![]);
        assert!(
            focus["element"].is_string() && focus["visible"] == true,
            "{path}: after {press} Tab presses the focus is not visible: {focus}"
        );
    }
    let errors = browser.console_errors();
    assert!(
        errors.is_empty(),
        "{path}: errors in the page's console: {errors:#?}"
    );
}

/// Every page, for an admin (who is shown every control): labels, headings in order, the
/// focus visible, nothing inline refused by the CSP, nothing from elsewhere; each is saved.
#[test]
fn every_page_passes_the_accessibility_checks_and_is_saved_as_a_screenshot() {
    let console = console(&[("admin", "admin")]);
    console.post_demo_alerts();
    let browser = console.browser();
    check_page(&browser, "/ui/login", "login");
    sign_in(&browser, "admin");
    for (path, name) in [
        ("/ui/".to_owned(), "overview"),
        ("/ui/alerts".to_owned(), "alerts"),
        (format!("/ui/alerts/{SPRAY}"), "alert"),
        ("/ui/approvals".to_owned(), "approvals-admin"),
        ("/ui/audit".to_owned(), "audit"),
        ("/ui/plugins".to_owned(), "plugins"),
        ("/ui/breaker".to_owned(), "breaker"),
    ] {
        check_page(&browser, &path, name);
    }
    // The admin's controls were among those checked: a denial's reason, the breaker's reset.
    for (path, control) in [
        ("/ui/approvals", "form.deny input[name=reason]"),
        ("/ui/breaker", "#breaker-reset input[name=reason]"),
    ] {
        browser.goto(path);
        assert_eq!(
            browser.count(control),
            if path == "/ui/approvals" { 2 } else { 1 },
            "{path}: {control}"
        );
    }
}
