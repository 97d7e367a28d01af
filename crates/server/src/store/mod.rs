//! Persistence: one portable store over sqlx's Any driver, on SQLite (the default) or PostgreSQL.
//!
//! SQL is written once with `$n` placeholders and types both databases share through Any
//! (i64, f64, text): times are unix milliseconds, JSON is text. Each database has its own
//! migrations, chosen by the URL scheme.

mod addresses;
mod batch;
mod bulk;
mod catalog;
mod demo;
mod edits;
mod export;
mod import;
pub(crate) mod inbox;
mod intake;
mod jobs;
mod leads;
mod links;
mod live;
mod mail_queue;
mod merge;
mod notes;
mod operators;
mod outbox;
mod pins;
mod projects;
mod removal;
mod search;
mod search_stats;
mod segments;
mod sessions;
mod settings;
mod sort;
mod sql;
mod tracking;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use leadcard_core::PropertyError;
use sqlx::migrate::Migrator;
use sqlx::pool::PoolOptions;
use sqlx::{Any, Pool};
use sqlx::{Executor, Transaction};
use tokio::sync::Notify;

pub use addresses::{AddressChange, AddressOutcome, MenuDone};
pub use bulk::BulkBatch;
pub use edits::{VersionCheck, Written};
pub use export::{ExportLead, ExportScope};
pub use import::{OnMatch, RowOutcome};
pub use inbox::{
    AssignOutcome, AssigneeFilter, Changed, ConversationQuery, InboundOutcome, SeedConversation, WIDGET_MESSAGES,
    WidgetSendOutcome, conversation_cursor, parse_conversation_cursor,
};
pub use intake::Clash;
pub use jobs::{CancelOutcome, NewJob};
pub use leads::{EmailStatusChange, EventSource, LeadQuery, NewEvent, NewLead, PropertyRow, TOTAL_CAP};
pub use live::LiveRow;
pub use mail_queue::NewMail;
pub(crate) use mail_queue::queue_conversation_mail;
pub use merge::Merged;
pub use notes::{NoteDeletion, NoteEdit};
pub use operators::{NewOperator, OperatorWithHash, PasswordLinkOwner};
pub use outbox::{ClaimedMail, Delivery};
pub use projects::Project;
pub use removal::Removal;
pub use search::SearchTerms;
pub use segments::{JobLock, LeadMembershipChange, LeadScope, MembershipChanges, PendingRebuild, Plan, Reason};
pub use sessions::{OperatorSession, SessionRecord};
pub(crate) use settings::email_settings_in;
pub use sort::SortCursor;
pub use tracking::{
    BatchOutcome, NewSiteSession, PreparedEvent, TrackKind, TrackWrite, event_cursor, parse_event_cursor,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact(url)))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("property {name:?}: {source}")]
    InvalidProperty { name: String, source: PropertyError },
    #[error("{0}")]
    Invalid(String),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("stored data cannot be read: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The database behind the API. Cheap to clone (a pool handle).
#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool<Any>,
    backend: Backend,
    /// Woken when mail is queued, so this process's delivery worker sends it at once.
    mail_queued: Arc<Notify>,
    /// How common each trigram of the leads' search text is (see `search_stats`).
    search_stats: Arc<search_stats::SearchStats>,
}

impl Store {
    /// Connects (creating an SQLite file and its directory when missing) and applies migrations.
    pub async fn connect(url: &str) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        let (url, options) = match backend {
            Backend::Sqlite => (prepare_sqlite_url(url)?, sqlite_pool_options()),
            Backend::Postgres => (url.to_owned(), postgres_pool_options()),
        };
        let pool = options.acquire_timeout(Duration::from_secs(10)).connect(&url).await?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await?;
        let store = Store { pool, backend, mail_queued: Arc::new(Notify::new()), search_stats: Arc::default() };
        store.backfill_search_text().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// After a bulk load on PostgreSQL: `VACUUM ANALYZE` (planner statistics and the visibility
    /// map for index-only scans), what autovacuum would do a little later. Nothing on SQLite,
    /// whose plans the store chooses itself.
    pub async fn analyze(&self) -> StoreResult<()> {
        if self.backend == Backend::Postgres {
            sqlx::query("VACUUM ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Notified whenever this store queues mail.
    pub fn mail_queued(&self) -> Arc<Notify> {
        self.mail_queued.clone()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, sqlx::Any>> {
        Ok(self.pool.begin().await?)
    }

    /// A transaction that will write after reading. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`): a read transaction that later needs to write while another holds the
    /// lock gets SQLITE_BUSY at once instead of waiting. PostgreSQL locks rows as it goes.
    pub(crate) async fn begin_write(&self) -> StoreResult<Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }
}

/// A random key: `prefix` and 32 hex digits (128 bits from the operating system).
pub(crate) fn random_key(prefix: &str) -> StoreResult<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Invalid(format!("no randomness for a key: {e}")))?;
    Ok(format!("{prefix}{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
}

/// WAL lets readers run beside the one writer; `synchronous` keeps SQLite's durable default.
fn sqlite_pool_options() -> PoolOptions<Any> {
    PoolOptions::<Any>::new().max_connections(8).after_connect(|conn, _meta| {
        Box::pin(async move {
            conn.execute("PRAGMA journal_mode = WAL").await?;
            conn.execute("PRAGMA foreign_keys = ON").await?;
            conn.execute("PRAGMA busy_timeout = 10000").await?;
            // Reads straight from the mapped file instead of copying each page through a read()
            // into the connection's cache: an exact segment count at 1M leads (115,000 index
            // walks) from 0.46 s to 0.25 s. SQLite caps it at its compile-time maximum (2 GB).
            conn.execute("PRAGMA mmap_size = 2147483648").await?;
            // Past the 2 GB that are mapped, pages go through each connection's own cache (2 MB by
            // default): at 1M leads and 10M events (a 3.7 GB file) the segment count's index probes
            // thrashed it, 130-420 ms a count; with 64 MB per connection (at most 512 MB for the
            // pool, used only as a large file needs it) 85-110 ms.
            conn.execute("PRAGMA cache_size = -65536").await?;
            Ok(())
        })
    })
}

/// Every statement is planned for its own values. A filter's selectivity depends entirely on its
/// values (`$country = Germany` matches a tenth of the leads, `$email = x` one), and PostgreSQL's
/// generic plan for a prepared statement, chosen after five runs, guesses wrong: 2.5 s instead of
/// 1 ms for a first page at 1M leads. Planning costs well under a millisecond.
fn postgres_pool_options() -> PoolOptions<Any> {
    PoolOptions::<Any>::new().max_connections(16).after_connect(|conn, _meta| {
        Box::pin(async move {
            conn.execute("SET plan_cache_mode = force_custom_plan").await?;
            // Our statements are short index walks; compiling one (JIT, on when a plan's cost
            // passes jit_above_cost, as a segment count at 1M leads does) only adds 10-15 ms.
            conn.execute("SET jit = off").await?;
            Ok(())
        })
    })
}

/// Creates the file's directory and makes sure SQLite may create the file (`mode=rwc`).
fn prepare_sqlite_url(url: &str) -> StoreResult<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path.contains(":memory:") {
        return Ok(url.to_owned());
    }
    if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| StoreError::CreateDir { path: dir.display().to_string(), source })?;
    }
    if query.split('&').any(|kv| kv.starts_with("mode=")) {
        Ok(url.to_owned())
    } else if query.is_empty() {
        Ok(format!("{url}?mode=rwc"))
    } else {
        Ok(format!("{url}&mode=rwc"))
    }
}

/// A URL fit for logs: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The name a card shows, in the request's language: the lead's name, else its email, else
/// "Lead #7" / "Лид №7".
pub(crate) fn shown_name(name: Option<&str>, email: Option<&str>, id: i64) -> String {
    crate::language::said(&leadcard_core::property::display_name_message(name, email, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_keep_an_explicit_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/sub/x.db", dir.path().display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.path().join("sub").is_dir());
        let ro = format!("{url}?mode=ro");
        assert_eq!(prepare_sqlite_url(&ro).unwrap(), ro);
    }

    #[test]
    fn urls_choose_the_backend_and_passwords_stay_out_of_logs() {
        assert_eq!(Backend::of_url("sqlite://data/x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("postgres://u@h/db").unwrap(), Backend::Postgres);
        assert!(Backend::of_url("mysql://h/db").is_err());
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    /// The store's files import one another one way only: a file per table family, lower ones
    /// (sql, batch, mail_queue, settings) below the ones that use them. A circle makes every file
    /// of it a change to all the others.
    #[test]
    fn store_files_import_each_other_without_a_circle() {
        use std::collections::{BTreeMap, BTreeSet};
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store");
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                let module = path.file_name().unwrap().to_string_lossy().into_owned();
                for inner in std::fs::read_dir(&path).unwrap() {
                    files.push((module.clone(), inner.unwrap().path(), "super::super::"));
                }
            } else if path.file_name().is_some_and(|n| n != "mod.rs") {
                files.push((path.file_stem().unwrap().to_string_lossy().into_owned(), path, "super::"));
            }
        }
        let modules: BTreeSet<String> = files.iter().map(|(m, _, _)| m.clone()).collect();
        for (module, path, prefix) in &files {
            let text = std::fs::read_to_string(path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let uses = graph.entry(module.clone()).or_default();
            for other in &modules {
                let named =
                    [format!("{prefix}{other}::"), format!("{prefix}{other}}}"), format!("crate::store::{other}::")];
                if other != module && named.iter().any(|n| code.contains(n.as_str())) {
                    uses.insert(other.clone());
                }
            }
        }
        fn visit(
            m: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if let Some(at) = path.iter().position(|p| p == m) {
                panic!("store files import each other in a circle: {} -> {m}", path[at..].join(" -> "));
            }
            if done.contains(m) {
                return;
            }
            path.push(m.to_owned());
            for next in graph.get(m).into_iter().flatten() {
                visit(next, graph, path, done);
            }
            path.pop();
            done.insert(m.to_owned());
        }
        let mut done = BTreeSet::new();
        for module in graph.keys() {
            visit(module, &graph, &mut Vec::new(), &mut done);
        }
        assert!(graph["outbox"].contains("addresses"), "the check reads the imports: {graph:?}");
    }
}
