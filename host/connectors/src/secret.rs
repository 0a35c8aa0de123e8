//! Credentials referenced from the config: taken from the environment or a file, held by the
//! host only, never printed.

use secrecy::SecretString;
use serde::Deserialize;
use std::path::Path;

/// Where a secret comes from. The config names the source; the value never sits in it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "lowercase")]
pub enum SecretRef {
    /// An environment variable of the `palisade` process.
    Env(String),
    /// A file whose content (trimmed of surrounding whitespace) is the secret.
    File(String),
}

impl SecretRef {
    /// Reads the secret. Errors name the source, never the value.
    pub fn resolve(&self, config_dir: &Path) -> Result<SecretString, String> {
        let value = match self {
            SecretRef::Env(name) => std::env::var(name).map_err(|error| match error {
                std::env::VarError::NotPresent => format!("environment variable {name} is not set"),
                std::env::VarError::NotUnicode(_) => {
                    format!("environment variable {name} is not valid UTF-8")
                }
            })?,
            SecretRef::File(path) => {
                let path = config_dir.join(path);
                std::fs::read_to_string(&path)
                    .map_err(|error| format!("cannot read secret file {}: {error}", path.display()))?
            }
        };
        let value = value.trim();
        if value.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(SecretString::from(value.to_owned()))
    }
}
