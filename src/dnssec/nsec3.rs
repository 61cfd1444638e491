//! Authenticated denial with NSEC3 "white lies" (RFC 7129 appendix B, RFC 5155 §7.2): every
//! NSEC3 is made for the one answer, with RFC 9276 parameters (SHA-1, no extra iterations,
//! empty salt, flags 0). A record that must match a name gets owner = hash(name) and next =
//! hash + 1; a record that must cover a name gets owner = hash − 1 and next = hash + 1, so it
//! covers that hash and nothing else.

use data_encoding::BASE32_DNSSEC;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC3, NSEC3PARAM};
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// RFC 9276: no extra iterations.
const ITERATIONS: u16 = 0;

/// A SHA-1 NSEC3 hash.
pub type Hash = [u8; 20];

/// The NSEC3 hash of `name` (lowercased, empty salt, no extra iterations).
pub fn hash(name: &Name) -> Hash {
    let mut out = [0u8; 20];
    if let Ok(digest) = Nsec3HashAlgorithm::SHA1.hash(&[], name, ITERATIONS) {
        out.copy_from_slice(digest.as_ref());
    }
    out
}

/// `hash + delta` as a 160-bit big-endian number, wrapping around.
fn step(mut h: Hash, up: bool) -> Hash {
    for byte in h.iter_mut().rev() {
        let (value, carry) = if up {
            byte.overflowing_add(1)
        } else {
            byte.overflowing_sub(1)
        };
        *byte = value;
        if !carry {
            break;
        }
    }
    h
}

/// The NSEC3PARAM of the zone.
pub fn param() -> NSEC3PARAM {
    NSEC3PARAM::new(Nsec3HashAlgorithm::SHA1, false, ITERATIONS, Vec::new())
}

/// One NSEC3 record owned by `owner_hash` under `zone`.
fn record(
    owner_hash: Hash,
    next: Hash,
    types: Vec<RecordType>,
    zone: &Name,
    ttl: u32,
) -> Option<Record> {
    let label = BASE32_DNSSEC.encode(&owner_hash);
    let owner = Name::from_ascii(&label).ok()?.append_domain(zone).ok()?;
    let nsec3 = NSEC3::new(
        Nsec3HashAlgorithm::SHA1,
        false,
        ITERATIONS,
        Vec::new(),
        next.to_vec(),
        types,
    );
    let mut r = Record::from_rdata(owner, ttl, RData::DNSSEC(DNSSECRData::NSEC3(nsec3)));
    r.dns_class = DNSClass::IN;
    Some(r)
}

/// The NSEC3 whose owner is the hash of `name` (it "matches" `name`) listing `types`.
fn matching(name: &Name, types: Vec<RecordType>, zone: &Name, ttl: u32) -> Option<Record> {
    let h = hash(name);
    record(h, step(h, true), types, zone, ttl)
}

/// An NSEC3 that covers the hash of `name` and nothing else.
fn covering(name: &Name, zone: &Name, ttl: u32) -> Option<Record> {
    let h = hash(name);
    record(step(h, false), step(h, true), Vec::new(), zone, ttl)
}

/// The type bitmap of a name that exists: its types, plus RRSIG (everything we answer is
/// signed), plus DNSKEY and NSEC3PARAM at the apex.
fn bitmap(name: &Name, types: &[RecordType], zone: &Name) -> Vec<RecordType> {
    let mut all = types.to_vec();
    all.push(RecordType::RRSIG);
    if name == zone {
        all.extend([
            RecordType::SOA,
            RecordType::NS,
            RecordType::DNSKEY,
            RecordType::NSEC3PARAM,
        ]);
    }
    all.sort_by_key(|t| u16::from(*t));
    all.dedup();
    all
}

/// The proof that `qname` does not exist (RFC 5155 §7.2.2): the closest encloser matched,
/// the next closer name covered and the wildcard at the closest encloser covered.
pub fn nxdomain(
    qname: &Name,
    encloser: &Name,
    encloser_types: &[RecordType],
    zone: &Name,
    ttl: u32,
) -> Vec<Record> {
    let encloser_labels = encloser.iter().count();
    let next_closer = qname.trim_to(encloser_labels + 1);
    let wildcard = Name::from_ascii("*")
        .ok()
        .and_then(|star| star.append_domain(encloser).ok());
    let mut out: Vec<Record> = [
        matching(encloser, bitmap(encloser, encloser_types, zone), zone, ttl),
        covering(&next_closer, zone, ttl),
        wildcard.and_then(|w| covering(&w, zone, ttl)),
    ]
    .into_iter()
    .flatten()
    .collect();
    // The next closer name may be the wildcard itself (`*.encloser` asked for).
    out.dedup_by(|a, b| a.name == b.name);
    out
}

/// The proof that `qname` exists without `qtype` (RFC 5155 §7.2.3): one NSEC3 matching it
/// whose bitmap lists what it has. The bitmap never holds the asked type, nor CNAME: a
/// validator treats a CNAME bit in a NODATA proof as bogus, and a NODATA answer means no
/// CNAME applied.
pub fn nodata(
    qname: &Name,
    types: &[RecordType],
    qtype: RecordType,
    zone: &Name,
    ttl: u32,
) -> Vec<Record> {
    let mut types = bitmap(qname, types, zone);
    types.retain(|t| *t != qtype && *t != RecordType::CNAME);
    matching(qname, types, zone, ttl).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Name {
        Name::from_ascii(s).unwrap()
    }

    fn nsec3(r: &Record) -> &NSEC3 {
        match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(n)) => n,
            other => panic!("not NSEC3: {other:?}"),
        }
    }

    fn owner_hash(r: &Record) -> Vec<u8> {
        let label = r.name.iter().next().unwrap();
        BASE32_DNSSEC.decode(label).unwrap()
    }

    #[test]
    fn hash_matches_ldns_and_ignores_case() {
        // RFC 9276 parameters; value computed independently with `ldns-nsec3-hash -t 0 example.`.
        let a = hash(&name("example."));
        let b = hash(&name("EXAMPLE."));
        assert_eq!(a, b);
        assert_eq!(BASE32_DNSSEC.encode(&a), "3msev9usmd4br9s97v51r2tdvmr9iqo1");
    }

    #[test]
    fn stepping_wraps_and_carries() {
        let mut h = [0xffu8; 20];
        assert_eq!(step(h, true), [0u8; 20]);
        assert_eq!(step([0u8; 20], false), h);
        h[19] = 0xff;
        h[18] = 0x00;
        let up = step(h, true);
        assert_eq!((up[18], up[19]), (1, 0));
    }

    #[test]
    fn nxdomain_matches_encloser_and_covers_next_closer_and_wildcard() {
        let zone = name("skydns.local.");
        let q = name("a.b.East.skydns.local.");
        let ce = name("east.skydns.local.");
        let proof = nxdomain(&q, &ce, &[RecordType::A], &zone, 60);
        assert_eq!(proof.len(), 3);
        assert!(proof.iter().all(|r| r.ttl == 60 && zone.zone_of(&r.name)));
        assert_eq!(owner_hash(&proof[0]), hash(&ce).to_vec());
        let types: Vec<_> = nsec3(&proof[0]).type_bit_maps().collect();
        assert_eq!(types, vec![RecordType::A, RecordType::RRSIG]);
        let covers = |r: &Record, n: &Name| {
            let h = hash(n).to_vec();
            owner_hash(r) < h && h < nsec3(r).next_hashed_owner_name().to_vec()
        };
        assert!(covers(&proof[1], &name("b.east.skydns.local.")));
        assert!(covers(&proof[2], &name("*.east.skydns.local.")));
        assert!(!covers(&proof[1], &q), "covers only the next closer name");
    }

    #[test]
    fn nodata_bitmap_leaves_out_the_asked_type_and_cname_and_lists_apex_types() {
        let zone = name("skydns.local.");
        let proof = nodata(
            &name("SkyDNS.local."),
            &[
                RecordType::SOA,
                RecordType::NS,
                RecordType::A,
                RecordType::CNAME,
            ],
            RecordType::A,
            &zone,
            60,
        );
        let types: Vec<_> = nsec3(&proof[0]).type_bit_maps().collect();
        assert_eq!(
            types,
            vec![
                RecordType::NS,
                RecordType::SOA,
                RecordType::RRSIG,
                RecordType::DNSKEY,
                RecordType::NSEC3PARAM
            ]
        );
        assert_eq!(owner_hash(&proof[0]), hash(&zone).to_vec());
    }
}
