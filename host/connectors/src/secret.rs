//! Credentials referenced from the config: taken from the environment or a file, held by the
//! host only, never printed.

use secrecy::SecretString;
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

/// The most a secret file may hold. Tokens, keys and webhook URLs are well under a KiB; a
/// larger file is a wrong path (a log, `/dev/zero`, a disk image), refused before it is
/// read into memory whole.
pub const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

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
            SecretRef::File(path) => read_secret_file(&config_dir.join(path))?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err("the secret is empty".into());
        }
        Ok(SecretString::from(value.to_owned()))
    }
}

/// The file's text, read up to one byte past [`MAX_SECRET_FILE_BYTES`] so that a larger file
/// (or an endless one) is refused without being read further.
fn read_secret_file(path: &Path) -> Result<String, String> {
    let cannot_read = |error: std::io::Error| format!("cannot read secret file {}: {error}", path.display());
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    let mut bytes = Vec::new();
    file.take(MAX_SECRET_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_SECRET_FILE_BYTES {
        return Err(format!(
            "secret file {} is larger than {} KiB: it should hold the secret alone",
            path.display(),
            MAX_SECRET_FILE_BYTES / 1024
        ));
    }
    String::from_utf8(bytes).map_err(|_| format!("secret file {} is not UTF-8 text", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn file(name: &str) -> SecretRef {
        SecretRef::File(name.to_owned())
    }

    #[test]
    fn an_endless_or_oversized_secret_file_is_refused_naming_the_file() {
        let error = file("/dev/zero").resolve(Path::new("/")).unwrap_err();
        assert_eq!(
            error,
            "secret file /dev/zero is larger than 64 KiB: it should hold the secret alone"
        );

        let dir = tempfile::tempdir().unwrap();
        let limit = MAX_SECRET_FILE_BYTES as usize;
        std::fs::write(dir.path().join("at-limit"), "k".repeat(limit)).unwrap();
        std::fs::write(dir.path().join("over-limit"), "k".repeat(limit + 1)).unwrap();
        let at_limit = file("at-limit").resolve(dir.path()).unwrap();
        assert_eq!(at_limit.expose_secret().len(), limit);
        let over = file("over-limit").resolve(dir.path()).unwrap_err();
        assert!(
            over.contains("over-limit") && over.contains("larger than 64 KiB"),
            "{over}"
        );
    }

    #[test]
    fn a_secret_file_is_trimmed_and_must_be_text() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), " s3cr3t\n").unwrap();
        std::fs::write(dir.path().join("binary"), [0xff, 0xfe, 0x00]).unwrap();
        assert_eq!(
            file("token").resolve(dir.path()).unwrap().expose_secret(),
            "s3cr3t"
        );
        let binary = file("binary").resolve(dir.path()).unwrap_err();
        assert!(binary.ends_with("binary is not UTF-8 text"), "{binary}");
        let missing = file("missing").resolve(dir.path()).unwrap_err();
        assert!(missing.starts_with("cannot read secret file "), "{missing}");
    }
}
