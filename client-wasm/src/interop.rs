//! Conversions between JavaScript strings and sync-core types.

use crate::error::ClientError;
use wasm_bindgen::JsValue;

/// Parses an id (a UUID string).
pub fn parse_id<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, JsValue> {
    s.parse()
        .map_err(|_| ClientError::new("bad_id", format!("{what} must be a UUID")).into())
}

/// Parses JSON into a sync-core type.
pub fn from_json<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T, JsValue> {
    serde_json::from_str(s).map_err(|e| ClientError::new("bad_json", format!("{what}: {e}")).into())
}

/// Serialises to JSON.
pub fn to_json<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, JsValue> {
    serde_json::to_string(v).map_err(|e| ClientError::new("internal", e).into())
}
