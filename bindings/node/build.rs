//! Link arguments napi needs on macOS and Windows (nothing on Linux).
fn main() {
    napi_build::setup();
}
