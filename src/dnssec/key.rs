//! The zone key, read from the two files BIND's `dnssec-keygen` writes: `<basename>.key` (the
//! DNSKEY RR in zone-file syntax) and `<basename>.private` (`Private-key-format: v1.x`). Only
//! algorithms fit for signing today are accepted (RFC 8624): RSASHA256 (8), RSASHA512 (10),
//! ECDSAP256SHA256 (13), ECDSAP384SHA384 (14) and ED25519 (15). Signing uses `ring`.
//!
//! [`ZoneKey::load`] does the only OS work (reading both files and checking that the private
//! key is not readable by group or others); [`ZoneKey::parse`] and signing are pure.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use data_encoding::BASE64;
use hickory_proto::dnssec::rdata::DNSKEY;
use hickory_proto::dnssec::{Algorithm, PublicKeyBuf};
use hickory_proto::rr::Name;
use ring::rand::SystemRandom;
use ring::rsa::{KeyPairComponents, PublicKeyComponents};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use thiserror::Error;

/// DNSKEY flag bits (RFC 4034 §2.1.1).
const FLAG_ZONE: u16 = 0x0100;
const FLAG_REVOKE: u16 = 0x0080;

/// Why a key cannot be used. Every message names the file.
#[derive(Debug, Error)]
pub enum KeyError {
    /// A key file cannot be read (or the `.private` file's metadata cannot be).
    #[error("DNSSEC key {path}: cannot be read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file does not hold what `dnssec-keygen` writes: bad syntax, missing field, flags of a
    /// non-zone or revoked key, or algorithms that differ between the two files.
    #[error("DNSSEC key {path}: malformed: {problem}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, without quoting private key material.
        problem: String,
    },
    /// The DNSKEY's owner is not the configured domain.
    #[error("DNSSEC key {path}: the key is for zone {owner}, but the domain is {domain}")]
    WrongZone {
        /// The `.key` file.
        path: PathBuf,
        /// The DNSKEY's owner name, lowercase.
        owner: String,
        /// The configured domain, lowercase and dot-terminated.
        domain: String,
    },
    /// The algorithm is not one skydns signs with (RFC 8624).
    #[error("DNSSEC key {path}: algorithm {algorithm} is not supported for signing: {why}")]
    Unsupported {
        /// The `.private` file.
        path: PathBuf,
        /// The algorithm's name and number, e.g. `RSASHA1 (5)`.
        algorithm: String,
        /// Why it cannot be used.
        why: &'static str,
    },
    /// The `.private` file may be read by group or others.
    #[error(
        "DNSSEC key {path}: the private key is readable by group or others (mode {mode:04o}); \
         run `chmod 600 {path}`"
    )]
    Permissions {
        /// The `.private` file.
        path: PathBuf,
        /// Its permission bits (`mode & 0o7777`).
        mode: u32,
    },
    /// The private key is not the one of the public key.
    #[error("DNSSEC key {path}: the private key does not match the public key in {public}")]
    Mismatch {
        /// The `.private` file.
        path: PathBuf,
        /// The `.key` file.
        public: PathBuf,
    },
    /// The RSA modulus is shorter than [`MIN_RSA_BITS`].
    #[error(
        "DNSSEC key {path}: the RSA key has {bits} bits; at least {MIN_RSA_BITS} are needed \
         (make a new key with `dnssec-keygen -a RSASHA256 -b 2048`, or use ECDSAP256SHA256)"
    )]
    WeakRsa {
        /// The `.private` file.
        path: PathBuf,
        /// The modulus length in bits.
        bits: usize,
    },
}

/// The smallest RSA modulus accepted (RFC 8624 §3.1, and what `ring` signs with).
pub const MIN_RSA_BITS: usize = 2048;

/// Signing failed (the key refused the input; not expected with a loaded key).
#[derive(Debug, Error)]
#[error("DNSSEC signing failed: {0}")]
pub struct SignError(pub String);

/// The private half, in the form `ring` signs with.
enum Secret {
    Rsa(RsaKeyPair, &'static dyn signature::RsaEncoding),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A loaded zone-signing key.
pub struct ZoneKey {
    /// The zone (owner of the DNSKEY), lowercase.
    pub zone: Name,
    /// The public key as published in the zone's DNSKEY RRset.
    pub dnskey: DNSKEY,
    /// The signing algorithm.
    pub algorithm: Algorithm,
    /// The key tag (RFC 4034 Appendix B) that RRSIGs name.
    pub key_tag: u16,
    secret: Secret,
    rng: SystemRandom,
}

impl std::fmt::Debug for ZoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneKey")
            .field("zone", &self.zone)
            .field("algorithm", &self.algorithm)
            .field("key_tag", &self.key_tag)
            .finish_non_exhaustive()
    }
}

/// `<basename>.key` and `<basename>.private` (the basename holds dots, so append, do not
/// replace an extension).
pub fn key_paths(basename: &Path) -> (PathBuf, PathBuf) {
    let with = |ext: &str| {
        let mut s = basename.as_os_str().to_owned();
        s.push(ext);
        PathBuf::from(s)
    };
    (with(".key"), with(".private"))
}

impl ZoneKey {
    /// Reads the key pair named by `basename` for zone `domain` (lowercase, dot-terminated).
    /// Refuses a `.private` file that group or others may read.
    pub fn load(basename: &Path, domain: &str) -> Result<ZoneKey, KeyError> {
        let (public_path, private_path) = key_paths(basename);
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| KeyError::Read {
                path: path.to_owned(),
                source,
            })
        };
        let public = read(&public_path)?;
        let meta = std::fs::metadata(&private_path).map_err(|source| KeyError::Read {
            path: private_path.clone(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyError::Permissions {
                path: private_path,
                mode,
            });
        }
        let private = read(&private_path)?;
        Self::parse(&public, &private, domain, &public_path, &private_path)
    }

    /// Builds the key from the text of both files (paths only name them in errors).
    pub fn parse(
        public_text: &str,
        private_text: &str,
        domain: &str,
        public_path: &Path,
        private_path: &Path,
    ) -> Result<ZoneKey, KeyError> {
        let malformed = |path: &Path, problem: String| KeyError::Malformed {
            path: path.to_owned(),
            problem,
        };
        let public = parse_dnskey(public_text).map_err(|p| malformed(public_path, p))?;
        let owner = public.owner.to_ascii_lowercase();
        if owner != domain {
            return Err(KeyError::WrongZone {
                path: public_path.to_owned(),
                owner,
                domain: domain.to_owned(),
            });
        }
        if public.flags & FLAG_ZONE == 0 || public.flags & FLAG_REVOKE != 0 {
            return Err(malformed(
                public_path,
                format!(
                    "flags {} do not make an active zone key (want 256 or 257)",
                    public.flags
                ),
            ));
        }
        let fields = parse_private(private_text).map_err(|p| malformed(private_path, p))?;
        let private_alg = fields
            .get("algorithm")
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse::<u8>().ok())
            .ok_or_else(|| malformed(private_path, "no `Algorithm:` line".into()))?;
        if private_alg != public.algorithm {
            return Err(malformed(
                private_path,
                format!(
                    "algorithm {private_alg} differs from the public key's {}",
                    public.algorithm
                ),
            ));
        }
        let algorithm = Algorithm::from_u8(public.algorithm);
        let field = |name: &str| -> Result<Vec<u8>, KeyError> {
            let text = fields
                .get(&name.to_ascii_lowercase())
                .ok_or_else(|| malformed(private_path, format!("no `{name}:` line")))?;
            BASE64
                .decode(text.as_bytes())
                .map_err(|e| malformed(private_path, format!("`{name}:` is not base64: {e}")))
        };
        let mismatch = || KeyError::Mismatch {
            path: private_path.to_owned(),
            public: public_path.to_owned(),
        };
        let unsupported = |why: &'static str| KeyError::Unsupported {
            path: private_path.to_owned(),
            algorithm: format!("{algorithm} ({})", public.algorithm),
            why,
        };
        let rng = SystemRandom::new();
        let secret = match algorithm {
            Algorithm::RSASHA256 | Algorithm::RSASHA512 => {
                let (e, n) = split_rsa_public(&public.key)
                    .ok_or_else(|| malformed(public_path, "RSA public key is truncated".into()))?;
                let modulus = field("Modulus")?;
                let exponent = field("PublicExponent")?;
                if strip_zeros(&modulus) != strip_zeros(n)
                    || strip_zeros(&exponent) != strip_zeros(e)
                {
                    return Err(mismatch());
                }
                let bits = bit_length(strip_zeros(&modulus));
                if bits < MIN_RSA_BITS {
                    return Err(KeyError::WeakRsa {
                        path: private_path.to_owned(),
                        bits,
                    });
                }
                // BIND writes every component as a big number without leading zeros; ring
                // wants n, e, d, p and q without them and takes the CRT values either way, so
                // zeros another writer may have left are stripped here.
                let [d, p, q, dp, dq, qinv] = [
                    "PrivateExponent",
                    "Prime1",
                    "Prime2",
                    "Exponent1",
                    "Exponent2",
                    "Coefficient",
                ]
                .map(field);
                let (d, p, q, dp, dq, qinv) = (d?, p?, q?, dp?, dq?, qinv?);
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: strip_zeros(&modulus),
                        e: strip_zeros(&exponent),
                    },
                    d: strip_zeros(&d),
                    p: strip_zeros(&p),
                    q: strip_zeros(&q),
                    dP: dp.as_slice(),
                    dQ: dq.as_slice(),
                    qInv: qinv.as_slice(),
                };
                let pair = RsaKeyPair::from_components(&components).map_err(|_| mismatch())?;
                let encoding: &'static dyn signature::RsaEncoding =
                    if algorithm == Algorithm::RSASHA256 {
                        &signature::RSA_PKCS1_SHA256
                    } else {
                        &signature::RSA_PKCS1_SHA512
                    };
                Secret::Rsa(pair, encoding)
            }
            Algorithm::ECDSAP256SHA256 | Algorithm::ECDSAP384SHA384 => {
                let (alg, scalar_len) = if algorithm == Algorithm::ECDSAP256SHA256 {
                    (&signature::ECDSA_P256_SHA256_FIXED_SIGNING, 32)
                } else {
                    (&signature::ECDSA_P384_SHA384_FIXED_SIGNING, 48)
                };
                let mut point = vec![4u8];
                point.extend_from_slice(&public.key);
                // BIND writes the private scalar as a big number: about one key in 256 has a
                // leading zero byte left out, and ring wants the full curve size.
                let scalar = left_pad(&field("PrivateKey")?, scalar_len)
                    .ok_or_else(|| malformed(private_path, "`PrivateKey:` is too long".into()))?;
                let pair =
                    EcdsaKeyPair::from_private_key_and_public_key(alg, &scalar, &point, &rng)
                        .map_err(|_| mismatch())?;
                Secret::Ecdsa(pair)
            }
            Algorithm::ED25519 => {
                let pair =
                    Ed25519KeyPair::from_seed_and_public_key(&field("PrivateKey")?, &public.key)
                        .map_err(|_| mismatch())?;
                Secret::Ed25519(pair)
            }
            _ if matches!(public.algorithm, 5 | 7) => {
                return Err(unsupported(
                    "SHA-1 signatures must not be made any more (RFC 8624); \
                     use ECDSAP256SHA256 (13) or ED25519 (15)",
                ))
            }
            _ => {
                return Err(unsupported(
                    "only RSASHA256 (8), RSASHA512 (10), ECDSAP256SHA256 (13), \
                     ECDSAP384SHA384 (14) and ED25519 (15) are offered",
                ))
            }
        };
        let dnskey = DNSKEY::with_flags(public.flags, PublicKeyBuf::new(public.key, algorithm));
        let key_tag = dnskey
            .calculate_key_tag()
            .map_err(|e| malformed(public_path, format!("no key tag: {e}")))?;
        let zone = Name::from_ascii(domain)
            .map_err(|e| malformed(public_path, format!("bad zone name: {e}")))?;
        let key = ZoneKey {
            zone,
            dnskey,
            algorithm,
            key_tag,
            secret,
            rng,
        };
        // ring checks only part of an RSA private key against the public one: a file with a
        // wrong CRT exponent loads, then every signature fails (found by fuzzing). Signing
        // once here refuses such a file at start-up instead of answering SERVFAIL to every
        // signed query.
        key.sign(b"skydns key self-test").map_err(|_| mismatch())?;
        Ok(key)
    }

    /// The length of the signatures this key makes, in bytes.
    pub fn signature_len(&self) -> usize {
        match &self.secret {
            Secret::Rsa(pair, _) => pair.public().modulus_len(),
            Secret::Ecdsa(_) if self.algorithm == Algorithm::ECDSAP384SHA384 => 96,
            Secret::Ecdsa(_) | Secret::Ed25519(_) => 64,
        }
    }

    /// The signature over `data` (the RRSIG "to be signed" bytes), in DNSSEC wire format.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, SignError> {
        match &self.secret {
            Secret::Rsa(pair, encoding) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(*encoding, &self.rng, data, &mut sig)
                    .map_err(|e| SignError(e.to_string()))?;
                Ok(sig)
            }
            Secret::Ecdsa(pair) => pair
                .sign(&self.rng, data)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| SignError(e.to_string())),
            Secret::Ed25519(pair) => Ok(pair.sign(data).as_ref().to_vec()),
        }
    }
}

/// The fields of a DNSKEY line.
struct PublicKeyLine {
    owner: String,
    flags: u16,
    algorithm: u8,
    key: Vec<u8>,
}

/// Parses `owner [ttl] [class] DNSKEY flags 3 algorithm base64...` (comments after `;`,
/// parentheses and line breaks allowed).
fn parse_dnskey(text: &str) -> Result<PublicKeyLine, String> {
    let cleaned: String = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ")
        .replace(['(', ')'], " ");
    let tokens: Vec<&str> = cleaned.split_whitespace().collect();
    let at = tokens
        .iter()
        .position(|t| t.eq_ignore_ascii_case("DNSKEY"))
        .ok_or("no DNSKEY record")?;
    if at == 0 {
        return Err("the DNSKEY record has no owner name".into());
    }
    let mut owner = tokens[0].to_owned();
    if !owner.ends_with('.') {
        owner.push('.');
    }
    let rest = &tokens[at + 1..];
    if rest.len() < 4 {
        return Err("the DNSKEY record needs flags, protocol, algorithm and key".into());
    }
    let flags = rest[0]
        .parse::<u16>()
        .map_err(|_| format!("flags `{}` is not a number", rest[0]))?;
    if rest[1] != "3" {
        return Err(format!("protocol `{}` is not 3", rest[1]));
    }
    let algorithm = rest[2]
        .parse::<u8>()
        .map_err(|_| format!("algorithm `{}` is not a number", rest[2]))?;
    let key = BASE64
        .decode(rest[3..].concat().as_bytes())
        .map_err(|e| format!("the public key is not base64: {e}"))?;
    Ok(PublicKeyLine {
        owner,
        flags,
        algorithm,
        key,
    })
}

/// Parses `Field: value` lines (field names lowercased) after checking the format line.
fn parse_private(text: &str) -> Result<HashMap<String, String>, String> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty());
    let format = lines.next().map_or("", |(_, l)| l);
    match format.strip_prefix("Private-key-format:").map(str::trim) {
        Some(v) if v.starts_with("v1.") => {}
        _ => return Err("the first line is not `Private-key-format: v1.x`".into()),
    }
    let mut fields = HashMap::new();
    // Lines hold key material: errors name the line by its number, never by its text.
    for (index, line) in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("line {} is not `Field: value`", index + 1))?;
        fields.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    Ok(fields)
}

/// The exponent and modulus of an RSA DNSKEY public key (RFC 3110 §2).
fn split_rsa_public(key: &[u8]) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = key.split_first()?;
    let (len, rest) = if first == 0 {
        let len = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        (len, rest.get(2..)?)
    } else {
        (usize::from(first), rest)
    };
    (rest.len() > len).then(|| rest.split_at(len))
}

/// `bytes` as a big-endian number of exactly `len` bytes (zeros added in front); `None` when
/// it needs more.
fn left_pad(bytes: &[u8], len: usize) -> Option<Vec<u8>> {
    let digits = strip_zeros(bytes);
    let mut out = vec![0u8; len.checked_sub(digits.len())?];
    out.extend_from_slice(digits);
    Some(out)
}

/// The number of significant bits of a big-endian number without leading zero bytes.
fn bit_length(digits: &[u8]) -> usize {
    digits
        .first()
        .map_or(0, |&top| digits.len() * 8 - top.leading_zeros() as usize)
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ring::signature::UnparsedPublicKey;

    /// A throw-away key made with `dnssec-keygen -a ECDSAP256SHA256 -n ZONE skydns.local`.
    const EC_PUBLIC: &str = "; This is a zone-signing key, keyid 36123, for skydns.local.\n\
        skydns.local. IN DNSKEY 256 3 13 pbkhXFnqmoaledgBIAOjOK0Ox34KBBBcyLSgcgjo8gsRG4kfBcSVYPvK \
        3+MC3Nt2MbYBh/siHS7Jrkq1NWAVFA==\n";
    const EC_PRIVATE: &str = "Private-key-format: v1.3\nAlgorithm: 13 (ECDSAP256SHA256)\n\
        PrivateKey: 66DsUb0fVPAQUyMkubnWuvsxR7xDr1O+grhnYO//cuM=\nCreated: 20261125230159\n";
    /// The same for ED25519.
    const ED_PUBLIC: &str =
        "skydns.local. 3600 IN DNSKEY 256 3 15 kQGWFUxd4QrxClZSoxHi5sDTdkB+yqXGYtIgZVwHuMQ=\n";
    const ED_PRIVATE: &str = "Private-key-format: v1.3\nAlgorithm: 15 (ED25519)\n\
        PrivateKey: 6bNwSgS43bq77tXHNTjRgiLVQoFVFtAjJ6Rbnexek3M=\n";

    /// The ECDSA test key for skydns.local.
    pub(crate) fn ecdsa_key() -> ZoneKey {
        parse(EC_PUBLIC, EC_PRIVATE, "skydns.local.").unwrap()
    }

    fn parse(public: &str, private: &str, domain: &str) -> Result<ZoneKey, KeyError> {
        ZoneKey::parse(
            public,
            private,
            domain,
            Path::new("K.key"),
            Path::new("K.private"),
        )
    }

    #[test]
    fn ecdsa_key_loads_and_signs_verifiably() {
        let key = parse(EC_PUBLIC, EC_PRIVATE, "skydns.local.").unwrap();
        assert_eq!(key.key_tag, 36123);
        assert_eq!(key.algorithm, Algorithm::ECDSAP256SHA256);
        let sig = key.sign(b"data").unwrap();
        let mut point = vec![4u8];
        point.extend_from_slice(hickory_proto::dnssec::PublicKey::public_bytes(
            key.dnskey.public_key(),
        ));
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
            .verify(b"data", &sig)
            .unwrap();
    }

    #[test]
    fn ed25519_key_loads_and_signs_verifiably() {
        let key = parse(ED_PUBLIC, ED_PRIVATE, "skydns.local.").unwrap();
        let sig = key.sign(b"data").unwrap();
        UnparsedPublicKey::new(
            &signature::ED25519,
            hickory_proto::dnssec::PublicKey::public_bytes(key.dnskey.public_key()),
        )
        .verify(b"data", &sig)
        .unwrap();
    }

    /// A key pair checked in under `tests/data/dnssec/` (made by BIND's dnssec-keygen).
    fn data_key(stem: &str) -> Result<ZoneKey, KeyError> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dnssec");
        let read = |ext: &str| std::fs::read_to_string(dir.join(format!("{stem}.{ext}"))).unwrap();
        parse(&read("key"), &read("private"), "skydns.local.")
    }

    /// The length of the decoded `PrivateKey:` of a checked-in key file.
    fn private_key_len(stem: &str) -> usize {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dnssec");
        let text = std::fs::read_to_string(dir.join(format!("{stem}.private"))).unwrap();
        let fields = parse_private(&text).unwrap();
        BASE64
            .decode(fields["privatekey"].as_bytes())
            .unwrap()
            .len()
    }

    #[test]
    fn ecdsa_keys_that_bind_wrote_without_a_leading_zero_load_and_sign() {
        for (stem, short_len, verify) in [
            ("p256-short", 31, &signature::ECDSA_P256_SHA256_FIXED),
            ("p384-short", 47, &signature::ECDSA_P384_SHA384_FIXED),
        ] {
            assert_eq!(private_key_len(stem), short_len, "{stem} is a short key");
            let key = data_key(stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
            let sig = key.sign(b"data").unwrap();
            let mut point = vec![4u8];
            point.extend_from_slice(hickory_proto::dnssec::PublicKey::public_bytes(
                key.dnskey.public_key(),
            ));
            UnparsedPublicKey::new(verify, point)
                .verify(b"data", &sig)
                .unwrap();
        }
    }

    #[test]
    fn a_short_private_key_that_does_not_match_is_still_refused() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dnssec");
        let public = std::fs::read_to_string(dir.join("p256-short.key")).unwrap();
        let msg = parse(&public, EC_PRIVATE, "skydns.local.")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("does not match"), "{msg}");
    }

    #[test]
    fn an_rsa_key_whose_crt_exponent_is_wrong_is_refused_at_load() {
        // Found by fuzzing: ring accepts such a pair, then every signature fails.
        let key = data_key("rsa2048").unwrap();
        assert_eq!(key.algorithm, Algorithm::RSASHA256);
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dnssec");
        let read = |ext: &str| std::fs::read_to_string(dir.join(format!("rsa2048.{ext}"))).unwrap();
        let private = read("private");
        let (before, after) = private.split_once("Exponent1: ").unwrap();
        // One base64 digit in the middle of dP changed.
        let mut dp = after.to_owned();
        let digit = if &dp[40..41] == "A" { "B" } else { "A" };
        dp.replace_range(40..41, digit);
        let broken = format!("{before}Exponent1: {dp}");
        let err = parse(&read("key"), &broken, "skydns.local.").unwrap_err();
        assert!(matches!(err, KeyError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn rsa_below_2048_bits_says_so() {
        let msg = data_key("rsa1024").unwrap_err().to_string();
        assert!(
            msg.contains("1024 bits") && msg.contains("at least 2048"),
            "{msg}"
        );
    }

    #[test]
    fn a_malformed_private_file_is_reported_without_its_key_material() {
        let secret = "66DsUb0fVPAQUyMkubnWuvsxR7xDr1O";
        let private = format!("Private-key-format: v1.3\nAlgorithm: 13\n{secret}\n");
        let msg = parse(EC_PUBLIC, &private, "skydns.local.")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(
            !msg.contains(secret),
            "the message quotes key material: {msg}"
        );
    }

    #[test]
    fn left_padding_and_bit_lengths() {
        assert_eq!(left_pad(&[1, 2], 4), Some(vec![0, 0, 1, 2]));
        assert_eq!(left_pad(&[0, 0, 1, 2], 3), Some(vec![0, 1, 2]));
        assert_eq!(left_pad(&[1, 2, 3], 2), None);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[]), 0);
    }

    #[test]
    fn refuses_keys_with_a_message_saying_why() {
        let err = |p: &str, s: &str, d: &str| parse(p, s, d).unwrap_err().to_string();
        let msg = err(EC_PUBLIC, EC_PRIVATE, "example.org.");
        assert!(
            msg.contains("for zone skydns.local., but the domain is example.org."),
            "{msg}"
        );
        let sha1_public = EC_PUBLIC.replace(" 256 3 13 ", " 256 3 5 ");
        let sha1_private = EC_PRIVATE.replace("Algorithm: 13", "Algorithm: 5");
        let msg = err(&sha1_public, &sha1_private, "skydns.local.");
        assert!(
            msg.contains("not supported") && msg.contains("RFC 8624"),
            "{msg}"
        );
        let msg = err(EC_PUBLIC, "Algorithm: 13\n", "skydns.local.");
        assert!(
            msg.contains("malformed") && msg.contains("Private-key-format"),
            "{msg}"
        );
        let msg = err("skydns.local. IN A 10.0.0.1", EC_PRIVATE, "skydns.local.");
        assert!(msg.contains("no DNSKEY record"), "{msg}");
        let msg = err(
            EC_PUBLIC,
            &EC_PRIVATE.replace("66Ds", "77Ds"),
            "skydns.local.",
        );
        assert!(msg.contains("does not match"), "{msg}");
        let msg = err(EC_PUBLIC, ED_PRIVATE, "skydns.local.");
        assert!(msg.contains("algorithm 15 differs"), "{msg}");
    }
}
