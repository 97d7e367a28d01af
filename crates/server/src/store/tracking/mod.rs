//! Tracking: the ingest writer's batches — events, heartbeats and identify calls of the widget's
//! visitors applied in one transaction, each table written once per batch. Identify (which merges
//! a visitor's history into the identified lead) is in `identify.rs`, what the Visitors page and
//! the card's events tab read in `reads.rs`, the demo's and the benchmark's bulk loads in
//! `seed.rs`.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadcard_core::event::{EventAggregate, PAGE_VIEW, SESSION_START};
use leadcard_core::location::{GeoIpPlace, GuessSource, PropertyGuess, location_guesses};
use leadcard_core::tracking::{
    CheckedEvent, ClientInfo, EventSource, PageInfo, external_referrer, utm_parameters, value_from_json,
};
use leadcard_core::{LiveEvent, Operation, PropertyName, PropertyValue};
use sqlx::{AnyConnection, Connection};

use super::batch::{MAX_PARAMETERS, insert_rows};
use super::leads::{AGGREGATES_INSERT, AGGREGATES_MERGE, PropertyRow, aggregate_row};
use super::live::insert_live_events;
use super::sql::{Sql, Value};
use super::{Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

mod identify;
mod reads;
mod seed;

use self::identify::Identified;
pub use reads::{event_cursor, parse_event_cursor};
pub use seed::NewSiteSession;

/// One tracking call, checked, waiting for the writer.
#[derive(Debug, Clone)]
pub struct TrackWrite {
    pub project_id: i64,
    pub visitor_id: String,
    /// The server's clock when the call arrived: the default time of its events.
    pub received_at: DateTime<Utc>,
    pub kind: TrackKind,
}

#[derive(Debug, Clone)]
pub enum TrackKind {
    Events { session_key: Option<String>, events: Vec<PreparedEvent> },
    Heartbeat { session_key: String, url: String, title: Option<String>, active: bool },
    Identify { user_id: String, operations: Vec<Operation> },
}

/// A checked event ready for the writer: its stored properties already JSON, so the one writer
/// task does no more than write (the request's own task prepares it).
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    name: String,
    properties: String,
    time: Option<DateTime<Utc>>,
    page: Option<PageInfo>,
    start: Option<SessionStart>,
}

impl PreparedEvent {
    /// `$session_start` gains browser, OS and device (from the User-Agent) and the URL's UTM tags.
    pub fn new(event: CheckedEvent, user_agent: Option<&str>) -> StoreResult<PreparedEvent> {
        PreparedEvent::located(event, user_agent, None)
    }

    /// As [`PreparedEvent::new`]; a `$session_start` also carries its location guesses: the
    /// browser's zone and language, and `place` (GeoIP's answer for the visitor's address).
    pub fn located(
        event: CheckedEvent,
        user_agent: Option<&str>,
        place: Option<&GeoIpPlace>,
    ) -> StoreResult<PreparedEvent> {
        let CheckedEvent { name, mut properties, time, page } = event;
        let start = match &page {
            Some(page) if name.as_str() == SESSION_START => {
                let client = ClientInfo::from_user_agent(user_agent.unwrap_or_default());
                let utm = utm_parameters(&page.url);
                properties.insert("browser".into(), PropertyValue::Text(client.browser.clone()));
                properties.insert("os".into(), PropertyValue::Text(client.os.clone()));
                properties.insert("device".into(), PropertyValue::Text(client.device.to_owned()));
                for (property, value) in &utm {
                    properties.insert(property.trim_start_matches('$').to_owned(), PropertyValue::Text(value.clone()));
                }
                let referrer = external_referrer(&page.url, page.referrer.as_deref());
                let locale = &page.locale;
                let guesses = location_guesses(locale.timezone.as_deref(), locale.language.as_deref(), place);
                Some(SessionStart { referrer, utm, client, guesses })
            }
            _ => None,
        };
        let properties = event_properties_json(&properties)?;
        Ok(PreparedEvent { name: name.as_str().to_owned(), properties, time, page, start })
    }
}

/// What became of a batch: one result per write, in order, once committed.
#[derive(Debug)]
pub struct BatchOutcome {
    pub results: Vec<StoreResult<u32>>,
    /// Live messages stored with the batch (the bus reader is woken when there are any).
    pub live_messages: usize,
}

/// The `leads` columns of a visitor as a batch touches them.
#[derive(Debug, Default, Clone, Copy)]
struct LeadTouch {
    last_seen: Option<i64>,
    heartbeat: Option<i64>,
    active: Option<i64>,
    /// Activity at this time clears a hide mark made at or before it.
    activity: Option<i64>,
    /// A heartbeat asked for a presence message.
    presence: bool,
    /// Events arrived: the card changed.
    changed: bool,
}

/// A site session as a batch touches it.
#[derive(Debug, Default, Clone)]
struct SessionTouch {
    first_at: i64,
    last_at: i64,
    /// The latest page seen (page view or heartbeat) and when.
    page: Option<(i64, String, Option<String>)>,
    /// Page views to append: time, url, title.
    views: Vec<(i64, String, Option<String>)>,
    start: Option<SessionStart>,
}

#[derive(Debug, Clone)]
struct SessionStart {
    referrer: Option<String>,
    utm: Vec<(&'static str, String)>,
    client: ClientInfo,
    /// Location properties guessed for the lead, best first.
    guesses: Vec<PropertyGuess>,
}

/// What the events and heartbeats of a batch do, gathered so each table is written once.
#[derive(Debug, Default)]
struct Pending {
    events: Vec<[Value; 5]>,
    aggregates: HashMap<(i64, String), EventAggregate>,
    leads: HashMap<i64, LeadTouch>,
    sessions: Vec<((i64, String), SessionTouch)>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.leads.is_empty() && self.sessions.is_empty()
    }

    fn session(&mut self, lead: i64, key: &str, at: i64) -> &mut SessionTouch {
        let i = match self.sessions.iter().position(|((l, k), _)| *l == lead && k == key) {
            Some(i) => i,
            None => {
                let touch = SessionTouch { first_at: at, last_at: at, ..SessionTouch::default() };
                self.sessions.push(((lead, key.to_owned()), touch));
                self.sessions.len() - 1
            }
        };
        let touch = &mut self.sessions[i].1;
        touch.first_at = touch.first_at.min(at);
        touch.last_at = touch.last_at.max(at);
        touch
    }

    fn see_page(touch: &mut SessionTouch, at: i64, url: &str, title: Option<&str>) {
        if touch.page.as_ref().is_none_or(|(t, _, _)| *t <= at) {
            touch.page = Some((at, url.to_owned(), title.map(str::to_owned)));
        }
    }
}

/// `$last_seen` is kept to the second: a lead busy within one second is written once.
fn whole_second(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

/// A stored event's properties: typed values, or plain JSON values from older rows.
fn parse_event_properties(raw: &str, event_id: i64) -> StoreResult<BTreeMap<String, PropertyValue>> {
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(raw).map_err(|e| StoreError::Corrupt(format!("properties of event {event_id}: {e}")))?;
    Ok(map
        .into_iter()
        .filter_map(|(name, value)| {
            let typed =
                serde_json::from_value::<PropertyValue>(value.clone()).ok().or_else(|| value_from_json(&value).ok());
            typed.map(|v| (name, v))
        })
        .collect())
}

fn event_properties_json(properties: &BTreeMap<String, PropertyValue>) -> StoreResult<String> {
    serde_json::to_string(properties).map_err(|e| StoreError::Invalid(format!("event properties: {e}")))
}

/// A lead after a batch touched it: id, last heartbeat, last activity, hidden since (unix ms).
type TouchedLead = (i64, Option<i64>, Option<i64>, Option<i64>);

impl Store {
    /// Applies a batch of tracking writes in one transaction, in order. A write refused by the
    /// rules (an identify whose operations do not fit) is rolled back alone and reported in its
    /// slot; a database failure fails the whole batch.
    pub async fn write_tracking_batch(&self, writes: &[TrackWrite], now: DateTime<Utc>) -> StoreResult<BatchOutcome> {
        let mut tx = self.begin_write().await?;
        let mut visitors = self.prefetch_visitors(&mut tx, writes).await?;
        let mut pending = Pending::default();
        let mut results = Vec::with_capacity(writes.len());
        let mut live = Vec::new();
        let mut mails = 0;
        for write in writes {
            let at = to_ms(write.received_at);
            match &write.kind {
                TrackKind::Identify { user_id, operations } => {
                    self.flush(&mut tx, std::mem::take(&mut pending), &mut live).await?;
                    let mut savepoint = Connection::begin(&mut *tx).await?;
                    let key = (write.project_id, write.visitor_id.clone());
                    let outcome = self.identify(&mut savepoint, &visitors, write, user_id, operations, now).await;
                    match outcome {
                        Ok(Identified { target, removed, mails: queued }) => {
                            mails += queued;
                            savepoint.commit().await?;
                            visitors.insert(key, target);
                            if let Some(removed) = removed {
                                visitors.retain(|_, lead| *lead != removed);
                                live.push(LiveEvent::LeadRemoved { lead_id: removed });
                            }
                            live.push(LiveEvent::LeadChanged { lead_id: target });
                            results.push(Ok(1));
                        }
                        Err(e @ (StoreError::InvalidProperty { .. } | StoreError::Invalid(_))) => {
                            savepoint.rollback().await?;
                            results.push(Err(e));
                        }
                        Err(e) => return Err(e),
                    }
                }
                TrackKind::Events { session_key, events } => {
                    let lead = self.visitor_lead(&mut tx, &mut visitors, write, now).await?;
                    for event in events {
                        let occurred = event.time.map_or(at, to_ms);
                        if let (Some(key), Some(page)) = (session_key, &event.page) {
                            let touch = pending.session(lead, key, occurred);
                            if let Some(start) = &event.start {
                                touch.start = Some(start.clone());
                            } else if event.name == PAGE_VIEW {
                                touch.views.push((occurred, page.url.clone(), page.title.clone()));
                            }
                            if !page.url.is_empty() {
                                Pending::see_page(touch, occurred, &page.url, page.title.as_deref());
                            }
                        }
                        pending.events.push([
                            Value::from(lead),
                            Value::from(event.name.as_str()),
                            Value::from(event.properties.as_str()),
                            Value::from(occurred),
                            Value::from(EventSource::Tracked.as_str()),
                        ]);
                        pending
                            .aggregates
                            .entry((lead, event.name.clone()))
                            .and_modify(|a| *a = a.record(from_ms(occurred)))
                            .or_insert_with(|| EventAggregate::new(from_ms(occurred)));
                        let touch = pending.leads.entry(lead).or_default();
                        touch.last_seen = max_opt(touch.last_seen, Some(whole_second(occurred)));
                        touch.activity = max_opt(touch.activity, Some(occurred));
                        touch.changed = true;
                    }
                    results.push(Ok(events.len() as u32));
                }
                TrackKind::Heartbeat { session_key, url, title, active } => {
                    let lead = self.visitor_lead(&mut tx, &mut visitors, write, now).await?;
                    let touch = pending.leads.entry(lead).or_default();
                    touch.heartbeat = max_opt(touch.heartbeat, Some(at));
                    touch.presence = true;
                    if *active {
                        touch.active = max_opt(touch.active, Some(at));
                        touch.last_seen = max_opt(touch.last_seen, Some(whole_second(at)));
                        touch.activity = max_opt(touch.activity, Some(at));
                    }
                    let session = pending.session(lead, session_key, at);
                    Pending::see_page(session, at, url, title.as_deref());
                    results.push(Ok(1));
                }
            }
        }
        self.flush(&mut tx, pending, &mut live).await?;
        let payloads = live
            .iter()
            .map(serde_json::to_string)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Invalid(format!("a live event cannot be serialized: {e}")))?;
        insert_live_events(&mut tx, self.backend, &payloads, to_ms(now)).await?;
        tx.commit().await?;
        if mails > 0 {
            self.mail_queued.notify_one();
        }
        Ok(BatchOutcome { results, live_messages: payloads.len() })
    }

    /// The leads of the batch's known visitors.
    async fn prefetch_visitors(
        &self,
        tx: &mut AnyConnection,
        writes: &[TrackWrite],
    ) -> StoreResult<HashMap<(i64, String), i64>> {
        let mut by_project: HashMap<i64, HashSet<&str>> = HashMap::new();
        for w in writes {
            by_project.entry(w.project_id).or_default().insert(w.visitor_id.as_str());
        }
        let mut found = HashMap::new();
        for (project, ids) in by_project {
            let ids: Vec<&str> = ids.into_iter().collect();
            for chunk in ids.chunks(1000) {
                let mut sql = Sql::new(self.backend, "SELECT visitor_id, lead_id FROM visitors WHERE project_id = ");
                sql.bind(project).push(" AND visitor_id IN ").bind_list(chunk.iter().copied());
                let rows: Vec<(String, i64)> = sql.query_as().fetch_all(&mut *tx).await?;
                found.extend(rows.into_iter().map(|(visitor, lead)| ((project, visitor), lead)));
            }
        }
        Ok(found)
    }

    /// The visitor's lead; a visitor seen for the first time becomes a new lead.
    async fn visitor_lead(
        &self,
        tx: &mut AnyConnection,
        visitors: &mut HashMap<(i64, String), i64>,
        write: &TrackWrite,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let key = (write.project_id, write.visitor_id.clone());
        if let Some(lead) = visitors.get(&key) {
            return Ok(*lead);
        }
        let lead = self.lead_for_visitor(tx, write.project_id, &write.visitor_id, now).await?;
        visitors.insert(key, lead);
        Ok(lead)
    }

    /// The lead a visitor id stands for, inside a transaction; a visitor seen for the first time
    /// becomes a new lead.
    pub(crate) async fn lead_for_visitor(
        &self,
        tx: &mut AnyConnection,
        project_id: i64,
        visitor_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<i64> {
        let known: Option<i64> =
            sqlx::query_scalar("SELECT lead_id FROM visitors WHERE project_id = $1 AND visitor_id = $2")
                .bind(project_id)
                .bind(visitor_id.to_owned())
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(lead) = known {
            return Ok(lead);
        }
        let mut lead = self.new_tracked_lead(tx, now).await?;
        // Another instance may have met this visitor in the same moment (PostgreSQL): its lead wins.
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO visitors (project_id, visitor_id, lead_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, visitor_id) DO NOTHING RETURNING lead_id",
        )
        .bind(project_id)
        .bind(visitor_id.to_owned())
        .bind(lead)
        .bind(to_ms(now))
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_none() {
            sqlx::query("DELETE FROM leads WHERE id = $1").bind(lead).execute(&mut *tx).await?;
            lead = sqlx::query_scalar("SELECT lead_id FROM visitors WHERE project_id = $1 AND visitor_id = $2")
                .bind(project_id)
                .bind(visitor_id.to_owned())
                .fetch_one(&mut *tx)
                .await?;
        }
        Ok(lead)
    }

    /// A lead first seen now, with its `$first_seen`.
    async fn new_tracked_lead(&self, tx: &mut AnyConnection, now: DateTime<Utc>) -> StoreResult<i64> {
        let at = to_ms(now);
        let now = from_ms(at);
        let id: i64 = sqlx::query_scalar("INSERT INTO leads (created_at, updated_at) VALUES ($1, $2) RETURNING id")
            .bind(at)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
        let first_seen = PropertyName::parse("$first_seen")
            .map_err(|source| StoreError::InvalidProperty { name: "$first_seen".to_owned(), source })?;
        let first_seen = [Operation::Set { name: first_seen, value: PropertyValue::DateTime(now) }];
        self.apply_operations(tx, id, &first_seen, now).await?;
        Ok(id)
    }

    /// Writes what the events and heartbeats gathered so far do.
    async fn flush(&self, tx: &mut AnyConnection, pending: Pending, live: &mut Vec<LiveEvent>) -> StoreResult<()> {
        if pending.is_empty() {
            return Ok(());
        }
        let backend = self.backend;
        let mut leads: Vec<(i64, LeadTouch)> = pending.leads.into_iter().collect();
        leads.sort_by_key(|(id, _)| *id);

        // The leads' presence, last seen and hide mark in one statement per 3,000 leads (each
        // column only ever moves forward; a lead with nothing new is not written); what the
        // presence messages say comes back for every heartbeat's lead.
        let mut states: HashMap<i64, (Option<i64>, Option<i64>, bool)> = HashMap::new();
        for chunk in leads.chunks(3_000) {
            let mut sql = Sql::new(backend, LEADS_TOUCH_HEAD);
            for (i, (id, t)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list([
                    Value::from(*id),
                    Value::from(t.last_seen),
                    Value::from(t.heartbeat),
                    Value::from(t.active),
                    Value::from(t.activity),
                ]);
            }
            sql.push(LEADS_TOUCH_TAIL);
            let rows: Vec<TouchedLead> = sql.query_as().fetch_all(&mut *tx).await?;
            states.extend(rows.into_iter().map(|(id, beat, active, hidden)| (id, (beat, active, hidden.is_some()))));
        }
        let last_seen_rows = leads
            .iter()
            .filter_map(|(id, t)| t.last_seen.map(|at| (*id, at)))
            .map(|(id, at)| {
                let row = PropertyRow::of(&PropertyValue::DateTime(from_ms(at)))?;
                Ok([
                    Value::from(id),
                    Value::from("$last_seen"),
                    Value::from(row.value_type),
                    Value::from(row.text_value),
                    Value::from(row.number_value),
                    Value::from(row.json_value),
                    Value::from(at),
                ])
            })
            .collect::<StoreResult<Vec<_>>>()?;
        insert_rows(
            tx,
            backend,
            "INSERT INTO lead_properties \
             (lead_id, name, value_type, text_value, number_value, json_value, updated_at) VALUES ",
            " ON CONFLICT (lead_id, name) DO UPDATE SET value_type = excluded.value_type, \
             text_value = excluded.text_value, number_value = excluded.number_value, \
             json_value = excluded.json_value, updated_at = excluded.updated_at \
             WHERE lead_properties.number_value IS NULL OR lead_properties.number_value < excluded.number_value",
            last_seen_rows,
        )
        .await?;

        // Sessions: opened, moved on, their pages appended; a first $session_start counts.
        let mut session_state: HashMap<(i64, String), (i64, i64)> = HashMap::new();
        let mut guesses: HashMap<(i64, &'static str), (PropertyGuess, i64)> = HashMap::new();
        let mut view_rows = Vec::new();
        for ((lead, key), touch) in pending.sessions {
            let announced: Option<i64> =
                sqlx::query_scalar("SELECT announced FROM site_sessions WHERE lead_id = $1 AND session_key = $2")
                    .bind(lead)
                    .bind(key.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
            let start = touch.start.as_ref().filter(|_| announced.unwrap_or(0) == 0);
            let utm = |name: &str| start.and_then(|s| s.utm.iter().find(|(p, _)| *p == name).map(|(_, v)| v.clone()));
            let page_title = touch.page.as_ref().and_then(|(_, _, t)| t.clone());
            let (page_at, url, title) = match &touch.page {
                Some((at, url, title)) => (Some(*at), Some(url.clone()), title.clone()),
                None => (None, None, None),
            };
            let mut sql = Sql::new(
                backend,
                "INSERT INTO site_sessions (lead_id, session_key, started_at, last_seen_at, page_views, announced, \
                 current_url, current_title, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, \
                 browser, os, device) VALUES ",
            );
            sql.bind_list([
                Value::from(lead),
                Value::from(key.clone()),
                Value::from(touch.first_at),
                Value::from(touch.last_at),
                Value::from(touch.views.len() as i64),
                Value::from(i64::from(start.is_some())),
                Value::from(url.clone()),
                Value::from(title),
                Value::from(start.and_then(|s| s.referrer.clone())),
                Value::from(utm("$utm_source")),
                Value::from(utm("$utm_medium")),
                Value::from(utm("$utm_campaign")),
                Value::from(utm("$utm_term")),
                Value::from(utm("$utm_content")),
                Value::from(start.map(|s| s.client.browser.clone())),
                Value::from(start.map(|s| s.client.os.clone())),
                Value::from(start.map(|s| s.client.device.to_owned())),
            ]);
            sql.push(
                " ON CONFLICT (lead_id, session_key) DO UPDATE SET \
                 started_at = CASE WHEN excluded.started_at < site_sessions.started_at \
                     THEN excluded.started_at ELSE site_sessions.started_at END, \
                 page_views = site_sessions.page_views + excluded.page_views, \
                 announced = CASE WHEN excluded.announced = 1 THEN 1 ELSE site_sessions.announced END, \
                 referrer = COALESCE(site_sessions.referrer, excluded.referrer), \
                 utm_source = COALESCE(site_sessions.utm_source, excluded.utm_source), \
                 utm_medium = COALESCE(site_sessions.utm_medium, excluded.utm_medium), \
                 utm_campaign = COALESCE(site_sessions.utm_campaign, excluded.utm_campaign), \
                 utm_term = COALESCE(site_sessions.utm_term, excluded.utm_term), \
                 utm_content = COALESCE(site_sessions.utm_content, excluded.utm_content), \
                 browser = COALESCE(site_sessions.browser, excluded.browser), \
                 os = COALESCE(site_sessions.os, excluded.os), \
                 device = COALESCE(site_sessions.device, excluded.device), ",
            );
            // The current page follows the latest page seen, never an older one from a late call.
            if let Some(at) = page_at {
                sql.push("current_url = CASE WHEN site_sessions.last_seen_at <= ").bind(at);
                sql.push(" THEN excluded.current_url ELSE site_sessions.current_url END, ");
                sql.push("current_title = CASE WHEN site_sessions.last_seen_at <= ").bind(at);
                sql.push(" THEN excluded.current_title ELSE site_sessions.current_title END, ");
            }
            sql.push(
                "last_seen_at = CASE WHEN excluded.last_seen_at > site_sessions.last_seen_at \
                 THEN excluded.last_seen_at ELSE site_sessions.last_seen_at END \
                 RETURNING id, started_at, page_views",
            );
            let (session_id, started_at, page_views): (i64, i64, i64) = sql.query_as().fetch_one(&mut *tx).await?;
            session_state.insert((lead, key.clone()), (started_at, page_views));
            for (at, url, title) in touch.views {
                view_rows.push([Value::from(session_id), Value::from(url), Value::from(title), Value::from(at)]);
            }
            if let Some(start) = start {
                self.count_session_start(tx, lead, start, touch.first_at).await?;
                for guess in &start.guesses {
                    // Two session starts of one lead in a batch: the better guess, else the later.
                    let slot = guesses.entry((lead, guess.name)).or_insert_with(|| (guess.clone(), touch.first_at));
                    if guess.source >= slot.0.source {
                        *slot = (guess.clone(), touch.first_at);
                    }
                }
            }
            if let Some(state) = states.get(&lead)
                && leads.iter().any(|(id, t)| *id == lead && t.presence)
            {
                let (beat, active, hidden) = *state;
                live.retain(|e| !matches!(e, LiveEvent::Presence { lead_id, .. } if *lead_id == lead));
                live.push(LiveEvent::Presence {
                    lead_id: lead,
                    last_heartbeat_at: beat,
                    last_active_at: active,
                    page_url: url.clone(),
                    page_title,
                    session_started_at: Some(started_at),
                    pages_viewed: Some(page_views.clamp(0, i64::from(u32::MAX)) as u32),
                    hidden,
                });
            }
        }
        insert_rows(tx, backend, "INSERT INTO page_views (session_id, url, title, viewed_at) VALUES ", "", view_rows)
            .await?;
        self.write_guesses(tx, guesses).await?;
        insert_rows(
            tx,
            backend,
            "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ",
            "",
            pending.events,
        )
        .await?;
        let aggregates =
            pending.aggregates.into_iter().map(|((lead, name), agg)| aggregate_row(lead, &name, agg)).collect();
        insert_rows(tx, backend, AGGREGATES_INSERT, AGGREGATES_MERGE, aggregates).await?;
        for (id, t) in &leads {
            if t.changed {
                live.push(LiveEvent::LeadChanged { lead_id: *id });
            }
        }
        Ok(())
    }

    /// A batch's location guesses, one statement per 2,000: each replaces only a guess no better
    /// than itself, never a value set by the site or an operator (`guessed_by` NULL); the `leads`
    /// columns mirroring `$city`, `$country` and `$timezone` follow what was written.
    async fn write_guesses(
        &self,
        tx: &mut AnyConnection,
        guesses: HashMap<(i64, &'static str), (PropertyGuess, i64)>,
    ) -> StoreResult<()> {
        if guesses.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(guesses.len());
        for ((lead, name), (guess, at)) in &guesses {
            let row = PropertyRow::of(&PropertyValue::Text(guess.value.clone()))?;
            rows.push([
                Value::from(*lead),
                Value::from(*name),
                Value::from(row.value_type),
                Value::from(row.text_value),
                Value::from(row.number_value),
                Value::from(row.json_value),
                Value::from(*at),
                Value::from(guess.source.as_str()),
            ]);
        }
        let tail = format!(
            " ON CONFLICT (lead_id, name) DO UPDATE SET value_type = excluded.value_type, \
             text_value = excluded.text_value, number_value = excluded.number_value, \
             json_value = excluded.json_value, updated_at = excluded.updated_at, guessed_by = excluded.guessed_by \
             WHERE {} <= {} AND (lead_properties.json_value <> excluded.json_value \
             OR lead_properties.guessed_by <> excluded.guessed_by) RETURNING lead_id, name",
            guess_rank("lead_properties.guessed_by"),
            guess_rank("excluded.guessed_by"),
        );
        let mut written: Vec<(i64, String)> = Vec::new();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut sql = Sql::new(
                self.backend,
                "INSERT INTO lead_properties \
                 (lead_id, name, value_type, text_value, number_value, json_value, updated_at, guessed_by) VALUES ",
            );
            for (i, row) in rows.by_ref().take(MAX_PARAMETERS / 8).enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list(row);
            }
            sql.push(&tail);
            written.extend(sql.query_as::<(i64, String)>().fetch_all(&mut *tx).await?);
        }

        // city, country, timezone per lead; NULL keeps the column as it is.
        let mut mirrored: BTreeMap<i64, [Option<String>; 3]> = BTreeMap::new();
        for (lead, name) in written {
            let column = match name.as_str() {
                "$city" => 0,
                "$country" => 1,
                "$timezone" => 2,
                _ => continue,
            };
            let value = guesses.get(&(lead, name.as_str())).map(|(g, _)| g.value.clone());
            mirrored.entry(lead).or_default()[column] = value;
        }
        let mirrored: Vec<_> = mirrored.into_iter().collect();
        for chunk in mirrored.chunks(MAX_PARAMETERS / 4) {
            let mut sql = Sql::new(
                self.backend,
                "UPDATE leads SET city = COALESCE(v.column2, leads.city), \
                 country = COALESCE(v.column3, leads.country), timezone = COALESCE(v.column4, leads.timezone) \
                 FROM (VALUES ",
            );
            for (i, (lead, [city, country, zone])) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind_list([
                    Value::from(*lead),
                    Value::from(city.clone()),
                    Value::from(country.clone()),
                    Value::from(zone.clone()),
                ]);
            }
            sql.push(") AS v WHERE leads.id = v.column1");
            sql.query().execute(&mut *tx).await?;
        }
        Ok(())
    }

    /// A new session's mark on the lead: `$sessions` + 1, browser, OS, referrers and UTM tags.
    async fn count_session_start(
        &self,
        tx: &mut AnyConnection,
        lead: i64,
        start: &SessionStart,
        at: i64,
    ) -> StoreResult<()> {
        let name = |n: &str| {
            PropertyName::parse(n).map_err(|source| StoreError::InvalidProperty { name: n.to_owned(), source })
        };
        let text = |s: &str| PropertyValue::Text(s.to_owned());
        let mut ops = vec![
            Operation::Add { name: name("$sessions")?, by: 1.0 },
            Operation::Set { name: name("$browser")?, value: text(&start.client.browser) },
            Operation::Set { name: name("$os")?, value: text(&start.client.os) },
            Operation::SetOnce { name: name("$first_seen")?, value: PropertyValue::DateTime(from_ms(at)) },
        ];
        if let Some(referrer) = &start.referrer {
            ops.push(Operation::Set { name: name("$referrer")?, value: text(referrer) });
            ops.push(Operation::SetOnce { name: name("$initial_referrer")?, value: text(referrer) });
        }
        for (property, value) in &start.utm {
            ops.push(Operation::Set { name: name(property)?, value: text(value) });
        }
        // `$sessions` is a number; a stored value of another type (set by hand long ago) is replaced.
        match self.apply_operations(tx, lead, &ops, from_ms(at)).await {
            Err(StoreError::InvalidProperty { .. }) => {
                ops[0] = Operation::Set { name: name("$sessions")?, value: PropertyValue::Number(1.0) };
                self.apply_operations(tx, lead, &ops, from_ms(at)).await.map(|_| ())
            }
            other => other.map(|_| ()),
        }
    }
}

/// SQL for the rank of the guess named in `column` (NULL for a value that is no guess), from
/// core's ranks: a guess is written over a stored one only when its rank is as high or higher.
pub(in crate::store) fn guess_rank(column: &str) -> String {
    let cases: String = GuessSource::ALL.iter().map(|s| format!(" WHEN '{}' THEN {}", s.as_str(), s.rank())).collect();
    format!("(CASE {column}{cases} END)")
}

/// `UPDATE leads ... FROM (VALUES (id, last_seen, heartbeat, active, activity), ...)`: both
/// databases name a VALUES list's columns column1, column2, ...
const LEADS_TOUCH_HEAD: &str = "UPDATE leads SET \
    last_seen_at = CASE WHEN v.column2 IS NOT NULL AND (leads.last_seen_at IS NULL OR leads.last_seen_at < v.column2) \
        THEN v.column2 ELSE leads.last_seen_at END, \
    last_heartbeat_at = CASE WHEN v.column3 IS NOT NULL \
        AND (leads.last_heartbeat_at IS NULL OR leads.last_heartbeat_at < v.column3) \
        THEN v.column3 ELSE leads.last_heartbeat_at END, \
    last_active_at = CASE WHEN v.column4 IS NOT NULL AND (leads.last_active_at IS NULL OR leads.last_active_at < v.column4) \
        THEN v.column4 ELSE leads.last_active_at END, \
    hidden_at = CASE WHEN v.column5 IS NOT NULL AND leads.hidden_at <= v.column5 THEN NULL ELSE leads.hidden_at END \
    FROM (VALUES ";
const LEADS_TOUCH_TAIL: &str = ") AS v WHERE leads.id = v.column1 \
    AND ((v.column2 IS NOT NULL AND (leads.last_seen_at IS NULL OR leads.last_seen_at < v.column2)) \
        OR v.column3 IS NOT NULL OR v.column4 IS NOT NULL \
        OR (v.column5 IS NOT NULL AND leads.hidden_at IS NOT NULL)) \
    RETURNING leads.id, leads.last_heartbeat_at, leads.last_active_at, leads.hidden_at";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_properties_read_typed_or_plain() {
        let typed = r#"{"price":{"type":"number","value":12.5}}"#;
        assert_eq!(parse_event_properties(typed, 1).unwrap()["price"], PropertyValue::Number(12.5));
        let plain = r#"{"referrer":"https://google.com","n":3}"#;
        let parsed = parse_event_properties(plain, 1).unwrap();
        assert_eq!(parsed["referrer"], PropertyValue::Text("https://google.com".into()));
        assert_eq!(parsed["n"], PropertyValue::Number(3.0));
    }
}
