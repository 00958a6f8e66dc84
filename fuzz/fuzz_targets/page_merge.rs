//! Page merging and the JSON value view over pages the core accepted: never a
//! panic; a merge of accepted pages is valid JSON without `next`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::model::PageLinks;
use vpc_imds_driver::{merge_pages, JsonValue};

fuzz_target!(|data: &[u8]| {
    // Split the input into up to four pages at 0xFF bytes (never inside UTF-8 JSON).
    let pages: Vec<&[u8]> = data.split(|&b| b == 0xFF).take(4).collect();
    // Only what the core accepts reaches the merger in a real run.
    if pages.iter().any(|p| PageLinks::parse(p).is_err()) {
        return;
    }
    let Ok(merged) = merge_pages(pages.iter().copied()) else {
        return;
    };
    let doc: serde_json::Value = match serde_json::from_slice(&merged) {
        Ok(doc) => doc,
        Err(e) => panic!("merged pages are not JSON: {e}"),
    };
    if let Some(doc) = doc.as_object() {
        assert!(!doc.contains_key("next"), "next survived the merge");
    }
    // The value view reads the same bytes without panicking.
    let _ = serde_json::to_string(&JsonValue(&merged));
    for page in &pages {
        let _ = serde_json::to_string(&JsonValue(page));
    }
});
