#![no_main]
//! The HTTP/1.1 reader, fed in chunks whose sizes come from the input's first byte.

use libfuzzer_sys::fuzz_target;
use vpc_imds_core::response::{Progress, ResponseReader};

fuzz_target!(|data: &[u8]| {
    let Some((&step, raw)) = data.split_first() else { return };
    let step = usize::from(step).max(1);
    let mut buf = [0u8; 4096];
    let mut reader = ResponseReader::new();
    let mut fed = 0;
    loop {
        let Ok(space) = reader.unfilled(&mut buf) else { return };
        let n = step.min(raw.len() - fed).min(space.len());
        space[..n].copy_from_slice(&raw[fed..fed + n]);
        fed += n;
        match reader.advance(&mut buf, n) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Complete(r)) => {
                assert!(r.body().len() <= 4096);
                return;
            }
            Err(_) => return,
        }
    }
});
