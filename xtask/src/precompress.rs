//! The release app compressed once at build time, so the server sends each file as small as it
//! gets without compressing per request: `F.br` (brotli, quality 11) and `F.gz` (gzip, level 9,
//! for browsers that do not send `br`, e.g. over plain HTTP to another host) beside every text or
//! wasm file in `dist/`. The server picks one by `Accept-Encoding` (ServeDir's precompressed files).

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

/// The kinds of file worth compressing (images other than SVG are compressed already).
const COMPRESSIBLE: &[&str] = &["wasm", "js", "css", "html", "svg", "json", "txt", "map"];

/// Writes `.br` and `.gz` beside each compressible file under `dir`; returns (files, raw bytes, brotli bytes).
pub fn precompress(dir: &Path) -> Result<(usize, usize, usize)> {
    let mut totals = (0, 0, 0);
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            let (n, raw, br) = precompress(&path)?;
            totals = (totals.0 + n, totals.1 + raw, totals.2 + br);
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !COMPRESSIBLE.contains(&ext) {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let br = brotli(&bytes)?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes)?;
        let gz = gz.finish()?;
        let name = path.file_name().and_then(|n| n.to_str()).context("file name")?;
        std::fs::write(path.with_file_name(format!("{name}.br")), &br)?;
        std::fs::write(path.with_file_name(format!("{name}.gz")), &gz)?;
        totals = (totals.0 + 1, totals.1 + bytes.len(), totals.2 + br.len());
    }
    Ok(totals)
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
