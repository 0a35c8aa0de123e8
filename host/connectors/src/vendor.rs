//! Vendor backends: connector kinds that speak one vendor's documented API (`kind = "okta"`).
//!
//! Each backend file declares its own settings (the keys of its `[connectors.NAME]` table,
//! besides the shared `url`, `timeout_ms`, `retries` and `max_response_kib`) and builds itself
//! from them. [`KINDS`] lists them all; the config validates a table against its kind's
//! settings with located errors.

use super::http::{Auth, ErrorMessage, HttpSettings, VendorClient};
use super::{CapabilitySet, endpoint, identity, intel, network, notify, siem, ticket};
use crate::secret::SecretRef;
use anyhow::Context;
use palisade_core::capability::Capability;
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use toml::Spanned;

/// One vendor backend: its settings type is its config table.
pub trait VendorBackend: DeserializeOwned + fmt::Debug + Send + Sync + 'static {
    /// The `kind` that selects it.
    const KIND: &'static str;
    const CAPABILITY: Capability;
    /// Whether it talks HTTP, and so needs `url` and takes the shared HTTP keys.
    const HTTP: bool = true;
    /// For an HTTP kind whose whole URL is the credential (an incoming webhook): the key of
    /// the secret that holds it. Such a kind takes no `url`; the config checks the secret is
    /// an http(s) URL, and the backend builds its client with [`BuildContext::client_at`].
    const URL_SECRET: Option<&'static str> = None;

    /// The credentials its settings reference, by key, so a missing one is reported where
    /// it is named when the config loads.
    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)>;

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet>;
}

/// Settings of some kind, validated, ready to build.
pub trait Configured: fmt::Debug + Send + Sync {
    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)>;
    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet>;
}

impl<B: VendorBackend> Configured for B {
    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        VendorBackend::secrets(self)
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        VendorBackend::build(self, cx)
    }
}

pub type ParseError = serde_path_to_error::Error<toml::de::Error>;

/// A connector kind, as the config knows it.
pub struct Kind {
    pub name: &'static str,
    pub capability: Capability,
    pub http: bool,
    pub url_secret: Option<&'static str>,
    parse: fn(toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Configured>, ParseError>,
}

impl Kind {
    const fn of<B: VendorBackend>() -> Kind {
        Kind {
            name: B::KIND,
            capability: B::CAPABILITY,
            http: B::HTTP,
            url_secret: B::URL_SECRET,
            parse: parse_settings::<B>,
        }
    }

    pub fn find(name: &str) -> Option<&'static Kind> {
        KINDS.iter().find(|kind| kind.name == name)
    }

    /// Reads a connector table (without the shared keys) as this kind's settings.
    pub fn parse(&self, table: toml::de::ValueDeserializer<'_>) -> Result<Box<dyn Configured>, ParseError> {
        (self.parse)(table)
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn parse_settings<B: VendorBackend>(
    table: toml::de::ValueDeserializer<'_>,
) -> Result<Box<dyn Configured>, ParseError> {
    Ok(Box::new(serde_path_to_error::deserialize::<_, B>(table)?))
}

/// Every vendor backend.
pub static KINDS: &[Kind] = &[
    Kind::of::<identity::okta::Okta>(),
    Kind::of::<intel::abuseipdb::AbuseIpDb>(),
    Kind::of::<intel::virustotal::VirusTotal>(),
    Kind::of::<intel::misp::Misp>(),
    Kind::of::<siem::elasticsearch::Elasticsearch>(),
    Kind::of::<siem::elasticsearch::OpenSearch>(),
    Kind::of::<siem::splunk::Splunk>(),
    Kind::of::<ticket::thehive::TheHive>(),
    Kind::of::<ticket::jira::Jira>(),
    Kind::of::<ticket::servicenow::ServiceNow>(),
    Kind::of::<notify::slack::Slack>(),
    Kind::of::<notify::slack_webhook::SlackWebhook>(),
    Kind::of::<notify::teams::Teams>(),
    Kind::of::<identity::entra::Entra>(),
    Kind::of::<endpoint::crowdstrike::CrowdStrike>(),
    Kind::of::<endpoint::defender::Defender>(),
    Kind::of::<network::edl::Edl>(),
    Kind::of::<network::cloudflare::Cloudflare>(),
];

/// What a backend is built with.
pub struct BuildContext {
    pub http: reqwest::Client,
    /// `None` for backends that do not talk HTTP.
    pub settings: Option<HttpSettings>,
    /// The config file's folder, which secret files are relative to.
    pub dir: PathBuf,
}

impl BuildContext {
    pub fn secret(&self, key: &str, secret: &Spanned<SecretRef>) -> anyhow::Result<SecretString> {
        secret
            .get_ref()
            .resolve(&self.dir)
            .map_err(anyhow::Error::msg)
            .with_context(|| key.to_owned())
    }

    /// The vendor's HTTP client, on the connector's base URL.
    pub fn client(&self, vendor: &'static str, auth: Auth, error_message: ErrorMessage) -> Arc<VendorClient> {
        Arc::new(VendorClient::new(
            self.http.clone(),
            self.settings
                .clone()
                .expect("HTTP backends are configured with a URL"),
            auth,
            vendor,
            error_message,
        ))
    }

    /// The vendor's HTTP client on a URL that is itself a secret (an incoming webhook's URL
    /// embeds its token). Errors never show the URL.
    pub fn client_at(
        &self,
        vendor: &'static str,
        key: &str,
        url: &Spanned<SecretRef>,
        error_message: ErrorMessage,
    ) -> anyhow::Result<Arc<VendorClient>> {
        let url = secret_url(&self.secret(key, url)?)
            .map_err(anyhow::Error::msg)
            .with_context(|| key.to_owned())?;
        let mut settings = self
            .settings
            .clone()
            .expect("HTTP backends are configured with HTTP settings");
        settings.base_url = url;
        Ok(Arc::new(
            VendorClient::new(self.http.clone(), settings, Auth::None, vendor, error_message).url_is_secret(),
        ))
    }
}

/// Where the shared HTTP settings of a kind with [`VendorBackend::URL_SECRET`] point until
/// the backend puts the secret URL in: `.invalid` never resolves (RFC 6761), so nothing is
/// ever sent there.
pub fn url_in_secret_placeholder() -> reqwest::Url {
    reqwest::Url::parse("https://url-in-secret.invalid/").expect("a valid URL")
}

/// A secret that is a whole URL: http(s), with a host and no user or password. The error
/// never repeats the value.
pub fn secret_url(secret: &SecretString) -> Result<reqwest::Url, String> {
    use secrecy::ExposeSecret;
    match reqwest::Url::parse(secret.expose_secret()) {
        Ok(url)
            if matches!(url.scheme(), "http" | "https")
                && url.host().is_some()
                && url.username().is_empty()
                && url.password().is_none() =>
        {
            Ok(url)
        }
        Ok(_) => Err("the secret must be an http or https URL with a host".into()),
        Err(error) => Err(format!("the secret is not a URL ({error})")),
    }
}
