//! A CSV import, streamed: a thread reads the file record by record (never whole) and hands
//! batches of checked rows to the writer, which stores each batch in one transaction. A row the
//! core checks refuse is skipped with its line and reason and never stops the others; a dry run
//! checks every row and writes nothing. `leadcard-server import FILE --map ...` runs it.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use leadcard_core::import::{ImportRow, Mapping, Target, apply_map_args, check_row, guess_mapping};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::store::{OnMatch, RowOutcome, Store, StoreError};

/// Rows per transaction.
const BATCH: usize = 500;
/// Batches read ahead of the writer; beyond them the reader waits, so memory stays bounded.
const BATCHES_AHEAD: usize = 2;
/// Problems kept to report one by one; beyond them only counted.
pub const PROBLEMS_KEPT: usize = 1_000;

/// Why a file cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the file cannot be read: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty: it needs a header row naming its columns")]
    Empty,
    #[error(
        "line 1 (the header) has one column holding {0:?}: the file seems to separate columns with {0:?}, not commas; save it as comma-separated CSV"
    )]
    Delimiter(char),
    #[error("line {line}: {message}")]
    Header { line: u64, message: String },
    #[error("{0}")]
    Mapping(String),
    #[error("the import stopped: {0}")]
    Store(#[from] StoreError),
}

/// What an import did (or a dry run would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub skipped: u64,
    /// Rows refused (by the checks or by the database), the first [`PROBLEMS_KEPT`] with their
    /// line and reason.
    pub failed: u64,
    pub problems: Vec<(u64, String)>,
}

impl ImportReport {
    fn problem(&mut self, line: u64, reason: String) {
        self.failed += 1;
        if self.problems.len() < PROBLEMS_KEPT {
            self.problems.push((line, reason));
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `COLUMN=TARGET` changes to the guessed mapping.
    pub map: Vec<String>,
    pub on_match: OnMatch,
    /// Check every row, write nothing.
    pub dry_run: bool,
}

/// A batch from the reader: checked rows with their lines, and the refused ones.
struct Batch {
    rows: Vec<(u64, ImportRow)>,
    refused: Vec<(u64, String)>,
    read: u64,
}

/// The header and the mapping of a file (the guess, changed by `map`).
pub fn read_header(path: &Path, map: &[String]) -> Result<(Vec<String>, Mapping), FileError> {
    let mut reader = csv_reader(File::open(path)?);
    let header = header_of(&mut reader)?;
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mapping = apply_map_args(&names, guess_mapping(&names), map).map_err(FileError::Mapping)?;
    Ok((header, mapping))
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input)
}

fn header_of<R: Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, FileError> {
    let mut record = csv::ByteRecord::new();
    if !reader.read_byte_record(&mut record).map_err(|e| FileError::Header { line: 1, message: e.to_string() })? {
        return Err(FileError::Empty);
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        let cell = std::str::from_utf8(cell).map_err(|_| FileError::Header {
            line: 1,
            message: "the header is not UTF-8; save the file as UTF-8".to_owned(),
        })?;
        // A byte-order mark (an export for Excel) is no part of the first name.
        let cell = if i == 0 { cell.trim_start_matches('\u{feff}') } else { cell };
        header.push(cell.trim().to_owned());
    }
    if header.iter().all(String::is_empty) {
        return Err(FileError::Empty);
    }
    if let [only] = header.as_slice()
        && let Some(separator) = [';', '\t', '|'].into_iter().find(|c| only.contains(*c))
    {
        return Err(FileError::Delimiter(separator));
    }
    Ok(header)
}

/// Reads the file after its header, checking each row, and sends batches (on a thread of its own:
/// reading is blocking IO).
fn read_rows(path: &Path, header: Vec<String>, mapping: Mapping, sender: mpsc::Sender<Result<Batch, FileError>>) {
    if let Err(e) = send_rows(path, &header, &mapping, &sender) {
        let _ = sender.blocking_send(Err(e));
    }
}

fn send_rows(
    path: &Path,
    header: &[String],
    mapping: &[Target],
    sender: &mpsc::Sender<Result<Batch, FileError>>,
) -> Result<(), FileError> {
    let lines = Lines::default();
    let mut reader = csv_reader(CountingLines { inner: File::open(path)?, offset: 0, lines: lines.clone() });
    header_of(&mut reader)?;
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut batch = Batch { rows: Vec::with_capacity(BATCH), refused: Vec::new(), read: 0 };
    let mut record = csv::ByteRecord::new();
    loop {
        let fallback = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line_at(record.position().map_or(fallback, csv::Position::byte));
                batch.read += 1;
                match row_of(&names, mapping, &record) {
                    Ok(row) => batch.rows.push((line, row)),
                    Err(reason) => batch.refused.push((line, reason)),
                }
            }
            Err(e) => {
                let line = lines.line_at(e.position().map_or(fallback, csv::Position::byte));
                batch.read += 1;
                batch.refused.push((line, format!("cannot be read as CSV: {e}")));
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }) {
                    break;
                }
            }
        }
        if batch.rows.len() + batch.refused.len() >= BATCH {
            let full =
                std::mem::replace(&mut batch, Batch { rows: Vec::with_capacity(BATCH), refused: Vec::new(), read: 0 });
            if sender.blocking_send(Ok(full)).is_err() {
                return Ok(());
            }
        }
    }
    let _ = sender.blocking_send(Ok(batch));
    Ok(())
}

/// The line numbers of a file as it is read: where each line break is, from the reader (which
/// reads ahead of the parser, so only the breaks of its buffer are kept at a time).
#[derive(Clone, Default)]
struct Lines(Rc<RefCell<(VecDeque<u64>, u64)>>);

impl Lines {
    /// The line of the record starting at byte `at`: one more than the breaks before it (and the
    /// one at it: after a CRLF the parser's record starts at the LF it has not yet consumed).
    fn line_at(&self, at: u64) -> u64 {
        let mut state = self.0.borrow_mut();
        let (breaks, passed) = &mut *state;
        while breaks.front().is_some_and(|b| *b <= at) {
            breaks.pop_front();
            *passed += 1;
        }
        *passed + 1
    }
}

/// A file that tells [`Lines`] where its line breaks are.
struct CountingLines<R> {
    inner: R,
    offset: u64,
    lines: Lines,
}

impl<R: Read> Read for CountingLines<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.lines.0.borrow_mut();
        for (i, _) in buf[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
            state.0.push_back(self.offset + i as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// One record as a checked row: the cells as UTF-8, as many as the header names, by the mapping.
fn row_of(header: &[&str], mapping: &[Target], record: &csv::ByteRecord) -> Result<ImportRow, String> {
    if record.len() != header.len() {
        return Err(format!(
            "has {} columns where the header has {} (a quote left open, or a separator in an unquoted cell?)",
            record.len(),
            header.len()
        ));
    }
    let cells: Vec<&str> = record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<_, _>>()
        .map_err(|_| "is not UTF-8; save the file as UTF-8".to_owned())?;
    check_row(header, mapping, &cells)
}

/// Imports (or dry-runs) a file; `progress` hears the report after every batch and says whether to
/// go on (false: cancelled; what was written stays).
pub async fn import_file(
    store: &Store,
    clock: &Clock,
    path: &Path,
    options: &ImportOptions,
    mut progress: impl FnMut(&ImportReport) -> bool,
) -> Result<ImportReport, FileError> {
    let (header, mapping) = read_header(path, &options.map)?;
    let (sender, mut receiver) = mpsc::channel(BATCHES_AHEAD);
    let owned = path.to_owned();
    let reader = std::thread::spawn(move || read_rows(&owned, header, mapping, sender));
    let mut report = ImportReport::default();
    while let Some(batch) = receiver.recv().await {
        let batch = batch?;
        report.rows += batch.read;
        for (line, reason) in batch.refused {
            report.problem(line, format!("line {line}: {reason}"));
        }
        if !options.dry_run && !batch.rows.is_empty() {
            write_batch(store, clock, &batch.rows, options.on_match, &mut report).await?;
        }
        if !progress(&report) {
            break;
        }
    }
    drop(receiver);
    let _ = reader.join();
    report.problems.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// Writes a batch in one transaction; when the database refuses it, row by row, so only the bad
/// row is skipped (with the database's reason).
async fn write_batch(
    store: &Store,
    clock: &Clock,
    rows: &[(u64, ImportRow)],
    on_match: OnMatch,
    report: &mut ImportReport,
) -> Result<(), FileError> {
    let checked: Vec<ImportRow> = rows.iter().map(|(_, row)| row.clone()).collect();
    match store.import_rows(&checked, on_match, clock.now()).await {
        Ok(outcomes) => rows.iter().zip(&outcomes).for_each(|((line, _), o)| count(report, *line, o)),
        Err(e) if !refuses_rows(&e) => return Err(e.into()),
        Err(e) if rows.len() == 1 => report.problem(rows[0].0, format!("line {}: {e}", rows[0].0)),
        Err(_) => {
            for row in rows {
                Box::pin(write_batch(store, clock, std::slice::from_ref(row), on_match, report)).await?;
            }
        }
    }
    Ok(())
}

/// Whether the database refused the rows themselves (rather than being unreachable).
fn refuses_rows(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Database(sqlx::Error::Database(_)) | StoreError::InvalidProperty { .. } | StoreError::Invalid(_)
    )
}

fn count(report: &mut ImportReport, line: u64, outcome: &RowOutcome) {
    match outcome {
        RowOutcome::Created(_) => report.created += 1,
        RowOutcome::Updated(_) => report.updated += 1,
        RowOutcome::Skipped(id) => {
            report.skipped += 1;
            if report.problems.len() < PROBLEMS_KEPT {
                report.problems.push((line, format!("line {line}: skipped, it matches lead {id}")));
            }
        }
    }
}
