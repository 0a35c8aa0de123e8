//! The embedded backends' record of actions: one JSON line per operation, appended.

use super::{ConnectorError, Envelope};
use anyhow::Context;
use serde::Serialize;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct Outbox {
    path: PathBuf,
    file: Mutex<File>,
}

impl Outbox {
    pub fn open(path: &Path) -> anyhow::Result<Outbox> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create folder {}", parent.display()))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open outbox {}", path.display()))?;
        Ok(Outbox {
            path: path.to_owned(),
            file: Mutex::new(file),
        })
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
        file.write_all(&line)
            .and_then(|()| file.flush())
            .map_err(|error| {
                ConnectorError::Failed(format!("cannot write outbox {}: {error}", self.path.display()))
            })
    }
}
