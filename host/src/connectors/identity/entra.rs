//! Microsoft Entra ID, through Microsoft Graph v1.0 with an app's client credentials
//! (OAuth2, application permissions `User.ReadWrite.All` and `User.RevokeSessions.All`, or
//! `Directory.Read.All` for lookups only).
//!
//! ```toml
//! [connectors.entra]
//! kind = "entra"
//! url = "https://graph.microsoft.com"
//! tenant_id = "8f4b2c1e-1d2a-4c3b-9e8f-0a1b2c3d4e5f"
//! client_id = "5a6b7c8d-0000-4000-8000-1234567890ab"
//! client_secret = { env = "ENTRA_CLIENT_SECRET" }
//! # token_url = "https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token"  # the default
//! # scope = "https://graph.microsoft.com/.default"                                 # the default
//! # transitive_groups = true    # false: only direct memberships count (protected groups then miss nested members)
//! ```
//!
//! | operation | Graph call |
//! | --- | --- |
//! | lookup-user | `GET /v1.0/users/{upn-or-id}?$select=...`, then `GET /v1.0/users/{id}/memberOf?$select=displayName` (paged by `$skiptoken`) |
//! | disable-user | `PATCH /v1.0/users/{id}` `{"accountEnabled": false}` |
//! | enable-user | `PATCH /v1.0/users/{id}` `{"accountEnabled": true}` |
//! | revoke-sessions | `POST /v1.0/users/{id}/revokeSignInSessions` |
//! | reset-password | unsupported (see [`RESET_UNSUPPORTED`]) |
//!
//! Actions resolve the user's object id first, so a user principal name cannot be mistaken
//! for a path, and the receipt carries that id.

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::capability::Capability;
use crate::config::SecretRef;
use crate::connectors::http::{Auth, Request, VendorClient};
use crate::connectors::oauth::ClientCredentials;
use crate::connectors::vendor::{BuildContext, VendorBackend};
use crate::connectors::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use reqwest::Method;
use serde::Deserialize;
use std::sync::Arc;
use toml::Spanned;

const DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

/// Why reset-password is refused, in the words an analyst reads.
pub const RESET_UNSUPPORTED: &str = "entra reset-password: not supported with app credentials: \
    Graph resets a password through the authentication methods API, which takes delegated \
    (signed-in administrator) permissions, or by setting a new password the host would have to \
    invent and hand over; revoke the user's sessions and disable the account instead, and reset \
    the password from the Entra admin center";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entra {
    tenant_id: String,
    client_id: String,
    client_secret: Spanned<SecretRef>,
    #[serde(default)]
    token_url: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    /// On by default: a policy protecting a group must also hold its nested groups' members.
    #[serde(default = "transitive_by_default")]
    transitive_groups: bool,
}

fn transitive_by_default() -> bool {
    true
}

impl VendorBackend for Entra {
    const KIND: &'static str = "entra";
    const CAPABILITY: Capability = Capability::Identity;

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
            identity: Some(Arc::new(EntraIdentity {
                client: cx.client("entra", Auth::OAuth(Arc::new(credentials)), error_message),
                transitive_groups: self.transitive_groups,
            })),
            ..CapabilitySet::default()
        })
    }
}

/// Graph's error body: `{"error":{"code":"Request_ResourceNotFound","message":"..."}}`.
pub(crate) fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Envelope {
        error: GraphError,
    }
    #[derive(Deserialize)]
    struct GraphError {
        code: Option<String>,
        message: Option<String>,
    }
    let error = serde_json::from_slice::<Envelope>(body).ok()?.error;
    match (error.message.filter(|m| !m.is_empty()), error.code) {
        (Some(message), Some(code)) => Some(format!("{message} ({code})")),
        (message, code) => message.or(code),
    }
}

/// The `$skiptoken` of an OData `@odata.nextLink`. Only the cursor is taken: the next page is
/// asked of the configured base URL, never of the host the link names.
pub(crate) fn skiptoken(next_link: &str) -> Option<String> {
    reqwest::Url::parse(next_link)
        .ok()?
        .query_pairs()
        .find(|(name, _)| name == "$skiptoken")
        .map(|(_, value)| value.into_owned())
}

struct EntraIdentity {
    client: Arc<VendorClient>,
    transitive_groups: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct User {
    id: String,
    user_principal_name: String,
    display_name: Option<String>,
    mail: Option<String>,
    account_enabled: Option<bool>,
}

#[derive(Deserialize)]
struct Page {
    value: Vec<DirectoryObject>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// A group, directory role or administrative unit the user belongs to.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryObject {
    display_name: Option<String>,
}

/// Graph pages `memberOf` by 100: enough pages for any real user; a reply that keeps paging
/// past this is cut.
const MAX_GROUP_PAGES: usize = 20;

const USER_FIELDS: &str = "id,userPrincipalName,displayName,mail,accountEnabled";

impl EntraIdentity {
    async fn user(&self, name: &str) -> Result<User, ConnectorError> {
        self.client
            .json(
                &Request::get("v1.0/users")
                    .segment(name)
                    .query("$select", USER_FIELDS),
                "get user",
            )
            .await
    }

    async fn groups(&self, user_id: &str) -> Result<Vec<String>, ConnectorError> {
        let relation = if self.transitive_groups {
            "transitiveMemberOf"
        } else {
            "memberOf"
        };
        let mut names = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_GROUP_PAGES {
            let mut request = Request::get("v1.0/users")
                .segment(user_id)
                .path(relation)
                .query("$select", "displayName");
            if let Some(token) = &cursor {
                request = request.query("$skiptoken", token.clone());
            }
            let page: Page = self.client.json(&request, "list groups").await?;
            names.extend(page.value.into_iter().filter_map(|object| object.display_name));
            cursor = match page.next_link {
                None => break,
                Some(link) => Some(skiptoken(&link).ok_or_else(|| {
                    ConnectorError::Failed(
                        "entra list groups: the next page link carries no $skiptoken".into(),
                    )
                })?),
            };
        }
        Ok(names)
    }
}

#[async_trait::async_trait]
impl IdentityProvider for EntraIdentity {
    async fn lookup_user(&self, _cx: &CallContext, name: &str) -> Result<UserProfile, ConnectorError> {
        let user = self.user(name).await?;
        let groups = self.groups(&user.id).await?;
        Ok(UserProfile {
            id: user.id,
            name: user.user_principal_name,
            email: user.mail,
            display_name: user.display_name,
            groups,
            // Graph leaves the property out when the app may not read it: unknown is not
            // disabled.
            enabled: user.account_enabled.unwrap_or(true),
        })
    }

    async fn act(
        &self,
        _cx: &CallContext,
        action: IdentityAction,
        request: &AccountRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        // `Some(enabled)`: the account's new state; `None`: revoke its sessions.
        let (what, enabled) = match action {
            IdentityAction::ResetPassword => {
                return Err(ConnectorError::Unsupported(RESET_UNSUPPORTED.into()));
            }
            IdentityAction::DisableUser => ("disable user", Some(false)),
            IdentityAction::EnableUser => ("enable user", Some(true)),
            IdentityAction::RevokeSessions => ("revoke sessions", None),
        };
        let user = self.user(request.user).await?;
        match enabled {
            // Setting a property to the value it has changes nothing: safe to repeat.
            Some(enabled) => {
                let call = Request::new(Method::PATCH, "v1.0/users")
                    .segment(user.id.clone())
                    .json(&serde_json::json!({ "accountEnabled": enabled }))
                    .idempotent();
                self.client.send(&call, what).await?;
            }
            // Invalidating every refresh token twice leaves the state once does.
            None => {
                let call = Request::post("v1.0/users")
                    .segment(user.id.clone())
                    .path("revokeSignInSessions")
                    .idempotent();
                // The documented reply is `{"value": true}`.
                #[derive(Deserialize)]
                struct Revoked {
                    value: bool,
                }
                let revoked: Revoked = self.client.json(&call, what).await?;
                if !revoked.value {
                    return Err(ConnectorError::Failed(
                        "entra revoke sessions: Graph answered that nothing was revoked".into(),
                    ));
                }
            }
        }
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

    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.graph-token";
    const SECRET: &str = "Zx8Q~client-secret-value";
    const ALICE_ID: &str = "6e7b768e-07e2-4810-8459-485f84f8f204";

    fn entra(stub: &Stub, transitive_groups: bool) -> EntraIdentity {
        EntraIdentity {
            client: stub.client(
                "/",
                stub.microsoft_auth(SECRET, DEFAULT_SCOPE),
                "entra",
                error_message,
            ),
            transitive_groups,
        }
    }

    fn cx() -> CallContext {
        CallContext::new("password-spray", "alert-1")
    }

    fn token() -> Exchange {
        Exchange::microsoft_token(SECRET, "https://graph.microsoft.com/.default", TOKEN)
    }

    /// `$select=id,userPrincipalName,...` as the URL's form encoding sends it (`%24`, `%2C`);
    /// Graph decodes the query before reading the `$select` option.
    const SELECT_USER: &str = "%24select=id%2CuserPrincipalName%2CdisplayName%2Cmail%2CaccountEnabled";

    fn get_user(name: &str) -> Exchange {
        Exchange::expect("GET", &format!("/v1.0/users/{name}?{SELECT_USER}"))
            .header("authorization", &format!("Bearer {TOKEN}"))
            .header("accept", "application/json")
    }

    fn alice() -> String {
        format!(
            r#"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,displayName,mail,accountEnabled)/$entity",
            "id":"{ALICE_ID}","userPrincipalName":"alice@contoso.com","displayName":"Alice Ng",
            "mail":"alice@contoso.com","accountEnabled":true}}"#
        )
    }

    #[tokio::test]
    async fn a_lookup_reads_the_user_and_pages_groups_by_skiptoken_only() {
        let stub = Stub::start(vec![
            token(),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect(
                "GET",
                &format!("/v1.0/users/{ALICE_ID}/memberOf?%24select=displayName"),
            )
            .header("authorization", &format!("Bearer {TOKEN}"))
            .reply(
                200,
                // The link names another host: only its `$skiptoken` is taken.
                &format!(r##"{{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#directoryObjects(displayName)",
                "@odata.nextLink":"https://elsewhere.example/v1.0/users/{ALICE_ID}/memberOf?$select=displayName&$skiptoken=RFNwdAIAAQAAAD8",
                "value":[{{"@odata.type":"#microsoft.graph.group","id":"g1","displayName":"Finance"}},
                         {{"@odata.type":"#microsoft.graph.directoryRole","id":"r1","displayName":"Global Administrator"}}]}}"##),
            ),
            Exchange::expect(
                "GET",
                &format!("/v1.0/users/{ALICE_ID}/memberOf?%24select=displayName&%24skiptoken=RFNwdAIAAQAAAD8"),
            )
            .reply(
                200,
                r##"{"value":[{"@odata.type":"#microsoft.graph.group","id":"g2","displayName":"Executives"},
                             {"@odata.type":"#microsoft.graph.administrativeUnit","id":"a1","displayName":null}]}"##,
            ),
        ]);
        let profile = entra(&stub, false)
            .lookup_user(&cx(), "alice@contoso.com")
            .await
            .unwrap();
        assert_eq!(
            profile,
            UserProfile {
                id: ALICE_ID.into(),
                name: "alice@contoso.com".into(),
                email: Some("alice@contoso.com".into()),
                display_name: Some("Alice Ng".into()),
                groups: vec![
                    "Finance".into(),
                    "Global Administrator".into(),
                    "Executives".into()
                ],
                enabled: true,
            }
        );
        stub.finish();
    }

    #[tokio::test]
    async fn nested_groups_come_from_transitive_member_of_when_asked() {
        let stub = Stub::start(vec![
            token(),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect(
                "GET",
                &format!("/v1.0/users/{ALICE_ID}/transitiveMemberOf?%24select=displayName"),
            )
            .reply(200, r#"{"value":[{"displayName":"Tier 0"}]}"#),
        ]);
        let profile = entra(&stub, true)
            .lookup_user(&cx(), "alice@contoso.com")
            .await
            .unwrap();
        assert_eq!(profile.groups, vec!["Tier 0".to_owned()]);
        stub.finish();
    }

    #[tokio::test]
    async fn containment_patches_account_enabled_and_revokes_sessions_by_object_id() {
        let stub = Stub::start(vec![
            token(),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(204, ""),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect(
                "POST",
                &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"),
            )
            .header("authorization", &format!("Bearer {TOKEN}"))
            .reply(
                200,
                r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}"#,
            ),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .json(serde_json::json!({"accountEnabled": true}))
                .reply(204, ""),
        ]);
        let entra = entra(&stub, false);
        let request = AccountRequest {
            user: "alice@contoso.com",
            reason: "password spray",
        };
        for action in [
            IdentityAction::DisableUser,
            IdentityAction::RevokeSessions,
            IdentityAction::EnableUser,
        ] {
            let receipt = entra.act(&cx(), action, &request).await.unwrap();
            assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn graph_errors_carry_the_message_and_code() {
        let stub = Stub::start(vec![
            token(),
            get_user("ghost@contoso.com").reply(
                404,
                r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'ghost@contoso.com' does not exist or one of its queried reference-property objects are not present.","innerError":{"date":"2024-05-01T10:00:00","request-id":"9f1c","client-request-id":"9f1c"}}}"#,
            ),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}")).reply(
                403,
                r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
            ),
        ]);
        let entra = entra(&stub, false);
        let missing = entra
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user: "ghost@contoso.com",
                    reason: "spray",
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            missing,
            ConnectorError::NotFound(
                "entra get user: Resource 'ghost@contoso.com' does not exist or one of its queried reference-property objects are not present. (Request_ResourceNotFound)".into()
            )
        );
        let denied = entra
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user: "alice@contoso.com",
                    reason: "spray",
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&denied, ConnectorError::Unauthorized(m) if m.contains("Insufficient privileges") && m.contains("Authorization_RequestDenied")),
            "{denied}"
        );
        assert!(!denied.to_string().contains(TOKEN) && !denied.to_string().contains(SECRET));
        stub.finish();
    }

    #[tokio::test]
    async fn throttling_is_waited_out_on_a_lookup() {
        let stub = Stub::start(vec![
            token(),
            get_user("alice@contoso.com")
                .reply(
                    429,
                    r#"{"error":{"code":"TooManyRequests","message":"Too many requests."}}"#,
                )
                .reply_header("retry-after", "0"),
            get_user("alice@contoso.com").reply(200, &alice()),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(
                    503,
                    r#"{"error":{"code":"serviceNotAvailable","message":"busy"}}"#,
                ),
            // Disabling is idempotent: the PATCH is sent again.
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(204, ""),
        ]);
        let receipt = entra(&stub, false)
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user: "alice@contoso.com",
                    reason: "spray",
                },
            )
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID));
        stub.finish();
    }

    #[tokio::test]
    async fn reset_password_is_refused_without_calling_graph() {
        let stub = Stub::start(vec![]);
        let error = entra(&stub, false)
            .act(
                &cx(),
                IdentityAction::ResetPassword,
                &AccountRequest {
                    user: "alice@contoso.com",
                    reason: "spray",
                },
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unsupported(m) if m.contains("delegated")),
            "{error}"
        );
        stub.finish();
    }

    #[test]
    fn a_tenant_that_could_change_the_token_url_is_refused() {
        let error = ClientCredentials::microsoft(
            "contoso/../evil",
            None,
            "app-id",
            SecretString::from(SECRET),
            DEFAULT_SCOPE,
        )
        .err()
        .unwrap();
        assert!(error.to_string().contains("tenant_id"), "{error}");
    }
}
