//! The one error type of the bindings. It reaches JavaScript as an `Error`
//! whose `code` property is stable and whose message is for people.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(
    inline_js = "export function coded_error(message, code) { const e = new Error(message); e.code = code; return e; }"
)]
extern "C" {
    fn coded_error(message: &str, code: &str) -> JsValue;
}

/// A binding error: a stable code and a human message.
#[derive(Debug)]
pub struct ClientError {
    code: &'static str,
    message: String,
}

impl ClientError {
    /// Any code and message.
    pub fn new(code: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            code,
            message: message.to_string(),
        }
    }
}

impl From<sync_core::OpError> for ClientError {
    fn from(e: sync_core::OpError) -> Self {
        let code = match e.reason {
            sync_core::Reason::UnknownVisit => "unknown_visit",
            _ => "invalid_edit",
        };
        Self::new(code, e)
    }
}

impl From<ClientError> for JsValue {
    fn from(e: ClientError) -> Self {
        coded_error(&e.message, e.code)
    }
}
