use crate::text::Text;

/// `{ "href": "..." }`, as in a page's `first` and `next`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Href<'a> {
    /// Absolute URL.
    pub href: Text<'a>,
}

super::decode::json_fields!(Href<'a> { #[required] href });

/// Just the pagination links of any collection document.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageLinks<'a> {
    /// The next page, absent on the last page.
    pub next: Option<Href<'a>>,
}

super::decode::json_fields!(PageLinks<'a> { next });

super::parse_fn!(PageLinks, "collection");
