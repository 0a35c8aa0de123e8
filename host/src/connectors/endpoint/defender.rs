//! Microsoft Defender for Endpoint, through its machines API with an app's client credentials
//! (application permissions `Machine.Read.All`, and `Machine.Isolate` to isolate and release).
//!
//! ```toml
//! [connectors.defender]
//! kind = "defender"
//! url = "https://api.securitycenter.microsoft.com"   # or a regional api.security.microsoft.com host
//! tenant_id = "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
//! client_id = "5a6b7c8d-0000-4000-8000-1234567890ab"
//! client_secret = { env = "DEFENDER_CLIENT_SECRET" }
//! isolation_type = "Full"        # or "Selective": Outlook, Teams and Skype keep working
//! # token_url = "https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token"  # the default
//! # scope = "https://api.securitycenter.microsoft.com/.default"                    # the default
//! ```
//!
//! | operation | Defender call |
//! | --- | --- |
//! | lookup-host | `GET /api/machines?$filter=computerDnsName eq 'NAME'` (the most recently seen) |
//! | isolate-host | `POST /api/machines/{id}/isolate` `{"Comment", "IsolationType"}` |
//! | release-host | `POST /api/machines/{id}/unisolate` `{"Comment"}` |
//! | quarantine-file | unsupported: `StopAndQuarantineFile` takes a SHA-1, the operation gives a SHA-256 |
//! | kill-process | unsupported: only Live Response can end a process, and this connector opens no session |
//!
//! Isolating and releasing each create a machine action, so neither is ever sent twice; the
//! receipt's reference is the machine action's id, which the Defender portal and
//! `GET /api/machineactions/{id}` show. `computerDnsName` is the name the sensor reports
//! (usually the FQDN): look hosts up by that name. The machine entity does not say whether a
//! machine is isolated, so a lookup reports `isolated = false`.

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

const DEFAULT_SCOPE: &str = "https://api.securitycenter.microsoft.com/.default";

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub enum IsolationType {
    /// Every connection but the one to Defender is cut.
    #[default]
    Full,
    /// Outlook, Teams and Skype for Business stay connected.
    Selective,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defender {
    tenant_id: String,
    client_id: String,
    client_secret: Spanned<SecretRef>,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    isolation_type: IsolationType,
}

impl VendorBackend for Defender {
    const KIND: &'static str = "defender";
    const CAPABILITY: Capability = Capability::Endpoint;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("client_secret", &self.client_secret)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let credentials = ClientCredentials::microsoft(
            &self.tenant_id,
            self.token_url.as_deref(),
            &self.client_id,
            cx.secret("client_secret", &self.client_secret)?,
            self.scope.as_deref().unwrap_or(DEFAULT_SCOPE),
        )?;
        Ok(CapabilitySet {
            endpoint: Some(Arc::new(DefenderEndpoint {
                client: cx.client("defender", Auth::OAuth(Arc::new(credentials)), error_message),
                isolation_type: self.isolation_type,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Defender's error body: `{"error":{"code":"ResourceNotFound","message":"...","target":"..."}}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        error: DefenderError,
    }
    #[derive(Deserialize)]
    struct DefenderError {
        code: Option<String>,
        message: Option<String>,
    }
    let error = serde_json::from_slice::<Envelope>(body).ok()?.error;
    match (error.message.filter(|m| !m.is_empty()), error.code) {
        (Some(message), Some(code)) => Some(format!("{message} ({code})")),
        (message, code) => message.or(code),
    }
}

struct DefenderEndpoint {
    client: Arc<VendorClient>,
    isolation_type: IsolationType,
}

#[derive(Deserialize)]
struct Machines {
    value: Vec<Machine>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Machine {
    id: String,
    computer_dns_name: Option<String>,
    os_platform: Option<String>,
    version: Option<String>,
    last_ip_address: Option<String>,
    last_external_ip_address: Option<String>,
    last_seen: Option<String>,
}

#[derive(Deserialize)]
struct MachineAction {
    id: String,
}

/// An OData string literal: a quote in the value is doubled, so a hostname cannot end the
/// literal and add a condition of its own.
fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl DefenderEndpoint {
    async fn machine(&self, hostname: &str) -> Result<Machine, ConnectorError> {
        if hostname.is_empty() || hostname.chars().any(char::is_control) {
            return Err(ConnectorError::InvalidInput(format!(
                "{hostname:?} is not a hostname"
            )));
        }
        let request = Request::get("api/machines").query(
            "$filter",
            format!("computerDnsName eq {}", odata_string(hostname)),
        );
        let machines: Machines = self.client.json(&request, "find machine").await?;
        // A re-onboarded machine can be listed twice: the one seen last is the live one.
        // `lastSeen` is ISO 8601 in UTC, so its text sorts by time.
        machines
            .value
            .into_iter()
            .max_by(|a, b| a.last_seen.cmp(&b.last_seen))
            .ok_or_else(|| {
                ConnectorError::NotFound(format!("defender find machine: no machine named {hostname:?}"))
            })
    }
}

#[async_trait::async_trait]
impl Endpoint for DefenderEndpoint {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        let machine = self.machine(hostname).await?;
        let os = match (machine.os_platform, machine.version) {
            (Some(platform), Some(version)) => Some(format!("{platform} {version}")),
            (platform, version) => platform.or(version),
        };
        Ok(HostInfo {
            id: machine.id,
            hostname: machine.computer_dns_name.unwrap_or_else(|| hostname.to_owned()),
            os,
            ip_addresses: [machine.last_ip_address, machine.last_external_ip_address]
                .into_iter()
                .flatten()
                .filter(|ip| !ip.is_empty())
                .collect(),
            isolated: false,
            last_seen: machine.last_seen,
        })
    }

    async fn act(
        &self,
        cx: &CallContext,
        request: &HostRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        let isolate = match request.action {
            EndpointAction::IsolateHost => true,
            EndpointAction::ReleaseHost => false,
            EndpointAction::QuarantineFile { .. } => {
                return Err(ConnectorError::Unsupported(
                    "defender quarantine-file: not supported: Defender's StopAndQuarantineFile \
                     identifies the file by its SHA-1 only, and the operation gives a SHA-256"
                        .into(),
                ));
            }
            EndpointAction::KillProcess { .. } => {
                return Err(ConnectorError::Unsupported(
                    "defender kill-process: not supported: Defender ends a process only through a \
                     Live Response session, which this connector does not open; isolate the host \
                     instead"
                        .into(),
                ));
            }
        };
        let machine = self.machine(request.hostname).await?;
        // Defender keeps the comment with the machine action: who asked, and why.
        let comment = format!(
            "{} (palisade {}, plugin {}, alert {})",
            request.reason, cx.action_id, cx.plugin, cx.alert_id
        );
        let (call, what) = if isolate {
            let isolation_type = match self.isolation_type {
                IsolationType::Full => "Full",
                IsolationType::Selective => "Selective",
            };
            (
                Request::post("api/machines")
                    .segment(machine.id)
                    .path("isolate")
                    .json(&serde_json::json!({ "Comment": comment, "IsolationType": isolation_type })),
                "isolate machine",
            )
        } else {
            (
                Request::post("api/machines")
                    .segment(machine.id)
                    .path("unisolate")
                    .json(&serde_json::json!({ "Comment": comment })),
                "release machine",
            )
        };
        // Each call creates a machine action: never repeated.
        let action: MachineAction = self.client.json(&call.once(), what).await?;
        Ok(ActionReceipt {
            reference: Some(action.id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::stub::{Exchange, Stub};

    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.defender-token";
    const SECRET: &str = "Zx8Q~defender-secret";
    const MACHINE: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";

    fn defender(stub: &Stub, isolation_type: IsolationType) -> DefenderEndpoint {
        DefenderEndpoint {
            client: stub.client(
                "/",
                stub.microsoft_auth(SECRET, DEFAULT_SCOPE),
                "defender",
                error_message,
            ),
            isolation_type,
        }
    }

    fn cx() -> CallContext {
        CallContext::new("contain-host", "alert-1")
    }

    fn token() -> Exchange {
        Exchange::microsoft_token(SECRET, "https://api.securitycenter.microsoft.com/.default", TOKEN)
    }

    /// `$filter=computerDnsName eq 'NAME'` as the URL's form encoding sends it.
    fn find(encoded_name: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!("/api/machines?%24filter=computerDnsName+eq+%27{encoded_name}%27"),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    fn machines() -> String {
        format!(
            r#"{{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines","value":[
            {{"id":"0b9f3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c","computerDnsName":"fin-ws-07.contoso.com",
              "osPlatform":"Windows10","version":"22H2","lastIpAddress":"10.1.4.99","lastExternalIpAddress":"198.51.100.1",
              "healthStatus":"Inactive","lastSeen":"2023-11-02T08:00:00Z"}},
            {{"id":"{MACHINE}","computerDnsName":"fin-ws-07.contoso.com","firstSeen":"2024-01-01T00:00:00Z",
              "lastSeen":"2024-05-01T10:00:00.1234567Z","osPlatform":"Windows11","version":"23H2",
              "lastIpAddress":"10.1.4.7","lastExternalIpAddress":"198.51.100.20","healthStatus":"Active",
              "riskScore":"Medium","exposureLevel":"Low","aadDeviceId":null,"machineTags":["finance"]}}]}}"#
        )
    }

    #[tokio::test]
    async fn a_lookup_takes_the_machine_seen_last() {
        let stub = Stub::start(vec![
            token(),
            find("fin-ws-07.contoso.com").reply(200, &machines()),
        ]);
        let host = defender(&stub, IsolationType::Full)
            .lookup_host(&cx(), "fin-ws-07.contoso.com")
            .await
            .unwrap();
        assert_eq!(
            host,
            HostInfo {
                id: MACHINE.into(),
                hostname: "fin-ws-07.contoso.com".into(),
                os: Some("Windows11 23H2".into()),
                ip_addresses: vec!["10.1.4.7".into(), "198.51.100.20".into()],
                isolated: false,
                last_seen: Some("2024-05-01T10:00:00.1234567Z".into()),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_quote_in_the_hostname_is_doubled_and_no_machine_is_not_found() {
        let stub = Stub::start(vec![
            token(),
            // computerDnsName eq 'x'' or true or ''a'
            find("x%27%27+or+true+or+%27%27a").reply(200, r#"{"value":[]}"#),
        ]);
        let error = defender(&stub, IsolationType::Full)
            .lookup_host(&cx(), "x' or true or 'a")
            .await
            .unwrap_err();
        assert!(matches!(error, ConnectorError::NotFound(_)), "{error}");
        stub.finish();
    }

    #[tokio::test]
    async fn isolation_and_release_create_machine_actions() {
        let cx = cx();
        let comment = format!(
            "ransomware (palisade {}, plugin contain-host, alert alert-1)",
            cx.action_id
        );
        let stub = Stub::start(vec![
            token(),
            find("fin-ws-07.contoso.com").reply(200, &machines()),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/isolate"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({"Comment": comment, "IsolationType": "Selective"}))
                .reply(
                    201,
                    &format!(r#"{{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#MachineActions/$entity",
                    "id":"b89eb834-4578-496c-8be0-03f004061435","type":"Isolate","requestor":"app-id",
                    "requestorComment":"{comment}","status":"Pending","machineId":"{MACHINE}",
                    "computerDnsName":"fin-ws-07.contoso.com","creationDateTimeUtc":"2024-05-01T10:05:00Z"}}"#),
                ),
            find("fin-ws-07.contoso.com").reply(200, &machines()),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/unisolate"))
                .json(serde_json::json!({"Comment": comment}))
                .reply(
                    201,
                    r#"{"id":"09a0f91e-a2eb-409d-9f4c-9e3a4b0b7ea1","type":"Unisolate","status":"Pending"}"#,
                ),
        ]);
        let defender = defender(&stub, IsolationType::Selective);
        let mut references = Vec::new();
        for action in [EndpointAction::IsolateHost, EndpointAction::ReleaseHost] {
            let receipt = defender
                .act(
                    &cx,
                    &HostRequest {
                        hostname: "fin-ws-07.contoso.com",
                        action: &action,
                        reason: "ransomware",
                    },
                )
                .await
                .unwrap();
            references.push(receipt.reference.unwrap());
        }
        assert_eq!(
            references,
            [
                "b89eb834-4578-496c-8be0-03f004061435",
                "09a0f91e-a2eb-409d-9f4c-9e3a4b0b7ea1"
            ]
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_lookup_is_retried_after_429_but_an_isolation_is_never_repeated() {
        let stub = Stub::start(vec![
            token(),
            find("fin-ws-07.contoso.com")
                .reply(
                    429,
                    r#"{"error":{"code":"TooManyRequests","message":"Too many requests"}}"#,
                )
                .reply_header("retry-after", "1"),
            find("fin-ws-07.contoso.com").reply(200, &machines()),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/isolate")).reply(
                503,
                r#"{"error":{"code":"ServiceUnavailable","message":"Try again later"}}"#,
            ),
        ]);
        let error = defender(&stub, IsolationType::Full)
            .act(
                &cx(),
                &HostRequest {
                    hostname: "fin-ws-07.contoso.com",
                    action: &EndpointAction::IsolateHost,
                    reason: "ransomware",
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Failed(
                "defender isolate machine: HTTP 503: Try again later (ServiceUnavailable)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn defender_errors_carry_the_message_and_code() {
        let stub = Stub::start(vec![
            token(),
            find("fin-ws-07.contoso.com").reply(200, &machines()),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/isolate")).reply(
                400,
                r#"{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"43f3c7a4-8b0d-4f2c-9c39-5f0c2b0e6a11"}}"#,
            ),
        ]);
        let error = defender(&stub, IsolationType::Full)
            .act(
                &cx(),
                &HostRequest {
                    hostname: "fin-ws-07.contoso.com",
                    action: &EndpointAction::IsolateHost,
                    reason: "ransomware",
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::InvalidInput(
                "defender isolate machine: Action is already in progress (ActiveRequestAlreadyExists)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_sha256_quarantine_is_refused_without_a_call() {
        let stub = Stub::start(vec![]);
        let error = defender(&stub, IsolationType::Full)
            .act(
                &cx(),
                &HostRequest {
                    hostname: "fin-ws-07.contoso.com",
                    action: &EndpointAction::QuarantineFile {
                        sha256: "a".repeat(64),
                    },
                    reason: "malware",
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unsupported(m) if m.contains("SHA-1")),
            "{error}"
        );
        stub.finish();
    }
}
