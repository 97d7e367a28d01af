//! The Leads Database's search box: the text each lead is found by (`leads.search_text`: its name,
//! email, phone and user id, folded in Rust so both databases compare the same characters) and the
//! SQL that finds a fragment of it through a trigram index (SQLite FTS5 `lead_search`, PostgreSQL
//! `pg_trgm`; migration 0009).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use super::Backend;
use super::sql::{Sql, like_literal};

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

    /// The FTS5 query of the candidates: for each fragment, every trigram of it (an index without
    /// positions answers single tokens, not phrases); any fragment.
    fn fts_query(&self) -> String {
        let all_trigrams = |fragment: &str| {
            let chars: Vec<char> = fragment.chars().collect();
            let mut trigrams: Vec<String> = chars.windows(TRIGRAM).map(|w| w.iter().collect()).collect();
            trigrams.sort_unstable();
            trigrams.dedup();
            let quoted: Vec<String> = trigrams.iter().map(|t| format!("\"{}\"", t.replace('"', "\"\""))).collect();
            format!("({})", quoted.join(" AND "))
        };
        self.fragments.iter().map(|f| all_trigrams(f)).collect::<Vec<_>>().join(" OR ")
    }

    fn indexable(&self) -> bool {
        self.fragments.iter().all(|f| f.chars().count() >= TRIGRAM)
    }

    /// Appends ` AND <the lead l matches>`. SQLite: the FTS5 trigram index yields the candidate
    /// leads (as a set `l.id IN`, which a page walks newest first and stops), and `instr` on the
    /// lead's own text confirms each (FTS5 keeps no positions, `detail=none`). PostgreSQL: `LIKE`,
    /// which the `pg_trgm` GIN index answers; the planner chooses it by its statistics.
    pub(crate) fn push(&self, sql: &mut Sql, backend: Backend) {
        sql.push(" AND ");
        if backend == Backend::Sqlite && self.indexable() {
            sql.push("l.id IN (SELECT rowid FROM lead_search WHERE lead_search MATCH ")
                .bind(self.fts_query())
                .push(") AND ");
        }
        sql.push("(");
        for (i, fragment) in self.fragments.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            match backend {
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
        SearchTerms::parse("o\"hara' OR 1=1").unwrap().push(&mut sql, Backend::Sqlite);
        assert!(!sql.text().contains("hara"));
        let terms = SearchTerms::parse("o\"ha (030) 12").unwrap();
        assert_eq!(
            terms.fts_query(),
            r#"(" (0" AND " 12" AND """ha" AND "(03" AND ") 1" AND "0) " AND "030" AND "30)" AND "a (" AND "ha " AND "o""h")"#
        );
        assert_eq!(like_literal("50%_\\"), "%50\\%\\_\\\\%");
    }
}
