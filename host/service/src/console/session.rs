//! Who is signed in: a random 32-byte token in an `HttpOnly; Secure; SameSite=Strict` cookie,
//! and in the store only its SHA-256, so a copy of the database signs nobody in. A session
//! lasts twelve hours at most, and takes its role from the config in force: a user removed or
//! demoted by a reload loses what they had at their next request.

use crate::App;
use crate::config::Role;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use palisade_store::Session;
use sha2::{Digest, Sha256};
use std::sync::Arc;

pub(crate) const COOKIE: &str = "palisade_session";
/// Seconds a session lasts from sign-in, active or not.
pub(crate) const LIFETIME: i64 = 12 * 3600;

/// A signed-in person, as the config in force sees them.
#[derive(Debug, Clone)]
pub(crate) struct Signed {
    pub user: String,
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
    digest: [u8; 32],
}

impl Signed {
    /// How approvals and the audit name what this person decided.
    pub fn by(&self) -> String {
        format!("console:{}", self.user)
    }

    pub fn may(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// 32 bytes from the system's generator, as URL-safe base64.
pub(crate) fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A cookie scoped to the console, out of scripts' reach, sent only over HTTPS (browsers make
/// an exception for localhost) and never with a request another site starts.
pub(crate) fn cookie(name: &str, value: &str, max_age: i64) -> String {
    format!("{name}={value}; Path=/ui; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}")
}

/// The value of cookie `name`. Should a request carry two (one set for a parent domain), the
/// first is taken: it can only be a valid token or nothing.
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Starts a session for `user`; the `Set-Cookie` value that carries it.
pub(crate) fn sign_in(app: &App, user: &str, role: Role) -> Result<String, String> {
    let token = random_token().map_err(|error| format!("no random token: {error}"))?;
    let csrf = random_token().map_err(|error| format!("no random token: {error}"))?;
    let session = Session {
        user: user.to_owned(),
        role: role.as_str().to_owned(),
        csrf,
        expires_at: palisade_core::clock::now() + LIFETIME,
    };
    app.store
        .sessions()
        .create(&digest(&token), &session)
        .map_err(|error| error.to_string())?;
    Ok(cookie(COOKIE, &token, LIFETIME))
}

/// Ends the session, wherever its cookie is.
pub(crate) fn sign_out(app: &App, signed: &Signed) {
    if let Err(error) = app.store.sessions().delete(&signed.digest) {
        tracing::error!(%error, "cannot end a console session");
    }
}

/// The person whose session cookie `headers` carry, if any; the store failing counts as
/// nobody (refusing is the safe side).
pub(crate) fn signed_in(app: &App, headers: &HeaderMap) -> Option<Signed> {
    let token = cookie_value(headers, COOKIE)?;
    let digest = digest(token);
    let session = match app.store.sessions().get(&digest) {
        Ok(session) => session?,
        Err(error) => {
            tracing::error!(%error, "cannot read console sessions");
            return None;
        }
    };
    let settings = app.settings();
    let Some(user) = settings.serve.users.get(&session.user) else {
        // Removed from the config since: the session goes with them.
        let _ = app.store.sessions().delete(&digest);
        return None;
    };
    Some(Signed {
        user: session.user,
        role: user.role,
        csrf: session.csrf,
        digest,
    })
}

/// Pages need a session: a reader without one is sent to sign in, and anything else refused.
impl FromRequestParts<Arc<App>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Signed, Response> {
        match signed_in(app, &parts.headers) {
            Some(signed) => Ok(signed),
            None if parts.method == Method::GET || parts.method == Method::HEAD => {
                Err(Redirect::to("/ui/login").into_response())
            }
            None => Err(super::refuse(
                app,
                parts,
                None,
                StatusCode::FORBIDDEN,
                "not signed in",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_and_unguessable() {
        let (one, two) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(one, two);
        assert_eq!(URL_SAFE_NO_PAD.decode(&one).unwrap().len(), 32);
    }

    #[test]
    fn the_cookie_is_out_of_scripts_and_other_sites_reach() {
        let set = cookie(COOKIE, "t", LIFETIME);
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/ui",
            "Max-Age=43200",
        ] {
            assert!(set.contains(attribute), "{set}");
        }
    }

    #[test]
    fn the_named_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; palisade_session=tok; b=2".parse().unwrap());
        headers.append("cookie", "palisade_session=second".parse().unwrap());
        assert_eq!(cookie_value(&headers, COOKIE), Some("tok"));
        assert_eq!(cookie_value(&headers, "b"), Some("2"));
        assert_eq!(cookie_value(&headers, "palisade"), None);
    }
}
