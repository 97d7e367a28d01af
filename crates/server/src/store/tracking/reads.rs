//! What the Visitors page and the card's events tab read: the leads on the site now, a lead's
//! events (keyset pages) and their groups, the pages of its latest visit, and events added by hand.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use leadcard_core::event::EventAggregate;
use leadcard_core::tracking::{
    EventGroup, EventPage, EventSource, LeadEvent, SessionPage, SessionPages, SiteSession, Visitor, VisitorList,
    pages_until,
};
use leadcard_core::{Presence, PropertyValue};
use sqlx::FromRow;

use super::super::batch::insert_rows;
use super::super::leads::{AGGREGATES_INSERT, AGGREGATES_MERGE, aggregate_row};
use super::super::sql::Sql;
use super::super::{Store, StoreError, StoreResult};
use super::{event_properties_json, parse_event_properties};
use crate::clock::{from_ms, to_ms};

#[derive(FromRow)]
struct VisitorRow {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
    last_heartbeat_at: Option<i64>,
    last_active_at: Option<i64>,
    current_url: Option<String>,
    current_title: Option<String>,
    started_at: Option<i64>,
    page_views: Option<i64>,
}

#[derive(FromRow)]
struct EventRow {
    id: i64,
    name: String,
    properties: String,
    occurred_at: i64,
    source: String,
}

#[derive(FromRow)]
struct SessionRow {
    id: i64,
    started_at: i64,
    last_seen_at: i64,
    page_views: i64,
    referrer: Option<String>,
    utm_source: Option<String>,
    utm_medium: Option<String>,
    utm_campaign: Option<String>,
    utm_term: Option<String>,
    utm_content: Option<String>,
    browser: Option<String>,
    os: Option<String>,
    device: Option<String>,
}

/// `occurred_at.id`, the events list's cursor.
pub fn event_cursor(occurred_at: i64, id: i64) -> String {
    format!("{occurred_at}.{id}")
}

pub fn parse_event_cursor(raw: &str) -> Option<(i64, i64)> {
    let (at, id) = raw.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok().filter(|id: &i64| *id > 0)?))
}

impl Store {
    /// The lead a visitor id stands for now, if the widget has written for it.
    pub async fn lead_of_visitor(&self, project_id: i64, visitor_id: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT lead_id FROM visitors WHERE project_id = $1 AND visitor_id = $2")
            .bind(project_id)
            .bind(visitor_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Leads on the site now (a heartbeat within the presence window), not hidden, most recently
    /// active first.
    pub async fn visitors(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<VisitorList> {
        let cutoff = to_ms(Presence::cutoff(now));
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE last_heartbeat_at > $1 AND hidden_at IS NULL")
                .bind(cutoff)
                .fetch_one(&self.pool)
                .await?;
        let rows: Vec<VisitorRow> = sqlx::query_as(
            "SELECT l.id, l.name, l.email, l.avatar_url, l.last_heartbeat_at, l.last_active_at, \
             s.current_url, s.current_title, s.started_at, s.page_views \
             FROM leads l LEFT JOIN site_sessions s ON s.id = (SELECT s2.id FROM site_sessions s2 \
             WHERE s2.lead_id = l.id ORDER BY s2.last_seen_at DESC, s2.id DESC LIMIT 1) \
             WHERE l.last_heartbeat_at > $1 AND l.hidden_at IS NULL \
             ORDER BY COALESCE(l.last_active_at, 0) DESC, l.id DESC LIMIT $2",
        )
        .bind(cutoff)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let items = rows
            .into_iter()
            .map(|r| Visitor {
                id: r.id,
                display_name: crate::store::shown_name(r.name.as_deref(), r.email.as_deref(), r.id),
                email: r.email,
                avatar_url: r.avatar_url,
                last_heartbeat: r.last_heartbeat_at.map(from_ms),
                last_active: r.last_active_at.map(from_ms),
                page_url: r.current_url,
                page_title: r.current_title,
                session_started_at: r.started_at.map(from_ms),
                pages_viewed: r.page_views.unwrap_or(0).clamp(0, i64::from(u32::MAX)) as u32,
            })
            .collect();
        Ok(VisitorList { items, total: total.max(0) as u64, now })
    }

    /// A page of a lead's events, newest first; `None` when there is no such lead.
    pub async fn lead_events(
        &self,
        lead: i64,
        after: Option<(i64, i64)>,
        limit: u32,
        name: Option<&str>,
    ) -> StoreResult<Option<EventPage>> {
        if !self.lead_exists(lead).await? {
            return Ok(None);
        }
        let mut sql =
            Sql::new(self.backend, "SELECT id, name, properties, occurred_at, source FROM events WHERE lead_id = ");
        sql.bind(lead);
        if let Some(name) = name {
            sql.push(" AND name = ").bind(name);
        }
        if let Some((at, id)) = after {
            sql.push(" AND (occurred_at < ").bind(at).push(" OR (occurred_at = ").bind(at);
            sql.push(" AND id < ").bind(id).push("))");
        }
        sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ").bind(i64::from(limit) + 1);
        let mut rows: Vec<EventRow> = sql.query_as().fetch_all(&self.pool).await?;
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(|r| event_cursor(r.occurred_at, r.id)) } else { None };
        let items = rows.into_iter().map(lead_event).collect::<StoreResult<Vec<_>>>()?;
        Ok(Some(EventPage { items, next }))
    }

    /// A lead's events grouped by name, the most recent group first; `None` without such a lead.
    pub async fn event_groups(&self, lead: i64) -> StoreResult<Option<Vec<EventGroup>>> {
        if !self.lead_exists(lead).await? {
            return Ok(None);
        }
        let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
            "SELECT name, event_count, first_at, last_at FROM event_aggregates WHERE lead_id = $1 \
             ORDER BY last_at DESC, name",
        )
        .bind(lead)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(
            rows.into_iter()
                .map(|(name, count, first, last)| EventGroup {
                    name,
                    count: count.max(0) as u64,
                    first: from_ms(first),
                    last: from_ms(last),
                })
                .collect(),
        ))
    }

    /// Adds an event by hand (and its aggregate); `None` when there is no such lead.
    pub async fn add_manual_event(
        &self,
        lead: i64,
        name: &str,
        properties: &BTreeMap<String, PropertyValue>,
        occurred_at: DateTime<Utc>,
    ) -> StoreResult<Option<LeadEvent>> {
        let mut tx = self.begin_write().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM leads WHERE id = $1").bind(lead).fetch_optional(&mut *tx).await?;
        if found.is_none() {
            return Ok(None);
        }
        let at = to_ms(occurred_at);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(lead)
        .bind(name.to_owned())
        .bind(event_properties_json(properties)?)
        .bind(at)
        .bind(EventSource::Manual.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let row = aggregate_row(lead, name, EventAggregate::new(occurred_at));
        insert_rows(&mut tx, self.backend, AGGREGATES_INSERT, AGGREGATES_MERGE, vec![row]).await?;
        tx.commit().await?;
        Ok(Some(LeadEvent {
            id,
            name: name.to_owned(),
            properties: properties.clone(),
            occurred_at: from_ms(at),
            source: EventSource::Manual,
        }))
    }

    /// The lead's latest site session and its pages; `None` when there is no such lead.
    pub async fn session_pages(&self, lead: i64) -> StoreResult<Option<SessionPages>> {
        if !self.lead_exists(lead).await? {
            return Ok(None);
        }
        let session: Option<SessionRow> = sqlx::query_as(
            "SELECT id, started_at, last_seen_at, page_views, referrer, utm_source, utm_medium, utm_campaign, \
             utm_term, utm_content, browser, os, device FROM site_sessions WHERE lead_id = $1 \
             ORDER BY last_seen_at DESC, id DESC LIMIT 1",
        )
        .bind(lead)
        .fetch_optional(&self.pool)
        .await?;
        let Some(s) = session else {
            return Ok(Some(SessionPages { session: None, pages: Vec::new() }));
        };
        let views: Vec<(String, Option<String>, i64)> =
            sqlx::query_as("SELECT url, title, viewed_at FROM page_views WHERE session_id = $1 ORDER BY viewed_at, id")
                .bind(s.id)
                .fetch_all(&self.pool)
                .await?;
        let last_seen = from_ms(s.last_seen_at);
        let times: Vec<DateTime<Utc>> = views.iter().map(|v| from_ms(v.2)).collect();
        let pages = views
            .into_iter()
            .zip(pages_until(&times, last_seen))
            .map(|((url, title, at), until)| SessionPage { url, title, viewed_at: from_ms(at), until })
            .collect();
        let utm = [
            ("utm_source", s.utm_source),
            ("utm_medium", s.utm_medium),
            ("utm_campaign", s.utm_campaign),
            ("utm_term", s.utm_term),
            ("utm_content", s.utm_content),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
        let session = SiteSession {
            started_at: from_ms(s.started_at),
            last_seen,
            pages_viewed: s.page_views.clamp(0, i64::from(u32::MAX)) as u32,
            referrer: s.referrer,
            browser: s.browser,
            os: s.os,
            device: s.device,
            utm,
        };
        Ok(Some(SessionPages { session: Some(session), pages }))
    }
}

fn lead_event(row: EventRow) -> StoreResult<LeadEvent> {
    let source = EventSource::parse(&row.source)
        .ok_or_else(|| StoreError::Corrupt(format!("event {} has source {:?}", row.id, row.source)))?;
    Ok(LeadEvent {
        id: row.id,
        properties: parse_event_properties(&row.properties, row.id)?,
        name: row.name,
        occurred_at: from_ms(row.occurred_at),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        assert_eq!(parse_event_cursor(&event_cursor(1_800_000_000_000, 42)), Some((1_800_000_000_000, 42)));
        assert_eq!(parse_event_cursor("-5.3"), Some((-5, 3)));
        assert_eq!(parse_event_cursor("abc"), None);
        assert_eq!(parse_event_cursor("1.0"), None);
    }
}
