//! Operators' notes on a lead: list, add, edit and delete (the last two by the author only).

use chrono::{DateTime, Utc};
use leadcard_core::wire::{Note, Operator};
use sqlx::FromRow;

use super::{Store, StoreResult};
use crate::clock::{from_ms, to_ms};

/// What became of a request to delete a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteDeletion {
    Deleted,
    /// No such note on this lead.
    NotFound,
    /// The note is another operator's.
    NotAuthor,
}

/// What became of a request to edit a note.
#[derive(Debug, Clone, PartialEq)]
pub enum NoteEdit {
    Edited(Note),
    /// No such note on this lead.
    NotFound,
    /// The note is another operator's.
    NotAuthor,
}

#[derive(FromRow)]
struct NoteRow {
    id: i64,
    body: String,
    author_id: i64,
    author_name: String,
    created_at: i64,
    edited_at: Option<i64>,
}

impl From<NoteRow> for Note {
    fn from(r: NoteRow) -> Self {
        Note {
            id: r.id,
            body: r.body,
            author_id: r.author_id,
            author_name: r.author_name,
            created_at: from_ms(r.created_at),
            edited_at: r.edited_at.map(from_ms),
        }
    }
}

impl Store {
    /// The lead's notes, newest first; `None` when there is no such lead.
    pub async fn notes(&self, lead_id: i64) -> StoreResult<Option<Vec<Note>>> {
        let mut conn = self.pool.acquire().await?;
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM leads WHERE id = $1").bind(lead_id).fetch_optional(&mut *conn).await?;
        if exists.is_none() {
            return Ok(None);
        }
        let rows: Vec<NoteRow> = sqlx::query_as(
            "SELECT n.id, n.body, n.author_id, o.name AS author_name, n.created_at, n.edited_at \
             FROM lead_notes n JOIN operators o ON o.id = n.author_id \
             WHERE n.lead_id = $1 ORDER BY n.created_at DESC, n.id DESC",
        )
        .bind(lead_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(Some(rows.into_iter().map(Note::from).collect()))
    }

    /// Adds a note (already checked) by `author`; `None` when there is no such lead.
    pub async fn add_note(
        &self,
        lead_id: i64,
        author: &Operator,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Note>> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO lead_notes (lead_id, author_id, body, created_at) \
             SELECT id, $2, $3, $4 FROM leads WHERE id = $1 RETURNING id",
        )
        .bind(lead_id)
        .bind(author.id)
        .bind(body.to_owned())
        .bind(to_ms(now))
        .fetch_optional(&self.pool)
        .await?;
        Ok(id.map(|id| Note {
            id,
            body: body.to_owned(),
            author_id: author.id,
            author_name: author.name.clone(),
            created_at: from_ms(to_ms(now)),
            edited_at: None,
        }))
    }

    /// Replaces the body (already checked) of a note of the lead if `author_id` wrote it, and
    /// records when; the note as it is now.
    pub async fn edit_note(
        &self,
        lead_id: i64,
        note_id: i64,
        author_id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<NoteEdit> {
        let mut tx = self.begin_write().await?;
        let edited = sqlx::query(
            "UPDATE lead_notes SET body = $1, edited_at = $2 WHERE id = $3 AND lead_id = $4 AND author_id = $5",
        )
        .bind(body.to_owned())
        .bind(to_ms(now))
        .bind(note_id)
        .bind(lead_id)
        .bind(author_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let row: Option<NoteRow> = sqlx::query_as(
            "SELECT n.id, n.body, n.author_id, o.name AS author_name, n.created_at, n.edited_at \
             FROM lead_notes n JOIN operators o ON o.id = n.author_id WHERE n.id = $1 AND n.lead_id = $2",
        )
        .bind(note_id)
        .bind(lead_id)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(match row {
            Some(row) if edited > 0 => NoteEdit::Edited(row.into()),
            Some(_) => NoteEdit::NotAuthor,
            None => NoteEdit::NotFound,
        })
    }

    /// Deletes a note of the lead if `author_id` wrote it.
    pub async fn delete_note(&self, lead_id: i64, note_id: i64, author_id: i64) -> StoreResult<NoteDeletion> {
        let mut conn = self.pool.acquire().await?;
        let deleted = sqlx::query("DELETE FROM lead_notes WHERE id = $1 AND lead_id = $2 AND author_id = $3")
            .bind(note_id)
            .bind(lead_id)
            .bind(author_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if deleted > 0 {
            return Ok(NoteDeletion::Deleted);
        }
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM lead_notes WHERE id = $1 AND lead_id = $2")
            .bind(note_id)
            .bind(lead_id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(if exists.is_some() { NoteDeletion::NotAuthor } else { NoteDeletion::NotFound })
    }
}
