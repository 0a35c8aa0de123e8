//! Elasticsearch (and OpenSearch, `kind = "opensearch"`), through the search API
//! (`POST /{index}/_search` with a JSON query DSL body, [Elasticsearch search],
//! [OpenSearch search]).
//!
//! ```toml
//! [connectors.elastic]
//! kind = "elasticsearch"
//! url = "https://elastic.acme.example:9200"
//! index = "logs-*"                          # index, alias, data stream or pattern searched
//! api_key = { env = "ELASTIC_API_KEY" }     # the encoded API key: base64 of "id:api_key"
//! # or basic authentication instead of api_key (the only kind OpenSearch takes: an
//! # `api_key` with kind = "opensearch" is a config error):
//! # user = "palisade"
//! # password = { file = "elastic-password" }
//! time_field = "@timestamp"                 # the events' time field (default @timestamp)
//! ```
//!
//! search sends the plugin's query as a `query_string` query (Lucene syntax,
//! `source.ip:203.0.113.7 AND event.outcome:success`), newest events first, at most
//! `limit` (and never more than [`MAX_EVENTS`]) hits, each an event whose `raw` is the hit's
//! `_source` and whose timestamp is its time field. An empty query matches every event.
//!
//! `earliest` and `latest` bound the time field (inclusive). Each is an RFC 3339 time, Elastic
//! date math (`now-1d/d`), or a Splunk-style relative time, translated to date math:
//! `-24h` is `now-24h`, `-7d@d` is `now-7d/d`, `now` stays `now`; units are `s`, `m`
//! (minutes), `h`, `d`, `w`, `mon` (months) and `y`. A search is a read, so it is retried like
//! one: an overloaded cluster answers 429 (`es_rejected_execution_exception`, [push back]),
//! waited out (`Retry-After` up to a minute) before the search is sent again. A concrete index
//! that does not exist is a 404 (`index_not_found_exception`); a pattern that matches nothing
//! finds no events. Authentication is `Authorization: ApiKey <encoded key>` with `api_key`
//! ([Elasticsearch authentication]), or basic with `user` and `password` (the only kind
//! [OpenSearch authentication] takes); one of them is required.
//!
//! [Elasticsearch search]: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search
//! [OpenSearch search]: https://docs.opensearch.org/latest/api-reference/search-apis/search/
//! [push back]: https://www.elastic.co/guide/en/elasticsearch/reference/current/api-conventions.html#api-push-back
//! [Elasticsearch authentication]: https://www.elastic.co/docs/api/doc/elasticsearch/authentication
//! [OpenSearch authentication]: https://docs.opensearch.org/latest/security/authentication-backends/basic-authc/

use super::{Event, MAX_EVENTS, Query, SiemSearch};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elasticsearch {
    index: String,
    api_key: Option<Spanned<SecretRef>>,
    user: Option<String>,
    password: Option<Spanned<SecretRef>>,
    #[serde(default = "default_time_field")]
    time_field: String,
}

fn default_time_field() -> String {
    "@timestamp".into()
}

impl Elasticsearch {
    fn build_as(&self, cx: &BuildContext, vendor: &'static str) -> anyhow::Result<CapabilitySet> {
        let index = self.index.trim();
        // `_search` or `_all/..` would reach another API; a name with `/` cannot be one index.
        if index.is_empty() || index.starts_with('_') || index.contains('/') || index == "." || index == ".."
        {
            anyhow::bail!("index {index:?} is not an index name or pattern");
        }
        if self.time_field.trim().is_empty() {
            anyhow::bail!("time_field is empty");
        }
        let auth = match (&self.api_key, &self.user, &self.password) {
            (Some(key), None, None) => Auth::Header {
                name: reqwest::header::AUTHORIZATION,
                scheme: Some("ApiKey"),
                secret: cx.secret("api_key", key)?,
            },
            (None, Some(user), Some(password)) => Auth::Basic {
                user: user.clone(),
                password: cx.secret("password", password)?,
            },
            _ => anyhow::bail!("set either `api_key`, or `user` and `password`"),
        };
        Ok(CapabilitySet {
            siem: Some(Arc::new(ElasticSearch {
                client: cx.client(vendor, auth, error_message),
                index: index.to_owned(),
                time_field: self.time_field.clone(),
            })),
            ..CapabilitySet::default()
        })
    }

    fn secret_keys(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        let mut secrets = Vec::new();
        if let Some(key) = &self.api_key {
            secrets.push(("api_key", key));
        }
        if let Some(password) = &self.password {
            secrets.push(("password", password));
        }
        secrets
    }
}

impl VendorBackend for Elasticsearch {
    const KIND: &'static str = "elasticsearch";
    const CAPABILITY: Capability = Capability::Siem;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        self.secret_keys()
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        self.build_as(cx, "elasticsearch")
    }
}

/// OpenSearch kept the search API of the Elasticsearch it forked from.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct OpenSearch(Elasticsearch);

impl VendorBackend for OpenSearch {
    const KIND: &'static str = "opensearch";
    const CAPABILITY: Capability = Capability::Siem;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        self.0.secret_keys()
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        // OpenSearch has no API keys: the header would be refused on every search.
        if self.0.api_key.is_some() {
            anyhow::bail!(
                "api_key: OpenSearch does not take Elasticsearch API keys; set `user` and `password`"
            );
        }
        self.0.build_as(cx, "opensearch")
    }
}

/// Elasticsearch's error body: `{"error":{"root_cause":[{"type":..,"reason":..}],"type":..,
/// "reason":..},"status":400}`, or `{"error":"..."}` from some proxies and old versions.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        error: Value,
    }
    let Body { error } = serde_json::from_slice(body).ok()?;
    if let Value::String(message) = error {
        return Some(message);
    }
    let cause = |value: &Value| -> Option<String> {
        let reason = value.get("reason")?.as_str()?;
        Some(match value.get("type").and_then(Value::as_str) {
            Some(kind) => format!("{reason} ({kind})"),
            None => reason.to_owned(),
        })
    };
    let mut message = cause(&error)?;
    // "all shards failed" says little: the first root cause says why.
    if let Some(root) = error
        .get("root_cause")
        .and_then(Value::as_array)
        .and_then(|causes| causes.first())
        .and_then(cause)
        .filter(|root| *root != message)
    {
        message.push_str(": ");
        message.push_str(&root);
    }
    Some(message)
}

struct ElasticSearch {
    client: Arc<VendorClient>,
    index: String,
    time_field: String,
}

#[derive(Deserialize)]
struct SearchReply {
    hits: Hits,
}

#[derive(Deserialize)]
struct Hits {
    #[serde(default)]
    hits: Vec<Hit>,
}

#[derive(Deserialize)]
struct Hit {
    /// Absent when the index stores no source; the event is then the bare hit.
    #[serde(rename = "_source")]
    source: Option<Value>,
    #[serde(rename = "_index")]
    index: Option<String>,
    #[serde(rename = "_id")]
    id: Option<String>,
}

/// A time bound as Elastic reads it: Splunk-style relative times become date math.
fn date_math(bound: &str, name: &str) -> Result<String, ConnectorError> {
    let bound = bound.trim();
    if !bound.starts_with(['-', '+']) {
        if bound.is_empty() {
            return Err(ConnectorError::InvalidInput(format!("{name} is empty")));
        }
        return Ok(bound.to_owned());
    }
    let invalid = || {
        ConnectorError::InvalidInput(format!(
            "{name} {bound:?} is not a relative time like -24h or -7d@d (units s, m, h, d, w, mon, y)"
        ))
    };
    let unit = |unit: &str| -> Option<&'static str> {
        Some(match unit {
            "s" => "s",
            "m" => "m",
            "h" => "h",
            "d" => "d",
            "w" => "w",
            "mon" => "M",
            "y" => "y",
            _ => return None,
        })
    };
    let (offset, snap) = match bound.split_once('@') {
        Some((offset, snap)) => (offset, Some(snap)),
        None => (bound, None),
    };
    let (sign, rest) = offset.split_at(1);
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (amount, offset_unit) = rest.split_at(digits);
    if amount.is_empty() {
        return Err(invalid());
    }
    let mut math = format!("now{sign}{amount}{}", unit(offset_unit).ok_or_else(invalid)?);
    if let Some(snap) = snap {
        math.push('/');
        math.push_str(unit(snap).ok_or_else(invalid)?);
    }
    Ok(math)
}

/// The time field's value in a source, whether stored as one dotted key or as nested objects.
fn time_of(source: &Value, field: &str) -> Option<String> {
    let value = source
        .get(field)
        .or_else(|| field.split('.').try_fold(source, |value, part| value.get(part)))?;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(values) => values.first().and_then(|first| match first {
            Value::String(text) => Some(text.clone()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }),
        _ => None,
    }
}

#[async_trait::async_trait]
impl SiemSearch for ElasticSearch {
    async fn search(&self, _cx: &CallContext, query: &Query) -> Result<Vec<Event>, ConnectorError> {
        let limit = query.limit.min(MAX_EVENTS);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut range = serde_json::Map::new();
        if let Some(earliest) = &query.earliest {
            range.insert("gte".into(), json!(date_math(earliest, "earliest")?));
        }
        if let Some(latest) = &query.latest {
            range.insert("lte".into(), json!(date_math(latest, "latest")?));
        }
        let mut filter = Vec::new();
        if !range.is_empty() {
            // RFC 3339 whatever the field's own format; date math works with any.
            range.insert("format".into(), json!("strict_date_optional_time||epoch_millis"));
            filter.push(json!({"range": {self.time_field.as_str(): range}}));
        }
        let mut must = Vec::new();
        if !query.query.trim().is_empty() {
            must.push(json!({"query_string": {"query": query.query}}));
        }
        let body = json!({
            "size": limit,
            // unmapped_type: an index in the pattern without the field sorts instead of failing.
            "sort": [{self.time_field.as_str(): {"order": "desc", "unmapped_type": "date"}}],
            "query": {"bool": {"must": must, "filter": filter}},
        });
        let request = Request::post("")
            .segment(self.index.clone())
            .path("_search")
            .json(&body)
            .idempotent();
        let reply: SearchReply = self.client.json(&request, "search").await?;
        Ok(reply
            .hits
            .hits
            .into_iter()
            .take(limit as usize)
            .map(|hit| {
                let raw = match hit.source {
                    Some(source) => source,
                    None => json!({"_index": hit.index, "_id": hit.id}),
                };
                Event {
                    timestamp: time_of(&raw, &self.time_field),
                    raw,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const API_KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";

    fn elastic(stub: &Stub, auth: Auth) -> ElasticSearch {
        ElasticSearch {
            client: stub.client("/", auth, "elasticsearch", error_message),
            index: "logs-*".into(),
            time_field: "@timestamp".into(),
        }
    }

    fn api_key() -> Auth {
        Auth::Header {
            name: reqwest::header::AUTHORIZATION,
            scheme: Some("ApiKey"),
            secret: SecretString::from(API_KEY),
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

    fn search() -> Exchange {
        Exchange::expect("POST", "/logs-*/_search")
            .header("authorization", &format!("ApiKey {API_KEY}"))
            .header("accept", "application/json")
    }

    const HITS: &str = r#"{"took":5,"timed_out":false,"_shards":{"total":2,"successful":2,"skipped":0,"failed":0},
        "hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[
          {"_index":".ds-logs-auth-2026.11.26-000001","_id":"a1","_score":null,
           "_source":{"@timestamp":"2026-11-26T09:01:00.000Z","user":{"name":"alice"},"source":{"ip":"203.0.113.7"},"event":{"outcome":"success"}},
           "sort":[1795597260000]},
          {"_index":".ds-logs-auth-2026.11.26-000001","_id":"a0","_score":null,
           "_source":{"@timestamp":"2026-11-26T09:00:00.000Z","user":{"name":"alice"},"source":{"ip":"203.0.113.7"},"event":{"outcome":"failure"}},
           "sort":[1795597200000]}
        ]}}"#;

    #[tokio::test]
    async fn a_search_sends_the_query_and_time_range_and_reads_sources() {
        let stub = Stub::start(vec![search()
            .json(json!({
                "size": 50,
                "sort": [{"@timestamp": {"order": "desc", "unmapped_type": "date"}}],
                "query": {"bool": {
                    "must": [{"query_string": {"query": "source.ip:\"203.0.113.7\" AND user.name:alice"}}],
                    "filter": [{"range": {"@timestamp": {
                        "gte": "now-24h",
                        "lte": "2026-11-26T10:00:00Z",
                        "format": "strict_date_optional_time||epoch_millis",
                    }}}],
                }},
            }))
            .reply(200, HITS)]);
        let events = elastic(&stub, api_key())
            .search(
                &cx(),
                &query(
                    "source.ip:\"203.0.113.7\" AND user.name:alice",
                    Some("-24h"),
                    Some("2026-11-26T10:00:00Z"),
                    50,
                ),
            )
            .await
            .unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].timestamp.as_deref(), Some("2026-11-26T09:01:00.000Z"));
        assert_eq!(events[0].raw["event"]["outcome"], "success");
        stub.finish();
    }

    #[tokio::test]
    async fn basic_auth_an_unbounded_search_and_the_event_cap() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/logs-*/_search")
                .header("authorization", "Basic cGFsaXNhZGU6aHVudGVyMg==")
                .json(json!({
                    "size": MAX_EVENTS,
                    "query": {"bool": {"must": [], "filter": []}},
                }))
                .reply(200, r#"{"hits":{"total":{"value":0,"relation":"eq"},"hits":[]}}"#),
        ]);
        let auth = Auth::Basic {
            user: "palisade".into(),
            password: SecretString::from("hunter2"),
        };
        let events = elastic(&stub, auth)
            .search(&cx(), &query("", None, None, 1_000_000))
            .await
            .unwrap();
        assert!(events.is_empty());
        stub.finish();
    }

    #[tokio::test]
    async fn the_time_field_is_configurable_and_read_nested_or_flat() {
        let stub = Stub::start(vec![
            search()
                .json(json!({
                    "sort": [{"event.created": {"order": "desc", "unmapped_type": "date"}}],
                    "query": {"bool": {"filter": [{"range": {"event.created": {
                        "gte": "now-7d/d",
                        "format": "strict_date_optional_time||epoch_millis",
                    }}}]}},
                }))
                .reply(
                    200,
                    r#"{"hits":{"hits":[
                    {"_index":"logs","_id":"1","_source":{"event":{"created":"2026-11-25T00:00:00Z"}}},
                    {"_index":"logs","_id":"2","_source":{"event.created":1795597200000}},
                    {"_index":"logs","_id":"3"}
                ]}}"#,
                ),
        ]);
        let mut siem = elastic(&stub, api_key());
        siem.time_field = "event.created".into();
        let events = siem
            .search(&cx(), &query("*", Some("-7d@d"), None, 10))
            .await
            .unwrap();
        let times: Vec<Option<&str>> = events.iter().map(|e| e.timestamp.as_deref()).collect();
        assert_eq!(
            times,
            vec![Some("2026-11-25T00:00:00Z"), Some("1795597200000"), None]
        );
        assert_eq!(events[2].raw, json!({"_index": "logs", "_id": "3"}));
        stub.finish();
    }

    #[test]
    fn relative_times_become_date_math() {
        for (splunk, elastic) in [
            ("-24h", "now-24h"),
            ("-15m", "now-15m"),
            ("-3mon", "now-3M"),
            ("-7d@d", "now-7d/d"),
            ("+1h", "now+1h"),
            ("now", "now"),
            ("now-1d/d", "now-1d/d"),
            ("2026-11-26T09:00:00Z", "2026-11-26T09:00:00Z"),
        ] {
            assert_eq!(date_math(splunk, "earliest").unwrap(), elastic, "{splunk}");
        }
        for bad in ["-24hours", "-h", "-1d@q", ""] {
            assert!(
                matches!(date_math(bad, "earliest"), Err(ConnectorError::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn a_bad_query_carries_the_root_cause_and_overload_is_retried() {
        let stub = Stub::start(vec![
            search().reply(
                429,
                r#"{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}"#,
            )
            .reply_header("retry-after", "0"),
            search().reply(200, HITS),
            search().reply(
                400,
                r#"{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [source.ip:(]","index":"logs"}],"type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true,"failed_shards":[]},"status":400}"#,
            ),
            Exchange::expect("POST", "/logs-*/_search").reply(
                401,
                r#"{"error":{"root_cause":[{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request"},"status":401}"#,
            ),
        ]);
        let siem = elastic(&stub, api_key());
        assert_eq!(
            siem.search(&cx(), &query("user.name:alice", None, None, 10))
                .await
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            siem.search(&cx(), &query("source.ip:(", None, None, 10)).await.unwrap_err(),
            ConnectorError::InvalidInput(
                "elasticsearch search: all shards failed (search_phase_execution_exception): Failed to parse query [source.ip:(] (query_shard_exception)".into()
            )
        );
        let refused = siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err();
        assert!(matches!(refused, ConnectorError::Unauthorized(_)), "{refused}");
        assert!(!refused.to_string().contains(API_KEY));
        stub.finish();
    }

    #[tokio::test]
    async fn overload_waits_out_retry_after_and_a_long_wait_fails_as_rate_limited() {
        let rejected = r#"{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"}],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation"},"status":429}"#;
        let stub = Stub::start(vec![
            search().reply(429, rejected).reply_header("retry-after", "1"),
            search().reply(200, HITS),
            search().reply(429, rejected).reply_header("retry-after", "120"),
        ]);
        let siem = elastic(&stub, api_key());
        let started = std::time::Instant::now();
        assert_eq!(
            siem.search(&cx(), &query("user.name:alice", None, None, 10))
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        let started = std::time::Instant::now();
        assert_eq!(
            siem.search(&cx(), &query("user.name:alice", None, None, 10))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "elasticsearch search: HTTP 429: rejected execution of coordinating operation (es_rejected_execution_exception)".into()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn a_missing_index_is_not_found_and_a_key_without_read_is_unauthorized() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/logs-auth/_search")
                .header("authorization", &format!("ApiKey {API_KEY}"))
                .reply(
                    404,
                    r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [logs-auth]","resource.type":"index_or_alias","resource.id":"logs-auth","index_uuid":"_na_","index":"logs-auth"}],"type":"index_not_found_exception","reason":"no such index [logs-auth]","resource.type":"index_or_alias","resource.id":"logs-auth","index_uuid":"_na_","index":"logs-auth"},"status":404}"#,
                ),
            Exchange::expect("POST", "/logs-auth/_search").reply(
                403,
                r#"{"error":{"root_cause":[{"type":"security_exception","reason":"action [indices:data/read/search] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [palisade] on indices [logs-auth], this action is granted by the index privileges [read,all]"}],"type":"security_exception","reason":"action [indices:data/read/search] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [palisade] on indices [logs-auth], this action is granted by the index privileges [read,all]"},"status":403}"#,
            ),
        ]);
        let mut siem = elastic(&stub, api_key());
        siem.index = "logs-auth".into();
        assert_eq!(
            siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err(),
            ConnectorError::NotFound(
                "elasticsearch search: no such index [logs-auth] (index_not_found_exception)".into()
            )
        );
        let denied = siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err();
        assert!(
            matches!(&denied, ConnectorError::Unauthorized(m)
                if m.starts_with("elasticsearch search: HTTP 403: action [indices:data/read/search] is unauthorized")),
            "{denied}"
        );
        assert!(!denied.to_string().contains(API_KEY));
        stub.finish();
    }

    #[tokio::test]
    async fn opensearch_searches_with_basic_auth_and_a_refused_password_is_unauthorized() {
        // OpenSearch's security plugin answers a bad password with a bare text body.
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/logs-*/_search")
                .header("authorization", "Basic cGFsaXNhZGU6aHVudGVyMg==")
                .header("accept", "application/json")
                .header("content-type", "application/json")
                .json(json!({
                    "size": 10,
                    "query": {"bool": {"must": [{"query_string": {"query": "user.name:alice"}}]}},
                }))
                .reply(200, HITS),
            Exchange::expect("POST", "/logs-*/_search")
                .header("authorization", "Basic cGFsaXNhZGU6aHVudGVyMg==")
                .reply(401, "Unauthorized")
                .reply_header("www-authenticate", "Basic realm=\"OpenSearch Security\""),
        ]);
        let siem = ElasticSearch {
            client: stub.client(
                "/",
                Auth::Basic {
                    user: "palisade".into(),
                    password: SecretString::from("hunter2"),
                },
                "opensearch",
                error_message,
            ),
            index: "logs-*".into(),
            time_field: "@timestamp".into(),
        };
        let events = siem
            .search(&cx(), &query("user.name:alice", None, None, 10))
            .await
            .unwrap();
        assert_eq!(events[1].raw["event"]["outcome"], "failure");
        let refused = siem.search(&cx(), &query("x", None, None, 10)).await.unwrap_err();
        assert_eq!(
            refused,
            ConnectorError::Unauthorized(
                "opensearch search: HTTP 401: Unauthorized (check the connector's credentials and their permissions)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_malformed_reply_names_the_field() {
        let stub = Stub::start(vec![search().reply(200, r#"{"hits":{"hits":{"oops":1}}}"#)]);
        let error = elastic(&stub, api_key())
            .search(&cx(), &query("x", None, None, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Failed(message) if message.contains("hits.hits")),
            "{error}"
        );
        stub.finish();
    }

    #[test]
    fn an_api_key_for_opensearch_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let cx = BuildContext {
            http: crate::webhook::http_client().unwrap(),
            settings: Some(crate::http::HttpSettings::new(
                "https://search.acme.example:9200".parse().unwrap(),
            )),
            dir: dir.path().to_owned(),
        };
        std::fs::write(dir.path().join("key"), "not-used-by-opensearch").unwrap();
        let with_key: OpenSearch =
            toml::from_str("index = \"logs-*\"\napi_key = { file = \"key\" }\n").unwrap();
        let error = with_key.build(&cx).err().unwrap().to_string();
        assert!(error.starts_with("api_key: OpenSearch"), "{error}");
        let basic: OpenSearch =
            toml::from_str("index = \"logs-*\"\nuser = \"palisade\"\npassword = { file = \"key\" }\n")
                .unwrap();
        assert!(basic.build(&cx).is_ok());
    }
}
