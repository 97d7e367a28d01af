//! Installs what a fresh machine lacks (wasm target, trunk, wasm-bindgen-cli, wasm-opt, Chromium)
//! and builds and starts leadcard for `run` and `dev`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{self, cargo, output, root, run};
use crate::{precompress, split};

/// Trunk 0.22 needs a newer rustc than this machine has (TOOLCHAIN.md).
const TRUNK_VERSION: &str = "0.21.14";
/// wasm-opt from npm; Debian's binaryen (108) produces a wasm that fails to load.
const BINARYEN_VERSION: &str = "132";
/// The JS minifier for the split build's glue and loader (Trunk minifies only the JS it writes).
const TERSER_VERSION: &str = "5.51.4";

pub const DEMO_EMAIL: &str = "demo@leadcard.test";
pub const DEMO_PASSWORD: &str = "leadcard-demo";

/// Everything `trunk build` needs, installed when missing. Returns the PATH to run trunk with.
pub fn toolchain() -> Result<String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !installed.lines().any(|t| t.trim() == "wasm32-unknown-unknown") {
        step("adding the wasm32-unknown-unknown target");
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    if !version_of("trunk", "--version").is_some_and(|v| v.contains(TRUNK_VERSION)) {
        step(&format!("installing trunk {TRUNK_VERSION} (about 9 minutes on 2 cores, once)"));
        run(cargo().args(["install", "trunk", "--version", &format!("={TRUNK_VERSION}"), "--locked"]))?;
    }
    let bindgen = wasm_bindgen_version()?;
    let current = version_of("wasm-bindgen", "--version");
    if current.is_none_or(|v| v.split_whitespace().nth(1) != Some(bindgen.as_str())) {
        step(&format!("installing wasm-bindgen-cli {bindgen} (about 3 minutes, once)"));
        // No --locked: the registry mirror lacks one locked dependency (TOOLCHAIN.md).
        run(cargo().args(["install", "wasm-bindgen-cli", "--version", &format!("={bindgen}")]))?;
    }
    let tools = root().join("target/tools");
    let wasm_opt = tools.join("node_modules/.bin/wasm-opt");
    let have = output(Command::new(&wasm_opt).arg("--version"))
        .is_some_and(|v| v.contains(&format!("version {BINARYEN_VERSION}")))
        && output(Command::new(tools.join("node_modules/.bin/terser")).arg("--version"))
            .is_some_and(|v| v.trim() == format!("terser {TERSER_VERSION}"));
    if !have {
        step(&format!("installing wasm-opt and terser (npm binaryen@{BINARYEN_VERSION}, terser@{TERSER_VERSION})"));
        std::fs::create_dir_all(&tools)?;
        run(Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .arg(format!("binaryen@{BINARYEN_VERSION}"))
            .arg(format!("terser@{TERSER_VERSION}")))?;
    }
    let path = std::env::var("PATH").unwrap_or_default();
    Ok(format!("{}:{}", tools.join("node_modules/.bin").display(), path))
}

/// Chromium and chromedriver for the browser tests: from apt when missing and root.
pub fn chromium() -> Result<()> {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    if !is_root() {
        bail!("Chromium is missing: install it with `sudo apt-get install -y chromium chromium-driver`");
    }
    step("installing chromium and chromium-driver from apt");
    apt_install(&["chromium", "chromium-driver"])
}

pub fn apt_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|u| u.trim() == "0")
}

/// The wasm-bindgen version in Cargo.lock: the CLI must match it exactly.
fn wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasm-bindgen\""
            && let Some(v) = lines.next().and_then(|l| l.strip_prefix("version = \""))
        {
            return Ok(v.trim_end_matches('"').to_owned());
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn version_of(tool: &str, flag: &str) -> Option<String> {
    output(Command::new(tool).arg(flag))
}

pub fn step(what: &str) {
    eprintln!("xtask: {what}");
}

/// The release app in dist/: `trunk build --release` with each page in its own wasm chunk
/// (split.rs). The integrity hashes Trunk writes would not match the split files, so it writes none.
/// `--minify` shrinks the CSS (Trunk's JS minifier gives up on wasm-bindgen's module, which split.rs
/// replaces anyway).
pub fn build_app(path: &str) -> Result<()> {
    // Trunk runs cargo offline (Trunk.toml), so fetch the crates first.
    run(cargo().arg("fetch"))?;
    let rustflags = match std::env::var("RUSTFLAGS") {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} {}", split::RUSTFLAGS),
        _ => split::RUSTFLAGS.to_owned(),
    };
    run(Command::new("trunk")
        .args(["build", "--release", "--features", "split", "--no-sri", "--minify"])
        .current_dir(root())
        .env("PATH", path)
        .env("RUSTFLAGS", rustflags)
        .env("TRUNK_SKIP_VERSION_CHECK", "true"))?;
    step("splitting the wasm into a chunk per page");
    split::split_dist(&root().join("dist"), path)?;
    step("compressing dist/ (brotli and gzip beside each file)");
    let (files, raw, br) = precompress::precompress(&root().join("dist"))?;
    eprintln!("xtask: {files} files, {:.1} KB -> {:.1} KB brotli", raw as f64 / 1000.0, br as f64 / 1000.0);
    Ok(())
}

/// Builds the server and returns its binary.
///
/// The debug build is the tests' own: `cargo test --no-run` over the workspace leaves
/// `leadcard-server` and `leadcard-bench` in `target/debug`, built with the features the test
/// build resolves. A `cargo build -p leadcard-server` resolves another feature set (no
/// dev-dependencies, one package) and compiles sqlx and the server again: minutes on a clean
/// clone, once for the schemathesis stage and once more for the bench smoke run.
pub fn build_server(release: bool) -> Result<PathBuf> {
    let mut cmd = cargo();
    if release {
        cmd.args(["build", "--release", "-p", "leadcard-server"]);
    } else {
        cmd.args(native_debug_build());
    }
    run(&mut cmd)?;
    Ok(util::target_dir().join(if release { "release" } else { "debug" }).join("leadcard-server"))
}

/// The one debug build of the native crates (tests, server, bench): see [`build_server`].
pub fn native_debug_build() -> [&'static str; 5] {
    ["test", "--workspace", "--exclude", "leadcard", "--no-run"]
}

pub fn run_cmd(args: &[String]) -> Result<()> {
    let path = toolchain()?;
    step("building the app (release)");
    build_app(&path)?;
    step("building the server (release)");
    let server = build_server(true)?;
    let mut cmd = Command::new(server);
    cmd.current_dir(root()).args(["serve", "--seed-demo"]).args(args);
    eprintln!(
        "\nxtask: leadcard starts on http://127.0.0.1:8080 (unless --bind says otherwise)\n       sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}\n       demo shop with the widget: http://127.0.0.1:8080/demo/ (open it in another tab, watch Visitors)\n"
    );
    run(&mut cmd)
}

pub fn dev() -> Result<()> {
    let path = toolchain()?;
    let server = build_server(false)?;
    let mut backend = util::Guard(Command::new(server).current_dir(root()).args(["serve", "--seed-demo"]).spawn()?);
    eprintln!(
        "\nxtask: the app is at http://127.0.0.1:8081 (trunk serve; /api goes to the server on :8080)\n       sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}\n"
    );
    run(cargo().arg("fetch"))?;
    let result = run(Command::new("trunk")
        .arg("serve")
        .current_dir(root())
        .env("PATH", path)
        .env("TRUNK_SKIP_VERSION_CHECK", "true"));
    let _ = backend.0.kill();
    result
}
