//! Leads in and out at scale (issue 20), over the console's own HTTP paths:
//! - the CSV export of every seeded lead, timed to its last byte, with card reads sampled beside it
//!   (an operator opening cards while a colleague exports must not wait);
//! - a generated CSV file of as many rows uploaded (`POST /imports`) and imported as a job
//!   (`POST /imports/{id}/run`), its rate set against the seed's rate measured in the same run, and
//!   the server's resident memory sampled while it runs (the file is streamed, never held whole);
//! - a bulk action (issue 21): a tag added to up to 100,000 of the imported leads, chosen by a
//!   filter (`POST /leads/bulk`, a job of batches), with card reads sampled beside it.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::bench::{encode, percentiles};
use crate::leads_bench::Session;

/// The most leads the bulk action tags (the figure).
const BULK_LEADS: u64 = 100_000;

/// `n` with thousands grouped: 100,000.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What the in/out figures need from the bench run around them.
pub struct Run<'a> {
    pub session: &'a Session<'a>,
    /// The server's process, whose memory is read from /proc while the import runs.
    pub server_pid: u32,
    pub db_name: &'a str,
    pub leads: u64,
    /// The seed's rate in this run (leads a second), the import's yardstick.
    pub seed_rate: f64,
    /// Rows of the imported file.
    pub rows: u64,
    pub dir: &'a Path,
}

/// An agent without the bench's global timeout: a million rows take longer than a minute.
fn long_agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// `POST /api/v1/{path}` as the console sends it (session, CSRF header): status and JSON answer.
fn post(
    agent: &ureq::Agent,
    s: &Session,
    path: &str,
    content_type: &str,
    body: impl ureq::AsSendBody,
) -> Result<(u16, Value)> {
    let mut resp = agent
        .post(format!("{}/api/v1/{path}", s.base))
        .header("Cookie", s.cookie)
        .header("x-requested-with", "leadcard")
        .header("content-type", content_type)
        .send(body)?;
    let answer = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    Ok((resp.status().as_u16(), answer))
}

/// The server's own memory (RssAnon: heap and stacks; VmRSS also counts the database file's pages
/// that SQLite maps, which the kernel may drop at will) and its resident set, in MiB, from /proc.
fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<f64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024.0)
    };
    Some((field("RssAnon:")?, field("VmRSS:")?))
}

pub fn run(r: &Run) -> Result<()> {
    let s = r.session;
    let (_, first_page) = s.get("leads", "limit=50")?;
    let ids: Vec<i64> =
        first_page["items"].as_array().context("leads page")?.iter().filter_map(|l| l["id"].as_i64()).collect();
    if ids.is_empty() {
        bail!("no leads to open");
    }
    let open = |n: usize| s.get(&format!("leads/{}", ids[n % ids.len()]), "").map(|r| r.0);
    let idle: Vec<Duration> = (0..60).map(open).collect::<Result<_>>()?;

    // The export of every lead, read to its end on a thread, while cards are read here.
    let long = long_agent();
    let columns = "$name,$email,$phone,$user_id,$country,plan,tags,subscription_status,created_at";
    let url = format!("{}/api/v1/leads/export?columns={}", s.base, encode(columns));
    let (export, during) = std::thread::scope(|scope| -> Result<_> {
        let export = scope.spawn(|| -> Result<(Duration, u64, u64)> {
            let start = Instant::now();
            let mut resp = long.get(&url).header("Cookie", s.cookie).call()?;
            if resp.status() != 200 {
                bail!("GET /leads/export answered {}", resp.status());
            }
            let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
            let (mut bytes, mut lines) = (0u64, 0u64);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                bytes += n as u64;
                lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
            }
            Ok((start.elapsed(), bytes, lines))
        });
        let mut during = Vec::new();
        let mut n = 0;
        while !export.is_finished() {
            during.push(open(n)?);
            n += 1;
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok((export.join().map_err(|_| anyhow::anyhow!("the export thread panicked"))??, during))
    })?;
    let (took, bytes, lines) = export;
    // Quoted cells may hold line breaks, and none of the seed's do: a record a line, the header too.
    if lines != r.leads + 1 {
        bail!("the export had {lines} lines for {} leads", r.leads);
    }

    // The import: a file like a team brings (name, address, user id, plan, a number, tags).
    let path = r.dir.join("import.csv");
    {
        let mut w = BufWriter::new(File::create(&path)?);
        writeln!(w, "Name,Email,User id,Plan,Seats,Tags")?;
        for i in 0..r.rows {
            let plan = if i % 3 == 0 { "pro" } else { "free" };
            let tags = if i % 5 == 0 { "imported; vip" } else { "imported" };
            writeln!(w, "Imported Person {i},imported-{i}@import.example,imp-{i},{plan},{},{tags}", i % 50)?;
        }
        w.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    let start = Instant::now();
    let (status, uploaded) = post(&long, s, "imports?name=bench.csv", "text/csv", File::open(&path)?)?;
    let upload_took = start.elapsed();
    if status != 201 {
        bail!("POST /imports answered {status}: {uploaded}");
    }
    let mut mapping = uploaded["mapping"].clone();
    mapping[4] = json!({"to": "property", "name": "Seats", "ty": "number"});
    let id = uploaded["id"].as_str().context("upload id")?;
    let rss_before = memory_mib(r.server_pid);
    let start = Instant::now();
    let run = json!({"mapping": mapping, "on_match": "update", "dry_run": false}).to_string();
    let (status, job) = post(&long, s, &format!("imports/{id}/run"), "application/json", run)?;
    if status != 202 {
        bail!("POST /imports/{id}/run answered {status}: {job}");
    }
    let job_id = job["id"].as_i64().context("job id")?;
    let (mut peak_anon, mut peak_rss) = (0f64, 0f64);
    let ended = loop {
        if let Some((anon, rss)) = memory_mib(r.server_pid) {
            peak_anon = peak_anon.max(anon);
            peak_rss = peak_rss.max(rss);
        }
        let (_, job) = s.get(&format!("jobs/{job_id}"), "")?;
        if job["state"] != "running" {
            break job;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let import_took = start.elapsed().as_secs_f64();
    if ended["state"] != "done" || ended["result"]["created"].as_u64() != Some(r.rows) {
        bail!("the import ended {ended}");
    }
    let _ = std::fs::remove_file(&path);
    let rate = r.rows as f64 / import_took.max(f64::MIN_POSITIVE);

    // The bulk action: the imported rows' Seats run 0..49 evenly, so "Seats less k" picks
    // rows * k / 50 of them: 100,000 of a million; all of them (the tag) in a smaller run.
    let (condition, tagged_goal) = if r.rows > BULK_LEADS {
        let k = (BULK_LEADS * 50 / r.rows).max(1);
        (json!({"kind": "property", "name": "Seats", "op": "less", "value": k.to_string()}), r.rows * k / 50)
    } else {
        (json!({"kind": "tag", "tag": "imported"}), r.rows)
    };
    let body =
        json!({"selection": {"filter": {"all": [condition]}}, "action": {"kind": "add_tag", "tag": "bulk-bench"}});
    // The matrix's segments first, their members computed: the tagging below then recomputes
    // six segments for each lead it changes, as on a console with segments saved.
    let segments = matrix_segments(&long, s)?;
    let (bulk_took, during_bulk) = bulk_job(&long, s, &body, tagged_goal, &open)?;
    let matrix = bulk_matrix(&long, s, r.rows, &segments, &open)?;

    let (idle50, idle95) = percentiles(idle);
    let (during50, during95) = percentiles(during.clone());
    println!("\n## Leads in and out — {}, {} leads\n", r.db_name, r.leads);
    println!("| figure | value |\n|---|---|");
    println!(
        "| export of every lead, {} columns (`GET /leads/export`, streamed) | {:.1} s to the last byte, {:.0} leads/s, {:.1} MB |",
        columns.split(',').count(),
        took.as_secs_f64(),
        r.leads as f64 / took.as_secs_f64().max(f64::MIN_POSITIVE),
        bytes as f64 / 1e6
    );
    println!("| card read (`GET /leads/{{id}}`), idle | p50 {idle50:.1} ms, p95 {idle95:.1} ms |");
    println!("| card read during the export, {} reads | p50 {during50:.1} ms, p95 {during95:.1} ms |", during.len());
    println!(
        "| upload of a {}-row CSV file ({:.1} MB, `POST /imports`: streamed to disk, previewed) | {:.1} s |",
        r.rows,
        size as f64 / 1e6,
        upload_took.as_secs_f64()
    );
    println!(
        "| its import as a job (`POST /imports/{{id}}/run`, 6 columns, tags, match by user id then email) | \
         {import_took:.1} s, **{rate:.0} rows/s = {:.2}x the seed's {:.0} leads/s** (goal >= 0.5x) |",
        rate / r.seed_rate.max(f64::MIN_POSITIVE),
        r.seed_rate
    );
    let (bulk50, bulk95) = percentiles(during_bulk.clone());
    println!(
        "| a tag added to {} leads of a filter (`POST /leads/bulk`, a job of 500-lead batches: live update and \
         segments for each lead) | {bulk_took:.1} s, {:.0} leads/s |",
        grouped(tagged_goal),
        tagged_goal as f64 / bulk_took.max(f64::MIN_POSITIVE)
    );
    println!(
        "| card read during the bulk job, {} reads | p50 {bulk50:.1} ms, p95 {bulk95:.1} ms (goal p95 <= 100 ms) |",
        during_bulk.len()
    );
    match rss_before {
        Some((anon, rss)) => println!(
            "| server memory during the import (sampled every 100 ms) | own memory (RssAnon) peak {peak_anon:.0} MiB, \
             {anon:.0} MiB before it; resident set with the mapped database peak {peak_rss:.0} MiB, {rss:.0} MiB before it |"
        ),
        None => println!("| server memory during the import | (no /proc here) |"),
    }
    println!(
        "\n### Bulk actions — every action over every kind of selection, {}\n\n\
         Each cell acts on its own group of the imported leads (`Seats` equals one value: a fiftieth of \
         them; ids at most {}), with card reads sampled beside the job.\n",
        r.db_name,
        grouped(MAX_IDS)
    );
    println!("| action | selection | leads | time | leads/s | card read during, p95 |\n|---|---|---|---|---|---|");
    for c in &matrix {
        let (_, p95) = percentiles(c.during.clone());
        println!(
            "| {} | {} | {} | {:.2} s | {:.0} | {p95:.1} ms ({} reads) |",
            c.action,
            c.selection,
            grouped(c.leads),
            c.took,
            c.leads as f64 / c.took.max(f64::MIN_POSITIVE),
            c.during.len()
        );
    }
    Ok(())
}

/// The most ids a selection names one by one (`leadcard_core::bulk::MAX_IDS`; xtask does not
/// depend on the core).
const MAX_IDS: u64 = 10_000;

/// Starts a bulk job, reads cards while it runs, and checks it ended done with `expected` leads
/// changed: how long it took and the card reads' times.
fn bulk_job(
    long: &ureq::Agent,
    s: &Session,
    body: &Value,
    expected: u64,
    open: &dyn Fn(usize) -> Result<Duration>,
) -> Result<(f64, Vec<Duration>)> {
    let start = Instant::now();
    let (status, job) = post(long, s, "leads/bulk", "application/json", body.to_string())?;
    if status != 202 {
        bail!("POST /leads/bulk {body} answered {status}: {job}");
    }
    let started = start.elapsed();
    let job_id = job["id"].as_i64().context("job id")?;
    let mut during = Vec::new();
    let mut n = 0;
    let ended = loop {
        during.push(open(n)?);
        n += 1;
        if n % 5 == 0 {
            let (_, job) = s.get(&format!("jobs/{job_id}"), "")?;
            if job["state"] != "running" {
                break job;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The job's own span (its row's creation to its end, on the server's clock) and the start
    // request before it (which resolves the selection): not the polling's granularity.
    let took = match (ended["created_at"].as_str(), ended["finished_at"].as_str()) {
        (Some(a), Some(b)) => {
            let span = chrono::DateTime::parse_from_rfc3339(b)? - chrono::DateTime::parse_from_rfc3339(a)?;
            started.as_secs_f64() + span.as_seconds_f64()
        }
        _ => start.elapsed().as_secs_f64(),
    };
    if ended["state"] != "done" || ended["result"]["changed"].as_u64() != Some(expected) {
        bail!("the bulk job {body} ended {ended} (expected {expected} changed)");
    }
    Ok((took, during))
}

/// One cell of the bulk matrix.
struct Cell {
    action: &'static str,
    selection: &'static str,
    leads: u64,
    took: f64,
    during: Vec<Duration>,
}

/// The group of `Seats` values each matrix cell acts on: 49 for the first, down by one a cell.
fn cell_value(action: usize, selection: usize) -> u64 {
    49 - (action * 4 + selection) as u64
}

/// The filter of a cell's group.
fn group_filter(value: u64) -> Value {
    json!({"all": [{"kind": "property", "name": "Seats", "op": "equals", "value": value.to_string()}]})
}

/// The segments of the matrix's segment cells (one per action), created and then waited for
/// (`members_ready`: a new segment's members are filled in the background). (Value, id) pairs.
fn matrix_segments(long: &ureq::Agent, s: &Session) -> Result<Vec<(u64, i64)>> {
    let mut segments = Vec::new();
    for action in 0..6 {
        let value = cell_value(action, 3);
        let body = json!({"name": format!("bench group {value}"), "filter": group_filter(value)}).to_string();
        let (status, segment) = post(long, s, "segments", "application/json", body)?;
        if status != 201 {
            bail!("POST /segments answered {status}: {segment}");
        }
        segments.push((value, segment["id"].as_i64().context("segment id")?));
    }
    let deadline = Instant::now() + Duration::from_secs(1800);
    for (_, id) in &segments {
        while s.get(&format!("segments/{id}"), "")?.1["members_ready"] != true {
            if Instant::now() > deadline {
                bail!("segment {id}'s members were not computed in 30 minutes");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    Ok(segments)
}

/// Every bulk action over every kind of selection (ids, a filter, a search with a filter, a
/// segment), each on its own group of the imported leads: the rows whose `Seats` is one value
/// (from 49 down, away from the low values the tagging above selects).
fn bulk_matrix(
    long: &ureq::Agent,
    s: &Session,
    rows: u64,
    segments: &[(u64, i64)],
    open: &dyn Fn(usize) -> Result<Duration>,
) -> Result<Vec<Cell>> {
    let actions: [(&str, Value); 6] = [
        ("add a tag", json!({"kind": "add_tag", "tag": "matrix"})),
        ("remove a tag", json!({"kind": "remove_tag", "tag": "imported"})),
        (
            "set a property",
            json!({"kind": "properties", "operations": [
                {"op": "set", "name": "Plan", "value": {"type": "text", "value": "bulk"}}]}),
        ),
        ("unsubscribe", json!({"kind": "unsubscribe"})),
        ("hide", json!({"kind": "hide"})),
        ("remove completely", json!({"kind": "remove", "confirm": ""})),
    ];
    let selections = ["ids", "filter", "search + filter", "segment"];
    let mut cells = Vec::new();
    for (a, (action_name, action)) in actions.iter().enumerate() {
        for (j, selection_kind) in selections.into_iter().enumerate() {
            let value = cell_value(a, j);
            let in_group = rows / 50 + u64::from(value < rows % 50);
            if in_group == 0 {
                continue;
            }
            let group = group_filter(value);
            let selection = match selection_kind {
                "ids" => json!({"ids": group_ids(s, &group, MAX_IDS)?}),
                "filter" => json!({"filter": group}),
                "search + filter" => json!({"q": "Imported Person", "filter": group}),
                _ => {
                    let id = segments.iter().find(|(v, _)| *v == value).context("the cell's segment")?.1;
                    json!({"segment": id})
                }
            };
            let leads = if selection_kind == "ids" { in_group.min(MAX_IDS) } else { in_group };
            let mut action = action.clone();
            if action["kind"] == "remove" {
                action["confirm"] = json!(leads.to_string());
            }
            let body = json!({"selection": selection, "action": action});
            let (took, during) = bulk_job(long, s, &body, leads, open)?;
            cells.push(Cell { action: action_name, selection: selection_kind, leads, took, during });
        }
    }
    Ok(cells)
}

/// The ids of the leads a filter finds, at most `max`, page by page as the list gives them.
fn group_ids(s: &Session, filter: &Value, max: u64) -> Result<Vec<i64>> {
    let base = format!("limit=200&filter={}", encode(&filter.to_string()));
    let mut ids = Vec::new();
    let mut query = base.clone();
    loop {
        let (_, page) = s.get("leads", &query)?;
        for lead in page["items"].as_array().context("leads page")? {
            if (ids.len() as u64) < max {
                ids.push(lead["id"].as_i64().context("lead id")?);
            }
        }
        match page["next"].as_str() {
            Some(next) if (ids.len() as u64) < max => query = format!("{base}&after={}", encode(next)),
            _ => return Ok(ids),
        }
    }
}
