//! Keeping credentials out of text built from a vendor's reply.
//!
//! A vendor, or a proxy in front of it, may echo the request back in its reply: the
//! `Authorization` header, the URL, the form body. Any text taken from a reply reaches the
//! logs, the audit and the plugin, so each client holds a [`Redactor`] that knows every
//! credential it sends and replaces them in that text, whole, before it is cut to length.

use crate::http::Auth;
use crate::oauth::ClientCredentials;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;

/// What a credential becomes in an error.
pub const REDACTED: &str = "[redacted]";

/// Shorter values are not credentials worth hiding, and replacing them everywhere would
/// garble the vendor's message.
const MIN_SECRET_CHARS: usize = 4;

/// A path segment or query value of a secret URL this long is redacted on its own too: a
/// vendor may echo just the key (Slack's 24 characters, Teams' `sig`), while the fixed parts
/// (`services`, `IncomingWebhook`) are shorter and stay readable.
const MIN_URL_PART_CHARS: usize = 16;

/// Every credential one client sends, as it sends them.
#[derive(Default)]
pub(crate) struct Redactor {
    secrets: Vec<SecretString>,
    /// Its tokens change while the client runs, so they are asked for at each redaction.
    oauth: Option<Arc<ClientCredentials>>,
}

impl Redactor {
    /// The credentials `auth` sends, and the values in `base_url`'s query (a key may ride
    /// there).
    pub fn new(auth: &Auth, base_url: &Url) -> Redactor {
        let mut redactor = Redactor::default();
        match auth {
            Auth::None => {}
            Auth::Header { secret, .. } => redactor.add(secret.expose_secret()),
            Auth::Basic { user, password } => {
                use base64::Engine;
                redactor.add(password.expose_secret());
                // As the `Authorization: Basic` header carries it.
                redactor.add(
                    &base64::engine::general_purpose::STANDARD
                        .encode(format!("{user}:{}", password.expose_secret())),
                );
            }
            Auth::OAuth(credentials) => redactor.oauth = Some(credentials.clone()),
        }
        for (_, value) in base_url.query_pairs() {
            redactor.add(&value);
        }
        redactor
    }

    /// Adds a URL that is itself the credential (an incoming webhook): its path and its
    /// query, whole and by their long parts, as sent and decoded.
    pub fn add_url(&mut self, url: &Url) {
        // The client sends the path without a trailing `/` (see `VendorClient::url`).
        let path = url.path().trim_end_matches('/');
        let mut parts = vec![path.to_owned()];
        parts.extend(url.query().map(str::to_owned));
        parts.extend(
            path.split('/')
                .chain(url.query().into_iter().flat_map(|query| query.split('&')))
                .map(|part| part.split_once('=').map_or(part, |(_, value)| value))
                .filter(|part| part.chars().count() >= MIN_URL_PART_CHARS)
                .map(str::to_owned),
        );
        for part in parts {
            if let Some(decoded) = percent_decoded(&part) {
                self.add(&decoded);
            }
            self.add(&part);
        }
    }

    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() >= MIN_SECRET_CHARS {
            self.secrets.push(SecretString::from(secret.to_owned()));
        }
    }

    /// `text` with every credential of the client replaced, in each form it may be echoed.
    pub fn redact(&self, text: &str) -> String {
        let tokens = self
            .oauth
            .as_ref()
            .map(|credentials| credentials.secrets())
            .unwrap_or_default();
        redact(
            text,
            self.secrets
                .iter()
                .chain(&tokens)
                .map(|secret| secret.expose_secret()),
        )
    }
}

/// `text` with each secret replaced by [`REDACTED`], as it is and in the encodings a vendor
/// may echo it in: form or query encoded (an OAuth client secret is a form field), and
/// JSON-escaped (a reply quoting the request, PHP's `\/` included). Overlapping matches are
/// replaced as one, so no piece of either survives.
pub(crate) fn redact<'a>(text: &str, secrets: impl IntoIterator<Item = &'a str>) -> String {
    let forms: Vec<String> = secrets
        .into_iter()
        .filter(|secret| secret.chars().count() >= MIN_SECRET_CHARS)
        .flat_map(forms)
        .collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for form in &forms {
        let mut from = 0;
        while let Some(at) = text[from..].find(form.as_str()) {
            let start = from + at;
            spans.push((start, start + form.len()));
            // Past the first character only: a later match may overlap this one.
            from = start + text[start..].chars().next().map_or(1, char::len_utf8);
        }
    }
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut spans = spans.into_iter().peekable();
    while let Some((start, mut end)) = spans.next() {
        while let Some(&(next, next_end)) = spans.peek()
            && next <= end
        {
            end = end.max(next_end);
            spans.next();
        }
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The forms of one secret, each distinct.
fn forms(secret: &str) -> Vec<String> {
    let mut forms = vec![
        secret.to_owned(),
        form_encoded(secret),
        form_encoded(secret).replace('+', "%20"),
    ];
    if let Ok(quoted) = serde_json::to_string(secret) {
        let escaped = quoted[1..quoted.len() - 1].to_owned();
        forms.push(escaped.replace('/', "\\/"));
        forms.push(escaped);
    }
    forms.sort_unstable();
    forms.dedup();
    forms
}

/// As `application/x-www-form-urlencoded` writes a value (what reqwest sends a form with).
fn form_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(byte as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// A URL part with its `%XX` escapes decoded, when it has any and decodes to UTF-8.
fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = bytes
            .get(at + 1..at + 3)
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[at], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                at += 3;
            }
            (byte, _) => {
                out.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_replaced_as_it_is_and_encoded() {
        let secret = "a~b/c\"d+e f";
        for echoed in [
            secret.to_owned(),
            "a%7Eb%2Fc%22d%2Be+f".to_owned(),
            "a%7Eb%2Fc%22d%2Be%20f".to_owned(),
            r#"a~b/c\"d+e f"#.to_owned(),
            r#"a~b\/c\"d+e f"#.to_owned(),
        ] {
            let text = format!("refused: {echoed}!");
            assert_eq!(redact(&text, [secret]), "refused: [redacted]!", "{echoed}");
        }
        assert_eq!(redact("abc abc", ["abc"]), "abc abc", "too short to be a secret");
    }

    #[test]
    fn overlapping_secrets_leave_no_piece_of_either() {
        let text = "xx0123456789abcdefyy";
        assert_eq!(redact(text, ["0123456789", "6789abcdef"]), "xx[redacted]yy");
        assert_eq!(redact("aaaaa", ["aaaa"]), "[redacted]");
    }

    #[test]
    fn a_secret_url_is_redacted_by_its_path_query_and_key() {
        let url = Url::parse(
            "https://hooks.example/services/T0/B0/Xc4vB6nM8aS0dF2gH4jKqwer/?sig=p%2Fq0123456789abcdefgh&v=1.0",
        )
        .unwrap();
        let mut redactor = Redactor::new(&Auth::None, &url);
        redactor.add_url(&url);
        for echoed in [
            "POST /services/T0/B0/Xc4vB6nM8aS0dF2gH4jKqwer failed",
            "token Xc4vB6nM8aS0dF2gH4jKqwer is invalid",
            "bad signature p/q0123456789abcdefgh",
            "bad signature p%2Fq0123456789abcdefgh",
        ] {
            let redacted = redactor.redact(echoed);
            assert!(
                !redacted.contains("Xc4vB6nM") && !redacted.contains("0123456789"),
                "{redacted}"
            );
        }
        assert_eq!(redactor.redact("no services here"), "no services here");
    }

    #[test]
    fn basic_credentials_are_redacted_as_the_header_carries_them() {
        let auth = Auth::Basic {
            user: "palisade".into(),
            password: SecretString::from("hunter22"),
        };
        let redactor = Redactor::new(&auth, &Url::parse("https://acme.example/").unwrap());
        assert_eq!(
            redactor.redact("Basic cGFsaXNhZGU6aHVudGVyMjI= / hunter22"),
            "Basic [redacted] / [redacted]"
        );
    }
}
