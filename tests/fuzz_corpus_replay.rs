//! The fuzz targets on stable: every input of `fuzz/corpus/<target>/` (the seeds and every
//! regression kept there) through its target's body, so the targets' rules are checked in every
//! test run, with or without a nightly toolchain. The bodies are the fuzz crate's own files,
//! included here, not copies (see `fuzz/src/lib.rs`); `scripts/fuzz.sh` runs them under
//! libFuzzer.

// The bodies are public for the fuzz crate's entry files; here nothing outside reaches them.
#[allow(unreachable_pub)]
#[path = "../fuzz/src/lib.rs"]
mod bodies;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus")
}

/// Runs every file of `fuzz/corpus/<target>/` through `body`; fails naming each input that
/// breaks a rule.
fn replay(target: &str, body: fn(&[u8]), at_least: usize) {
    let dir = corpus_dir().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    files.sort();
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("a corpus file");
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(failed.is_empty(), "rules broken by:\n{}", failed.join("\n"));
    assert!(
        files.len() >= at_least,
        "only {} inputs in {}",
        files.len(),
        dir.display()
    );
}

#[test]
fn wire_decode_corpus() {
    replay("wire_decode", bodies::wire_decode::run, 50);
}

#[test]
fn handler_corpus() {
    replay("handler", bodies::handler::run, 100);
}

#[test]
fn service_json_corpus() {
    replay("service_json", bodies::service_json::run, 20);
}

#[test]
fn bind_key_corpus() {
    replay("bind_key", bodies::bind_key::run, 10);
}

/// The secret check of `bind_key` works: a message quoting the `PrivateKey:` value of a known
/// key is caught, unless the public text holds the same value (then it is no leak).
#[test]
fn bind_key_catches_a_quoted_secret() {
    let pair = std::fs::read(corpus_dir().join("bind_key/alg13-zsk")).expect("the key pair");
    let (public, private) = bodies::bind_key::split(&pair);
    assert!(bodies::bind_key::parse(&public, &private).is_ok());
    let secret = private
        .lines()
        .find_map(|l| l.strip_prefix("PrivateKey:"))
        .expect("a PrivateKey line")
        .trim();
    let check = |public: &str, shown: &str| {
        catch_unwind(|| bodies::bind_key::assert_no_secret_shown(public, &private, shown)).is_ok()
    };
    assert!(check(&public, "DNSSEC key K.private: malformed"));
    assert!(!check(&public, &format!("bad value {secret}")));
    assert!(check(
        &format!("{public} {secret}"),
        &format!("bad value {secret}")
    ));
    // The public text may hold it in another letter case (messages lowercase the owner).
    let upper = secret.to_ascii_uppercase();
    assert!(check(
        &format!("{upper} {public}"),
        &format!("bad value {secret}")
    ));
}

/// Writes the seeds made by `fuzz/src/seeds.rs` into `fuzz/corpus/` (run by hand after
/// changing them).
#[test]
#[ignore = "writes into the source tree"]
fn write_seed_corpus() {
    bodies::seeds::write(&corpus_dir()).expect("the seed corpus is written");
}
