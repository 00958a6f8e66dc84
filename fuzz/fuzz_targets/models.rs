#![no_main]
//! Every model parser, on the same bytes.

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::model::*;

fuzz_target!(|body: &[u8]| {
    let _ = AccessToken::parse(body).map(|t| t.lifetime_secs());
    let _ = Instance::parse(body);
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
