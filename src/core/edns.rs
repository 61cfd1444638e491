//! EDNS(0) and message size: the OPT record of replies (RFC 6891: echoed when the query had one,
//! version 0, our payload size, DO copied, no unknown options or flags), the size budget per
//! transport, and truncation that keeps whole RRsets and sets TC.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, ResponseCode};
use hickory_proto::rr::{RData, Record};

use super::request::{Request, Transport};
use super::wire::header_only;

/// Largest DNS message over TCP.
pub const TCP_LIMIT: usize = 65_535;
/// Limit for UDP queries without EDNS.
pub const PLAIN_UDP_LIMIT: usize = 512;

/// The size a reply to `req` may have: 512 without EDNS, the client's size (at least 512)
/// capped to our advertised payload with EDNS, 65535 over TCP.
pub fn size_limit(req: &Request, our_payload: u16) -> usize {
    match req.transport {
        Transport::Tcp => TCP_LIMIT,
        Transport::Udp => match req.edns() {
            None => PLAIN_UDP_LIMIT,
            Some(edns) => usize::from(edns.max_payload())
                .max(PLAIN_UDP_LIMIT)
                .min(usize::from(our_payload).max(PLAIN_UDP_LIMIT)),
        },
    }
}

/// The OPT record for a reply to `req`, if the query had one.
pub fn reply_opt(req: &Request, our_payload: u16) -> Option<Edns> {
    let query = req.edns()?;
    let mut edns = Edns::new();
    edns.set_max_payload(our_payload.max(512));
    edns.set_version(0);
    edns.set_dnssec_ok(query.flags().dnssec_ok);
    Some(edns)
}

/// True when the query uses an EDNS version we do not speak (the reply is BADVERS).
pub fn bad_version(req: &Request) -> bool {
    req.edns().is_some_and(|e| e.version() > 0)
}

/// Encodes `reply` within `limit` bytes. When it does not fit, the additional section goes
/// first (the OPT record stays), then whole RRsets are dropped from the end of the answer and
/// authority sections and TC is set.
pub fn encode_fitted(mut reply: Message, limit: usize) -> Vec<u8> {
    if let Some(bytes) = encode_within(&reply, limit) {
        return bytes;
    }
    reply.additionals.clear();
    if let Some(bytes) = encode_within(&reply, limit) {
        return bytes;
    }
    reply.metadata.truncation = true;
    reply.authorities.clear();
    let rrsets = rrset_bounds(&reply.answers);
    let answers = std::mem::take(&mut reply.answers);
    // Binary search for the largest number of whole answer RRsets that fit.
    let (mut lo, mut hi) = (0usize, rrsets.len());
    let mut best = None;
    while lo <= hi {
        let mid = (lo + hi) / 2;
        reply.answers = answers[..rrsets_end(&rrsets, mid)].to_vec();
        match encode_within(&reply, limit) {
            Some(bytes) => {
                best = Some(bytes);
                lo = mid + 1;
            }
            None if mid == 0 => break,
            None => hi = mid - 1,
        }
    }
    best.unwrap_or_else(|| {
        // Nothing encodes (a record the encoder refuses): never send an empty datagram.
        let md = &reply.metadata;
        header_only(
            md.id,
            u8::from(md.op_code),
            md.recursion_desired,
            ResponseCode::ServFail,
        )
    })
}

fn encode_within(reply: &Message, limit: usize) -> Option<Vec<u8>> {
    reply.to_vec().ok().filter(|bytes| bytes.len() <= limit)
}

/// End offsets of consecutive runs of records with the same owner, type and class; an RRSIG
/// right after the RRset it covers belongs to that run, so truncation never separates them.
fn rrset_bounds(records: &[Record]) -> Vec<usize> {
    let mut bounds = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let next_differs = records.get(i + 1).is_none_or(|next| {
            let same_set = next.record_type() == record.record_type()
                && next.dns_class == record.dns_class
                && next.name == record.name;
            !same_set && !covers(next, record)
        });
        if next_differs {
            bounds.push(i + 1);
        }
    }
    bounds
}

/// True when `sig` is an RRSIG over the RRset of `record`.
fn covers(sig: &Record, record: &Record) -> bool {
    match &sig.data {
        RData::DNSSEC(DNSSECRData::RRSIG(rrsig)) => {
            rrsig.input().type_covered == record.record_type() && sig.name == record.name
        }
        _ => false,
    }
}

fn rrsets_end(bounds: &[usize], count: usize) -> usize {
    if count == 0 {
        0
    } else {
        bounds[count - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::dnssec::rdata::{SigInput, RRSIG};
    use hickory_proto::dnssec::Algorithm;
    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{Name, RecordType, SerialNumber};

    fn txt(owner: &str, text: &str) -> Record {
        let data = RData::TXT(TXT::new(vec![text.to_owned()]));
        Record::from_rdata(Name::from_ascii(owner).unwrap(), 60, data)
    }

    fn rrsig(owner: &str) -> Record {
        let input = SigInput {
            type_covered: RecordType::TXT,
            algorithm: Algorithm::ED25519,
            num_labels: 1,
            original_ttl: 60,
            sig_expiration: SerialNumber::new(2),
            sig_inception: SerialNumber::new(1),
            key_tag: 1,
            signer_name: Name::root(),
        };
        let data = RData::DNSSEC(DNSSECRData::RRSIG(RRSIG::from_sig(input, vec![7; 64])));
        Record::from_rdata(Name::from_ascii(owner).unwrap(), 60, data)
    }

    #[test]
    fn truncation_keeps_each_rrsig_with_its_rrset() {
        let mut reply = Message::response(1, hickory_proto::op::OpCode::Query);
        for i in 0..6 {
            let owner = format!("n{i}.example.");
            reply.answers.push(txt(&owner, &"x".repeat(40)));
            reply.answers.push(rrsig(&owner));
        }
        let bytes = encode_fitted(reply, 400);
        let fitted = Message::from_vec(&bytes).unwrap();
        assert!(fitted.metadata.truncation);
        let n = fitted.answers.len();
        assert!(n > 0 && n.is_multiple_of(2), "kept {n} records");
        for pair in fitted.answers.chunks(2) {
            assert_eq!(pair[0].record_type(), RecordType::TXT);
            assert!(covers(&pair[1], &pair[0]));
        }
    }
}
