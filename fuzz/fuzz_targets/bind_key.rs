//! libFuzzer entry of the `bind_key` target; the body is `skydns_fuzz::bind_key`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skydns_fuzz::bind_key::run(data));
