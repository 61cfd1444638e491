//! libFuzzer entry of the `wire_decode` target; the body is `skydns_fuzz::wire_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| skydns_fuzz::wire_decode::run(data));
