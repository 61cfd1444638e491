//! RRSIGs over one RRset (RFC 4034 §3, RFC 4035 §2.2): inception an hour in the past (clock
//! skew), expiration a week ahead, RRSIG TTL and original TTL equal to the RRset TTL (a cached
//! RRSIG served later for a TTL that has counted down keeps its larger original TTL), labels
//! not counting a leading `*`, signer = the zone. The time is passed in. The data signed
//! (RFC 4034 §3.1.8.1) is built here without a size limit, so an RRset of any size that fits a
//! message can be signed. The canonical RDATA of an RRset is worked out once
//! ([`CanonicalRdata`]) and serves both the signature cache's key and the signature.

use std::ops::Range;

use hickory_proto::dnssec::rdata::{DNSSECRData, SigInput, RRSIG};
use hickory_proto::rr::{Name, RData, Record, SerialNumber};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};

use super::cache::Signature;
use super::key::{SignError, ZoneKey};

/// How far inception lies before `now`.
pub const INCEPTION_SKEW: u64 = 3600;
/// How long a signature is valid after `now`.
pub const VALIDITY: u64 = 7 * 24 * 3600;

/// The validity window of signatures made at `now` (Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Unix seconds from which signatures are valid.
    pub inception: u64,
    /// Unix seconds after which signatures are no longer valid.
    pub expiration: u64,
}

impl Window {
    /// The window for `now` (Unix seconds): [`INCEPTION_SKEW`] before to [`VALIDITY`] after.
    pub fn at(now: u64) -> Window {
        Window {
            inception: now.saturating_sub(INCEPTION_SKEW),
            expiration: now + VALIDITY,
        }
    }
}

/// The RDATA of an RRset in canonical form (lowercase, uncompressed names), sorted and without
/// repeats (RFC 4034 §6.3): one buffer and the span of each RDATA in it.
#[derive(Debug)]
pub struct CanonicalRdata {
    bytes: Vec<u8>,
    spans: Vec<Range<usize>>,
}

impl CanonicalRdata {
    /// The canonical RDATA of `rrset`. Each RDATA is encoded on its own (at most 64 KiB), so
    /// the whole may be larger than a message.
    pub fn of(rrset: &[Record]) -> Result<CanonicalRdata, SignError> {
        let mut bytes = Vec::with_capacity(32 * rrset.len());
        let mut spans = Vec::with_capacity(rrset.len());
        let mut one = Vec::new();
        for record in rrset {
            one.clear();
            let mut encoder = BinEncoder::new(&mut one);
            encoder.set_canonical_form(true);
            record
                .data
                .emit(&mut encoder)
                .map_err(|e| SignError(e.to_string()))?;
            spans.push(bytes.len()..bytes.len() + one.len());
            bytes.extend_from_slice(&one);
        }
        Ok(CanonicalRdata::ordered(bytes, spans))
    }

    /// The canonical RDATA of an RRset from RDATA already in canonical form (as a message
    /// carries it for types without names, or with lowercase names never compressed).
    pub fn from_wire<'a>(rdatas: impl Iterator<Item = &'a [u8]>) -> CanonicalRdata {
        let mut bytes = Vec::new();
        let mut spans = Vec::new();
        for one in rdatas {
            spans.push(bytes.len()..bytes.len() + one.len());
            bytes.extend_from_slice(one);
        }
        CanonicalRdata::ordered(bytes, spans)
    }

    /// Sorts the spans of `bytes` into canonical order and drops repeats.
    fn ordered(bytes: Vec<u8>, mut spans: Vec<Range<usize>>) -> CanonicalRdata {
        spans.sort_by(|a, b| bytes[a.clone()].cmp(&bytes[b.clone()]));
        spans.dedup_by(|a, b| bytes[a.clone()] == bytes[b.clone()]);
        CanonicalRdata { bytes, spans }
    }

    /// Each RDATA, in canonical order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        self.spans.iter().map(|span| &self.bytes[span.clone()])
    }
}

/// Signs `rrset` (non-empty; one owner, type and class; one TTL), whose canonical RDATA is
/// `rdata`: the signature, to be made into a record by [`rrsig_record`].
pub fn sign_rrset(
    key: &ZoneKey,
    rrset: &[Record],
    rdata: &CanonicalRdata,
    window: Window,
) -> Result<Signature, SignError> {
    let first = rrset
        .first()
        .ok_or_else(|| SignError("empty RRset".into()))?;
    let input = sig_input(key, first, window, first.ttl);
    let tbs = to_be_signed(&first.name, first.dns_class, &input, rdata)?;
    Ok(Signature {
        window,
        original_ttl: first.ttl,
        bytes: key.sign(&tbs)?.into(),
    })
}

/// The RRSIG record of `signature` over the RRset whose first record is `first`, with the
/// TTL of `first` (a signature served later, when a leased TTL has counted down, keeps its
/// larger original TTL) and its owner in the letter case of `first`.
pub fn rrsig_record(key: &ZoneKey, first: &Record, signature: Signature) -> Record {
    let input = sig_input(key, first, signature.window, signature.original_ttl);
    let rrsig = RRSIG::from_sig(input, signature.bytes.into_vec());
    let mut record = Record::from_rdata(
        first.name.clone(),
        first.ttl,
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
    );
    record.dns_class = first.dns_class;
    record
}

/// The RRSIG fields but the signature, for an RRset whose first record is `first`.
fn sig_input(key: &ZoneKey, first: &Record, window: Window, original_ttl: u32) -> SigInput {
    SigInput {
        type_covered: first.record_type(),
        algorithm: key.algorithm,
        num_labels: first.name.num_labels(),
        original_ttl,
        // RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5): truncation is the encoding.
        #[allow(clippy::cast_possible_truncation)]
        sig_expiration: SerialNumber::new(window.expiration as u32),
        #[allow(clippy::cast_possible_truncation)]
        sig_inception: SerialNumber::new(window.inception as u32),
        key_tag: key.key_tag,
        signer_name: key.zone.clone(),
    }
}

/// `bytes` of one encodable in canonical form (lowercase, uncompressed names).
fn canonical(item: &impl BinEncodable) -> Result<Vec<u8>, SignError> {
    let mut out = Vec::new();
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_canonical_form(true);
    item.emit(&mut encoder)
        .map_err(|e| SignError(e.to_string()))?;
    Ok(out)
}

/// The signed data: the RRSIG RDATA without its signature, then every RR of the set in
/// canonical form and order (RFC 4034 §3.1.8.1, §6). The owner is the RRset's own name: our
/// signatures count every label but a leading `*`, which is what a validator rebuilds.
fn to_be_signed(
    owner: &Name,
    class: hickory_proto::rr::DNSClass,
    input: &SigInput,
    rdata: &CanonicalRdata,
) -> Result<Vec<u8>, SignError> {
    let mut tbs = canonical(&RRSIG::from_sig(input.clone(), Vec::new()))?;
    let mut name = Vec::new();
    let mut encoder = BinEncoder::new(&mut name);
    encoder.set_name_encoding(NameEncoding::UncompressedLowercase);
    owner
        .emit(&mut encoder)
        .map_err(|e| SignError(e.to_string()))?;
    tbs.reserve(rdata.bytes.len() + rdata.spans.len() * (name.len() + 10));
    for one in rdata.iter() {
        tbs.extend_from_slice(&name);
        tbs.extend_from_slice(&u16::from(input.type_covered).to_be_bytes());
        tbs.extend_from_slice(&u16::from(class).to_be_bytes());
        tbs.extend_from_slice(&input.original_ttl.to_be_bytes());
        let len = u16::try_from(one.len()).map_err(|_| SignError("RDATA over 64 KiB".into()))?;
        tbs.extend_from_slice(&len.to_be_bytes());
        tbs.extend_from_slice(one);
    }
    Ok(tbs)
}

#[cfg(test)]
mod tests {
    use hickory_proto::dnssec::TBS;
    use hickory_proto::rr::rdata::A;

    use super::*;

    #[test]
    fn the_signed_data_is_what_hickory_builds_and_has_no_size_limit() {
        let owner = Name::from_ascii("Web.SkyDNS.local.").unwrap();
        let input = SigInput {
            type_covered: hickory_proto::rr::RecordType::A,
            algorithm: hickory_proto::dnssec::Algorithm::ECDSAP256SHA256,
            num_labels: 3,
            original_ttl: 60,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 7,
            signer_name: Name::from_ascii("skydns.local.").unwrap(),
        };
        let rrset = |n: u16| -> Vec<Record> {
            (0..n)
                .rev()
                .map(|i| {
                    let [hi, lo] = i.to_be_bytes();
                    Record::from_rdata(owner.clone(), 60, RData::A(A::new(10, 0, hi, lo)))
                })
                .collect()
        };
        let small = rrset(20);
        let canonical = |rrset: &[Record]| CanonicalRdata::of(rrset).unwrap();
        let ours = to_be_signed(&owner, small[0].dns_class, &input, &canonical(&small)).unwrap();
        let theirs = TBS::from_input(&owner, small[0].dns_class, &input, small.iter()).unwrap();
        assert_eq!(ours, theirs.as_ref());
        let big = rrset(3000);
        assert!(TBS::from_input(&owner, big[0].dns_class, &input, big.iter()).is_err());
        assert!(
            to_be_signed(&owner, big[0].dns_class, &input, &canonical(&big))
                .unwrap()
                .len()
                > 65_535
        );
    }
}
