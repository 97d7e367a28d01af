//! `cargo xtask bench`: seeds leads through the server's own bulk loader (`leadcard-bench seed`),
//! then measures the Leads Database API over real HTTP (`leads_bench`'s matrix), segment counts
//! and the release app's first-load size, leads in and out (`inout_bench`: export and import at
//! the seeded size); then the tracking figures (`tracking_bench`) and the
//! Inbox's (`inbox_bench`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::leads_bench::Session;
use crate::postgres::Postgres;
use crate::setup::{build_server, step};
use crate::util::{Guard, add_operator, agent, free_port, root, wait_for_http};
use crate::{inbox_bench, inout_bench, leads_bench, split, tracking_bench};

const BENCH_EMAIL: &str = "bench@leadcard.test";
const BENCH_PASSWORD: &str = "bench-password-long-enough";
/// Properties per seeded lead: the searched ones (`$user_id`, `$name`, `$email`, `$phone` on 7 in
/// 10), place, plan, amount, sign-up, browser and an `Interests` list (crates/bench/src/seed.rs).
const SEED_PROPERTIES: u32 = 11;
/// A filter every seeded data set answers: country is one of the seeded countries.
const FILTER: &str = r#"{"all":[{"kind":"property","name":"$country","op":"equals","value":"Germany"}]}"#;

/// The segment the count figure measures: 3 conditions, one counting an event in a window.
const SEGMENT: &str = r#"{"all":[{"kind":"property","name":"$country","op":"equals","value":"Germany"},{"kind":"property","name":"plan","op":"equals","value":"pro"},{"kind":"event","event":"Added to cart","op":"at_least","count":2,"days":7}]}"#;

/// The two programs the bench runs: the production server, and `leadcard-bench` (crates/bench)
/// with the seeding, ingest, simulator and Inbox tools the server binary does not carry.
pub struct Binaries {
    pub server: PathBuf,
    pub bench: PathBuf,
}

impl Binaries {
    /// Builds both, optimised for real figures (one `cargo build` of the two packages: one
    /// feature set) or as the tests' debug build for the smoke run.
    fn build(release: bool) -> Result<Binaries> {
        let server = if release {
            crate::util::run(crate::util::cargo().args([
                "build",
                "--release",
                "-p",
                "leadcard-server",
                "-p",
                "leadcard-bench",
            ]))?;
            crate::util::target_dir().join("release/leadcard-server")
        } else {
            build_server(false)?
        };
        let bench = server.with_file_name("leadcard-bench");
        Ok(Binaries { server, bench })
    }
}

struct Options {
    leads: u64,
    postgres: bool,
    smoke: bool,
    /// Only the tracking figures (ingest, kill -9, simulator, widget).
    tracking_only: bool,
    /// Only the Leads Database figures (the matrix and the list walk), then stop.
    lists_only: bool,
    /// Only leads in and out (the export and the import of as many rows as seeded leads); with
    /// `lists_only`, the lists and then these.
    inout_only: bool,
    /// Measure the debug build the tests use (minutes to build instead of a release build's
    /// half hour on a busy machine); its figures are upper bounds.
    dev_build: bool,
    /// `$page_view` events seeded per lead (10: 10M events at 1M leads, as issue 7's figure asks).
    page_views: u32,
    /// Keep the seeded database (under `target/bench-keep/`) and measure the one kept by an
    /// earlier run of the same size instead of seeding again (with `--lists-only`: the other
    /// figures write to the database). The server's migrations run on it as on a deployment.
    keep: bool,
}

fn options(args: &[String]) -> Result<Options> {
    let mut o = Options {
        leads: 1_000_000,
        postgres: false,
        smoke: false,
        tracking_only: false,
        lists_only: false,
        inout_only: false,
        dev_build: false,
        page_views: 10,
        keep: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--leads" => {
                o.leads = it
                    .next()
                    .context("--leads needs a number")?
                    .replace('_', "")
                    .parse()
                    .context("--leads needs a number")?
            }
            "--db" => match it.next().map(String::as_str) {
                Some("sqlite") => o.postgres = false,
                Some("postgres") => o.postgres = true,
                other => bail!("--db takes sqlite or postgres, not {other:?}"),
            },
            "--page-views" => {
                o.page_views =
                    it.next().context("--page-views needs a number")?.parse().context("--page-views needs a number")?
            }
            "--smoke" => o.smoke = true,
            "--tracking-only" => o.tracking_only = true,
            "--lists-only" => o.lists_only = true,
            "--inout-only" => o.inout_only = true,
            "--dev-build" => o.dev_build = true,
            "--keep" => o.keep = true,
            other => bail!("unknown bench option {other}"),
        }
    }
    if o.keep && (!o.lists_only || o.inout_only || o.smoke || o.tracking_only) {
        bail!("--keep measures the Leads Database only: use it with --lists-only (the other figures write)");
    }
    Ok(o)
}

pub fn run(args: &[String]) -> Result<()> {
    let o = options(args)?;
    // The smoke run reuses the test build; real figures come from an optimised server.
    let bins = Binaries::build(!o.smoke && !o.dev_build)?;
    let server = &bins.server;
    let db_name = if o.postgres { "PostgreSQL" } else { "SQLite" };
    let kept = o.keep.then(|| {
        crate::util::target_dir().join("bench-keep").join(format!(
            "{}-{}-leads-{}-page-views",
            db_name.to_lowercase(),
            o.leads,
            o.page_views
        ))
    });
    let seeded_file = kept.as_ref().map(|k| k.join("seeded.json"));
    let reuse = seeded_file.as_ref().is_some_and(|f| f.exists());
    if let (Some(kept), false) = (&kept, reuse) {
        // Nothing kept, or a seed that did not finish: start from an empty database.
        let _ = std::fs::remove_dir_all(kept);
    }
    let pg = match (&kept, o.postgres) {
        (Some(kept), true) => Some(Postgres::start_kept(kept.join("postgres"))?),
        (None, true) => Some(Postgres::start()?),
        (_, false) => None,
    };
    let dir = std::env::temp_dir().join(format!("leadcard-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let url = match (&pg, &kept) {
        (Some(pg), _) if reuse => format!("postgres://postgres@127.0.0.1:{}/bench", pg.port),
        (Some(pg), _) => pg.create_database("bench")?,
        (None, Some(kept)) => {
            std::fs::create_dir_all(kept)?;
            format!("sqlite://{}?mode=rwc", kept.join("bench.db").display())
        }
        (None, None) => format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()),
    };
    let new_database = |name: &str| -> Result<String> {
        match &pg {
            Some(pg) => pg.create_database(name),
            None => Ok(format!("sqlite://{}?mode=rwc", dir.join(format!("{name}.db")).display())),
        }
    };
    let sizes = if o.smoke { tracking_bench::Sizes::smoke() } else { tracking_bench::Sizes::full() };
    if o.tracking_only {
        tracking_bench::run(&bins, db_name, &new_database, &sizes)?;
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    let seeded = match &seeded_file {
        Some(file) if reuse => {
            step(&format!("measuring the database kept in {}", file.parent().unwrap_or(file).display()));
            serde_json::from_str(&std::fs::read_to_string(file)?)?
        }
        _ => {
            let seeded = seed(&bins, &o, db_name, &url)?;
            if let Some(file) = &seeded_file {
                std::fs::write(file, seeded.to_string())?;
            }
            seeded
        }
    };

    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(server)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--database-url", &url, "--log", "warn", "--dist"])
        .arg(root().join("dist"))
        .spawn()?;
    let server_pid = child.id();
    wait_for_http(&format!("{base}/api/v1/health"), &mut child, Duration::from_secs(120))?;
    let _server = Guard(child);

    let http = agent();
    let sign_in = http
        .post(format!("{base}/api/v1/session"))
        .header("Content-Type", "application/json")
        .send(format!(r#"{{"email":"{BENCH_EMAIL}","password":"{BENCH_PASSWORD}"}}"#))?;
    if sign_in.status() != 200 {
        bail!("bench sign-in answered {}", sign_in.status());
    }
    let cookie = sign_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("leadcard_session="))
        .and_then(|c| c.split(';').next())
        .context("no session cookie")?
        .to_owned();
    let session = Session { http: &http, base: &base, cookie: &cookie };
    let inout = |session: &Session| {
        inout_bench::run(&inout_bench::Run {
            session,
            server_pid,
            db_name,
            leads: o.leads,
            seed_rate: seeded["leads_per_sec"].as_f64().unwrap_or(0.0),
            rows: o.leads,
            dir: &dir,
        })
    };
    if o.inout_only && !o.lists_only {
        inout(&session)?;
        drop(_server);
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }
    let get = |query: &str| session.get("leads", query);
    let filter = format!("filter={}", encode(FILTER));
    let samples = if o.smoke { 20 } else { 200 };

    let unfiltered = measure(samples, || get("limit=50").map(|r| r.0))?;
    let first = measure(samples, || get(&format!("{filter}&limit=50")).map(|r| r.0))?;
    let counted_filter = measure(samples, || session.get("leads/count", &filter).map(|r| r.0))?;
    let (_, total) = session.get("leads/count", &filter)?;

    // Walk the filtered list to page 1,000 (or its last page on a small data set).
    let mut cursor: Option<String> = None;
    let mut page = 1;
    let walk = Instant::now();
    while page < 1000 {
        let query = match &cursor {
            Some(c) => format!("{filter}&limit=50&after={}", encode(c)),
            None => format!("{filter}&limit=50"),
        };
        let (_, body) = get(&query)?;
        match body["next"].as_str() {
            Some(next) => {
                cursor = Some(next.to_owned());
                page += 1;
            }
            None => break,
        }
    }
    let walk_secs = walk.elapsed().as_secs_f64();
    let deep_query = match &cursor {
        Some(c) => format!("{filter}&limit=50&after={}", encode(c)),
        None => format!("{filter}&limit=50"),
    };
    let deep = measure(samples, || get(&deep_query).map(|r| r.0))?;

    println!("\n## Leads Database over HTTP — {db_name}, {} leads\n", o.leads);
    println!("| figure | value |\n|---|---|");
    println!(
        "| seed (leadcard-bench seed, {SEED_PROPERTIES} properties and {} page views each) | {:.0} leads/s ({:.1} s) |",
        o.page_views,
        seeded["leads_per_sec"].as_f64().unwrap_or(0.0),
        seeded["seconds"].as_f64().unwrap_or(0.0)
    );
    println!("| unfiltered first page, 50 rows | p50 {:.1} ms, p95 {:.1} ms |", unfiltered.0, unfiltered.1);
    println!(
        "| filtered first page (`$country` equals Germany), 50 rows | p50 {:.1} ms, p95 {:.1} ms (goal p95 <= 50 ms) |",
        first.0, first.1
    );
    println!(
        "| filtered page {page} | p50 {:.1} ms, p95 {:.1} ms ({:.2}x page 1 p95; goal <= 1.5x) |",
        deep.0,
        deep.1,
        deep.1 / first.1.max(0.001)
    );
    println!("| walk to page {page} | {walk_secs:.1} s |");
    println!(
        "| its count (`GET /leads/count`, capped) | p50 {:.1} ms, p95 {:.1} ms: {total} |",
        counted_filter.0, counted_filter.1
    );
    println!("| samples per figure | {samples} |");
    leads_bench::run(&session, db_name, o.leads, if o.smoke { 3 } else { 20 })?;
    if o.lists_only {
        // With --inout-only too: both, on one seeded database.
        if o.inout_only {
            inout(&session)?;
        }
        drop(_server);
        let _ = std::fs::remove_dir_all(&dir);
        return Ok(());
    }

    let count_body = format!(r#"{{"filter":{SEGMENT}}}"#);
    let count = || -> Result<(Duration, serde_json::Value)> {
        let start = Instant::now();
        let mut resp = http
            .post(format!("{base}/api/v1/segments/count"))
            .header("Cookie", &cookie)
            .header("Content-Type", "application/json")
            .send(count_body.as_str())?;
        let body: serde_json::Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let took = start.elapsed();
        if resp.status() != 200 {
            bail!("POST /api/v1/segments/count answered {}: {body}", resp.status());
        }
        Ok((took, body))
    };
    let counted = measure(samples, || count().map(|r| r.0))?;
    let (_, counted_body) = count()?;
    let core =
        Command::new(&bins.bench).arg("core").stderr(Stdio::inherit()).output().context("leadcard-bench core")?;
    let core: serde_json::Value = String::from_utf8_lossy(&core.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .context("leadcard-bench core printed no JSON line")?;
    println!("\n## Segments — {db_name}, {} leads\n", o.leads);
    println!("| figure | value |\n|---|---|");
    println!(
        "| segment count (`$country` is Germany, `plan` is pro, `Added to cart` at least 2 times in 7 days) | \
         p50 {:.1} ms, p95 {:.1} ms (goal p95 <= 200 ms) |",
        counted.0, counted.1
    );
    println!("| its count | {} |", counted_body);
    println!(
        "| core evaluation, {} segments for one card (native) | p50 {:.1} µs, p95 {:.1} µs ({} matched) |",
        core["segments"],
        core["p50_us"].as_f64().unwrap_or(0.0),
        core["p95_us"].as_f64().unwrap_or(0.0),
        core["matched"]
    );
    println!("| samples | {samples} counts, {} evaluations |", core["samples"]);
    browser_figures(&base, if o.smoke { 3 } else { 30 })?;
    first_load()?;
    // Last on this server: the import doubles its leads.
    inout(&session)?;
    drop(_server);
    tracking_bench::run(&bins, db_name, &new_database, &sizes)?;
    inbox_bench::run(&bins, db_name, &new_database("inbox")?, if o.smoke { 20 } else { 300 })?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Seeds the bench's leads (`leadcard-bench seed`) and adds the bench operator; the seed's figures.
fn seed(bins: &Binaries, o: &Options, db_name: &str, url: &str) -> Result<serde_json::Value> {
    step(&format!(
        "seeding {} leads with {SEED_PROPERTIES} properties and {} page views each ({db_name})",
        o.leads, o.page_views
    ));
    let out = Command::new(&bins.bench)
        .args(["seed", "--leads", &o.leads.to_string(), "--properties", &SEED_PROPERTIES.to_string()])
        .args(["--database-url", url])
        .args(["--page-views", &o.page_views.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .context("running leadcard-bench seed")?;
    if !out.status.success() {
        bail!("leadcard-bench seed failed");
    }
    let seeded: serde_json::Value = String::from_utf8_lossy(&out.stdout)
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .context("leadcard-bench seed printed no JSON line")?;

    add_operator(&bins.server, url, BENCH_EMAIL, "Bench", Some("admin"), BENCH_PASSWORD)?;
    Ok(seeded)
}

/// The figures only a browser can give (the card's segments in wasm, a card opened in the Inbox):
/// `tests/e2e/bench.mjs` drives headless Chromium against the release app this server serves.
fn browser_figures(base: &str, samples: u32) -> Result<()> {
    if !root().join("dist/index.html").exists() {
        println!("\n(no dist/: run `cargo xtask run` or `trunk build --release` for the browser figures)");
        return Ok(());
    }
    crate::test::playwright_deps()?;
    step("browser figures (headless Chromium)");
    let status = Command::new("node")
        .args(["bench.mjs", base, BENCH_EMAIL, BENCH_PASSWORD, &samples.to_string()])
        .current_dir(root().join("tests/e2e"))
        .status()
        .context("running node tests/e2e/bench.mjs")?;
    if !status.success() {
        bail!("the browser figures failed");
    }
    Ok(())
}

/// p50 and p95 in milliseconds of `n` runs of `f`.
fn measure(n: usize, mut f: impl FnMut() -> Result<Duration>) -> Result<(f64, f64)> {
    Ok(percentiles((0..n).map(|_| f()).collect::<Result<Vec<_>>>()?))
}

/// p50 and p95 in milliseconds (0 for no samples).
pub fn percentiles(times: Vec<Duration>) -> (f64, f64) {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    if ms.is_empty() {
        return (0.0, 0.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).saturating_sub(1).min(ms.len() - 1)];
    (at(0.5), at(0.95))
}

/// The release app's first load, raw and brotli: what every page needs (the main wasm, the JS, the
/// CSS), and per route that plus the route's own wasm module and the chunks it shares with other
/// routes, as the split loader (`*_split.js`, xtask/src/split.rs) fetches them.
pub fn first_load() -> Result<()> {
    let dist = root().join("dist");
    let Ok(entries) = std::fs::read_dir(&dist) else {
        println!("\n(no dist/: run `cargo xtask build` to measure the first load)");
        return Ok(());
    };
    let size = |name: &str| file_sizes(&dist.join(name));
    let kb = |(raw, br): (usize, usize)| format!("{:.1} KB | {:.1} KB", raw as f64 / 1000.0, br as f64 / 1000.0);
    let add = |a: (usize, usize), b: (usize, usize)| (a.0 + b.0, a.1 + b.1);
    let mut names: Vec<String> = entries.flatten().filter_map(|e| e.file_name().into_string().ok()).collect();
    names.sort();
    // The stylesheets index.html keeps in `<template id="console-styles">` load with the frame.
    let index = std::fs::read_to_string(dist.join("index.html")).unwrap_or_default();
    let console_styles: Vec<String> = index
        .split_once("console-styles")
        .and_then(|(_, rest)| rest.split_once("</template>"))
        .map(|(template, _)| names.iter().filter(|n| template.contains(&format!("/{n}"))).cloned().collect())
        .unwrap_or_default();
    // Modules the split loader fetches on demand are not part of every page's load.
    let lazy = |n: &str| n.contains("-split_") || n.contains("-chunk_") || console_styles.iter().any(|s| s == n);
    let mut base = (0, 0);
    let mut all = (0, 0);
    println!("\n## First load of the release app\n\n| file | raw | brotli |\n|---|---|---|");
    // The packs hold the modules again (xtask/src/split.rs): counted once, as modules.
    for name in names.iter().filter(|n| n.ends_with(".wasm") || n.ends_with(".js") || n.ends_with(".css")) {
        let s = size(name)?;
        all = add(all, s);
        if !lazy(name) {
            base = add(base, s);
            println!("| {name} | {} |", kb(s));
        }
    }
    println!("| **every page** | {} |", kb(base));
    // The loader as the splitter wrote it (dist/ has it minified), kept beside the build.
    let loader =
        names.iter().find(|n| n.ends_with("_split.js")).map(|n| crate::util::target_dir().join("wasm-split").join(n));
    if let Some(loader) = loader.filter(|l| l.is_file()) {
        let stem = loader.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix("_split.js")).unwrap_or("");
        let packs = split::packs(stem, &split::split_routes(&std::fs::read_to_string(&loader)?));
        // What a first visit fetches for a route: its pack, or its modules where it has none
        // (a pack of one module), and the frame's before it.
        let fetched = |pack: &split::Pack| -> Vec<String> {
            if names.contains(&pack.file) { vec![pack.file.clone()] } else { pack.modules.clone() }
        };
        let frame: Vec<String> = packs.iter().find(|p| p.route == split::FRAME).map(fetched).unwrap_or_default();
        for pack in &packs {
            let mut files = fetched(pack);
            if pack.parent.is_some() {
                files.extend(frame.iter().cloned());
                files.extend(console_styles.iter().cloned());
            }
            if pack.route == split::FRAME {
                files.extend(console_styles.iter().cloned());
            }
            files.sort();
            files.dedup();
            let mut total = base;
            for file in &files {
                total = add(total, size(file)?);
            }
            let modules = pack.modules.len() + if pack.parent.is_some() { frame_modules(&packs) } else { 0 };
            let page = PAGES.iter().find(|(r, _)| *r == pack.route).map_or(pack.route.as_str(), |(_, p)| p);
            println!("| **first load of {page}** ({modules} modules in {} files) | {} |", files.len(), kb(total));
        }
    }
    println!("| all files (every route visited) | {} | (goal: first load <= 150 KB) |", kb(all));
    Ok(())
}

/// The frame's modules (every page inside it loads them too).
fn frame_modules(packs: &[split::Pack]) -> usize {
    packs.iter().find(|p| p.route == split::FRAME).map_or(0, |p| p.modules.len())
}

/// The page each split function shows.
const PAGES: &[(&str, &str)] = &[
    ("login_page", "/login"),
    ("shell_page", "the frame alone"),
    ("leads_page", "/leads"),
    ("lead_page", "/leads/:id"),
    ("occasional_view", "/leads/import and the merge dialog"),
    ("inbox_page", "/inbox"),
    ("visitors_page", "/visitors"),
    ("segments_page", "/segments"),
    ("settings_page", "/settings"),
];

/// Percent-encodes a query value.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A file's size raw and compressed with brotli at quality 11 (as served), in bytes.
pub fn file_sizes(path: &std::path::Path) -> Result<(usize, usize)> {
    let bytes = std::fs::read(path)?;
    // The build wrote the file's brotli form beside it (precompress.rs): that is what is served.
    let mut br = path.as_os_str().to_owned();
    br.push(".br");
    let br = std::path::PathBuf::from(br);
    let fresh = |p: &std::path::Path| p.metadata().and_then(|m| m.modified()).ok();
    if br.is_file() && fresh(&br) >= fresh(path) {
        return Ok((bytes.len(), std::fs::metadata(&br)?.len() as usize));
    }
    Ok((bytes.len(), crate::precompress::brotli(&bytes)?.len()))
}
