use heapless::Vec;

use super::{Href, PAGE_CAPACITY};
use crate::text::Text;

/// A placement group (`GET /metadata/v1/placement_groups/{id}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlacementGroup<'a> {
    /// Id.
    pub id: Text<'a>,
    /// CRN.
    pub crn: Option<Text<'a>>,
    /// Name.
    pub name: Option<Text<'a>>,
    /// Creation time.
    pub created_at: Option<Text<'a>>,
    /// `placement_group`.
    pub resource_type: Option<Text<'a>>,
    /// e.g. `stable`.
    pub lifecycle_state: Option<Text<'a>>,
    /// `host_spread` or `power_spread`.
    pub strategy: Option<Text<'a>>,
}

super::decode::json_fields!(PlacementGroup<'a> {
    #[required] id, crn, name, created_at, resource_type, lifecycle_state, strategy,
});

super::parse_fn!(PlacementGroup, "placement group");

/// One page of `GET /metadata/v1/placement_groups`, at most [`PAGE_CAPACITY`] groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementGroupCollection<'a> {
    /// The groups on this page.
    pub placement_groups: Vec<PlacementGroup<'a>, PAGE_CAPACITY>,
    /// First page.
    pub first: Option<Href<'a>>,
    /// Next page, absent on the last.
    pub next: Option<Href<'a>>,
    /// Page size.
    pub limit: Option<u32>,
    /// Groups in the whole collection.
    pub total_count: Option<u32>,
}

super::decode::json_fields!(PlacementGroupCollection<'a> {
    #[required] placement_groups, first, next, limit, total_count,
});

super::parse_fn!(PlacementGroupCollection, "placement group list");
