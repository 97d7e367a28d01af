//! `cargo xtask run | dev | test | bench`: installs what is missing and runs leadcard.

mod bench;
mod inbox_bench;
mod inout_bench;
mod leads_bench;
mod postgres;
mod precompress;
mod schemathesis;
mod setup;
mod split;
mod test;
mod tracking_bench;
mod util;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <command>

  build   build the release app into dist/ (trunk, then the wasm split into a chunk per page)
          and print its first-load size per route
  run     build the app (release) and start the server on http://127.0.0.1:8080 with demo data
  dev     the server plus `trunk serve` (http://127.0.0.1:8081, /api proxied to the server)
  e2e     the Playwright suite, or the specs named (`cargo xtask e2e specs/auth.spec.ts`), against
          the app already built in dist/
  test    every check: fmt, clippy, wasm check, native tests (SQLite and PostgreSQL),
          wasm-bindgen-test browser tests, Playwright end to end, schemathesis over the API
          document (SQLite and PostgreSQL), benchmark smoke run; `test WORD ...` runs only the
          stages whose names contain a word (`cargo xtask test postgresql`), after the set-up
  schemathesis
          only the schemathesis stage: every check over /api/v1/openapi.json, signed in, on
          SQLite and PostgreSQL; failures not in xtask/schemathesis-allowed.json fail it
  bench   seed leads (and 10 page views each) and measure the Leads Database (a matrix of every
          condition kind and operator, the search forms and combinations: first page, page 20,
          count), segment counts, the browser figures (card segments, card open in the Inbox),
          message send -> second operator, first-load size, leads in and out (export of every lead
          with card reads beside it, a CSV file of as many rows imported as a job: rate against
          the seed's, peak memory), then tracking: ingest throughput and
          latency, kill -9 durability, the simulator's live delay, widget size
          [--leads N (default 1000000)] [--page-views N (default 10)] [--db sqlite|postgres]
          [--lists-only] [--inout-only] [--tracking-only] [--dev-build (the debug build: upper bounds)] [--smoke]
          [--keep (with --lists-only: keep the seeded database in target/bench-keep and measure
          it again on the next run of the same size instead of seeding)]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => setup::toolchain().and_then(|path| setup::build_app(&path)).and_then(|()| bench::first_load()),
        Some("run") => setup::run_cmd(&args[1..]),
        Some("dev") => setup::dev(),
        Some("test") => test::all(&args[1..]),
        Some("e2e") => test::e2e(&args[1..]),
        Some("bench") => bench::run(&args[1..]),
        Some("schemathesis") => schemathesis::run_all(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
