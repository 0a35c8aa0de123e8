//! CrowdStrike Falcon, through its Hosts API with an API client's OAuth2 client credentials
//! (scope `Hosts: Read` for lookups, `Hosts: Write` for containment).
//!
//! ```toml
//! [connectors.falcon]
//! kind = "crowdstrike"
//! url = "https://api.crowdstrike.com"        # or api.us-2 / api.eu-1 / api.laggar.gcw
//! client_id = "0123456789abcdef0123456789abcdef"
//! client_secret = { env = "FALCON_CLIENT_SECRET" }
//! ```
//!
//! The token comes from `POST {url}/oauth2/token` (form `client_id`, `client_secret`).
//!
//! | operation | Falcon call |
//! | --- | --- |
//! | lookup-host | `GET /devices/queries/devices/v1?filter=hostname:'NAME'` (the most recently seen), then `GET /devices/entities/devices/v2?ids=AID` |
//! | isolate-host | `POST /devices/entities/devices-actions/v2?action_name=contain` `{"ids":["AID"]}` |
//! | release-host | `POST /devices/entities/devices-actions/v2?action_name=lift_containment` `{"ids":["AID"]}` |
//! | kill-process, quarantine-file | unsupported: they need Real Time Response sessions, which this connector does not open |
//!
//! The receipt's reference is the device id (AID).

use super::{Endpoint, EndpointAction, HostInfo, HostRequest};
use crate::capability::Capability;
use crate::config::SecretRef;
use crate::connectors::http::{Auth, Request, VendorClient};
use crate::connectors::oauth::ClientCredentials;
use crate::connectors::vendor::{BuildContext, VendorBackend};
use crate::connectors::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrowdStrike {
    client_id: String,
    client_secret: Spanned<SecretRef>,
}

impl VendorBackend for CrowdStrike {
    const KIND: &'static str = "crowdstrike";
    const CAPABILITY: Capability = Capability::Endpoint;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("client_secret", &self.client_secret)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        anyhow::ensure!(!self.client_id.trim().is_empty(), "client_id is empty");
        let Some(settings) = &cx.settings else {
            anyhow::bail!("kind crowdstrike needs `url`");
        };
        let mut token_url = settings.base_url.clone();
        if let Ok(mut path) = token_url.path_segments_mut() {
            path.pop_if_empty().extend(["oauth2", "token"]);
        }
        let credentials = ClientCredentials::new(
            token_url,
            self.client_id.clone(),
            cx.secret("client_secret", &self.client_secret)?,
            Vec::new(),
        );
        Ok(CapabilitySet {
            endpoint: Some(Arc::new(Falcon {
                client: cx.client("crowdstrike", Auth::OAuth(Arc::new(credentials)), error_message),
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Falcon's envelope: `{"meta":{...},"resources":[],"errors":[{"code":404,"message":"..."}]}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Option<Vec<FalconError>>,
    }
    let messages: Vec<String> = serde_json::from_slice::<Errors>(body)
        .ok()?
        .errors?
        .into_iter()
        .map(FalconError::describe)
        .collect();
    (!messages.is_empty()).then(|| messages.join("; "))
}

#[derive(Deserialize)]
struct FalconError {
    code: Option<i64>,
    message: String,
    #[serde(default)]
    id: Option<String>,
}

impl FalconError {
    fn describe(self) -> String {
        let mut text = self.message;
        if let Some(id) = self.id {
            text.push_str(&format!(" [{id}]"));
        }
        if let Some(code) = self.code {
            text.push_str(&format!(" ({code})"));
        }
        text
    }
}

/// A reply that is 2xx but still lists errors (Falcon does this for a batch where some ids
/// failed) is a failure.
#[derive(Deserialize)]
struct Envelope<T> {
    resources: Option<Vec<T>>,
    errors: Option<Vec<FalconError>>,
}

impl<T> Envelope<T> {
    fn resources(self, what: &str) -> Result<Vec<T>, ConnectorError> {
        let errors = self.errors.unwrap_or_default();
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(FalconError::describe).collect();
            return Err(ConnectorError::Failed(format!(
                "crowdstrike {what}: {}",
                messages.join("; ")
            )));
        }
        Ok(self.resources.unwrap_or_default())
    }
}

#[derive(Deserialize)]
struct Device {
    device_id: String,
    hostname: Option<String>,
    platform_name: Option<String>,
    os_version: Option<String>,
    local_ip: Option<String>,
    external_ip: Option<String>,
    status: Option<String>,
    last_seen: Option<String>,
}

struct Falcon {
    client: Arc<VendorClient>,
}

/// An FQL string literal: quotes and backslashes in the value are escaped, so a hostname
/// cannot end the literal and add a condition of its own.
fn fql_string(value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    literal.push('\'');
    for c in value.chars() {
        if matches!(c, '\'' | '\\') {
            literal.push('\\');
        }
        literal.push(c);
    }
    literal.push('\'');
    literal
}

impl Falcon {
    /// The device id of the most recently seen sensor with this hostname (a re-imaged machine
    /// keeps its name under a new id).
    async fn device_id(&self, hostname: &str) -> Result<String, ConnectorError> {
        if hostname.is_empty() || hostname.chars().any(char::is_control) {
            return Err(ConnectorError::InvalidInput(format!(
                "{hostname:?} is not a hostname"
            )));
        }
        let request = Request::get("devices/queries/devices/v1")
            .query("filter", format!("hostname:{}", fql_string(hostname)))
            .query("sort", "last_seen.desc")
            .query("limit", "1");
        let ids = self
            .client
            .json::<Envelope<String>>(&request, "find host")
            .await?
            .resources("find host")?;
        ids.into_iter().next().ok_or_else(|| {
            ConnectorError::NotFound(format!("crowdstrike find host: no host named {hostname:?}"))
        })
    }

    async fn device(&self, id: &str) -> Result<Device, ConnectorError> {
        let request = Request::get("devices/entities/devices/v2").query("ids", id);
        self.client
            .json::<Envelope<Device>>(&request, "get host")
            .await?
            .resources("get host")?
            .into_iter()
            .next()
            .ok_or_else(|| ConnectorError::NotFound(format!("crowdstrike get host: no device {id}")))
    }
}

#[async_trait::async_trait]
impl Endpoint for Falcon {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        let id = self.device_id(hostname).await?;
        let device = self.device(&id).await?;
        let os = match (device.platform_name, device.os_version) {
            (Some(platform), Some(version)) if !version.contains(&platform) => {
                Some(format!("{platform} ({version})"))
            }
            (platform, version) => version.or(platform),
        };
        Ok(HostInfo {
            hostname: device.hostname.unwrap_or_else(|| hostname.to_owned()),
            os,
            ip_addresses: [device.local_ip, device.external_ip]
                .into_iter()
                .flatten()
                .filter(|ip| !ip.is_empty())
                .collect(),
            // `containment_pending` counts: the sensor is being cut off.
            isolated: matches!(
                device.status.as_deref(),
                Some("contained" | "containment_pending")
            ),
            last_seen: device.last_seen,
            id: device.device_id,
        })
    }

    async fn act(
        &self,
        _cx: &CallContext,
        request: &HostRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        let (action_name, what) = match request.action {
            EndpointAction::IsolateHost => ("contain", "contain host"),
            EndpointAction::ReleaseHost => ("lift_containment", "lift containment"),
            EndpointAction::KillProcess { .. } | EndpointAction::QuarantineFile { .. } => {
                return Err(ConnectorError::Unsupported(format!(
                    "crowdstrike {}: not supported: Falcon does this through Real Time Response \
                     sessions, which this connector does not open; contain the host instead",
                    request.action.operation()
                )));
            }
        };
        let id = self.device_id(request.hostname).await?;
        // Containing a contained host (or lifting a lifted one) leaves it as it is: safe to
        // repeat.
        let call = Request::post("devices/entities/devices-actions/v2")
            .query("action_name", action_name)
            .json(&serde_json::json!({ "ids": [id] }))
            .idempotent();
        self.client
            .json::<Envelope<serde_json::Value>>(&call, what)
            .await?
            .resources(what)?;
        Ok(ActionReceipt { reference: Some(id) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const TOKEN: &str = "falcon-bearer-token";
    const SECRET: &str = "falcon-client-secret";
    const AID: &str = "4f1a9b2c3d4e5f60718293a4b5c6d7e8";

    fn falcon(stub: &Stub) -> Falcon {
        let credentials = ClientCredentials::new(
            stub.url("/oauth2/token"),
            "falcon-client".into(),
            SecretString::from(SECRET),
            Vec::new(),
        );
        Falcon {
            client: stub.client(
                "/",
                Auth::OAuth(Arc::new(credentials)),
                "crowdstrike",
                error_message,
            ),
        }
    }

    fn cx() -> CallContext {
        CallContext::new("contain-host", "alert-1")
    }

    fn token() -> Exchange {
        Exchange::expect("POST", "/oauth2/token")
            .form("client_id", "falcon-client")
            .form("client_secret", SECRET)
            .reply(
                201,
                &format!(r#"{{"access_token":"{TOKEN}","token_type":"bearer","expires_in":1799}}"#),
            )
    }

    /// `filter=hostname:'NAME'&sort=last_seen.desc&limit=1`, form-encoded as sent.
    fn find(encoded_name: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!(
                "/devices/queries/devices/v1?filter=hostname%3A%27{encoded_name}%27&sort=last_seen.desc&limit=1"
            ),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    fn found() -> String {
        format!(
            r#"{{"meta":{{"query_time":0.004,"pagination":{{"offset":1,"limit":1,"total":1}},"powered_by":"device-api","trace_id":"t-1"}},"resources":["{AID}"],"errors":[]}}"#
        )
    }

    #[tokio::test]
    async fn a_lookup_finds_the_id_then_reads_the_device() {
        let stub = Stub::start(vec![
            token(),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect("GET", &format!("/devices/entities/devices/v2?ids={AID}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(
                    200,
                    &format!(
                        r#"{{"meta":{{"query_time":0.002,"trace_id":"t-2"}},"resources":[{{"device_id":"{AID}",
                        "cid":"0123","hostname":"FIN-WS-07","platform_name":"Windows","os_version":"Windows 11",
                        "local_ip":"10.1.4.7","external_ip":"198.51.100.20","mac_address":"00-15-5d-01-02-03",
                        "status":"contained","last_seen":"2024-05-01T10:00:00Z","first_seen":"2023-01-01T00:00:00Z"}}],"errors":[]}}"#
                    ),
                ),
        ]);
        let host = falcon(&stub).lookup_host(&cx(), "FIN-WS-07").await.unwrap();
        assert_eq!(
            host,
            HostInfo {
                id: AID.into(),
                hostname: "FIN-WS-07".into(),
                os: Some("Windows 11".into()),
                ip_addresses: vec!["10.1.4.7".into(), "198.51.100.20".into()],
                isolated: true,
                last_seen: Some("2024-05-01T10:00:00Z".into()),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_quote_in_the_hostname_cannot_end_the_fql_literal() {
        let stub = Stub::start(vec![
            token(),
            // hostname:'x\',hostname:\'*'
            find("x%5C%27%2Chostname%3A%5C%27*")
                .reply(200, r#"{"meta":{"query_time":0.001},"resources":[],"errors":[]}"#),
        ]);
        let error = falcon(&stub)
            .lookup_host(&cx(), "x',hostname:'*")
            .await
            .unwrap_err();
        assert!(matches!(error, ConnectorError::NotFound(_)), "{error}");
        stub.finish();
    }

    #[tokio::test]
    async fn containment_and_its_lifting_act_on_the_device_id() {
        let action_reply = format!(
            r#"{{"meta":{{"query_time":0.2,"trace_id":"t-3"}},"resources":[{{"id":"{AID}","path":""}}],"errors":[]}}"#
        );
        let stub = Stub::start(vec![
            token(),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect("POST", "/devices/entities/devices-actions/v2?action_name=contain")
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({ "ids": [AID] }))
                .reply(202, &action_reply),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=lift_containment",
            )
            .json(serde_json::json!({ "ids": [AID] }))
            .reply(202, &action_reply),
        ]);
        let falcon = falcon(&stub);
        for action in [EndpointAction::IsolateHost, EndpointAction::ReleaseHost] {
            let receipt = falcon
                .act(
                    &cx(),
                    &HostRequest {
                        hostname: "FIN-WS-07",
                        action: &action,
                        reason: "ransomware",
                    },
                )
                .await
                .unwrap();
            assert_eq!(receipt.reference.as_deref(), Some(AID));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn containment_is_retried_after_a_rate_limit_and_a_5xx() {
        let stub = Stub::start(vec![
            token(),
            find("FIN-WS-07")
                .reply(
                    429,
                    r#"{"meta":{"query_time":0},"errors":[{"code":429,"message":"API rate limit exceeded."}]}"#,
                )
                .reply_header("retry-after", "0"),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .reply(503, r#"{"meta":{},"errors":[{"code":503,"message":"Service unavailable"}]}"#),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .json(serde_json::json!({ "ids": [AID] }))
            .reply(202, &format!(r#"{{"meta":{{}},"resources":[{{"id":"{AID}"}}],"errors":[]}}"#)),
        ]);
        falcon(&stub)
            .act(
                &cx(),
                &HostRequest {
                    hostname: "FIN-WS-07",
                    action: &EndpointAction::IsolateHost,
                    reason: "ransomware",
                },
            )
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn falcon_errors_carry_the_message() {
        let stub = Stub::start(vec![
            token(),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .reply(
                404,
                &format!(r#"{{"meta":{{"query_time":0.1,"trace_id":"t-4"}},"resources":[],"errors":[{{"code":404,"message":"Device not found.","id":"{AID}"}}]}}"#),
            ),
            find("FIN-WS-07").reply(200, &found()),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            // A 2xx whose envelope still lists an error is a failure.
            .reply(
                200,
                &format!(r#"{{"meta":{{}},"resources":[],"errors":[{{"code":409,"message":"Host is already being contained.","id":"{AID}"}}]}}"#),
            ),
        ]);
        let falcon = falcon(&stub);
        let request = HostRequest {
            hostname: "FIN-WS-07",
            action: &EndpointAction::IsolateHost,
            reason: "ransomware",
        };
        assert_eq!(
            falcon.act(&cx(), &request).await.unwrap_err(),
            ConnectorError::NotFound(format!(
                "crowdstrike contain host: Device not found. [{AID}] (404)"
            ))
        );
        let partial = falcon.act(&cx(), &request).await.unwrap_err();
        assert!(
            matches!(&partial, ConnectorError::Failed(m) if m.contains("already being contained")),
            "{partial}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn real_time_response_actions_are_refused_without_a_call() {
        let stub = Stub::start(vec![]);
        let error = falcon(&stub)
            .act(
                &cx(),
                &HostRequest {
                    hostname: "FIN-WS-07",
                    action: &EndpointAction::KillProcess { pid: 4242 },
                    reason: "ransomware",
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unsupported(m) if m.contains("Real Time Response")),
            "{error}"
        );
        stub.finish();
    }
}
