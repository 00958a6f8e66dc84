//! Merging a list's pages into one document, as they arrive.
//!
//! The rule (the command line's `get --all`, every binding's `get_all`): the first
//! page's members in order, except `next`; each member that is a list holds the
//! items of that member on every page, in page order. Items and other values are
//! copied byte for byte (no re-encoding).
//!
//! [`PageMerger`] writes what it can as each page arrives, so memory stays bounded
//! by one page plus what must wait for the end (members after the first list, and
//! any second list's items), never by the number of pages.

use alloc::vec::Vec;
use core::fmt;

use vpc_imds_core::text::Text;

use crate::json::{elements, members, Member};

/// A page was not a JSON object (the core has already checked each page parses,
/// so this means a page that is valid JSON but not the shape of a collection).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MergeError;

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a page is not a JSON object")
    }
}

impl core::error::Error for MergeError {}

impl From<MergeError> for vpc_imds_core::error::Error {
    /// A page that cannot be merged is a `bad_response`, in every host's words alike.
    fn from(_: MergeError) -> Self {
        use vpc_imds_core::error::{Cause, ErrorKind};
        let why = Cause::Protocol("a page of the list is not a JSON object");
        vpc_imds_core::error::Error::new(ErrorKind::BadResponse, why)
    }
}

impl From<crate::json::Malformed> for MergeError {
    fn from(_: crate::json::Malformed) -> Self {
        MergeError
    }
}

/// A member of the first page held back until the end.
#[derive(Debug)]
struct Held {
    /// The key with its quotes.
    key: Vec<u8>,
    value: HeldValue,
}

#[derive(Debug)]
enum HeldValue {
    /// Copied as is.
    Raw(Vec<u8>),
    /// A list whose items from every page are collected: `a,b,c`.
    Items(Vec<u8>),
}

/// Merges pages one by one into an output the caller drains (see the module docs).
///
/// ```
/// use vpc_imds_driver::PageMerger;
/// let mut out = Vec::new();
/// let mut merger = PageMerger::new();
/// merger.push(br#"{"keys":[1,2],"limit":2,"next":{"href":"x"}}"#, &mut out).unwrap();
/// merger.push(br#"{"keys":[3],"limit":2}"#, &mut out).unwrap();
/// merger.finish(&mut out);
/// assert_eq!(out, br#"{"keys":[1,2,3],"limit":2}"#);
/// ```
#[derive(Debug, Default)]
pub struct PageMerger {
    pages: u32,
    /// The streamed list's key, with quotes; `None` when the first page has no list.
    streamed: Option<Vec<u8>>,
    /// Whether an item of the streamed list has been written.
    wrote_item: bool,
    /// Members of the first page after the streamed list.
    held: Vec<Held>,
}

impl PageMerger {
    /// A merger that has seen no page.
    pub fn new() -> Self {
        PageMerger::default()
    }

    /// How many pages were pushed.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// Adds the next page, appending to `out` what can be written now.
    pub fn push(&mut self, page: &[u8], out: &mut Vec<u8>) -> Result<(), MergeError> {
        let members = members(page)?;
        self.pages += 1;
        if self.pages == 1 {
            return self.first(&members, out);
        }
        for (key, value) in members {
            if self.streamed.as_deref().is_some_and(|s| same_name(s, key)) {
                for item in elements(value)? {
                    if self.wrote_item {
                        out.push(b',');
                    }
                    self.wrote_item = true;
                    out.extend_from_slice(item);
                }
            } else if let Some(held) = self.held.iter_mut().find(|h| same_name(&h.key, key)) {
                if let HeldValue::Items(items) = &mut held.value {
                    for item in elements(value)? {
                        if !items.is_empty() {
                            items.push(b',');
                        }
                        items.extend_from_slice(item);
                    }
                }
            }
        }
        Ok(())
    }

    fn first(&mut self, members: &[Member<'_>], out: &mut Vec<u8>) -> Result<(), MergeError> {
        out.push(b'{');
        let mut comma = false;
        for &(key, value) in members {
            if same_name(key, b"\"next\"") {
                continue;
            }
            let list = value.starts_with(b"[");
            if self.streamed.is_some() {
                let value = if list {
                    HeldValue::Items(join(&elements(value)?))
                } else {
                    HeldValue::Raw(value.to_vec())
                };
                self.held.push(Held {
                    key: key.to_vec(),
                    value,
                });
                continue;
            }
            if comma {
                out.push(b',');
            }
            comma = true;
            out.extend_from_slice(key);
            out.push(b':');
            if !list {
                out.extend_from_slice(value);
                continue;
            }
            out.push(b'[');
            let items = elements(value)?;
            self.wrote_item = !items.is_empty();
            out.extend_from_slice(&join(&items));
            self.streamed = Some(key.to_vec());
        }
        if self.streamed.is_none() {
            out.push(b'}');
        }
        Ok(())
    }

    /// Ends the document (`{}` if no page came).
    pub fn finish(self, out: &mut Vec<u8>) {
        if self.pages == 0 {
            out.extend_from_slice(b"{}");
            return;
        }
        if self.streamed.is_none() {
            return; // closed with the first page
        }
        out.push(b']');
        for held in &self.held {
            out.push(b',');
            out.extend_from_slice(&held.key);
            out.push(b':');
            match &held.value {
                HeldValue::Raw(v) => out.extend_from_slice(v),
                HeldValue::Items(items) => {
                    out.push(b'[');
                    out.extend_from_slice(items);
                    out.push(b']');
                }
            }
        }
        out.push(b'}');
    }
}

/// Merges whole pages at once.
pub fn merge_pages<'p>(pages: impl IntoIterator<Item = &'p [u8]>) -> Result<Vec<u8>, MergeError> {
    let mut merger = PageMerger::new();
    let mut out = Vec::new();
    for page in pages {
        merger.push(page, &mut out)?;
    }
    merger.finish(&mut out);
    Ok(out)
}

/// Whether two member names (quoted, as written) are one name once decoded, as
/// JSON means them (`"k\u0065ys"` is `"keys"`), as the core's reader reads them.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    if a == b {
        return true;
    }
    fn text(quoted: &[u8]) -> Option<Text<'_>> {
        let inner = quoted.get(1..quoted.len().saturating_sub(1))?;
        core::str::from_utf8(inner).ok().map(Text::from_raw)
    }
    match (text(a), text(b)) {
        (Some(a), Some(b)) if a.raw().contains('\\') || b.raw().contains('\\') => {
            a.chars().eq(b.chars())
        }
        _ => false,
    }
}

fn join(items: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.iter().map(|i| i.len() + 1).sum());
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(item);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merged(pages: &[&[u8]]) -> alloc::string::String {
        alloc::string::String::from_utf8(merge_pages(pages.iter().copied()).unwrap()).unwrap()
    }

    #[test]
    fn merges_lists_and_drops_next() {
        let p1 = br#"{ "first": {"href": "a"}, "keys": [ {"id":"1","s":"x]}\"y"} ], "limit": 1, "next": {"href":"b"}, "total_count": 2 }"#;
        let p2 = br#"{"first":{"href":"a"},"keys":[{"id":"2"}],"limit":1,"total_count":2}"#;
        assert_eq!(
            merged(&[p1, p2]),
            r#"{"first":{"href": "a"},"keys":[{"id":"1","s":"x]}\"y"},{"id":"2"}],"limit":1,"total_count":2}"#
        );
    }

    #[test]
    fn a_second_list_and_empty_pages() {
        let p1 = br#"{"a":[],"b":[1],"c":true}"#;
        let p2 = br#"{"a":[2],"b":[],"d":[9]}"#;
        let p3 = br#"{"a":[3],"b":[4,5]}"#;
        assert_eq!(merged(&[p1, p2, p3]), r#"{"a":[2,3],"b":[1,4,5],"c":true}"#);
        assert_eq!(merged(&[b" {} "]), "{}");
        assert_eq!(merged(&[]), "{}");
        assert_eq!(merged(&[br#"{"x":1}"#, br#"{"x":2}"#]), r#"{"x":1}"#);
    }

    #[test]
    fn names_are_compared_decoded() {
        let p1 = br#"{"keys":[1],"\u006cimit":1,"next":{"href":"b"}}"#;
        let p2 = br#"{"k\u0065ys":[2],"\u006eext":{"href":"c"}}"#;
        assert_eq!(merged(&[p1, p2]), r#"{"keys":[1,2],"\u006cimit":1}"#);
        let p1 = br#"{"ne\u0078t":{"href":"b"},"a":[1]}"#;
        assert_eq!(merged(&[p1]), r#"{"a":[1]}"#);
    }

    #[test]
    fn malformed() {
        for bad in [
            &b"{"[..],
            b"[1]",
            br#"{"a" 1}"#,
            br#"{"a":[1,}"#,
            br#"{"a":"x}"#,
        ] {
            assert_eq!(merge_pages([bad]), Err(MergeError), "{bad:?}");
        }
        let mut m = PageMerger::new();
        let mut out = Vec::new();
        m.push(br#"{"a":[1]}"#, &mut out).unwrap();
        assert_eq!(m.push(br#"{"a":[1,}"#, &mut out), Err(MergeError));
    }
}
