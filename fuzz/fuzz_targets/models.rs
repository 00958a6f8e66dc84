#![no_main]
//! Every model parser, on the same bytes; what the instance parser accepts is
//! checked against serde_json: valid JSON, with the same `id` and `name`.

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::model::*;

fuzz_target!(|body: &[u8]| {
    let _ = AccessToken::parse(body).map(|t| t.lifetime_secs());
    if let Ok(instance) = Instance::parse(body) {
        let doc: serde_json::Value = serde_json::from_slice(body).expect("accepted body is JSON");
        let text = |t: &vpc_imds_core::text::Text| t.chars().collect::<Result<String, _>>().ok();
        assert_eq!(doc["id"].as_str(), text(&instance.id).as_deref());
        assert_eq!(doc["name"].as_str(), instance.name.as_ref().and_then(text).as_deref());
    }
    if let Ok(init) = Initialization::parse(body) {
        if let Some(user_data) = init.user_data {
            let mut out = [0u8; 1024];
            let _ = user_data.decode_into(&mut out);
        }
    }
    let _ = NetworkInterface::parse(body);
    let _ = NetworkInterfaceCollection::parse(body);
    let _ = VolumeAttachment::parse(body);
    let _ = VolumeAttachmentCollection::parse(body);
    let _ = Key::parse(body);
    let _ = KeyCollection::parse(body);
    let _ = PlacementGroup::parse(body);
    let _ = PlacementGroupCollection::parse(body);
    let _ = IdentityCertificate::parse(body);
    let _ = ErrorBody::parse(body);
    let _ = PageLinks::parse(body);
    let _ = vpc_imds_core::error::ApiError::from_body(500, body);
});
