//! The module's `cases.yaml`, natively: the same cases memwarden's suite
//! runs against the compiled component, minus what only the host decides.

#[test]
fn cases_yaml_passes_natively() {
    memwarden_policy_sdk::cases::run::<memwarden_policy_content_guard::ContentGuard>(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/cases.yaml"
    ));
}
