//! The progress of a long batch, on a terminal only: alerts done out of the file's lines, or
//! a spinner with the count when reading standard input. Never drawn when standard error is
//! not a terminal or the output is `--json`, so pipes, scripts and tests see nothing of it.

use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::time::Duration;

pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar when `terminal` (standard error is one) and not `json`; hidden otherwise. With a
    /// `file`, its lines are counted in the background and become the total.
    pub fn new(json: bool, terminal: bool, file: Option<&Path>) -> Progress {
        if json || !terminal {
            return Progress {
                bar: ProgressBar::hidden(),
            };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} alerts  {per_sec}  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(file) = file {
            let bar = bar.clone();
            let file = file.to_owned();
            // Counting newlines reads the file once more, but beside the run, not before it.
            tokio::task::spawn_blocking(move || {
                if let Ok(lines) = count_lines(&file) {
                    bar.set_style(
                        ProgressStyle::with_template("{bar:40} {pos}/{len} alerts  {per_sec}  eta {eta}")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_length(lines);
                }
            });
        }
        Progress { bar }
    }

    /// One more line handled (an alert, a duplicate or a rejected line).
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    /// Runs `print` with the bar cleared, so output on the same terminal is not garbled.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        self.bar.suspend(print)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The lines of a file (a last line without a newline counts), read in blocks.
fn count_lines(path: &Path) -> std::io::Result<u64> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 16];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        lines += buffer[..read].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buffer[read - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_hidden_unless_stderr_is_a_terminal_and_the_output_is_text() {
        assert!(Progress::new(false, false, None).bar.is_hidden());
        assert!(Progress::new(true, false, None).bar.is_hidden());
        assert!(Progress::new(true, true, None).bar.is_hidden());
    }

    #[test]
    fn lines_are_counted_with_or_without_a_last_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.jsonl");
        std::fs::write(&path, "{}\n{}\n{}").unwrap();
        assert_eq!(count_lines(&path).unwrap(), 3);
        std::fs::write(&path, "{}\n{}\n").unwrap();
        assert_eq!(count_lines(&path).unwrap(), 2);
        std::fs::write(&path, "").unwrap();
        assert_eq!(count_lines(&path).unwrap(), 0);
    }
}
