//! Reading leads for a CSV export: one batch at a time in id order (keyset), with only the
//! properties the export's columns name, so memory stays that of one batch however many leads
//! match.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use leadcard_core::{PropertyValue, ValidFilter};
use sqlx::FromRow;

use super::leads::{page_joins, parse_stored_value};
use super::search::SearchTerms;
use super::sql::{Sql, push_lead_conditions};
use super::{Store, StoreResult};
use crate::clock::from_ms;

/// Which leads an export takes.
#[derive(Debug, Clone, Default)]
pub struct ExportScope {
    pub filter: ValidFilter,
    pub search: Option<SearchTerms>,
    /// Only these leads (the selected rows), when given.
    pub ids: Option<Vec<i64>>,
}

/// One lead as an export writes it.
#[derive(Debug, Clone)]
pub struct ExportLead {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    /// None when the lead has no address.
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub properties: HashMap<String, PropertyValue>,
}

#[derive(FromRow)]
struct ExportRow {
    id: i64,
    created_at: i64,
    email_norm: Option<String>,
    status: Option<String>,
}

/// How far the filter's conditions are sized: an export walks leads by id and stops after a batch,
/// as a page does, so it reads each condition as a page does (`leads::page_joins`, whose limit
/// between a set and a probe is this).
const SIZING_CAP: i64 = 5_000;

impl Store {
    /// The next `limit` leads of the scope after the lead `after` (by id), with the named
    /// properties, their tags and their address's status.
    pub async fn export_batch(
        &self,
        scope: &ExportScope,
        property_names: &[String],
        after: i64,
        limit: u32,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<ExportLead>> {
        let sizes = self.leaf_sizes(&scope.filter, SIZING_CAP, now).await?;
        let joins = page_joins(&sizes);
        let mut sql = Sql::new(
            self.backend,
            "SELECT l.id, l.created_at, l.email_norm, s.status FROM leads l \
             LEFT JOIN email_statuses s ON s.email_norm = l.email_norm WHERE l.id > ",
        );
        sql.bind(after);
        if let Some(ids) = &scope.ids {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            sql.push(" AND l.id IN ").bind_list(ids.iter().copied());
        }
        if let Some(search) = &scope.search {
            // Read in id order, not newest first: the candidates as a set.
            self.plan_search(search, &scope.filter).await?.into_set().push(&mut sql);
        }
        push_lead_conditions(&mut sql, &scope.filter, &joins, now);
        sql.push(" ORDER BY l.id LIMIT ").bind(i64::from(limit));
        let rows: Vec<ExportRow> = sql.query_as().fetch_all(&self.pool).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();

        let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
        let mut tag_sql = Sql::new(self.backend, "SELECT lead_id, tag FROM lead_tags WHERE lead_id IN ");
        tag_sql.bind_list(ids.iter().copied());
        for (id, tag) in tag_sql.query_as::<(i64, String)>().fetch_all(&self.pool).await? {
            tags.entry(id).or_default().push(tag);
        }

        let mut properties: HashMap<i64, HashMap<String, PropertyValue>> = HashMap::new();
        if !property_names.is_empty() {
            let mut property_sql =
                Sql::new(self.backend, "SELECT lead_id, name, json_value FROM lead_properties WHERE lead_id IN ");
            property_sql.bind_list(ids.iter().copied()).push(" AND name IN ").bind_list(property_names.iter().cloned());
            for (id, name, json) in property_sql.query_as::<(i64, String, String)>().fetch_all(&self.pool).await? {
                let value = parse_stored_value(&json, &name, id)?;
                properties.entry(id).or_default().insert(name, value);
            }
        }

        Ok(rows
            .into_iter()
            .map(|row| {
                let mut lead_tags = tags.remove(&row.id).unwrap_or_default();
                lead_tags.sort_unstable();
                ExportLead {
                    id: row.id,
                    created_at: from_ms(row.created_at),
                    // As the list shows it: an address without a stored status is an invalid one.
                    status: row.email_norm.map(|_| row.status.unwrap_or_else(|| "invalid_email".to_owned())),
                    tags: lead_tags,
                    properties: properties.remove(&row.id).unwrap_or_default(),
                }
            })
            .collect())
    }
}
