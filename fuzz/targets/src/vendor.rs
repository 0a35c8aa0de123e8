//! What the connectors read from outside: vendors' replies, and the searches plugins ask for.
//!
//! Each backend decodes its vendor's reply into its own private types through
//! [`Reply::json`], the one public decoding step, so this target drives that with a JSON
//! value and with a typed page shaped like the vendors' (lists, nested records, numbers
//! of every width), plus the `Link` header cursor paging reads. The backends' own reply
//! types and error-body readers are private to their modules and are not reached here.

use arbitrary::{Arbitrary, Unstructured};
use http::{HeaderMap, HeaderValue, StatusCode, header::LINK};
use palisade_connectors::http::Reply;
use palisade_connectors::siem::spl::{self, Allowed};
use serde::Deserialize;

#[derive(Debug, Arbitrary)]
struct Input {
    links: Vec<Vec<u8>>,
    body: Vec<u8>,
}

#[allow(dead_code)] // read by Debug only: the target checks that decoding answers, not what
#[derive(Debug, Deserialize)]
struct Page {
    data: Vec<Record>,
    #[serde(default)]
    meta: Option<Meta>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    score: Option<u8>,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    ratio: Option<f64>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    attributes: Option<serde_json::Map<String, serde_json::Value>>,
}

#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct Meta {
    #[serde(default)]
    next: Option<String>,
    #[serde(default)]
    total: Option<i64>,
}

/// A vendor's reply: decoded or refused with the vendor, the operation and where it failed.
pub fn vendor_reply(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for link in input.links.iter().take(8) {
        if let Ok(value) = HeaderValue::from_bytes(link) {
            headers.append(LINK, value);
        }
    }
    let reply = Reply {
        status: StatusCode::OK,
        headers,
        body: input.body.into(),
    };
    for parameter in ["cursor", "after", "page[after]"] {
        if let Some(cursor) = reply.next_page_cursor(parameter) {
            let _ = cursor.len();
        }
    }
    for result in [
        reply.json::<serde_json::Value>("fuzz", "read").map(drop),
        reply.json::<Page>("fuzz", "list").map(drop),
    ] {
        if let Err(error) = result {
            let message = error.to_string();
            assert!(
                message.starts_with("fuzz "),
                "the error names the vendor: {message}"
            );
        }
    }
}

#[derive(Debug, Arbitrary)]
struct Search {
    query: String,
    allowed: Vec<String>,
    macros: bool,
    /// A plain search term and a writing command appended to it.
    term: u32,
    writing: u8,
    upper: bool,
}

/// Commands that write, send or run: a plugin's search never reaches Splunk with one unless
/// the admin allowed it.
const WRITING: &[&str] = &[
    "collect",
    "delete",
    "outputlookup",
    "sendemail",
    "script",
    "rest",
    "run",
];

/// A plugin's search query, checked before it reaches Splunk: never a panic, and a plain
/// search piped into a writing command is always refused.
pub fn spl_query(data: &[u8]) {
    let Ok(input) = Search::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let allowed = Allowed {
        commands: input.allowed.iter().take(4).map(|c| c.to_lowercase()).collect(),
        macros: input.macros,
    };
    if let Err(error) = spl::check(&input.query, &allowed) {
        assert!(!error.to_string().is_empty());
    }
    let command = WRITING[input.writing as usize % WRITING.len()];
    let command = if input.upper {
        command.to_uppercase()
    } else {
        command.to_owned()
    };
    let query = format!("search user=u{} | {command} ", input.term);
    let refused = spl::check(&query, &Allowed::default()).is_err();
    assert!(refused, "{query:?} reached Splunk");
    let prefixed = format!("{} | {command}", input.query);
    if !allowed
        .commands
        .iter()
        .any(|c| c == command.to_lowercase().as_str())
    {
        assert!(
            spl::check(&prefixed, &allowed).is_err(),
            "{prefixed:?} reached Splunk"
        );
    }
}
