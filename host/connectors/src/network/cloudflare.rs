//! Cloudflare IP Access Rules, for one zone or for every zone of an account, with an API
//! token (`Authorization: Bearer`, permission "Firewall Access Rules Write" on the zone or
//! "Account Firewall Access Rules Write" on the account).
//!
//! ```toml
//! [connectors.cloudflare]
//! kind = "cloudflare"
//! url = "https://api.cloudflare.com/client/v4"
//! token = { env = "CLOUDFLARE_API_TOKEN" }
//! zone_id = "023e105f4ecef8ad9ca31a8372d0c353"    # or account_id = "...": exactly one
//! # mode = "block"     # or "managed_challenge", "challenge", "js_challenge"
//! ```
//!
//! | operation | Cloudflare call |
//! | --- | --- |
//! | block-ip | `POST /zones/{zone_id}/firewall/access_rules/rules` `{"mode","configuration":{"target","value"},"notes"}` ([Create an IP Access rule]) |
//! | unblock-ip | `GET .../rules?configuration.target=..&configuration.value=..&mode=..&match=all` ([List IP Access rules]), then `DELETE .../rules/{id}` ([Delete an IP Access rule]) |
//! | block-domain, unblock-domain | unsupported: access rules match addresses, ranges, ASNs and countries, not names |
//!
//! (`/accounts/{account_id}/...` with `account_id`.) Targets: an IPv4 address (`ip`), an
//! IPv6 address (`ip6`), or a range (`ip_range`), which Cloudflare takes only as an IPv4 /16
//! or /24, or an IPv6 /32, /48 or /64 ([IP Access rules]): any other prefix is refused before a
//! call. Access rules do not expire, so a block with a duration is refused rather than made
//! permanent.
//!
//! Every reply is Cloudflare's envelope, `{"success":..,"errors":[{"code":..,"message":..}],
//! "result":..}` ([API errors]): a 2xx that says `"success": false` is a failure too, and its
//! errors are the message. Past the API's rate limit Cloudflare answers 429 with `Retry-After`
//! ([API rate limits]), waited out up to a minute.
//!
//! [Create an IP Access rule]: https://developers.cloudflare.com/api/resources/firewall/subresources/access_rules/methods/create/
//! [List IP Access rules]: https://developers.cloudflare.com/api/resources/firewall/subresources/access_rules/methods/list/
//! [Delete an IP Access rule]: https://developers.cloudflare.com/api/resources/firewall/subresources/access_rules/methods/delete/
//! [IP Access rules]: https://developers.cloudflare.com/waf/tools/ip-access-rules/parameters/
//! [API errors]: https://developers.cloudflare.com/fundamentals/api/how-to/make-api-calls/
//! [API rate limits]: https://developers.cloudflare.com/fundamentals/api/reference/limits/
//!
//! Cloudflare refuses a second rule for an address (error 10009,
//! `firewallaccessrules.api.duplicate_of_existing`): a block that meets an existing rule of the
//! configured mode for the same address is a success with that rule's id, which also makes the
//! create safe to repeat. Unblocking an address with no rule is a success with no reference:
//! the address is not blocked, which is what was asked. The receipt's reference is the rule id.

use super::{BlockRequest, NetworkAction, NetworkControl};
use crate::http::{Auth, Request, VendorClient};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
use reqwest::Method;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    #[default]
    Block,
    ManagedChallenge,
    Challenge,
    JsChallenge,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Block => "block",
            Mode::ManagedChallenge => "managed_challenge",
            Mode::Challenge => "challenge",
            Mode::JsChallenge => "js_challenge",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cloudflare {
    token: Spanned<SecretRef>,
    #[serde(default)]
    zone_id: Option<String>,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    mode: Mode,
}

impl VendorBackend for Cloudflare {
    const KIND: &'static str = "cloudflare";
    const CAPABILITY: Capability = Capability::Network;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("token", &self.token)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let scope = match (&self.zone_id, &self.account_id) {
            (Some(zone), None) if !zone.trim().is_empty() => Scope::Zone(zone.trim().to_owned()),
            (None, Some(account)) if !account.trim().is_empty() => Scope::Account(account.trim().to_owned()),
            (Some(_), Some(_)) => anyhow::bail!(
                "give zone_id (rules for one zone) or account_id (rules for every zone of the account), not both"
            ),
            _ => anyhow::bail!(
                "needs zone_id (rules for one zone) or account_id (rules for every zone of the account)"
            ),
        };
        let auth = Auth::bearer(cx.secret("token", &self.token)?);
        Ok(CapabilitySet {
            network: Some(Arc::new(AccessRules {
                client: cx.client("cloudflare", auth, error_message),
                scope,
                mode: self.mode,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Cloudflare's envelope on errors:
/// `{"success":false,"errors":[{"code":10009,"message":"..."}],"messages":[],"result":null}`.
fn error_message(body: &[u8]) -> Option<String> {
    let envelope: Envelope<serde_json::Value> = serde_json::from_slice(body).ok()?;
    let errors = envelope.errors_text();
    (!errors.is_empty()).then_some(errors)
}

#[derive(Deserialize)]
struct Envelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<CloudflareError>,
    result: Option<T>,
}

#[derive(Deserialize)]
struct CloudflareError {
    code: Option<i64>,
    message: String,
}

impl<T> Envelope<T> {
    fn errors_text(&self) -> String {
        self.errors
            .iter()
            .map(|error| match error.code {
                Some(code) => format!("{} ({code})", error.message),
                None => error.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The result of a 2xx reply, which must still say `"success": true`. The errors are the
    /// reply's text, so `client` redacts them.
    fn result(self, client: &VendorClient, what: &str) -> Result<T, ConnectorError> {
        if !self.success {
            return Err(ConnectorError::Failed(client.message(what, &self.errors_text())));
        }
        self.result
            .ok_or_else(|| ConnectorError::Failed(format!("cloudflare {what}: the reply has no result")))
    }
}

#[derive(Deserialize)]
struct Rule {
    id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    Zone(String),
    Account(String),
}

struct AccessRules {
    client: Arc<VendorClient>,
    scope: Scope,
    mode: Mode,
}

/// What an access rule matches: `(target, value)` as Cloudflare names them.
fn configuration(target: &str) -> Result<(&'static str, String), ConnectorError> {
    let invalid = |why: &str| ConnectorError::InvalidInput(format!("cloudflare: {target:?} {why}"));
    if let Some((address, prefix)) = target.split_once('/') {
        let address: IpAddr = address
            .parse()
            .map_err(|_| invalid("is not an IP address or CIDR range"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| invalid("has an invalid prefix length"))?;
        let network =
            ipnet::IpNet::new(address, prefix).map_err(|_| invalid("has an invalid prefix length"))?;
        if network.network() != address {
            return Err(invalid(&format!(
                "has bits set past its prefix: the range is {}",
                network.trunc()
            )));
        }
        return match (address, prefix) {
            (IpAddr::V4(_), 32) => Ok(("ip", address.to_string())),
            (IpAddr::V6(_), 128) => Ok(("ip6", address.to_string())),
            (IpAddr::V4(_), 16 | 24) | (IpAddr::V6(_), 32 | 48 | 64) => Ok(("ip_range", network.to_string())),
            (IpAddr::V4(_), _) => Err(invalid(
                "is a range Cloudflare does not take: IPv4 ranges must be /16 or /24",
            )),
            (IpAddr::V6(_), _) => Err(invalid(
                "is a range Cloudflare does not take: IPv6 ranges must be /32, /48 or /64",
            )),
        };
    }
    match target.parse::<IpAddr>() {
        Ok(address @ IpAddr::V4(_)) => Ok(("ip", address.to_string())),
        Ok(address @ IpAddr::V6(_)) => Ok(("ip6", address.to_string())),
        Err(_) => Err(invalid("is not an IP address or CIDR range")),
    }
}

/// Cloudflare keeps the notes with the rule: who asked, and why.
fn notes(cx: &CallContext, reason: &str) -> String {
    let reason: String = reason.chars().take(400).collect();
    format!(
        "{reason} (palisade {}, plugin {}, alert {})",
        cx.action_id, cx.plugin, cx.alert_id
    )
}

impl AccessRules {
    /// `.../firewall/access_rules/rules` of the zone or the account.
    fn rules(&self, method: Method) -> Request {
        let request = match &self.scope {
            Scope::Zone(zone) => Request::new(method, "zones").segment(zone.clone()),
            Scope::Account(account) => Request::new(method, "accounts").segment(account.clone()),
        };
        request.path("firewall/access_rules/rules")
    }

    /// The ids of the rules of the configured mode for exactly this target.
    async fn existing(&self, target: &str, value: &str) -> Result<Vec<String>, ConnectorError> {
        let request = self
            .rules(Method::GET)
            .query("configuration.target", target)
            .query("configuration.value", value)
            .query("mode", self.mode.as_str())
            .query("match", "all");
        let rules: Vec<Rule> = self
            .client
            .json::<Envelope<Vec<Rule>>>(&request, "list rules")
            .await?
            .result(&self.client, "list rules")?;
        Ok(rules.into_iter().map(|rule| rule.id).collect())
    }

    async fn block(
        &self,
        cx: &CallContext,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        if request.duration_seconds.is_some() {
            return Err(ConnectorError::Unsupported(
                "cloudflare block-ip: access rules do not expire; block without a duration, or \
                 use a connector that expires blocks (kind edl)"
                    .into(),
            ));
        }
        let (target, value) = configuration(request.target)?;
        // Cloudflare refuses a second rule for the same address, so a repeat after a lost
        // reply ends in the duplicate case below: safe to retry.
        let call = self
            .rules(Method::POST)
            .json(&serde_json::json!({
                "mode": self.mode.as_str(),
                "configuration": { "target": target, "value": value },
                "notes": notes(cx, request.reason),
            }))
            .idempotent();
        match self.client.json::<Envelope<Rule>>(&call, "create rule").await {
            Ok(reply) => Ok(ActionReceipt {
                reference: Some(reply.result(&self.client, "create rule")?.id),
            }),
            // Most likely 10009, a rule for this address exists: if it blocks as asked, the
            // outcome is already there. A rule of another mode (an allow rule, say) is not
            // overridden: the vendor's refusal stands.
            Err(refused @ ConnectorError::InvalidInput(_)) => {
                match self.existing(target, &value).await?.into_iter().next() {
                    Some(id) => Ok(ActionReceipt { reference: Some(id) }),
                    None => Err(refused),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn unblock(&self, request: &BlockRequest<'_>) -> Result<ActionReceipt, ConnectorError> {
        let (target, value) = configuration(request.target)?;
        let ids = self.existing(target, &value).await?;
        for id in &ids {
            let call = self.rules(Method::DELETE).segment(id.clone());
            match self
                .client
                .json::<Envelope<serde_json::Value>>(&call, "delete rule")
                .await
            {
                Ok(reply) => {
                    reply.result(&self.client, "delete rule")?;
                }
                // Deleted meanwhile (or by the first of two attempts): gone is what was asked.
                Err(ConnectorError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(ActionReceipt {
            reference: (!ids.is_empty()).then(|| ids.join(",")),
        })
    }
}

#[async_trait::async_trait]
impl NetworkControl for AccessRules {
    async fn act(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        match action {
            NetworkAction::BlockIp => self.block(cx, request).await,
            NetworkAction::UnblockIp => self.unblock(request).await,
            NetworkAction::BlockDomain | NetworkAction::UnblockDomain => {
                Err(ConnectorError::Unsupported(format!(
                    "cloudflare {}: not supported: IP Access Rules match addresses, ranges, ASNs \
                     and countries, not domain names",
                    action.operation()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const TOKEN: &str = "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY";
    const ZONE: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    const RULES: &str = "/client/v4/zones/023e105f4ecef8ad9ca31a8372d0c353/firewall/access_rules/rules";
    const RULE_ID: &str = "92f17202ed8bd63d69a66b86a49a8f6b";

    fn cloudflare(stub: &Stub, scope: Scope) -> AccessRules {
        AccessRules {
            client: stub.client(
                "/client/v4",
                Auth::bearer(SecretString::from(TOKEN)),
                "cloudflare",
                error_message,
            ),
            scope,
            mode: Mode::Block,
        }
    }

    fn zone(stub: &Stub) -> AccessRules {
        cloudflare(stub, Scope::Zone(ZONE.into()))
    }

    fn cx() -> CallContext {
        CallContext::new("block-scanner", "alert-1")
    }

    fn block(target: &str) -> BlockRequest<'_> {
        BlockRequest {
            target,
            duration_seconds: None,
            reason: "credential stuffing",
        }
    }

    fn created(id: &str, target: &str, value: &str) -> String {
        format!(
            r#"{{"result":{{"id":"{id}","allowed_modes":["whitelist","block","challenge","js_challenge","managed_challenge"],
            "configuration":{{"target":"{target}","value":"{value}"}},"created_on":"2024-05-01T10:00:00Z","mode":"block",
            "modified_on":"2024-05-01T10:00:00Z","notes":"credential stuffing","scope":{{"id":"{ZONE}","type":"zone"}}}},
            "success":true,"errors":[],"messages":[]}}"#
        )
    }

    fn create(target: &str, value: &str, cx: &CallContext) -> Exchange {
        Exchange::expect("POST", RULES)
            .header("authorization", &format!("Bearer {TOKEN}"))
            .header("accept", "application/json")
            .json(serde_json::json!({
                "mode": "block",
                "configuration": { "target": target, "value": value },
                "notes": notes(cx, "credential stuffing"),
            }))
    }

    fn list(target: &str, encoded_value: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!(
                "{RULES}?configuration.target={target}&configuration.value={encoded_value}&mode=block&match=all"
            ),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
    }

    #[tokio::test]
    async fn addresses_and_ranges_become_rules_of_the_right_target() {
        let cx = cx();
        let stub = Stub::start(vec![
            create("ip", "198.51.100.4", &cx).reply(200, &created(RULE_ID, "ip", "198.51.100.4")),
            create("ip6", "2001:db8::1", &cx).reply(200, &created("r6", "ip6", "2001:db8::1")),
            create("ip_range", "203.0.113.0/24", &cx)
                .reply(200, &created("r24", "ip_range", "203.0.113.0/24")),
            create("ip_range", "2001:db8:aa::/48", &cx)
                .reply(200, &created("r48", "ip_range", "2001:db8:aa::/48")),
        ]);
        let cloudflare = zone(&stub);
        let mut references = Vec::new();
        for target in [
            "198.51.100.4",
            "2001:DB8:0::1",
            "203.0.113.0/24",
            "2001:db8:aa::/48",
        ] {
            let receipt = cloudflare
                .act(&cx, NetworkAction::BlockIp, &block(target))
                .await
                .unwrap();
            references.push(receipt.reference.unwrap());
        }
        assert_eq!(references, [RULE_ID, "r6", "r24", "r48"]);
        stub.finish();
    }

    #[tokio::test]
    async fn an_account_scope_writes_account_rules() {
        let cx = cx();
        let stub = Stub::start(vec![
            Exchange::expect(
                "POST",
                "/client/v4/accounts/01a7362d577a6c3019a474fd6f485823/firewall/access_rules/rules",
            )
            .json(serde_json::json!({"configuration": {"target": "ip", "value": "198.51.100.4"}}))
            .reply(200, &created(RULE_ID, "ip", "198.51.100.4")),
        ]);
        cloudflare(&stub, Scope::Account("01a7362d577a6c3019a474fd6f485823".into()))
            .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
            .await
            .unwrap();
        stub.finish();
    }

    #[tokio::test]
    async fn an_existing_block_rule_is_success_but_a_rule_of_another_mode_is_not() {
        let cx = cx();
        let duplicate = r#"{"result":null,"success":false,"errors":[{"code":10009,"message":"firewallaccessrules.api.duplicate_of_existing"}],"messages":[]}"#;
        let stub = Stub::start(vec![
            create("ip", "198.51.100.4", &cx).reply(400, duplicate),
            list("ip", "198.51.100.4").reply(
                200,
                &format!(r#"{{"result":[{{"id":"{RULE_ID}","mode":"block","configuration":{{"target":"ip","value":"198.51.100.4"}}}}],
                "success":true,"errors":[],"messages":[],"result_info":{{"page":1,"per_page":20,"count":1,"total_count":1,"total_pages":1}}}}"#),
            ),
            // An allow rule exists for this one: no block rule is listed.
            create("ip", "192.0.2.10", &cx).reply(400, duplicate),
            list("ip", "192.0.2.10").reply(200, r#"{"result":[],"success":true,"errors":[],"messages":[]}"#),
        ]);
        let cloudflare = zone(&stub);
        let receipt = cloudflare
            .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(RULE_ID));
        let refused = cloudflare
            .act(&cx, NetworkAction::BlockIp, &block("192.0.2.10"))
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            ConnectorError::InvalidInput(
                "cloudflare create rule: firewallaccessrules.api.duplicate_of_existing (10009)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_create_is_retried_after_503_and_429() {
        let cx = cx();
        let stub = Stub::start(vec![
            create("ip", "198.51.100.4", &cx).reply(
                503,
                r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Service unavailable"}],"messages":[]}"#,
            ),
            create("ip", "198.51.100.4", &cx)
                .reply(
                    429,
                    r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Rate limited. Please wait and consider throttling your request speed"}],"messages":[]}"#,
                )
                .reply_header("retry-after", "0"),
            create("ip", "198.51.100.4", &cx).reply(200, &created(RULE_ID, "ip", "198.51.100.4")),
        ]);
        let receipt = zone(&stub)
            .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(RULE_ID));
        stub.finish();
    }

    #[tokio::test]
    async fn unblocking_deletes_the_block_rule_and_nothing_to_delete_is_success() {
        let stub = Stub::start(vec![
            list("ip_range", "203.0.113.0%2F24").reply(
                200,
                &format!(r#"{{"result":[{{"id":"{RULE_ID}","mode":"block","configuration":{{"target":"ip_range","value":"203.0.113.0/24"}}}}],"success":true,"errors":[],"messages":[]}}"#),
            ),
            Exchange::expect("DELETE", &format!("{RULES}/{RULE_ID}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(
                    200,
                    &format!(r#"{{"result":{{"id":"{RULE_ID}"}},"success":true,"errors":[],"messages":[]}}"#),
                ),
            list("ip", "198.51.100.4").reply(200, r#"{"result":[],"success":true,"errors":[],"messages":[]}"#),
        ]);
        let cloudflare = zone(&stub);
        let receipt = cloudflare
            .act(&cx(), NetworkAction::UnblockIp, &block("203.0.113.0/24"))
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(RULE_ID));
        let receipt = cloudflare
            .act(&cx(), NetworkAction::UnblockIp, &block("198.51.100.4"))
            .await
            .unwrap();
        assert_eq!(receipt.reference, None);
        stub.finish();
    }

    #[tokio::test]
    async fn cloudflare_errors_carry_the_message_and_code() {
        let stub = Stub::start(vec![list("ip", "198.51.100.4").reply(
            403,
            r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}"#,
        )]);
        let error = zone(&stub)
            .act(&cx(), NetworkAction::UnblockIp, &block("198.51.100.4"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unauthorized(m) if m.contains("Authentication error (10000)")),
            "{error}"
        );
        assert!(!error.to_string().contains(TOKEN));
        stub.finish();
    }

    #[tokio::test]
    async fn a_success_false_envelope_on_http_200_is_a_failure_with_its_errors() {
        let cx = cx();
        let failed = r#"{"result":null,"success":false,"errors":[{"code":10001,"message":"firewallaccessrules.api.validation_error"},{"code":1004,"message":"DNS Validation Error"}],"messages":[]}"#;
        let stub = Stub::start(vec![
            create("ip", "198.51.100.4", &cx).reply(200, failed),
            list("ip", "198.51.100.4").reply(200, failed),
        ]);
        let cloudflare = zone(&stub);
        assert_eq!(
            cloudflare
                .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
                .await
                .unwrap_err(),
            ConnectorError::Failed(
                "cloudflare create rule: firewallaccessrules.api.validation_error (10001); DNS Validation Error (1004)".into()
            )
        );
        assert_eq!(
            cloudflare
                .act(&cx, NetworkAction::UnblockIp, &block("198.51.100.4"))
                .await
                .unwrap_err(),
            ConnectorError::Failed(
                "cloudflare list rules: firewallaccessrules.api.validation_error (10001); DNS Validation Error (1004)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_success_false_envelope_that_echoes_the_token_never_carries_it() {
        let cx = cx();
        // On an HTTP 200, which the client's status handling never sees; the second cuts the
        // message at 300 characters inside the token.
        let echo = |padding: usize| {
            format!(
                r#"{{"result":null,"success":false,"errors":[{{"code":10000,"message":"Authentication error: {}Bearer {TOKEN}"}}],"messages":[]}}"#,
                "x".repeat(padding)
            )
        };
        let stub = Stub::start(vec![
            create("ip", "198.51.100.4", &cx).reply(200, &echo(0)),
            create("ip", "198.51.100.4", &cx).reply(200, &echo(262)),
        ]);
        let cloudflare = zone(&stub);
        for _ in 0..2 {
            let error = cloudflare
                .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
                .await
                .unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(error, ConnectorError::Failed(_))
                    && text.starts_with("cloudflare create rule: Authentication error: ")
                    && text.contains("Bearer [red")
                    && !text.contains("Sn3l"),
                "{text}"
            );
        }
        stub.finish();
    }

    const RATE_LIMITED: &str = r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Rate limited. Please wait and consider throttling your request speed"}],"messages":[]}"#;

    #[tokio::test]
    async fn the_rate_limit_waits_out_retry_after_then_fails_as_rate_limited() {
        let cx = cx();
        let stub = Stub::start(vec![
            list("ip", "198.51.100.4")
                .reply(429, RATE_LIMITED)
                .reply_header("retry-after", "1")
                .reply_header("x-ratelimit-reset", "Thu, 01 May 2025 10:00:01 GMT"),
            list("ip", "198.51.100.4")
                .reply(200, r#"{"result":[],"success":true,"errors":[],"messages":[]}"#),
            // The global limit blocks the token for five minutes: not waited out.
            create("ip", "198.51.100.4", &cx)
                .reply(429, RATE_LIMITED)
                .reply_header("retry-after", "300"),
        ]);
        let cloudflare = zone(&stub);
        let started = std::time::Instant::now();
        cloudflare
            .act(&cx, NetworkAction::UnblockIp, &block("198.51.100.4"))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= std::time::Duration::from_secs(1),
            "Retry-After was not honoured"
        );
        let started = std::time::Instant::now();
        assert_eq!(
            cloudflare
                .act(&cx, NetworkAction::BlockIp, &block("198.51.100.4"))
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "cloudflare create rule: HTTP 429: Rate limited. Please wait and consider throttling your request speed (10000)".into()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn an_account_rule_deleted_meanwhile_is_unblocked() {
        const ACCOUNT_RULES: &str =
            "/client/v4/accounts/01a7362d577a6c3019a474fd6f485823/firewall/access_rules/rules";
        let stub = Stub::start(vec![
            Exchange::expect(
                "GET",
                &format!(
                    "{ACCOUNT_RULES}?configuration.target=ip6&configuration.value=2001%3Adb8%3A%3A1&mode=block&match=all"
                ),
            )
            .header("authorization", &format!("Bearer {TOKEN}"))
            .header("accept", "application/json")
            .reply(
                200,
                &format!(r#"{{"result":[{{"id":"{RULE_ID}","mode":"block","configuration":{{"target":"ip6","value":"2001:db8::1"}}}}],"success":true,"errors":[],"messages":[]}}"#),
            ),
            Exchange::expect("DELETE", &format!("{ACCOUNT_RULES}/{RULE_ID}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(
                    404,
                    r#"{"result":null,"success":false,"errors":[{"code":10001,"message":"firewallaccessrules.api.not_found"}],"messages":[]}"#,
                ),
        ]);
        let receipt = cloudflare(&stub, Scope::Account("01a7362d577a6c3019a474fd6f485823".into()))
            .act(&cx(), NetworkAction::UnblockIp, &block("2001:db8::1"))
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(RULE_ID));
        stub.finish();
    }

    #[tokio::test]
    async fn a_refused_delete_is_an_error() {
        let stub = Stub::start(vec![
            list("ip", "198.51.100.4").reply(
                200,
                &format!(r#"{{"result":[{{"id":"{RULE_ID}","mode":"block"}}],"success":true,"errors":[],"messages":[]}}"#),
            ),
            Exchange::expect("DELETE", &format!("{RULES}/{RULE_ID}")).reply(
                403,
                r#"{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}"#,
            ),
        ]);
        let error = zone(&stub)
            .act(&cx(), NetworkAction::UnblockIp, &block("198.51.100.4"))
            .await
            .unwrap_err();
        assert_eq!(
            error,
            ConnectorError::Unauthorized(
                "cloudflare delete rule: HTTP 403: Authentication error (10000) (check the connector's credentials and their permissions)".into()
            )
        );
        stub.finish();
    }

    #[tokio::test]
    async fn targets_cloudflare_cannot_take_are_refused_before_a_call() {
        let stub = Stub::start(vec![]);
        let cloudflare = zone(&stub);
        for (target, why) in [
            ("10.0.0.0/8", "/16 or /24"),
            ("203.0.113.7/24", "bits set past its prefix"),
            ("2001:db8::/56", "/32, /48 or /64"),
            ("198.51.100.4\nevil", "not an IP address"),
            ("example.com", "not an IP address"),
        ] {
            let error = cloudflare
                .act(&cx(), NetworkAction::BlockIp, &block(target))
                .await
                .unwrap_err();
            assert!(
                matches!(&error, ConnectorError::InvalidInput(m) if m.contains(why)),
                "{target}: {error}"
            );
        }
        let timed = cloudflare
            .act(
                &cx(),
                NetworkAction::BlockIp,
                &BlockRequest {
                    target: "198.51.100.4",
                    duration_seconds: Some(3600),
                    reason: "scan",
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(timed, ConnectorError::Unsupported(_)), "{timed}");
        let domain = cloudflare
            .act(&cx(), NetworkAction::BlockDomain, &block("evil.example"))
            .await
            .unwrap_err();
        assert!(matches!(domain, ConnectorError::Unsupported(_)), "{domain}");
        stub.finish();
    }
}
