//! The release app split into wasm chunks, one per page (the `split` feature, `#[lazy]`).
//!
//! Trunk cannot split a wasm (trunk-rs/trunk#1022), so the release build is Trunk's (index.html,
//! CSS, the hashed names) with its wasm and JS replaced, the way cargo-leptos's `--split` does it:
//! the wasm rustc linked with relocations is split by `wasm_split_cli_support` into a main module,
//! one module per `#[lazy]` page and chunks of code pages share, plus a loader (`*_split.js`);
//! wasm-bindgen then runs on the main module only, keeping the linker's exports the chunks import;
//! wasm-opt shrinks every module and terser the JS.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{run, target_dir};

/// What rustc must add to the wasm for the splitter to follow calls and data references.
pub const RUSTFLAGS: &str = "--cfg erase_components -C link-args=--emit-relocs";

/// The wasm-opt passes for every module (those Trunk runs for `data-wasm-opt="z"`), with the
/// features rustc's wasm32 target emits: a chunk has no features section to detect them from.
const WASM_OPT: &[&str] = &[
    "-Oz",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    // Each module is its own download: no bytes for who built it or its feature list.
    "--strip-producers",
    "--strip-target-features",
];

/// Replaces the unsplit wasm and JS that Trunk wrote into `dist` with the split ones.
pub fn split_dist(dist: &Path, path: &str) -> Result<()> {
    let raw = target_dir().join("wasm32-unknown-unknown/wasm-release/leadcard.wasm");
    let input = std::fs::read(&raw).with_context(|| format!("reading {}", raw.display()))?;
    // Trunk's names: leadcard-<hash>.js and leadcard-<hash>_bg.wasm.
    let stem = std::fs::read_dir(dist)?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .find_map(|name| name.strip_suffix("_bg.wasm").map(str::to_owned))
        .context("no *_bg.wasm in dist/")?;
    let work = target_dir().join("wasm-split");
    if work.exists() {
        std::fs::remove_dir_all(&work)?;
    }
    std::fs::create_dir_all(&work)?;
    let main = work.join("main.wasm");
    let main_js = format!("./{stem}.js");
    // Named after the build, like Trunk's files, so a browser never mixes two builds.
    let loader = format!("./{stem}_split.js");
    let split = wasm_split_cli_support::transform({
        let mut opts = wasm_split_cli_support::Options::new(&input);
        opts.output_dir = &work;
        opts.main_out_path = &main;
        opts.main_module = &main_js;
        opts.link_name = &loader;
        opts
    })
    .map_err(|e| anyhow::anyhow!("wasm-split: {e:?}"))?;
    if split.split_modules.is_empty() {
        bail!("wasm-split found no #[lazy] functions: was the app built with `--features split`?");
    }
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--keep-lld-exports", "--no-demangle", "--out-name", &stem, "--out-dir"])
        .arg(&work)
        .arg(&main)
        .env("PATH", path))?;
    let mut loader_js = std::fs::read_to_string(work.join(format!("{stem}_split.js")))?;
    let mut modules = vec![(work.join(format!("{stem}_bg.wasm")), format!("{stem}_bg.wasm"))];
    for module in split.split_modules {
        // split_<page>.wasm, chunk_<n>.wasm: prefixed with the build's name, as the loader fetches them.
        let name = module.file_name().and_then(|n| n.to_str()).context("module name")?.to_owned();
        let named = format!("{stem}-{name}");
        loader_js = loader_js.replace(&format!("\"./{name}\""), &format!("\"./{named}\""));
        modules.push((module, named));
    }
    for (module, name) in &modules {
        // For size work: the modules before wasm-opt, with their function names (twiggy reads them).
        if std::env::var_os("LEADCARD_SPLIT_KEEP_NAMES").is_some() {
            let keep = work.join("named");
            std::fs::create_dir_all(&keep)?;
            std::fs::copy(module, keep.join(name))?;
        }
        run(Command::new("wasm-opt").args(WASM_OPT).arg(module).arg("-o").arg(module).env("PATH", path))?;
        std::fs::copy(module, dist.join(name))?;
    }
    std::fs::write(work.join(format!("{stem}_split.js")), loader_js)?;
    // The glue and the loader are ES modules; minified like Trunk's own JS.
    for js in [format!("{stem}.js"), format!("{stem}_split.js")] {
        run(Command::new("terser")
            .arg(work.join(&js))
            .args(["--module", "--compress", "--mangle", "--output"])
            .arg(dist.join(&js))
            .env("PATH", path))?;
    }
    Ok(())
}
