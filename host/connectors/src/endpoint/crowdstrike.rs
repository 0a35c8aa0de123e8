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
//! | lookup-host | `GET /devices/queries/devices/v1?filter=...` (below), then `GET /devices/entities/devices/v2?ids=AID&ids=...` |
//! | isolate-host | `POST /devices/entities/devices-actions/v2?action_name=contain` `{"ids":["AID"]}` |
//! | release-host | `POST /devices/entities/devices-actions/v2?action_name=lift_containment` `{"ids":["AID"]}` |
//! | kill-process, quarantine-file | unsupported: they need Real Time Response sessions, which this connector does not open |
//!
//! A lookup resolves a name the way Falcon knows a host: a device id (AID, 32 hex digits) is
//! read directly; an address is searched as `local_ip:['A'],external_ip:['A']`; a name as
//! `hostname:['NAME']`, and an FQDN also by its first label (Falcon keeps the short name and
//! the AD domain apart): FQL's exact match, each value an escaped FQL string, and a `*` (FQL's
//! wildcard, in no host name) refused. Every device found is read, and
//! only those that answer to the name asked (hostname, `hostname.machine_domain`, AID or an
//! address) count: none is not found, several (a re-imaged machine under a new AID, two
//! sensors with one name) are ambiguous, and the policy gate holds both for a person rather
//! than guess. Containment then acts on the AID resolved.
//!
//! Falcon's API reference sits behind its console; these are the Hosts API operations
//! `QueryDevicesByFilter`, `GetDeviceDetailsV2` and `PerformActionV2` as its public
//! OpenAPI-generated SDK documents them
//! (<https://www.falconpy.io/Service-Collections/Hosts.html>), and the FQL syntax
//! (<https://www.falconpy.io/Usage/Falcon-Query-Language.html>).
//!
//! Falcon refuses to contain a host that is contained or being contained (and to lift a lifted
//! one); when it refuses, the device's status is read, and a host already as asked is done.
//! A 429 is waited out by `Retry-After` or Falcon's `X-Ratelimit-Retryafter`.
//!
//! The receipt's reference is the device id (AID).

use super::{Endpoint, EndpointAction, HostInfo, HostRequest};
use crate::http::{Auth, Request, VendorClient};
use crate::oauth::ClientCredentials;
use crate::resolve;
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
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
    /// The resources, or the errors listed, which are the reply's text: `client` redacts them.
    fn resources(self, client: &VendorClient, what: &str) -> Result<Vec<T>, ConnectorError> {
        let errors = self.errors.unwrap_or_default();
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(FalconError::describe).collect();
            return Err(ConnectorError::Failed(client.message(what, &messages.join("; "))));
        }
        Ok(self.resources.unwrap_or_default())
    }
}

#[derive(Deserialize)]
struct Device {
    device_id: String,
    hostname: Option<String>,
    machine_domain: Option<String>,
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

/// Enough device ids to tell one from several.
const SEARCH_LIMIT: &str = "10";

/// A Falcon device id: 32 hex digits.
fn is_aid(name: &str) -> bool {
    name.len() == 32 && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// The FQL filter that finds the devices `name` may denote. `field:['A','B']` is FQL's exact
/// match; `field:'A'` would match partially.
fn filter(name: &str) -> Result<String, ConnectorError> {
    if let Ok(net) = palisade_core::canonical::address::parse(name)
        && net.prefix_len() == net.max_prefix_len()
    {
        let address = fql_string(&net.addr().to_string());
        return Ok(format!("local_ip:[{address}],external_ip:[{address}]"));
    }
    // No host name has a `*`, which FQL reads as a wildcard.
    if name.contains('*') {
        return Err(ConnectorError::InvalidInput(format!(
            "host {name:?}: a host name has no '*'"
        )));
    }
    let name = name.trim().trim_end_matches('.');
    Ok(match name.split_once('.') {
        Some((short, _)) => format!("hostname:[{},{}]", fql_string(name), fql_string(short)),
        None => format!("hostname:[{}]", fql_string(name)),
    })
}

impl Falcon {
    /// The ids of the devices `name` may denote.
    async fn candidates(&self, name: &str) -> Result<Vec<String>, ConnectorError> {
        if is_aid(name) {
            return Ok(vec![name.to_ascii_lowercase()]);
        }
        let request = Request::get("devices/queries/devices/v1")
            .query("filter", filter(name)?)
            .query("limit", SEARCH_LIMIT);
        self.client
            .json::<Envelope<String>>(&request, "find host")
            .await?
            .resources(&self.client, "find host")
    }

    async fn devices(&self, ids: &[String]) -> Result<Vec<Device>, ConnectorError> {
        let mut request = Request::get("devices/entities/devices/v2");
        for id in ids {
            request = request.query("ids", id.clone());
        }
        self.client
            .json::<Envelope<Device>>(&request, "get host")
            .await?
            .resources(&self.client, "get host")
    }
}

impl Device {
    fn into_host(self) -> HostInfo {
        let os = match (self.platform_name, self.os_version) {
            (Some(platform), Some(version)) if !version.contains(&platform) => {
                Some(format!("{platform} ({version})"))
            }
            (platform, version) => version.or(platform),
        };
        let hostname = self.hostname.unwrap_or_default();
        HostInfo {
            fqdn: self
                .machine_domain
                .filter(|domain| !domain.is_empty() && !hostname.is_empty())
                .map(|domain| format!("{hostname}.{domain}")),
            hostname,
            os,
            ip_addresses: [self.local_ip, self.external_ip]
                .into_iter()
                .flatten()
                .filter(|ip| !ip.is_empty())
                .collect(),
            // A pending change counts as asked: the sensor is being cut off, or let back.
            isolated: match self.status.as_deref() {
                Some("contained" | "containment_pending") => Some(true),
                Some("normal" | "lift_containment_pending") => Some(false),
                _ => None,
            },
            last_seen: self.last_seen,
            id: self.device_id,
        }
    }
}

#[async_trait::async_trait]
impl Endpoint for Falcon {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        resolve::checked("host", hostname)?;
        let ids = self.candidates(hostname).await?;
        let devices = if ids.is_empty() {
            Vec::new()
        } else {
            self.devices(&ids).await?
        };
        let matching = devices
            .into_iter()
            .map(Device::into_host)
            .filter(|host| host.answers_to(hostname))
            .collect();
        self.client
            .exactly_one("host", hostname, matching, |host: &HostInfo| {
                format!("{} ({})", host.hostname, host.id)
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
        let id = request.device_id.to_owned();
        // Containing a contained host (or lifting a lifted one) leaves it as it is: safe to
        // repeat.
        let call = Request::post("devices/entities/devices-actions/v2")
            .query("action_name", action_name)
            .json(&serde_json::json!({ "ids": [id] }))
            .idempotent();
        let sent = match self.client.json::<Envelope<serde_json::Value>>(&call, what).await {
            Ok(envelope) => envelope.resources(&self.client, what).map(drop),
            Err(error) => Err(error),
        };
        match sent {
            Ok(()) => {}
            // Falcon refuses to contain a contained host (or lift a lifted one); the host is
            // then as asked, which is what a repeat must find. The device says which.
            Err(refusal @ (ConnectorError::Failed(_) | ConnectorError::InvalidInput(_))) => {
                let status = self
                    .devices(std::slice::from_ref(&id))
                    .await?
                    .into_iter()
                    .next()
                    .and_then(|device| device.status);
                let done = match request.action {
                    EndpointAction::IsolateHost => {
                        matches!(status.as_deref(), Some("contained" | "containment_pending"))
                    }
                    _ => matches!(status.as_deref(), Some("normal" | "lift_containment_pending")),
                };
                if !done {
                    return Err(refusal);
                }
            }
            Err(error) => return Err(error),
        }
        Ok(ActionReceipt { reference: Some(id) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
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

    /// `filter=FILTER&limit=10`, the filter form-encoded as sent.
    fn find(encoded_filter: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!("/devices/queries/devices/v1?filter={encoded_filter}&limit=10"),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    const BY_NAME: &str = "hostname%3A%5B%27FIN-WS-07%27%5D";

    fn found(ids: &[&str]) -> String {
        let ids: Vec<String> = ids.iter().map(|id| format!("{id:?}")).collect();
        format!(
            r#"{{"meta":{{"query_time":0.004,"pagination":{{"offset":{n},"limit":10,"total":{n}}},"powered_by":"device-api","trace_id":"t-1"}},"resources":[{}],"errors":[]}}"#,
            ids.join(","),
            n = ids.len()
        )
    }

    fn details(ids: &[&str]) -> Exchange {
        let query: Vec<String> = ids.iter().map(|id| format!("ids={id}")).collect();
        Exchange::expect(
            "GET",
            &format!("/devices/entities/devices/v2?{}", query.join("&")),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    fn device(id: &str, hostname: &str, local_ip: &str) -> String {
        format!(
            r#"{{"device_id":"{id}","cid":"0123","hostname":"{hostname}","machine_domain":"corp.example.com",
            "platform_name":"Windows","os_version":"Windows 11","local_ip":"{local_ip}","external_ip":"198.51.100.20",
            "mac_address":"00-15-5d-01-02-03","status":"contained","last_seen":"2024-05-01T10:00:00Z","first_seen":"2023-01-01T00:00:00Z"}}"#
        )
    }

    fn devices(devices: &[String]) -> String {
        format!(
            r#"{{"meta":{{"query_time":0.002,"trace_id":"t-2"}},"resources":[{}],"errors":[]}}"#,
            devices.join(",")
        )
    }

    const OTHER: &str = "9e8d7c6b5a4f30211203948576a6b7c8";

    #[tokio::test]
    async fn a_lookup_finds_the_ids_then_reads_the_device() {
        let stub = Stub::start(vec![
            token(),
            find(BY_NAME).reply(200, &found(&[AID])),
            details(&[AID]).reply(200, &devices(&[device(AID, "FIN-WS-07", "10.1.4.7")])),
        ]);
        let host = falcon(&stub).lookup_host(&cx(), "FIN-WS-07").await.unwrap();
        assert_eq!(
            host,
            HostInfo {
                fqdn: Some("FIN-WS-07.corp.example.com".into()),
                id: AID.into(),
                hostname: "FIN-WS-07".into(),
                os: Some("Windows 11".into()),
                ip_addresses: vec!["10.1.4.7".into(), "198.51.100.20".into()],
                isolated: Some(true),
                last_seen: Some("2024-05-01T10:00:00Z".into()),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn an_fqdn_an_address_and_an_aid_resolve_as_falcon_knows_them() {
        let one = devices(&[device(AID, "FIN-WS-07", "10.1.4.7")]);
        let stub = Stub::start(vec![
            token(),
            find("hostname%3A%5B%27fin-ws-07.corp.example.com%27%2C%27fin-ws-07%27%5D")
                .reply(200, &found(&[AID])),
            details(&[AID]).reply(200, &one),
            // An IPv4-mapped spelling is searched as the IPv4 address it is.
            find("local_ip%3A%5B%2710.1.4.7%27%5D%2Cexternal_ip%3A%5B%2710.1.4.7%27%5D")
                .reply(200, &found(&[AID])),
            details(&[AID]).reply(200, &one),
            details(&[AID]).reply(200, &one),
        ]);
        let falcon = falcon(&stub);
        for name in [
            "fin-ws-07.corp.example.com",
            "::ffff:10.1.4.7",
            &AID.to_uppercase(),
        ] {
            let host = falcon.lookup_host(&cx(), name).await.unwrap();
            assert_eq!(host.id, AID, "{name}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn two_sensors_are_ambiguous_and_a_near_name_is_not_found() {
        let stub = Stub::start(vec![
            token(),
            // A re-imaged machine: its name under a new AID beside the old one.
            find(BY_NAME).reply(200, &found(&[AID, OTHER])),
            details(&[AID, OTHER]).reply(
                200,
                &devices(&[
                    device(AID, "FIN-WS-07", "10.1.4.7"),
                    device(OTHER, "fin-ws-07", "10.1.9.9"),
                ]),
            ),
            find("hostname%3A%5B%27dc01%27%5D").reply(200, &found(&[OTHER])),
            details(&[OTHER]).reply(200, &devices(&[device(OTHER, "DC011", "10.0.0.11")])),
            find("hostname%3A%5B%27ghost%27%5D").reply(200, &found(&[])),
        ]);
        let falcon = falcon(&stub);
        let ambiguous = falcon.lookup_host(&cx(), "FIN-WS-07").await.unwrap_err();
        assert!(
            matches!(&ambiguous, ConnectorError::Ambiguous(m) if m.contains(AID) && m.contains(OTHER)),
            "{ambiguous}"
        );
        for missing in ["dc01", "ghost"] {
            let error = falcon.lookup_host(&cx(), missing).await.unwrap_err();
            assert!(matches!(error, ConnectorError::NotFound(_)), "{missing}: {error}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_quote_cannot_end_the_fql_literal_and_wildcards_and_hidden_characters_are_refused() {
        let stub = Stub::start(vec![
            token(),
            // hostname:['x\',hostname:\'']
            find("hostname%3A%5B%27x%5C%27%2Chostname%3A%5C%27%27%5D").reply(200, &found(&[])),
        ]);
        let falcon = falcon(&stub);
        let error = falcon.lookup_host(&cx(), "x',hostname:'").await.unwrap_err();
        assert!(matches!(error, ConnectorError::NotFound(_)), "{error}");
        // A `*` would be FQL's wildcard: `dc*` must not reach every domain controller.
        for hidden in ["dc01\t", "dc\u{200b}01", "dc01\n", "", "dc*"] {
            let refused = falcon.lookup_host(&cx(), hidden).await.unwrap_err();
            assert!(
                matches!(refused, ConnectorError::InvalidInput(_)),
                "{hidden:?}: {refused}"
            );
        }
        stub.finish();
    }

    /// The gate with Falcon as the EDR: every name Falcon resolves to a protected domain
    /// controller is held, bound to its AID, and Falcon receives no containment.
    #[tokio::test]
    async fn every_name_falcon_resolves_to_a_protected_host_is_held_before_any_action() {
        let dc = devices(&[device(AID, "DC01", "10.0.0.10")]);
        let stub = Stub::start(vec![
            token(),
            find("hostname%3A%5B%27dc01.corp.example.com%27%2C%27dc01%27%5D").reply(200, &found(&[AID])),
            details(&[AID]).reply(200, &dc),
            find("local_ip%3A%5B%2710.0.0.10%27%5D%2Cexternal_ip%3A%5B%2710.0.0.10%27%5D")
                .reply(200, &found(&[AID])),
            details(&[AID]).reply(200, &dc),
            details(&[AID]).reply(200, &dc),
        ]);
        let connectors = CapabilitySet {
            endpoint: Some(Arc::new(falcon(&stub))),
            ..CapabilitySet::default()
        };
        for name in ["dc01.corp.example.com", "10.0.0.10", AID] {
            let mut request = crate::ActionRequest::Endpoint {
                action: EndpointAction::IsolateHost,
                hostname: name.into(),
                reason: "malware".into(),
                resolved: None,
            };
            let decision = crate::stub::gate_decision(connectors.clone(), &mut request).await;
            assert!(
                matches!(&decision, palisade_policy::Decision::Hold(reason) if reason.contains(AID)),
                "{name}: {decision:?}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn containment_and_its_lifting_act_on_the_device_id() {
        let action_reply = format!(
            r#"{{"meta":{{"query_time":0.2,"trace_id":"t-3"}},"resources":[{{"id":"{AID}","path":""}}],"errors":[]}}"#
        );
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("POST", "/devices/entities/devices-actions/v2?action_name=contain")
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({ "ids": [AID] }))
                .reply(202, &action_reply),
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
                        device_id: AID,
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
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .reply(
                429,
                r#"{"meta":{"query_time":0},"errors":[{"code":429,"message":"API rate limit exceeded."}]}"#,
            )
            .reply_header("retry-after", "0"),
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
                    device_id: AID,
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
    async fn an_envelope_or_a_candidate_that_echoes_the_token_never_carries_it() {
        let stub = Stub::start(vec![
            token(),
            // Errors in a 2xx envelope, which the client's status handling never sees: the
            // token granted at run time, and the client secret.
            find(BY_NAME).reply(
                200,
                &format!(
                    r#"{{"meta":{{}},"resources":[],"errors":[{{"code":403,"message":"denied: Bearer {TOKEN} ({SECRET})"}}]}}"#
                ),
            ),
            // Two candidates, one whose id is the token.
            find(BY_NAME).reply(200, &found(&[AID, OTHER])),
            details(&[AID, OTHER]).reply(
                200,
                &devices(&[
                    device(AID, "FIN-WS-07", "10.1.4.7"),
                    device(TOKEN, "fin-ws-07", "10.1.9.9"),
                ]),
            ),
        ]);
        let falcon = falcon(&stub);
        let refused = falcon.lookup_host(&cx(), "FIN-WS-07").await.unwrap_err();
        assert!(
            matches!(&refused, ConnectorError::Failed(m) if m.starts_with("crowdstrike find host: denied")),
            "{refused}"
        );
        let ambiguous = falcon.lookup_host(&cx(), "FIN-WS-07").await.unwrap_err();
        assert!(
            matches!(&ambiguous, ConnectorError::Ambiguous(m) if m.starts_with("crowdstrike: 2 hosts match")),
            "{ambiguous}"
        );
        for error in [refused, ambiguous] {
            let text = error.to_string();
            assert!(
                !text.contains("bearer-token") && !text.contains("client") && text.contains("[redacted]"),
                "{text}"
            );
        }
        stub.finish();
    }

    #[tokio::test]
    async fn falcon_errors_carry_the_message_and_already_contained_is_done() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .reply(
                404,
                &format!(r#"{{"meta":{{"query_time":0.1,"trace_id":"t-4"}},"resources":[],"errors":[{{"code":404,"message":"Device not found.","id":"{AID}"}}]}}"#),
            ),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            // A 2xx whose envelope still lists an error is a failure, unless the host is
            // already as asked.
            .reply(
                200,
                &format!(r#"{{"meta":{{}},"resources":[],"errors":[{{"code":409,"message":"Host is already being contained.","id":"{AID}"}}]}}"#),
            ),
            details(&[AID]).reply(200, &devices(&[device(AID, "FIN-WS-07", "10.1.4.7")])),
            Exchange::expect(
                "POST",
                "/devices/entities/devices-actions/v2?action_name=contain",
            )
            .reply(
                200,
                &format!(r#"{{"meta":{{}},"resources":[],"errors":[{{"code":500,"message":"Containment failed.","id":"{AID}"}}]}}"#),
            ),
            details(&[AID]).reply(
                200,
                &devices(&[device(AID, "FIN-WS-07", "10.1.4.7").replace("\"contained\"", "\"normal\"")]),
            ),
        ]);
        let falcon = falcon(&stub);
        let request = HostRequest {
            device_id: AID,
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
        let already = falcon.act(&cx(), &request).await.unwrap();
        assert_eq!(
            already.reference.as_deref(),
            Some(AID),
            "already contained is done"
        );
        let failed = falcon.act(&cx(), &request).await.unwrap_err();
        assert!(
            matches!(&failed, ConnectorError::Failed(m) if m.contains("Containment failed")),
            "{failed}"
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
                    device_id: AID,
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
