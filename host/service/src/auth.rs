//! How a source proves a request is its own: an HMAC-SHA256 signature over a timestamp and the
//! raw body (header names, prefix, encoding and the signed message configurable, so scripts,
//! EDRs and Slack-style senders can sign), or a bearer token. Comparisons take constant time,
//! and a timestamp more than five minutes off is a replay.

use axum::http::HeaderMap;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// How far a signed timestamp may be from the clock, either way.
pub const REPLAY_WINDOW_SECONDS: i64 = 300;

#[derive(Clone)]
pub enum Auth {
    Hmac {
        secret: Vec<u8>,
        /// Lower case, as HTTP header names compare.
        signature_header: String,
        timestamp_header: String,
        /// What precedes the digest in its header: `sha256=`, Slack's `v0=`, or nothing.
        prefix: String,
        encoding: Encoding,
        /// The signed message: `{timestamp}` and `{body}` substituted, in that order.
        template: String,
    },
    /// `Authorization: Bearer <token>`; only the token's SHA-256 is kept.
    Bearer { token_sha256: [u8; 32] },
}

#[derive(Debug, Clone, Copy)]
pub enum Encoding {
    Hex,
    Base64,
}

/// Why a request was refused: for the audit, never for the sender, who gets a bare 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    Stale,
    Mismatch,
}

impl Refused {
    pub fn as_str(self) -> &'static str {
        match self {
            Refused::Missing => "no credentials",
            Refused::Malformed => "malformed credentials",
            Refused::Stale => "timestamp outside the replay window",
            Refused::Mismatch => "wrong signature or token",
        }
    }
}

impl Auth {
    pub fn bearer(token: &str) -> Auth {
        Auth::Bearer {
            token_sha256: Sha256::digest(token.as_bytes()).into(),
        }
    }

    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now_unix: i64) -> Result<(), Refused> {
        match self {
            Auth::Bearer { token_sha256 } => {
                if bool::from(bearer_digest(headers)?.ct_eq(token_sha256)) {
                    Ok(())
                } else {
                    Err(Refused::Mismatch)
                }
            }
            Auth::Hmac {
                secret,
                signature_header,
                timestamp_header,
                prefix,
                encoding,
                template,
            } => {
                let timestamp = header(headers, timestamp_header)?;
                let at: i64 = timestamp.parse().map_err(|_| Refused::Malformed)?;
                if now_unix.abs_diff(at) > REPLAY_WINDOW_SECONDS as u64 {
                    return Err(Refused::Stale);
                }
                let signature = header(headers, signature_header)?
                    .strip_prefix(prefix.as_str())
                    .ok_or(Refused::Malformed)?;
                let signature = match encoding {
                    Encoding::Hex => hex::decode(signature).map_err(|_| Refused::Malformed)?,
                    Encoding::Base64 => base64::engine::general_purpose::STANDARD
                        .decode(signature)
                        .map_err(|_| Refused::Malformed)?,
                };
                let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes a key of any length");
                // The message in pieces, as the template lays it out: the body is not copied.
                let (before, rest) = template.split_once("{timestamp}").unwrap_or(("", template));
                let (between, after) = rest.split_once("{body}").unwrap_or((rest, ""));
                mac.update(before.as_bytes());
                mac.update(timestamp.as_bytes());
                mac.update(between.as_bytes());
                mac.update(body);
                mac.update(after.as_bytes());
                // Constant time, and a digest of the wrong length is refused.
                mac.verify_slice(&signature).map_err(|_| Refused::Mismatch)
            }
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Hmac {
                signature_header,
                timestamp_header,
                ..
            } => write!(f, "Hmac({signature_header}, {timestamp_header}, secret redacted)"),
            Auth::Bearer { .. } => f.write_str("Bearer(token redacted)"),
        }
    }
}

/// The SHA-256 of the request's `Authorization: Bearer` token: tokens are compared by their
/// digests, so the time a comparison takes says nothing of a token's length either.
pub fn bearer_digest(headers: &HeaderMap) -> Result<[u8; 32], Refused> {
    let given = header(headers, "authorization")?
        .strip_prefix("Bearer ")
        .ok_or(Refused::Malformed)?;
    Ok(Sha256::digest(given.as_bytes()).into())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<&'a str, Refused> {
    headers
        .get(name)
        .ok_or(Refused::Missing)?
        .to_str()
        .map_err(|_| Refused::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn palisade() -> Auth {
        Auth::Hmac {
            secret: b"s3cret".to_vec(),
            signature_header: "x-palisade-signature".into(),
            timestamp_header: "x-palisade-timestamp".into(),
            prefix: "sha256=".into(),
            encoding: Encoding::Hex,
            template: "{timestamp}.{body}".into(),
        }
    }

    fn signed(secret: &[u8], message: &[u8]) -> String {
        let mut mac = HmacSha256::new_from_slice(secret).unwrap();
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn a_signature_over_the_timestamp_and_body_is_taken_and_any_change_refused() {
        let body = br#"{"id":"a-1"}"#;
        let now = 1_800_000_000;
        let good = headers(&[
            ("x-palisade-timestamp", now.to_string()),
            (
                "x-palisade-signature",
                format!(
                    "sha256={}",
                    signed(b"s3cret", format!("{now}.{{\"id\":\"a-1\"}}").as_bytes())
                ),
            ),
        ]);
        assert_eq!(palisade().verify(&good, body, now + 10), Ok(()));
        assert_eq!(
            palisade().verify(&good, br#"{"id":"a-2"}"#, now),
            Err(Refused::Mismatch)
        );
        assert_eq!(palisade().verify(&good, body, now + 301), Err(Refused::Stale));
        assert_eq!(palisade().verify(&good, body, now - 301), Err(Refused::Stale));
        assert_eq!(
            palisade().verify(&HeaderMap::new(), body, now),
            Err(Refused::Missing)
        );
        let unprefixed = headers(&[
            ("x-palisade-timestamp", now.to_string()),
            ("x-palisade-signature", signed(b"s3cret", b"x")),
        ]);
        assert_eq!(palisade().verify(&unprefixed, body, now), Err(Refused::Malformed));
        let other_key = headers(&[
            ("x-palisade-timestamp", now.to_string()),
            (
                "x-palisade-signature",
                format!(
                    "sha256={}",
                    signed(b"other", format!("{now}.{{\"id\":\"a-1\"}}").as_bytes())
                ),
            ),
        ]);
        assert_eq!(palisade().verify(&other_key, body, now), Err(Refused::Mismatch));
    }

    /// Slack's published example (api.slack.com/authentication/verifying-requests-from-slack).
    #[test]
    fn slacks_signing_scheme_is_a_template_away() {
        let slack = Auth::Hmac {
            secret: b"8f742231b10e8888abcd99yyyzzz85a5".to_vec(),
            signature_header: "x-slack-signature".into(),
            timestamp_header: "x-slack-request-timestamp".into(),
            prefix: "v0=".into(),
            encoding: Encoding::Hex,
            template: "v0:{timestamp}:{body}".into(),
        };
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let request = headers(&[
            ("x-slack-request-timestamp", "1531420618".into()),
            (
                "x-slack-signature",
                "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503".into(),
            ),
        ]);
        assert_eq!(slack.verify(&request, body, 1_531_420_618), Ok(()));
    }

    #[test]
    fn a_bearer_token_is_compared_by_digest() {
        let auth = Auth::bearer("t0ken");
        let bearer = |value: &str| headers(&[("authorization", value.to_owned())]);
        assert_eq!(auth.verify(&bearer("Bearer t0ken"), b"", 0), Ok(()));
        assert_eq!(
            auth.verify(&bearer("Bearer t0ke"), b"", 0),
            Err(Refused::Mismatch)
        );
        assert_eq!(
            auth.verify(&bearer("Basic t0ken"), b"", 0),
            Err(Refused::Malformed)
        );
        assert!(!format!("{auth:?}").contains("t0ken"));
    }
}
