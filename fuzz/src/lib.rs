//! The bodies of skydns' fuzz targets, one module per target, each with a `run(&[u8])` that
//! panics when one of the target's rules breaks.
//!
//! Written once, run twice: the libFuzzer binaries in `fuzz_targets/` call them (nightly,
//! `scripts/fuzz.sh`), and the main crate's `tests/fuzz_corpus_replay.rs` includes these same
//! files with `#[path]` and runs every input of `corpus/<target>/` through them on stable, so
//! every `cargo test` checks the rules against the seeds and the regressions kept there. Hence
//! the modules refer to each other with `super::` and use only crates the main crate has too.

pub mod bind_key;
pub mod handler;
pub mod seeds;
pub mod service_json;
pub mod wire_decode;
