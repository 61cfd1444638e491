//! `bind_key`: the two texts of a BIND key pair through `skydns::dnssec::ZoneKey::parse`. An
//! input is the `.key` text, a NUL byte, then the `.private` text (see [`split`]); the seeds
//! are pairs made by `dnssec-keygen` and broken variants of them.
//!
//! Rules: never a panic; a key that loads is for the zone asked and signs; an error message
//! (and a loaded key's `Debug`) never quotes a secret value of the private text (`PrivateKey:`
//! and the RSA private components) that the public text does not hold as well (in any letter
//! case).

use std::path::Path;

use skydns::dnssec::ZoneKey;

/// The zone every key is loaded for.
pub const ZONE: &str = "skydns.local.";

/// Fields of a `.private` file that hold secrets (lowercase, as the parser compares them).
const SECRET_FIELDS: [&str; 7] = [
    "privatekey",
    "privateexponent",
    "prime1",
    "prime2",
    "exponent1",
    "exponent2",
    "coefficient",
];

/// Values shorter than this are not checked: they could appear in a message by chance.
const MIN_SECRET_LEN: usize = 16;

/// The `.key` and `.private` texts of an input: split at the first NUL byte (no NUL: all of it
/// is the `.key` text), each read as UTF-8 with invalid bytes replaced, as far as a file read
/// as text could carry them.
pub fn split(data: &[u8]) -> (String, String) {
    let (public, private) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    (
        String::from_utf8_lossy(public).into_owned(),
        String::from_utf8_lossy(private).into_owned(),
    )
}

/// The key of an input, or the error with the messages it gives.
pub fn parse(public: &str, private: &str) -> Result<ZoneKey, String> {
    ZoneKey::parse(
        public,
        private,
        ZONE,
        Path::new("K.key"),
        Path::new("K.private"),
    )
    .map_err(|e| format!("{e}\n{e:?}"))
}

pub fn run(data: &[u8]) {
    let (public, private) = split(data);
    let shown = match parse(&public, &private) {
        Ok(key) => {
            assert_eq!(key.zone.to_ascii(), ZONE, "a key loaded for another zone");
            key.sign(b"fuzz")
                .unwrap_or_else(|e| panic!("a loaded key cannot sign: {e}"));
            format!("{key:?}")
        }
        Err(messages) => messages,
    };
    assert_no_secret_shown(&public, &private, &shown);
}

/// Panics when `shown` quotes a secret value of `private` that `public` does not hold too
/// (in any letter case: messages show the owner name lowercased).
pub fn assert_no_secret_shown(public: &str, private: &str, shown: &str) {
    let public = public.to_ascii_lowercase();
    for secret in secrets(private) {
        assert!(
            !shown.contains(secret) || public.contains(&secret.to_ascii_lowercase()),
            "a secret of the private file is shown: {shown}"
        );
    }
}

/// The secret values of a `.private` text worth looking for: base64 text long enough not to
/// appear by chance.
fn secrets(private: &str) -> impl Iterator<Item = &str> {
    private.lines().filter_map(|line| {
        let (name, value) = line.trim().split_once(':')?;
        let value = value.trim();
        let secret = SECRET_FIELDS.contains(&name.trim().to_ascii_lowercase().as_str())
            && value.len() >= MIN_SECRET_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
        secret.then_some(value)
    })
}
