//! Reading alerts: one JSON document per line, each parsed by the intake, numbered, and
//! timed from when it was read (where its time to respond starts).

use super::batch::Received;
use futures::{Stream, StreamExt};
use palisade_alert::Alert;
use palisade_alert::intake::{Intake, IntakeError, MAX_ALERT_BYTES};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The most lines one parsing task takes: what has been read, up to this many, so a file's
/// lines are parsed in batches on every worker while a slow feed's are parsed one by one as
/// they come.
const PARSE_BATCH: usize = 256;
/// Batches parsed at once, ahead of the one being taken.
const PARSES_AHEAD: usize = 4;

/// Every line of `input` as it is read: blank lines are skipped, and a line that is not an
/// alert (too long, not UTF-8, not a document the intake understands) is `Err` with why.
/// Lines are parsed on the runtime's workers, in batches, and come out in their order.
pub fn read_lines(
    input: impl AsyncBufRead + Unpin + Send + 'static,
    intake: Arc<Intake>,
) -> impl Stream<Item = Received> + Send + 'static {
    raw_lines(input)
        .ready_chunks(PARSE_BATCH)
        .map(move |batch| {
            let intake = intake.clone();
            // Blank lines are reported by nobody, whatever happens to the parse.
            let numbers: Vec<usize> = batch
                .iter()
                .filter(|raw| !raw.is_blank())
                .map(|raw| raw.number)
                .collect();
            let parsed = tokio::spawn(async move {
                batch
                    .into_iter()
                    .filter_map(|raw| raw.parsed(&intake))
                    .collect::<Vec<_>>()
            });
            async move {
                // A panic while parsing (a bug): the batch's lines are reported, not lost.
                parsed.await.unwrap_or_else(|error| {
                    let at = Instant::now();
                    numbers
                        .into_iter()
                        .map(|number| Received {
                            number,
                            at,
                            line: Err(format!("internal error while parsing: {error}")),
                        })
                        .collect()
                })
            }
        })
        .buffered(PARSES_AHEAD)
        .flat_map(futures::stream::iter)
}

/// A line as read, not yet parsed.
struct Raw {
    number: usize,
    at: Instant,
    read: std::io::Result<ReadLine>,
}

impl Raw {
    /// What [`Raw::parsed`] skips: a line of whitespace, or the end.
    fn is_blank(&self) -> bool {
        match &self.read {
            Ok(ReadLine::Line(bytes)) => std::str::from_utf8(bytes).is_ok_and(|text| text.trim().is_empty()),
            Ok(ReadLine::End) => true,
            Ok(ReadLine::TooLong(_)) | Err(_) => false,
        }
    }

    /// `None` for a blank line.
    fn parsed(self, intake: &Intake) -> Option<Received> {
        let line = match self.read {
            Ok(ReadLine::Line(bytes)) => parse(intake, &bytes)?,
            Ok(ReadLine::TooLong(size)) => Err(IntakeError::TooLarge {
                size,
                limit: MAX_ALERT_BYTES,
            }
            .to_string()),
            // Not read: `raw_lines` ends there.
            Ok(ReadLine::End) => return None,
            Err(error) => Err(format!("cannot read: {error}")),
        };
        Some(Received {
            number: self.number,
            at: self.at,
            line,
        })
    }
}

/// The lines of `input`, numbered from 1, each with when it was read; ends at the end of the
/// input, or after the first error reading it (reported as that line), since a read that
/// failed once would fail again.
fn raw_lines(input: impl AsyncBufRead + Unpin + Send + 'static) -> impl Stream<Item = Raw> + Send + 'static {
    futures::stream::unfold(Some((input, 0usize)), |state| async move {
        let (mut input, number) = state?;
        let number = number + 1;
        let read = read_line(&mut input).await;
        let at = Instant::now();
        let next = match read {
            Ok(ReadLine::End) => return None,
            Ok(_) => Some((input, number)),
            Err(_) => None,
        };
        Some((Raw { number, at, read }, next))
    })
}

enum ReadLine {
    Line(Vec<u8>),
    /// A line longer than [`MAX_ALERT_BYTES`], skipped to its end; its length.
    TooLong(usize),
    End,
}

/// Reads one line, holding at most [`MAX_ALERT_BYTES`] (and its newline) in memory: the rest
/// of a longer line is read past, not kept, so one huge line cannot exhaust memory.
async fn read_line(input: &mut (impl AsyncBufRead + Unpin)) -> std::io::Result<ReadLine> {
    let mut bytes = Vec::new();
    let read = (&mut *input)
        .take(MAX_ALERT_BYTES as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .await?;
    if read == 0 {
        return Ok(ReadLine::End);
    }
    let content = bytes.len() - usize::from(bytes.ends_with(b"\n"));
    if content <= MAX_ALERT_BYTES {
        return Ok(ReadLine::Line(bytes));
    }
    let mut size = bytes.len();
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(ReadLine::TooLong(size));
        }
        match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => {
                input.consume(at + 1);
                return Ok(ReadLine::TooLong(size + at));
            }
            None => {
                let length = buffer.len();
                input.consume(length);
                size += length;
            }
        }
    }
}

/// `None` for a blank line, which is not an alert and not an error.
fn parse(intake: &Intake, bytes: &[u8]) -> Option<Result<Box<Alert>, String>> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.trim(),
        Err(_) => return Some(Err("not UTF-8 text".into())),
    };
    if text.is_empty() {
        return None;
    }
    Some(
        intake
            .parse(text)
            .map(Box::new)
            .map_err(|error| error.to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(id: &str) -> String {
        serde_json::json!({
            "id": id,
            "title": "Suspicious PowerShell",
            "source": "EDR",
            "rule": {"id": "r-1", "name": "PowerShell"},
            "category": "execution",
            "severity": "medium",
            "timestamp": "2026-11-26T10:00:00Z",
            "entities": [],
        })
        .to_string()
    }

    /// More lines than several parsing batches, some blank and some not alerts: each comes
    /// out once, in order, with its own line number.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn lines_parsed_in_batches_keep_their_order_and_numbers() {
        let lines = 10 * PARSE_BATCH + 7;
        let text: String = (1..=lines)
            .map(|number| match number {
                n if n % 10 == 0 => "\n".to_owned(),
                n if n % 7 == 0 => format!("not an alert {n}\n"),
                n => format!("{}\n", alert(&format!("a-{n}"))),
            })
            .collect();
        let intake = Arc::new(Intake::new(None, Vec::new()).unwrap());
        let read: Vec<Received> = read_lines(std::io::Cursor::new(text.into_bytes()), intake)
            .collect()
            .await;
        let expected: Vec<usize> = (1..=lines).filter(|n| n % 10 != 0).collect();
        let numbers: Vec<usize> = read.iter().map(|received| received.number).collect();
        assert_eq!(numbers, expected);
        for received in &read {
            match &received.line {
                Ok(alert) => assert_eq!(alert.id, format!("a-{}", received.number)),
                Err(error) => assert!(received.number % 7 == 0, "{}: {error}", received.number),
            }
        }
    }

    /// An input that fails to read is reported once, where it failed, and ends there.
    #[tokio::test]
    async fn a_read_error_is_reported_once_and_ends_the_input() {
        struct Failing;
        impl tokio::io::AsyncRead for Failing {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &mut tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Err(std::io::Error::other("the disk is gone")))
            }
        }
        let first = format!("{}\n", alert("a-1"));
        let input = tokio::io::BufReader::new(std::io::Cursor::new(first.into_bytes()).chain(Failing));
        let intake = Arc::new(Intake::new(None, Vec::new()).unwrap());
        let read: Vec<Received> = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            read_lines(input, intake).collect::<Vec<_>>(),
        )
        .await
        .expect("the input ends");
        assert_eq!(read.len(), 2);
        assert!(read[0].line.is_ok());
        assert_eq!(read[1].number, 2);
        assert!(matches!(&read[1].line, Err(error) if error.contains("the disk is gone")));
    }
}
