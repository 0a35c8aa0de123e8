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
//! A lookup resolves a name the way Okta does: `GET /api/v1/users/{name}` takes the user's id,
//! login, or login short name when that is unambiguous ([Get a user]); an address Okta does not
//! know as a login is then searched for as a primary or secondary email ([List all users],
//! `search=profile.email eq "..."`), and more than one match is ambiguous. The record Okta returns
//! must answer to the name asked, so a lenient vendor match never passes as a resolution. Okta
//! knows no Windows domains: `DOMAIN\user` is not found, and the policy gate holds it.
//!
//! | operation | Okta call |
//! | --- | --- |
//! | lookup-user | `GET /api/v1/users/{name}`, else `GET /api/v1/users?search=...`; then `GET /api/v1/users/{id}/groups?limit=200` (paged by `Link: rel="next"`, [List all groups of a user]) |
//! | disable-user | `POST /api/v1/users/{id}/lifecycle/suspend` ([Suspend a user]) |
//! | enable-user | `POST /api/v1/users/{id}/lifecycle/unsuspend` ([Unsuspend a user]) |
//! | revoke-sessions | `DELETE /api/v1/users/{id}/sessions` (`?oauthTokens=true` with `revoke_oauth_tokens`, [Revoke all user sessions]) |
//! | reset-password | `POST /api/v1/users/{id}/lifecycle/reset_password?sendEmail=true` ([Reset a password]) |
//!
//! Each action is by the Okta id the lookup resolved. Okta refuses to suspend a suspended
//! user (or unsuspend an active one) with a 400; the user's status is then read, and an
//! account already as asked is done. A reset sends the user an email, so it is sent once; a
//! 429 is the one reply after which it goes again, as Okta refused it unread. A 429 is waited
//! out until `X-Rate-Limit-Reset` (UTC epoch seconds, [Rate limits]) when that is within a
//! minute; past it the call fails as rate limited.
//!
//! [Get a user]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/getUser
//! [List all users]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/User/#tag/User/operation/listUsers
//! [List all groups of a user]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserResources/#tag/UserResources/operation/listUserGroups
//! [Suspend a user]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle/#tag/UserLifecycle/operation/suspendUser
//! [Unsuspend a user]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle/#tag/UserLifecycle/operation/unsuspendUser
//! [Revoke all user sessions]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserSessions/#tag/UserSessions/operation/revokeUserSessions
//! [Reset a password]: https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserCred/#tag/UserCred/operation/resetPassword
//! [Rate limits]: https://developer.okta.com/docs/reference/rl-best-practices/

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::http::{Auth, Request, VendorClient};
use crate::resolve;
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
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
    second_email: Option<String>,
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

impl User {
    /// The names Okta itself finds this user by.
    fn known_as(&self, name: &str) -> bool {
        std::iter::once(&self.profile.login)
            .chain(&self.profile.email)
            .chain(&self.profile.second_email)
            .any(|known| resolve::same_name(known, name))
    }
}

/// A string in an Okta search expression: quoted, with `\` and `"` escaped, so a name cannot
/// end the string and add a clause.
fn quoted(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

impl OktaIdentity {
    /// The user Okta finds by id, login or login short name; an address it does not know as a
    /// login is searched for among primary and secondary emails.
    async fn resolve(&self, name: &str) -> Result<User, ConnectorError> {
        let direct = self
            .client
            .json(&Request::get("api/v1/users").segment(name), "get user")
            .await;
        match direct {
            Err(ConnectorError::NotFound(_)) if name.contains('@') => {
                let address = quoted(name);
                let search = Request::get("api/v1/users").query(
                    "search",
                    format!("profile.email eq {address} or profile.secondEmail eq {address}"),
                );
                let found: Vec<User> = self.client.json(&search, "search users").await?;
                let matching = found.into_iter().filter(|user| user.known_as(name)).collect();
                self.client.exactly_one("user", name, matching, |user: &User| {
                    format!("{} ({})", user.profile.login, user.id)
                })
            }
            other => other,
        }
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
            let page: Vec<Group> = self.client.decode(&reply, "list groups")?;
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
        resolve::checked("user", name)?;
        let user = self.resolve(name).await?;
        let short_name = user.profile.login.split_once('@').map(|(short, _)| short);
        // Okta answers a short name only when it is unambiguous; an id, a login and its short
        // name, or an address of the record are the names it may answer to.
        if !(user.id == name
            || user.known_as(name)
            || short_name.is_some_and(|short| resolve::same_name(short, name)))
        {
            let record = format!("{} ({})", user.profile.login, user.id);
            return Err(ConnectorError::NotFound(format!(
                "okta answered {name:?} with user {}, which is not known by that name",
                self.client.redact(&record)
            )));
        }
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
            domain: None,
            aliases: user.profile.second_email.into_iter().collect(),
        })
    }

    async fn act(
        &self,
        _cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        let user_id = request.user_id.to_owned();
        let (call, what) = match action {
            // Suspending a suspended user changes nothing, so a retry is safe.
            IdentityAction::DisableUser => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user_id.clone())
                    .path("lifecycle/suspend")
                    .idempotent(),
                "suspend user",
            ),
            IdentityAction::EnableUser => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user_id.clone())
                    .path("lifecycle/unsuspend")
                    .idempotent(),
                "unsuspend user",
            ),
            IdentityAction::RevokeSessions => {
                let mut call = Request::new(Method::DELETE, "api/v1/users")
                    .segment(user_id.clone())
                    .path("sessions");
                if self.revoke_oauth_tokens {
                    call = call.query("oauthTokens", "true");
                }
                (call, "clear sessions")
            }
            // Each reset sends the user another email: repeated only after a 429, which Okta
            // answers before acting.
            IdentityAction::ResetPassword => (
                Request::new(Method::POST, "api/v1/users")
                    .segment(user_id.clone())
                    .path("lifecycle/reset_password")
                    .query("sendEmail", "true")
                    .once_unless_rate_limited(),
                "reset password",
            ),
        };
        match self.client.send(&call, what).await {
            Ok(_) => {}
            // Okta refuses to suspend a suspended user (or unsuspend an active one) with a
            // 400; the account is then as asked, which is what a repeat must find.
            Err(ConnectorError::InvalidInput(refusal))
                if matches!(action, IdentityAction::DisableUser | IdentityAction::EnableUser) =>
            {
                let user: User = self
                    .client
                    .json(&Request::get("api/v1/users").segment(user_id.clone()), "get user")
                    .await?;
                let asked = match action {
                    IdentityAction::DisableUser => "SUSPENDED",
                    _ => "ACTIVE",
                };
                if user.status != asked {
                    return Err(ConnectorError::InvalidInput(refusal));
                }
            }
            Err(error) => return Err(error),
        }
        Ok(ActionReceipt {
            reference: Some(user_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
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
                domain: None,
                aliases: Vec::new(),
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn okta_resolves_a_short_name_and_an_id_and_the_record_must_answer_to_it() {
        let stub = Stub::start(vec![
            get_user("alice").reply(200, ALICE),
            Exchange::expect("GET", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200").reply(200, "[]"),
            get_user("00u1ab2cd3EF4gh5i6j7").reply(200, ALICE),
            Exchange::expect("GET", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/groups?limit=200").reply(200, "[]"),
            // A vendor (or a proxy) answering with someone the name does not denote.
            get_user("bob").reply(200, ALICE),
        ]);
        let okta = okta(&stub, false);
        for name in ["alice", "00u1ab2cd3EF4gh5i6j7"] {
            let profile = okta.lookup_user(&cx(), name).await.unwrap();
            assert_eq!(profile.id, "00u1ab2cd3EF4gh5i6j7", "{name}");
        }
        let wrong = okta.lookup_user(&cx(), "bob").await.unwrap_err();
        assert!(matches!(wrong, ConnectorError::NotFound(_)), "{wrong}");
        stub.finish();
    }

    /// `profile.email eq "x" or profile.secondEmail eq "x"`, form-encoded as the URL sends it.
    fn search(encoded_address: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!(
                "/api/v1/users?search=profile.email+eq+%22{encoded_address}%22+or+profile.secondEmail+eq+%22{encoded_address}%22"
            ),
        )
        .header("authorization", &format!("SSWS {TOKEN}"))
    }

    const NOT_FOUND: &str = r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: x (User)","errorCauses":[]}"#;

    #[tokio::test]
    async fn an_address_okta_does_not_know_as_a_login_is_searched_among_emails() {
        let ceo = r#"[{"id":"00u0ceo","status":"ACTIVE","profile":{"login":"dortiz@example.com",
            "email":"dortiz@example.com","secondEmail":"ceo@example.com","displayName":"Dana Ortiz"}}]"#;
        let stub = Stub::start(vec![
            get_user("ceo@example.com").reply(404, NOT_FOUND),
            search("ceo%40example.com").reply(200, ceo),
            Exchange::expect("GET", "/api/v1/users/00u0ceo/groups?limit=200").reply(200, "[]"),
        ]);
        let profile = okta(&stub, false)
            .lookup_user(&cx(), "ceo@example.com")
            .await
            .unwrap();
        assert_eq!(profile.id, "00u0ceo");
        assert_eq!(profile.name, "dortiz@example.com");
        assert_eq!(profile.aliases, vec!["ceo@example.com".to_owned()]);
        assert!(profile.names().contains(&"ceo".to_owned()));
        stub.finish();
    }

    #[tokio::test]
    async fn two_matches_are_ambiguous_and_near_misses_are_not_found() {
        let two = r#"[{"id":"00u1","status":"ACTIVE","profile":{"login":"a@example.com","email":"shared@example.com"}},
            {"id":"00u2","status":"ACTIVE","profile":{"login":"b@example.com","secondEmail":"Shared@Example.com"}}]"#;
        let near = r#"[{"id":"00u3","status":"ACTIVE","profile":{"login":"c@example.com","email":"shared@example.co"}}]"#;
        let stub = Stub::start(vec![
            get_user("shared@example.com").reply(404, NOT_FOUND),
            search("shared%40example.com").reply(200, two),
            get_user("shared@example.com").reply(404, NOT_FOUND),
            search("shared%40example.com").reply(200, near),
            get_user("ghost").reply(404, NOT_FOUND),
        ]);
        let okta = okta(&stub, false);
        let ambiguous = okta.lookup_user(&cx(), "shared@example.com").await.unwrap_err();
        assert_eq!(
            ambiguous,
            ConnectorError::Ambiguous(
                "okta: 2 users match \"shared@example.com\": a@example.com (00u1), b@example.com (00u2)"
                    .into()
            )
        );
        let near = okta.lookup_user(&cx(), "shared@example.com").await.unwrap_err();
        assert!(matches!(near, ConnectorError::NotFound(_)), "{near}");
        // A name that is no address is not searched: Okta's own answer stands.
        let missing = okta.lookup_user(&cx(), "ghost").await.unwrap_err();
        assert!(matches!(missing, ConnectorError::NotFound(_)), "{missing}");
        stub.finish();
    }

    #[tokio::test]
    async fn names_with_hidden_characters_are_refused_and_quotes_cannot_add_a_clause() {
        let stub = Stub::start(vec![
            get_user("x%22%20or%20true%20or%20%22@example.com").reply(404, NOT_FOUND),
            search("x%5C%22+or+true+or+%5C%22%40example.com").reply(200, "[]"),
        ]);
        let okta = okta(&stub, false);
        for hidden in ["ce\to@example.com", "ceo\r\n", "ce\u{200b}o", ""] {
            let refused = okta.lookup_user(&cx(), hidden).await.unwrap_err();
            assert!(
                matches!(refused, ConnectorError::InvalidInput(_)),
                "{hidden:?}: {refused}"
            );
        }
        let quoted = okta
            .lookup_user(&cx(), "x\" or true or \"@example.com")
            .await
            .unwrap_err();
        assert!(matches!(quoted, ConnectorError::NotFound(_)), "{quoted}");
        stub.finish();
    }

    /// The gate with Okta as the provider: every name Okta resolves to the protected CEO is
    /// held, bound to the CEO's Okta id, and Okta receives no destructive call.
    #[tokio::test]
    async fn every_name_okta_resolves_to_a_protected_account_is_held_before_any_action() {
        let ceo = r#"{"id":"00u0ceo","status":"ACTIVE","profile":{"login":"dortiz@example.com",
            "email":"dortiz@example.com","secondEmail":"ceo@example.com","displayName":"Dana Ortiz"}}"#;
        let groups = || Exchange::expect("GET", "/api/v1/users/00u0ceo/groups?limit=200").reply(200, "[]");
        let mut exchanges = Vec::new();
        for name in ["dortiz@example.com", "DOrtiz@Example.com", "dortiz", "00u0ceo"] {
            exchanges.extend([get_user(name).reply(200, ceo), groups()]);
        }
        exchanges.extend([
            get_user("CEO@example.com").reply(404, NOT_FOUND),
            search("CEO%40example.com").reply(200, &format!("[{ceo}]")),
            groups(),
        ]);
        let stub = Stub::start(exchanges);
        let connectors = CapabilitySet {
            identity: Some(Arc::new(okta(&stub, false))),
            ..CapabilitySet::default()
        };
        for name in [
            "dortiz@example.com",
            "DOrtiz@Example.com",
            "dortiz",
            "00u0ceo",
            "CEO@example.com",
        ] {
            let mut request = crate::ActionRequest::Identity {
                action: IdentityAction::DisableUser,
                user: name.into(),
                reason: "spray".into(),
                resolved: None,
            };
            let decision = crate::stub::gate_decision(connectors.clone(), &mut request).await;
            assert!(
                matches!(&decision, palisade_policy::Decision::Hold(reason) if reason.contains("00u0ceo")),
                "{name}: {decision:?}"
            );
            assert_eq!(request.resolved().map(|r| r.id.as_str()), Some("00u0ceo"));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn containment_suspends_and_clears_sessions_by_okta_id() {
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/lifecycle/suspend")
                .header("authorization", &format!("SSWS {TOKEN}"))
                .reply(200, "{}"),
            Exchange::expect(
                "DELETE",
                "/api/v1/users/00u1ab2cd3EF4gh5i6j7/sessions?oauthTokens=true",
            )
            .header("authorization", &format!("SSWS {TOKEN}"))
            .reply(204, ""),
        ]);
        let okta = okta(&stub, true);
        let request = AccountRequest {
            user_id: "00u1ab2cd3EF4gh5i6j7",
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
    async fn suspending_a_suspended_user_is_done_and_other_refusals_stay_errors() {
        let refused = r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: suspend","errorCauses":[{"errorSummary":"Cannot suspend a user that is not active"}]}"#;
        let user = |status: &str| {
            format!(
                r#"{{"id":"00u1ab2cd3EF4gh5i6j7","status":"{status}","profile":{{"login":"alice@acme.example"}}}}"#
            )
        };
        let stub = Stub::start(vec![
            Exchange::expect("POST", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/lifecycle/suspend")
                .reply(400, refused),
            get_user("00u1ab2cd3EF4gh5i6j7").reply(200, &user("SUSPENDED")),
            // A deprovisioned user cannot be suspended either, and is not suspended: an error.
            Exchange::expect("POST", "/api/v1/users/00u1ab2cd3EF4gh5i6j7/lifecycle/suspend")
                .reply(400, refused),
            get_user("00u1ab2cd3EF4gh5i6j7").reply(200, &user("DEPROVISIONED")),
        ]);
        let okta = okta(&stub, false);
        let request = AccountRequest {
            user_id: "00u1ab2cd3EF4gh5i6j7",
            user: "alice@acme.example",
            reason: "spray",
        };
        let done = okta
            .act(&cx(), IdentityAction::DisableUser, &request)
            .await
            .unwrap();
        assert_eq!(done.reference.as_deref(), Some("00u1ab2cd3EF4gh5i6j7"));
        let error = okta
            .act(&cx(), IdentityAction::DisableUser, &request)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::InvalidInput(m) if m.contains("not active")),
            "{error}"
        );
        stub.finish();
    }

    const ALICE_ID: &str = "00u1ab2cd3EF4gh5i6j7";

    fn alice_request() -> AccountRequest<'static> {
        AccountRequest {
            user_id: ALICE_ID,
            user: "alice@acme.example",
            reason: "password spray",
        }
    }

    /// A call on Alice's account as Okta documents it: SSWS token, JSON accepted, no body.
    fn on_alice(method: &'static str, path: &str) -> Exchange {
        Exchange::expect(method, &format!("/api/v1/users/{ALICE_ID}/{path}"))
            .header("authorization", &format!("SSWS {TOKEN}"))
            .header("accept", "application/json")
    }

    #[tokio::test]
    async fn enabling_unsuspends_and_an_already_active_user_is_done() {
        let refused = r#"{"errorCode":"E0000001","errorSummary":"Api validation failed: unsuspend","errorCauses":[{"errorSummary":"Cannot unsuspend a user that is not suspended"}]}"#;
        let stub = Stub::start(vec![
            on_alice("POST", "lifecycle/unsuspend").reply(200, "{}"),
            on_alice("POST", "lifecycle/unsuspend").reply(400, refused),
            get_user(ALICE_ID).reply(200, ALICE),
        ]);
        let okta = okta(&stub, false);
        for _ in 0..2 {
            let receipt = okta
                .act(&cx(), IdentityAction::EnableUser, &alice_request())
                .await
                .unwrap();
            assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn sessions_are_cleared_without_oauth_tokens_unless_configured_and_a_reset_emails_the_user() {
        let stub = Stub::start(vec![
            on_alice("DELETE", "sessions").reply(204, ""),
            on_alice("POST", "lifecycle/reset_password?sendEmail=true").reply(200, "{}"),
        ]);
        let okta = okta(&stub, false);
        for action in [IdentityAction::RevokeSessions, IdentityAction::ResetPassword] {
            let receipt = okta.act(&cx(), action, &alice_request()).await.unwrap();
            assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID), "{action:?}");
        }
        stub.finish();
    }

    #[tokio::test]
    async fn a_revoked_token_and_a_token_without_the_admin_role_are_unauthorized() {
        let stub = Stub::start(vec![
            on_alice("POST", "lifecycle/suspend").reply(
                401,
                r#"{"errorCode":"E0000011","errorSummary":"Invalid token provided","errorLink":"E0000011","errorId":"oaeAbc","errorCauses":[]}"#,
            ),
            on_alice("DELETE", "sessions").reply(
                403,
                r#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action","errorLink":"E0000006","errorId":"oaeDef","errorCauses":[]}"#,
            ),
        ]);
        let okta = okta(&stub, false);
        assert_eq!(
            okta.act(&cx(), IdentityAction::DisableUser, &alice_request())
                .await
                .unwrap_err(),
            ConnectorError::Unauthorized(
                "okta suspend user: HTTP 401: Invalid token provided (E0000011) (check the connector's credentials and their permissions)".into()
            )
        );
        let denied = okta
            .act(&cx(), IdentityAction::RevokeSessions, &alice_request())
            .await
            .unwrap_err();
        assert!(
            matches!(&denied, ConnectorError::Unauthorized(m)
                if m.starts_with("okta clear sessions: HTTP 403: You do not have permission to perform the requested action (E0000006)")),
            "{denied}"
        );
        assert!(!denied.to_string().contains(TOKEN));
        stub.finish();
    }

    #[tokio::test]
    async fn a_user_deleted_since_the_lookup_is_not_found() {
        let stub = Stub::start(vec![on_alice("POST", "lifecycle/suspend").reply(
            404,
            r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: 00u1ab2cd3EF4gh5i6j7 (User)","errorCauses":[]}"#,
        )]);
        assert_eq!(
            okta(&stub, false)
                .act(&cx(), IdentityAction::DisableUser, &alice_request())
                .await
                .unwrap_err(),
            ConnectorError::NotFound(
                "okta suspend user: Not found: Resource not found: 00u1ab2cd3EF4gh5i6j7 (User) (E0000007)"
                    .into()
            )
        );
        stub.finish();
    }

    const RATE_LIMITED: &str = r#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests.","errorLink":"E0000047","errorId":"oaeXyz","errorCauses":[]}"#;

    /// Okta's rate-limit headers, with the window resetting `seconds` from now.
    fn rate_limited(exchange: Exchange, seconds: u64) -> Exchange {
        let reset = (std::time::SystemTime::now() + std::time::Duration::from_secs(seconds))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .to_string();
        exchange
            .reply(429, RATE_LIMITED)
            .reply_header("x-rate-limit-limit", "600")
            .reply_header("x-rate-limit-remaining", "0")
            .reply_header("x-rate-limit-reset", &reset)
    }

    #[tokio::test]
    async fn a_rate_limited_reset_waits_for_x_rate_limit_reset_and_is_sent_once_more() {
        let stub = Stub::start(vec![
            rate_limited(on_alice("POST", "lifecycle/reset_password?sendEmail=true"), 2),
            on_alice("POST", "lifecycle/reset_password?sendEmail=true").reply(200, "{}"),
        ]);
        let started = std::time::Instant::now();
        okta(&stub, false)
            .act(&cx(), IdentityAction::ResetPassword, &alice_request())
            .await
            .unwrap();
        assert!(
            started.elapsed() >= std::time::Duration::from_millis(900),
            "X-Rate-Limit-Reset was not waited for"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_rate_limit_resetting_minutes_away_fails_at_once_as_rate_limited() {
        let stub = Stub::start(vec![rate_limited(on_alice("POST", "lifecycle/suspend"), 300)]);
        let started = std::time::Instant::now();
        assert_eq!(
            okta(&stub, false)
                .act(&cx(), IdentityAction::DisableUser, &alice_request())
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "okta suspend user: HTTP 429: API call exceeded rate limit due to too many requests. (E0000047)".into()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        stub.finish();
    }

    #[tokio::test]
    async fn okta_errors_carry_the_summary_and_a_failed_reset_is_not_repeated() {
        let stub = Stub::start(vec![
            get_user("ghost").reply(
                404,
                r#"{"errorCode":"E0000007","errorSummary":"Not found: Resource not found: ghost (User)","errorLink":"E0000007","errorId":"oaeXyz","errorCauses":[]}"#,
            ),
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
        let missing = okta.lookup_user(&cx(), "ghost").await.unwrap_err();
        assert_eq!(
            missing,
            ConnectorError::NotFound(
                "okta get user: Not found: Resource not found: ghost (User) (E0000007)".into()
            )
        );
        let failed = okta
            .act(
                &cx(),
                IdentityAction::ResetPassword,
                &AccountRequest {
                    user_id: "00u1ab2cd3EF4gh5i6j7",
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
