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

use std::future::Future;

use leadcard_core::import::{
    ImportRow, Mapping, PREVIEW_ROWS, PreviewRow, Target, apply_map_args, check_row, guess_mapping,
};
use leadcard_core::locale::{Message, k};
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::language::said;
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
    Header { line: u64, message: Message },
    #[error("{0}")]
    Mapping(Message),
    #[error("the import stopped: {0}")]
    Store(#[from] StoreError),
}

impl FileError {
    /// What the operator reads, as a sentence.
    pub fn message(&self) -> Message {
        match self {
            FileError::Io(e) => Message::new(k::ERROR_IMPORT_UNREADABLE).arg("reason", e),
            FileError::Empty => k::ERROR_IMPORT_EMPTY.into(),
            FileError::Delimiter(c) => Message::new(k::ERROR_IMPORT_DELIMITER).arg("char", format!("{c:?}")),
            FileError::Header { line, message } => {
                Message::new(k::ERROR_IMPORT_LINE).arg("line", line).with("reason", message.clone())
            }
            FileError::Mapping(message) => message.clone(),
            FileError::Store(e) => Message::new(k::ERROR_IMPORT_STOPPED).arg("reason", e),
        }
    }
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
    /// The whole mapping, as the operator chose it in the page (checked with
    /// `leadcard_core::import::check_mapping`); `map` is then not used.
    pub mapping: Option<Mapping>,
    pub on_match: OnMatch,
    /// Check every row, write nothing.
    pub dry_run: bool,
}

/// A batch from the reader: checked rows with their lines, and the refused ones.
struct Batch {
    rows: Vec<(u64, ImportRow)>,
    refused: Vec<(u64, Message)>,
    read: u64,
}

/// The header and the mapping of a file (the guess, changed by `map`).
pub fn read_header(path: &Path, map: &[String]) -> Result<(Vec<String>, Mapping), FileError> {
    let mut reader = csv_reader(File::open(path)?);
    let header = header_of(&mut reader)?;
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mapping =
        apply_map_args(&names, guess_mapping(&names), map).map_err(|e| FileError::Mapping(Message::plain(e)))?;
    Ok((header, mapping))
}

/// The header, the first [`PREVIEW_ROWS`] rows (as read, cells that are not UTF-8 shown with
/// replacement characters) and the guessed mapping of a file, for the page's preview. The
/// file's own faults (empty, not comma-separated, a header that is not UTF-8) are errors naming
/// the line; a bad row is shown as it is (the dry run names it).
pub fn preview(path: &Path) -> Result<(Vec<String>, Vec<PreviewRow>, Mapping), FileError> {
    let lines = Lines::default();
    let mut reader = csv_reader(CountingLines { inner: File::open(path)?, offset: 0, lines: lines.clone() });
    let header = header_of(&mut reader)?;
    let names: Vec<&str> = header.iter().map(String::as_str).collect();
    let mapping = guess_mapping(&names);
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    while rows.len() < PREVIEW_ROWS {
        let fallback = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.line_at(record.position().map_or(fallback, csv::Position::byte));
                rows.push(PreviewRow {
                    line,
                    // A NUL is shown as a replacement character too (no text of the API holds
                    // one); the dry run refuses the row by the core checks.
                    cells: record.iter().map(|c| String::from_utf8_lossy(c).replace('\0', "\u{fffd}")).collect(),
                });
            }
            // The rest cannot be read as rows: the preview ends here, the dry run says why.
            Err(_) => break,
        }
    }
    Ok((header, rows, mapping))
}

/// About how many data rows a file has (its line breaks, less the header's): the progress bar's
/// total until the import has read it all. A cell may hold line breaks, so it can be more.
pub fn estimate_rows(path: &Path) -> std::io::Result<u64> {
    let mut file = File::open(path)?;
    let mut buffer = vec![0u8; 1 << 16];
    let (mut breaks, mut last) = (0u64, b'\n');
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        breaks += buffer[..n].iter().filter(|b| **b == b'\n').count() as u64;
        last = buffer[n - 1];
    }
    // A last line without its break still counts.
    let lines = breaks + u64::from(last != b'\n');
    Ok(lines.saturating_sub(1))
}

fn csv_reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(input)
}

fn header_of<R: Read>(reader: &mut csv::Reader<R>) -> Result<Vec<String>, FileError> {
    let mut record = csv::ByteRecord::new();
    if !reader
        .read_byte_record(&mut record)
        .map_err(|e| FileError::Header { line: 1, message: Message::plain(e.to_string()) })?
    {
        return Err(FileError::Empty);
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, cell) in record.iter().enumerate() {
        let cell = std::str::from_utf8(cell)
            .map_err(|_| FileError::Header { line: 1, message: k::ERROR_IMPORT_NOT_UTF8.into() })?;
        if cell.contains('\0') {
            return Err(FileError::Header { line: 1, message: k::ERROR_IMPORT_HEADER_NUL.into() });
        }
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
                batch.refused.push((line, Message::new(k::ERROR_IMPORT_NOT_CSV).arg("reason", &e)));
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
fn row_of(header: &[&str], mapping: &[Target], record: &csv::ByteRecord) -> Result<ImportRow, Message> {
    if record.len() != header.len() {
        return Err(Message::new(k::ERROR_IMPORT_ROW_COLUMNS).arg("found", record.len()).arg("header", header.len()));
    }
    let cells: Vec<&str> = record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<_, _>>()
        .map_err(|_| Message::new(k::ERROR_IMPORT_ROW_NOT_UTF8))?;
    check_row(header, mapping, &cells)
}

/// Told after every batch of an import: the report so far (its `problems` may be taken away:
/// they are not looked at again) and the leads the batch created or updated (already committed).
/// Returns whether to go on (false: stop; what was written stays).
pub trait ImportHook: Send {
    fn batch(&mut self, report: &mut ImportReport, changed: Vec<i64>) -> impl Future<Output = bool> + Send;
}

/// A closure that hears the report after every batch (the command line's progress).
struct Progress<F>(F);

impl<F: FnMut(&ImportReport) -> bool + Send> ImportHook for Progress<F> {
    async fn batch(&mut self, report: &mut ImportReport, _changed: Vec<i64>) -> bool {
        (self.0)(report)
    }
}

/// Imports (or dry-runs) a file; `progress` hears the report after every batch and says whether to
/// go on (false: cancelled; what was written stays).
pub async fn import_file(
    store: &Store,
    clock: &Clock,
    path: &Path,
    options: &ImportOptions,
    progress: impl FnMut(&ImportReport) -> bool + Send,
) -> Result<ImportReport, FileError> {
    import_with(store, clock, path, options, &mut Progress(progress)).await
}

/// [`import_file`] with a hook that also hears which leads each batch changed (the page's import,
/// a job: its progress, report, segments and live updates).
pub async fn import_with(
    store: &Store,
    clock: &Clock,
    path: &Path,
    options: &ImportOptions,
    hook: &mut impl ImportHook,
) -> Result<ImportReport, FileError> {
    let (header, mapping) = match &options.mapping {
        Some(mapping) => {
            let mut reader = csv_reader(File::open(path)?);
            (header_of(&mut reader)?, mapping.clone())
        }
        None => read_header(path, &options.map)?,
    };
    if mapping.len() != header.len() {
        return Err(FileError::Mapping(
            Message::new(k::ERROR_IMPORT_COLUMNS).arg("file", header.len()).arg("mapping", mapping.len()),
        ));
    }
    let (sender, mut receiver) = mpsc::channel(BATCHES_AHEAD);
    let owned = path.to_owned();
    let reader = std::thread::spawn(move || read_rows(&owned, header, mapping, sender));
    let mut report = ImportReport::default();
    while let Some(batch) = receiver.recv().await {
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                drop(receiver);
                let _ = reader.join();
                return Err(e);
            }
        };
        report.rows += batch.read;
        for (line, reason) in batch.refused {
            report.problem(line, said(&reason));
        }
        let mut changed = Vec::new();
        if !options.dry_run && !batch.rows.is_empty() {
            write_batch(store, clock, &batch.rows, options.on_match, &mut report, &mut changed).await?;
        }
        if !hook.batch(&mut report, changed).await {
            break;
        }
    }
    drop(receiver);
    let _ = reader.join();
    report.problems.sort_by_key(|(line, _)| *line);
    Ok(report)
}

/// A report's line as the command line prints it: "line 3: ...".
pub fn problem_line(line: u64, reason: &str) -> String {
    Message::new(k::ERROR_IMPORT_ROW).arg("line", line).arg("reason", reason).to_string()
}

/// Writes a batch in one transaction; when the database refuses it, row by row, so only the bad
/// row is skipped (with the database's reason). The leads created or updated go to `changed`.
async fn write_batch(
    store: &Store,
    clock: &Clock,
    rows: &[(u64, ImportRow)],
    on_match: OnMatch,
    report: &mut ImportReport,
    changed: &mut Vec<i64>,
) -> Result<(), FileError> {
    let checked: Vec<ImportRow> = rows.iter().map(|(_, row)| row.clone()).collect();
    match store.import_rows(&checked, on_match, clock.now()).await {
        Ok(outcomes) => rows.iter().zip(&outcomes).for_each(|((line, _), o)| count(report, changed, *line, o)),
        Err(e) if !refuses_rows(&e) => return Err(e.into()),
        Err(e) if rows.len() == 1 => report.problem(rows[0].0, e.to_string()),
        Err(_) => {
            for (line, row) in rows {
                match store.import_rows(std::slice::from_ref(row), on_match, clock.now()).await {
                    Ok(outcomes) => outcomes.iter().for_each(|o| count(report, changed, *line, o)),
                    Err(e) if !refuses_rows(&e) => return Err(e.into()),
                    Err(e) => report.problem(*line, e.to_string()),
                }
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

fn count(report: &mut ImportReport, changed: &mut Vec<i64>, line: u64, outcome: &RowOutcome) {
    match outcome {
        RowOutcome::Created(id) => {
            report.created += 1;
            changed.push(*id);
        }
        RowOutcome::Updated(id) => {
            report.updated += 1;
            changed.push(*id);
        }
        RowOutcome::Skipped(id) => {
            report.skipped += 1;
            if report.problems.len() < PROBLEMS_KEPT {
                report.problems.push((line, said(&Message::new(k::ERROR_IMPORT_SKIPPED_MATCH).arg("id", id))));
            }
        }
    }
}

/// How long an uploaded file waits to be imported.
pub const UPLOAD_KEPT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Files uploaded for import (`POST /api/v1/imports`): each in the system's temporary directory
/// under a random name, until it has been imported or for [`UPLOAD_KEPT`].
#[derive(Debug)]
pub struct Uploads {
    dir: std::path::PathBuf,
    /// The largest file taken, in bytes.
    pub max_bytes: u64,
}

impl Uploads {
    pub fn new(max_bytes: u64) -> Uploads {
        Uploads { dir: std::env::temp_dir().join("leadcard-imports"), max_bytes }
    }

    /// A new upload's id and where to write it.
    pub fn create(&self) -> std::io::Result<(String, std::path::PathBuf)> {
        std::fs::create_dir_all(&self.dir)?;
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let path = self.dir.join(format!("{id}.csv"));
        Ok((id, path))
    }

    /// The file of upload `id`, if it is still there (an id is 32 hex digits, nothing else).
    pub fn path(&self, id: &str) -> Option<std::path::PathBuf> {
        let valid = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        let path = self.dir.join(format!("{id}.csv"));
        (valid && path.is_file()).then_some(path)
    }

    /// The name the file was uploaded under, kept beside it.
    pub fn name_of(&self, id: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(format!("{id}.name"))).ok()
    }

    pub fn set_name(&self, id: &str, name: &str) -> std::io::Result<()> {
        std::fs::write(self.dir.join(format!("{id}.name")), name)
    }

    /// Removes upload `id`.
    pub fn remove(&self, id: &str) {
        for ext in ["csv", "name"] {
            let _ = std::fs::remove_file(self.dir.join(format!("{id}.{ext}")));
        }
    }

    /// Removes uploads older than [`UPLOAD_KEPT`].
    pub fn forget_old(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return };
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|at| at.elapsed().is_ok_and(|age| age > UPLOAD_KEPT));
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
