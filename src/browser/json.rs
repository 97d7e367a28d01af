//! JSON through the browser's own `JSON.parse` / `JSON.stringify`, so the wasm carries no JSON
//! parser or printer of its own (and numbers read exactly as the browser reads them).

use leadcard_core::filter::{Filter, FilterError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

/// Compact JSON text of `value`, as `serde_json::to_string` writes it. Maps become plain objects
/// (serde-wasm-bindgen's default, an ES `Map`, would stringify as `{}`), and 64-bit numbers numbers.
pub fn to_string(value: &impl Serialize) -> Option<String> {
    let value = value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).ok()?;
    js_sys::JSON::stringify(&value).ok().map(String::from)
}

/// A value parsed by the browser, read as `T`; the error says why, for the operator.
pub fn from_value<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// JSON text read as `T` by the browser's parser; the error says why.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(|e| js_error_message(&e))?;
    from_value(value)
}

/// The query form of a filter (`filter=` in page and API URLs), as [`Filter::to_query`] writes it.
pub fn filter_to_query(filter: &Filter) -> String {
    to_string(filter).unwrap_or_default()
}

/// Reads the query form of a filter, as [`Filter::from_query`] does.
pub fn filter_from_query(raw: &str) -> Result<Filter, FilterError> {
    from_str(raw).map_err(FilterError::malformed)
}

fn js_error_message(error: &JsValue) -> String {
    error.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).unwrap_or_default()
}
