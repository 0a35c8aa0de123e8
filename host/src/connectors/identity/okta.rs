//! Okta, through its Users API (`/api/v1/users`) with an API token (`Authorization: SSWS`).
//!
//! ```toml
//! [connectors.okta]
//! kind = "okta"
//! url = "https://acme.okta.com"
//! token = { env = "OKTA_API_TOKEN" }
//! revoke_oauth_tokens = true   # clearing sessions also revokes the user's OAuth tokens
//! ```
//!
//! disable-user suspends, enable-user unsuspends, revoke-sessions clears every session, and
//! reset-password starts Okta's reset flow (an email to the user). Each acts on the user's
//! Okta id, looked up from the login first, so a login cannot be mistaken for a path.

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::capability::Capability;
use crate::config::SecretRef;
use crate::connectors::http::{Auth, Request, VendorClient};
use crate::connectors::vendor::{BuildContext, VendorBackend};
use crate::connectors::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Okta {
    token: Spanned<SecretRef>,
    #[serde(default)]
    revoke_oauth_tokens: bool,
}

impl VendorBackend for Okta {
    const KIND: &'static str = "okta";
    const CAPABILITY: Capability = Capability::Identity;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        vec![("token", &self.token)]
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        let auth = Auth::Header {
            name: HeaderName::from_static("authorization"),
            scheme: Some("SSWS"),
            secret: cx.secret("token", &self.token)?,
        };
        Ok(CapabilitySet {
            identity: Some(Arc::new(OktaIdentity {
                client: cx.client("okta", auth, error_message),
                revoke_oauth_tokens: self.revoke_oauth_tokens,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Okta's error body: `{"errorCode":"E0000007","errorSummary":"Not found: ...","errorCauses":[{"errorSummary":"..."}]}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct OktaError {
        error_code: Option<String>,
        error_summary: String,
        #[serde(default)]
        error_causes: Vec<Cause>,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cause {
        error_summary: String,
    }
    let error: OktaError = serde_json::from_slice(body).ok()?;
    let mut message = error.error_summary;
    for cause in error.error_causes {
        message.push_str(": ");
        message.push_str(&cause.error_summary);
    }
    if let Some(code) = error.error_code {
        message.push_str(&format!(" ({code})"));
    }
    Some(message)
}

struct OktaIdentity {
    client: Arc<VendorClient>,
    revoke_oauth_tokens: bool,
}

#[derive(Deserialize)]
struct User {
    id: String,
    status: String,
    profile: Profile,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Profile {
    login: String,
    email: Option<String>,
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct Group {
    profile: GroupProfile,
}

#[derive(Deserialize)]
struct GroupProfile {
    name: String,
}

/// Enough pages of groups for any real user; a reply that keeps paging past this is cut.
const MAX_GROUP_PAGES: usize = 20;

impl OktaIdentity {
    async fn user(&self, login: &str) -> Result<User, ConnectorError> {
        self.client
            .json(&Request::get("api/v1/users").segment(login), "get user")
            .await
    }

    async fn groups(&self, user_id: &str) -> Result<Vec<String>, ConnectorError> {
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_GROUP_PAGES {
            let mut request = Request::get("api/v1/users")
                .segment(user_id)
                .path("groups")
                .query("limit", "200");
            if let Some(after) = &cursor {
                request = request.query("after", after.clone());
            }
            let reply = self.client.send(&request, "list groups").await?;
            let page: Vec<Group> = reply.json("okta", "list groups")?;
            names.extend(page.into_iter().map(|group| group.profile.name));
            cursor = reply.next_page_cursor("after");
            if cursor.is_none() {
                break;
            }
        }
        Ok(names)
    }
}

#[async_trait::async_trait]
impl IdentityProvider for OktaIdentity {
    async fn lookup_user(&self, _cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError> {
        let user = self.user(name).await?;
        let groups = self.groups(&user.id).await?;
        let display_name =
            user.profile
                .display_name
                .or_else(|| match (user.profile.first_name, user.profile.last_name) {
                    (Some(first), Some(last)) => Some(format!("{first} {last}")),
                    (first, last) => first.or(last),
                });
        Ok(UserProfile {
            enabled: !matches!(user.status.as_str(), "SUSPENDED" | "DEPROVISIONED"),
            id: user.id,
            name: user.profile.login,
            email: user.profile.email,
            display_name,
            groups,
        })
    }

    async fn act(
        &self,
        _cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        let user = self.user(request.user).await?;
        let (call, what) = match action {
            // Suspending a suspended user changes nothing, so a retry is safe.
            IdentityAction::DisableUser => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user.id.clone())
                    .path("lifecycle/suspend")
                    .idempotent(),
                "suspend user",
            ),
            IdentityAction::EnableUser => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user.id.clone())
                    .path("lifecycle/unsuspend")
                    .idempotent(),
                "unsuspend user",
            ),
            IdentityAction::RevokeSessions => {
                let mut call = Request::new(Method::DELETE, "api/v1/users")
                    .segment(user.id.clone())
                    .path("sessions");
                if self.revoke_oauth_tokens {
                    call = call.query("oauthTokens", "true");
                }
                (call, "clear sessions")
            }
            // Each reset sends the user another email: never repeated.
            IdentityAction::ResetPassword => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user.id.clone())
                    .path("lifecycle/reset_password")
                    .query("sendEmail", "true")
                    .once(),
                "reset password",
            ),
        };
        self.client.send(&call, what).await?;
        Ok(ActionReceipt {
            reference: Some(user.id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const TOKEN: &str = "00aBcD-okta-api-token";

    fn okta(stub: &Stub, revoke_oauth_tokens: bool) -> OktaIdentity {
        OktaIdentity {
            client: stub.client(
                "/",
                Auth::Header {
                    name: HeaderName::from_static("authorization"),
                    scheme: Some("SSWS"),
                    secret: SecretString::from(TOKEN),
                },
                "okta",
                error_message,
            ),
            revoke_oauth_tokens,
        }
    }

    fn cx() -> CallContext {
        CallContext::new("password-spray", "alert-1")
    }

    fn get_user(login: &str) -> Exchange {
        Exchange::expect("GET", &format!("/api/v1/users/{login}"))
            .header("authorization", &format!("SSWS {TOKEN}"))
            .header("accept", "application/json")
    }

    const ALICE: &str = r#"{"id":"00u1ab2cd3EF4gh5i6j7","status":"ACTIVE","created":"2024-01-02T10:00:00.000Z",
        "profile":{"login":"alice@acme.example","email":"alice@acme.example","firstName":"Alice","lastName":"Ng"},
        "_links":{"self":{"href":"https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7"}}}"#;

    #[tokio::test]
    async fn a_lookup_reads_the_profile_and_pages_through_groups() {
        let stub = Stub::start(vec![
            get_user("alice@acme.example").reply(200, ALICE),
            Exchange::expect("GET", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200")
                .header("authorization", &format!("SSWS {TOKEN}"))
                .reply(200, r#"[{"id":"00g1","type":"OKTA_GROUP","profile":{"name":"Everyone"}}]"#)
                .reply_header(
                    "link",
                    r#"<https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200>; rel="self", <https://acme.okta.com/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?after=00g1&limit=200>; rel="next""#,
                ),
            Exchange::expect("GET", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200&after=00g1")
                .reply(200, r#"[{"id":"00g2","type":"OKTA_GROUP","profile":{"name":"Finance Admins"}}]"#),
        ]);
        let profile = okta(&stub, false)
            .lookup_user(&cx(), "alice@acme.example")
            .await
            .unwrap();
        assert_eq!(
            profile,
            UserProfile {
                id: "00u1ab2cd3EF4gh5i6j7".into(),
                name: "alice@acme.example".into(),
                email: Some("alice@acme.example".into()),
                display_name: Some("Alice Ng".into()),
                groups: vec!["Everyone".into(), "Finance Admins".into()],
                enabled: true,
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn containment_suspends_and_clears_sessions_by_okta_id() {
        let stub = Stub::start(vec![
            get_user("alice@acme.example").reply(200, ALICE),
            Exchange::expect("POST", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/lifecycle/suspend")
                .header("authorization", &format!("SSWS {TOKEN}"))
                .reply(200, "{}"),
            get_user("alice@acme.example").reply(200, ALICE),
            Exchange::expect(
                "DELETE",
                "/api/v1/users/00u1ab2cd3EF4gh5i6j7/sessions?oauthTokens=true",
            )
            .header("authorization", &format!("SSWS {TOKEN}"))
            .reply(204, ""),
        ]);
        let okta = okta(&stub, true);
        let request = AccountRequest {
            user: "alice@acme.example",
            reason: "password spray",
        };
        for action in [IdentityAction::DisableUser, IdentityAction::RevokeSessions] {
            let receipt = okta.act(&cx(), action, &request).await.unwrap();
            assert_eq!(receipt.reference.as_deref(), Some("00u1ab2cd3EF4gh5i6j7"));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn okta_errors_carry_the_summary_and_a_failed_reset_is_not_repeated() {
        let stub = Stub::start(vec![
            get_user("ghost@acme.example").reply(
                404,
                r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: ghost@acme.example (User)","errorLink":"E0000007","errorId":"oaeXyz","errorCauses":[]}"#,
            ),
            get_user("alice@acme.example").reply(200, ALICE),
            Exchange::expect(
                "POST",
                "/api/v1/users/00u1ab2cd3EF4gh5i6j7/lifecycle/reset_password?sendEmail=true",
            )
            .reply(
                500,
                r#"{"errorCode":"E0000009","errorSummary":"Internal Server Error","errorCauses":[]}"#,
            ),
        ]);
        let okta = okta(&stub, false);
        let missing = okta
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user: "ghost@acme.example",
                    reason: "spray",
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            missing,
            ConnectorError::NotFound(
                "okta get user: Not found: Resource not found: ghost@acme.example (User) (E0000007)".into()
            )
        );
        let failed = okta
            .act(
                &cx(),
                IdentityAction::ResetPassword,
                &AccountRequest {
                    user: "alice@acme.example",
                    reason: "spray",
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(failed, ConnectorError::Failed(_)), "{failed}");
        assert!(!failed.to_string().contains(TOKEN));
        stub.finish();
    }
}
