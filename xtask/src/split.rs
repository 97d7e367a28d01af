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
    let (bg, glue) = (work.join(format!("{stem}_bg.wasm")), work.join(format!("{stem}.js")));
    let (wasm, js) =
        shorten_imports(&std::fs::read(&bg)?, &std::fs::read_to_string(&glue)?, &format!("./{stem}_bg.js"))?;
    std::fs::write(&bg, wasm)?;
    std::fs::write(&glue, js)?;
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

/// The module name the glue's imports go by once shortened.
const GLUE_MODULE: &str = "w";

/// Renames the main module's imports from wasm-bindgen's glue, in the wasm and in the glue alike.
/// wasm-bindgen names each `__wbg_<method>_<16 hex digits>` from the module `./<stem>_bg.js`: ~320
/// of them, ~21 KB of the main module and their hashes again in the glue, bytes that hardly
/// compress. As `w` / `_<n>` every page's first load is ~7 KB (brotli) smaller. The split loader's
/// imports (`./<stem>_split.js`) keep their names: the loader exports them by those.
fn shorten_imports(wasm: &[u8], js: &str, module: &str) -> Result<(Vec<u8>, String)> {
    const IMPORT_SECTION: u8 = 2;
    let mut js = replace_once(js, &format!("\"{module}\":"), &format!("{GLUE_MODULE}:"))
        .with_context(|| format!("the glue's import object has no single key {module:?}"))?;
    let header = wasm.get(..8).context("not a wasm module")?;
    let mut out = header.to_vec();
    let mut reader = wasmparser::BinaryReader::new(&wasm[8..], 8);
    let mut renamed = 0usize;
    while !reader.eof() {
        let id = reader.read_u8()?;
        let size = reader.read_var_u32()? as usize;
        let body = reader.read_bytes(size)?;
        if id != IMPORT_SECTION {
            out.push(id);
            write_u32(&mut out, u32::try_from(size)?);
            out.extend_from_slice(body);
            continue;
        }
        let mut imports = wasmparser::BinaryReader::new(body, 0);
        let count = imports.read_var_u32()?;
        let mut section = Vec::new();
        write_u32(&mut section, count);
        for _ in 0..count {
            let (from, name) = (imports.read_string()?, imports.read_string()?);
            let start = imports.current_position();
            let _: wasmparser::TypeRef = imports.read()?;
            let ty = &body[start..imports.current_position()];
            let (from, name) = if from == module {
                let short = format!("_{}", base36(renamed));
                renamed += 1;
                js = replace_once(&js, name, &short)
                    .with_context(|| format!("the glue does not name the import {name:?} exactly once"))?;
                (GLUE_MODULE.to_owned(), short)
            } else {
                (from.to_owned(), name.to_owned())
            };
            for text in [&from, &name] {
                write_u32(&mut section, u32::try_from(text.len())?);
                section.extend_from_slice(text.as_bytes());
            }
            section.extend_from_slice(ty);
        }
        out.push(id);
        write_u32(&mut out, u32::try_from(section.len())?);
        out.extend_from_slice(&section);
    }
    if renamed == 0 {
        bail!("the main module imports nothing from {module:?}: has wasm-bindgen changed its names?");
    }
    Ok((out, js))
}

/// `text` with the one occurrence of `word` (not part of a longer identifier) replaced; `None`
/// when there is none or more than one.
fn replace_once(text: &str, word: &str, with: &str) -> Option<String> {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    let mut found = text
        .match_indices(word)
        .filter(|(at, _)| !ident(text[..*at].chars().next_back()) && !ident(text[at + word.len()..].chars().next()));
    let (at, _) = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some(format!("{}{with}{}", &text[..at], &text[at + word.len()..]))
}

fn base36(mut n: usize) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[n % 36]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.iter().rev().map(|&d| char::from(d)).collect()
}

/// Unsigned LEB128, as wasm writes sizes and counts.
fn write_u32(out: &mut Vec<u8>, mut n: u32) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    /// A module with a type, two imports from the glue and one from the split loader, then a
    /// custom section.
    fn module(imports: &[(&str, &str)]) -> Vec<u8> {
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend_from_slice(&[1, 4, 1, 0x60, 0, 0]);
        let mut section = vec![u8::try_from(imports.len()).unwrap()];
        for (from, name) in imports {
            for text in [from, name] {
                super::write_u32(&mut section, u32::try_from(text.len()).unwrap());
                section.extend_from_slice(text.as_bytes());
            }
            section.extend_from_slice(&[0, 0]);
        }
        wasm.push(2);
        super::write_u32(&mut wasm, u32::try_from(section.len()).unwrap());
        wasm.extend_from_slice(&section);
        wasm.extend_from_slice(&[0, 4, 3, b'a', b'b', b'c']);
        wasm
    }

    #[test]
    fn the_glues_imports_get_short_names_in_the_wasm_and_the_glue() {
        let glue = "./app-1_bg.js";
        let wasm = module(&[
            (glue, "__wbg_log_0123456789abcdef"),
            ("./app-1_split.js", "__wasm_split_load_a_page_1"),
            (glue, "__wbindgen_init_externref_table"),
        ]);
        let js = "const import0 = { __wbg_log_0123456789abcdef: function(a) { console.log(a); },\n\
                  __wbindgen_init_externref_table: function() {} };\n\
                  return { \"./app-1_bg.js\": import0, \"./app-1_split.js\": import1 };";
        let (short, js) = super::shorten_imports(&wasm, js, glue).unwrap();
        assert_eq!(short, module(&[("w", "_0"), ("./app-1_split.js", "__wasm_split_load_a_page_1"), ("w", "_1")]));
        assert_eq!(
            js,
            "const import0 = { _0: function(a) { console.log(a); },\n_1: function() {} };\n\
             return { w: import0, \"./app-1_split.js\": import1 };"
        );
    }

    #[test]
    fn a_glue_that_does_not_name_an_import_exactly_once_is_refused() {
        let glue = "./app-1_bg.js";
        let wasm = module(&[(glue, "__wbg_log_0123456789abcdef")]);
        let twice = "{ __wbg_log_0123456789abcdef: f, x: __wbg_log_0123456789abcdef }; ({ \"./app-1_bg.js\": i })";
        assert!(super::shorten_imports(&wasm, twice, glue).is_err());
        let longer = "{ __wbg_log_0123456789abcdef_2: f }; ({ \"./app-1_bg.js\": i })";
        assert!(super::shorten_imports(&wasm, longer, glue).is_err());
        assert!(super::shorten_imports(&wasm, "{ __wbg_log_0123456789abcdef: f }", glue).is_err());
    }

    #[test]
    fn base36_counts() {
        assert_eq!(["0", "z", "10", "9x"], [0, 35, 36, 357].map(super::base36));
    }
}
