//! Parallel parsing of one export file, delivered in line order.
//!
//! A reader thread cuts the file into batches of lines, worker threads parse batches (the
//! costly, per-line part), and the caller's thread receives them in their original order to
//! apply the rules that need state. Channels are bounded, so memory stays a few batches deep
//! whatever the file size.

use super::reader::{is_blank, Line, LineReader};
use crate::model::limits::LINE_MAX;
use crate::model::{parse_line, ExportRecord, FieldProblem, Parsed, Rule};
use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;

/// Lines per batch: large enough to amortize channel costs, small enough to stay cache-warm.
const BATCH_LINES: usize = 2048;
/// Batches in flight per channel.
const QUEUE_DEPTH: usize = 4;

enum Slot {
    Text { loc: Loc, start: usize, end: usize },
    TooLong { loc: Loc },
}

/// Where a record is in its file: the line number, and the byte range of its text (in the
/// decompressed stream), so it can be read again without reading the lines before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// The 1-based line number.
    pub(crate) line: u64,
    /// The offset of the line's first byte.
    pub(crate) offset: u64,
    /// The line's length without its line ending.
    pub(crate) len: u64,
}

struct Batch {
    seq: u64,
    data: Vec<u8>,
    slots: Vec<Slot>,
    /// A read failure after these lines: (last line read, error).
    error: Option<(u64, io::Error)>,
}

struct ParsedBatch<T> {
    seq: u64,
    items: Vec<(Loc, Parsed<T>)>,
    error: Option<(u64, io::Error)>,
}

/// A read failure: the last line read before it and the error.
pub(crate) type ReadFailure = (u64, io::Error);

/// Parses every non-blank line of `reader` as `T` on `workers` threads and calls `each` with
/// the line's location and the outcome, in line order.
pub(crate) fn parse_in_order<T, R>(
    reader: LineReader<R>,
    workers: usize,
    mut each: impl FnMut(Loc, Parsed<T>),
) -> Result<(), ReadFailure>
where
    T: ExportRecord + Send,
    R: BufRead + Send,
{
    thread::scope(|scope| {
        let (batch_tx, batch_rx) = sync_channel::<Batch>(QUEUE_DEPTH);
        let (parsed_tx, parsed_rx) = sync_channel::<ParsedBatch<T>>(QUEUE_DEPTH);
        scope.spawn(move || read_batches(reader, |b| batch_tx.send(b).is_ok()));
        let shared_rx = Arc::new(Mutex::new(batch_rx));
        for _ in 0..workers.max(1) {
            let rx = Arc::clone(&shared_rx);
            let tx = parsed_tx.clone();
            scope.spawn(move || parse_batches::<T>(&rx, |p| tx.send(p).is_ok()));
        }
        drop(parsed_tx);
        deliver_in_order(&parsed_rx, &mut each)
    })
}

fn read_batches<R: BufRead>(mut reader: LineReader<R>, mut send: impl FnMut(Batch) -> bool) {
    let mut seq = 0;
    loop {
        let mut batch = Batch {
            seq,
            data: Vec::new(),
            slots: Vec::with_capacity(BATCH_LINES),
            error: None,
        };
        let mut at_end = false;
        while batch.slots.len() < BATCH_LINES {
            let last = reader.line_no();
            match reader.next_line() {
                Ok(None) => {
                    at_end = true;
                    break;
                }
                Ok(Some((_, Line::Text(bytes)))) if is_blank(bytes) => {}
                Ok(Some((line, Line::Text(bytes)))) => {
                    let start = batch.data.len();
                    let len = bytes.len() as u64;
                    batch.data.extend_from_slice(bytes);
                    let end = batch.data.len();
                    let offset = reader.line_offset();
                    let loc = Loc { line, offset, len };
                    batch.slots.push(Slot::Text { loc, start, end });
                }
                Ok(Some((line, Line::TooLong(len)))) => {
                    let offset = reader.line_offset();
                    let loc = Loc { line, offset, len };
                    batch.slots.push(Slot::TooLong { loc })
                }
                Err(e) => {
                    batch.error = Some((last, e));
                    at_end = true;
                    break;
                }
            }
        }
        if !send(batch) || at_end {
            return;
        }
        seq += 1;
    }
}

fn parse_batches<T: ExportRecord>(
    rx: &Mutex<Receiver<Batch>>,
    mut send: impl FnMut(ParsedBatch<T>) -> bool,
) {
    loop {
        // A poisoned lock means another worker panicked; stop and let the scope report it.
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        let items = batch
            .slots
            .iter()
            .map(|slot| match *slot {
                Slot::Text { loc, start, end } => (loc, parse_line::<T>(&batch.data[start..end])),
                Slot::TooLong { loc } => (loc, too_long(loc.len)),
            })
            .collect();
        let parsed = ParsedBatch {
            seq: batch.seq,
            items,
            error: batch.error,
        };
        if !send(parsed) {
            return;
        }
    }
}

fn too_long<T>(len: u64) -> Parsed<T> {
    Parsed {
        label: "-".into(),
        key: None,
        record: None,
        tombstone: None,
        problems: vec![FieldProblem::new(
            Rule::LineTooLong,
            "",
            format!("line is {len} bytes, the limit is {LINE_MAX}"),
        )],
        unknown_fields: Vec::new(),
    }
}

fn deliver_in_order<T>(
    rx: &Receiver<ParsedBatch<T>>,
    each: &mut impl FnMut(Loc, Parsed<T>),
) -> Result<(), ReadFailure> {
    let mut waiting: BTreeMap<u64, ParsedBatch<T>> = BTreeMap::new();
    let mut next = 0;
    for batch in rx {
        waiting.insert(batch.seq, batch);
        while let Some(batch) = waiting.remove(&next) {
            for (loc, parsed) in batch.items {
                each(loc, parsed);
            }
            if let Some(failure) = batch.error {
                return Err(failure);
            }
            next += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Account;
    use std::io::Cursor;

    #[test]
    fn delivers_every_line_in_order_across_batches() {
        let mut input = String::new();
        for i in 0..(BATCH_LINES * 3 + 17) {
            input.push_str(&format!("{{\"id\": \"u{i}\"}}\n"));
            if i % 100 == 0 {
                input.push('\n');
            }
        }
        let reader = LineReader::new(Cursor::new(input.into_bytes()));
        let mut seen = Vec::new();
        parse_in_order::<Account, _>(reader, 2, |loc, p| {
            seen.push((loc.line, p.record.expect("valid").id));
        })
        .unwrap();
        assert_eq!(seen.len(), BATCH_LINES * 3 + 17);
        assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(seen[1], (3, "u1".to_string()));
    }

    #[test]
    fn overlong_lines_become_problems() {
        let input = format!("{{\"id\": \"u1\"}}\n{}\n", "x".repeat(LINE_MAX + 1));
        let reader = LineReader::new(Cursor::new(input.into_bytes()));
        let mut rules = Vec::new();
        parse_in_order::<Account, _>(reader, 1, |_, p| {
            rules.extend(p.problems.iter().map(|x| x.rule))
        })
        .unwrap();
        assert_eq!(rules, vec![Rule::LineTooLong]);
    }
}
