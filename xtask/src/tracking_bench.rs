//! The tracking figures of `cargo xtask bench`: ingest through the batching writer against raw
//! batched inserts, the kill -9 durability check, the simulator's heartbeat -> live update delay,
//! and the widget's size.

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench::Binaries;
use crate::setup::step;
use crate::util::{Guard, add_operator, agent, free_port, root, wait_for_http};

const OPERATOR_EMAIL: &str = "bench@leadcard.test";
const OPERATOR_PASSWORD: &str = "bench-password-long-enough";

/// How big each step runs.
pub struct Sizes {
    pub ingest_events: u64,
    pub kill_after: Duration,
    pub load_threads: usize,
    pub sim_visitors: u32,
    pub sim_seconds: u64,
    pub sim_heartbeat: u64,
}

impl Sizes {
    pub fn smoke() -> Sizes {
        Sizes {
            ingest_events: 20_000,
            kill_after: Duration::from_secs(2),
            load_threads: 4,
            sim_visitors: 50,
            sim_seconds: 6,
            sim_heartbeat: 2,
        }
    }

    pub fn full() -> Sizes {
        Sizes {
            ingest_events: 500_000,
            kill_after: Duration::from_secs(8),
            load_threads: 16,
            sim_visitors: 1_000,
            sim_seconds: 150,
            sim_heartbeat: 60,
        }
    }
}

/// A fresh database URL for one step: a file in `dir`, or a new database on `postgres`.
pub type NewDatabase<'a> = &'a dyn Fn(&str) -> Result<String>;

pub fn run(bins: &Binaries, db_name: &str, new_database: NewDatabase, sizes: &Sizes) -> Result<()> {
    println!("\n## Tracking ({db_name})\n");
    println!("| figure | value |\n|---|---|");
    ingest(bins, &new_database("ingest")?, sizes)?;
    durability(bins, &new_database("durability")?, sizes)?;
    simulate(bins, &new_database("simulate")?, sizes)?;
    widget_size()?;
    Ok(())
}

/// The writer against raw inserts, in process (`leadcard-bench ingest`).
fn ingest(bins: &Binaries, url: &str, sizes: &Sizes) -> Result<()> {
    step(&format!("ingest: {} events through the writer, then raw", sizes.ingest_events));
    let out = Command::new(&bins.bench)
        .args(["ingest", "--events", &sizes.ingest_events.to_string(), "--database-url", url])
        .stderr(Stdio::inherit())
        .output()
        .context("running leadcard-bench ingest")?;
    if !out.status.success() {
        bail!("leadcard-bench ingest failed");
    }
    let r: serde_json::Value = last_json(&out.stdout).context("leadcard-bench ingest printed no JSON line")?;
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    println!(
        "| ingest through the batching writer ({} events, {} per call, {} calls in flight) | {:.0} events/s |",
        r["events"],
        r["per_call"],
        r["concurrency"],
        f("writer_events_per_sec")
    );
    println!(
        "| raw batched inserts of the same rows ({} per transaction) | {:.0} events/s |",
        r["batch"],
        f("raw_events_per_sec")
    );
    println!("| writer / raw | {:.0}% (goal >= 50%) |", f("ratio") * 100.0);
    let lat = &r["latency_ms"];
    println!(
        "| ingest latency, call -> committed | p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms |",
        lat["p50"].as_f64().unwrap_or(0.0),
        lat["p99"].as_f64().unwrap_or(0.0),
        lat["max"].as_f64().unwrap_or(0.0)
    );
    Ok(())
}

pub fn last_json(stdout: &[u8]) -> Option<serde_json::Value> {
    String::from_utf8_lossy(stdout).lines().rev().find_map(|l| serde_json::from_str(l).ok())
}

/// The project's public key, from `project show` (which creates the project).
pub fn public_key(server: &Path, url: &str) -> Result<String> {
    let out = Command::new(server).args(["project", "show", "--database-url", url]).output()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("public key:").map(|k| k.trim().to_owned()))
        .context("project show printed no public key")
}

pub fn serve(server: &Path, url: &str, port: u16) -> Result<Child> {
    let mut child = Command::new(server)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", url, "--log", "warn"])
        .args(["--track-rate", "1000000", "--dist"])
        .arg(root().join("dist"))
        .stdout(Stdio::null())
        .spawn()
        .context("starting the server")?;
    wait_for_http(&format!("http://127.0.0.1:{port}/api/v1/health"), &mut child, Duration::from_secs(60))?;
    Ok(child)
}

/// Starts the server, drives ingest load, kills it with SIGKILL mid-load, restarts it, and
/// checks that every acknowledged event is stored.
fn durability(bins: &Binaries, url: &str, sizes: &Sizes) -> Result<()> {
    let server = &bins.server;
    step("durability: ingest load, kill -9, restart, count");
    let key = public_key(server, url)?;
    let port = free_port()?;
    let mut child = serve(server, url, port)?;
    let acked: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let base = format!("http://127.0.0.1:{port}/api/v1/track/events");
    let threads: Vec<_> = (0..sizes.load_threads)
        .map(|t| {
            let (acked, stop, base, key) = (acked.clone(), stop.clone(), base.clone(), key.clone());
            std::thread::spawn(move || {
                let http = agent();
                let mut call = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let seqs: Vec<u64> = (0..10).map(|i| (t as u64) * 1_000_000_000 + call * 10 + i).collect();
                    let events: Vec<serde_json::Value> = seqs
                        .iter()
                        .map(|s| serde_json::json!({ "name": format!("load-{t}"), "properties": { "seq": s } }))
                        .collect();
                    let body = serde_json::json!({ "visitor_id": format!("load-{t}"), "events": events });
                    let sent = http
                        .post(&base)
                        .header("Content-Type", "application/json")
                        .header("X-Leadcard-Key", &key)
                        .send(body.to_string());
                    match sent {
                        Ok(r) if r.status() == 200 => acked.lock().map(|mut a| a.extend(seqs)).unwrap_or(()),
                        Ok(_) => {}
                        // The server is gone: this thread's part is over.
                        Err(_) => break,
                    }
                    call += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(sizes.kill_after);
    // std's kill is SIGKILL on Unix: no graceful shutdown, no flush.
    child.kill().context("kill -9")?;
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let acked: Vec<u64> = acked.lock().map(|a| a.clone()).unwrap_or_default();

    let restarted = Guard(serve(server, url, port)?);
    let out = Command::new(&bins.bench)
        .args(["ingest-check", "--database-url", url])
        .stderr(Stdio::inherit())
        .output()
        .context("running leadcard-bench ingest-check")?;
    drop(restarted);
    let found: HashSet<u64> = last_json(&out.stdout)
        .and_then(|v| v["seqs"].as_array().map(|a| a.iter().filter_map(|s| s.as_u64()).collect()))
        .context("leadcard-bench ingest-check printed no JSON")?;
    let missing = acked.iter().filter(|s| !found.contains(s)).count();
    println!(
        "| kill -9 after {:.0} s of ingest ({} clients), restart | {} events acknowledged, {} stored, {} acknowledged but missing |",
        sizes.kill_after.as_secs_f64(),
        sizes.load_threads,
        acked.len(),
        found.len(),
        missing
    );
    if missing > 0 || acked.is_empty() {
        bail!("durability: {missing} acknowledged events missing (of {})", acked.len());
    }
    Ok(())
}

/// `leadcard-bench simulate` against a server with a signed-in operator watching the stream.
fn simulate(bins: &Binaries, url: &str, sizes: &Sizes) -> Result<()> {
    let server = &bins.server;
    step(&format!("simulator: {} visitors for {} s", sizes.sim_visitors, sizes.sim_seconds));
    let key = public_key(server, url)?;
    add_operator(server, url, OPERATOR_EMAIL, "Bench", None, OPERATOR_PASSWORD)?;
    let port = free_port()?;
    let _server = Guard(serve(server, url, port)?);
    let started = Instant::now();
    let out = Command::new(&bins.bench)
        .args(["simulate", "--url", &format!("http://127.0.0.1:{port}"), "--key", &key])
        .args(["--visitors", &sizes.sim_visitors.to_string(), "--seconds", &sizes.sim_seconds.to_string()])
        .args(["--heartbeat-seconds", &sizes.sim_heartbeat.to_string()])
        .args(["--operator-email", OPERATOR_EMAIL, "--operator-password", OPERATOR_PASSWORD])
        .stderr(Stdio::inherit())
        .output()
        .context("running simulate")?;
    if !out.status.success() {
        bail!("simulate failed");
    }
    let r = last_json(&out.stdout).context("simulate printed no JSON line")?;
    let p = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let delay = &r["live_delay_ms"];
    println!(
        "| simulator: {} visitors, heartbeat every {} s, {:.0} s | {} heartbeats, {} events, refused {}, failed {} |",
        r["visitors"],
        sizes.sim_heartbeat,
        started.elapsed().as_secs_f64(),
        r["heartbeats"],
        r["events"],
        r["refused"],
        r["failed"]
    );
    println!(
        "| heartbeat call | p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms |",
        p(&r["heartbeat_ms"], "p50"),
        p(&r["heartbeat_ms"], "p95"),
        p(&r["heartbeat_ms"], "p99")
    );
    println!(
        "| heartbeat -> `presence` on the operator's stream ({} of {} seen) | p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms (goal p95 <= 1 s) |",
        r["live_seen"],
        r["heartbeats"],
        p(delay, "p50"),
        p(delay, "p95"),
        p(delay, "p99")
    );
    Ok(())
}

fn widget_size() -> Result<()> {
    let (raw, brotli) = crate::bench::file_sizes(&root().join("crates/server/widget/widget.js"))?;
    println!(
        "| widget.js | {:.1} KB raw, {:.1} KB brotli (goal < 15 KB) |",
        raw as f64 / 1000.0,
        brotli as f64 / 1000.0
    );
    Ok(())
}
