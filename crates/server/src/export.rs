//! A CSV export of leads, streamed: batches of leads read in id order become RFC 4180 rows (CRLF,
//! quoted where needed, UTF-8, optionally after a byte-order mark for Excel) that go out as they
//! are written, so memory holds one batch whatever the number of leads. Every cell passes
//! `leadcard_core::export::neutralise` (no formula runs when the file is opened).

use axum::body::Bytes;
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{Stream, StreamExt};
use leadcard_core::export::{ExportColumn, TAG_SEPARATOR, neutralise, property_cell};
use tokio::sync::mpsc;

use crate::store::{ExportLead, ExportScope, Store, StoreError};

/// Leads per batch: one read of the database and one chunk of the answer.
pub const BATCH: u32 = 1_000;
/// Chunks written ahead of a slow client; beyond them the export waits for it.
const CHUNKS_AHEAD: usize = 2;
/// UTF-8's byte-order mark, which tells Excel the file's encoding.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What to export and how.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub scope: ExportScope,
    pub columns: Vec<ExportColumn>,
    pub bom: bool,
}

impl ExportRequest {
    fn property_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter_map(|c| match c {
                ExportColumn::Property(name) => Some(name.as_str().to_owned()),
                _ => None,
            })
            .collect()
    }
}

/// The rows of some leads as CSV text (with the header row first when `header`).
fn write_rows(columns: &[ExportColumn], leads: &[ExportLead], header: bool, bom: bool) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(leads.len() * 64 + 64);
    if bom {
        out.extend_from_slice(BOM);
    }
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(out);
    let failed = |e: csv::Error| StoreError::Invalid(format!("a CSV row cannot be written: {e}"));
    if header {
        writer.write_record(columns.iter().map(|c| neutralise(c.header().to_owned()))).map_err(failed)?;
    }
    for lead in leads {
        writer.write_record(columns.iter().map(|column| neutralise(cell(column, lead)))).map_err(failed)?;
    }
    writer.into_inner().map_err(|e| StoreError::Invalid(format!("a CSV row cannot be written: {e}")))
}

fn cell(column: &ExportColumn, lead: &ExportLead) -> String {
    match column {
        ExportColumn::Id => lead.id.to_string(),
        ExportColumn::Created => lead.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        ExportColumn::Tags => lead.tags.join(TAG_SEPARATOR),
        ExportColumn::Status => lead.status.clone().unwrap_or_default(),
        ExportColumn::Property(name) => lead.properties.get(name.as_str()).map(property_cell).unwrap_or_default(),
    }
}

/// Starts an export: the first batch is read (and any failure returned) before anything is
/// sent; the rest are read and sent by a task as the client takes them. A failure after the
/// start ends the body with an error, so the client sees a broken download, never a short file
/// that looks whole.
pub async fn start(
    store: Store,
    request: ExportRequest,
    now: DateTime<Utc>,
) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + use<>, StoreError> {
    let names = request.property_names();
    let first = store.export_batch(&request.scope, &names, 0, BATCH, now).await?;
    let head = write_rows(&request.columns, &first, true, request.bom)?;
    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(CHUNKS_AHEAD);
    tokio::spawn(async move {
        if sender.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        let mut last = match first.last() {
            Some(lead) if first.len() == BATCH as usize => lead.id,
            _ => return,
        };
        loop {
            let batch = match store.export_batch(&request.scope, &names, last, BATCH, now).await {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "an export stopped");
                    let _ = sender.send(Err(std::io::Error::other("the export stopped"))).await;
                    return;
                }
            };
            let chunk = match write_rows(&request.columns, &batch, false, false) {
                Ok(chunk) => chunk,
                Err(e) => {
                    tracing::error!(error = %e, "an export stopped");
                    let _ = sender.send(Err(std::io::Error::other("the export stopped"))).await;
                    return;
                }
            };
            // The client went away: stop reading.
            if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
                return;
            }
            match batch.last() {
                Some(lead) if batch.len() == BATCH as usize => last = lead.id,
                _ => return,
            }
        }
    });
    // Fused: the body may be polled once more after its end (the compression layer does), which
    // a bare `unfold` answers with a panic.
    Ok(futures::stream::unfold(
        receiver,
        |mut receiver| async move { receiver.recv().await.map(|chunk| (chunk, receiver)) },
    )
    .fuse())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use leadcard_core::PropertyValue;
    use leadcard_core::export::parse_columns;

    use super::*;

    #[test]
    fn rows_are_rfc_4180_with_neutralised_cells() {
        let columns = parse_columns(Some("id,$name,plan,tags")).unwrap();
        let lead = ExportLead {
            id: 7,
            created_at: Utc::now(),
            status: None,
            tags: vec!["a".into(), "=b".into()],
            properties: HashMap::from([
                ("$name".to_owned(), PropertyValue::Text("=cmd|' /C calc'!A0".into())),
                ("plan".to_owned(), PropertyValue::Text("say \"hi\",\r\nbye".into())),
            ]),
        };
        let text = String::from_utf8(write_rows(&columns, &[lead], true, true).unwrap()).unwrap();
        assert_eq!(text, "\u{feff}id,$name,plan,tags\r\n7,'=cmd|' /C calc'!A0,\"say \"\"hi\"\",\r\nbye\",a; =b\r\n");
    }
}
