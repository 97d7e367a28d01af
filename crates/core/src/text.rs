//! The one rule for hostile text at the API's edge, the same on every database: no text may hold
//! NUL (U+0000), which PostgreSQL's `text` cannot store. A request carrying one is refused whole
//! (422 `invalid`, naming the field) before anything reads it, never stored cut or altered.
//! Other control characters are the business of each field's own rule: refused in names, keys,
//! tags, ids and URLs; kept in free text (message bodies, notes, property values).

use serde_json::Value;

use crate::locale::{Message, k};

/// What the field's error says, in English ([`nul_message`] for the reader's language).
pub const NUL_MESSAGE: &str = k::CHECK_TEXT_NUL.en;

/// What the field's error says: "cannot contain the NUL character (U+0000)".
pub fn nul_message() -> Message {
    k::CHECK_TEXT_NUL.into()
}

/// Whether `text` holds a NUL.
pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

/// The first place in `value` where a string or an object key holds a NUL, in the API's field
/// notation (`properties.$email`, `events[3].name`; a key names itself with the NUL as `\0`);
/// `""` for the value itself. `None` when there is none.
pub fn nul_in_json(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => has_nul(s).then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in_json(item).map(|inner| join(&format!("[{i}]"), &inner))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            if has_nul(key) {
                return Some(key.replace('\0', "\\0"));
            }
            nul_in_json(item).map(|inner| join(key, &inner))
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

/// `outer` then `inner` (a key, an `[i]` or nothing), as serde_path_to_error writes paths.
fn join(outer: &str, inner: &str) -> String {
    if inner.is_empty() {
        outer.to_owned()
    } else if inner.starts_with('[') {
        format!("{outer}{inner}")
    } else {
        format!("{outer}.{inner}")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_found_and_placed() {
        assert_eq!(nul_in_json(&json!({"email": "a\u{0}b@example.com"})).as_deref(), Some("email"));
        let body = json!({"events": [{"name": "ok"}, {"name": "x", "properties": {"$email": "a\u{0}"}}]});
        assert_eq!(nul_in_json(&body).as_deref(), Some("events[1].properties.$email"));
        assert_eq!(nul_in_json(&json!({"a": [["x", "\u{0}"]]})).as_deref(), Some("a[0][1]"));
        assert_eq!(nul_in_json(&json!({"p": {"k\u{0}": 1}})).as_deref(), Some("p.k\\0"));
        assert_eq!(nul_in_json(&json!("\u{0}")).as_deref(), Some(""));
    }

    #[test]
    fn other_text_passes() {
        let body = json!({"body": "tab\there\nline \u{1} \u{7f} 😀", "n": 1, "list": [null, true]});
        assert_eq!(nul_in_json(&body), None);
    }
}
