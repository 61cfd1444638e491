//! RRSIGs over one RRset (RFC 4034 §3, RFC 4035 §2.2): inception an hour in the past (clock
//! skew), expiration a week ahead, RRSIG TTL and original TTL equal to the RRset TTL (a cached
//! RRSIG served later for a TTL that has counted down keeps its larger original TTL), labels
//! not counting a leading `*`, signer = the zone. The time is passed in.

use hickory_proto::dnssec::rdata::{DNSSECRData, SigInput, RRSIG};
use hickory_proto::dnssec::TBS;
use hickory_proto::rr::{RData, Record, SerialNumber};

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

/// Signs `rrset` (non-empty; one owner, type and class; one TTL) and returns the RRSIG record.
pub fn sign_rrset(key: &ZoneKey, rrset: &[Record], window: Window) -> Result<Record, SignError> {
    let first = rrset
        .first()
        .ok_or_else(|| SignError("empty RRset".into()))?;
    let input = SigInput {
        type_covered: first.record_type(),
        algorithm: key.algorithm,
        num_labels: first.name.num_labels(),
        original_ttl: first.ttl,
        // RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5): truncation is the encoding.
        #[allow(clippy::cast_possible_truncation)]
        sig_expiration: SerialNumber::new(window.expiration as u32),
        #[allow(clippy::cast_possible_truncation)]
        sig_inception: SerialNumber::new(window.inception as u32),
        key_tag: key.key_tag,
        signer_name: key.zone.clone(),
    };
    let tbs = TBS::from_input(&first.name, first.dns_class, &input, rrset.iter())
        .map_err(|e| SignError(e.to_string()))?;
    let sig = key.sign(tbs.as_ref())?;
    let rrsig = RRSIG::from_sig(input, sig);
    let mut record = Record::from_rdata(
        first.name.clone(),
        first.ttl,
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)),
    );
    record.dns_class = first.dns_class;
    Ok(record)
}
