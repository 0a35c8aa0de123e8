//! The embedded backends' record of actions: one JSON line per operation, appended.

use super::{ConnectorError, Envelope};
use anyhow::Context;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file is created at the first operation, so that building the connectors (as
/// `palisade check` does) creates nothing.
pub struct Outbox {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl Outbox {
    pub fn open(path: &Path) -> anyhow::Result<Outbox> {
        anyhow::ensure!(
            path.file_name().is_some(),
            "outbox {} names no file",
            path.display()
        );
        Ok(Outbox {
            path: path.to_owned(),
            file: Mutex::new(None),
        })
    }

    fn create(&self) -> anyhow::Result<File> {
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("cannot open outbox {}", self.path.display()))
    }

    /// Appends one operation. A whole line is written in one call so that concurrent
    /// alerts never interleave within a line.
    pub fn append<R: Serialize>(&self, envelope: &Envelope<'_, R>) -> Result<(), ConnectorError> {
        #[derive(Serialize)]
        struct Line<'a, R: Serialize> {
            time: String,
            #[serde(flatten)]
            envelope: &'a Envelope<'a, R>,
        }
        let time = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let mut line = serde_json::to_vec(&Line { time, envelope })
            .map_err(|error| ConnectorError::Failed(format!("cannot encode outbox line: {error}")))?;
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if file.is_none() {
            *file = Some(
                self.create()
                    .map_err(|error| ConnectorError::Failed(format!("{error:#}")))?,
            );
        }
        let file = file
            .as_mut()
            .ok_or_else(|| ConnectorError::Failed(format!("cannot open outbox {}", self.path.display())))?;
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|error| {
                ConnectorError::Failed(format!("cannot write outbox {}: {error}", self.path.display()))
            })
    }
}
