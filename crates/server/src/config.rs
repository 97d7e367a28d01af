//! Command line and environment (`LEADCARD_*`): `serve` (the default), `operator add`, `project
//! show`.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::Duration;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;
use leadcard_core::wire::Role;

use crate::auth::SessionSettings;
use crate::ingest::IngestSettings;

#[derive(Debug, Parser)]
#[command(name = "leadcard-server", version, about = "leadcard's API server and store")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `serve`'s options, for when no subcommand is given.
    #[command(flatten)]
    pub serve: Config,
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `leadcard_server=debug,info`.
    #[arg(long, global = true, env = "LEADCARD_LOG", default_value = "info")]
    pub log: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API and the built app (the default).
    Serve(Box<Config>),
    /// Manage operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// The tracking project's keys.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Import leads from a CSV file (a header row, then a lead a row): columns map to properties
    /// by their names (`$email`, `Email`, `Name`, `tags`, `subscription_status`, ...), changed
    /// with `--map`; leads are matched by user id, then email.
    Import(ImportArgs),
}

/// `leadcard-server import FILE`.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The CSV file (UTF-8, comma-separated, RFC 4180).
    pub file: std::path::PathBuf,
    /// `COLUMN=TARGET`, repeatable: TARGET is `skip`, `tags`, `status`, or a property name with an
    /// optional type (`Seats:number`; text, number, bool, date_time, list).
    #[arg(long = "map", value_name = "COLUMN=TARGET")]
    pub map: Vec<String>,
    /// What to do with a row that matches an existing lead.
    #[arg(long, value_enum, default_value_t = OnMatchArg::Update)]
    pub on_match: OnMatchArg,
    /// Check every row and report, writing nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnMatchArg {
    /// Set the row's values on the lead and add its tags.
    Update,
    /// Leave the lead as it is.
    Skip,
}

#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Print the project's public and secret keys (creating the project when there is none).
    Show(DatabaseArgs),
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; the password is read from the first line of standard input, or with
    /// `--link` a one-time set-password link is printed instead.
    Add(OperatorAddArgs),
    /// List operators: email, name, role, state and open sessions.
    List(DatabaseArgs),
    /// Make an operator admin or operator (the last enabled admin stays one).
    Role(OperatorRoleArgs),
    /// Disable an operator: their sessions end at once, open consoles within seconds.
    Disable(OperatorEmailArgs),
    /// Enable a disabled operator again.
    Enable(OperatorEmailArgs),
    /// Print a one-time link that sets a new password (earlier links stop working).
    ResetPassword(OperatorLinkArgs),
}

#[derive(Debug, Clone, Args)]
pub struct OperatorEmailArgs {
    #[arg(long)]
    pub email: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct OperatorRoleArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long, value_enum)]
    pub role: RoleArg,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct OperatorLinkArgs {
    #[arg(long)]
    pub email: String,
    #[command(flatten)]
    pub link: PublicUrlArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Where operators reach the console, for set-password links.
#[derive(Debug, Clone, Args)]
pub struct PublicUrlArgs {
    #[arg(long, env = "LEADCARD_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
    pub public_url: String,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (the file and its directory are created) or `postgres://...` (a password in
    /// it is never printed by `--help`).
    #[arg(long, env = "LEADCARD_DATABASE_URL", default_value = "sqlite://data/leadcard.db", hide_env_values = true)]
    pub database_url: String,
}

/// Everything `serve` needs; tests build it directly.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "LEADCARD_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The built app (Trunk's output) to serve beside the API.
    #[arg(long, env = "LEADCARD_DIST", default_value = "dist")]
    pub dist: PathBuf,
    /// Seed demo leads and the demo operator when the database has no leads.
    #[arg(long, env = "LEADCARD_SEED_DEMO")]
    pub seed_demo: bool,
    /// Mark the session cookie Secure (behind HTTPS).
    #[arg(long, env = "LEADCARD_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// Sign out after this many minutes without a request.
    #[arg(long, env = "LEADCARD_SESSION_IDLE_MINUTES", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub session_idle_minutes: u32,
    /// Sign out this many hours after signing in, however active.
    #[arg(long, env = "LEADCARD_SESSION_ABSOLUTE_HOURS", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_absolute_hours: u32,
    #[command(flatten)]
    pub mail: MailArgs,
    #[command(flatten)]
    pub tracking: TrackingArgs,
    /// Proxies whose `X-Forwarded-For` names the client (addresses or CIDR ranges, e.g.
    /// `10.0.0.0/8`; several separated by commas). Other peers are the client themselves.
    #[arg(long, env = "LEADCARD_TRUSTED_PROXY", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxy: Vec<IpNet>,
    /// A request that has not answered within this many seconds gets 503 `timeout` (event
    /// streams count only until they start).
    #[arg(long, env = "LEADCARD_REQUEST_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3_600))]
    pub request_timeout_secs: u32,
    /// A MaxMind-format database (e.g. GeoLite2-City.mmdb): a visitor's session start fills `$city`
    /// and `$country` from its IP address. Replace the file to refresh it (reopened when its
    /// modification time changes).
    #[arg(long, env = "LEADCARD_GEOIP_DB")]
    pub geoip_db: Option<PathBuf>,
    /// Addresses the avatar fetcher may reach although they are not public (an intranet's picture
    /// server; several separated by commas). Lead avatars are fetched by the server from public
    /// addresses only otherwise.
    #[arg(long, env = "LEADCARD_AVATAR_ALLOW_IP", value_delimiter = ',')]
    pub avatar_allow_ip: Vec<std::net::IpAddr>,
    /// The largest CSV file the console's import takes, in megabytes (a larger upload gets 413,
    /// naming the limit). Uploads are kept in the system's temporary directory for a day.
    #[arg(long, env = "LEADCARD_IMPORT_MAX_MB", default_value_t = 1_024,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub import_max_mb: u32,
    /// Test mode: `POST /api/v1/test/clock` moves the server's clock. Only on a loopback address;
    /// never in production.
    /// `LEADCARD_TEST_MODE=1` (or true/yes/on) turns it on; 0, false, no, off or empty do not.
    #[arg(long, env = "LEADCARD_TEST_MODE", action = clap::ArgAction::SetTrue, value_parser = clap::builder::FalseyValueParser::new())]
    pub test_mode: bool,
}

/// The tracking API's ingest and limits.
#[derive(Debug, Clone, Args)]
pub struct TrackingArgs {
    /// Tracking calls that may wait for the ingest writer; beyond, calls get 503 with Retry-After.
    #[arg(long, env = "LEADCARD_INGEST_QUEUE", default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ingest_queue: u32,
    /// Most events the ingest writer commits in one transaction.
    #[arg(long, env = "LEADCARD_INGEST_BATCH", default_value_t = 1_000,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub ingest_batch: u32,
    /// How long a batch may wait for more calls after its first, in milliseconds (0: no wait).
    #[arg(long, env = "LEADCARD_INGEST_WAIT_MS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(0..=1_000))]
    pub ingest_wait_ms: u32,
    /// Tracking calls per second per project key (bursts up to twice as many); beyond, 429.
    #[arg(long, env = "LEADCARD_TRACK_RATE", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub track_rate: u32,
}

impl Default for TrackingArgs {
    fn default() -> Self {
        TrackingArgs { ingest_queue: 10_000, ingest_batch: 1_000, ingest_wait_ms: 2, track_rate: 500 }
    }
}

impl TrackingArgs {
    pub fn ingest(&self) -> IngestSettings {
        IngestSettings {
            queue: self.ingest_queue as usize,
            batch_events: self.ingest_batch as usize,
            batch_wait: std::time::Duration::from_millis(self.ingest_wait_ms.into()),
        }
    }
}

/// Mail delivery and the links in mails.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// The SMTP server mail goes out through: `smtp://[USER:PASSWORD@]HOST[:PORT]` (plain, port 25;
    /// add `?tls=required` for STARTTLS) or `smtps://...` (TLS, port 465). Without it, mail
    /// stays queued in the outbox.
    #[arg(long, env = "LEADCARD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of every mail.
    #[arg(long, env = "LEADCARD_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Where leads reach this server, for the links in mails; default `http://<--bind>`.
    #[arg(long, env = "LEADCARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Shared secret a mail provider sends in `X-Leadcard-Webhook-Secret` with bounce reports;
    /// without it, the bounce webhook is off (404).
    #[arg(long, env = "LEADCARD_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Signs the unsubscribe and confirmation links (at least 32 characters). Without it, one is
    /// generated at first start and kept in the database.
    #[arg(long, env = "LEADCARD_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// The domain of conversations' reply addresses (`Reply-To: reply+<token>@<domain>`), whose
    /// inbound mail the provider posts to `/api/v1/webhooks/inbound-email`; default: the domain
    /// of `--mail-from`.
    #[arg(long, env = "LEADCARD_REPLY_DOMAIN")]
    pub reply_domain: Option<String>,
}

pub const DEFAULT_MAIL_FROM: &str = "leadcard <no-reply@leadcard.test>";

impl Default for MailArgs {
    fn default() -> Self {
        MailArgs {
            smtp_url: None,
            mail_from: DEFAULT_MAIL_FROM.to_owned(),
            public_url: None,
            webhook_secret: None,
            secret_key: None,
            reply_domain: None,
        }
    }
}

impl Config {
    pub fn sessions(&self) -> SessionSettings {
        SessionSettings {
            idle: Duration::minutes(self.session_idle_minutes.into()),
            absolute: Duration::hours(self.session_absolute_hours.into()),
            secure_cookies: self.secure_cookies,
        }
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.request_timeout_secs.into())
    }
}

/// `--trusted-proxy`: a CIDR range, or one address (a range of one).
fn parse_proxy(raw: &str) -> Result<IpNet, String> {
    let raw = raw.trim();
    raw.parse::<IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{raw:?} is neither an address nor a CIDR range like 10.0.0.0/8"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Admin,
    Operator,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Role::Admin,
            RoleArg::Operator => Role::Operator,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct OperatorAddArgs {
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub name: String,
    #[arg(long, value_enum, default_value_t = RoleArg::Operator)]
    pub role: RoleArg,
    /// Print a one-time set-password link (valid 24 hours) instead of reading a password.
    #[arg(long)]
    pub link: bool,
    #[command(flatten)]
    pub public: PublicUrlArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_subcommand_means_serve_with_defaults() {
        let cli = Cli::try_parse_from(["leadcard-server", "--seed-demo"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.serve.seed_demo);
        assert_eq!(cli.serve.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.serve.sessions().idle, Duration::minutes(30));
        assert_eq!(cli.serve.sessions().absolute, Duration::hours(12));
        assert_eq!(cli.serve.mail.mail_from, DEFAULT_MAIL_FROM);
        assert_eq!(cli.serve.mail.smtp_url, None);
    }

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from([
            "leadcard-server",
            "operator",
            "add",
            "--email",
            "a@b.co",
            "--name",
            "A",
            "--role",
            "admin",
        ])
        .unwrap();
        assert!(
            matches!(cli.command, Some(Command::Operator(OperatorCommand::Add(ref a))) if a.role == RoleArg::Admin)
        );
        assert!(Cli::try_parse_from(["leadcard-server", "bench-seed"]).is_err(), "the bench is leadcard-bench's");
        let cli = Cli::try_parse_from(["leadcard-server", "serve", "--bind", "0.0.0.0:9000"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve(ref c)) if c.bind.port() == 9000));
        let cli = Cli::try_parse_from([
            "leadcard-server",
            "--trusted-proxy",
            "10.0.0.0/8,192.0.2.7",
            "--trusted-proxy",
            "::1",
        ])
        .unwrap();
        let proxies: Vec<String> = cli.serve.trusted_proxy.iter().map(ToString::to_string).collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.7/32", "::1/128"]);
        let error = Cli::try_parse_from(["leadcard-server", "--trusted-proxy", "10.0.0.0/33"]).unwrap_err();
        assert!(error.to_string().contains("CIDR"), "{error}");
    }
}
