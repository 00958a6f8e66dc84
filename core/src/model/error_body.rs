use heapless::Vec;
use serde::{Deserialize, Serialize};

use crate::text::Text;

/// An IBM error document: `{errors: [...], status_code, trace}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody<'a> {
    /// The errors, first one most relevant (at most 4 kept).
    #[serde(borrow, default)]
    pub errors: Vec<ErrorItem<'a>, 4>,
    /// The HTTP status, repeated.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Trace id to quote to IBM support.
    #[serde(borrow, default)]
    pub trace: Option<Text<'a>>,
}

super::parse_fn!(ErrorBody, "error");

/// One entry of `errors[]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem<'a> {
    /// Code, e.g. `invalid_value`.
    #[serde(borrow)]
    pub code: Text<'a>,
    /// Message.
    #[serde(borrow, default)]
    pub message: Text<'a>,
    /// Link to documentation.
    #[serde(borrow, default)]
    pub more_info: Option<Text<'a>>,
    /// What the error is about.
    #[serde(borrow, default)]
    pub target: Option<ErrorTarget<'a>>,
}

/// `target` of an error: `{name, type, value?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorTarget<'a> {
    /// Field, header, query or path parameter name.
    #[serde(borrow)]
    pub name: Text<'a>,
    /// `field`, `query`, `header` or `path`.
    #[serde(borrow, default, rename = "type")]
    pub r#type: Option<Text<'a>>,
    /// The offending value, if echoed.
    #[serde(borrow, default)]
    pub value: Option<Text<'a>>,
}
