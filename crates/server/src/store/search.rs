//! The Leads Database's search box: the text each lead is found by (`leads.search_text`: its name,
//! email, phone and user id, folded in Rust so both databases compare the same characters) and the
//! SQL that finds a fragment of it through a trigram index (SQLite FTS5 `lead_search`, PostgreSQL
//! `pg_trgm`; migration 0009).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::sql::{Sql, like_literal};
use super::{Backend, Store, StoreResult};

/// Lower case, accents removed (`Müller` -> `muller`, `CHLOÉ` -> `chloe`): what a lead's search
/// text and the operator's search are compared in.
pub fn fold_search(text: &str) -> String {
    text.nfd().filter(|c| !is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Between the fields of a search text: a fragment (which has no line breaks, see
/// [`SearchTerms::parse`]) never spans two fields.
const FIELD_SEPARATOR: char = '\n';

/// The search text of a lead with these mirrored columns: each present field folded, and the
/// phone once more as its digits alone, so `+49 30 1234` is found by `49301234` as well.
pub fn search_text(name: Option<&str>, email: Option<&str>, phone: Option<&str>, user_id: Option<&str>) -> String {
    let digits = phone.map(|p| p.chars().filter(char::is_ascii_digit).collect::<String>());
    [name, email, phone, user_id, digits.as_deref()]
        .into_iter()
        .flatten()
        .filter(|field| !field.is_empty())
        .map(|field| fold_search(field).replace(FIELD_SEPARATOR, " "))
        .collect::<Vec<_>>()
        .join(&FIELD_SEPARATOR.to_string())
}

/// Fewer characters than this cannot use a trigram index; such searches read every lead.
const TRIGRAM: usize = 3;

/// What one search looks for: the folded text, and for a phone-shaped search also its digits. A
/// lead matches when its search text contains any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms {
    fragments: Vec<String>,
}

impl SearchTerms {
    /// `None` for a blank search. Line breaks and other control characters count as spaces.
    pub fn parse(text: &str) -> Option<SearchTerms> {
        let folded: String = fold_search(text.trim()).chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        if folded.is_empty() {
            return None;
        }
        let mut fragments = vec![folded.clone()];
        let phone_shaped = folded.chars().all(|c| c.is_ascii_digit() || " +-()./".contains(c));
        let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
        if phone_shaped && digits.len() >= TRIGRAM && digits != folded {
            fragments.push(digits);
        }
        Some(SearchTerms { fragments })
    }

    /// Each fragment's distinct trigrams, at most [`PROBED_TRIGRAMS`] of them spread over it (a
    /// fragment of thousands of characters needs no more to find its candidates).
    fn trigrams(&self) -> Vec<Vec<String>> {
        self.fragments
            .iter()
            .map(|fragment| {
                let chars: Vec<char> = fragment.chars().collect();
                let mut trigrams: Vec<String> = chars.windows(TRIGRAM).map(|w| w.iter().collect()).collect();
                if trigrams.len() > PROBED_TRIGRAMS {
                    let step = trigrams.len() as f64 / PROBED_TRIGRAMS as f64;
                    trigrams = (0..PROBED_TRIGRAMS).map(|i| trigrams[(i as f64 * step) as usize].clone()).collect();
                }
                trigrams.sort_unstable();
                trigrams.dedup();
                trigrams
            })
            .collect()
    }

    fn indexable(&self) -> bool {
        self.fragments.iter().all(|f| f.chars().count() >= TRIGRAM)
    }

    /// The search as the Leads Database reads it, without looking at the index first: every
    /// trigram of every fragment, read as a set (what the count and the tests use).
    pub(crate) fn plain(&self, backend: Backend) -> SearchPlan<'_> {
        let fts = (backend == Backend::Sqlite && self.indexable()).then(|| fts_query(&self.trigrams()));
        SearchPlan { terms: self, backend, fts, drives_page: false, confirms_only: false }
    }
}

/// Trigrams of one fragment asked about at most; a longer fragment's are sampled evenly.
const PROBED_TRIGRAMS: usize = 32;
/// How far each trigram's leads are counted: enough to tell a rare one from a common one.
const TRIGRAM_COUNT_CAP: i64 = 2_000;
/// The rarest trigrams of a fragment that find its candidates; the lead's text confirms them.
const RAREST: usize = 3;
/// Candidates up to this many are read as a set and sorted; more are walked newest first
/// through the index, which stops with the page.
const SET_CANDIDATES: i64 = 5_000;

/// The FTS5 query of the candidates: for each fragment, each of its trigrams (an index without
/// positions answers single tokens, not phrases); any fragment.
fn fts_query(groups: &[Vec<String>]) -> String {
    groups
        .iter()
        .map(|trigrams| {
            let quoted: Vec<String> = trigrams.iter().map(|t| quote(t)).collect();
            format!("({})", quoted.join(" AND "))
        })
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// One FTS5 token as a string: quotes doubled, so nothing in it is query syntax.
fn quote(trigram: &str) -> String {
    format!("\"{}\"", trigram.replace('"', "\"\""))
}

/// How one search reads the database, chosen from how common its trigrams are
/// ([`Store::plan_search`]).
#[derive(Debug, Clone)]
pub struct SearchPlan<'a> {
    terms: &'a SearchTerms,
    backend: Backend,
    /// SQLite: the FTS5 query of the candidates (none for a fragment under three characters).
    fts: Option<String>,
    /// Whether a page newest first walks the index's matches (SQLite, many candidates): the FTS5
    /// table yields them in descending rowid order and stops with the page, where reading them
    /// as a set would read and sort every one.
    drives_page: bool,
    /// Whether a page in another order walks that order and confirms each lead by its text alone
    /// (many leads match: see [`Store::search_in_order`]); the index is not read then.
    confirms_only: bool,
}

impl SearchPlan<'_> {
    pub(crate) fn drives_page(&self) -> bool {
        self.drives_page
    }

    /// The same candidates read as a set, for a page in another order than newest first.
    pub(crate) fn into_set(self) -> Self {
        SearchPlan { drives_page: false, confirms_only: false, ..self }
    }

    /// See [`Store::search_in_order`].
    pub(crate) fn confirms_only(&self) -> bool {
        self.confirms_only
    }

    /// The page's source when [`SearchPlan::drives_page`]: the index's matches `f`, each joined
    /// to its lead `l`; the page then orders and pages by `f.rowid`.
    pub(crate) const DRIVEN_SOURCE: &'static str = "lead_search f CROSS JOIN leads l ON l.id = f.rowid";

    /// Appends ` AND <the lead l matches>`. SQLite: the FTS5 trigram index yields the candidate
    /// leads (`f MATCH` when it drives the page, else as a set `l.id IN`), and `instr` on the
    /// lead's own text confirms each (FTS5 keeps no positions, `detail=none`, and the candidates
    /// come from a few of the fragment's trigrams). PostgreSQL: `LIKE`, which the `pg_trgm` GIN
    /// index answers; the planner chooses it by its statistics.
    pub(crate) fn push(&self, sql: &mut Sql) {
        sql.push(" AND ");
        if let Some(fts) = self.fts.as_ref().filter(|_| !self.confirms_only) {
            if self.drives_page {
                sql.push("f.lead_search MATCH ").bind(fts.as_str()).push(" AND ");
            } else {
                sql.push("l.id IN (SELECT rowid FROM lead_search WHERE lead_search MATCH ")
                    .bind(fts.as_str())
                    .push(") AND ");
            }
        }
        sql.push("(");
        for (i, fragment) in self.terms.fragments.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            match self.backend {
                Backend::Sqlite => {
                    sql.push("instr(l.search_text, ").bind(fragment.as_str()).push(") > 0");
                }
                Backend::Postgres => {
                    sql.push("l.search_text LIKE ").bind(like_literal(fragment)).push(" ESCAPE '\\'");
                }
            }
        }
        sql.push(")");
    }
}

impl Store {
    /// Plans a search for the Leads Database's page. SQLite: one query counts each trigram's
    /// leads (up to [`TRIGRAM_COUNT_CAP`]) and each fragment's rarest [`RAREST`] find the
    /// candidates: an exact address's digits, not its domain that every lead shares. When even a
    /// fragment's rarest trigram is common, a second query sizes the candidates (up to
    /// [`SET_CANDIDATES`]) and a large set drives the page through the index instead.
    pub(crate) async fn plan_search<'a>(&self, terms: &'a SearchTerms) -> StoreResult<SearchPlan<'a>> {
        if self.backend != Backend::Sqlite || !terms.indexable() {
            return Ok(terms.plain(self.backend));
        }
        let groups = terms.trigrams();
        let mut distinct: Vec<&String> = groups.iter().flatten().collect();
        distinct.sort_unstable();
        distinct.dedup();
        let mut probe = Sql::new(self.backend, "");
        for (i, trigram) in distinct.iter().enumerate() {
            if i > 0 {
                probe.push(" UNION ALL ");
            }
            probe
                .push(&format!(
                    "SELECT {i} AS k, COUNT(*) AS n FROM (SELECT 1 FROM lead_search WHERE lead_search MATCH "
                ))
                .bind(quote(trigram))
                .push(" LIMIT ")
                .bind(TRIGRAM_COUNT_CAP)
                .push(") t");
        }
        let counted: Vec<(i64, i64)> = probe.query_as().fetch_all(&self.pool).await?;
        let mut leads_with = vec![0; distinct.len()];
        for (k, n) in counted {
            leads_with[k as usize] = n;
        }
        let count_of = |t: &String| distinct.binary_search(&t).map_or(0, |k| leads_with[k]);
        let mut all_rare = true;
        let rarest: Vec<Vec<String>> = groups
            .iter()
            .map(|trigrams| {
                let mut by_count: Vec<&String> = trigrams.iter().collect();
                by_count.sort_by_key(|t| count_of(t));
                all_rare &= by_count.first().is_some_and(|t| count_of(t) < TRIGRAM_COUNT_CAP);
                by_count.into_iter().take(RAREST).cloned().collect()
            })
            .collect();
        let fts = fts_query(&rarest);
        let drives_page = !all_rare && {
            let mut size =
                Sql::new(self.backend, "SELECT COUNT(*) FROM (SELECT 1 FROM lead_search WHERE lead_search MATCH ");
            size.bind(fts.as_str()).push(" LIMIT ").bind(SET_CANDIDATES).push(") t");
            size.query_scalar::<i64>().fetch_one(&self.pool).await? >= SET_CANDIDATES
        };
        Ok(SearchPlan { terms, backend: self.backend, fts: Some(fts), drives_page, confirms_only: false })
    }

    /// The plan for a page in another order than newest first. Few candidates: a set, sorted.
    /// Many (the plan would drive a newest-first page): when at least [`SET_CANDIDATES`] leads
    /// truly match, the page walks its order's own index and each lead's text confirms it (a
    /// page of 50 then reads ~50 / share-matching leads), where the set would read and sort
    /// every candidate (109 ms at 1M for a common name fragment sorted by last seen). The walk
    /// is bounded (`Store::lead_page`): a stretch of the order too sparse to fill the page falls
    /// back to the set.
    pub(crate) async fn search_in_order<'a>(&self, plan: SearchPlan<'a>) -> StoreResult<SearchPlan<'a>> {
        if !plan.drives_page {
            return Ok(plan);
        }
        let mut count = Sql::new(self.backend, "SELECT COUNT(*) FROM (SELECT 1 FROM ");
        count.push(SearchPlan::DRIVEN_SOURCE).push(" WHERE 1 = 1");
        plan.push(&mut count);
        count.push(" LIMIT ").bind(SET_CANDIDATES).push(") t");
        let matching: i64 = count.query_scalar().fetch_one(&self.pool).await?;
        Ok(if matching >= SET_CANDIDATES {
            SearchPlan { drives_page: false, confirms_only: true, ..plan }
        } else {
            plan.into_set()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_lowers_case_and_removes_accents() {
        assert_eq!(fold_search("Müller CHLOÉ São"), "muller chloe sao");
        assert_eq!(fold_search("İSTANBUL Øre"), "istanbul øre");
    }

    #[test]
    fn the_search_text_joins_the_fields_and_the_phone_digits() {
        let text = search_text(Some("Léa Ålund"), Some("Lea@Example.com"), Some("+49 30 12"), None);
        assert_eq!(text, "lea alund\nlea@example.com\n+49 30 12\n493012");
        assert_eq!(search_text(None, None, None, Some("")), "");
    }

    #[test]
    fn a_phone_shaped_search_also_looks_for_its_digits() {
        let terms = SearchTerms::parse(" (030) 1234-56 ").unwrap();
        assert_eq!(terms.fragments, ["(030) 1234-56", "030123456"]);
        assert_eq!(SearchTerms::parse("Anna").unwrap().fragments, ["anna"]);
        assert_eq!(SearchTerms::parse("12").unwrap().fragments, ["12"]);
        assert_eq!(SearchTerms::parse("a\nb").unwrap().fragments, ["a b"]);
        assert!(SearchTerms::parse("  ").is_none());
        assert!(!SearchTerms::parse("ab").unwrap().indexable());
    }

    #[test]
    fn fragments_are_parameters_and_quotes_stay_inside_the_phrase() {
        let mut sql = Sql::new(Backend::Sqlite, "SELECT 1 FROM leads l WHERE 1 = 1");
        SearchTerms::parse("o\"hara' OR 1=1").unwrap().plain(Backend::Sqlite).push(&mut sql);
        assert!(!sql.text().contains("hara"));
        let terms = SearchTerms::parse("o\"ha (030) 12").unwrap();
        assert_eq!(
            fts_query(&terms.trigrams()),
            r#"(" (0" AND " 12" AND """ha" AND "(03" AND ") 1" AND "0) " AND "030" AND "30)" AND "a (" AND "ha " AND "o""h")"#
        );
        assert_eq!(like_literal("50%_\\"), "%50\\%\\_\\\\%");
    }
}
