//! Command line and environment (`LEADCARD_*`): `serve` (the default), `operator add`, `bench-seed`,
//! `bench-core`.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::Duration;
use clap::{Args, Parser, Subcommand, ValueEnum};
use leadcard_core::wire::Role;

use crate::auth::SessionSettings;

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
    Serve(Config),
    /// Manage operators.
    #[command(subcommand)]
    Operator(OperatorCommand),
    /// Insert many synthetic leads as fast as possible and print one JSON line with the rate.
    BenchSeed(BenchSeedArgs),
    /// Time the core evaluator over 50 segments for one card and print one JSON line.
    BenchCore,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; the password is read from the first line of standard input.
    Add(OperatorAddArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (the file and its directory are created) or `postgres://...`.
    #[arg(long, env = "LEADCARD_DATABASE_URL", default_value = "sqlite://data/leadcard.db")]
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
}

/// Mail delivery and the links in mails.
#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// The SMTP server mail goes out through: `smtp://[USER:PASSWORD@]HOST[:PORT]` (plain, port 25;
    /// add `?tls=required` for STARTTLS) or `smtps://...` (TLS, port 465). Without it, mail
    /// stays queued in the outbox.
    #[arg(long, env = "LEADCARD_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of every mail.
    #[arg(long, env = "LEADCARD_MAIL_FROM", default_value = DEFAULT_MAIL_FROM)]
    pub mail_from: String,
    /// Where leads reach this server, for the links in mails; default `http://<--bind>`.
    #[arg(long, env = "LEADCARD_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Shared secret a mail provider sends in `X-Leadcard-Webhook-Secret` with bounce reports;
    /// without it, the bounce webhook is off (404).
    #[arg(long, env = "LEADCARD_WEBHOOK_SECRET")]
    pub webhook_secret: Option<String>,
    /// Signs the unsubscribe and confirmation links (at least 32 characters). Without it, one is
    /// generated at first start and kept in the database.
    #[arg(long, env = "LEADCARD_SECRET_KEY")]
    pub secret_key: Option<String>,
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
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BenchSeedArgs {
    /// How many leads to insert.
    #[arg(long, default_value_t = 1_000_000)]
    pub leads: u64,
    /// Properties per lead (system and custom), at most 30.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub properties: u32,
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
        let cli = Cli::try_parse_from(["leadcard-server", "bench-seed", "--leads", "10"]).unwrap();
        assert!(matches!(cli.command, Some(Command::BenchSeed(ref b)) if b.leads == 10 && b.properties == 10));
        let cli = Cli::try_parse_from(["leadcard-server", "serve", "--bind", "0.0.0.0:9000"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Serve(ref c)) if c.bind.port() == 9000));
    }
}
