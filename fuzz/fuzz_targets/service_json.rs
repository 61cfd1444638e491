//! libFuzzer entry of the `service_json` target; the body is `skydns_fuzz::service_json`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skydns_fuzz::service_json::run(data));
