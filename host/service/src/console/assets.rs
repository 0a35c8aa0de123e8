//! The console's static files, built into the binary: htmx, pinned (its version is in the
//! name, so it may be cached for a year), the stylesheet and the icon. See `assets/README.md`.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) const HTMX_PATH: &str = "/ui/assets/htmx-2.0.11.min.js";
pub(crate) const CSS_PATH: &str = "/ui/assets/console.css";
pub(crate) const ICON_PATH: &str = "/ui/assets/favicon.svg";

const HTMX: &str = include_str!("../../assets/htmx-2.0.11.min.js");
const CSS: &str = include_str!("../../assets/console.css");
const ICON: &str = include_str!("../../assets/favicon.svg");

pub(crate) async fn htmx() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        HTMX,
    )
}

/// Not versioned in its name: cached briefly, so a new build's styles show within minutes.
pub(crate) async fn css() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        CSS,
    )
}

/// The tab's icon: without one, browsers ask for `/favicon.ico` on every page.
pub(crate) async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// The vendored file is the one `assets/README.md` records.
    #[test]
    fn htmx_is_the_pinned_release() {
        let digest = hex::encode(Sha256::digest(HTMX.as_bytes()));
        let readme = include_str!("../../assets/README.md");
        assert!(
            readme.contains(&digest),
            "assets/README.md does not record {digest}"
        );
        assert!(HTMX_PATH.contains("2.0.11") && readme.contains("2.0.11"));
    }
}
