//! Microsoft Defender for Endpoint, through its machines API with an app's client credentials
//! (application permissions `Machine.Read.All`; `Machine.Isolate` to isolate and release;
//! `File.Read.All` and `Machine.StopAndQuarantine` to quarantine a file).
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
//! | lookup-host | `GET /api/machines/{id}`, or `GET /api/machines?$filter=...` (below); then `GET /api/machineactions?$filter=machineId eq '{id}' and (type eq 'Isolate' or type eq 'Unisolate')` |
//! | isolate-host | `POST /api/machines/{id}/isolate` `{"Comment", "IsolationType"}` ([Isolate machine]) |
//! | release-host | `POST /api/machines/{id}/unisolate` `{"Comment"}` ([Release machine]) |
//! | quarantine-file | `GET /api/files/{sha256}` for the file's SHA-1 ([Get file information]), then `POST /api/machines/{id}/StopAndQuarantineFile` `{"Comment", "Sha1"}` ([Stop and quarantine file]) |
//! | kill-process | unsupported: only Live Response can end a process, and this connector opens no session |
//!
//! Isolating, releasing and quarantining each create a machine action, so none is ever sent
//! twice; the receipt's reference is the machine action's id, which the Defender portal and
//! `GET /api/machineactions/{id}` show. A quarantined file is restored in the portal: Defender's
//! API has no call that undoes it.
//!
//! The machine entity does not say whether a machine is isolated; its machine actions do
//! ([List machine actions]): the latest isolation or release that succeeded decides, none means
//! never isolated, and one still pending or in progress means Defender cannot say yet
//! (WIT 0.1.0 answers `isolated = false` then; the lookup's record says unknown).
//!
//! A lookup resolves a name the way Defender knows a machine ([Get machine by ID],
//! [List machines]): a machine id (40 hex digits) is read directly; an address is searched as
//! `lastIpAddress eq 'A'`; a name as `computerDnsName eq 'NAME'` (the sensor reports the FQDN),
//! and a short name also as `startswith(computerDnsName,'NAME.')`, each value an OData string
//! with its quotes doubled. Only machines that answer to the name asked count. A re-onboarded
//! machine is listed again under a new id, its old record `Inactive`: when exactly one of the
//! matches is not inactive, that is the machine; otherwise none is not found and several are
//! ambiguous, and the policy gate holds both for a person rather than guess.
//!
//! [Get machine by ID]: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machine-by-id
//! [List machines]: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machines
//! [List machine actions]: https://learn.microsoft.com/en-us/defender-endpoint/api/get-machineactions-collection
//! [Isolate machine]: https://learn.microsoft.com/en-us/defender-endpoint/api/isolate-machine
//! [Release machine]: https://learn.microsoft.com/en-us/defender-endpoint/api/unisolate-machine
//! [Get file information]: https://learn.microsoft.com/en-us/defender-endpoint/api/get-file-information
//! [Stop and quarantine file]: https://learn.microsoft.com/en-us/defender-endpoint/api/stop-and-quarantine-file

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

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Machine {
    id: String,
    computer_dns_name: Option<String>,
    os_platform: Option<String>,
    version: Option<String>,
    last_ip_address: Option<String>,
    last_external_ip_address: Option<String>,
    last_seen: Option<String>,
    health_status: Option<String>,
}

impl Machine {
    fn inactive(&self) -> bool {
        self.health_status.as_deref() == Some("Inactive")
    }

    fn into_host(self) -> HostInfo {
        let os = match (self.os_platform, self.version) {
            (Some(platform), Some(version)) => Some(format!("{platform} {version}")),
            (platform, version) => platform.or(version),
        };
        let dns_name = self.computer_dns_name.unwrap_or_default();
        let hostname = dns_name.split('.').next().unwrap_or_default().to_owned();
        HostInfo {
            fqdn: (dns_name.contains('.')).then_some(dns_name),
            id: self.id,
            hostname,
            os,
            ip_addresses: [self.last_ip_address, self.last_external_ip_address]
                .into_iter()
                .flatten()
                .filter(|ip| !ip.is_empty())
                .collect(),
            // Kept apart from the record: see `isolation`.
            isolated: None,
            last_seen: self.last_seen,
        }
    }
}

/// A Defender machine id: 40 hex digits.
fn is_machine_id(name: &str) -> bool {
    name.len() == 40 && name.chars().all(|c| c.is_ascii_hexdigit())
}

/// The OData filter that finds the machines `name` may denote.
fn filter(name: &str) -> String {
    if let Ok(net) = palisade_core::canonical::address::parse(name)
        && net.prefix_len() == net.max_prefix_len()
    {
        return format!("lastIpAddress eq {}", odata_string(&net.addr().to_string()));
    }
    // DNS names are case-insensitive and Defender reports them in lower case.
    let name = name.trim().trim_end_matches('.').to_lowercase();
    let exact = format!("computerDnsName eq {}", odata_string(&name));
    if name.contains('.') {
        exact
    } else {
        format!(
            "{exact} or startswith(computerDnsName,{})",
            odata_string(&format!("{name}."))
        )
    }
}

/// Enough machines to tell one from several.
const SEARCH_LIMIT: &str = "10";

#[derive(Deserialize)]
struct MachineAction {
    id: String,
}

#[derive(Deserialize)]
struct MachineActions {
    value: Vec<IsolationAction>,
}

/// An isolation or release, as `GET /api/machineactions` lists it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IsolationAction {
    #[serde(rename = "type")]
    kind: String,
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    creation_date_time_utc: time::OffsetDateTime,
}

/// Whether a machine is isolated, from its isolations and releases: the latest that took
/// effect decides, unless a later one is still under way (then Defender cannot say yet).
fn isolation(mut actions: Vec<IsolationAction>) -> Option<bool> {
    actions.sort_by_key(|action| std::cmp::Reverse(action.creation_date_time_utc));
    for action in actions {
        match action.status.as_str() {
            "Succeeded" => return Some(action.kind == "Isolate"),
            "Pending" | "InProgress" => return None,
            // Failed, TimeOut, Cancelled: changed nothing.
            _ => {}
        }
    }
    Some(false)
}

/// Enough isolations and releases of one machine for its whole history.
const ACTIONS_LIMIT: &str = "1000";

#[derive(Deserialize)]
struct DefenderFile {
    sha1: Option<String>,
    sha256: Option<String>,
}

/// An OData string literal: a quote in the value is doubled, so a hostname cannot end the
/// literal and add a condition of its own.
fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl DefenderEndpoint {
    async fn isolation(&self, machine_id: &str) -> Result<Option<bool>, ConnectorError> {
        let filter = format!(
            "machineId eq {} and (type eq 'Isolate' or type eq 'Unisolate')",
            odata_string(machine_id)
        );
        let request = Request::get("api/machineactions")
            .query("$filter", filter)
            .query("$top", ACTIONS_LIMIT);
        let actions: MachineActions = self.client.json(&request, "list machine actions").await?;
        Ok(isolation(actions.value))
    }

    /// The SHA-1 Defender knows the file by: `StopAndQuarantineFile` takes nothing else.
    async fn sha1_of(&self, sha256: &str) -> Result<String, ConnectorError> {
        let request = Request::get("api/files").segment(sha256);
        let file: DefenderFile = match self.client.json(&request, "get file").await {
            Err(ConnectorError::NotFound(_)) => {
                return Err(ConnectorError::NotFound(format!(
                    "Defender has not seen a file with SHA-256 {sha256}"
                )));
            }
            other => other?,
        };
        // The file asked for, not another one Defender matched.
        if !file
            .sha256
            .as_deref()
            .is_some_and(|seen| seen.eq_ignore_ascii_case(sha256))
        {
            return Err(ConnectorError::Failed(format!(
                "Defender answered for another file than SHA-256 {sha256}"
            )));
        }
        match file.sha1 {
            Some(sha1) if sha1.len() == 40 && sha1.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(sha1),
            _ => Err(ConnectorError::Failed(format!(
                "Defender gave no SHA-1 for the file with SHA-256 {sha256}"
            ))),
        }
    }

    /// The machines `name` may denote, as Defender lists them.
    async fn candidates(&self, name: &str) -> Result<Vec<Machine>, ConnectorError> {
        if is_machine_id(name) {
            let request = Request::get("api/machines").segment(name.to_ascii_lowercase());
            return match self.client.json::<Machine>(&request, "get machine").await {
                Ok(machine) => Ok(vec![machine]),
                Err(ConnectorError::NotFound(_)) => Ok(Vec::new()),
                Err(error) => Err(error),
            };
        }
        let request = Request::get("api/machines")
            .query("$filter", filter(name))
            .query("$top", SEARCH_LIMIT);
        let machines: Machines = self.client.json(&request, "find machine").await?;
        Ok(machines.value)
    }
}

#[async_trait::async_trait]
impl Endpoint for DefenderEndpoint {
    async fn lookup_host(&self, _cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        resolve::checked("host", hostname)?;
        let (active, inactive): (Vec<Machine>, Vec<Machine>) = self
            .candidates(hostname)
            .await?
            .into_iter()
            .filter(|machine| {
                machine.id.eq_ignore_ascii_case(hostname) || machine.clone().into_host().answers_to(hostname)
            })
            .partition(|machine| !machine.inactive());
        // A stale record beside one live machine is that machine re-onboarded.
        let matching = if active.is_empty() { inactive } else { active };
        let machine = self
            .client
            .exactly_one("machine", hostname, matching, |machine: &Machine| {
                format!(
                    "{} ({})",
                    machine.computer_dns_name.as_deref().unwrap_or("unnamed"),
                    machine.id
                )
            })?;
        Ok(machine.into_host())
    }

    async fn describe_host(&self, cx: &CallContext, hostname: &str) -> Result<HostInfo, ConnectorError> {
        let mut host = self.lookup_host(cx, hostname).await?;
        host.isolated = self.isolation(&host.id).await?;
        Ok(host)
    }

    async fn act(
        &self,
        cx: &CallContext,
        request: &HostRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        // Defender keeps the comment with the machine action: who asked, and why.
        let comment = format!(
            "{} (palisade {}, plugin {}, alert {})",
            request.reason, cx.action_id, cx.plugin, cx.alert_id
        );
        let isolate = match request.action {
            EndpointAction::IsolateHost => true,
            EndpointAction::ReleaseHost => false,
            EndpointAction::QuarantineFile { sha256 } => {
                let sha1 = self.sha1_of(sha256).await?;
                let call = Request::post("api/machines")
                    .segment(request.device_id)
                    .path("StopAndQuarantineFile")
                    .json(&serde_json::json!({ "Comment": comment, "Sha1": sha1 }));
                let action: MachineAction =
                    self.client.json(&call.once(), "stop and quarantine file").await?;
                return Ok(ActionReceipt {
                    reference: Some(action.id),
                });
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
        let (call, what) = if isolate {
            let isolation_type = match self.isolation_type {
                IsolationType::Full => "Full",
                IsolationType::Selective => "Selective",
            };
            (
                Request::post("api/machines")
                    .segment(request.device_id)
                    .path("isolate")
                    .json(&serde_json::json!({ "Comment": comment, "IsolationType": isolation_type })),
                "isolate machine",
            )
        } else {
            (
                Request::post("api/machines")
                    .segment(request.device_id)
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
    use crate::stub::{Exchange, Stub};

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

    /// `$filter=FILTER&$top=10` as the URL's form encoding sends it.
    fn find(encoded_filter: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!("/api/machines?%24filter={encoded_filter}&%24top=10"),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    const BY_FQDN: &str = "computerDnsName+eq+%27fin-ws-07.contoso.com%27";
    const STALE: &str = "0b9f3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c";

    fn machine(id: &str, dns_name: &str, ip: &str, health: &str) -> String {
        format!(
            r#"{{"id":"{id}","computerDnsName":"{dns_name}","firstSeen":"2024-01-01T00:00:00Z",
              "lastSeen":"2024-05-01T10:00:00.1234567Z","osPlatform":"Windows11","version":"23H2",
              "lastIpAddress":"{ip}","lastExternalIpAddress":"198.51.100.20","healthStatus":"{health}",
              "riskScore":"Medium","exposureLevel":"Low","aadDeviceId":null,"machineTags":["finance"]}}"#
        )
    }

    fn listed(machines: &[String]) -> String {
        format!(
            r#"{{"@odata.context":"https://api.securitycenter.microsoft.com/api/$metadata#Machines","value":[{}]}}"#,
            machines.join(",")
        )
    }

    /// A re-onboarded machine: its old record inactive beside the live one.
    fn machines() -> String {
        listed(&[
            machine(STALE, "fin-ws-07.contoso.com", "10.1.4.99", "Inactive"),
            machine(MACHINE, "fin-ws-07.contoso.com", "10.1.4.7", "Active"),
        ])
    }

    #[tokio::test]
    async fn a_lookup_takes_the_live_machine_over_its_stale_record() {
        let stub = Stub::start(vec![token(), find(BY_FQDN).reply(200, &machines())]);
        let host = defender(&stub, IsolationType::Full)
            .lookup_host(&cx(), "fin-ws-07.contoso.com")
            .await
            .unwrap();
        assert_eq!(
            host,
            HostInfo {
                fqdn: Some("fin-ws-07.contoso.com".into()),
                id: MACHINE.into(),
                hostname: "fin-ws-07".into(),
                os: Some("Windows11 23H2".into()),
                ip_addresses: vec!["10.1.4.7".into(), "198.51.100.20".into()],
                isolated: None,
                last_seen: Some("2024-05-01T10:00:00.1234567Z".into()),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_short_name_an_address_and_a_machine_id_resolve_as_defender_knows_them() {
        let live = machine(MACHINE, "fin-ws-07.contoso.com", "10.1.4.7", "Active");
        let stub = Stub::start(vec![
            token(),
            find("computerDnsName+eq+%27fin-ws-07%27+or+startswith%28computerDnsName%2C%27fin-ws-07.%27%29")
                .reply(200, &listed(std::slice::from_ref(&live))),
            find("lastIpAddress+eq+%2710.1.4.7%27").reply(200, &listed(std::slice::from_ref(&live))),
            Exchange::expect("GET", &format!("/api/machines/{MACHINE}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(200, &live),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        for name in ["FIN-WS-07", "::ffff:10.1.4.7", &MACHINE.to_uppercase()] {
            let host = defender.lookup_host(&cx(), name).await.unwrap();
            assert_eq!(host.id, MACHINE, "{name}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn two_live_machines_are_ambiguous_and_a_near_name_is_not_found() {
        let stub = Stub::start(vec![
            token(),
            find(BY_FQDN).reply(
                200,
                &listed(&[
                    machine(STALE, "fin-ws-07.contoso.com", "10.1.4.99", "Active"),
                    machine(MACHINE, "fin-ws-07.contoso.com", "10.1.4.7", "Active"),
                ]),
            ),
            find("computerDnsName+eq+%27dc01%27+or+startswith%28computerDnsName%2C%27dc01.%27%29").reply(
                200,
                &listed(&[machine(MACHINE, "dc011.contoso.com", "10.0.0.11", "Active")]),
            ),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        let ambiguous = defender
            .lookup_host(&cx(), "fin-ws-07.contoso.com")
            .await
            .unwrap_err();
        assert!(
            matches!(&ambiguous, ConnectorError::Ambiguous(m) if m.contains(STALE) && m.contains(MACHINE)),
            "{ambiguous}"
        );
        let near = defender.lookup_host(&cx(), "dc01").await.unwrap_err();
        assert!(matches!(near, ConnectorError::NotFound(_)), "{near}");
        stub.finish();
    }

    #[tokio::test]
    async fn a_quote_in_the_hostname_is_doubled_and_hidden_characters_are_refused() {
        let stub = Stub::start(vec![
            token(),
            // computerDnsName eq 'x'' or true or ''a' or startswith(computerDnsName,'x'' or true or ''a.')
            find("computerDnsName+eq+%27x%27%27+or+true+or+%27%27a%27+or+startswith%28computerDnsName%2C%27x%27%27+or+true+or+%27%27a.%27%29")
                .reply(200, r#"{"value":[]}"#),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        let error = defender.lookup_host(&cx(), "x' or true or 'a").await.unwrap_err();
        assert!(matches!(error, ConnectorError::NotFound(_)), "{error}");
        for hidden in ["dc01\t", "d\u{200c}c01", "\r"] {
            let refused = defender.lookup_host(&cx(), hidden).await.unwrap_err();
            assert!(
                matches!(refused, ConnectorError::InvalidInput(_)),
                "{hidden:?}: {refused}"
            );
        }
        stub.finish();
    }

    /// The gate with Defender as the EDR: every name Defender resolves to a protected domain
    /// controller is held, bound to its machine id, and Defender receives no isolation.
    #[tokio::test]
    async fn every_name_defender_resolves_to_a_protected_host_is_held_before_any_action() {
        let dc = machine(MACHINE, "dc01.corp.contoso.com", "10.0.0.10", "Active");
        let stub = Stub::start(vec![
            token(),
            find("computerDnsName+eq+%27dc01.corp.contoso.com%27")
                .reply(200, &listed(std::slice::from_ref(&dc))),
            find("lastIpAddress+eq+%2710.0.0.10%27").reply(200, &listed(std::slice::from_ref(&dc))),
            Exchange::expect("GET", &format!("/api/machines/{MACHINE}")).reply(200, &dc),
        ]);
        let connectors = CapabilitySet {
            endpoint: Some(Arc::new(defender(&stub, IsolationType::Full))),
            ..CapabilitySet::default()
        };
        for name in ["dc01.corp.contoso.com", "10.0.0.10", MACHINE] {
            let mut request = crate::ActionRequest::Endpoint {
                action: EndpointAction::IsolateHost,
                hostname: name.into(),
                reason: "malware".into(),
                resolved: None,
            };
            let decision = crate::stub::gate_decision(connectors.clone(), &mut request).await;
            assert!(
                matches!(&decision, palisade_policy::Decision::Hold(reason) if reason.contains(MACHINE)),
                "{name}: {decision:?}"
            );
        }
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
                        device_id: MACHINE,
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
            find(BY_FQDN)
                .reply(
                    429,
                    r#"{"error":{"code":"TooManyRequests","message":"Too many requests"}}"#,
                )
                .reply_header("retry-after", "1"),
            find(BY_FQDN).reply(200, &machines()),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/isolate")).reply(
                503,
                r#"{"error":{"code":"ServiceUnavailable","message":"Try again later"}}"#,
            ),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        let host = defender
            .lookup_host(&cx(), "fin-ws-07.contoso.com")
            .await
            .unwrap();
        let error = defender
            .act(
                &cx(),
                &HostRequest {
                    device_id: &host.id,
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
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/isolate")).reply(
                400,
                r#"{"error":{"code":"ActiveRequestAlreadyExists","message":"Action is already in progress","target":"43f3c7a4-8b0d-4f2c-9c39-5f0c2b0e6a11"}}"#,
            ),
        ]);
        let error = defender(&stub, IsolationType::Full)
            .act(
                &cx(),
                &HostRequest {
                    device_id: MACHINE,
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

    const SHA256: &str = "413c58c8267d2c8648d8f6384bacc2ae9c929b2b96578b6860b5087cd1bd6462";
    const SHA1: &str = "4388963aaa83afe2042a46a3c017ad50bdcdafb3";

    fn quarantine() -> EndpointAction {
        EndpointAction::QuarantineFile {
            sha256: SHA256.into(),
        }
    }

    fn on_machine(action: &EndpointAction) -> HostRequest<'_> {
        HostRequest {
            device_id: MACHINE,
            hostname: "fin-ws-07.contoso.com",
            action,
            reason: "malware",
        }
    }

    #[tokio::test]
    async fn a_file_is_quarantined_by_the_sha1_defender_knows_it_by() {
        let cx = cx();
        let comment = format!(
            "malware (palisade {}, plugin contain-host, alert alert-1)",
            cx.action_id
        );
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("GET", &format!("/api/files/{SHA256}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(
                    200,
                    &format!(
                        r#"{{"@odata.context":"https://api.security.microsoft.com/api/$metadata#Files/$entity",
                        "sha1":"{SHA1}","sha256":"{SHA256}","globalPrevalence":180022,"size":22139496,
                        "fileType":"APP","isPeFile":true,"determinationType":"Unknown"}}"#
                    ),
                ),
            Exchange::expect("POST", &format!("/api/machines/{MACHINE}/StopAndQuarantineFile"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({"Comment": comment, "Sha1": SHA1}))
                .reply(
                    201,
                    &format!(
                        r#"{{"id":"141408d1-384c-4c19-8b57-ba39e378011a","type":"StopAndQuarantineFile",
                        "requestor":"app-id","requestorComment":"{comment}","status":"Pending",
                        "machineId":"{MACHINE}","creationDateTimeUtc":"2024-05-01T10:05:00Z"}}"#
                    ),
                ),
        ]);
        let action = quarantine();
        let receipt = defender(&stub, IsolationType::Full)
            .act(&cx, &on_machine(&action))
            .await
            .unwrap();
        assert_eq!(
            receipt.reference.as_deref(),
            Some("141408d1-384c-4c19-8b57-ba39e378011a")
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_file_defender_has_not_seen_is_not_found_and_nothing_is_quarantined() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("GET", &format!("/api/files/{SHA256}")).reply(
                404,
                r#"{"error":{"code":"ResourceNotFound","message":"File was not found"}}"#,
            ),
            // Another file's record: never acted on.
            Exchange::expect("GET", &format!("/api/files/{SHA256}")).reply(
                200,
                &format!(r#"{{"sha1":"{SHA1}","sha256":"{}"}}"#, "b".repeat(64)),
            ),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        let action = quarantine();
        let unseen = defender.act(&cx(), &on_machine(&action)).await.unwrap_err();
        assert!(
            matches!(&unseen, ConnectorError::NotFound(m) if m.contains(SHA256)),
            "{unseen}"
        );
        let other = defender.act(&cx(), &on_machine(&action)).await.unwrap_err();
        assert!(matches!(other, ConnectorError::Failed(_)), "{other}");
        stub.finish();
    }

    fn isolation_action(kind: &str, status: &str, at: &str) -> String {
        format!(
            r#"{{"id":"{kind}-{at}","type":"{kind}","scope":"Full","requestor":"analyst@contoso.com",
              "status":"{status}","machineId":"{MACHINE}","computerDnsName":"fin-ws-07.contoso.com",
              "creationDateTimeUtc":"{at}","lastUpdateDateTimeUtc":"{at}"}}"#
        )
    }

    #[tokio::test]
    async fn a_lookup_says_isolated_from_the_machines_latest_isolation_or_release() {
        let live = machine(MACHINE, "fin-ws-07.contoso.com", "10.1.4.7", "Active");
        let actions = |list: &[String]| format!(r#"{{"value":[{}]}}"#, list.join(","));
        let listing = || {
            Exchange::expect(
                "GET",
                &format!(
                    "/api/machineactions?%24filter=machineId+eq+%27{MACHINE}%27+and+%28type+eq+%27Isolate%27+or+type+eq+%27Unisolate%27%29&%24top=1000"
                ),
            )
            .header("authorization", &format!("Bearer {TOKEN}"))
        };
        let lookup = || Exchange::expect("GET", &format!("/api/machines/{MACHINE}")).reply(200, &live);
        let stub = Stub::start(vec![
            token(),
            lookup(),
            // Listed newest last: the order is Defender's, the time decides.
            listing().reply(
                200,
                &actions(&[
                    isolation_action("Isolate", "Succeeded", "2024-05-01T10:00:00.5Z"),
                    isolation_action("Unisolate", "Failed", "2024-05-02T09:00:00Z"),
                    isolation_action("Unisolate", "Succeeded", "2024-04-01T10:00:00Z"),
                ]),
            ),
            lookup(),
            listing().reply(
                200,
                &actions(&[
                    isolation_action("Isolate", "Succeeded", "2024-05-01T10:00:00Z"),
                    isolation_action("Unisolate", "Pending", "2024-05-03T10:00:00Z"),
                ]),
            ),
            lookup(),
            listing().reply(200, &actions(&[])),
        ]);
        let defender = defender(&stub, IsolationType::Full);
        let mut answers = Vec::new();
        for _ in 0..3 {
            answers.push(defender.describe_host(&cx(), MACHINE).await.unwrap().isolated);
        }
        assert_eq!(answers, [Some(true), None, Some(false)]);
        stub.finish();
    }
}
