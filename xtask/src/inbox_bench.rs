//! The Inbox figure of `cargo xtask bench`: message send -> visible to a second operator (one
//! operator posts replies over HTTP; the other's live stream announces each and that operator
//! fetches `messages?after=`, as the Inbox page does).

use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bench::Binaries;
use crate::setup::step;
use crate::tracking_bench::{last_json, public_key, serve};
use crate::util::{Guard, add_operator, free_port};

const OPERATORS: [(&str, &str); 2] = [("anna@bench.test", "Bench Anna"), ("boris@bench.test", "Bench Boris")];
const PASSWORD: &str = "bench-password-long-enough";

pub fn run(bins: &Binaries, db_name: &str, url: &str, sends: u32) -> Result<()> {
    let server = &bins.server;
    step(&format!("inbox: {sends} replies, send -> visible to a second operator"));
    let key = public_key(server, url)?;
    for (email, name) in OPERATORS {
        add_operator(server, url, email, name, None, PASSWORD)?;
    }
    let port = free_port()?;
    let _server = Guard(serve(server, url, port)?);
    let out = Command::new(&bins.bench)
        .args(["inbox", "--url", &format!("http://127.0.0.1:{port}"), "--key", &key])
        .args(["--sends", &sends.to_string()])
        .args(["--operator-a-email", OPERATORS[0].0, "--operator-a-password", PASSWORD])
        .args(["--operator-b-email", OPERATORS[1].0, "--operator-b-password", PASSWORD])
        .stderr(Stdio::inherit())
        .output()
        .context("running leadcard-bench inbox")?;
    if !out.status.success() {
        bail!("leadcard-bench inbox failed");
    }
    let r = last_json(&out.stdout).context("leadcard-bench inbox printed no JSON line")?;
    let p = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or(0.0);
    let (visible, send) = (&r["visible_ms"], &r["send_ms"]);
    println!("\n## Inbox ({db_name})\n");
    println!("| figure | value |\n|---|---|");
    println!(
        "| message send -> visible to a second operator ({} replies; B's stream, then `messages?after=`) | \
         p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms (goal p95 <= 300 ms) |",
        r["sends"],
        p(visible, "p50"),
        p(visible, "p95"),
        p(visible, "p99")
    );
    println!("| send call (`POST .../messages`) | p50 {:.0} ms, p95 {:.0} ms |", p(send, "p50"), p(send, "p95"));
    let missed = r["missed"].as_u64().unwrap_or(0);
    if missed > 0 {
        bail!("inbox: {missed} messages never reached the second operator");
    }
    Ok(())
}
