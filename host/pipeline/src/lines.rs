//! Reading alerts: one JSON document per line, each parsed by the intake, numbered, and
//! timed from when it was read (where its time to respond starts).

use super::batch::Received;
use futures::Stream;
use palisade_alert::Alert;
use palisade_alert::intake::{Intake, IntakeError, MAX_ALERT_BYTES};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// Every line of `input` as it is read: blank lines are skipped, and a line that is not an
/// alert (too long, not UTF-8, not a document the intake understands) is `Err` with why.
pub fn read_lines(
    input: impl AsyncBufRead + Unpin + Send + 'static,
    intake: Arc<Intake>,
) -> impl Stream<Item = Received> + Send + 'static {
    futures::stream::unfold((input, 0usize), move |(mut input, mut number)| {
        let intake = intake.clone();
        async move {
            loop {
                number += 1;
                let read = read_line(&mut input).await;
                let at = Instant::now();
                let line = match read {
                    Ok(ReadLine::End) => return None,
                    Ok(ReadLine::Line(bytes)) => match parse(&intake, &bytes) {
                        Some(line) => line,
                        None => continue,
                    },
                    Ok(ReadLine::TooLong(size)) => Err(IntakeError::TooLarge {
                        size,
                        limit: MAX_ALERT_BYTES,
                    }
                    .to_string()),
                    Err(error) => Err(format!("cannot read: {error}")),
                };
                return Some((Received { number, at, line }, (input, number)));
            }
        }
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
