//! Bulk actions' store work: the leads a selection holds, read in id order, and one batch of an
//! action applied in one transaction (each lead's version moves on, as a single edit's would).

use chrono::{DateTime, Utc};
use leadcard_core::bulk::CheckedAction;
use leadcard_core::mail::MenuRefusal;
use sqlx::Connection;

use super::addresses::{AddressChange, AddressOutcome, Transition, change_in};
use super::edits::{VersionCheck, bump_version};
use super::export::ExportScope;
use super::leads::page_joins;
use super::settings::email_settings_in;
use super::sql::{Sql, push_lead_conditions};
use super::{Store, StoreError, StoreResult};
use crate::clock::to_ms;
use crate::language::said;

/// Lead ids read per query while a selection is listed.
const IDS_PER_READ: i64 = 5_000;
/// How far a selection's conditions are sized (as an export's: a walk by id).
const SIZING_CAP: i64 = 5_000;

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BulkBatch {
    /// Leads the action changed (each gets its segments recomputed and a live update).
    pub changed: Vec<i64>,
    /// Leads removed completely.
    pub removed: Vec<i64>,
    /// Leads left as they were: gone meanwhile, or already as the action would make them.
    pub skipped: u64,
    /// Leads the rules refused, with the reason, for the report.
    pub failed: Vec<(i64, String)>,
    /// Address statuses the batch changed (other cards with the address follow).
    pub addresses: Vec<AddressChange>,
}

impl Store {
    /// Every lead the scope holds now, in id order.
    pub async fn selection_ids(&self, scope: &ExportScope, now: DateTime<Utc>) -> StoreResult<Vec<i64>> {
        if let Some(ids) = &scope.ids
            && scope.search.is_none()
            && scope.filter.all.is_empty()
        {
            let mut existing = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(IDS_PER_READ as usize) {
                let mut sql = Sql::new(self.backend, "SELECT id FROM leads WHERE id IN ");
                sql.bind_list(chunk.iter().copied());
                existing.extend(sql.query_scalar::<i64>().fetch_all(&self.pool).await?);
            }
            existing.sort_unstable();
            return Ok(existing);
        }
        let sizes = self.leaf_sizes(&scope.filter, SIZING_CAP, now).await?;
        let joins = page_joins(&sizes);
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let mut sql = Sql::new(self.backend, "SELECT l.id FROM leads l WHERE l.id > ");
            sql.bind(after);
            if let Some(ids) = &scope.ids {
                sql.push(" AND l.id IN ").bind_list(ids.iter().copied());
            }
            if let Some(search) = &scope.search {
                self.plan_search(search, &scope.filter).await?.into_set().push(&mut sql);
            }
            push_lead_conditions(&mut sql, &scope.filter, &joins, now);
            sql.push(" ORDER BY l.id LIMIT ").bind(IDS_PER_READ);
            let ids: Vec<i64> = sql.query_scalar().fetch_all(&self.pool).await?;
            let Some(last) = ids.last().copied() else { break };
            let full = ids.len() as i64 == IDS_PER_READ;
            all.extend(ids);
            if !full {
                break;
            }
            after = last;
        }
        Ok(all)
    }

    /// Applies the action to these leads (ascending ids) in one transaction.
    pub async fn bulk_batch(&self, ids: &[i64], action: &CheckedAction, now: DateTime<Utc>) -> StoreResult<BulkBatch> {
        let mut tx = self.begin_write().await?;
        let mut done = BulkBatch::default();
        let at = to_ms(now);
        match action {
            CheckedAction::AddTag(tag) | CheckedAction::RemoveTag(tag) => {
                let adding = matches!(action, CheckedAction::AddTag(_));
                let mut sql = Sql::new(self.backend, "UPDATE leads SET version = version + 1, updated_at = ");
                sql.bind(at).push(" WHERE id IN ").bind_list(ids.iter().copied());
                sql.push(if adding { " AND NOT EXISTS" } else { " AND EXISTS" });
                sql.push(" (SELECT 1 FROM lead_tags t WHERE t.lead_id = leads.id AND t.tag = ")
                    .bind(tag.clone())
                    .push(") RETURNING id");
                done.changed = sql.query_scalar::<i64>().fetch_all(&mut *tx).await?;
                if !done.changed.is_empty() {
                    let mut sql = if adding {
                        let mut sql =
                            Sql::new(self.backend, "INSERT INTO lead_tags (lead_id, tag, created_at) SELECT id, ");
                        sql.bind(tag.clone()).push(", ").bind(at).push(" FROM leads WHERE id IN ");
                        sql
                    } else {
                        let mut sql = Sql::new(self.backend, "DELETE FROM lead_tags WHERE tag = ");
                        sql.bind(tag.clone()).push(" AND lead_id IN ");
                        sql
                    };
                    sql.bind_list(done.changed.iter().copied());
                    sql.query().execute(&mut *tx).await?;
                }
            }
            CheckedAction::Hide => {
                let mut sql = Sql::new(self.backend, "UPDATE leads SET hidden_at = ");
                sql.bind(at).push(" WHERE id IN ").bind_list(ids.iter().copied()).push(" RETURNING id");
                done.changed = sql.query_scalar::<i64>().fetch_all(&mut *tx).await?;
            }
            CheckedAction::Properties(operations) => {
                let mut mails = 0;
                for &id in ids {
                    let mut lead = tx.begin().await?;
                    if bump_version(&mut lead, self.backend, id, &VersionCheck::Current, now).await?.is_none() {
                        continue;
                    }
                    match self.apply_operations(&mut lead, id, operations, now).await {
                        Ok(queued) => {
                            lead.commit().await?;
                            mails += queued;
                            done.changed.push(id);
                        }
                        Err(StoreError::InvalidProperty { name, source }) => {
                            lead.rollback().await?;
                            done.failed.push((id, format!("{name}: {}", said(&source.message()))));
                        }
                        Err(e) => return Err(e),
                    }
                }
                if mails > 0 {
                    self.mail_queued.notify_one();
                }
            }
            CheckedAction::Unsubscribe => {
                let mut sql = Sql::new(self.backend, "SELECT id, email_norm FROM leads WHERE id IN ");
                sql.bind_list(ids.iter().copied()).push(" ORDER BY id");
                let leads: Vec<(i64, Option<String>)> = sql.query_as().fetch_all(&mut *tx).await?;
                let settings = email_settings_in(&mut tx).await?;
                let mut seen = std::collections::HashSet::new();
                for (id, email_norm) in &leads {
                    let Some(email_norm) = email_norm else {
                        done.failed.push((*id, said(&MenuRefusal::NoAddress.message())));
                        continue;
                    };
                    if !seen.insert(email_norm.clone()) {
                        continue;
                    }
                    match change_in(&mut tx, self.backend, email_norm, &settings, now, Transition::OperatorUnsubscribe)
                        .await?
                    {
                        AddressOutcome::Changed(change) => {
                            done.changed.extend(change.lead_ids.iter().copied());
                            done.addresses.push(change);
                        }
                        AddressOutcome::Refused(MenuRefusal::AlreadyUnsubscribed) => {}
                        AddressOutcome::Refused(refusal) => done.failed.push((*id, said(&refusal.message()))),
                        AddressOutcome::Unknown => done.failed.push((*id, said(&MenuRefusal::NoAddress.message()))),
                    }
                }
                // Other cards with the addresses follow (announced with `addresses`); the
                // counts are the selection's.
                done.changed.sort_unstable();
                done.changed.dedup();
                done.changed.retain(|id| ids.binary_search(id).is_ok());
            }
            CheckedAction::Remove => {
                let mut sql = Sql::new(self.backend, "DELETE FROM leads WHERE id IN ");
                sql.bind_list(ids.iter().copied()).push(" RETURNING id, email_norm");
                let gone: Vec<(i64, Option<String>)> = sql.query_as().fetch_all(&mut *tx).await?;
                let mut addresses: Vec<String> = gone.iter().filter_map(|(_, e)| e.clone()).collect();
                addresses.sort_unstable();
                addresses.dedup();
                // An address no other lead has goes with its status and mails, as for one removal.
                for address in addresses {
                    let others: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM leads WHERE email_norm = $1")
                        .bind(address.clone())
                        .fetch_one(&mut *tx)
                        .await?;
                    if others == 0 {
                        for statement in [
                            "DELETE FROM outbox WHERE email_norm = $1",
                            "DELETE FROM email_statuses WHERE email_norm = $1",
                        ] {
                            sqlx::query(statement).bind(address.clone()).execute(&mut *tx).await?;
                        }
                    }
                }
                done.removed = gone.into_iter().map(|(id, _)| id).collect();
                done.removed.sort_unstable();
            }
        }
        tx.commit().await?;
        let touched = done.changed.len() + done.removed.len() + done.failed.len();
        done.skipped = (ids.len().saturating_sub(touched)) as u64;
        Ok(done)
    }
}
