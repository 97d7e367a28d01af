//! `cargo xtask test`: every check, one summary line per stage; fails if any stage fails.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::postgres::Postgres;
use crate::setup::{self, build_app, build_server, chromium, step, toolchain};
use crate::util::{Guard, cargo, free_port, root, run, wait_for_http};

struct Stages {
    results: Vec<(String, bool, Duration, String)>,
    /// Only the stages whose names contain one of these (all when empty).
    only: Vec<String>,
}

impl Stages {
    fn stage(&mut self, name: &str, f: impl FnOnce() -> Result<()>) -> bool {
        if !self.only.is_empty() && !self.only.iter().any(|o| name.to_lowercase().contains(&o.to_lowercase())) {
            return true;
        }
        step(&format!("stage: {name}"));
        let start = Instant::now();
        let result = f();
        let ok = result.is_ok();
        let detail = result.err().map(|e| format!("{e:#}")).unwrap_or_default();
        let line = format!(
            "{} {name} ({:.1}s){}",
            if ok { "PASS" } else { "FAIL" },
            start.elapsed().as_secs_f64(),
            if ok { String::new() } else { format!(": {detail}") }
        );
        eprintln!("xtask: {line}");
        self.results.push((name.to_owned(), ok, start.elapsed(), detail));
        ok
    }

    fn skip(&mut self, name: &str, why: &str) {
        eprintln!("xtask: FAIL {name}: not run, {why}");
        self.results.push((name.to_owned(), false, Duration::ZERO, format!("not run, {why}")));
    }
}

/// `cargo xtask test [STAGE ...]`: every stage, or only those whose names contain one of the
/// words given (e.g. `cargo xtask test postgresql schemathesis`); the set-up always runs.
pub fn all(only: &[String]) -> Result<()> {
    let started = Instant::now();
    let mut s = Stages { results: Vec::new(), only: Vec::new() };
    let mut path = String::new();
    let setup_ok = s.stage("setup (toolchain, Chromium, Playwright)", || {
        path = toolchain()?;
        chromium()?;
        playwright_deps()
    });
    s.only = only.to_vec();
    let wasm = "wasm32-unknown-unknown";
    s.stage("fmt", || run(cargo().args(["fmt", "--all", "--check"])));
    s.stage("clippy (native)", || {
        run(cargo().args(["clippy", "--workspace", "--exclude", "leadcard", "--all-targets", "--", "-D", "warnings"]))
    });
    s.stage("clippy (app, wasm)", || {
        run(cargo().args(["clippy", "-p", "leadcard", "--target", wasm, "--all-targets", "--", "-D", "warnings"]))
    });
    s.stage("clippy (app, wasm, split into chunks)", || {
        run(cargo().args(["clippy", "-p", "leadcard", "--target", wasm, "--features", "split", "--", "-D", "warnings"]))
    });
    s.stage("core builds for wasm", || run(cargo().args(["check", "-p", "leadcard-core", "--target", wasm])));
    s.stage("native tests (SQLite)", || run(cargo().args(["test", "--workspace", "--exclude", "leadcard"])));
    s.stage("API tests (PostgreSQL)", || {
        let pg = Postgres::start()?;
        run(cargo()
            // The workspace's feature set, as the stage before: `-p leadcard-server` alone would
            // resolve other features and compile the server again.
            .args(["test", "--workspace", "--exclude", "leadcard", "--test", "api"])
            .env("LEADCARD_TEST_POSTGRES_URL", pg.url())
            .env("LEADCARD_TEST_POSTGRES_CA", pg.ca_file()))
    });
    s.stage("API document (schemathesis, SQLite and PostgreSQL)", crate::schemathesis::run_all);
    if setup_ok {
        s.stage("browser component tests (wasm-bindgen-test)", || {
            run(cargo()
                .args(["test", "-p", "leadcard", "--target", wasm])
                .env("PATH", &path)
                .env("CHROMEDRIVER", "/usr/bin/chromedriver")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner"))
        });
        let built = s.stage("app release build (trunk, split)", || build_app(&path));
        if built {
            s.stage("end to end (Playwright, Chromium)", || end_to_end(&[]));
        } else {
            s.skip("end to end (Playwright, Chromium)", "the app did not build");
        }
    } else {
        for name in [
            "browser component tests (wasm-bindgen-test)",
            "app release build (trunk, split)",
            "end to end (Playwright, Chromium)",
        ] {
            s.skip(name, "the toolchain set-up failed");
        }
    }
    s.stage("benchmark smoke run", || crate::bench::run(&["--leads".into(), "3000".into(), "--smoke".into()]));

    eprintln!("\nxtask: summary ({:.0}s)", started.elapsed().as_secs_f64());
    for (name, ok, took, detail) in &s.results {
        let d = if detail.is_empty() { String::new() } else { format!(" — {}", detail.lines().next().unwrap_or("")) };
        eprintln!("  {} {name} ({:.1}s){d}", if *ok { "PASS" } else { "FAIL" }, took.as_secs_f64());
    }
    let failed = s.results.iter().filter(|r| !r.1).count();
    println!("stages: {} passed, {failed} failed", s.results.len() - failed);
    if failed > 0 {
        bail!("{failed} stage(s) failed");
    }
    Ok(())
}

/// tests/e2e's npm packages as its lock file names them: installed again whenever the lock file
/// changed since the last install (a stamp in node_modules keeps the lock file it installed).
pub(crate) fn playwright_deps() -> Result<()> {
    let dir = root().join("tests/e2e");
    let lock = std::fs::read(dir.join("package-lock.json")).context("tests/e2e/package-lock.json")?;
    let stamp = dir.join("node_modules/.leadcard-installed-lock");
    if dir.join("node_modules/@playwright/test").exists() && std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))?;
    std::fs::write(&stamp, lock).context("writing the npm install stamp")
}

/// `cargo xtask e2e [playwright args]`: the Playwright suite (or the specs named) against the app
/// already built in `dist/` (`cargo xtask build`), without the other stages.
pub fn e2e(args: &[String]) -> Result<()> {
    if !root().join("dist/index.html").exists() {
        bail!("no dist/index.html: run `cargo xtask build` first");
    }
    chromium()?;
    playwright_deps()?;
    end_to_end(args)
}

/// Playwright against the release app and a server on a free port with a temporary database.
fn end_to_end(args: &[String]) -> Result<()> {
    let server = build_server(false)?;
    let port = free_port()?;
    let data = std::env::temp_dir().join(format!("leadcard-e2e-{port}"));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let db = format!("sqlite://{}?mode=rwc", data.join("e2e.db").display());
    let base = format!("http://127.0.0.1:{port}");
    // A real SMTP listener on loopback takes the server's mail; the specs read what it received.
    let smtp_port = free_port()?;
    let maildir = data.join("mail");
    let sink = Command::new("node")
        .arg(root().join("tests/e2e/smtp-sink.mjs"))
        .arg(smtp_port.to_string())
        .arg(&maildir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("starting the SMTP listener (node tests/e2e/smtp-sink.mjs)")?;
    let _sink = Guard(sink);
    let log = std::fs::File::create(data.join("server.log"))?;
    let mut child = Command::new(&server)
        .current_dir(root())
        .args(["serve", "--seed-demo", "--bind", &format!("127.0.0.1:{port}"), "--database-url", &db, "--dist"])
        .arg(root().join("dist"))
        .env("LEADCARD_TEST_MODE", "1")
        // avatar.spec.ts serves a lead's picture from loopback, which the server fetches.
        .env("LEADCARD_AVATAR_ALLOW_IP", "127.0.0.1")
        .env("LEADCARD_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("starting the server")?;
    wait_for_http(&format!("{base}/api/v1/health"), &mut child, Duration::from_secs(60))?;
    let _server = Guard(child);
    let result = run(Command::new("npx")
        .args(["playwright", "test"])
        .args(args)
        .current_dir(root().join("tests/e2e"))
        .env("LEADCARD_BASE_URL", &base)
        .env("LEADCARD_DEMO_EMAIL", setup::DEMO_EMAIL)
        .env("LEADCARD_DEMO_PASSWORD", setup::DEMO_PASSWORD)
        .env("LEADCARD_E2E_MAILDIR", &maildir));
    if result.is_err() {
        eprintln!("xtask: server log: {}", data.join("server.log").display());
    } else {
        let _ = std::fs::remove_dir_all(&data);
    }
    result
}
