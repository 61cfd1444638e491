//! libFuzzer entry of the `handler` target; the body is `skydns_fuzz::handler`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skydns_fuzz::handler::run(data));
