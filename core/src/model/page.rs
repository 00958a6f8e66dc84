use serde::{Deserialize, Serialize};

use crate::text::Text;

/// `{ "href": "..." }`, as in a page's `first` and `next`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Href<'a> {
    /// Absolute URL.
    #[serde(borrow)]
    pub href: Text<'a>,
}

/// Just the pagination links of any collection document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageLinks<'a> {
    /// The next page, absent on the last page.
    #[serde(borrow, default)]
    pub next: Option<Href<'a>>,
}

super::parse_fn!(PageLinks, "collection");
