//! The console as a browser meets it: the whole router, an in-memory store, real sign-ins.
//! Each test names the promise it checks.

use super::{CSP, session};
use crate::App;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use palisade_store::{Approval, ApprovalStatus, AuditFilter, AuditKind, AuditRecord};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery";
const REMOTE: &str = "192.0.2.7:51000";

/// One hash per role, made once: each costs tens of milliseconds.
static USERS: LazyLock<String> = LazyLock::new(|| {
    let hash = super::users::hash_password(PASSWORD).unwrap();
    ["alice:approver", "vera:viewer", "ada:admin"]
        .iter()
        .map(|pair| {
            let (name, role) = pair.split_once(':').unwrap();
            format!("[serve.users.{name}]\nrole = \"{role}\"\npassword_hash = \"{hash}\"\n\n")
        })
        .collect()
});

fn config(dir: &Path, users: &str) -> PathBuf {
    std::fs::write(dir.join("edr.token"), "t0ken").unwrap();
    let path = dir.join("palisade.toml");
    let text = format!(
        "[defaults]\nstate_dir = \"state\"\n\n[serve]\nlisten = \"127.0.0.1:0\"\n\n\
         [serve.sources.edr]\nauth = \"bearer\"\ntoken = {{ file = \"edr.token\" }}\n\n{users}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

struct Console {
    app: Arc<App>,
    router: Router,
    dir: tempfile::TempDir,
}

/// A signed-in browser: its cookie and the token its forms carry.
struct Browser {
    cookie: String,
    csrf: String,
}

impl Console {
    fn new() -> Console {
        let dir = tempfile::tempdir().unwrap();
        let app = App::for_tests(&config(dir.path(), &USERS));
        Console {
            router: crate::server::routes(app.clone()),
            app,
            dir,
        }
    }

    async fn send(&self, mut request: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let remote: SocketAddr = REMOTE.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(remote));
        let response: Response<Body> = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }

    async fn get(
        &self,
        path: &str,
        browser: Option<&Browser>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::get(path);
        if let Some(browser) = browser {
            request = request.header(header::COOKIE, &browser.cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let mut request = Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "127.0.0.1:8440");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        self.send(request.body(Body::from(body)).unwrap()).await
    }

    /// Fills in and sends the sign-in form as a browser would.
    async fn try_sign_in(&self, user: &str, password: &str) -> (StatusCode, axum::http::HeaderMap, String) {
        let (_, headers, _) = self.get("/ui/login", None).await;
        let login_cookie = cookie_pair(&headers, super::csrf::LOGIN_COOKIE).unwrap();
        let token = login_cookie.split_once('=').unwrap().1.to_owned();
        self.post(
            "/ui/login",
            Some(&login_cookie),
            &[("user", user), ("password", password), ("csrf", &token)],
            &[],
        )
        .await
    }

    async fn sign_in(&self, user: &str) -> Browser {
        let (status, headers, body) = self.try_sign_in(user, PASSWORD).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(headers[header::LOCATION], "/ui/");
        let cookie = cookie_pair(&headers, session::COOKIE).unwrap();
        let browser = Browser {
            cookie,
            csrf: String::new(),
        };
        let (status, _, page) = self.get("/ui/approvals", Some(&browser)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let csrf = between(&page, r#"name="csrf" value=""#, "\"").to_owned();
        Browser { csrf, ..browser }
    }

    fn hold(&self, id: &str, title: &str) {
        let now = palisade_core::clock::now();
        self.app
            .store
            .approvals()
            .hold(&Approval {
                id: id.into(),
                created_at: now,
                expires_at: now + 3600,
                plugin: "password-spray".into(),
                alert_id: "okta-7741".into(),
                alert: json!({"title": title, "severity": "high"}),
                operation: "identity.revoke-sessions".into(),
                target: "ceo@example.com".into(),
                request: json!({
                    "capability": "identity",
                    "action": "revoke-sessions",
                    "user": "ceo@example.com",
                    "reason": "Palisade password-spray: alert okta-7741"
                }),
                reason: "account ceo@example.com is protected".into(),
                status: ApprovalStatus::Pending,
                decided_by: None,
                decided_at: None,
                decision_note: None,
                action_id: None,
            })
            .unwrap();
    }

    fn console_audit(&self) -> Vec<AuditRecord> {
        self.app
            .store
            .audit()
            .query(&AuditFilter {
                kind: Some(AuditKind::Console),
                ..AuditFilter::default()
            })
            .unwrap()
    }
}

/// `NAME=VALUE` of the `Set-Cookie` for `name`.
fn cookie_pair(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(|value| value.split(';').next().unwrap_or_default().to_owned())
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text
        .find(start)
        .map(|at| at + start.len())
        .unwrap_or_else(|| panic!("no {start} in {text}"));
    let to = text[from..].find(end).unwrap() + from;
    &text[from..to]
}

#[tokio::test]
async fn every_console_answer_carries_the_security_headers() {
    let console = Console::new();
    let (status, headers, body) = console.get("/ui/login", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    // Nothing inline for the CSP to refuse, nothing from elsewhere.
    assert!(
        !body.contains("<style") && !body.contains("style=") && !body.contains("<script>"),
        "{body}"
    );
    assert!(!body.contains("http://") && !body.contains("https://"), "{body}");
    let (status, headers, _) = console.get("/ui/alerts", None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
    let (status, headers, script) = console.get(super::assets::HTMX_PATH, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(script.starts_with("var htmx="));
    let (status, _, css) = console.get(super::assets::CSS_PATH, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains(":focus-visible"));
}

#[tokio::test]
async fn without_a_session_pages_send_to_sign_in_and_posts_are_refused() {
    let console = Console::new();
    for page in [
        "/ui/",
        "/ui/alerts",
        "/ui/alerts/a-1",
        "/ui/approvals",
        "/ui/audit",
        "/ui/plugins",
        "/ui/breaker",
    ] {
        let (status, headers, _) = console.get(page, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
        assert_eq!(headers[header::LOCATION], "/ui/login", "{page}");
    }
    console.hold("ap-1", "Spray");
    let (status, _, _) = console
        .post("/ui/approvals/ap-1/approve", None, &[("csrf", "x")], &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let forged = Browser {
        cookie: format!("{}=not-a-session", session::COOKIE),
        csrf: String::new(),
    };
    let (status, _, _) = console.get("/ui/approvals", Some(&forged)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let refusals = console.console_audit();
    assert!(
        refusals
            .iter()
            .any(|r| r.decision == "refused" && r.detail["reason"] == "not signed in"),
        "{refusals:?}"
    );
}

#[tokio::test]
async fn signing_in_starts_a_session_kept_only_as_a_digest() {
    let console = Console::new();
    let (status, headers, _) = console.try_sign_in("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let set = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("palisade_session="))
        .unwrap();
    for attribute in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/ui"] {
        assert!(set.contains(attribute), "{set}");
    }
    let token = set.split(';').next().unwrap().split_once('=').unwrap().1;
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let session = console.app.store.sessions().get(&digest).unwrap().unwrap();
    assert_eq!(session.user, "alice");
    assert_ne!(session.csrf, token);
    let audit = console.console_audit();
    let signed_in = audit.iter().find(|r| r.decision == "signed-in").unwrap();
    assert_eq!(signed_in.detail["user"], "alice");
    assert_eq!(signed_in.detail["remote"], REMOTE);
    assert!(!signed_in.detail.to_string().contains(PASSWORD));
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer_and_are_audited() {
    let console = Console::new();
    let (wrong, _, wrong_page) = console.try_sign_in("alice", "not the password").await;
    let (unknown, _, unknown_page) = console.try_sign_in("mallory", PASSWORD).await;
    assert_eq!(
        (wrong, unknown),
        (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED)
    );
    for page in [&wrong_page, &unknown_page] {
        assert!(
            page.contains(r#"role="alert""#) && page.contains("Wrong user or password"),
            "{page}"
        );
    }
    let audit = console.console_audit();
    let refused: Vec<_> = audit
        .iter()
        .filter(|r| r.detail["reason"] == "wrong user or password")
        .map(|r| {
            (
                r.detail["user"].as_str().unwrap(),
                r.detail["remote"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(refused, [("alice", REMOTE), ("mallory", REMOTE)]);
    assert!(!format!("{audit:?}").contains("not the password"));
}

#[tokio::test]
async fn five_failures_stop_further_sign_ins_unchecked() {
    let console = Console::new();
    for _ in 0..super::throttle::LIMIT {
        let (status, _, _) = console.try_sign_in("alice", "guess").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is not checked now.
    let (status, headers, body) = console.try_sign_in("alice", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(headers.contains_key(header::RETRY_AFTER));
    assert!(cookie_pair(&headers, session::COOKIE).is_none());
    assert!(
        console
            .console_audit()
            .iter()
            .any(|r| r.detail["reason"] == "too many failed sign-ins" && r.detail["user"] == "alice")
    );
}

#[tokio::test]
async fn a_sign_in_without_the_forms_token_is_refused() {
    let console = Console::new();
    let (status, _, _) = console
        .post(
            "/ui/login",
            None,
            &[("user", "alice"), ("password", PASSWORD), ("csrf", "")],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = console
        .post(
            "/ui/login",
            Some("palisade_login=abc"),
            &[("user", "alice"), ("password", PASSWORD), ("csrf", "abd")],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_or_from_elsewhere_is_refused() {
    let console = Console::new();
    console.hold("ap-1", "Spray");
    let alice = console.sign_in("alice").await;
    let cookie = Some(alice.cookie.as_str());
    let path = "/ui/approvals/ap-1/deny";
    for (form, headers, why) in [
        (vec![("reason", "fp")], vec![], "missing or wrong CSRF token"),
        (
            vec![("reason", "fp"), ("csrf", "guess")],
            vec![],
            "missing or wrong CSRF token",
        ),
        (
            vec![("reason", "fp"), ("csrf", alice.csrf.as_str())],
            vec![("origin", "https://evil.example")],
            "request from another origin",
        ),
    ] {
        let (status, _, body) = console.post(path, cookie, &form, &headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(body.contains(why), "{body}");
    }
    let approval = console.app.store.approvals().get("ap-1").unwrap().unwrap();
    assert_eq!(approval.status, ApprovalStatus::Pending);
    let refused = console
        .console_audit()
        .iter()
        .filter(|r| r.decision == "refused")
        .count();
    assert_eq!(refused, 3);
    // htmx's header is as good as the field.
    let (status, _, row) = console
        .post(
            path,
            cookie,
            &[("reason", "fp")],
            &[("x-csrf-token", &alice.csrf), ("hx-request", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{row}");
    assert!(row.starts_with("<tr") && row.contains("denied"), "{row}");
}

#[tokio::test]
async fn a_viewer_sees_approvals_without_buttons_and_a_forged_approval_is_refused() {
    let console = Console::new();
    console.hold("ap-1", "Spray");
    let vera = console.sign_in("vera").await;
    let (_, _, page) = console.get("/ui/approvals", Some(&vera)).await;
    assert!(page.contains(r#"data-approval-id="ap-1""#), "{page}");
    assert!(
        !page.contains("class=\"approve\"") && !page.contains("class=\"deny\""),
        "{page}"
    );
    let (status, _, _) = console
        .post(
            "/ui/approvals/ap-1/approve",
            Some(&vera.cookie),
            &[("csrf", &vera.csrf)],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let approval = console.app.store.approvals().get("ap-1").unwrap().unwrap();
    assert_eq!(approval.status, ApprovalStatus::Pending);
    let refusal = console
        .console_audit()
        .into_iter()
        .find(|r| r.decision == "refused")
        .unwrap();
    assert_eq!(refusal.detail["user"], "vera");
    assert_eq!(refusal.detail["route"], "/ui/approvals/ap-1/approve");
    assert!(
        refusal.detail["reason"]
            .as_str()
            .unwrap()
            .starts_with("role too small")
    );
}

#[tokio::test]
async fn an_approver_denies_with_a_reason_named_as_themselves() {
    let console = Console::new();
    console.hold("ap-1", "Spray");
    let alice = console.sign_in("alice").await;
    let (_, _, page) = console.get("/ui/approvals", Some(&alice)).await;
    assert!(page.contains(r#"action="/ui/approvals/ap-1/approve""#), "{page}");
    assert!(page.contains(r#"<label for="reason-ap-1">"#), "{page}");
    let path = "/ui/approvals/ap-1/deny";
    let (status, _, _) = console
        .post(
            path,
            Some(&alice.cookie),
            &[("csrf", &alice.csrf), ("reason", "  ")],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a denial needs a reason");
    let (status, headers, _) = console
        .post(
            path,
            Some(&alice.cookie),
            &[("csrf", &alice.csrf), ("reason", "false positive")],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/approvals?decided=ap-1");
    let approval = console.app.store.approvals().get("ap-1").unwrap().unwrap();
    assert_eq!(approval.status, ApprovalStatus::Denied);
    assert_eq!(approval.decided_by.as_deref(), Some("console:alice"));
    let (_, _, page) = console.get("/ui/approvals?decided=ap-1", Some(&alice)).await;
    assert!(
        page.contains(r#"role="status""#) && page.contains("Denied: identity.revoke-sessions"),
        "{page}"
    );
}

#[tokio::test]
async fn an_approval_that_cannot_run_says_why_and_stays_pending() {
    let console = Console::new();
    console.hold("ap-1", "Spray");
    let alice = console.sign_in("alice").await;
    let (status, _, page) = console
        .post(
            "/ui/approvals/ap-1/approve",
            Some(&alice.cookie),
            &[("csrf", &alice.csrf)],
            &[],
        )
        .await;
    // No plugin `password-spray` is configured here: nothing is executed.
    assert_eq!(status, StatusCode::CONFLICT, "{page}");
    assert!(
        page.contains(r#"role="alert""#) && page.contains("plugin password-spray is no longer in"),
        "{page}"
    );
    let approval = console.app.store.approvals().get("ap-1").unwrap().unwrap();
    assert_eq!(approval.status, ApprovalStatus::Pending);
}

#[tokio::test]
async fn a_hostile_alert_title_is_shown_as_text() {
    let console = Console::new();
    console.hold("ap-1", r#"<script>alert(1)</script><img src=x onerror=alert(2)>"#);
    let alice = console.sign_in("alice").await;
    let (_, _, page) = console.get("/ui/approvals", Some(&alice)).await;
    assert!(
        !page.contains("<script>alert") && !page.contains("<img"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
}

#[tokio::test]
async fn only_an_admin_resets_the_breaker_and_the_reason_is_kept() {
    let console = Console::new();
    let form = |browser: &Browser| {
        vec![
            ("csrf", browser.csrf.clone()),
            ("reason", "vendor outage over".to_owned()),
        ]
    };
    let alice = console.sign_in("alice").await;
    let (_, _, page) = console.get("/ui/breaker", Some(&alice)).await;
    assert!(!page.contains("breaker-reset"), "{page}");
    let pairs = form(&alice);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = console
        .post("/ui/breaker/reset", Some(&alice.cookie), &pairs, &[])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let ada = console.sign_in("ada").await;
    let (_, _, page) = console.get("/ui/breaker", Some(&ada)).await;
    assert!(
        page.contains(r#"id="breaker-reset""#) && page.contains(r#"<label for="reason">"#),
        "{page}"
    );
    let pairs = form(&ada);
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, headers, _) = console
        .post("/ui/breaker/reset", Some(&ada.cookie), &pairs, &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/breaker");
    let reset = console
        .console_audit()
        .into_iter()
        .find(|r| r.decision == "breaker-reset")
        .unwrap();
    assert_eq!(
        (reset.detail["by"].as_str(), reset.detail["reason"].as_str()),
        (Some("console:ada"), Some("vendor outage over"))
    );
    let (_, _, page) = console.get("/ui/breaker", Some(&ada)).await;
    assert!(page.contains("by console:ada"), "{page}");
}

#[tokio::test]
async fn signing_out_or_being_removed_from_the_config_ends_the_session() {
    let console = Console::new();
    let alice = console.sign_in("alice").await;
    let (status, headers, _) = console
        .post("/ui/logout", Some(&alice.cookie), &[("csrf", &alice.csrf)], &[])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let (status, _, _) = console.get("/ui/", Some(&alice)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    let vera = console.sign_in("vera").await;
    let only_alice = USERS
        .split("\n\n")
        .filter(|table| table.contains("alice"))
        .collect::<Vec<_>>()
        .join("\n\n");
    console
        .app
        .reload_for_tests(&config(console.dir.path(), &only_alice));
    let (status, headers, _) = console.get("/ui/", Some(&vera)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/login");
}

#[tokio::test]
async fn every_page_renders_for_a_viewer_with_one_h1_and_labelled_controls() {
    let console = Console::new();
    console.hold("ap-1", "Spray");
    let vera = console.sign_in("vera").await;
    for page in [
        "/ui/",
        "/ui/alerts",
        "/ui/approvals",
        "/ui/audit",
        "/ui/plugins",
        "/ui/breaker",
    ] {
        let (status, headers, body) = console.get(page, Some(&vera)).await;
        assert_eq!(status, StatusCode::OK, "{page}: {body}");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(body.matches("<h1").count(), 1, "{page}");
        assert!(
            body.contains(&format!(
                "hx-headers=\"{{&quot;X-CSRF-Token&quot;:&quot;{}&quot;}}\"",
                vera.csrf
            )),
            "{page}"
        );
        // Every visible control's id has a label.
        for id in body
            .split(" id=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap())
        {
            let control = body.contains(&format!("<input id=\"{id}\""))
                || body.contains(&format!("<select id=\"{id}\""));
            if control {
                assert!(
                    body.contains(&format!("<label for=\"{id}\">")),
                    "{page}: no label for {id}"
                );
            }
        }
    }
    let (status, _, body) = console
        .get("/ui/alerts?since=yesterday&after=garbage", Some(&vera))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("since: not a date and time"), "{body}");
    assert!(body.contains("not a position in the alert list"), "{body}");
    let (status, _, _) = console.get("/ui/alerts/no-such-alert", Some(&vera)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Keeps a finished alert's report as the workers do: queued, taken, completed.
async fn report(console: &Console, id: &str, title: &str, priority: (&str, u8), report: serde_json::Value) {
    use palisade_store::{Offered, ReportSummary};
    let queue = &console.app.queue;
    let offered = Offered {
        alert_id: id.into(),
        priority: priority.1,
        fingerprint: id.into(),
        document: "{}".into(),
    };
    queue.enqueue("edr", vec![offered], 100, 60).await.unwrap();
    let leased = queue.lease("test", 1, 60, 3600).await.unwrap().pop().unwrap();
    let summary = ReportSummary {
        alert_id: id.into(),
        source: "edr".into(),
        title: title.into(),
        rule: Some("Password spray".into()),
        severity: Some("high".into()),
        priority_score: Some(priority.1),
        priority_label: Some(priority.0.into()),
        verdict: Some("malicious".into()),
        outcome: "completed".into(),
        actions_executed: 1,
        ..ReportSummary::default()
    };
    assert!(
        queue
            .complete(leased.seq, "test", summary, report.to_string())
            .await
            .unwrap()
    );
}

/// A report shaped as `palisade run --json` prints one, with a hostile title and note.
fn spray_report(id: &str, title: &str) -> serde_json::Value {
    json!({
        "type": "alert",
        "priority": {"score": 82, "label": "p1"},
        "alert": {
            "id": id, "title": title, "source_product": "Okta", "category": "credential-access",
            "severity": "high", "confidence": 92, "timestamp": "2026-11-26T09:12:44Z",
            "entities": [{"type": "ip", "address": "203.0.113.7", "direction": "source"}],
            "tags": ["password-spray"], "verdict": "malicious", "risk_score": 82
        },
        "plugins": [{
            "plugin": "password-spray", "stage": "respond", "status": "completed", "duration": 15.4,
            "host_calls": 8, "denied": [], "reads": [],
            "outcome": {"summary": "revoked 1", "notes": [["ticket", "<b>PAL-1</b>"]]},
            "actions": [
                {"action_id": "act-1", "operation": "network.block-ip", "target": "203.0.113.7",
                 "status": "executed", "reference": "outbox:act-1"},
                {"action_id": "act-2", "operation": "identity.revoke-sessions", "target": "ceo@example.com",
                 "status": "held", "approval_id": "ap-1", "reason": "account ceo@example.com is protected"},
                {"action_id": "act-3", "operation": "ticket.create", "target": "Spray",
                 "status": "executed", "reference": "javascript:alert(1)"}
            ]
        }]
    })
}

#[tokio::test]
async fn the_alert_list_is_worst_first_and_filters() {
    let console = Console::new();
    report(&console, "low-1", "Low one", ("p4", 20), json!({})).await;
    report(&console, "top-1", "Top one", ("p1", 90), json!({})).await;
    report(&console, "mid-1", "Mid one", ("p2", 60), json!({})).await;
    let vera = console.sign_in("vera").await;
    let (_, _, page) = console.get("/ui/alerts", Some(&vera)).await;
    let order: Vec<&str> = page
        .split("data-alert-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    assert_eq!(order, ["top-1", "mid-1", "low-1"]);
    assert!(
        page.contains(r#"<form id="alert-filters""#) && page.contains(r#"<table id="alerts">"#),
        "{page}"
    );
    let (_, _, page) = console
        .get("/ui/alerts?priority=p2&verdict=&source=edr", Some(&vera))
        .await;
    assert!(
        page.contains("data-alert-id=\"mid-1\"") && !page.contains("data-alert-id=\"top-1\""),
        "{page}"
    );
    assert!(page.contains(r#"<option value="p2" selected>"#), "{page}");
}

#[tokio::test]
async fn an_alerts_page_shows_its_report_as_text_with_undo_for_approvers_only() {
    let console = Console::new();
    let title = "<script>alert(1)</script>";
    report(
        &console,
        "okta/7741",
        title,
        ("p1", 82),
        spray_report("okta/7741", title),
    )
    .await;
    console
        .app
        .store
        .actions()
        .record(palisade_store::ActionRow {
            action_id: "act-1".into(),
            at: 0,
            plugin: "password-spray".into(),
            alert_id: "okta/7741".into(),
            operation: "network.block-ip".into(),
            target: "203.0.113.7".into(),
            request: json!({}),
            reference: Some("outbox:act-1".into()),
            compensation: Some(
                json!({"capability": "network", "action": "unblock-ip", "target": "203.0.113.7"}),
            ),
            undone_at: None,
            undone_by: None,
        })
        .unwrap();
    let alice = console.sign_in("alice").await;
    let (status, _, page) = console.get("/ui/alerts/okta%2F7741", Some(&alice)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        !page.contains("<script>alert") && !page.contains("<b>PAL-1"),
        "{page}"
    );
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;</h1>"),
        "{page}"
    );
    assert!(
        page.contains("203.0.113.7") && page.contains("revoked 1"),
        "{page}"
    );
    assert!(
        page.contains(r#"<form class="undo" method="post" action="/ui/actions/act-1/undo""#),
        "{page}"
    );
    assert_eq!(
        page.matches("class=\"undo\"").count(),
        1,
        "only the executed, undoable action"
    );
    assert!(!page.contains("href=\"javascript:"), "{page}");
    assert!(page.contains("<pre>"), "{page}");

    let vera = console.sign_in("vera").await;
    let (_, _, page) = console.get("/ui/alerts/okta%2F7741", Some(&vera)).await;
    assert!(!page.contains("class=\"undo\""), "{page}");
    let (status, _, _) = console
        .post(
            "/ui/actions/act-1/undo",
            Some(&vera.cookie),
            &[("csrf", &vera.csrf)],
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let row = console.app.store.actions().get("act-1").unwrap().unwrap();
    assert!(row.undone_at.is_none());
}
