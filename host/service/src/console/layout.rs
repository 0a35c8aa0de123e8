//! The frame every page shares: the head (the stylesheet, htmx and its configuration, nothing
//! inline), the navigation with the sign-out button, and the small pieces pages repeat (the
//! CSRF field, messages, times, links).

use super::assets;
use super::session::Signed;
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};

/// The pages in the navigation, in its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Here {
    Overview,
    Alerts,
    Approvals,
    Audit,
    Plugins,
    Breaker,
}

const NAV: [(Here, &str, &str); 6] = [
    (Here::Overview, "/ui/", "Overview"),
    (Here::Alerts, "/ui/alerts", "Alerts"),
    (Here::Approvals, "/ui/approvals", "Approvals"),
    (Here::Audit, "/ui/audit", "Audit"),
    (Here::Plugins, "/ui/plugins", "Plugins"),
    (Here::Breaker, "/ui/breaker", "Breaker"),
];

/// htmx's settings, read from a `<meta>` so no script is inline: no `eval`, no injected style
/// (the CSP refuses both), requests only to this server, and no copy of pages kept in the
/// browser's storage for the back button (they hold what people decided on).
const HTMX_CONFIG: &str = r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"historyCacheSize":0,"refreshOnHistoryMiss":true}"#;

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=(HTMX_CONFIG);
            title { (title) " · Palisade" }
            link rel="stylesheet" href=(assets::CSS_PATH);
            link rel="icon" href=(assets::ICON_PATH) type="image/svg+xml";
            script src=(assets::HTMX_PATH) defer {}
        }
    }
}

/// A page for a signed-in person. htmx sends the session's CSRF token with every request it
/// makes (`hx-headers`); the forms carry it too, for when scripts are off.
pub(crate) fn page(signed: &Signed, here: Here, title: &str, main: Markup) -> Markup {
    let headers = serde_json::json!({ "X-CSRF-Token": signed.csrf }).to_string();
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body hx-headers=(headers) {
                a class="skip" href="#main" { "Skip to content" }
                header {
                    p class="brand" { "Palisade" }
                    nav aria-label="Console" {
                        ul {
                            @for (page, href, label) in NAV {
                                li {
                                    @if page == here {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                        form class="signout" method="post" action="/ui/logout" {
                            (csrf_field(signed))
                            span { "Signed in as " strong { (signed.user) } " (" (signed.role.as_str()) ")" }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main id="main" { (main) }
            }
        }
    }
}

/// A page without a session: the sign-in form, a refusal.
pub(crate) fn bare(title: &str, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header { p class="brand" { "Palisade" } }
                main id="main" { (main) }
            }
        }
    }
}

/// What a refused request is answered with.
pub(crate) fn refusal(status: StatusCode, reason: &str) -> Markup {
    let title = match status {
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
        _ => status.canonical_reason().unwrap_or("Refused"),
    };
    bare(
        title,
        html! {
            h1 { (title) }
            p role="alert" class="error" { (reason) }
            p { a href="/ui/" { "Back to the console" } }
        },
    )
}

pub(crate) fn csrf_field(signed: &Signed) -> Markup {
    html! { input type="hidden" name="csrf" value=(signed.csrf); }
}

/// A message that something was done, read out by screen readers when it appears.
pub(crate) fn done(text: &str) -> Markup {
    html! { p role="status" class="status" { (text) } }
}

/// A message that something went wrong, read out at once.
pub(crate) fn failed(text: &str) -> Markup {
    html! { p role="alert" class="error" { (text) } }
}

/// Unix seconds as people read them, in UTC (the audit's zone).
pub(crate) fn when(unix: i64) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|at| at.format(FORMAT).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// `text` as one path segment of a link: an id may hold `/`, `?` or `#`.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The link to an alert's page.
pub(crate) fn alert_href(id: &str) -> String {
    format!("/ui/alerts/{}", segment(id))
}

/// A link to `url` only when it is a web address; anything else (`javascript:`, `data:`) is
/// shown as text.
pub(crate) fn external(text: &str) -> Markup {
    let web = text.starts_with("https://") || text.starts_with("http://");
    html! {
        @if web { a href=(text) rel="noreferrer noopener" { (text) } } @else { (text) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_leave_their_path_segment() {
        assert_eq!(segment("okta-7741"), "okta-7741");
        assert_eq!(segment("../a?b#c d"), "..%2Fa%3Fb%23c%20d");
        assert_eq!(alert_href("é"), "/ui/alerts/%C3%A9");
    }

    #[test]
    fn only_web_addresses_become_links() {
        assert!(
            external("https://tickets.example/PAL-1")
                .0
                .contains("href=\"https://tickets.example/PAL-1\"")
        );
        assert!(!external("javascript:alert(1)").0.contains("href"));
        assert!(!external("PAL-1").0.contains("href"));
    }

    #[test]
    fn times_read_in_utc() {
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(when(i64::MAX), i64::MAX.to_string());
    }
}
