//! Leads: creating them with their properties, tags and address status in one transaction, and
//! reading the Leads Database page and the card.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadcard_core::event::EventAggregate;
use leadcard_core::lead_sort::LeadSort;
use leadcard_core::property::SYSTEM_PROPERTIES;
use leadcard_core::tag::parse_tag;
use leadcard_core::wire::{LeadCard, LeadPage, LeadSummary, Property, Total};
use leadcard_core::{
    BounceKind, Match, PropertyName, PropertyValue, SubscriptionStatus, ValidCondition, ValidFilter, normalize_email,
};
use sqlx::{AnyConnection, FromRow};
use tracing::info;

use super::addresses::{bounce_str, ensure_email_statuses, parse_status, read_subscription};
use super::batch::{MAX_PARAMETERS, insert_rows};
use super::search::{SearchPlan, SearchTerms, search_text};
use super::settings::email_settings_in;
use super::sort::{SortCursor, push_order};
use super::sql::{
    Join, Sql, Value, WALK_BLOCK, newest_matches_count, push_lead_conditions, push_walk_source, related_rows_count,
    walk_start_block, walks,
};
use super::{Store, StoreError, StoreResult};
use crate::clock::{from_ms, to_ms};

/// Counting stops here: above it the total reads "1,000+". Counting costs a probe per matching
/// lead, so the cap bounds the count's latency on a broad filter over millions of leads.
pub const TOTAL_CAP: i64 = 1_000;

/// A condition with fewer rows than this in its table is read as a set for the page; one with
/// more is probed lead by lead (see `sql::Join`). A page sizes its conditions no further.
const PAGE_SET_LIMIT: i64 = 5_000;
/// The newest leads with a property that a page looks at to tell a common `contains` from a rare
/// one, and how many of them must match for it to count as common (1 in 200 or more: a page of
/// 50 then probes ~10,000 leads at most).
const CONTAINS_SAMPLE: i64 = 2_000;
const CONTAINS_SAMPLE_COMMON: i64 = 10;
/// Leads per transaction when migration 0009's search text is filled in.
const BACKFILL_BATCH: i64 = 5_000;
/// The same limit for the capped count.
const COUNT_SET_LIMIT: i64 = 100_000;
/// Sizing for the exact count looks this far: enough to tell a page's sets from its probes
/// ([`PAGE_SET_LIMIT`]) and to rank drivers; beyond it, equal conditions keep their order.
pub(super) const DRIVER_SIZING_CAP: i64 = 10_000;

/// The first range condition of an AND filter's top level that the page would probe lead by
/// lead (see `sql::walks`), with its leaf index: the page walks it instead.
fn walked_leaf<'f>(filter: &'f ValidFilter, joins: &[Join]) -> Option<(usize, &'f ValidCondition)> {
    if filter.mode != Match::All {
        return None;
    }
    let mut leaf = 0;
    for condition in &filter.all {
        if let ValidCondition::Group { .. } = condition {
            leaf += condition_leaves(condition);
            continue;
        }
        if walks(condition) && joins.get(leaf) == Some(&Join::Probe) {
            return Some((leaf, condition));
        }
        leaf += 1;
    }
    None
}

/// How many leaves a condition has (a group's, nested).
fn condition_leaves(condition: &ValidCondition) -> usize {
    match condition {
        ValidCondition::Group { conditions, .. } => conditions.iter().map(condition_leaves).sum(),
        _ => 1,
    }
}

/// How a page reads conditions of these sizes (see [`Store::leaf_sizes`]).
pub(super) fn page_joins(sizes: &[i64]) -> Vec<Join> {
    sizes.iter().map(|rows| if *rows < PAGE_SET_LIMIT { Join::Set } else { Join::Probe }).collect()
}

/// Where a page's rows come from (see [`Store::lead_page`]).
#[derive(Clone, Copy)]
enum PageSource<'f> {
    /// Every lead, in the page's order.
    Leads,
    /// A search's candidates, newest first (see `SearchPlan::push_source`).
    SearchIndex,
    /// A range condition's rows, newest first, below a lead id when newer leads all fail it (see
    /// `sql::walk_start_block`).
    Walk(&'f ValidCondition, Option<i64>),
    /// At most this many leads of the page's order after its cursor (a search many leads match).
    OrderWindow(i64),
}

/// How far along its order a page looks for a search's matches before reading them as a set:
/// a search reaches it only when 5,000+ leads match, so a stretch this long of a million leads
/// holds ~100 of them on average.
const ORDER_WALK_WINDOW: i64 = 20_000;

/// A lead to create, with every property (system ones included) already parsed.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub created_at: DateTime<Utc>,
    pub properties: Vec<(PropertyName, PropertyValue)>,
    pub tags: Vec<String>,
    pub last_heartbeat: Option<DateTime<Utc>>,
    pub last_active: Option<DateTime<Utc>>,
    /// Events the lead already performed, stored with it.
    pub events: Vec<NewEvent>,
}

/// An event a lead performed.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub name: String,
    /// A JSON object.
    pub properties: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
    pub source: EventSource,
}

/// A new status for an address.
#[derive(Debug, Clone)]
pub struct EmailStatusChange {
    pub email: String,
    pub status: SubscriptionStatus,
    pub bounce: Option<BounceKind>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

/// One page request of the Leads Database, already validated.
#[derive(Debug, Clone, Default)]
pub struct LeadQuery {
    pub filter: ValidFilter,
    pub search: Option<SearchTerms>,
    pub sort: LeadSort,
    /// Where the previous page ended.
    pub after: Option<SortCursor>,
    pub limit: u32,
    /// Only these leads (those of them that match).
    pub ids: Option<Vec<i64>>,
}

/// Who added an event (tracked by the site, or by hand).
pub use leadcard_core::tracking::EventSource;

/// The stored columns of one property value.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRow {
    pub value_type: &'static str,
    /// Lower-cased text form, for equals / contains / search.
    pub text_value: String,
    /// Numbers; dates as unix ms; true/false as 1/0.
    pub number_value: Option<f64>,
    /// The exact value (`PropertyValue` as JSON).
    pub json_value: String,
}

impl PropertyRow {
    pub fn of(value: &PropertyValue) -> StoreResult<Self> {
        let number_value = match value {
            PropertyValue::Number(n) => Some(*n),
            PropertyValue::DateTime(t) => Some(to_ms(*t) as f64),
            PropertyValue::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            PropertyValue::Text(_) | PropertyValue::List(_) => None,
        };
        let json_value = serde_json::to_string(value)
            .map_err(|e| StoreError::Invalid(format!("a property value cannot be stored: {e}")))?;
        Ok(PropertyRow { value_type: value.ty().as_str(), text_value: value.text_form(), number_value, json_value })
    }
}

/// The `leads` columns that mirror system properties.
#[derive(Debug, Default)]
struct LeadColumns {
    name: Option<String>,
    email: Option<String>,
    email_norm: Option<String>,
    phone: Option<String>,
    user_id: Option<String>,
    avatar_url: Option<String>,
    city: Option<String>,
    country: Option<String>,
    timezone: Option<String>,
    last_seen_at: Option<i64>,
    search_text: String,
}

/// The system properties mirrored in a text column of `leads`, with that column.
pub(super) const MIRRORED_TEXT_COLUMNS: [(&str, &str); 8] = [
    ("$name", "name"),
    ("$email", "email"),
    ("$phone", "phone"),
    ("$user_id", "user_id"),
    ("$avatar", "avatar_url"),
    ("$city", "city"),
    ("$country", "country"),
    ("$timezone", "timezone"),
];

/// What a text column of `leads` holds for a property value: trimmed text, NULL when blank.
pub(super) fn mirrored_text(value: &PropertyValue) -> Option<String> {
    value.as_text().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

impl LeadColumns {
    fn from_properties(properties: &[(PropertyName, PropertyValue)]) -> Self {
        let mut columns = LeadColumns::default();
        for (name, value) in properties {
            let text = mirrored_text(value);
            match name.as_str() {
                "$name" => columns.name = text,
                "$email" => {
                    columns.email_norm = text.as_deref().map(normalize_email);
                    columns.email = text;
                }
                "$phone" => columns.phone = text,
                "$user_id" => columns.user_id = text,
                "$avatar" => columns.avatar_url = text,
                "$city" => columns.city = text,
                "$country" => columns.country = text,
                "$timezone" => columns.timezone = text,
                "$last_seen" => {
                    if let PropertyValue::DateTime(t) = value {
                        columns.last_seen_at = Some(to_ms(*t));
                    }
                }
                _ => {}
            }
        }
        columns.search_text = search_text(
            columns.name.as_deref(),
            columns.email.as_deref(),
            columns.phone.as_deref(),
            columns.user_id.as_deref(),
        );
        columns
    }
}

/// Checks every value and keeps the last value of a name given twice.
fn checked_properties(properties: &[(PropertyName, PropertyValue)]) -> StoreResult<Vec<(PropertyName, PropertyValue)>> {
    let mut checked: Vec<(PropertyName, PropertyValue)> = Vec::with_capacity(properties.len());
    for (name, value) in properties {
        value
            .check_for(name)
            .map_err(|source| StoreError::InvalidProperty { name: name.as_str().to_owned(), source })?;
        match checked.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.clone(),
            None => checked.push((name.clone(), value.clone())),
        }
    }
    Ok(checked)
}

/// A tag as stored, by core's one rule ([`parse_tag`]: trimmed, one line, 1 to 64 characters).
pub(crate) fn checked_tag(tag: &str) -> StoreResult<String> {
    parse_tag(tag).map_err(|e| StoreError::Invalid(format!("a tag {e}")))
}

/// Inserting rows of [`aggregate_row`]; with [`AGGREGATES_MERGE`] as the tail an existing
/// aggregate takes the new occurrences in by `EventAggregate::merge`'s rule.
pub(super) const AGGREGATES_INSERT: &str =
    "INSERT INTO event_aggregates (lead_id, name, event_count, first_at, last_at) VALUES ";
pub(super) const AGGREGATES_MERGE: &str = " ON CONFLICT (lead_id, name) DO UPDATE SET \
     event_count = event_aggregates.event_count + excluded.event_count, \
     first_at = CASE WHEN excluded.first_at < event_aggregates.first_at \
         THEN excluded.first_at ELSE event_aggregates.first_at END, \
     last_at = CASE WHEN excluded.last_at > event_aggregates.last_at \
         THEN excluded.last_at ELSE event_aggregates.last_at END";

pub(super) fn aggregate_row(lead_id: i64, name: &str, aggregate: EventAggregate) -> [Value; 5] {
    [
        Value::from(lead_id),
        Value::from(name),
        Value::from(aggregate.count as i64),
        Value::from(to_ms(aggregate.first)),
        Value::from(to_ms(aggregate.last)),
    ]
}

/// Lead rows per INSERT (15 values each).
const LEADS_PER_STATEMENT: usize = MAX_PARAMETERS / 15;

#[derive(FromRow)]
struct SummaryRow {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    avatar_url: Option<String>,
    city: Option<String>,
    country: Option<String>,
    last_seen_at: Option<i64>,
    last_heartbeat_at: Option<i64>,
    last_active_at: Option<i64>,
    status: Option<String>,
}

#[derive(FromRow)]
struct CardRow {
    id: i64,
    version: i64,
    name: Option<String>,
    email: Option<String>,
    email_norm: Option<String>,
    avatar_url: Option<String>,
    created_at: i64,
    last_seen_at: Option<i64>,
    last_heartbeat_at: Option<i64>,
    last_active_at: Option<i64>,
}

#[derive(FromRow)]
struct StoredProperty {
    name: String,
    json_value: String,
    updated_at: i64,
}

/// Where a property goes in the card: system ones in their fixed order, then custom by name.
fn card_order(name: &str) -> (usize, &str) {
    let system = SYSTEM_PROPERTIES.iter().position(|p| p.name == name);
    (system.unwrap_or(SYSTEM_PROPERTIES.len()), name)
}

fn opt_time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.map(from_ms)
}

impl Store {
    /// Creates a lead with its properties, tags, events and the status of its address, atomically.
    pub async fn create_lead(&self, lead: &NewLead) -> StoreResult<i64> {
        let ids = self.create_leads(std::slice::from_ref(lead)).await?;
        ids.first().copied().ok_or_else(|| StoreError::Corrupt("no id for a new lead".to_owned()))
    }

    /// Creates many leads in one transaction with multi-row statements; returns their ids in
    /// the order given.
    pub async fn create_leads(&self, leads: &[NewLead]) -> StoreResult<Vec<i64>> {
        // It reads (the settings, segments) before it writes: on SQLite a deferred transaction
        // would be refused at once ("database is locked") if the mail queue wrote meanwhile.
        let mut tx = self.begin_write().await?;
        let (ids, confirmations) = self.insert_leads(&mut tx, leads).await?;
        tx.commit().await?;
        if confirmations > 0 {
            self.mail_queued.notify_one();
        }
        Ok(ids)
    }

    /// [`Store::create_leads`] inside the caller's transaction: returns the ids and how many
    /// confirmation mails were queued (the caller wakes the mail worker after committing).
    pub(super) async fn insert_leads(
        &self,
        tx: &mut AnyConnection,
        leads: &[NewLead],
    ) -> StoreResult<(Vec<i64>, usize)> {
        let mut checked = Vec::with_capacity(leads.len());
        for lead in leads {
            let properties = checked_properties(&lead.properties)?;
            let tags = lead.tags.iter().map(|t| checked_tag(t)).collect::<StoreResult<Vec<_>>>()?;
            let columns = LeadColumns::from_properties(&properties);
            checked.push((lead, properties, tags, columns));
        }

        let mut ids = Vec::with_capacity(leads.len());
        for chunk in checked.chunks(LEADS_PER_STATEMENT) {
            let mut sql = Sql::new(
                self.backend,
                "INSERT INTO leads (name, email, email_norm, phone, user_id, avatar_url, city, \
                 country, timezone, created_at, updated_at, last_seen_at, last_heartbeat_at, \
                 last_active_at, search_text) VALUES ",
            );
            for (i, (lead, _, _, c)) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                let created = to_ms(lead.created_at);
                sql.bind_list([
                    Value::from(c.name.clone()),
                    Value::from(c.email.clone()),
                    Value::from(c.email_norm.clone()),
                    Value::from(c.phone.clone()),
                    Value::from(c.user_id.clone()),
                    Value::from(c.avatar_url.clone()),
                    Value::from(c.city.clone()),
                    Value::from(c.country.clone()),
                    Value::from(c.timezone.clone()),
                    Value::from(created),
                    Value::from(created),
                    Value::from(c.last_seen_at),
                    Value::from(lead.last_heartbeat.map(to_ms)),
                    Value::from(lead.last_active.map(to_ms)),
                    Value::from(c.search_text.clone()),
                ]);
            }
            sql.push(" RETURNING id");
            let mut chunk_ids: Vec<i64> = sql.query_scalar().fetch_all(&mut *tx).await?;
            // Both databases number the rows of one VALUES list in order; RETURNING's own order
            // is unspecified, so sort.
            chunk_ids.sort_unstable();
            if chunk_ids.len() != chunk.len() {
                return Err(StoreError::Corrupt("a lead insert returned the wrong number of ids".to_owned()));
            }
            ids.extend(chunk_ids);
        }

        let mut property_rows = Vec::new();
        let mut tag_rows = Vec::new();
        let mut event_rows = Vec::new();
        let mut aggregate_rows = Vec::new();
        let mut addresses: Vec<(String, i64, DateTime<Utc>)> = Vec::new();
        for (id, (lead, properties, tags, columns)) in ids.iter().zip(&checked) {
            let now = to_ms(lead.created_at);
            for (name, value) in properties {
                let row = PropertyRow::of(value)?;
                property_rows.push([
                    Value::from(*id),
                    Value::from(name.as_str()),
                    Value::from(row.value_type),
                    Value::from(row.text_value),
                    Value::from(row.number_value),
                    Value::from(row.json_value),
                    Value::from(now),
                ]);
            }
            for tag in tags {
                tag_rows.push([Value::from(*id), Value::from(tag.as_str()), Value::from(now)]);
            }
            let mut aggregates: HashMap<&str, EventAggregate> = HashMap::new();
            for event in &lead.events {
                aggregates
                    .entry(event.name.as_str())
                    .and_modify(|a| *a = a.record(event.occurred_at))
                    .or_insert_with(|| EventAggregate::new(event.occurred_at));
                event_rows.push([
                    Value::from(*id),
                    Value::from(event.name.as_str()),
                    Value::from(event.properties.to_string()),
                    Value::from(to_ms(event.occurred_at)),
                    Value::from(event.source.as_str()),
                ]);
            }
            for (name, aggregate) in aggregates {
                aggregate_rows.push(aggregate_row(*id, name, aggregate));
            }
            if let Some(email) = &columns.email {
                addresses.push((email.clone(), *id, lead.created_at));
            }
        }
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO lead_properties \
             (lead_id, name, value_type, text_value, number_value, json_value, updated_at) VALUES ",
            "",
            property_rows,
        )
        .await?;
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO lead_tags (lead_id, tag, created_at) VALUES ",
            " ON CONFLICT (lead_id, tag) DO NOTHING",
            tag_rows,
        )
        .await?;
        insert_rows(
            tx,
            self.backend,
            "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ",
            "",
            event_rows,
        )
        .await?;
        insert_rows(tx, self.backend, AGGREGATES_INSERT, AGGREGATES_MERGE, aggregate_rows).await?;
        let confirmations = ensure_email_statuses(tx, self.backend, addresses).await?;
        Ok((ids, confirmations))
    }

    /// Sets the status of an address (every lead with it shares the status).
    pub async fn set_email_status(
        &self,
        email: &str,
        status: SubscriptionStatus,
        bounce: Option<BounceKind>,
        reason: Option<&str>,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let change =
            EmailStatusChange { email: email.to_owned(), status, bounce, reason: reason.map(str::to_owned), at };
        self.set_email_statuses(&[change]).await
    }

    /// Sets the status of many addresses in one transaction.
    pub async fn set_email_statuses(&self, changes: &[EmailStatusChange]) -> StoreResult<()> {
        let mut by_address: HashMap<String, &EmailStatusChange> = HashMap::new();
        for change in changes {
            by_address.insert(normalize_email(&change.email), change);
        }
        let rows = by_address
            .into_iter()
            .map(|(email_norm, c)| {
                [
                    Value::from(email_norm),
                    Value::from(c.status.as_str()),
                    Value::from(c.bounce.map(|b| bounce_str(b).to_owned())),
                    Value::from(c.reason.clone()),
                    Value::from(to_ms(c.at)),
                ]
            })
            .collect();
        let mut tx = self.begin().await?;
        insert_rows(
            &mut tx,
            self.backend,
            "INSERT INTO email_statuses (email_norm, status, bounce, reason, changed_at) VALUES ",
            " ON CONFLICT (email_norm) DO UPDATE SET status = excluded.status, \
             bounce = excluded.bounce, reason = excluded.reason, changed_at = excluded.changed_at",
            rows,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Whether the database holds any lead.
    pub async fn has_leads(&self) -> StoreResult<bool> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM (SELECT 1 FROM leads LIMIT 1) t").fetch_one(&self.pool).await?;
        Ok(n > 0)
    }

    /// One page of the Leads Database in the query's order. It never counts: the total is its own request
    /// ([`Store::lead_count`]), so the rows never wait for it.
    pub async fn lead_page(&self, query: &LeadQuery, now: DateTime<Utc>) -> StoreResult<LeadPage> {
        let mut page_joins = page_joins(&self.page_leaf_sizes(&query.filter, now).await?);
        // Newest first (the default order), the page may walk something other than the leads:
        // a search's index when it has many candidates (see `SearchPlan::drives_page`), else a
        // range condition it would probe lead by lead (see `sql::walks`). It orders and pages
        // by the walk's id then. Other orders walk their own index of the leads (`push_order`).
        // A list of ids (the live list asking about changed leads) needs no walk: they are few.
        let newest_first = query.sort == LeadSort::default() && query.ids.is_none();
        let search = match query.search.as_ref() {
            Some(terms) => {
                let plan = self.plan_search(terms, &query.filter).await?;
                Some(match (newest_first, &query.ids) {
                    (true, _) => {
                        self.with_conditions_window(plan, &query.filter, i64::from(query.limit) + 1, now).await?
                    }
                    // A few ids: their leads are looked up, never walked to.
                    (false, Some(_)) => plan.into_set(),
                    (false, None) => self.search_in_order(plan).await?,
                })
            }
            None => None,
        };
        let walked = if !newest_first || search.as_ref().is_some_and(SearchPlan::drives_page) {
            None
        } else {
            walked_leaf(&query.filter, &page_joins)
        };
        let window = search.as_ref().filter(|_| newest_first).and_then(SearchPlan::newest_window);
        let source = match (&search, walked) {
            (Some(_), _) if let Some(window) = window => PageSource::OrderWindow(window),
            (Some(plan), _) if plan.drives_page() => PageSource::SearchIndex,
            (_, Some((leaf, condition))) => {
                page_joins[leaf] = Join::Driven;
                PageSource::Walk(condition, self.walk_below(condition, query.after.as_ref(), now).await?)
            }
            (Some(plan), _) if plan.confirms_only() => PageSource::OrderWindow(ORDER_WALK_WINDOW),
            _ => PageSource::Leads,
        };
        let mut rows = self.page_rows(query, search.as_ref(), source, &page_joins, now).await?;
        if let (PageSource::OrderWindow(_), Some(plan)) = (source, search)
            && rows.len() <= query.limit as usize
        {
            // Too few matches in this stretch of the order (or its end): the candidates as a set,
            // or through the search's index when its plan drives a page.
            let (plan, source) = if window.is_some() {
                let plan = plan.past_window();
                let source = if plan.drives_page() { PageSource::SearchIndex } else { PageSource::Leads };
                (plan, source)
            } else {
                (plan.into_set(), PageSource::Leads)
            };
            rows = self.page_rows(query, Some(&plan), source, &page_joins, now).await?;
        }
        let more = rows.len() > query.limit as usize;
        rows.truncate(query.limit as usize);
        let next = if more {
            rows.last().map(|r| {
                SortCursor::after_lead(query.sort, r.id, r.name.as_deref(), r.email.as_deref(), r.last_seen_at)
            })
        } else {
            None
        };
        let mut tags = self.tags_of(&rows.iter().map(|r| r.id).collect::<Vec<_>>()).await?;

        let items = rows
            .into_iter()
            .map(|row| {
                let subscription = match &row.status {
                    Some(status) => parse_status(status)?,
                    None => SubscriptionStatus::InvalidEmail,
                };
                Ok(LeadSummary {
                    id: row.id,
                    display_name: crate::store::shown_name(row.name.as_deref(), row.email.as_deref(), row.id),
                    tags: tags.remove(&row.id).unwrap_or_default(),
                    email: row.email,
                    avatar_url: row.avatar_url,
                    city: row.city,
                    country: row.country,
                    last_seen: opt_time(row.last_seen_at),
                    last_heartbeat: opt_time(row.last_heartbeat_at),
                    last_active: opt_time(row.last_active_at),
                    subscription,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(LeadPage { items, next })
    }

    /// The rows of one page (one more than the limit, to tell whether another follows).
    async fn page_rows(
        &self,
        query: &LeadQuery,
        search: Option<&SearchPlan<'_>>,
        source: PageSource<'_>,
        joins: &[Join],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SummaryRow>> {
        let mut page = Sql::new(
            self.backend,
            "SELECT l.id, l.name, l.email, l.avatar_url, l.city, l.country, l.last_seen_at, \
             l.last_heartbeat_at, l.last_active_at, s.status FROM ",
        );
        let key = match source {
            PageSource::SearchIndex => search.map(|plan| plan.push_source(&mut page)),
            PageSource::Walk(condition, below) => {
                push_walk_source(&mut page, condition, below, now);
                Some("w.id")
            }
            PageSource::OrderWindow(window) => {
                // The next `window` leads of the order after the cursor, read lazily (the outer
                // LIMIT stops the walk); the page's conditions are tested on them outside.
                page.push("(SELECT * FROM leads l WHERE 1 = 1");
                push_order(&mut page, self.backend, query.sort, query.after.as_ref());
                page.push(" LIMIT ").bind(window).push(") l");
                None
            }
            PageSource::Leads => {
                page.push("leads l");
                None
            }
        };
        page.push(" LEFT JOIN email_statuses s ON s.email_norm = l.email_norm WHERE 1 = 1");
        if let Some(search) = search {
            search.push(&mut page);
        }
        push_lead_conditions(&mut page, &query.filter, joins, now);
        if let Some(ids) = &query.ids {
            page.push(" AND l.id IN ").bind_list(ids.iter().copied());
        }
        match (key, source) {
            (Some(key), _) => {
                if let Some(after) = &query.after {
                    page.push(&format!(" AND {key} < ")).bind(after.id());
                }
                page.push(&format!(" ORDER BY {key} DESC"));
            }
            // The window is already after the cursor.
            (None, PageSource::OrderWindow(_)) => push_order(&mut page, self.backend, query.sort, None),
            (None, _) => push_order(&mut page, self.backend, query.sort, query.after.as_ref()),
        }
        page.push(" LIMIT ").bind(i64::from(query.limit) + 1);
        Ok(page.query_as().fetch_all(&self.pool).await?)
    }

    /// Where a page's walk of a range condition starts (see [`PageSource::Walk`]): the top of the
    /// newest block of lead ids, below the page's cursor, that holds a match.
    async fn walk_below(
        &self,
        condition: &ValidCondition,
        after: Option<&SortCursor>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<i64>> {
        let top = after.map(|cursor| (cursor.id() - 1).max(0) / WALK_BLOCK);
        let Some(sql) = walk_start_block(self.backend, condition, top, now) else { return Ok(None) };
        let block: Option<i64> = sql.query_scalar().fetch_one(&self.pool).await?;
        Ok(block.map(|block| (block + 1) * WALK_BLOCK))
    }

    /// How many leads match a search and filter, counted no further than [`TOTAL_CAP`].
    pub async fn lead_count(
        &self,
        filter: &ValidFilter,
        search: Option<&SearchTerms>,
        now: DateTime<Utc>,
    ) -> StoreResult<Total> {
        let (_, count_joins) = self.plan_joins(filter, now).await?;
        let search = match search {
            Some(terms) => Some(self.plan_search(terms, filter).await?.for_count()),
            None => None,
        };
        // Many candidates are walked through the index until the cap, as for a page.
        let source = match &search {
            Some(plan) if plan.drives_page() => SearchPlan::COUNT_SOURCE,
            _ => "leads l",
        };
        let mut count = Sql::new(self.backend, &format!("SELECT COUNT(*) FROM (SELECT 1 FROM {source} WHERE 1 = 1"));
        if let Some(search) = &search {
            search.push(&mut count);
        }
        push_lead_conditions(&mut count, filter, &count_joins, now);
        count.push(" LIMIT ").bind(TOTAL_CAP + 1).push(") t");
        let counted: i64 = count.query_scalar().fetch_one(&self.pool).await?;
        Ok(Total { count: counted.clamp(0, TOTAL_CAP) as u64, exact: counted <= TOTAL_CAP })
    }

    /// Gives the leads that existed before migration 0009 their search text, newest first, in
    /// transactions of [`BACKFILL_BATCH`] leads; `search_backfill.upto` records the progress, so
    /// an interrupted start carries on where it stopped. Nothing to do on later starts.
    pub(super) async fn backfill_search_text(&self) -> StoreResult<()> {
        let started = std::time::Instant::now();
        let first: i64 = sqlx::query_scalar("SELECT upto FROM search_backfill").fetch_one(&self.pool).await?;
        if first <= 0 {
            return Ok(());
        }
        info!(leads_up_to = first, "filling the search text of existing leads (migration 0009)");
        let mut upto = first;
        while upto > 0 {
            let from = (upto - BACKFILL_BATCH).max(0);
            let mut tx = self.begin().await?;
            let rows: Vec<SearchedRow> =
                sqlx::query_as("SELECT id, name, email, phone, user_id FROM leads WHERE id > $1 AND id <= $2")
                    .bind(from)
                    .bind(upto)
                    .fetch_all(&mut *tx)
                    .await?;
            let texts: Vec<[Value; 2]> = rows
                .into_iter()
                .map(|row| (row.id, row.search_text()))
                .filter(|(_, text)| !text.is_empty())
                .map(|(id, text)| [Value::from(id), Value::from(text)])
                .collect();
            insert_rows(
                &mut tx,
                self.backend,
                "WITH v (id, t) AS (VALUES ",
                ") UPDATE leads SET search_text = v.t FROM v WHERE leads.id = v.id",
                texts,
            )
            .await?;
            sqlx::query("UPDATE search_backfill SET upto = $1").bind(from).execute(&mut *tx).await?;
            tx.commit().await?;
            upto = from;
        }
        info!(seconds = started.elapsed().as_secs_f64(), "search text filled");
        Ok(())
    }

    /// Chooses per condition, for the page and for the count, between reading its rows as a set
    /// and probing lead by lead, from how many rows it has (counted through an index, no further
    /// than [`COUNT_SET_LIMIT`]). The page needs only ~50 matches, so probing wins early; the
    /// count needs up to 10,001, so a set stays cheaper for longer.
    pub(super) async fn plan_joins(
        &self,
        filter: &ValidFilter,
        now: DateTime<Utc>,
    ) -> StoreResult<(Vec<Join>, Vec<Join>)> {
        let sizes = self.leaf_sizes(filter, COUNT_SET_LIMIT, now).await?;
        Ok((
            page_joins(&sizes),
            sizes.iter().map(|rows| if *rows < COUNT_SET_LIMIT { Join::Set } else { Join::Probe }).collect(),
        ))
    }

    /// How many rows each of the filter's leaves has in its table, counted no further than `cap`
    /// (0 for conditions on the lead's own columns).
    pub(super) async fn leaf_sizes(&self, filter: &ValidFilter, cap: i64, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        let mut sizes = Vec::new();
        for condition in filter.leaves() {
            sizes.push(self.leaf_size(condition, cap, now).await?);
        }
        Ok(sizes)
    }

    async fn leaf_size(&self, condition: &ValidCondition, cap: i64, now: DateTime<Utc>) -> StoreResult<i64> {
        Ok(match related_rows_count(self.backend, condition, cap, now) {
            Some(sql) => sql.query_scalar::<i64>().fetch_one(&self.pool).await?,
            None => 0,
        })
    }

    /// [`Store::leaf_sizes`] for a page, except that a `contains` condition whose matches are
    /// common among the newest leads is not sized: the page probes it lead by lead and fills
    /// within a few thousand leads, where sizing would read the property's rows in text order
    /// (40-80 ms at 1M leads).
    async fn page_leaf_sizes(&self, filter: &ValidFilter, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        let mut sizes = Vec::new();
        for condition in filter.leaves() {
            let common = match newest_matches_count(self.backend, condition, CONTAINS_SAMPLE, now) {
                Some(sql) => sql.query_scalar::<i64>().fetch_one(&self.pool).await? >= CONTAINS_SAMPLE_COMMON,
                None => false,
            };
            sizes.push(if common { PAGE_SET_LIMIT } else { self.leaf_size(condition, PAGE_SET_LIMIT, now).await? });
        }
        Ok(sizes)
    }

    /// The tags of each given lead, sorted (by byte order, the same on both databases).
    async fn tags_of(&self, ids: &[i64]) -> StoreResult<HashMap<i64, Vec<String>>> {
        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        if ids.is_empty() {
            return Ok(tags);
        }
        let mut sql = Sql::new(self.backend, "SELECT lead_id, tag FROM lead_tags WHERE lead_id IN ");
        sql.bind_list(ids.iter().copied());
        let rows: Vec<(i64, String)> = sql.query_as().fetch_all(&self.pool).await?;
        for (id, tag) in rows {
            tags.entry(id).or_default().push(tag);
        }
        tags.values_mut().for_each(|t| t.sort_unstable());
        Ok(tags)
    }

    /// The card of a lead as it is at `now` (the menu's actions depend on the time), or `None`
    /// when there is no such lead.
    pub async fn lead_card(&self, id: i64, now: DateTime<Utc>) -> StoreResult<Option<LeadCard>> {
        let mut conn = self.pool.acquire().await?;
        read_card(&mut conn, id, now).await
    }

    /// The lead's `$avatar` address: `None` when there is no such lead, `Some(None)` when it has
    /// no avatar.
    pub async fn lead_avatar_url(&self, id: i64) -> StoreResult<Option<Option<String>>> {
        Ok(sqlx::query_scalar("SELECT avatar_url FROM leads WHERE id = $1").bind(id).fetch_optional(&self.pool).await?)
    }
}

/// The card of a lead as `conn` sees it (inside a transaction: as that transaction sees it).
pub(super) async fn read_card(conn: &mut AnyConnection, id: i64, now: DateTime<Utc>) -> StoreResult<Option<LeadCard>> {
    let Some(row) = sqlx::query_as::<_, CardRow>(
        "SELECT id, version, name, email, email_norm, avatar_url, created_at, last_seen_at, \
         last_heartbeat_at, last_active_at FROM leads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };

    let stored: Vec<StoredProperty> =
        sqlx::query_as("SELECT name, json_value, updated_at FROM lead_properties WHERE lead_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let mut properties = stored
        .into_iter()
        .map(|p| {
            let value = parse_stored_value(&p.json_value, &p.name, id)?;
            Ok(Property { name: p.name, value, updated_at: from_ms(p.updated_at) })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    properties.sort_by(|a, b| card_order(&a.name).cmp(&card_order(&b.name)));

    let tags = read_tags(conn, id).await?;
    let settings = email_settings_in(conn).await?;
    let subscription = read_subscription(conn, row.email.clone(), row.email_norm.as_deref(), &settings, now).await?;

    Ok(Some(LeadCard {
        id: row.id,
        version: row.version,
        display_name: crate::store::shown_name(row.name.as_deref(), row.email.as_deref(), row.id),
        avatar_url: row.avatar_url,
        created_at: from_ms(row.created_at),
        last_seen: opt_time(row.last_seen_at),
        last_heartbeat: opt_time(row.last_heartbeat_at),
        last_active: opt_time(row.last_active_at),
        properties,
        tags,
        subscription,
    }))
}

/// The properties whose `leads` columns make up the search text.
pub(super) const SEARCHED_PROPERTIES: [&str; 4] = ["$name", "$email", "$phone", "$user_id"];

/// The columns of `leads` a search text is made of.
#[derive(FromRow)]
struct SearchedRow {
    id: i64,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    user_id: Option<String>,
}

impl SearchedRow {
    fn search_text(&self) -> String {
        search_text(self.name.as_deref(), self.email.as_deref(), self.phone.as_deref(), self.user_id.as_deref())
    }
}

/// Recomputes a lead's search text from its columns, after one of [`SEARCHED_PROPERTIES`] changed.
pub(super) async fn refresh_search_text(conn: &mut AnyConnection, id: i64) -> StoreResult<()> {
    let row: Option<SearchedRow> = sqlx::query_as("SELECT id, name, email, phone, user_id FROM leads WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    if let Some(row) = row {
        let text = row.search_text();
        sqlx::query("UPDATE leads SET search_text = $1 WHERE id = $2").bind(text).bind(id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// A stored `json_value` read back as the typed value it was written from.
pub(super) fn parse_stored_value(json_value: &str, name: &str, lead_id: i64) -> StoreResult<PropertyValue> {
    serde_json::from_str(json_value)
        .map_err(|e| StoreError::Corrupt(format!("property {name:?} of lead {lead_id}: {e}")))
}

/// The tags of one lead, sorted (by byte order, the same on both databases).
pub(super) async fn read_tags(conn: &mut AnyConnection, id: i64) -> StoreResult<Vec<String>> {
    let mut tags: Vec<String> =
        sqlx::query_scalar("SELECT tag FROM lead_tags WHERE lead_id = $1").bind(id).fetch_all(&mut *conn).await?;
    tags.sort_unstable();
    Ok(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_stored_with_a_folded_text_form_and_a_number() {
        let row = PropertyRow::of(&PropertyValue::Text("Ärzte GmbH".into())).unwrap();
        assert_eq!(row.text_value, "ärzte gmbh");
        assert_eq!(row.number_value, None);
        let row = PropertyRow::of(&PropertyValue::Number(120.5)).unwrap();
        assert_eq!((row.text_value.as_str(), row.number_value), ("120.5", Some(120.5)));
        let row = PropertyRow::of(&PropertyValue::Bool(true)).unwrap();
        assert_eq!((row.text_value.as_str(), row.number_value), ("true", Some(1.0)));
        let long = PropertyValue::List(vec!["ж".repeat(255); 30]);
        assert!(PropertyRow::of(&long).unwrap().text_value.len() <= leadcard_core::property::MAX_TEXT_FORM_BYTES);
    }

    #[test]
    fn card_lists_system_properties_in_their_order_then_custom_by_name() {
        let mut names = vec!["plan", "$email", "Amount", "$name", "$utm_source"];
        names.sort_by(|a, b| card_order(a).cmp(&card_order(b)));
        assert_eq!(names, ["$name", "$email", "$utm_source", "Amount", "plan"]);
    }

    #[test]
    fn a_name_given_twice_keeps_its_last_value() {
        let name = PropertyName::parse("plan").unwrap();
        let checked = checked_properties(&[
            (name.clone(), PropertyValue::Text("free".into())),
            (name, PropertyValue::Text("pro".into())),
        ])
        .unwrap();
        assert_eq!(checked.len(), 1);
        assert_eq!(checked[0].1, PropertyValue::Text("pro".into()));
    }
}
