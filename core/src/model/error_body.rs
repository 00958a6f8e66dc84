use super::FirstOf;

use crate::text::Text;

/// An IBM error document: `{errors: [...], status_code, trace}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorBody<'a> {
    /// The errors, first one most relevant (the first 4 kept, any others dropped).
    pub errors: FirstOf<ErrorItem<'a>, 4>,
    /// The HTTP status, repeated.
    pub status_code: Option<u16>,
    /// Trace id to quote to IBM support.
    pub trace: Option<Text<'a>>,
}

super::decode::json_fields!(ErrorBody<'a> { errors, status_code, trace });

super::parse_fn!(ErrorBody, "error");

/// One entry of `errors[]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorItem<'a> {
    /// Code, e.g. `invalid_value`.
    pub code: Text<'a>,
    /// Message (`null` or absent: none).
    pub message: Option<Text<'a>>,
    /// Link to documentation.
    pub more_info: Option<Text<'a>>,
    /// What the error is about.
    pub target: Option<ErrorTarget<'a>>,
}

super::decode::json_fields!(ErrorItem<'a> { #[required] code, message, more_info, target });

/// `target` of an error: `{name, type, value?}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ErrorTarget<'a> {
    /// Field, header, query or path parameter name.
    pub name: Text<'a>,
    /// `field`, `query`, `header` or `path`.
    pub r#type: Option<Text<'a>>,
    /// The offending value, if echoed.
    pub value: Option<Text<'a>>,
}

super::decode::json_fields!(ErrorTarget<'a> { #[required] name, r#type as "type", value });

#[cfg(test)]
mod tests {
    use crate::error::ApiError;

    #[test]
    fn errors_past_the_fourth_are_only_checked_to_be_json() {
        let body = br#"{"errors":[{"code":"a","message":"m"},{"code":"b"},{"code":"c"},{"code":"d"},{"message":"no code"},[1]],"trace":"t"}"#;
        let api = ApiError::from_body(400, body);
        assert_eq!((api.code.as_str(), api.message.as_str()), ("a", "m"));
        assert_eq!(api.trace.as_str(), "t");
        // Not JSON past the fourth: the body is no error document.
        let api = ApiError::from_body(
            400,
            br#"{"errors":[{"code":"a"},{"code":"b"},{"code":"c"},{"code":"d"},{x}],"trace":"t"}"#,
        );
        assert_eq!((api.code.as_str(), api.trace.as_str()), ("", ""));
    }
}
