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
    let loader_js = pack_dist(dist, &stem, &loader_js)?;
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

/// The split function of lib.rs that is the console's frame: every page but those outside it loads
/// inside it, after it.
pub const FRAME: &str = "shell_page";
/// The split functions of lib.rs shown without the frame.
pub const OUTSIDE_FRAME: &[&str] = &["login_page", "set_password_page"];

/// One file holding the modules a route fetches on a first visit, compressed as one: brotli finds
/// what ~100 small modules share (their types, the same calls), which it cannot across separate
/// files (a signed-in page: ~60-90 KB less). A page inside the frame packs only what the frame's
/// pack does not hold.
#[derive(Debug, PartialEq, Eq)]
pub struct Pack {
    pub route: String,
    /// `<stem>-pack_<route>.pack`; not written for a route of fewer than two modules.
    pub file: String,
    /// The modules in the pack's order.
    pub modules: Vec<String>,
    /// The frame, for a page inside it: its pack is claimed first.
    pub parent: Option<String>,
}

/// The packs of the split loader's routes (see [`split_routes`]).
pub fn packs(stem: &str, routes: &[(String, Vec<String>)]) -> Vec<Pack> {
    let frame = routes.iter().find(|(r, _)| r == FRAME).map(|(_, f)| f);
    routes
        .iter()
        .map(|(route, files)| {
            let frame = frame.filter(|_| route != FRAME && !OUTSIDE_FRAME.contains(&route.as_str()));
            let inside = frame.is_some();
            Pack {
                route: route.clone(),
                file: format!("{stem}-pack_{route}.pack"),
                modules: files.iter().filter(|f| frame.is_none_or(|frame| !frame.contains(f))).cloned().collect(),
                parent: inside.then(|| FRAME.to_owned()),
            }
        })
        .collect()
}

/// Writes each route's pack into `dist` and returns the loader fetching through them: each route's
/// load first claims its pack (and the frame's), which serves every module of it not fetched yet,
/// unless most of its bytes are (then the missing modules come one by one, as before).
fn pack_dist(dist: &Path, stem: &str, loader: &str) -> Result<String> {
    let packs = packs(stem, &split_routes(loader));
    let mut table = serde_json::Map::new();
    for pack in &packs {
        if pack.modules.len() < 2 {
            continue;
        }
        let mut bytes = Vec::new();
        let mut modules = Vec::new();
        for module in &pack.modules {
            let module_bytes = std::fs::read(dist.join(module)).with_context(|| format!("reading {module}"))?;
            modules.push(serde_json::json!([module, module_bytes.len()]));
            bytes.extend_from_slice(&module_bytes);
        }
        std::fs::write(dist.join(&pack.file), bytes)?;
        table.insert(pack.route.clone(), serde_json::json!([pack.file, modules, pack.parent]));
    }
    let fetches = loader.matches("fetch(new URL(").count();
    let mut out = loader.replace("fetch(new URL(", "fetchModule(new URL(");
    let mut wrapped = 0;
    out = out
        .lines()
        .map(|line| match line.strip_prefix("export const __wasm_split_load_") {
            Some(rest) => {
                let (name, _) = rest.split_once(" = ").unwrap_or((rest, ""));
                let route = name.rsplit_once('_').map_or(name, |(r, _)| r);
                wrapped += 1;
                line.replacen("= wrapAsyncCb(", &format!("= packed({route:?}, "), 1)
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    if fetches == 0 || wrapped == 0 || out.matches("= packed(").count() != wrapped {
        bail!("the split loader is not as expected ({fetches} fetches, {wrapped} routes): has wasm_split changed?");
    }
    out.push_str(&format!("\nconst PACKS = {};\n{PACK_RUNTIME}", serde_json::Value::Object(table)));
    Ok(out)
}

/// The loader's side of the packs (appended to it; see [`pack_dist`]).
const PACK_RUNTIME: &str = r#"// Each module's response, by URL, once asked for (a failed fetch is forgotten: the next load tries again).
const requested = new Map();
function remember(href, start) {
    let response = requested.get(href);
    if (response === undefined) {
        response = start();
        requested.set(href, response);
        response.catch(() => { if (requested.get(href) === response) requested.delete(href); });
    }
    return response;
}
function fetchModule(url) {
    return remember(url.href, () => fetch(url));
}
// A route's pack serves the modules not asked for yet, unless most of its bytes were.
function claim(pack) {
    if (pack === undefined) return;
    const [file, modules, parent] = pack;
    if (parent) claim(PACKS[parent]);
    const urls = modules.map(([name, size]) => [new URL("./" + name, import.meta.url).href, size]);
    const total = urls.reduce((sum, [, size]) => sum + size, 0);
    const missing = urls.reduce((sum, [href, size]) => sum + (requested.has(href) ? 0 : size), 0);
    if (missing * 2 <= total) return;
    const body = fetch(new URL("./" + file, import.meta.url))
        .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(file + ": " + r.status))));
    let offset = 0;
    for (const [href, size] of urls) {
        const start = offset;
        offset += size;
        remember(href, () => body.then((b) => new Response(b.slice(start, start + size), { headers: { "Content-Type": "application/wasm" } })));
    }
}
function packed(route, load) {
    return wrapAsyncCb(() => {
        claim(PACKS[route]);
        return load();
    });
}
"#;

/// The split loader's routes and the wasm files each fetches: `const __chunk_N = makeLoad(() =>
/// { ...fetch(new URL("./F.wasm"...` for the shared chunks, and `export const
/// __wasm_split_load_<route>_<hash> = ...` with its own file and its chunks' names `, [__chunk_N,
/// ...]`.
pub fn split_routes(loader: &str) -> Vec<(String, Vec<String>)> {
    let mut chunks = std::collections::HashMap::new();
    let mut routes = Vec::new();
    let mut current: Option<(String, bool)> = None;
    let mut file = String::new();
    for line in loader.lines() {
        if let Some(rest) = line.strip_prefix("const ") {
            file.clear();
            current = rest.split_once(" = makeLoad").map(|(n, _)| (n.to_owned(), false));
        } else if let Some(rest) = line.strip_prefix("export const __wasm_split_load_") {
            let name = rest.split_once(" = ").map_or(rest, |(n, _)| n);
            // <route>_<hash>: the route is the function's name (login_page, ...).
            let route = name.rsplit_once('_').map_or(name, |(r, _)| r);
            file.clear();
            current = Some((route.to_owned(), true));
        } else if let Some((_, rest)) = line.split_once("new URL(\"./") {
            file = rest.split('"').next().unwrap_or_default().to_owned();
        }
        // The dependencies close the entry: on a line of their own, or on the export's line for
        // a module with nothing in it.
        let Some((_, deps)) = line.split_once(", [") else { continue };
        let Some((name, is_route)) = current.take() else { continue };
        let deps = deps.split(']').next().unwrap_or_default().split(", ").filter(|d| !d.is_empty());
        if is_route {
            let mut files: Vec<String> = (!file.is_empty()).then(|| file.clone()).into_iter().collect();
            files.extend(deps.filter_map(|dep| chunks.get(dep).cloned()));
            routes.push((name, files));
        } else {
            chunks.insert(name, file.clone());
        }
    }
    routes.sort();
    routes
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
    fn split_routes_reads_the_loader() {
        let loader = r#"/* a_page_1, b_page_1 */
const __chunk_3 = makeLoad(() => {
    const src = fetch(new URL("./app-chunk_3.wasm", import.meta.url));
}
, []);
export const __wasm_split_load_b_page_1 = wrapAsyncCb(makeLoad(() => async (_imp) => ({}), [__chunk_3]));
export const __wasm_split_load_a_page_1 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./app-split_a_page_1.wasm", import.meta.url));
}
, [__chunk_3]));
"#;
        let routes = super::split_routes(loader);
        assert_eq!(
            routes,
            vec![
                ("a_page".to_owned(), vec!["app-split_a_page_1.wasm".to_owned(), "app-chunk_3.wasm".to_owned()]),
                ("b_page".to_owned(), vec!["app-chunk_3.wasm".to_owned()]),
            ]
        );
    }

    #[test]
    fn a_page_inside_the_frame_packs_what_the_frame_does_not_hold() {
        let routes = [
            ("leads_page", vec!["a-split_leads.wasm", "a-chunk_1.wasm", "a-chunk_2.wasm"]),
            ("login_page", vec!["a-split_login.wasm", "a-chunk_1.wasm"]),
            ("shell_page", vec!["a-split_shell.wasm", "a-chunk_2.wasm"]),
        ]
        .map(|(r, f)| (r.to_owned(), f.into_iter().map(str::to_owned).collect::<Vec<_>>()));
        let packs = super::packs("a", &routes);
        let of = |route: &str| packs.iter().find(|p| p.route == route).unwrap();
        assert_eq!(of("leads_page").modules, ["a-split_leads.wasm", "a-chunk_1.wasm"]);
        assert_eq!(of("leads_page").parent.as_deref(), Some("shell_page"));
        assert_eq!(of("leads_page").file, "a-pack_leads_page.pack");
        assert_eq!(of("login_page").modules, ["a-split_login.wasm", "a-chunk_1.wasm"]);
        assert_eq!(of("login_page").parent, None);
        assert_eq!(of("shell_page").modules, ["a-split_shell.wasm", "a-chunk_2.wasm"]);
        assert_eq!(of("shell_page").parent, None);
    }

    #[test]
    fn the_loader_claims_each_routes_pack_and_fetches_through_it() {
        let dist = std::env::temp_dir().join(format!("xtask-pack-{}", std::process::id()));
        std::fs::create_dir_all(&dist).unwrap();
        for (name, bytes) in [("a-split_x_page_1.wasm", &b"one"[..]), ("a-chunk_3.wasm", b"three")] {
            std::fs::write(dist.join(name), bytes).unwrap();
        }
        let loader = r#"const __chunk_3 = makeLoad(() => {
    const src = fetch(new URL("./a-chunk_3.wasm", import.meta.url));
}
, []);
export const __wasm_split_load_x_page_1 = wrapAsyncCb(makeLoad(() => {
    const src = fetch(new URL("./a-split_x_page_1.wasm", import.meta.url));
}
, [__chunk_3]));"#;
        let out = super::pack_dist(&dist, "a", loader).unwrap();
        assert_eq!(std::fs::read(dist.join("a-pack_x_page.pack")).unwrap(), b"onethree");
        assert!(out.contains(r#"export const __wasm_split_load_x_page_1 = packed("x_page", makeLoad(() => {"#));
        assert_eq!(out.matches("fetchModule(new URL(").count(), 2);
        assert!(!out.contains(" fetch(new URL(\"./a-"));
        assert!(out.contains(r#"const PACKS = {"x_page":["a-pack_x_page.pack",[["a-split_x_page_1.wasm",3],["a-chunk_3.wasm",5]],null]};"#));
        // The rewritten loader still reads as the routes it loads (the bench measures by it).
        assert_eq!(super::split_routes(&out), super::split_routes(loader));
        assert!(super::pack_dist(&dist, "a", "export const x = 1;").is_err());
        std::fs::remove_dir_all(&dist).unwrap();
    }

    #[test]
    fn base36_counts() {
        assert_eq!(["0", "z", "10", "9x"], [0, 35, 36, 357].map(super::base36));
    }
}
