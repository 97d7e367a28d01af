//! `leadcard-bench`'s command line: one subcommand per figure `cargo xtask bench` asks for.

use clap::{Args, Parser, Subcommand};
use leadcard_server::config::{DatabaseArgs, TrackingArgs};

#[derive(Debug, Parser)]
#[command(name = "leadcard-bench", version, about = "leadcard's benchmark tools, driven by `cargo xtask bench`")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Insert many synthetic leads as fast as possible and print one JSON line with the rate.
    Seed(SeedArgs),
    /// Time the core evaluator over 50 segments for one card and print one JSON line.
    Core,
    /// Measure the ingest writer against raw batched inserts; print one JSON line.
    Ingest(BenchIngestArgs),
    /// Print every stored event of the ingest load (`load-*` names) with its `seq`, as JSON.
    IngestCheck(DatabaseArgs),
    /// Drive the tracking API with simulated visitors and measure heartbeat -> live update delay.
    Simulate(SimulateArgs),
    /// Measure message send -> visible to a second operator against a running server; print one
    /// JSON line.
    Inbox(BenchInboxArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many leads to insert.
    #[arg(long, default_value_t = 1_000_000)]
    pub leads: u64,
    /// Properties per lead (system and custom), at most 30.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=30))]
    pub properties: u32,
    /// `$page_view` events per lead on top of the segment events (10 gives 10M events at 1M leads).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub page_views: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The project's public key (`leadcard-server project show`).
    #[arg(long)]
    pub key: String,
    /// Simulated visitors, each with its own browser session.
    #[arg(long, default_value_t = 100)]
    pub visitors: u32,
    /// How long to run.
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
    /// Each visitor's heartbeat period (the widget's is 60 s); starts are spread over one period.
    #[arg(long, default_value_t = 60)]
    pub heartbeat_seconds: u64,
    /// An operator to sign in as, to watch the live updates (the delay is measured only with one).
    #[arg(long, env = "LEADCARD_SIMULATE_EMAIL")]
    pub operator_email: Option<String>,
    #[arg(long, env = "LEADCARD_SIMULATE_PASSWORD")]
    pub operator_password: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct BenchIngestArgs {
    /// Events to ingest in each of the two runs.
    #[arg(long, default_value_t = 200_000)]
    pub events: u64,
    /// Events per tracking call.
    #[arg(long, default_value_t = 10)]
    pub per_call: u32,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: u32,
    /// Distinct visitors (leads) the events belong to.
    #[arg(long, default_value_t = 1_000)]
    pub visitors: u32,
    #[command(flatten)]
    pub tracking: TrackingArgs,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BenchInboxArgs {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The project's public key (the lead writes first, in the widget).
    #[arg(long)]
    pub key: String,
    /// Replies operator A sends, one after another.
    #[arg(long, default_value_t = 300)]
    pub sends: u32,
    #[arg(long)]
    pub operator_a_email: String,
    #[arg(long)]
    pub operator_a_password: String,
    #[arg(long)]
    pub operator_b_email: String,
    #[arg(long)]
    pub operator_b_password: String,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[test]
    fn subcommands_parse() {
        let cli = Cli::try_parse_from(["leadcard-bench", "seed", "--leads", "10"]).unwrap();
        assert!(matches!(cli.command, Command::Seed(ref s) if s.leads == 10 && s.properties == 10));
        let cli = Cli::try_parse_from(["leadcard-bench", "ingest", "--events", "5"]).unwrap();
        assert!(matches!(cli.command, Command::Ingest(ref i) if i.events == 5 && i.tracking.ingest_batch == 1_000));
    }
}
