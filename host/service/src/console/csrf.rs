//! Cross-site request forgery: every POST under `/ui` carries a token the page it came from was
//! given (the session's, in a hidden `csrf` field or htmx's `X-CSRF-Token` header; before
//! sign-in, the login form's own, matched against a cookie), and a POST from another origin
//! is refused even with a token. The session cookie is also `SameSite=Strict`: three locks.

use axum::http::HeaderMap;
use subtle::ConstantTimeEq;

/// The header htmx sends the session's token in (set by `hx-headers` on `<body>`).
pub(crate) const HEADER: &str = "x-csrf-token";
/// The cookie holding the login form's token, before there is a session.
pub(crate) const LOGIN_COOKIE: &str = "palisade_login";

/// Whether `given` is `expected`, in time that depends only on their lengths; an empty token
/// never matches.
pub(crate) fn matches(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(given) if !expected.is_empty() => bool::from(expected.as_bytes().ct_eq(given.as_bytes())),
        _ => false,
    }
}

/// The token a POST carries: htmx's header, else the form's `csrf` field.
pub(crate) fn given<'a>(headers: &'a HeaderMap, form: &'a [(String, String)]) -> Option<&'a str> {
    headers
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .or_else(|| {
            form.iter()
                .find(|(key, _)| key == "csrf")
                .map(|(_, value)| value.as_str())
        })
}

/// Whether a POST may come from where it says it does: no `Origin` (older browsers, curl with
/// a token), or this very server's (`scheme://Host`). `Origin: null` (a sandboxed frame, a
/// redirect across origins) and a browser's own word that it is cross-site are refused.
pub(crate) fn same_origin(headers: &HeaderMap, tls: bool) -> bool {
    let text = |name: &str| headers.get(name).map(|value| value.to_str().unwrap_or("\u{0}"));
    if text("sec-fetch-site") == Some("cross-site") {
        return false;
    }
    let Some(origin) = text("origin") else {
        return true;
    };
    let Some(host) = text("host") else {
        return false;
    };
    let scheme = if tls { "https" } else { "http" };
    origin
        .strip_prefix(scheme)
        .and_then(|rest| rest.strip_prefix("://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_the_exact_token_matches() {
        assert!(matches("abc", Some("abc")));
        assert!(!matches("abc", Some("abd")));
        assert!(!matches("abc", Some("ab")));
        assert!(!matches("abc", None));
        assert!(!matches("", Some("")));
    }

    #[test]
    fn the_header_wins_over_the_form_field() {
        let form = vec![("csrf".to_owned(), "from-form".to_owned())];
        assert_eq!(given(&HeaderMap::new(), &form), Some("from-form"));
        assert_eq!(
            given(&headers(&[(HEADER, "from-header")]), &form),
            Some("from-header")
        );
        assert_eq!(given(&HeaderMap::new(), &[]), None);
    }

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let host = ("host", "console.example:8440");
        assert!(same_origin(&headers(&[host]), false));
        assert!(same_origin(
            &headers(&[host, ("origin", "http://console.example:8440")]),
            false
        ));
        assert!(same_origin(
            &headers(&[host, ("origin", "https://console.example:8440")]),
            true
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "http://console.example:8440")]),
            true
        ));
        assert!(!same_origin(
            &headers(&[host, ("origin", "https://evil.example")]),
            true
        ));
        assert!(!same_origin(&headers(&[host, ("origin", "null")]), false));
        assert!(!same_origin(
            &headers(&[("origin", "http://console.example:8440")]),
            false
        ));
        assert!(!same_origin(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            false
        ));
    }
}
