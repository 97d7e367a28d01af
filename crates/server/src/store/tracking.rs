//! Tracking: projects and keys, the widget's visitors, and the ingest writer's batches — events,
//! heartbeats and identify calls applied in one transaction (identify merges a visitor's history
//! into the identified lead) — and what the Visitors page and the card's events tab read.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use leadcard_core::event::{EventAggregate, PAGE_VIEW, SESSION_START};
use leadcard_core::property::display_name;
use leadcard_core::tracking::{
    CheckedEvent, ClientInfo, EventGroup, EventPage, EventSource, LeadEvent, PageInfo, SessionPage, SessionPages,
    SiteSession, Visitor, VisitorList, external_referrer, pages_until, utm_parameters, value_from_json,
};
use leadcard_core::{LiveEvent, Operation, Presence, PropertyName, PropertyValue};
use sqlx::{AnyConnection, Connection, FromRow};

use super::leads::{
    AGGREGATES_INSERT, AGGREGATES_MERGE, MIRRORED_TEXT_COLUMNS, PropertyRow, aggregate_row, insert_rows,
};
use super::live::insert_live_events;
use super::sql::{Sql, Value};
use super::{Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// A project: its keys and name.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub public_key: String,
    pub secret_key: String,
}

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
                Some(SessionStart { referrer, utm, client })
            }
            _ => None,
        };
        let properties = event_properties_json(&properties)?;
        Ok(PreparedEvent { name: name.as_str().to_owned(), properties, time, page, start })
    }
}

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

/// What identify did: the lead that is the user now, the lead merged into it, mails queued.
struct Identified {
    target: i64,
    removed: Option<i64>,
    mails: usize,
}

/// `$last_seen` is kept to the second: a lead busy within one second is written once.
fn whole_second(ms: i64) -> i64 {
    ms - ms.rem_euclid(1000)
}

fn max_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    a.max(b)
}

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

/// `occurred_at.id`, the events list's cursor.
pub fn event_cursor(occurred_at: i64, id: i64) -> String {
    format!("{occurred_at}.{id}")
}

pub fn parse_event_cursor(raw: &str) -> Option<(i64, i64)> {
    let (at, id) = raw.split_once('.')?;
    Some((at.parse().ok()?, id.parse().ok().filter(|id: &i64| *id > 0)?))
}

pub(super) fn random_key(prefix: &str) -> StoreResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Invalid(format!("no randomness for a key: {e}")))?;
    Ok(format!("{prefix}{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// A lead after a batch touched it: id, last heartbeat, last activity, hidden since (unix ms).
type TouchedLead = (i64, Option<i64>, Option<i64>, Option<i64>);

impl Store {
    /// The first project, created (with new random keys) when there is none.
    pub async fn ensure_project(&self, now: DateTime<Utc>) -> StoreResult<Project> {
        if let Some(project) = self.first_project().await? {
            return Ok(project);
        }
        sqlx::query("INSERT INTO projects (name, public_key, secret_key, created_at) VALUES ($1, $2, $3, $4)")
            .bind("Default project")
            .bind(random_key("pk_")?)
            .bind(random_key("sk_")?)
            .bind(to_ms(now))
            .execute(&self.pool)
            .await?;
        self.first_project().await?.ok_or_else(|| StoreError::Corrupt("the new project vanished".to_owned()))
    }

    pub async fn first_project(&self) -> StoreResult<Option<Project>> {
        Ok(sqlx::query_as("SELECT id, name, public_key, secret_key FROM projects ORDER BY id LIMIT 1")
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn project_by_public_key(&self, key: &str) -> StoreResult<Option<Project>> {
        Ok(sqlx::query_as("SELECT id, name, public_key, secret_key FROM projects WHERE public_key = $1")
            .bind(key.to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

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
    pub(super) async fn lead_for_visitor(
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

    /// Identify inside a savepoint: the lead with this user id (found, promoted from the
    /// visitor's anonymous lead, or created), the visitor's anonymous history merged into it,
    /// the operations applied. Returns the target and the lead merged away, if any.
    async fn identify(
        &self,
        tx: &mut AnyConnection,
        visitors: &HashMap<(i64, String), i64>,
        write: &TrackWrite,
        user_id: &str,
        operations: &[Operation],
        now: DateTime<Utc>,
    ) -> StoreResult<Identified> {
        let visitor_lead = visitors.get(&(write.project_id, write.visitor_id.clone())).copied();
        let visitor_user: Option<String> = match visitor_lead {
            Some(lead) => sqlx::query_scalar::<_, Option<String>>("SELECT user_id FROM leads WHERE id = $1")
                .bind(lead)
                .fetch_optional(&mut *tx)
                .await?
                .flatten(),
            None => None,
        };
        let anonymous = visitor_lead.filter(|_| visitor_user.is_none());
        let existing: Option<i64> = sqlx::query_scalar("SELECT MIN(id) FROM leads WHERE user_id = $1")
            .bind(user_id.to_owned())
            .fetch_one(&mut *tx)
            .await?;
        let (target, removed, mut mails) = match (existing, anonymous) {
            (Some(target), Some(anon)) if anon != target => {
                let mails = self.merge_leads(tx, anon, target, now).await?;
                (target, Some(anon), mails)
            }
            (Some(target), _) => (target, None, 0),
            (None, Some(anon)) => (anon, None, 0),
            (None, None) => (self.new_tracked_lead(tx, now).await?, None, 0),
        };
        sqlx::query(
            "INSERT INTO visitors (project_id, visitor_id, lead_id, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (project_id, visitor_id) DO UPDATE SET lead_id = excluded.lead_id",
        )
        .bind(write.project_id)
        .bind(write.visitor_id.clone())
        .bind(target)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        super::edits::bump_version(tx, self.backend, target, &super::VersionCheck::Current, now).await?;
        let user_id_name = PropertyName::parse("$user_id")
            .map_err(|source| StoreError::InvalidProperty { name: "$user_id".to_owned(), source })?;
        let mut all = operations.to_vec();
        all.push(Operation::Set { name: user_id_name, value: PropertyValue::Text(user_id.to_owned()) });
        mails += self.apply_operations(tx, target, &all, now).await?;
        Ok(Identified { target, removed, mails })
    }

    /// Moves everything of `from` (an anonymous visitor) into `into` and deletes `from`.
    /// Returns how many confirmation mails the target's new address queued.
    async fn merge_leads(
        &self,
        tx: &mut AnyConnection,
        from: i64,
        into: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<usize> {
        both(tx, into, from, "UPDATE events SET lead_id = $1 WHERE lead_id = $2").await?;
        let aggregates = format!(
            "{AGGREGATES_INSERT_SELECT} SELECT $1, name, event_count, first_at, last_at FROM event_aggregates \
             WHERE lead_id = $2 {AGGREGATES_MERGE}"
        );
        both(tx, into, from, &aggregates).await?;
        // A session key both leads have (the same browser session) keeps the target's row and
        // takes the other's pages.
        both(
            tx,
            into,
            from,
            "UPDATE page_views SET session_id = (SELECT t.id FROM site_sessions t, site_sessions f \
             WHERE f.id = page_views.session_id AND t.lead_id = $1 AND t.session_key = f.session_key) \
             WHERE session_id IN (SELECT f.id FROM site_sessions f JOIN site_sessions t \
             ON t.session_key = f.session_key AND t.lead_id = $1 WHERE f.lead_id = $2)",
        )
        .await?;
        both(
            tx,
            into,
            from,
            "UPDATE site_sessions SET page_views = page_views + (SELECT f.page_views FROM site_sessions f \
             WHERE f.lead_id = $2 AND f.session_key = site_sessions.session_key) \
             WHERE lead_id = $1 AND session_key IN (SELECT session_key FROM site_sessions WHERE lead_id = $2)",
        )
        .await?;
        both(
            tx,
            into,
            from,
            "UPDATE site_sessions SET lead_id = $1 WHERE lead_id = $2 \
             AND session_key NOT IN (SELECT session_key FROM site_sessions WHERE lead_id = $1)",
        )
        .await?;
        both(tx, into, from, "UPDATE lead_notes SET lead_id = $1 WHERE lead_id = $2").await?;
        both(
            tx,
            into,
            from,
            "INSERT INTO lead_tags (lead_id, tag, created_at) SELECT $1, tag, created_at FROM lead_tags \
             WHERE lead_id = $2 ON CONFLICT (lead_id, tag) DO NOTHING",
        )
        .await?;
        both(tx, into, from, "UPDATE visitors SET lead_id = $1 WHERE lead_id = $2").await?;
        // The visitor's conversations (a chat before signing in) go on with the lead.
        both(tx, into, from, "UPDATE conversations SET lead_id = $1 WHERE lead_id = $2").await?;
        both(tx, into, from, "UPDATE messages SET lead_id = $1 WHERE lead_id = $2").await?;
        both(tx, into, from, "UPDATE outbox SET lead_id = $1 WHERE lead_id = $2").await?;

        // Properties: the target keeps its own; counts add up and first/last seen widen.
        let specials = ["$sessions", "$first_seen", "$last_seen"];
        let target_values = self.stored_values(tx, into, &specials).await?;
        let source_values = self.stored_values(tx, from, &specials).await?;
        both(
            tx,
            into,
            from,
            "INSERT INTO lead_properties (lead_id, name, value_type, text_value, number_value, json_value, updated_at) \
             SELECT $1, name, value_type, text_value, number_value, json_value, updated_at FROM lead_properties \
             WHERE lead_id = $2 ON CONFLICT (lead_id, name) DO NOTHING",
        )
        .await?;
        let mut ops = Vec::new();
        for special in specials {
            let merged = match (target_values.get(special), source_values.get(special)) {
                (Some(PropertyValue::Number(a)), Some(PropertyValue::Number(b))) => Some(PropertyValue::Number(a + b)),
                (Some(PropertyValue::DateTime(a)), Some(PropertyValue::DateTime(b))) => {
                    Some(PropertyValue::DateTime(if special == "$first_seen" { *a.min(b) } else { *a.max(b) }))
                }
                _ => None,
            };
            if let Some(value) = merged {
                let name = PropertyName::parse(special)
                    .map_err(|source| StoreError::InvalidProperty { name: special.to_owned(), source })?;
                ops.push(Operation::Set { name, value });
            }
        }
        self.apply_operations(tx, into, &ops, now).await?;
        // The copied system properties reach their `leads` columns.
        let mirrored: Vec<&str> = MIRRORED_TEXT_COLUMNS.iter().map(|(p, _)| *p).chain(["$last_seen"]).collect();
        let values = self.stored_values(tx, into, &mirrored).await?;
        let mails = self.sync_mirrored_columns(tx, into, &mirrored, &values, now).await?;

        // Presence: the later of both.
        let presence: Vec<(Option<i64>, Option<i64>)> =
            sqlx::query_as("SELECT last_heartbeat_at, last_active_at FROM leads WHERE id = $1 OR id = $2")
                .bind(into)
                .bind(from)
                .fetch_all(&mut *tx)
                .await?;
        let beat = presence.iter().filter_map(|p| p.0).max();
        let active = presence.iter().filter_map(|p| p.1).max();
        sqlx::query("UPDATE leads SET last_heartbeat_at = $1, last_active_at = $2 WHERE id = $3")
            .bind(beat)
            .bind(active)
            .bind(into)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM leads WHERE id = $1").bind(from).execute(&mut *tx).await?;
        Ok(mails)
    }

    /// Leads on the site now (a heartbeat within the presence window), not hidden, most recently
    /// active first.
    /// The lead a visitor id stands for now, if the widget has written for it.
    pub async fn lead_of_visitor(&self, project_id: i64, visitor_id: &str) -> StoreResult<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT lead_id FROM visitors WHERE project_id = $1 AND visitor_id = $2")
            .bind(project_id)
            .bind(visitor_id)
            .fetch_optional(&self.pool)
            .await?)
    }

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
                display_name: display_name(r.name.as_deref(), r.email.as_deref(), r.id),
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

/// Runs a statement whose `$1` is the lead merged into and `$2` the lead merged away.
async fn both(tx: &mut AnyConnection, into: i64, from: i64, sql: &str) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(into).bind(from).execute(&mut *tx).await?;
    Ok(())
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

const AGGREGATES_INSERT_SELECT: &str = "INSERT INTO event_aggregates (lead_id, name, event_count, first_at, last_at)";

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
