//! The application: state shared by handlers, and a server that binds, serves and stops.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::SessionSettings;
use crate::auth::rate_limit::SignInLimiter;
use crate::auth::streams::{self, StreamSessions};
use crate::avatar::AvatarFetcher;
use crate::client_addr::TrustedProxies;
use crate::clock::Clock;
use crate::config::Config;
use crate::demo::{self, SeedError};
use crate::geoip::{GeoIp, GeoIpError};
use crate::ingest::Ingest;
use crate::live::Live;
use crate::mail::{MailSetupError, Mailer, worker};
use crate::routes;
use crate::store::{Project, Store, StoreError, redact};
use crate::tracking::Tracking;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub clock: Arc<Clock>,
    pub sessions: SessionSettings,
    pub sign_in_limiter: Arc<SignInLimiter>,
    pub live: Live,
    pub ingest: Ingest,
    pub tracking: Arc<Tracking>,
    /// `--geoip-db`: where visitors are, from their IP address.
    pub geoip: Option<Arc<GeoIp>>,
    pub mailer: Arc<Mailer>,
    /// Held while segment members are rebuilt (`segments::rebuild_pending`): one fill at a time
    /// in this process, however many segments were created at once.
    pub segment_rebuild: Arc<tokio::sync::Mutex<()>>,
    /// `--trusted-proxy`: whose `X-Forwarded-For` names the client (`ClientAddr`).
    pub trusted_proxies: Arc<TrustedProxies>,
    /// Cancelled when the server shuts down: every event stream ends.
    pub shutdown: CancellationToken,
    /// Operators' open streams by session, ended when their session ends.
    pub stream_sessions: Arc<StreamSessions>,
    /// Lead avatars, fetched by the server so browsers load them from our origin.
    pub avatars: Arc<AvatarFetcher>,
    /// CSV files uploaded for import, waiting to be checked and imported.
    pub uploads: Arc<crate::import::Uploads>,
    /// How bulk jobs go (`bulk::Pace::TEST` in test mode: a page can watch and cancel one).
    pub bulk_pace: crate::bulk::Pace,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("demo data: {0}")]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Mail(#[from] MailSetupError),
    #[error("cannot listen on {address}: {source}")]
    Bind { address: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    GeoIp(#[from] GeoIpError),
    #[error("test mode lets anyone move the server's clock: it listens only on a loopback address, not {0}")]
    TestModeNotLoopback(SocketAddr),
}

/// A bound server, ready to run: tests build it on port 0 and read the port.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    router: axum::Router,
    state: AppState,
    project: Project,
    demo_site: bool,
}

/// How often expired sessions and idle rate-limit keys are dropped.
const HOUSEKEEPING_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartError> {
        if config.test_mode {
            if !config.bind.ip().is_loopback() {
                return Err(StartError::TestModeNotLoopback(config.bind));
            }
            tracing::warn!("TEST MODE: POST /api/v1/test/clock moves the server's clock; never run this in production");
        }
        // Listen first: a taken port fails at once, before any database work.
        let listener =
            TcpListener::bind(config.bind).await.map_err(|source| StartError::Bind { address: config.bind, source })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind { address: config.bind, source })?;
        let geoip = config.geoip_db.as_deref().map(GeoIp::open).transpose()?.map(Arc::new);
        let store = Store::connect(&config.database.database_url).await?;
        tracing::info!(database = %redact(&config.database.database_url), "database ready");
        let clock = Arc::new(Clock::default());
        if config.seed_demo {
            demo::seed_if_empty(&store, clock.now()).await?;
        }
        // The demo shop signs any user id: only on a database the demo seed filled itself.
        let demo_site = config.seed_demo && store.is_demo_seeded().await?;
        let project = store.ensure_project(clock.now()).await?;
        let mailer = Arc::new(Mailer::from_args(&config.mail, address, &store).await?);
        let live = Live::start(store.clone(), clock.clone(), &config.database.database_url).await?;
        // Jobs a stopped process left running end as interrupted.
        crate::jobs::Jobs::new(store.clone(), live.clone(), clock.clone()).fail_interrupted(true).await?;
        let ingest = Ingest::start(store.clone(), clock.clone(), live.clone(), config.tracking.ingest());
        let state = AppState {
            store,
            clock,
            sessions: config.sessions(),
            sign_in_limiter: Arc::new(SignInLimiter::default()),
            live,
            ingest,
            tracking: Arc::new(Tracking::new(config.tracking.track_rate)),
            geoip,
            mailer,
            segment_rebuild: Arc::default(),
            trusted_proxies: Arc::new(TrustedProxies::new(config.trusted_proxy.clone())),
            shutdown: CancellationToken::new(),
            stream_sessions: Arc::default(),
            avatars: Arc::new(AvatarFetcher::new(config.avatar_allow_ip.clone())),
            uploads: Arc::new(crate::import::Uploads::new(u64::from(config.import_max_mb) << 20)),
            bulk_pace: if config.test_mode { crate::bulk::Pace::TEST } else { crate::bulk::Pace::NORMAL },
        };
        let options = routes::Options {
            request_timeout: config.request_timeout(),
            test_mode: config.test_mode,
            demo_site,
            https: config.secure_cookies,
        };
        let router = routes::router(state.clone(), &config.dist, options);
        Ok(Application { listener, address, router, state, project, demo_site })
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The server's clock; tests move it forward to expire sessions or presence.
    pub fn clock(&self) -> Arc<Clock> {
        self.state.clock.clone()
    }

    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// What handlers reach; tests run background jobs (the segment job) with it.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Whether this is a demo database (seeded by `--seed-demo`) with the demo shop at `/demo/`.
    pub fn demo_site(&self) -> bool {
        self.demo_site
    }

    /// The tracking project (its public key goes in the widget's `data-key`).
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// Serves until Ctrl-C or SIGTERM, then stops within [`SHUTDOWN_WITHIN`]: no new
    /// connections, every event stream ends, requests in flight are answered, and the ingest
    /// writer commits every call it queued before the database closes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let shutdown = self.state.shutdown.clone();
        tokio::spawn({
            let shutdown = shutdown.clone();
            async move {
                shutdown_signal().await;
                shutdown.cancel();
            }
        });
        let state = self.state;
        let jobs = [
            tokio::spawn(housekeeping(state.clone())),
            tokio::spawn(crate::segments::job_loop(state.clone())),
            tokio::spawn(worker::run(state.clone())),
            tokio::spawn(streams::watch(state.clone())),
        ];
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        // The same token ends every event stream (`layers`), so open streams do not hold the
        // shutdown.
        let server = axum::serve(self.listener, service).with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let server = tokio::spawn(server.into_future());
        let mut server = std::pin::pin!(server);
        let served = tokio::select! {
            joined = &mut server => joined.unwrap_or_else(|e| Err(std::io::Error::other(e))),
            () = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_WITHIN - INGEST_DRAIN).await } => {
                tracing::warn!("connections still open at the shutdown deadline: closing them");
                server.abort();
                Ok(())
            }
        };
        for job in jobs {
            job.abort();
        }
        // Every request is answered or dropped: nothing more can be queued.
        if tokio::time::timeout(INGEST_DRAIN, state.ingest.close()).await.is_err() {
            tracing::error!("the ingest writer did not finish in time");
        }
        state.store.close().await;
        tracing::info!("stopped");
        served
    }
}

/// The most a shutdown takes, from the signal to the process's exit (orchestrators wait 10 s
/// before they kill).
pub const SHUTDOWN_WITHIN: std::time::Duration = std::time::Duration::from_secs(9);
/// Of that, what the ingest writer keeps for its last batches.
const INGEST_DRAIN: std::time::Duration = std::time::Duration::from_secs(3);

async fn housekeeping(state: AppState) {
    let mut every = tokio::time::interval(HOUSEKEEPING_EVERY);
    loop {
        every.tick().await;
        let now = state.clock.now();
        match state.store.delete_stale_sessions(now, now - state.sessions.idle).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions = n, "expired sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot delete expired sessions"),
        }
        if let Err(e) = state.store.forget_expired_links(now).await {
            tracing::warn!(error = %e, "cannot forget used links that expired");
        }
        state.sign_in_limiter.forget_idle();
        state.tracking.forget_idle();
        if let Err(e) = state.live.forget_old().await {
            tracing::warn!(error = %e, "cannot delete old live events");
        }
        crate::jobs::sweep(&state).await;
        state.uploads.forget_old();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
