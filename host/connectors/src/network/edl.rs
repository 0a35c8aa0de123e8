//! External Dynamic Lists: plain-text block lists that firewalls fetch and enforce (Palo Alto
//! Networks EDLs, Fortinet threat feeds, Check Point and others), one entry a line. Palisade
//! writes the files; a web server the firewall polls serves them.
//!
//! ```toml
//! [connectors.edl]
//! kind = "edl"
//! ip_path = "edl/block-ip.txt"          # relative to this config file's folder
//! domain_path = "edl/block-domain.txt"  # either list may be left out
//! default_ttl_hours = 24                # blocks without a duration expire after this; unset: never
//! ```
//!
//! block-ip and unblock-ip write the `ip_path` list (addresses and CIDR ranges, IPv4 or IPv6),
//! block-domain and unblock-domain the `domain_path` list (domain names): firewalls take one
//! type of entry per list, so there is one file for each. An operation whose list is not
//! configured is unsupported.
//!
//! Each list has a state file beside it (`<list>.state.json`) holding every entry with its
//! expiry, and a lock file (`<list>.lock`). The state file is the truth: the list is rewritten
//! from it, so palisade owns the list (entries a person adds to the list by hand are dropped
//! at the next write; add them through palisade, or keep them in another list). A list that
//! exists before palisade first writes it is taken over, its valid entries kept without expiry.
//!
//! - Every write replaces the files whole: a temporary file in the same folder, flushed to
//!   disk, renamed over the old one. A firewall fetching the list sees the old one or the new
//!   one, never half of one.
//! - Writes are serialized: a mutex within the process and an advisory lock (`flock`) on the
//!   lock file across processes, so concurrent writers lose no entry.
//! - Entries expire: the request's `duration_seconds`, else `default_ttl_hours`, else never.
//!   Expired entries are dropped at every write of the list and when `palisade run` starts
//!   (not `simulate`, which touches nothing); between runs nothing sweeps, so run palisade at
//!   least as often as the shortest block should last.
//! - Blocking an entry already listed keeps one line and the later expiry; unblocking an
//!   entry not listed succeeds with no reference. The receipt's reference is the entry.
//! - Targets are checked before anything is written: an IP address or a CIDR range with no
//!   bits past its prefix, or a domain name of two labels or more (letters, digits, `-`, `_`).
//!   A newline or any other character a firewall could misread never reaches a list.

use super::{BlockRequest, NetworkAction, NetworkControl};
use crate::secret::SecretRef;
use crate::vendor::{BuildContext, VendorBackend};
use crate::{ActionReceipt, CallContext, CapabilitySet, ConnectorError};
use anyhow::Context;
use palisade_core::capability::Capability;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edl {
    #[serde(default)]
    ip_path: Option<String>,
    #[serde(default)]
    domain_path: Option<String>,
    #[serde(default)]
    default_ttl_hours: Option<u32>,
}

impl VendorBackend for Edl {
    const KIND: &'static str = "edl";
    const CAPABILITY: Capability = Capability::Network;
    const HTTP: bool = false;

    fn secrets(&self) -> Vec<(&'static str, &Spanned<SecretRef>)> {
        Vec::new()
    }

    fn build(&self, cx: &BuildContext) -> anyhow::Result<CapabilitySet> {
        anyhow::ensure!(
            self.ip_path.is_some() || self.domain_path.is_some(),
            "needs ip_path, domain_path or both: the lists to write"
        );
        let default_ttl = match self.default_ttl_hours {
            Some(0) => anyhow::bail!("default_ttl_hours must be at least 1 (leave it out: no expiry)"),
            Some(hours) => Some(time::Duration::hours(i64::from(hours))),
            None => None,
        };
        let list = |key: &str, path: &Option<String>, kind: EntryKind| -> anyhow::Result<Option<ListFile>> {
            path.as_deref()
                .map(|path| ListFile::new(cx.dir.join(path), kind).with_context(|| key.to_owned()))
                .transpose()
        };
        let ips = list("ip_path", &self.ip_path, EntryKind::Ip)?;
        let domains = list("domain_path", &self.domain_path, EntryKind::Domain)?;
        if let (Some(ips), Some(domains)) = (&ips, &domains) {
            anyhow::ensure!(
                ips.path != domains.path,
                "ip_path and domain_path name the same file: firewalls take one type of entry per list"
            );
        }
        Ok(CapabilitySet {
            network: Some(Arc::new(ExternalLists {
                ips: ips.map(Arc::new),
                domains: domains.map(Arc::new),
                default_ttl,
            })),
            ..CapabilitySet::default()
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Ip,
    Domain,
}

/// A target as its list holds it, or why it cannot be listed.
fn entry(kind: EntryKind, target: &str) -> Result<String, String> {
    match kind {
        EntryKind::Ip => ip_entry(target),
        EntryKind::Domain => domain_entry(target),
    }
}

/// An address as written (`198.51.100.4`, `2001:db8::1`) or a range (`203.0.113.0/24`); a
/// full-length prefix is the address alone, so `/32` and the bare address are one entry.
fn ip_entry(target: &str) -> Result<String, String> {
    let Some((address, prefix)) = target.split_once('/') else {
        return target
            .parse::<IpAddr>()
            .map(|address| address.to_string())
            .map_err(|_| format!("{target:?} is not an IP address or CIDR range"));
    };
    let address: IpAddr = address
        .parse()
        .map_err(|_| format!("{target:?} is not an IP address or CIDR range"))?;
    let network = prefix
        .parse::<u8>()
        .ok()
        .and_then(|prefix| ipnet::IpNet::new(address, prefix).ok())
        .ok_or_else(|| format!("{target:?} has an invalid prefix length"))?;
    if network.network() != address {
        return Err(format!(
            "{target:?} has bits set past its prefix: the range is {}",
            network.trunc()
        ));
    }
    if network.prefix_len() == network.max_prefix_len() {
        return Ok(address.to_string());
    }
    Ok(network.to_string())
}

/// A domain name in lower case without a trailing dot. One label alone (a top-level domain)
/// is refused: it would block far more than one site.
fn domain_entry(target: &str) -> Result<String, String> {
    let name = target.strip_suffix('.').unwrap_or(target).to_ascii_lowercase();
    let labels: Vec<&str> = name.split('.').collect();
    let valid_label = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() > 253 || !labels.iter().all(valid_label) {
        return Err(format!(
            "{target:?} is not a domain name (internationalized names go in their xn-- form)"
        ));
    }
    if labels.len() < 2 {
        return Err(format!(
            "{target:?} is a top-level domain: blocking it would block every name under it"
        ));
    }
    Ok(name)
}

/// A list's state file: every entry with its expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct State {
    entries: BTreeMap<String, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    #[serde(with = "time::serde::rfc3339")]
    added: OffsetDateTime,
    /// `None`: the entry stays until it is unblocked.
    #[serde(default, with = "time::serde::rfc3339::option")]
    expires: Option<OffsetDateTime>,
    #[serde(default)]
    reason: String,
    /// The palisade operation that listed it last.
    #[serde(default)]
    action_id: String,
}

enum Change {
    Add {
        entry: String,
        expires: Option<OffsetDateTime>,
        reason: String,
        action_id: String,
    },
    Remove {
        entry: String,
    },
    /// Only drop the entries that have expired.
    Sweep,
}

/// One list file with its state and lock files.
struct ListFile {
    path: PathBuf,
    state_path: PathBuf,
    lock_path: PathBuf,
    kind: EntryKind,
    /// Writers in this process wait here; other processes wait on the lock file.
    writing: Mutex<()>,
}

impl ListFile {
    fn new(path: PathBuf, kind: EntryKind) -> anyhow::Result<ListFile> {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .with_context(|| format!("{} names no file", path.display()))?
            .to_owned();
        let folder = path.parent().unwrap_or(Path::new("."));
        anyhow::ensure!(folder.is_dir(), "the folder of {} does not exist", path.display());
        Ok(ListFile {
            state_path: path.with_file_name(format!("{name}.state.json")),
            lock_path: path.with_file_name(format!("{name}.lock")),
            path,
            kind,
            writing: Mutex::new(()),
        })
    }

    /// Applies a change at `now`, dropping expired entries, and rewrites the files. Returns
    /// whether the change found its entry (added anew / removed).
    fn apply(&self, change: Change, now: OffsetDateTime) -> anyhow::Result<bool> {
        // A writer that panicked left nothing half-done on disk (files are replaced whole).
        let _writing = self
            .writing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .with_context(|| format!("cannot open {}", self.lock_path.display()))?;
        lock.lock()
            .with_context(|| format!("cannot lock {}", self.lock_path.display()))?;

        let mut state = self.load()?;
        let before = state.entries.len();
        state
            .entries
            .retain(|_, entry| entry.expires.is_none_or(|expires| expires > now));
        let expired = before - state.entries.len();
        let found = match change {
            Change::Add {
                entry,
                expires,
                reason,
                action_id,
            } => {
                let fresh = !state.entries.contains_key(&entry);
                let listed = state.entries.entry(entry).or_insert_with(|| Entry {
                    added: now,
                    expires,
                    reason: String::new(),
                    action_id: String::new(),
                });
                // Two blocks of one entry: it stays until the later of the two ends.
                listed.expires = match (listed.expires, expires) {
                    (Some(listed), Some(asked)) => Some(listed.max(asked)),
                    _ if fresh => expires,
                    _ => None,
                };
                listed.reason = reason;
                listed.action_id = action_id;
                fresh
            }
            Change::Remove { entry } => state.entries.remove(&entry).is_some(),
            // Nothing lapsed: the files stay as they are.
            Change::Sweep if expired == 0 => return Ok(false),
            Change::Sweep => true,
        };

        let json = serde_json::to_vec_pretty(&state).context("cannot encode the list's state")?;
        write_atomically(&self.state_path, &json, 0o600)?;
        let mut list = String::new();
        for entry in state.entries.keys() {
            list.push_str(entry);
            list.push('\n');
        }
        // The firewall's web server reads the list.
        write_atomically(&self.path, list.as_bytes(), 0o644)?;
        drop(lock);
        Ok(found)
    }

    /// The state file, or, before palisade first wrote this list, the entries already in it.
    fn load(&self) -> anyhow::Result<State> {
        match std::fs::read(&self.state_path) {
            Ok(bytes) => {
                return serde_json::from_slice(&bytes)
                    .with_context(|| format!("{} is not a list state file", self.state_path.display()));
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", self.state_path.display()));
            }
        }
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", self.path.display()));
            }
        };
        let mut state = State::default();
        let now = OffsetDateTime::now_utc();
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            match entry(self.kind, line) {
                Ok(value) => {
                    state.entries.insert(
                        value,
                        Entry {
                            added: now,
                            expires: None,
                            reason: "listed before palisade managed this list".into(),
                            action_id: String::new(),
                        },
                    );
                }
                Err(why) => tracing::warn!(
                    list = %self.path.display(),
                    "dropping a line palisade cannot vouch for: {why}"
                ),
            }
        }
        Ok(state)
    }
}

/// Replaces `path` whole: a temporary file in the same folder, written and flushed to disk,
/// renamed over it, and the folder flushed so the rename survives a crash.
fn write_atomically(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let failed = || format!("cannot write {}", path.display());
    let mut file = tempfile::Builder::new()
        .prefix(".palisade-")
        .tempfile_in(folder)
        .with_context(failed)?;
    file.write_all(contents).with_context(failed)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(failed)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    file.as_file().sync_all().with_context(failed)?;
    file.persist(path)
        .map_err(|error| error.error)
        .with_context(failed)?;
    #[cfg(unix)]
    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .with_context(failed)?;
    Ok(())
}

struct ExternalLists {
    ips: Option<Arc<ListFile>>,
    domains: Option<Arc<ListFile>>,
    default_ttl: Option<time::Duration>,
}

impl ExternalLists {
    async fn act_at(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
        now: OffsetDateTime,
    ) -> Result<ActionReceipt, ConnectorError> {
        let (list, key) = match action {
            NetworkAction::BlockIp | NetworkAction::UnblockIp => (&self.ips, "ip_path"),
            NetworkAction::BlockDomain | NetworkAction::UnblockDomain => (&self.domains, "domain_path"),
        };
        let Some(list) = list.clone() else {
            return Err(ConnectorError::Unsupported(format!(
                "edl {}: this connector has no `{key}` list",
                action.operation()
            )));
        };
        let value = entry(list.kind, request.target)
            .map_err(|why| ConnectorError::InvalidInput(format!("edl {}: {why}", action.operation())))?;
        let change = match action {
            NetworkAction::BlockIp | NetworkAction::BlockDomain => {
                let ttl = match request.duration_seconds {
                    Some(0) => {
                        return Err(ConnectorError::InvalidInput(format!(
                            "edl {}: a duration of 0 seconds blocks nothing",
                            action.operation()
                        )));
                    }
                    Some(seconds) => Some(time::Duration::seconds(i64::from(seconds))),
                    None => self.default_ttl,
                };
                Change::Add {
                    entry: value.clone(),
                    expires: ttl.map(|ttl| now + ttl),
                    reason: request.reason.to_owned(),
                    action_id: cx.action_id.clone(),
                }
            }
            NetworkAction::UnblockIp | NetworkAction::UnblockDomain => {
                Change::Remove { entry: value.clone() }
            }
        };
        let removal = matches!(change, Change::Remove { .. });
        let failed = |error: String| ConnectorError::Failed(format!("edl {}: {error}", action.operation()));
        let found = tokio::task::spawn_blocking(move || list.apply(change, now))
            .await
            .map_err(|error| failed(error.to_string()))?
            .map_err(|error| failed(format!("{error:#}")))?;
        Ok(ActionReceipt {
            reference: (!removal || found).then_some(value),
        })
    }
}

impl ExternalLists {
    async fn sweep_at(&self, now: OffsetDateTime) -> Result<usize, ConnectorError> {
        let mut rewritten = 0;
        for list in [&self.ips, &self.domains].into_iter().flatten() {
            let list = list.clone();
            let swept = tokio::task::spawn_blocking(move || list.apply(Change::Sweep, now))
                .await
                .map_err(|error| ConnectorError::Failed(format!("edl sweep: {error}")))?
                .map_err(|error| ConnectorError::Failed(format!("edl sweep: {error:#}")))?;
            rewritten += usize::from(swept);
        }
        Ok(rewritten)
    }
}

#[async_trait::async_trait]
impl NetworkControl for ExternalLists {
    /// Entries carry their expiry, and `sweep_expired` drops them.
    fn expires_blocks(&self) -> bool {
        true
    }

    async fn sweep_expired(&self) -> Result<usize, ConnectorError> {
        self.sweep_at(OffsetDateTime::now_utc()).await
    }

    async fn act(
        &self,
        cx: &CallContext,
        action: NetworkAction,
        request: &BlockRequest<'_>,
    ) -> Result<ActionReceipt, ConnectorError> {
        self.act_at(cx, action, request, OffsetDateTime::now_utc()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-05-01 10:00 UTC.
    const T0: OffsetDateTime = match OffsetDateTime::from_unix_timestamp(1_714_557_600) {
        Ok(t0) => t0,
        Err(_) => panic!("a valid time"),
    };

    fn hours_later(hours: i64) -> OffsetDateTime {
        T0 + time::Duration::hours(hours)
    }

    fn lists(dir: &Path, default_ttl_hours: Option<u32>) -> ExternalLists {
        let edl = Edl {
            ip_path: Some("block-ip.txt".into()),
            domain_path: Some("block-domain.txt".into()),
            default_ttl_hours,
        };
        let set = edl
            .build(&BuildContext {
                http: crate::webhook::http_client().unwrap(),
                settings: None,
                dir: dir.to_owned(),
            })
            .unwrap();
        assert!(set.network.is_some());
        // The built connector and this one write the same files the same way.
        ExternalLists {
            ips: Some(Arc::new(
                ListFile::new(dir.join("block-ip.txt"), EntryKind::Ip).unwrap(),
            )),
            domains: Some(Arc::new(
                ListFile::new(dir.join("block-domain.txt"), EntryKind::Domain).unwrap(),
            )),
            default_ttl: default_ttl_hours.map(|hours| time::Duration::hours(i64::from(hours))),
        }
    }

    fn cx() -> CallContext {
        CallContext::new("block-scanner", "alert-1")
    }

    fn request(target: &str, duration_seconds: Option<u32>) -> BlockRequest<'_> {
        BlockRequest {
            target,
            duration_seconds,
            reason: "scanner",
        }
    }

    fn read(dir: &Path, name: &str) -> String {
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    #[tokio::test]
    async fn blocks_write_one_canonical_entry_a_line_to_the_list_of_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), None);
        let cx = cx();
        for (action, target) in [
            (NetworkAction::BlockIp, "198.51.100.4"),
            (NetworkAction::BlockIp, "203.0.113.0/24"),
            (NetworkAction::BlockIp, "2001:DB8:0::1/128"),
            (NetworkAction::BlockIp, "198.51.100.4/32"),
            (NetworkAction::BlockDomain, "Evil.Example."),
        ] {
            let receipt = lists
                .act_at(&cx, action, &request(target, None), T0)
                .await
                .unwrap();
            assert!(receipt.reference.is_some(), "{target}");
        }
        assert_eq!(
            read(dir.path(), "block-ip.txt"),
            "198.51.100.4\n2001:db8::1\n203.0.113.0/24\n"
        );
        assert_eq!(read(dir.path(), "block-domain.txt"), "evil.example\n");
        let state: State = serde_json::from_str(&read(dir.path(), "block-ip.txt.state.json")).unwrap();
        let entry = &state.entries["198.51.100.4"];
        assert_eq!((entry.added, entry.expires), (T0, None));
        assert_eq!(entry.reason, "scanner");
        assert_eq!(entry.action_id, cx.action_id);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_rewrite_replaces_the_list_whole_and_leaves_no_temporary_file() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), None);
        lists
            .act_at(&cx(), NetworkAction::BlockIp, &request("198.51.100.4", None), T0)
            .await
            .unwrap();
        let before = std::fs::metadata(dir.path().join("block-ip.txt")).unwrap();
        // A reader holding the old file keeps reading the old list.
        let held = std::fs::File::open(dir.path().join("block-ip.txt")).unwrap();
        lists
            .act_at(&cx(), NetworkAction::BlockIp, &request("198.51.100.5", None), T0)
            .await
            .unwrap();
        let after = std::fs::metadata(dir.path().join("block-ip.txt")).unwrap();
        assert_ne!(before.ino(), after.ino(), "the list was rewritten in place");
        assert_eq!(
            after.permissions().mode() & 0o777,
            0o644,
            "the web server reads it"
        );
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &held, &mut old).unwrap();
        assert_eq!(old, "198.51.100.4\n");
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["block-ip.txt", "block-ip.txt.lock", "block-ip.txt.state.json"]
        );
    }

    #[tokio::test]
    async fn entries_expire_at_the_next_write_and_a_duration_overrides_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), Some(24));
        let cx = cx();
        // The default: 24 hours. The request's own duration: one hour.
        lists
            .act_at(&cx, NetworkAction::BlockIp, &request("198.51.100.1", None), T0)
            .await
            .unwrap();
        lists
            .act_at(
                &cx,
                NetworkAction::BlockIp,
                &request("198.51.100.2", Some(3600)),
                T0,
            )
            .await
            .unwrap();
        let state: State = serde_json::from_str(&read(dir.path(), "block-ip.txt.state.json")).unwrap();
        assert_eq!(state.entries["198.51.100.1"].expires, Some(hours_later(24)));
        assert_eq!(state.entries["198.51.100.2"].expires, Some(hours_later(1)));

        // Two hours later, any write drops the one-hour block.
        lists
            .act_at(
                &cx,
                NetworkAction::BlockIp,
                &request("198.51.100.3", Some(60)),
                hours_later(2),
            )
            .await
            .unwrap();
        assert_eq!(read(dir.path(), "block-ip.txt"), "198.51.100.1\n198.51.100.3\n");

        // A second block of a listed entry keeps the later expiry.
        lists
            .act_at(
                &cx,
                NetworkAction::BlockIp,
                &request("198.51.100.1", Some(60)),
                hours_later(2),
            )
            .await
            .unwrap();
        let state: State = serde_json::from_str(&read(dir.path(), "block-ip.txt.state.json")).unwrap();
        assert_eq!(state.entries["198.51.100.1"].expires, Some(hours_later(24)));
    }

    #[tokio::test]
    async fn a_sweep_lifts_lapsed_blocks_and_leaves_a_list_with_none_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), None);
        for (address, seconds) in [("198.51.100.1", Some(3600)), ("198.51.100.2", None)] {
            lists
                .act_at(&cx(), NetworkAction::BlockIp, &request(address, seconds), T0)
                .await
                .unwrap();
        }
        let written = std::fs::metadata(dir.path().join("block-ip.txt"))
            .unwrap()
            .modified()
            .unwrap();

        assert_eq!(
            lists.sweep_at(hours_later(0)).await.unwrap(),
            0,
            "nothing lapsed yet"
        );
        let unchanged = std::fs::metadata(dir.path().join("block-ip.txt"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            written, unchanged,
            "a sweep with nothing to lift rewrote the list"
        );

        assert_eq!(lists.sweep_at(hours_later(2)).await.unwrap(), 1);
        assert_eq!(
            read(dir.path(), "block-ip.txt"),
            "198.51.100.2\n",
            "the block without an end stays"
        );
    }

    #[tokio::test]
    async fn an_unblock_removes_the_entry_and_an_absent_one_is_no_error() {
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), None);
        let cx = cx();
        for target in ["198.51.100.4", "203.0.113.0/24"] {
            lists
                .act_at(&cx, NetworkAction::BlockIp, &request(target, None), T0)
                .await
                .unwrap();
        }
        let removed = lists
            .act_at(
                &cx,
                NetworkAction::UnblockIp,
                &request("198.51.100.4/32", None),
                T0,
            )
            .await
            .unwrap();
        assert_eq!(removed.reference.as_deref(), Some("198.51.100.4"));
        assert_eq!(read(dir.path(), "block-ip.txt"), "203.0.113.0/24\n");
        let absent = lists
            .act_at(&cx, NetworkAction::UnblockIp, &request("198.51.100.4", None), T0)
            .await
            .unwrap();
        assert_eq!(absent.reference, None);
        assert_eq!(read(dir.path(), "block-ip.txt"), "203.0.113.0/24\n");
    }

    #[tokio::test]
    async fn malformed_targets_never_reach_a_list() {
        let dir = tempfile::tempdir().unwrap();
        let lists = lists(dir.path(), None);
        let cx = cx();
        lists
            .act_at(&cx, NetworkAction::BlockIp, &request("198.51.100.4", None), T0)
            .await
            .unwrap();
        for (action, target) in [
            (NetworkAction::BlockIp, "198.51.100.5\n0.0.0.0/0"),
            (NetworkAction::BlockIp, "198.51.100.5 "),
            (NetworkAction::BlockIp, "1.2.3.4/33"),
            (NetworkAction::BlockIp, "203.0.113.7/24"),
            (NetworkAction::BlockIp, "evil.example"),
            (NetworkAction::BlockIp, ""),
            (NetworkAction::BlockDomain, "evil.example\nexample.com"),
            (NetworkAction::BlockDomain, "*.evil.example"),
            (NetworkAction::BlockDomain, "com"),
            (NetworkAction::BlockDomain, "-evil.example"),
            (NetworkAction::BlockDomain, "evil..example"),
            (NetworkAction::BlockDomain, "évil.example"),
            (NetworkAction::BlockDomain, "198.51.100.4/24"),
        ] {
            let error = lists
                .act_at(&cx, action, &request(target, None), T0)
                .await
                .unwrap_err();
            assert!(
                matches!(error, ConnectorError::InvalidInput(_)),
                "{target:?}: {error}"
            );
        }
        let zero = lists
            .act_at(&cx, NetworkAction::BlockIp, &request("198.51.100.6", Some(0)), T0)
            .await
            .unwrap_err();
        assert!(matches!(zero, ConnectorError::InvalidInput(_)), "{zero}");
        assert_eq!(read(dir.path(), "block-ip.txt"), "198.51.100.4\n");
        assert!(!dir.path().join("block-domain.txt").exists());
    }

    #[tokio::test]
    async fn a_list_that_is_not_configured_is_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let lists = ExternalLists {
            ips: Some(Arc::new(
                ListFile::new(dir.path().join("ips.txt"), EntryKind::Ip).unwrap(),
            )),
            domains: None,
            default_ttl: None,
        };
        let error = lists
            .act_at(
                &cx(),
                NetworkAction::BlockDomain,
                &request("evil.example", None),
                T0,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(&error, ConnectorError::Unsupported(m) if m.contains("domain_path")),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_existing_list_is_taken_over_with_its_valid_entries() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("block-ip.txt"),
            "192.0.2.1\n\n192.0.2.0/24\nnot an address\n",
        )
        .unwrap();
        let lists = lists(dir.path(), None);
        lists
            .act_at(&cx(), NetworkAction::BlockIp, &request("198.51.100.4", None), T0)
            .await
            .unwrap();
        assert_eq!(
            read(dir.path(), "block-ip.txt"),
            "192.0.2.0/24\n192.0.2.1\n198.51.100.4\n"
        );
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        // Two list handles on the same files stand for two processes: each has its own mutex,
        // so only the lock file keeps them apart.
        let path = dir.path().join("block-ip.txt");
        let writers: Vec<Arc<ListFile>> = (0..2)
            .map(|_| Arc::new(ListFile::new(path.clone(), EntryKind::Ip).unwrap()))
            .collect();
        let threads: Vec<_> = (0..16u8)
            .map(|n| {
                let list = writers[usize::from(n % 2)].clone();
                std::thread::spawn(move || {
                    for m in 0..8u8 {
                        list.apply(
                            Change::Add {
                                entry: format!("10.0.{n}.{m}"),
                                expires: None,
                                reason: "scan".into(),
                                action_id: format!("act-{n}-{m}"),
                            },
                            T0,
                        )
                        .unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let listed = read(dir.path(), "block-ip.txt");
        assert_eq!(listed.lines().count(), 16 * 8, "{listed}");
        for n in 0..16 {
            for m in 0..8 {
                assert!(listed.contains(&format!("10.0.{n}.{m}\n")), "10.0.{n}.{m} lost");
            }
        }
    }

    #[test]
    fn a_config_without_a_list_or_with_one_file_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cx = BuildContext {
            http: crate::webhook::http_client().unwrap(),
            settings: None,
            dir: dir.path().to_owned(),
        };
        let none = Edl {
            ip_path: None,
            domain_path: None,
            default_ttl_hours: None,
        };
        assert!(none.build(&cx).is_err());
        let same = Edl {
            ip_path: Some("list.txt".into()),
            domain_path: Some("./list.txt".into()),
            default_ttl_hours: None,
        };
        let error = same.build(&cx).err().unwrap();
        assert!(error.to_string().contains("same file"), "{error:#}");
        let missing_folder = Edl {
            ip_path: Some("no/such/folder/list.txt".into()),
            domain_path: None,
            default_ttl_hours: None,
        };
        let error = missing_folder.build(&cx).err().unwrap();
        assert!(format!("{error:#}").contains("does not exist"), "{error:#}");
    }
}
