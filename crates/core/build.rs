//! Generates the catalogue's keys from `locales/en.json` (the English catalogue is the list of keys):
//! `locale::k::<KEY>` constants carrying their index and English text, so a key that is not in the
//! English catalogue does not compile, and English needs no table at run time. Russian becomes a
//! table in the same order (`ru.rs` for the server, `ru.json` served to the page, led by the
//! catalogue's hash, and fetched only when the page shows Russian). A key missing from ru.json falls back to English here;
//! the catalogue test (`locale::tests`) fails on it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// A plural's forms in the fixed order the tables keep them.
const CATEGORIES: [&str; 4] = ["one", "few", "many", "other"];

fn read(path: &Path) -> BTreeMap<String, Value> {
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A plural's forms joined by U+001F in the order of `CATEGORIES` (a missing one empty).
fn plural_row(forms: &serde_json::Map<String, Value>) -> String {
    CATEGORIES.map(|c| forms.get(c).and_then(Value::as_str).unwrap_or_default()).join("\u{1f}")
}

fn const_name(key: &str) -> String {
    key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect()
}

/// FNV-1a, 64 bits: names the catalogue's build after its content.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../locales");
    let en = read(&root.join("en.json"));
    let ru = read(&root.join("ru.json"));
    let mut keys = String::from(
        "/// The catalogue's keys (generated from locales/en.json by build.rs).\npub mod k {\n    use super::{Plural, Text};\n",
    );
    let mut ru_rows = Vec::new();
    let mut entries = Vec::new();
    for (index, (key, value)) in en.iter().enumerate() {
        let name = const_name(key);
        let kind = if value.is_object() { "Plural" } else { "Text" };
        entries.push(format!("    ({key:?}, Entry::{kind}(k::{name})),"));
        match value {
            Value::String(text) => {
                writeln!(keys, "    pub const {name}: Text = Text::new({index}, {text:?});").unwrap();
                ru_rows.push(ru.get(key).and_then(Value::as_str).unwrap_or(text).to_owned());
            }
            Value::Object(forms) => {
                let form =
                    |c: &str| forms.get(c).and_then(Value::as_str).unwrap_or_else(|| panic!("{key}: no {c:?} form"));
                writeln!(
                    keys,
                    "    pub const {name}: Plural = Plural::new({index}, {:?}, {:?});",
                    form("one"),
                    form("other")
                )
                .unwrap();
                ru_rows.push(match ru.get(key) {
                    Some(Value::Object(forms)) => plural_row(forms),
                    _ => plural_row(forms),
                });
            }
            _ => panic!("{key}: a catalogue entry is a string or an object of plural forms"),
        }
    }
    keys.push_str("}\n");
    let hash = format!("{:016x}", fnv(serde_json::to_string(&ru_rows).unwrap().as_bytes()));
    writeln!(keys, "/// Names the catalogue's build: the served Russian table starts with it, and a page of").unwrap();
    writeln!(keys, "/// another build ignores it.").unwrap();
    writeln!(keys, "pub const CATALOGUE_HASH: &str = \"{hash}\";").unwrap();
    let served =
        serde_json::to_string(&std::iter::once(hash.clone()).chain(ru_rows.iter().cloned()).collect::<Vec<_>>())
            .unwrap();
    writeln!(keys, "/// Every text by its key, in the keys' order (sorted): stored messages name their texts.")
        .unwrap();
    writeln!(keys, "static ENTRIES: [(&str, Entry); {}] = [", entries.len()).unwrap();
    for entry in &entries {
        writeln!(keys, "{entry}").unwrap();
    }
    keys.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).to_owned();
    std::fs::write(out.join("keys.rs"), keys).unwrap();
    let mut table = format!("static RU: [&str; {}] = [\n", ru_rows.len());
    for row in &ru_rows {
        writeln!(table, "    {row:?},").unwrap();
    }
    table.push_str("];\n");
    std::fs::write(out.join("ru.rs"), table).unwrap();
    std::fs::write(out.join("ru.json"), served).unwrap();
}
