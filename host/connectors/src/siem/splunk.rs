//! Splunk, through the REST API's blocking search (`POST /services/search/jobs` with
//! `exec_mode=oneshot` and `output_mode=json`, form-encoded, [search/jobs]) with an
//! authentication token ([auth tokens], sent as `Authorization: Bearer <token>`; a session key
//! would be `Authorization: Splunk <key>`, [REST authentication]).
//!
//! [search/jobs]: https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch#search.2Fjobs
//! [auth tokens]: https://docs.splunk.com/Documentation/Splunk/latest/Security/UseAuthTokens
//! [REST authentication]: https://docs.splunk.com/Documentation/Splunk/latest/RESTUM/RESTusing#Authentication_and_authorization
//!
//! ```toml
//! [connectors.splunk]
//! kind = "splunk"
//! url = "https://splunk.acme.example:8089"   # the management port
//! token = { env = "SPLUNK_TOKEN" }            # a Splunk authentication token
//! app = "search"     # optional: search in this app's context (/servicesNS/nobody/search/...)
//! timeout_ms = 60000 # a oneshot search answers when it is done
//! allow_commands = ["tstats"]   # optional: generating or writing commands plugins may use
//! allow_macros = false          # optional: macros can expand to any command
//! ```
//!
//! The grant is for searching: a query that starts with a generating command, or uses a
//! command that writes, sends or runs something, or a macro, is refused unless allowed here
//! (see [`super::spl`]). Run Palisade under a Splunk role that can only search the indexes its
//! plugins need, so that what the check cannot know (a lookup's definition, an app's custom
//! command) cannot write either.
//!
//!
//! search runs the plugin's SPL as a oneshot search and returns its results, newest first as
//! Splunk orders them, at most `limit` (and never more than [`MAX_EVENTS`]). The query gets
//! Splunk's `search ` prefix unless it starts with `search` or with a generating command
//! (`| tstats ...`). Each result is an event whose `raw` is the result object and whose
//! timestamp is its `_time`.
//!
//! `earliest` and `latest` are passed as `earliest_time` and `latest_time`: Splunk's own
//! relative times (`-24h`, `-7d@d`, `now`) as they are, an RFC 3339 time as epoch seconds
//! (Splunk's time format for these parameters is its own, not RFC 3339). A oneshot search
//! creates no saved object, so it is retried like a read: Splunk answers 503 when the search
//! head has no search slot free (the concurrent-search quota) and a proxy or Splunk Cloud may
//! answer 429; both are waited out (`Retry-After` up to a minute), then fail.

use super::spl::{self, Allowed};
use super::{Event, MAX_EVENTS, Query, SiemSearch};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Splunk {
    token: Spanned<SecretRef>,
    app: Option<String>,
    #[serde(default)]
    allow_commands: Vec<String>,
    #[serde(default)]
    allow_macros: bool,
}

impl VendorBackend for Splunk {
    const KIND: &'static str = "splunk";
    const CAPABILITY: Capability = Capability::Siem;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("token", &self.token)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        if let Some(app) = &self.app
            && (app.is_empty() || app.starts_with('.') || app.contains('/'))
        {
            anyhow::bail!("app {app:?} is not a Splunk app name");
        }
        if let Some(bad) = self
            .allow_commands
            .iter()
            .find(|name| name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            anyhow::bail!("allow_commands: {bad:?} is not a Splunk command name");
        }
        Ok(CapabilitySet {
            siem: Some(Arc::new(SplunkSearch {
                client: cx.client(
                    "splunk",
                    Auth::bearer(cx.secret("token", &self.token)?),
                    error_message,
                ),
                app: self.app.clone(),
                allowed: Allowed {
                    commands: self
                        .allow_commands
                        .iter()
                        .map(|name| name.to_lowercase())
                        .collect(),
                    macros: self.allow_macros,
                },
            })),
            ..CapabilitySet::default()
        })
    }
}

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: String,
    text: String,
}

/// Splunk's error body: `{"messages":[{"type":"ERROR","text":"..."}]}` (`FATAL` for a search
/// that does not parse, `WARN` for a refused token).
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        messages: Vec<Message>,
    }
    let Body { messages } = serde_json::from_slice(body).ok()?;
    errors_of(&messages).or_else(|| {
        let texts: Vec<&str> = messages.iter().map(|message| message.text.as_str()).collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    })
}

/// The `ERROR` and `FATAL` messages, which say why a search failed.
fn errors_of(messages: &[Message]) -> Option<String> {
    let errors: Vec<&str> = messages
        .iter()
        .filter(|message| matches!(message.kind.as_str(), "ERROR" | "FATAL"))
        .map(|message| message.text.as_str())
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

struct SplunkSearch {
    client: Arc<VendorClient>,
    app: Option<String>,
    allowed: Allowed,
}

#[derive(Deserialize)]
struct Oneshot {
    #[serde(default)]
    results: Vec<Value>,
    #[serde(default)]
    messages: Vec<Message>,
}

/// The SPL Splunk runs: a bare query is a `search`.
fn spl(query: &str) -> Result<String, ConnectorError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(ConnectorError::InvalidInput("the Splunk query is empty".into()));
    }
    let first = query.split_whitespace().next().unwrap_or_default();
    Ok(if query.starts_with('|') || first == "search" {
        query.to_owned()
    } else {
        format!("search {query}")
    })
}

/// A time bound as Splunk reads it: an RFC 3339 time becomes epoch seconds; anything else
/// (`-24h`, `-7d@d`, `now`, epoch seconds) is Splunk's own syntax and passes as it is.
fn splunk_time(bound: &str, name: &str) -> Result<String, ConnectorError> {
    let bound = bound.trim();
    if bound.is_empty() {
        return Err(ConnectorError::InvalidInput(format!("{name} is empty")));
    }
    Ok(match OffsetDateTime::parse(bound, &Rfc3339) {
        Ok(at) if at.millisecond() == 0 => at.unix_timestamp().to_string(),
        Ok(at) => format!("{}.{:03}", at.unix_timestamp(), at.millisecond()),
        Err(_) => bound.to_owned(),
    })
}

#[async_trait::async_trait]
impl SiemSearch for SplunkSearch {
    async fn search(&self, _cx: &CallContext, query: &Query) -> Result<Vec<Event>, ConnectorError> {
        let limit = query.limit.min(MAX_EVENTS);
        // count=0 would ask Splunk for every result.
        if limit == 0 {
            return Ok(Vec::new());
        }
        spl::check(&query.query, &self.allowed)?;
        let mut form = vec![
            ("search".to_owned(), spl(&query.query)?),
            ("exec_mode".to_owned(), "oneshot".to_owned()),
            ("output_mode".to_owned(), "json".to_owned()),
            ("count".to_owned(), limit.to_string()),
        ];
        if let Some(earliest) = &query.earliest {
            form.push(("earliest_time".into(), splunk_time(earliest, "earliest")?));
        }
        if let Some(latest) = &query.latest {
            form.push(("latest_time".into(), splunk_time(latest, "latest")?));
        }
        let request = match &self.app {
            Some(app) => Request::post("servicesNS/nobody").segment(app.clone()),
            None => Request::post("services"),
        }
        .path("search/jobs")
        .form(form)
        .idempotent();
        // A search with no results may answer with an empty body.
        let reply: Option<Oneshot> = self.client.json(&request, "search").await?;
        let Some(reply) = reply else {
            return Ok(Vec::new());
        };
        // A search that fails while it runs (a lookup that does not exist) still answers 200,
        // with no results and its errors among the messages.
        if reply.results.is_empty()
            && let Some(error) = errors_of(&reply.messages)
        {
            return Err(ConnectorError::Failed(self.client.message("search", &error)));
        }
        Ok(reply
            .results
            .into_iter()
            .take(limit as usize)
            .map(|result| Event {
                timestamp: result.get("_time").and_then(Value::as_str).map(str::to_owned),
                raw: result,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;
    use std::time::Duration;

    const TOKEN: &str = "eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIifQ.payload.signature";

    fn splunk(stub: &Stub, app: Option<&str>) -> SplunkSearch {
        SplunkSearch {
            client: stub.client(
                "/",
                Auth::bearer(SecretString::from(TOKEN)),
                "splunk",
                error_message,
            ),
            app: app.map(str::to_owned),
            allowed: Allowed {
                commands: vec!["tstats".into()],
                macros: false,
            },
        }
    }

    fn cx() -> CallContext {
        CallContext::new("correlate", "alert-1")
    }

    fn query(text: &str, earliest: Option<&str>, latest: Option<&str>, limit: u32) -> Query {
        Query {
            query: text.into(),
            earliest: earliest.map(str::to_owned),
            latest: latest.map(str::to_owned),
            limit,
        }
    }

    /// A oneshot search job as Splunk documents it: `POST search/jobs` with
    /// `exec_mode=oneshot` and JSON output.
    fn oneshot(path: &str) -> Exchange {
        Exchange::expect("POST", path)
            .header("authorization", &format!("Bearer {TOKEN}"))
            .header("accept", "application/json")
            .form("exec_mode", "oneshot")
            .form("output_mode", "json")
    }

    const RESULTS: &str = r#"{"preview":false,"init_offset":0,"messages":[],
        "fields":[{"name":"_raw"},{"name":"_time"},{"name":"host"},{"name":"src_ip"},{"name":"user"}],
        "results":[
          {"_bkt":"main~12~ABC","_cd":"12:345","_indextime":"1795597261","_raw":"Nov 26 09:01:00 sshd[411]: Accepted password for alice from 203.0.113.7",
           "_serial":"0","_si":["idx1","main"],"_sourcetype":"linux_secure","_time":"2026-11-26T09:01:00.000+00:00",
           "host":"bastion-1","src_ip":"203.0.113.7","user":"alice"},
          {"_raw":"Nov 26 09:00:00 sshd[409]: Failed password for alice from 203.0.113.7",
           "_time":"2026-11-26T09:00:00.000+00:00","host":"bastion-1","src_ip":"203.0.113.7","user":"alice"}
        ],"highlighted":{}}"#;

    #[tokio::test]
    async fn a_bare_query_becomes_a_search_with_its_time_range() {
        let stub = Stub::start(vec![
            oneshot("/services/search/jobs")
                .form(
                    "search",
                    "search index=main sourcetype=linux_secure src_ip=203.0.113.7",
                )
                .form("output_mode", "json")
                .form("count", "20")
                .form("earliest_time", "-24h")
                .form("latest_time", "1795687200")
                .reply(200, RESULTS),
        ]);
        let events = splunk(&stub, None)
            .search(
                &cx(),
                &query(
                    "index=main sourcetype=linux_secure src_ip=203.0.113.7",
                    Some("-24h"),
                    Some("2026-11-26T10:00:00Z"),
                    20,
                ),
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(
            events[0].timestamp.as_deref(),
            Some("2026-11-26T09:01:00.000+00:00")
        );
        assert_eq!(events[0].raw["user"], "alice");
        assert_eq!(
            events[1].raw["_raw"],
            "Nov 26 09:00:00 sshd[409]: Failed password for alice from 203.0.113.7"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn generating_commands_pass_as_they_are_in_the_app_namespace() {
        let stub = Stub::start(vec![
            oneshot("/servicesNS/nobody/SplunkEnterpriseSecuritySuite/search/jobs")
                .form("search", "| tstats count where index=main by host")
                .form("count", "1000")
                .reply(
                    200,
                    r#"{"preview":false,"init_offset":0,"messages":[],"fields":[{"name":"host"},{"name":"count"}],
                        "results":[{"host":"bastion-1","count":"42"}],"highlighted":{}}"#,
                ),
            oneshot("/servicesNS/nobody/SplunkEnterpriseSecuritySuite/search/jobs")
                .form("search", "search index=main user=bob")
                .reply(200, ""),
        ]);
        let siem = splunk(&stub, Some("SplunkEnterpriseSecuritySuite"));
        let events = siem
            .search(
                &cx(),
                &query("  | tstats count where index=main by host", None, None, 5000),
            )
            .await
            .unwrap();
        assert_eq!(
            events,
            vec![Event {
                timestamp: None,
                raw: serde_json::json!({"host": "bastion-1", "count": "42"}),
            }]
        );
        let none = siem
            .search(&cx(), &query("search index=main user=bob", None, None, 10))
            .await
            .unwrap();
        assert!(none.is_empty());
        stub.finish();
    }

    #[tokio::test]
    async fn splunk_errors_carry_the_message_and_a_busy_server_is_retried() {
        let stub = Stub::start(vec![
            oneshot("/services/search/jobs")
                .reply(
                    503,
                    r#"{"messages":[{"type":"ERROR","text":"Search not executed: The maximum number of concurrent historical searches on this instance has been reached."}]}"#,
                )
                .reply_header("retry-after", "1"),
            oneshot("/services/search/jobs").reply(200, RESULTS),
            oneshot("/services/search/jobs").reply(
                400,
                r#"{"messages":[{"type":"FATAL","text":"Error in 'search' command: Unable to parse the search: unbalanced parentheses."}]}"#,
            ),
            oneshot("/services/search/jobs")
                .reply(401, r#"{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}"#),
        ]);
        let siem = splunk(&stub, None);
        let started = std::time::Instant::now();
        assert_eq!(
            siem.search(&cx(), &query("error", None, None, 10))
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        assert_eq!(
            siem.search(&cx(), &query("(error", None, None, 10)).await.unwrap_err(),
            ConnectorError::InvalidInput(
                "splunk search: Error in 'search' command: Unable to parse the search: unbalanced parentheses.".into()
            )
        );
        let refused = siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err();
        assert!(matches!(refused, ConnectorError::Unauthorized(_)), "{refused}");
        assert!(
            refused.to_string().contains("call not properly authenticated"),
            "{refused}"
        );
        assert!(!refused.to_string().contains(TOKEN));
        stub.finish();
    }

    #[tokio::test]
    async fn a_reply_that_echoes_the_token_never_carries_it() {
        let stub = Stub::start(vec![
            // A search that failed as it ran answers 200, which the client's status handling
            // never sees.
            oneshot("/services/search/jobs").reply(
                200,
                &format!(r#"{{"messages":[{{"type":"FATAL","text":"Unauthorized: Bearer {TOKEN}"}}]}}"#),
            ),
            // A reply that is not what Splunk documents: the decoding error quotes the value.
            oneshot("/services/search/jobs").reply(200, &format!(r#"{{"results":"Bearer {TOKEN}"}}"#)),
        ]);
        let siem = splunk(&stub, None);
        for _ in 0..2 {
            let error = siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(error, ConnectorError::Failed(_))
                    && text.starts_with("splunk search: ")
                    && text.contains("Bearer [redacted]")
                    && !text.contains("eyJraWQ"),
                "{text}"
            );
        }
        stub.finish();
    }

    const CONCURRENCY: &str = r#"{"messages":[{"type":"ERROR","text":"Search not executed: The maximum number of concurrent historical searches for this user based on their role quota has been reached."}]}"#;

    #[tokio::test]
    async fn a_rate_limited_search_is_retried_then_fails_as_rate_limited() {
        let stub = Stub::start(vec![
            oneshot("/services/search/jobs")
                .reply(429, CONCURRENCY)
                .reply_header("retry-after", "0"),
            oneshot("/services/search/jobs").reply(200, RESULTS),
            // Four refusals: the first try and three retries.
            oneshot("/services/search/jobs").reply(429, CONCURRENCY),
            oneshot("/services/search/jobs").reply(429, CONCURRENCY),
            oneshot("/services/search/jobs").reply(429, CONCURRENCY),
            oneshot("/services/search/jobs").reply(429, CONCURRENCY),
        ]);
        let siem = splunk(&stub, None);
        assert_eq!(
            siem.search(&cx(), &query("index=main", None, None, 10))
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            siem.search(&cx(), &query("index=main", None, None, 10))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "splunk search: HTTP 429: Search not executed: The maximum number of concurrent historical searches for this user based on their role quota has been reached.".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_busy_search_head_asking_for_minutes_fails_at_once() {
        let stub = Stub::start(vec![
            oneshot("/services/search/jobs")
                .reply(503, CONCURRENCY)
                .reply_header("retry-after", "600"),
        ]);
        let started = std::time::Instant::now();
        let error = splunk(&stub, None)
            .search(&cx(), &query("index=main", None, None, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(m) if m.starts_with("splunk search: HTTP 503: Search not executed")),
            "{error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn a_role_without_the_capability_is_unauthorized_and_an_unknown_app_not_found() {
        let stub = Stub::start(vec![
            oneshot("/servicesNS/nobody/missing_app/search/jobs").reply(
                403,
                r#"{"messages":[{"type":"ERROR","text":"You (user=palisade) do not have permission to perform this operation (requires capability: search)."}]}"#,
            ),
            oneshot("/servicesNS/nobody/missing_app/search/jobs")
                .reply(404, r#"{"messages":[{"type":"ERROR","text":"Not Found"}]}"#),
        ]);
        let siem = splunk(&stub, Some("missing_app"));
        let denied = siem
            .search(&cx(), &query("index=main", None, None, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(&denied, ConnectorError::Unauthorized(m)
                if m.starts_with("splunk search: HTTP 403: You (user=palisade) do not have permission")),
            "{denied}"
        );
        assert_eq!(
            siem.search(&cx(), &query("index=main", None, None, 10))
                .await
                .unwrap_err(),
            ConnectorError::NotFound("splunk search: Not Found".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_search_that_failed_while_running_is_an_error() {
        let stub = Stub::start(vec![oneshot("/services/search/jobs").reply(
            200,
            r#"{"preview":false,"init_offset":0,"messages":[{"type":"INFO","text":"Your timerange was substituted"},{"type":"ERROR","text":"Error in 'lookup' command: Could not construct lookup 'threat_intel'."}],"results":[]}"#,
        )]);
        let error = splunk(&stub, None)
            .search(
                &cx(),
                &query("index=main | lookup threat_intel ip", None, None, 10),
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Failed(
                "splunk search: Error in 'lookup' command: Could not construct lookup 'threat_intel'.".into()
            )
        );
        stub.finish();
    }

    #[test]
    fn queries_and_times_are_put_in_splunk_terms() {
        assert_eq!(spl("index=main").unwrap(), "search index=main");
        assert_eq!(spl("searchfoo=1").unwrap(), "search searchfoo=1");
        assert_eq!(spl("search index=main").unwrap(), "search index=main");
        assert_eq!(spl("|inputlookup x").unwrap(), "|inputlookup x");
        assert!(matches!(spl("  "), Err(ConnectorError::InvalidInput(_))));
        assert_eq!(splunk_time("-7d@d", "earliest").unwrap(), "-7d@d");
        assert_eq!(
            splunk_time("2026-11-26T10:00:00.250+01:00", "earliest").unwrap(),
            "1795683600.250"
        );
        assert_eq!(splunk_time("1795600800", "earliest").unwrap(), "1795600800");
    }

    #[tokio::test]
    async fn a_writing_command_is_refused_without_a_call() {
        let stub = Stub::start(vec![]);
        let error = splunk(&stub, None)
            .search(&cx(), &query("index=main | outputlookup vip.csv", None, None, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::InvalidInput(m) if m.contains("outputlookup")),
            "{error}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_limit_of_zero_asks_nothing() {
        let stub = Stub::start(vec![]);
        assert!(
            splunk(&stub, None)
                .search(&cx(), &query("index=main", None, None, 0))
                .await
                .unwrap()
                .is_empty()
        );
        stub.finish();
    }
}
