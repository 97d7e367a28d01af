//! The release app compressed once at build time, so the server sends each file as small as it
//! gets without compressing per request: `F.br` (brotli, quality 11) and `F.gz` (gzip, level 9,
//! for browsers that do not send `br`, e.g. over plain HTTP to another host) beside every text or
//! wasm file in `dist/`. The server picks one by `Accept-Encoding` (ServeDir's precompressed files).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The kinds of file worth compressing (images other than SVG are compressed already).
const COMPRESSIBLE: &[&str] = &["wasm", "pack", "js", "css", "html", "svg", "json", "txt", "map"];

/// Writes `.br` and `.gz` beside each compressible file under `dir`, on every core (brotli at
/// quality 11 is slow); returns (files, raw bytes, brotli bytes).
pub fn precompress(dir: &Path) -> Result<(usize, usize, usize)> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    // Largest first, dealt round-robin: the cores finish at about the same time.
    files.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let sizes = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cores)
            .map(|core| {
                let mine: Vec<&PathBuf> = files.iter().skip(core).step_by(cores).map(|(p, _)| p).collect();
                scope.spawn(move || mine.into_iter().map(|p| compress(p)).collect::<Result<Vec<_>>>())
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a compression thread panicked")).collect::<Result<Vec<_>>>()
    })?;
    let sizes: Vec<(usize, usize)> = sizes.into_iter().flatten().collect();
    Ok((sizes.len(), sizes.iter().map(|s| s.0).sum(), sizes.iter().map(|s| s.1).sum()))
}

fn collect(dir: &Path, files: &mut Vec<(PathBuf, u64)>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, files)?;
        } else if COMPRESSIBLE.contains(&path.extension().and_then(|e| e.to_str()).unwrap_or_default()) {
            let len = path.metadata()?.len();
            files.push((path, len));
        }
    }
    Ok(())
}

/// Writes `F.br` and `F.gz`; returns the raw and brotli sizes.
fn compress(path: &Path) -> Result<(usize, usize)> {
    let bytes = std::fs::read(path)?;
    let br = brotli(&bytes)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    let gz = gz.finish()?;
    let name = path.file_name().and_then(|n| n.to_str()).context("file name")?;
    std::fs::write(path.with_file_name(format!("{name}.br")), &br)?;
    std::fs::write(path.with_file_name(format!("{name}.gz")), &gz)?;
    Ok((bytes.len(), br.len()))
}

/// Brotli at quality 11, the size the first-load table reports.
pub fn brotli(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut compressed = Vec::new();
    brotli::BrotliCompress(
        &mut &bytes[..],
        &mut compressed,
        &brotli::enc::BrotliEncoderParams { quality: 11, ..Default::default() },
    )?;
    Ok(compressed)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn writes_brotli_and_gzip_that_decode_to_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-precompress-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("public")).unwrap();
        let text = "body { color: red }\n".repeat(200);
        std::fs::write(dir.join("app.css"), &text).unwrap();
        std::fs::write(dir.join("public/logo.svg"), "<svg></svg>").unwrap();
        std::fs::write(dir.join("photo.png"), [0u8, 1, 2]).unwrap();

        let (files, raw, br) = super::precompress(&dir).unwrap();
        assert_eq!(files, 2);
        assert!(br < raw / 10, "brotli {br} of {raw}");

        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut std::fs::File::open(dir.join("app.css.br")).unwrap(), &mut decoded).unwrap();
        assert_eq!(decoded, text.as_bytes());
        let mut gunzipped = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(dir.join("app.css.gz")).unwrap())
            .read_to_string(&mut gunzipped)
            .unwrap();
        assert_eq!(gunzipped, text);
        assert!(dir.join("public/logo.svg.br").is_file());
        assert!(!dir.join("photo.png.br").exists(), "a PNG is left as it is");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
