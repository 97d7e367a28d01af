//! The Leads Database's search box: the text each lead is found by (`leads.search_text`: its name,
//! email, phone and user id, folded in Rust so both databases compare the same characters) and the
//! SQL that finds a fragment of it through a trigram index (SQLite FTS5 `lead_search`, PostgreSQL
//! `pg_trgm`; migration 0009).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use leadcard_core::ValidFilter;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::search_stats::TrigramCounts;
use super::sql::{Join, Sql, like_literal, push_lead_conditions};
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

    /// Each fragment's trigrams with where they start, at most [`PROBED_TRIGRAMS`] of them spread
    /// over it (a fragment of thousands of characters needs no more to find its candidates).
    fn placed_trigrams(&self) -> Vec<Vec<(usize, String)>> {
        self.fragments
            .iter()
            .map(|fragment| {
                let chars: Vec<char> = fragment.chars().collect();
                let mut trigrams: Vec<(usize, String)> =
                    chars.windows(TRIGRAM).enumerate().map(|(at, w)| (at, w.iter().collect())).collect();
                if trigrams.len() > PROBED_TRIGRAMS {
                    let step = trigrams.len() as f64 / PROBED_TRIGRAMS as f64;
                    trigrams = (0..PROBED_TRIGRAMS).map(|i| trigrams[(i as f64 * step) as usize].clone()).collect();
                }
                trigrams
            })
            .collect()
    }

    /// Each fragment's distinct trigrams (see [`SearchTerms::placed_trigrams`]).
    fn trigrams(&self) -> Vec<Vec<String>> {
        self.placed_trigrams()
            .into_iter()
            .map(|placed| {
                let mut trigrams: Vec<String> = placed.into_iter().map(|(_, t)| t).collect();
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
        SearchPlan {
            terms: self,
            backend,
            fts,
            candidates: None,
            drives_page: false,
            confirms_only: false,
            newest_window: None,
            past_window_candidates: None,
        }
    }
}

/// Trigrams of one fragment considered at most; a longer fragment's are sampled evenly.
const PROBED_TRIGRAMS: usize = 32;
/// A fragment whose candidates are fewer than this is read as a set (SQLite).
const RARE: f64 = 2_000.0;
/// The rarest trigrams of a fragment that find its candidates; the lead's text confirms them.
const RAREST: usize = 3;
/// Candidates up to this many are read as a set and sorted; more are walked newest first
/// through the index, which stops with the page.
const SET_CANDIDATES: i64 = 5_000;
/// PostgreSQL, a search with conditions: candidates up to this many are read, sorted, and probed
/// newest first for the conditions (a page of common names and two conditions at a million
/// leads: PostgreSQL's own plan joined the conditions' 250,000 and 100,000 leads first, 0.5 s).
/// A search without conditions and more candidates walks the leads newest first instead: its
/// matches are dense there.
const NARROWED_CANDIDATES: f64 = 30_000.0;
/// PostgreSQL, a fragment many leads match, newest first: the newest leads a page tests hold about
/// this many matches (four pages' worth), and no fewer leads or more than these.
const WINDOW_MATCHES: f64 = 200.0;
const MIN_WINDOW: f64 = 2_000.0;
const MAX_WINDOW: f64 = 50_000.0;
/// PostgreSQL, a search with conditions, newest first: the newest leads a page tests hold about
/// twice a page of matches by the sample's share, and no more than these (a window that does not
/// fill tests them all, ~120 ms, before the set).
const MAX_CONDITIONS_WINDOW: f64 = 150_000.0;
/// PostgreSQL: the most candidates a page reads and sorts once its window did not fill it (see
/// [`SearchPlan::past_window`]); more, and it walks the leads newest first.
const PAST_WINDOW_CANDIDATES: f64 = 150_000.0;

/// A fragment's rarest trigrams by the estimate (at most [`RAREST`], among those `usable` says an
/// index can look up alone), and about how many leads hold them all (its candidates). Among
/// trigrams about as
/// rare as the rarest, ones that do not overlap come first (`+1 555 012 3455`: `2 3` and `455`
/// say more together than `2 3` and ` 34`). `None` when no trigram is usable.
fn rarest(
    placed: &[(usize, String)],
    counts: &TrigramCounts,
    usable: impl Fn(&str) -> bool,
) -> Option<(Vec<String>, f64)> {
    let mut by_count: Vec<(f64, usize, &str)> =
        placed.iter().filter(|(_, t)| usable(t)).map(|(at, t)| (counts.leads_with(t), *at, t.as_str())).collect();
    by_count.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let fewest = by_count.first()?.0;
    // Within the sample's noise of the rarest: one sampled lead more, or twice as many.
    let about_as_rare = 2.0 * fewest + counts.resolution();
    let mut chosen: Vec<(usize, &str)> = Vec::new();
    for apart in [true, false] {
        for &(leads, at, trigram) in &by_count {
            if chosen.len() == RAREST {
                break;
            }
            let taken = chosen.iter().any(|(_, t)| *t == trigram);
            let overlaps = chosen.iter().any(|(other, _)| at.abs_diff(*other) < TRIGRAM);
            if !taken && !(apart && (overlaps || leads > about_as_rare)) {
                chosen.push((at, trigram));
            }
        }
    }
    let chosen: Vec<String> = chosen.into_iter().map(|(_, t)| t.to_owned()).collect();
    let candidates = if fewest == 0.0 { 0.0 } else { counts.leads_with_all(&chosen) };
    Some((chosen, candidates))
}

/// Whether `pg_trgm` looks `%trigram%` up as that one trigram: three letters or digits (it splits
/// a pattern at other characters, and a pattern without a whole trigram reads the entire index).
fn pg_trgm_usable(trigram: &str) -> bool {
    trigram.chars().all(|c| c.is_ascii_alphanumeric())
}

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
    /// PostgreSQL, a search few leads match: each fragment's rarest trigrams, whose leads are its
    /// candidates (`LIKE '%abc%'` per trigram, which `pg_trgm` answers from that trigram alone,
    /// where the whole fragment's `LIKE` would read every trigram's leads, `com` and `555`
    /// included: 48 ms for an exact email at a million leads, 0.5 ms this way).
    candidates: Option<Vec<Vec<String>>>,
    /// Whether a page newest first is read from the search's candidates, newest first. SQLite
    /// (many candidates): the FTS5 table yields them in descending rowid order and stops with the
    /// page, where reading them as a set would read and sort every one. PostgreSQL (few
    /// candidates): they are read and sorted, then the page probes its conditions on them; left
    /// to itself PostgreSQL often walks every lead newest first instead (it cannot tell a rare
    /// fragment from a common one: 3.1 s at a million leads for `lead1`).
    drives_page: bool,
    /// Whether a page in another order walks that order and confirms each lead by its text alone
    /// (many leads match: see [`Store::search_in_order`]); the index is not read then.
    confirms_only: bool,
    /// PostgreSQL, a fragment many leads match, newest first: how many of the newest leads the
    /// page tests itself before it reads the matches as a set, sized from the share of leads
    /// that match so that a page fills within it (`schmidt`, 2.5% of a million leads: 8,000).
    /// Left to itself PostgreSQL sometimes takes such a fragment for rare and reads and sorts all
    /// its matches (120 ms for 25,000).
    newest_window: Option<i64>,
    /// PostgreSQL, with [`SearchPlan::newest_window`]: each fragment's rarest trigrams, read
    /// as the page's candidates when the window does not fill the page and they promise at most
    /// [`PAST_WINDOW_CANDIDATES`] (see [`SearchPlan::past_window`]).
    past_window_candidates: Option<Vec<Vec<String>>>,
}

impl SearchPlan<'_> {
    pub(crate) fn drives_page(&self) -> bool {
        self.drives_page
    }

    /// The same candidates read as a set, for a page in another order than newest first.
    pub(crate) fn into_set(self) -> Self {
        SearchPlan {
            drives_page: false,
            confirms_only: false,
            newest_window: None,
            past_window_candidates: None,
            ..self
        }
    }

    /// The plan of the count: SQLite walks many candidates through its index up to the cap, as a
    /// page does; PostgreSQL's few are a set.
    pub(crate) fn for_count(self) -> Self {
        match self.backend {
            Backend::Sqlite => self,
            Backend::Postgres => self.into_set(),
        }
    }

    /// See [`SearchPlan::newest_window`].
    pub(crate) fn newest_window(&self) -> Option<i64> {
        self.newest_window
    }

    /// The plan for the page when its window of the newest leads did not fill it. PostgreSQL:
    /// the rarest trigrams' candidates, sorted newest first, when they are few enough (the
    /// page's matches lie further back than the window, so walking the leads newest first would
    /// read every one in between: `lead1` with two conditions, whose matches are all old leads,
    /// read 800,000 leads, 400-600 ms at a million, and reads its 109,000 candidates in ~60).
    /// Otherwise the same, read as it would have been without the window.
    pub(crate) fn past_window(self) -> Self {
        match self.past_window_candidates {
            Some(groups) => SearchPlan {
                candidates: Some(groups),
                drives_page: true,
                newest_window: None,
                past_window_candidates: None,
                ..self
            },
            None => SearchPlan { newest_window: None, ..self },
        }
    }

    /// See [`Store::search_in_order`].
    pub(crate) fn confirms_only(&self) -> bool {
        self.confirms_only
    }

    /// The count's source when [`SearchPlan::drives_page`] (SQLite): the index's matches `f`,
    /// each joined to its lead `l`.
    pub(crate) const COUNT_SOURCE: &'static str = "lead_search f CROSS JOIN leads l ON l.id = f.rowid";

    /// Pushes the page's source when [`SearchPlan::drives_page`] and returns the key the page
    /// orders and pages by. SQLite: the index's matches `f`, each joined to its lead `l`.
    /// PostgreSQL: the candidates `c`, sorted newest first behind an `OFFSET 0` fence (so
    /// PostgreSQL reads them and does not walk the leads instead), each joined to its lead.
    pub(crate) fn push_source(&self, sql: &mut Sql) -> &'static str {
        match (self.backend, &self.candidates) {
            (Backend::Postgres, Some(groups)) => {
                sql.push("(");
                push_candidates(sql, groups);
                sql.push(" ORDER BY x.id DESC OFFSET 0) c JOIN leads l ON l.id = c.id");
                "c.id"
            }
            _ => {
                sql.push(Self::COUNT_SOURCE);
                "f.rowid"
            }
        }
    }

    /// Appends ` AND <the lead l matches>`. SQLite: the FTS5 trigram index yields the candidate
    /// leads (`f MATCH` when it drives the page, else as a set `l.id IN`), and `instr` on the
    /// lead's own text confirms each (FTS5 keeps no positions, `detail=none`, and the candidates
    /// come from a few of the fragment's trigrams). PostgreSQL, few candidates: they come from
    /// the page's source or `l.id IN` (fenced), and `strpos` confirms each (a `LIKE` would send
    /// PostgreSQL to the index for every trigram again). PostgreSQL otherwise: `LIKE`, which the
    /// `pg_trgm` GIN index answers; the planner chooses it by its statistics.
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
        if let Some(groups) = self.candidates.as_ref().filter(|_| !self.drives_page) {
            sql.push("l.id IN (");
            push_candidates(sql, groups);
            sql.push(" OFFSET 0) AND ");
        }
        sql.push("(");
        for (i, fragment) in self.terms.fragments.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            match (self.backend, &self.candidates) {
                (Backend::Sqlite, _) => {
                    sql.push("instr(l.search_text, ").bind(fragment.as_str()).push(") > 0");
                }
                (Backend::Postgres, Some(_)) => {
                    sql.push("strpos(l.search_text, ").bind(fragment.as_str()).push(") > 0");
                }
                (Backend::Postgres, None) => {
                    sql.push("l.search_text LIKE ").bind(like_literal(fragment)).push(" ESCAPE '\\'");
                }
            }
        }
        sql.push(")");
    }
}

/// PostgreSQL: `SELECT x.id FROM leads x WHERE (<each trigram of a group> ...) OR ...`.
fn push_candidates(sql: &mut Sql, groups: &[Vec<String>]) {
    sql.push("SELECT x.id FROM leads x WHERE ");
    for (i, trigrams) in groups.iter().enumerate() {
        sql.push(if i > 0 { " OR (" } else { "(" });
        for (j, trigram) in trigrams.iter().enumerate() {
            if j > 0 {
                sql.push(" AND ");
            }
            sql.push("x.search_text LIKE ").bind(like_literal(trigram)).push(" ESCAPE '\\'");
        }
        sql.push(")");
    }
}

impl Store {
    /// PostgreSQL, a page newest first of a search with conditions: how many of the newest leads
    /// it tests itself (see [`SearchPlan::newest_window`]) before it reads the matches as a set,
    /// from the share of the estimate's sampled leads that match the search and the conditions
    /// (the sampled leads with the text, probed for the conditions by id: one query of a few
    /// hundred keys). A page of a common name with two common conditions (`anna`, one country,
    /// not `vip`: 0.3% of a million leads) finds its 50 within ~20,000 of the newest leads (18 ms),
    /// where reading the name's 25,000 candidates from every part of the table took 120 ms. No
    /// sampled lead matching, or a window over [`MAX_CONDITIONS_WINDOW`]: no window (the set).
    /// Other databases and searches without conditions keep their plan.
    pub(crate) async fn with_conditions_window<'a>(
        &self,
        plan: SearchPlan<'a>,
        filter: &ValidFilter,
        page: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SearchPlan<'a>> {
        if self.backend != Backend::Postgres || filter.all.is_empty() {
            return Ok(plan);
        }
        let counts = self.trigram_counts().await?;
        let with_text = counts.sampled_matching(&plan.terms.fragments);
        let mut matching = 0;
        if !with_text.is_empty() {
            let mut sql = Sql::new(self.backend, "SELECT l.id FROM leads l WHERE l.id IN ");
            sql.bind_list(with_text.iter().copied());
            let probes = vec![Join::Lookup; filter.leaves().len()];
            push_lead_conditions(&mut sql, filter, &probes, now);
            let ids: HashSet<i64> = sql.query_scalar::<i64>().fetch_all(&self.pool).await?.into_iter().collect();
            matching = with_text.iter().filter(|id| ids.contains(id)).count();
        }
        let sampled = counts.sample_size() as f64;
        let window = (matching > 0)
            .then(|| 2.0 * page as f64 * sampled / matching as f64)
            .filter(|window| *window <= MAX_CONDITIONS_WINDOW)
            .map(|window| window.max(MIN_WINDOW) as i64);
        Ok(match window {
            Some(window) => SearchPlan { newest_window: Some(window), ..plan },
            // The matches are too rare for a window: read as past one.
            None => plan.past_window(),
        })
    }

    /// Plans a search for the Leads Database's page from the estimate of how common each trigram
    /// is ([`Store::trigram_counts`]). SQLite: each fragment's rarest [`RAREST`] trigrams find the
    /// candidates (an exact address's digits, not its domain that every lead shares); when even
    /// a fragment's rarest trigram is common, one query sizes the candidates (up to
    /// [`SET_CANDIDATES`]) and a large set drives the page through the index instead.
    /// PostgreSQL: when the rarest trigrams promise fewer than [`SET_CANDIDATES`] candidates (or
    /// [`NARROWED_CANDIDATES`] with the `filter`'s conditions to probe on them), they alone find
    /// them (see [`SearchPlan::candidates`]); otherwise the fragment's `LIKE`.
    pub(crate) async fn plan_search<'a>(
        &self,
        terms: &'a SearchTerms,
        filter: &ValidFilter,
    ) -> StoreResult<SearchPlan<'a>> {
        if !terms.indexable() {
            return Ok(terms.plain(self.backend));
        }
        let counts = self.trigram_counts().await?;
        match self.backend {
            Backend::Sqlite => {
                let mut all_rare = true;
                let groups: Vec<Vec<String>> = terms
                    .placed_trigrams()
                    .iter()
                    .filter_map(|placed| rarest(placed, &counts, |_| true))
                    .map(|(trigrams, candidates)| {
                        all_rare &= candidates < RARE;
                        trigrams
                    })
                    .collect();
                let fts = fts_query(&groups);
                let drives_page = !all_rare && {
                    let mut size = Sql::new(
                        self.backend,
                        "SELECT COUNT(*) FROM (SELECT 1 FROM lead_search WHERE lead_search MATCH ",
                    );
                    size.bind(fts.as_str()).push(" LIMIT ").bind(SET_CANDIDATES).push(") t");
                    size.query_scalar::<i64>().fetch_one(&self.pool).await? >= SET_CANDIDATES
                };
                Ok(SearchPlan {
                    terms,
                    backend: self.backend,
                    fts: Some(fts),
                    candidates: None,
                    drives_page,
                    confirms_only: false,
                    newest_window: None,
                    past_window_candidates: None,
                })
            }
            Backend::Postgres => {
                let mut promised = 0.0;
                let mut groups = Vec::new();
                for placed in terms.placed_trigrams() {
                    let Some((trigrams, candidates)) = rarest(&placed, &counts, pg_trgm_usable) else {
                        return Ok(terms.plain(self.backend));
                    };
                    promised += candidates;
                    groups.push(trigrams);
                }
                let most = if filter.all.is_empty() { SET_CANDIDATES as f64 } else { NARROWED_CANDIDATES };
                if promised >= most {
                    let share = promised / counts.leads().max(1.0);
                    let window = (WINDOW_MATCHES / share).clamp(MIN_WINDOW, MAX_WINDOW) as i64;
                    let past_window_candidates = (promised <= PAST_WINDOW_CANDIDATES).then_some(groups);
                    return Ok(SearchPlan {
                        newest_window: Some(window),
                        past_window_candidates,
                        ..terms.plain(self.backend)
                    });
                }
                Ok(SearchPlan {
                    terms,
                    backend: self.backend,
                    fts: None,
                    candidates: Some(groups),
                    drives_page: true,
                    confirms_only: false,
                    newest_window: None,
                    past_window_candidates: None,
                })
            }
        }
    }

    /// The plan for a page in another order than newest first. Few candidates: a set, sorted.
    /// Many (PostgreSQL: by the estimate; SQLite: the plan would drive a newest-first page and at
    /// least [`SET_CANDIDATES`] leads truly match): the page walks its order's own index and each
    /// lead's text confirms it (a page of 50 then reads ~50 / share-matching leads), where the set
    /// would read and sort every candidate (109 ms at 1M for a common name fragment sorted by last
    /// seen). The walk is bounded (`Store::lead_page`): a stretch of the order too sparse to fill
    /// the page falls back to the set.
    pub(crate) async fn search_in_order<'a>(&self, plan: SearchPlan<'a>) -> StoreResult<SearchPlan<'a>> {
        if plan.backend == Backend::Postgres {
            // PostgreSQL: many candidates by the estimate (the plan has a window of the newest
            // leads) walk the order too. Read as a set, PostgreSQL's own estimate of a fragment
            // can be off a hundredfold (`rossi`: 100 for 25,000), and reading and sorting them all
            // took 200 ms at a million leads, where the walk finds a page in ~2,000.
            return Ok(if plan.newest_window.is_some() {
                SearchPlan { confirms_only: true, ..plan.into_set() }
            } else {
                plan.into_set()
            });
        }
        if !plan.drives_page {
            return Ok(plan.into_set());
        }
        let mut count = Sql::new(self.backend, "SELECT COUNT(*) FROM (SELECT 1 FROM ");
        count.push(SearchPlan::COUNT_SOURCE).push(" WHERE 1 = 1");
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

    #[test]
    fn the_rarest_trigrams_are_chosen_apart_and_only_usable_ones() {
        // Every lead has the shared part; the number's own trigrams are rare.
        let mut texts: Vec<String> = (0..50).map(|i| format!("+1 555 01{i:02} 0000")).collect();
        texts.push("+1 555 012 3455".to_owned());
        let counts = TrigramCounts::from_texts(texts, 1.0);
        let terms = SearchTerms::parse("+1 555 012 3455").unwrap();
        let placed = terms.placed_trigrams();
        let (chosen, candidates) = rarest(&placed[0], &counts, |_| true).unwrap();
        assert_eq!(candidates, 1.0);
        assert_eq!(chosen.len(), RAREST);
        assert!(chosen.iter().all(|t| counts.leads_with(t) == 1.0), "{chosen:?}");
        // The first two of "2 3", " 34", "345", "455" (all as rare) that do not overlap come first.
        assert_eq!(chosen, ["2 3", "455", " 34"]);
        // PostgreSQL looks up only letters and digits.
        let (chosen, _) = rarest(&placed[0], &counts, pg_trgm_usable).unwrap();
        assert!(chosen.iter().all(|t| pg_trgm_usable(t)), "{chosen:?}");
        let only_signs = SearchTerms::parse("@-.+@").unwrap();
        assert!(rarest(&only_signs.placed_trigrams()[0], &counts, pg_trgm_usable).is_none());
        // A fragment shorter than the sample's evenly spread trigrams keeps every one of its own.
        assert_eq!(SearchTerms::parse("abcdef").unwrap().placed_trigrams()[0].len(), 4);
        assert_eq!(SearchTerms::parse(&"x".repeat(1000)).unwrap().placed_trigrams()[0].len(), PROBED_TRIGRAMS);
    }

    #[test]
    fn postgresql_reads_few_candidates_by_their_trigrams_and_confirms_each_without_like() {
        let terms = SearchTerms::parse("lead12@x.io").unwrap();
        let plan = SearchPlan {
            terms: &terms,
            backend: Backend::Postgres,
            fts: None,
            candidates: Some(vec![vec!["d12".to_owned(), "lea".to_owned()]]),
            drives_page: true,
            confirms_only: false,
            newest_window: None,
            past_window_candidates: None,
        };
        let mut page = Sql::new(Backend::Postgres, "SELECT l.id FROM ");
        assert_eq!(plan.push_source(&mut page), "c.id");
        page.push(" WHERE 1 = 1");
        plan.push(&mut page);
        assert_eq!(
            page.text(),
            "SELECT l.id FROM (SELECT x.id FROM leads x WHERE (x.search_text LIKE $1 ESCAPE '\\' AND \
             x.search_text LIKE $2 ESCAPE '\\') ORDER BY x.id DESC OFFSET 0) c JOIN leads l ON l.id = c.id \
             WHERE 1 = 1 AND (strpos(l.search_text, $3) > 0)"
        );
        let mut set = Sql::new(Backend::Postgres, "SELECT l.id FROM leads l WHERE 1 = 1");
        plan.clone().into_set().push(&mut set);
        assert!(set.text().contains(" AND l.id IN (SELECT x.id FROM leads x WHERE (x.search_text LIKE $1"));
        assert!(set.text().ends_with(" OFFSET 0) AND (strpos(l.search_text, $3) > 0)"));
        assert!(!plan.for_count().drives_page());
    }

    #[test]
    fn past_its_window_a_page_reads_the_rarest_trigrams_candidates_when_they_are_few_enough() {
        let terms = SearchTerms::parse("lead1").unwrap();
        let groups = vec![vec!["ad1".to_owned()]];
        let windowed = SearchPlan {
            newest_window: Some(2_000),
            past_window_candidates: Some(groups),
            ..terms.plain(Backend::Postgres)
        };
        assert!(!windowed.drives_page());
        let past = windowed.past_window();
        assert!(past.drives_page() && past.newest_window().is_none());
        let mut page = Sql::new(Backend::Postgres, "SELECT l.id FROM ");
        assert_eq!(past.push_source(&mut page), "c.id");
        assert!(page.text().starts_with("SELECT l.id FROM (SELECT x.id FROM leads x WHERE (x.search_text LIKE $1"));
        // Too many candidates (none kept): the same plan without its window.
        let plain = SearchPlan { newest_window: Some(2_000), ..terms.plain(Backend::Postgres) }.past_window();
        assert!(!plain.drives_page() && plain.newest_window().is_none());
    }
}
