use heapless::Vec;
use serde::{Deserialize, Serialize};

use super::{Href, PAGE_CAPACITY};
use crate::text::Text;

/// A placement group (`GET /metadata/v1/placement_groups/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementGroup<'a> {
    /// Id.
    #[serde(borrow)]
    pub id: Text<'a>,
    /// CRN.
    #[serde(borrow, default)]
    pub crn: Option<Text<'a>>,
    /// Name.
    #[serde(borrow, default)]
    pub name: Option<Text<'a>>,
    /// Creation time.
    #[serde(borrow, default)]
    pub created_at: Option<Text<'a>>,
    /// `placement_group`.
    #[serde(borrow, default)]
    pub resource_type: Option<Text<'a>>,
    /// e.g. `stable`.
    #[serde(borrow, default)]
    pub lifecycle_state: Option<Text<'a>>,
    /// `host_spread` or `power_spread`.
    #[serde(borrow, default)]
    pub strategy: Option<Text<'a>>,
}

super::parse_fn!(PlacementGroup, "placement group");

/// One page of `GET /metadata/v1/placement_groups`, at most [`PAGE_CAPACITY`] groups.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlacementGroupCollection<'a> {
    /// The groups on this page.
    #[serde(borrow)]
    pub placement_groups: Vec<PlacementGroup<'a>, PAGE_CAPACITY>,
    /// First page.
    #[serde(borrow, default)]
    pub first: Option<Href<'a>>,
    /// Next page, absent on the last.
    #[serde(borrow, default)]
    pub next: Option<Href<'a>>,
    /// Page size.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Groups in the whole collection.
    #[serde(default)]
    pub total_count: Option<u32>,
}

super::parse_fn!(PlacementGroupCollection, "placement group list");
