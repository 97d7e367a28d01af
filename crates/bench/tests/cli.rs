//! The binary `cargo xtask bench` drives: its commands exist and `seed` fills a real database.
//! (Being an integration test also makes `cargo test --no-run` build the executable, which the
//! bench smoke stage then runs.)

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_leadcard-bench");

#[test]
fn help_lists_every_command_xtask_runs() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["seed", "core", "ingest", "ingest-check", "simulate", "inbox"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(command)), "`{command}` missing from:\n{help}");
    }
}

#[test]
fn seed_inserts_the_leads_it_reports() {
    let dir = std::env::temp_dir().join(format!("leadcard-bench-cli-{}", std::process::id()));
    let url = format!("sqlite://{}", dir.join("seed.db").display());
    let out = Command::new(BIN)
        .args(["seed", "--leads", "25", "--properties", "5", "--page-views", "2", "--database-url", &url])
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = stdout.lines().rev().find_map(|l| serde_json::from_str(l).ok()).unwrap();
    assert_eq!(report["leads"], 25, "{stdout}");
    assert!(report["leads_per_sec"].as_f64().unwrap() > 0.0);

    let out = Command::new(BIN).args(["seed", "--properties", "31", "--database-url", &url]).output().unwrap();
    assert!(!out.status.success(), "more than 30 properties is refused");
}
