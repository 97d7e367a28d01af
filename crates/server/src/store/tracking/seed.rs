//! Bulk loads for the demo seed and the benchmark: visitors, site sessions with their page views,
//! events written straight into their tables, and what the benchmark reads back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use leadcard_core::PropertyValue;
use leadcard_core::event::{EventAggregate, PAGE_VIEW};
use leadcard_core::tracking::EventSource;

use super::super::batch::insert_rows;
use super::super::leads::{AGGREGATES_INSERT, AGGREGATES_MERGE, aggregate_row};
use super::super::sql::Value;
use super::super::{Store, StoreResult};
use super::{event_properties_json, parse_event_properties};
use crate::clock::to_ms;

/// A site session written as it is (the demo seed): its pages become `$page_view` events too.
#[derive(Debug, Clone)]
pub struct NewSiteSession {
    pub lead_id: i64,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// URL, title, when viewed; in order.
    pub pages: Vec<(String, Option<String>, DateTime<Utc>)>,
    pub referrer: Option<String>,
    pub browser: String,
    pub os: String,
    pub device: &'static str,
}

impl Store {
    /// Inserts events straight into the table in batches of `batch`: the baseline the ingest
    /// benchmark compares the writer with.
    pub async fn insert_events_raw(&self, rows: Vec<(i64, String, String, i64)>, batch: usize) -> StoreResult<()> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<[Value; 5]> = rows
                .by_ref()
                .take(batch)
                .map(|(lead, name, props, at)| {
                    [
                        Value::from(lead),
                        Value::from(name),
                        Value::from(props),
                        Value::from(at),
                        Value::from(EventSource::Tracked.as_str()),
                    ]
                })
                .collect();
            let mut tx = self.begin().await?;
            insert_rows(
                &mut tx,
                self.backend,
                "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ",
                "",
                chunk,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Writes whole site sessions with their pages (and the pages' `$page_view` events).
    /// Visitor ids for leads made elsewhere (the demo seed): a lead that has been on the site
    /// has one, so the widget can reach it (chat, pop-ups).
    pub async fn add_visitors(
        &self,
        project_id: i64,
        visitors: &[(String, i64)],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let rows = visitors
            .iter()
            .map(|(visitor, lead)| {
                [Value::from(project_id), Value::from(visitor.as_str()), Value::from(*lead), Value::from(to_ms(now))]
            })
            .collect();
        insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO visitors (project_id, visitor_id, lead_id, created_at) VALUES ",
            " ON CONFLICT (project_id, visitor_id) DO NOTHING",
            rows,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_site_sessions(&self, sessions: &[NewSiteSession]) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let mut events = Vec::new();
        let mut aggregates: HashMap<i64, EventAggregate> = HashMap::new();
        for (n, s) in sessions.iter().enumerate() {
            let current = s.pages.last();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO site_sessions (lead_id, session_key, started_at, last_seen_at, page_views, announced, \
                 current_url, current_title, referrer, browser, os, device) \
                 VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $10, $11) RETURNING id",
            )
            .bind(s.lead_id)
            .bind(format!("seed{n}"))
            .bind(to_ms(s.started_at))
            .bind(to_ms(s.last_seen))
            .bind(s.pages.len() as i64)
            .bind(current.map(|p| p.0.clone()))
            .bind(current.and_then(|p| p.1.clone()))
            .bind(s.referrer.clone())
            .bind(s.browser.clone())
            .bind(s.os.clone())
            .bind(s.device)
            .fetch_one(&mut *tx)
            .await?;
            let views = s
                .pages
                .iter()
                .map(|(url, title, at)| {
                    [Value::from(id), Value::from(url.as_str()), Value::from(title.clone()), Value::from(to_ms(*at))]
                })
                .collect();
            insert_rows(
                &mut tx,
                self.backend,
                "INSERT INTO page_views (session_id, url, title, viewed_at) VALUES ",
                "",
                views,
            )
            .await?;
            for (url, title, at) in &s.pages {
                let mut properties = BTreeMap::new();
                properties.insert("url".to_owned(), PropertyValue::Text(url.clone()));
                if let Some(title) = title {
                    properties.insert("title".to_owned(), PropertyValue::Text(title.clone()));
                }
                events.push([
                    Value::from(s.lead_id),
                    Value::from(PAGE_VIEW),
                    Value::from(event_properties_json(&properties)?),
                    Value::from(to_ms(*at)),
                    Value::from(EventSource::Tracked.as_str()),
                ]);
                aggregates
                    .entry(s.lead_id)
                    .and_modify(|a| *a = a.record(*at))
                    .or_insert_with(|| EventAggregate::new(*at));
            }
        }
        insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ",
            "",
            events,
        )
        .await?;
        let aggregates = aggregates.into_iter().map(|(lead, a)| aggregate_row(lead, PAGE_VIEW, a)).collect();
        insert_rows(&mut tx, self.backend, AGGREGATES_INSERT, AGGREGATES_MERGE, aggregates).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every visitor of a project and its lead (for the benchmarks).
    pub async fn visitor_leads(&self, project_id: i64) -> StoreResult<HashMap<String, i64>> {
        let rows: Vec<(String, i64)> = sqlx::query_as("SELECT visitor_id, lead_id FROM visitors WHERE project_id = $1")
            .bind(project_id)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// The `seq` property of every stored event whose name starts with `prefix` (the durability
    /// check of `cargo xtask bench`).
    pub async fn event_seqs(&self, prefix: &str) -> StoreResult<Vec<i64>> {
        let rows: Vec<(i64, String)> = sqlx::query_as("SELECT id, properties FROM events WHERE name LIKE $1")
            .bind(format!("{prefix}%"))
            .fetch_all(&self.pool)
            .await?;
        let mut seqs = Vec::with_capacity(rows.len());
        for (id, properties) in rows {
            if let Some(PropertyValue::Number(n)) = parse_event_properties(&properties, id)?.get("seq") {
                seqs.push(*n as i64);
            }
        }
        Ok(seqs)
    }
}
