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
//! | lookup-user | `GET /v1.0/users/{upn-or-id}?$select=...`, else `GET /v1.0/users?$filter=...` (below); then `GET /v1.0/users/{id}/transitiveMemberOf?$select=displayName` ([List transitiveMemberOf]; `memberOf` with `transitive_groups = false`, [List memberOf]), paged by the `$skiptoken` of `@odata.nextLink` ([Paging]) |
//! | disable-user | `PATCH /v1.0/users/{id}` `{"accountEnabled": false}` ([Update user]) |
//! | enable-user | `PATCH /v1.0/users/{id}` `{"accountEnabled": true}` ([Update user]) |
//! | revoke-sessions | `POST /v1.0/users/{id}/revokeSignInSessions`, answered `{"value": true}` ([revokeSignInSessions]) |
//! | reset-password | unsupported (see [`RESET_UNSUPPORTED`]) |
//!
//! The token comes from the Microsoft identity platform's client credentials grant
//! ([Client credentials]) and is sent as `Authorization: Bearer`; a 401 from Graph (a token
//! revoked or expired early) makes the token be fetched again and the call sent once more.
//! Throttled calls are answered 429 with `Retry-After` ([Throttling]), waited out up to a
//! minute; past it the call fails as rate limited.
//!
//! A lookup resolves a name the way Entra does. An object id or user principal name is read
//! directly ([Get user]). A name Graph cannot read directly is searched for with an advanced
//! query ([List users], [advanced queries]: `ConsistencyLevel: eventual`, `$count=true`): an
//! address among `mail` and the SMTP `proxyAddresses`, a bare name among
//! `onPremisesSamAccountName` and `mailNickname`, and `DOMAIN\\name` by its name, kept only when
//! `DOMAIN` is the account's on-premises DNS domain or that domain's first label (its usual
//! NetBIOS name; any other NetBIOS name is not found, and the gate holds it). Several matches
//! are ambiguous. Actions then act on the object id the lookup resolved, and the receipt
//! carries it.
//!
//! [Get user]: https://learn.microsoft.com/en-us/graph/api/user-get?view=graph-rest-1.0
//! [List users]: https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0
//! [advanced queries]: https://learn.microsoft.com/en-us/graph/aad-advanced-queries
//! [List memberOf]: https://learn.microsoft.com/en-us/graph/api/user-list-memberof?view=graph-rest-1.0
//! [List transitiveMemberOf]: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof?view=graph-rest-1.0
//! [Paging]: https://learn.microsoft.com/en-us/graph/paging
//! [Update user]: https://learn.microsoft.com/en-us/graph/api/user-update?view=graph-rest-1.0
//! [revokeSignInSessions]: https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions?view=graph-rest-1.0
//! [Client credentials]: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! [Throttling]: https://learn.microsoft.com/en-us/graph/throttling

use super::{AccountRequest, IdentityAction, IdentityProvider, UserProfile};
use crate::http::{Auth, Request, VendorClient};
use crate::oauth::ClientCredentials;
use crate::resolve;
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Capability;
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
    on_premises_sam_account_name: Option<String>,
    on_premises_domain_name: Option<String>,
    mail_nickname: Option<String>,
    #[serde(default)]
    proxy_addresses: Vec<String>,
}

impl User {
    /// The names, beyond id, principal name and mail, that Entra resolves to this user: the
    /// on-premises account name (alone and as `NETBIOS\\name`), the mail nickname and every
    /// SMTP proxy address.
    fn aliases(&self) -> Vec<String> {
        let mut aliases = Vec::new();
        if let Some(sam) = &self.on_premises_sam_account_name {
            aliases.push(sam.clone());
            if let Some(netbios) = self.netbios_domain() {
                aliases.push(format!("{netbios}\\{sam}"));
            }
            if let Some(domain) = &self.on_premises_domain_name {
                aliases.push(format!("{domain}\\{sam}"));
            }
        }
        aliases.extend(self.mail_nickname.clone());
        aliases.extend(self.proxy_addresses.iter().filter_map(|address| {
            let (kind, address) = address.split_once(':')?;
            kind.eq_ignore_ascii_case("smtp").then(|| address.to_owned())
        }));
        aliases
    }

    /// The first label of the on-premises DNS domain, the NetBIOS name domains usually have.
    fn netbios_domain(&self) -> Option<&str> {
        let domain = self.on_premises_domain_name.as_deref()?;
        Some(domain.split('.').next().unwrap_or(domain))
    }

    fn known_as(&self, name: &str) -> bool {
        [&self.id, &self.user_principal_name]
            .into_iter()
            .chain(&self.mail)
            .chain(&self.aliases())
            .any(|known| resolve::same_name(known, name))
    }
}

/// A string literal in an OData filter: quoted, with `'` doubled, so a name cannot end the
/// string and add a clause.
pub(crate) fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// An object id: read directly, never searched.
fn is_object_id(name: &str) -> bool {
    name.len() == 36
        && name.char_indices().all(|(at, c)| match at {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[derive(Deserialize)]
struct UserPage {
    value: Vec<User>,
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

const USER_FIELDS: &str = "id,userPrincipalName,displayName,mail,accountEnabled,\
    onPremisesSamAccountName,onPremisesDomainName,mailNickname,proxyAddresses";

/// Enough candidates to tell one from several.
const SEARCH_LIMIT: &str = "10";

impl EntraIdentity {
    /// The one user Entra knows by `name`: read by id or principal name, else searched.
    async fn resolve(&self, name: &str) -> Result<User, ConnectorError> {
        let (domain, short) = match name.rsplit_once('\\') {
            Some((domain, short)) => (Some(domain), short),
            None => (None, name),
        };
        if domain.is_none() && (is_object_id(name) || name.contains('@')) {
            let direct = Request::get("v1.0/users")
                .segment(name)
                .query("$select", USER_FIELDS);
            match self.client.json::<User>(&direct, "get user").await {
                Err(ConnectorError::NotFound(_)) if !is_object_id(name) => {}
                other => return other,
            }
        }
        let wanted = odata_string(short);
        let filter = if short.contains('@') {
            let smtp = odata_string(&format!("smtp:{short}"));
            format!("mail eq {wanted} or proxyAddresses/any(p:p eq {smtp})")
        } else {
            format!("onPremisesSamAccountName eq {wanted} or mailNickname eq {wanted}")
        };
        let search = Request::get("v1.0/users")
            .query("$filter", filter)
            .query("$select", USER_FIELDS)
            .query("$count", "true")
            .query("$top", SEARCH_LIMIT)
            .header("consistencylevel", "eventual");
        let found: UserPage = self.client.json(&search, "search users").await?;
        let matching = found
            .value
            .into_iter()
            .filter(|user| user.known_as(name))
            .collect();
        self.client.exactly_one("user", name, matching, |user: &User| {
            format!("{} ({})", user.user_principal_name, user.id)
        })
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
        resolve::checked("user", name)?;
        let user = self.resolve(name).await?;
        if !user.known_as(name) {
            let record = format!("{} ({})", user.user_principal_name, user.id);
            return Err(ConnectorError::NotFound(format!(
                "entra answered {name:?} with user {}, which is not known by that name",
                self.client.redact(&record)
            )));
        }
        let groups = self.groups(&user.id).await?;
        let aliases = user.aliases();
        Ok(UserProfile {
            id: user.id,
            name: user.user_principal_name,
            email: user.mail,
            display_name: user.display_name,
            groups,
            // Graph leaves the property out when the app may not read it: unknown is not
            // disabled.
            enabled: user.account_enabled.unwrap_or(true),
            domain: user.on_premises_domain_name,
            aliases,
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
        let user_id = request.user_id.to_owned();
        match enabled {
            // Setting a property to the value it has changes nothing: safe to repeat.
            Some(enabled) => {
                let call = Request::new(Method::PATCH, "v1.0/users")
                    .segment(user_id.clone())
                    .json(&serde_json::json!({ "accountEnabled": enabled }))
                    .idempotent();
                self.client.send(&call, what).await?;
            }
            // Invalidating every refresh token twice leaves the state once does.
            None => {
                let call = Request::post("v1.0/users")
                    .segment(user_id.clone())
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
            reference: Some(user_id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stub::{Exchange, Stub};
    use secrecy::SecretString;

    const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.graph-token";
    const SECRET: &str = "Zx8Q~client-secret-value";
    const ALICE_ID: &str = "6e7b768e-07e2-4810-8459-485f84f8f204";
    const GHOST_ID: &str = "0f0e0d0c-0000-4000-8000-00000000dead";

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
    const SELECT_USER: &str = "%24select=id%2CuserPrincipalName%2CdisplayName%2Cmail%2CaccountEnabled%2ConPremisesSamAccountName%2ConPremisesDomainName%2CmailNickname%2CproxyAddresses";

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
                domain: None,
                aliases: Vec::new(),
            }
        );
        stub.finish();
    }

    /// An advanced query for users, as Graph requires it for on-premises names and proxy
    /// addresses.
    fn search(encoded_filter: &str) -> Exchange {
        Exchange::expect(
            "GET",
            &format!("/v1.0/users?%24filter={encoded_filter}&{SELECT_USER}&%24count=true&%24top=10"),
        )
        .header("authorization", &format!("Bearer {TOKEN}"))
        .header("consistencylevel", "eventual")
    }

    fn no_groups(id: &str) -> Exchange {
        Exchange::expect("GET", &format!("/v1.0/users/{id}/memberOf?%24select=displayName"))
            .reply(200, r#"{"value":[]}"#)
    }

    const CEO_ID: &str = "11111111-2222-4333-8444-555555555555";
    const BY_SAM: &str = "onPremisesSamAccountName+eq+%27ceo%27+or+mailNickname+eq+%27ceo%27";

    fn ceo(id: &str, domain: &str) -> String {
        format!(
            r#"{{"id":"{id}","userPrincipalName":"dortiz@{domain}","displayName":"Dana Ortiz",
            "mail":"dortiz@{domain}","accountEnabled":true,"onPremisesSamAccountName":"ceo",
            "onPremisesDomainName":"{domain}","mailNickname":"dortiz",
            "proxyAddresses":["SMTP:dortiz@{domain}","smtp:ceo@{domain}","X500:/o=ExchangeLabs/cn=Recipients/cn=dortiz"]}}"#
        )
    }

    #[tokio::test]
    async fn an_on_premises_name_resolves_with_an_advanced_query_and_its_domain_narrows_it() {
        let both = format!(
            r#"{{"@odata.count":2,"value":[{},{}]}}"#,
            ceo(CEO_ID, "example.com"),
            ceo(ALICE_ID, "other.example")
        );
        let stub = Stub::start(vec![
            token(),
            search(BY_SAM).reply(200, &format!(r#"{{"value":[{}]}}"#, ceo(CEO_ID, "example.com"))),
            no_groups(CEO_ID),
            search(BY_SAM).reply(200, &both),
            no_groups(CEO_ID),
            search(BY_SAM).reply(200, &both),
            search(BY_SAM).reply(200, &both),
        ]);
        let entra = entra(&stub, false);
        let profile = entra.lookup_user(&cx(), "ceo").await.unwrap();
        assert_eq!(profile.id, CEO_ID);
        assert_eq!(profile.domain.as_deref(), Some("example.com"));
        for name in [
            "ceo",
            "example\\ceo",
            "ceo@example.com",
            "dortiz@example.com",
            "dortiz",
        ] {
            assert!(
                profile
                    .names()
                    .iter()
                    .any(|known| resolve::same_name(known, name)),
                "{name} in {:?}",
                profile.names()
            );
        }
        // The NetBIOS domain picks the one account of that name in its domain.
        let narrowed = entra.lookup_user(&cx(), "EXAMPLE\\ceo").await.unwrap();
        assert_eq!(narrowed.id, CEO_ID);
        let ambiguous = entra.lookup_user(&cx(), "ceo").await.unwrap_err();
        assert!(
            matches!(&ambiguous, ConnectorError::Ambiguous(m) if m.contains(CEO_ID) && m.contains(ALICE_ID)),
            "{ambiguous}"
        );
        // A NetBIOS name that is no account's domain: not found, never guessed.
        let elsewhere = entra.lookup_user(&cx(), "CORP\\ceo").await.unwrap_err();
        assert!(matches!(elsewhere, ConnectorError::NotFound(_)), "{elsewhere}");
        stub.finish();
    }

    /// The gate with Entra as the provider: every name Entra resolves to the protected CEO is
    /// held, bound to the CEO's object id, and Graph receives no destructive call.
    #[tokio::test]
    async fn every_name_entra_resolves_to_a_protected_account_is_held_before_any_action() {
        let one = format!(r#"{{"value":[{}]}}"#, ceo(CEO_ID, "example.com"));
        let stub = Stub::start(vec![
            token(),
            get_user("dortiz@example.com").reply(200, &ceo(CEO_ID, "example.com")),
            no_groups(CEO_ID),
            get_user(CEO_ID).reply(200, &ceo(CEO_ID, "example.com")),
            no_groups(CEO_ID),
            search(BY_SAM).reply(200, &one),
            no_groups(CEO_ID),
            search(BY_SAM).reply(200, &one),
            no_groups(CEO_ID),
            search("onPremisesSamAccountName+eq+%27dortiz%27+or+mailNickname+eq+%27dortiz%27")
                .reply(200, &one),
            no_groups(CEO_ID),
        ]);
        let connectors = CapabilitySet {
            identity: Some(Arc::new(entra(&stub, false))),
            ..CapabilitySet::default()
        };
        for name in ["dortiz@example.com", CEO_ID, "ceo", "EXAMPLE\\ceo", "dortiz"] {
            let mut request = crate::ActionRequest::Identity {
                action: IdentityAction::RevokeSessions,
                user: name.into(),
                reason: "spray".into(),
                resolved: None,
            };
            let decision = crate::stub::gate_decision(connectors.clone(), &mut request).await;
            assert!(
                matches!(&decision, palisade_policy::Decision::Hold(reason) if reason.contains(CEO_ID)),
                "{name}: {decision:?}"
            );
            assert_eq!(request.resolved().map(|r| r.id.as_str()), Some(CEO_ID));
        }
        stub.finish();
    }

    #[tokio::test]
    async fn an_address_that_is_no_principal_name_is_found_among_proxy_addresses() {
        let stub = Stub::start(vec![
            token(),
            get_user("ceo@example.com").reply(
                404,
                r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource 'ceo@example.com' does not exist."}}"#,
            ),
            search("mail+eq+%27ceo%40example.com%27+or+proxyAddresses%2Fany%28p%3Ap+eq+%27smtp%3Aceo%40example.com%27%29")
                .reply(200, &format!(r#"{{"value":[{}]}}"#, ceo(CEO_ID, "example.com"))),
            no_groups(CEO_ID),
        ]);
        let profile = entra(&stub, false)
            .lookup_user(&cx(), "ceo@example.com")
            .await
            .unwrap();
        assert_eq!(profile.id, CEO_ID);
        assert_eq!(profile.name, "dortiz@example.com");
        stub.finish();
    }

    #[tokio::test]
    async fn hidden_characters_are_refused_and_a_quote_stays_inside_the_filter() {
        let stub = Stub::start(vec![
            token(),
            search("onPremisesSamAccountName+eq+%27o%27%27brien%27+or+mailNickname+eq+%27o%27%27brien%27")
                .reply(200, r#"{"value":[]}"#),
        ]);
        let entra = entra(&stub, false);
        for hidden in ["ce\to", "ceo\n", "c\u{200d}eo", " "] {
            let refused = entra.lookup_user(&cx(), hidden).await.unwrap_err();
            assert!(
                matches!(refused, ConnectorError::InvalidInput(_)),
                "{hidden:?}: {refused}"
            );
        }
        let missing = entra.lookup_user(&cx(), "o'brien").await.unwrap_err();
        assert_eq!(
            missing,
            ConnectorError::NotFound("entra: no user \"o'brien\"".into())
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
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(204, ""),
            Exchange::expect(
                "POST",
                &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"),
            )
            .header("authorization", &format!("Bearer {TOKEN}"))
            .reply(
                200,
                r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":true}"#,
            ),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .json(serde_json::json!({"accountEnabled": true}))
                .reply(204, ""),
        ]);
        let entra = entra(&stub, false);
        let request = AccountRequest {
            user_id: ALICE_ID,
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
            get_user(GHOST_ID).reply(
                404,
                r#"{"error":{"code":"Request_ResourceNotFound","message":"Resource '0f0e0d0c-0000-4000-8000-00000000dead' does not exist or one of its queried reference-property objects are not present.","innerError":{"date":"2024-05-01T10:00:00","request-id":"9f1c","client-request-id":"9f1c"}}}"#,
            ),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}")).reply(
                403,
                r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#,
            ),
        ]);
        let entra = entra(&stub, false);
        // An object id is read directly and never searched: Graph's answer stands.
        let missing = entra.lookup_user(&cx(), GHOST_ID).await.unwrap_err();
        assert_eq!(
            missing,
            ConnectorError::NotFound(
                "entra get user: Resource '0f0e0d0c-0000-4000-8000-00000000dead' does not exist or one of its queried reference-property objects are not present. (Request_ResourceNotFound)".into()
            )
        );
        let denied = entra
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user_id: ALICE_ID,
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
    async fn throttling_is_waited_out_and_an_idempotent_change_is_sent_again() {
        let stub = Stub::start(vec![
            token(),
            get_user("alice@contoso.com")
                .reply(
                    429,
                    r#"{"error":{"code":"TooManyRequests","message":"Too many requests."}}"#,
                )
                .reply_header("retry-after", "0"),
            get_user("alice@contoso.com").reply(200, &alice()),
            no_groups(ALICE_ID),
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
        let entra = entra(&stub, false);
        let alice = entra.lookup_user(&cx(), "alice@contoso.com").await.unwrap();
        let receipt = entra
            .act(
                &cx(),
                IdentityAction::DisableUser,
                &AccountRequest {
                    user_id: &alice.id,
                    user: "alice@contoso.com",
                    reason: "spray",
                },
            )
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID));
        stub.finish();
    }

    fn alice_request() -> AccountRequest<'static> {
        AccountRequest {
            user_id: ALICE_ID,
            user: "alice@contoso.com",
            reason: "spray",
        }
    }

    const EXPIRED: &str = r#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired or is not yet valid.","innerError":{"date":"2024-05-01T10:00:00","request-id":"9f1c","client-request-id":"9f1c"}}}"#;

    #[tokio::test]
    async fn a_token_graph_refuses_is_fetched_again_once_and_the_call_resent() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("POST", &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"))
                .header("authorization", &format!("Bearer {TOKEN}"))
                .reply(401, EXPIRED),
            Exchange::microsoft_token(SECRET, DEFAULT_SCOPE, "renewed-token"),
            Exchange::expect("POST", &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"))
                .header("authorization", "Bearer renewed-token")
                .reply(200, r#"{"value":true}"#),
            // Refused again with the fresh token: an error, not a loop.
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .header("authorization", "Bearer renewed-token")
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(401, EXPIRED),
            Exchange::microsoft_token(SECRET, DEFAULT_SCOPE, "third-token"),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .header("authorization", "Bearer third-token")
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(401, EXPIRED),
        ]);
        let entra = entra(&stub, false);
        let receipt = entra
            .act(&cx(), IdentityAction::RevokeSessions, &alice_request())
            .await
            .unwrap();
        assert_eq!(receipt.reference.as_deref(), Some(ALICE_ID));
        let refused = entra
            .act(&cx(), IdentityAction::DisableUser, &alice_request())
            .await
            .unwrap_err();
        assert_eq!(
            refused,
            ConnectorError::Unauthorized(
                "entra disable user: HTTP 401: Access token has expired or is not yet valid. (InvalidAuthenticationToken) (check the connector's credentials and their permissions)".into()
            )
        );
        assert!(!refused.to_string().contains("third-token"));
        stub.finish();
    }

    #[tokio::test]
    async fn revocation_graph_answers_false_is_a_failure() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("POST", &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"))
                .reply(200, r#"{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean","value":false}"#),
        ]);
        assert_eq!(
            entra(&stub, false)
                .act(&cx(), IdentityAction::RevokeSessions, &alice_request())
                .await
                .unwrap_err(),
            ConnectorError::Failed("entra revoke sessions: Graph answered that nothing was revoked".into())
        );
        stub.finish();
    }

    #[tokio::test]
    async fn a_user_deleted_since_the_lookup_is_not_found() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("PATCH", &format!("/v1.0/users/{ALICE_ID}"))
                .json(serde_json::json!({"accountEnabled": false}))
                .reply(
                    404,
                    &format!(r#"{{"error":{{"code":"Request_ResourceNotFound","message":"Resource '{ALICE_ID}' does not exist or one of its queried reference-property objects are not present."}}}}"#),
                ),
        ]);
        let missing = entra(&stub, false)
            .act(&cx(), IdentityAction::DisableUser, &alice_request())
            .await
            .unwrap_err();
        assert!(
            matches!(&missing, ConnectorError::NotFound(m)
                if m.starts_with("entra disable user: Resource '") && m.ends_with("(Request_ResourceNotFound)")),
            "{missing}"
        );
        stub.finish();
    }

    #[tokio::test]
    async fn throttling_that_asks_for_minutes_fails_at_once_as_rate_limited() {
        let stub = Stub::start(vec![
            token(),
            Exchange::expect("POST", &format!("/v1.0/users/{ALICE_ID}/revokeSignInSessions"))
                .reply(
                    429,
                    r#"{"error":{"code":"TooManyRequests","message":"Too many requests.","innerError":{"code":"ApplicationThrottled"}}}"#,
                )
                .reply_header("retry-after", "150"),
        ]);
        let started = std::time::Instant::now();
        assert_eq!(
            entra(&stub, false)
                .act(&cx(), IdentityAction::RevokeSessions, &alice_request())
                .await
                .unwrap_err(),
            ConnectorError::RateLimited(
                "entra revoke sessions: HTTP 429: Too many requests. (TooManyRequests)".into()
            )
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
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
                    user_id: ALICE_ID,
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
