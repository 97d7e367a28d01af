//! `leadcard-bench`: the benchmark tools `cargo xtask bench` drives — `seed`, `core`, `ingest`,
//! `ingest-check`, `simulate`, `inbox` — kept out of the production server binary.

mod args;
mod inbox;
mod seed;
mod simulate;

use std::process::ExitCode;

use clap::Parser;
use leadcard_server::Clock;
use leadcard_server::config::DatabaseArgs;
use leadcard_server::store::Store;

use crate::args::{BenchInboxArgs, BenchIngestArgs, Cli, Command, SeedArgs, SimulateArgs};
use crate::simulate::Percentiles;

#[tokio::main]
async fn main() -> ExitCode {
    // Its HTTP clients share the server's reqwest, which brings no TLS provider of its own.
    leadcard_server::avatar::install_tls_provider();
    let result = match Cli::parse().command {
        Command::Seed(args) => seed(args).await,
        Command::Core => {
            let report = seed::core_segment_figures(10_000, Clock::default().now());
            serde_json::to_string(&report).map(|line| println!("{line}")).map_err(|e| e.to_string())
        }
        Command::Ingest(args) => ingest(args).await,
        Command::IngestCheck(args) => ingest_check(args).await,
        Command::Simulate(args) => simulate(args).await,
        Command::Inbox(args) => inbox(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn seed(args: SeedArgs) -> Result<(), String> {
    let store = Store::connect(&args.database.database_url).await.map_err(|e| e.to_string())?;
    let report = seed::bench_seed(&store, args.leads, args.properties, args.page_views, Clock::default().now())
        .await
        .map_err(|e| e.to_string())?;
    store.close().await;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

async fn simulate(args: SimulateArgs) -> Result<(), String> {
    let report = simulate::simulate(args).await?;
    let show =
        |p: &Percentiles| format!("p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms (n = {})", p.p50, p.p95, p.p99, p.samples);
    eprintln!(
        "visitors {}, {} s: {} heartbeats, {} events",
        report.visitors, report.seconds, report.heartbeats, report.events
    );
    eprintln!("heartbeat call: {}", show(&report.heartbeat_ms));
    match &report.live_delay_ms {
        Some(delay) => eprintln!("heartbeat -> live presence event: {}", show(delay)),
        None => eprintln!("(no --operator-email/--operator-password: live delay not measured)"),
    }
    if !report.refused.is_empty() || report.failed > 0 {
        eprintln!("refused {:?}, failed {}", report.refused, report.failed);
    }
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

async fn ingest(args: BenchIngestArgs) -> Result<(), String> {
    let store = Store::connect(&args.database.database_url).await.map_err(|e| e.to_string())?;
    let report = seed::bench_ingest(&store, &args).await?;
    store.close().await;
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}

async fn ingest_check(args: DatabaseArgs) -> Result<(), String> {
    let store = Store::connect(&args.database_url).await.map_err(|e| e.to_string())?;
    let seqs = store.event_seqs("load-").await.map_err(|e| e.to_string())?;
    store.close().await;
    println!("{}", serde_json::json!({ "seqs": seqs }));
    Ok(())
}

async fn inbox(args: BenchInboxArgs) -> Result<(), String> {
    let report = inbox::bench_inbox(args).await?;
    let p = &report.visible_ms;
    eprintln!(
        "message send -> visible to a second operator: p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms (n = {}, missed {})",
        p.p50, p.p95, p.p99, p.samples, report.missed
    );
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(())
}
