//! How common each trigram of the leads' search text is, estimated from a sample of leads and kept
//! in memory, so a search chooses the rarest trigrams of what it looks for without asking the
//! database first (see `store/search.rs`). An estimate only ever chooses *which* of a search's own
//! trigrams find its candidates; every candidate is confirmed on its text, so a stale or wrong
//! estimate costs time, never a wrong answer.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::sql::Sql;
use super::{Store, StoreResult};

/// Leads read for one estimate: ids drawn at random between the lowest and the highest (every
/// lead when there are no more ids than this). A trigram the sample does not hold is taken to
/// belong to fewer than (leads / sample) leads: 250 at a million.
const SAMPLE: i64 = 4_000;
/// An estimate older than this is taken again in the background while searches go on using it.
const FRESH_FOR: Duration = Duration::from_secs(60);

/// One estimate: how many sampled leads hold each trigram, and how many leads each sampled one
/// stands for.
pub(crate) struct TrigramCounts {
    /// The sampled leads' ids and search texts.
    sampled: Vec<(i64, String)>,
    sampled_with: HashMap<String, u32>,
    leads_per_sampled: f64,
    taken: Instant,
}

impl TrigramCounts {
    /// Counts each text's distinct trigrams (never one across the line break between two fields:
    /// a search has none).
    #[cfg(test)]
    pub(super) fn from_texts(texts: Vec<String>, leads_per_sampled: f64) -> Self {
        Self::from_sampled(texts.into_iter().enumerate().map(|(i, text)| (i as i64, text)).collect(), leads_per_sampled)
    }

    /// [`TrigramCounts::from_texts`] of leads with their ids.
    pub(super) fn from_sampled(sampled: Vec<(i64, String)>, leads_per_sampled: f64) -> Self {
        let mut sampled_with: HashMap<String, u32> = HashMap::new();
        let mut seen = HashSet::new();
        for (_, text) in &sampled {
            seen.clear();
            let chars: Vec<char> = text.chars().collect();
            for window in chars.windows(3).filter(|w| !w.contains(&'\n')) {
                let trigram: String = window.iter().collect();
                if seen.insert(trigram.clone()) {
                    *sampled_with.entry(trigram).or_default() += 1;
                }
            }
        }
        TrigramCounts { sampled, sampled_with, leads_per_sampled, taken: Instant::now() }
    }

    /// About how many leads there are.
    pub(crate) fn leads(&self) -> f64 {
        self.sampled.len() as f64 * self.leads_per_sampled
    }

    /// How many leads were sampled.
    pub(crate) fn sample_size(&self) -> usize {
        self.sampled.len()
    }

    /// How many leads one sampled lead stands for: the step between two estimates.
    pub(crate) fn resolution(&self) -> f64 {
        self.leads_per_sampled
    }

    /// About how many leads' search text holds `trigram`.
    pub(crate) fn leads_with(&self, trigram: &str) -> f64 {
        f64::from(self.sampled_with.get(trigram).copied().unwrap_or(0)) * self.leads_per_sampled
    }

    /// About how many leads' search text holds every one of `trigrams` (counted in the sample,
    /// so trigrams that go together, `sch` and `idt`, are not taken for independent).
    pub(crate) fn leads_with_all(&self, trigrams: &[String]) -> f64 {
        let sampled =
            self.sampled.iter().filter(|(_, text)| trigrams.iter().all(|t| text.contains(t.as_str()))).count();
        sampled as f64 * self.leads_per_sampled
    }

    /// The ids of the sampled leads whose search text holds any of `fragments`.
    pub(crate) fn sampled_matching(&self, fragments: &[String]) -> Vec<i64> {
        self.sampled
            .iter()
            .filter(|(_, text)| fragments.iter().any(|f| text.contains(f.as_str())))
            .map(|(id, _)| *id)
            .collect()
    }
}

/// The current estimate of a store (shared by its clones).
#[derive(Default)]
pub(crate) struct SearchStats {
    current: RwLock<Option<Arc<TrigramCounts>>>,
    refreshing: AtomicBool,
}

impl fmt::Debug for SearchStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trigrams = self.current.read().map_or(0, |c| c.as_ref().map_or(0, |c| c.sampled_with.len()));
        f.debug_struct("SearchStats").field("trigrams", &trigrams).finish()
    }
}

impl SearchStats {
    fn get(&self) -> Option<Arc<TrigramCounts>> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn set(&self, counts: Arc<TrigramCounts>) {
        *self.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(counts);
    }
}

impl Store {
    /// The current estimate: taken now when there is none, else the one in memory (an old one is
    /// taken again in the background, once at a time).
    pub(crate) async fn trigram_counts(&self) -> StoreResult<Arc<TrigramCounts>> {
        match self.search_stats.get() {
            Some(counts) => {
                if counts.taken.elapsed() >= FRESH_FOR && !self.search_stats.refreshing.swap(true, Ordering::AcqRel) {
                    let store = self.clone();
                    tokio::spawn(async move {
                        match store.sample_trigrams().await {
                            Ok(fresh) => store.search_stats.set(Arc::new(fresh)),
                            Err(error) => tracing::warn!(%error, "the search's trigram estimate was not refreshed"),
                        }
                        store.search_stats.refreshing.store(false, Ordering::Release);
                    });
                }
                Ok(counts)
            }
            None => {
                let counts = Arc::new(self.sample_trigrams().await?);
                self.search_stats.set(counts.clone());
                Ok(counts)
            }
        }
    }

    /// Reads the search text of [`SAMPLE`] leads by random id (index lookups: ~20 ms at a million)
    /// and counts their trigrams.
    async fn sample_trigrams(&self) -> StoreResult<TrigramCounts> {
        let (low, high): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(id), MAX(id) FROM leads").fetch_one(&self.pool).await?;
        let (Some(low), Some(high)) = (low, high) else {
            return Ok(TrigramCounts::from_sampled(Vec::new(), 0.0));
        };
        let span = high - low + 1;
        let ids: Vec<i64> = if span <= SAMPLE {
            (low..=high).collect()
        } else {
            let mut seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
            let mut ids: Vec<i64> = (0..SAMPLE).map(|_| low + (splitmix64(&mut seed) % span as u64) as i64).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let mut sql = Sql::new(self.backend, "SELECT id, search_text FROM leads WHERE id IN ");
        sql.bind_list(ids.iter().copied());
        let sampled: Vec<(i64, String)> = sql.query_as().fetch_all(&self.pool).await?;
        Ok(TrigramCounts::from_sampled(sampled, span as f64 / ids.len() as f64))
    }
}

/// A fast, well-spread pseudo-random sequence (no cryptography needed to pick a sample).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_lead_counts_a_trigram_once_and_fields_do_not_join() {
        let texts = vec!["anna\nanna@x.io".to_owned(), "hanna".to_owned()];
        let counts = TrigramCounts::from_texts(texts, 10.0);
        assert_eq!(counts.leads_with("ann"), 20.0);
        assert_eq!(counts.leads_with("nna"), 20.0);
        assert_eq!(counts.leads_with("han"), 10.0);
        assert_eq!(counts.leads_with("na\n"), 0.0);
        assert_eq!(counts.leads_with("zzz"), 0.0);
        assert_eq!(counts.leads_with_all(&["ann".to_owned(), "@x.".to_owned()]), 10.0);
        assert_eq!(counts.leads_with_all(&["han".to_owned(), "nna".to_owned()]), 10.0);
        assert_eq!(counts.sampled_matching(&["anna".to_owned()]), [0, 1]);
        assert_eq!(counts.sampled_matching(&["han".to_owned(), "x.io".to_owned()]), [0, 1]);
        assert_eq!(counts.sampled_matching(&["anna@y".to_owned()]), Vec::<i64>::new());
    }

    #[test]
    fn the_sample_is_spread() {
        let mut seed = 7;
        let draws: HashSet<u64> = (0..1000).map(|_| splitmix64(&mut seed) % 100).collect();
        assert!(draws.len() > 90);
    }
}
