//! What kind of response a reply is and what it is counted under, read from the reply's own
//! bytes (so forwarded and error replies are classed like our answers), after the response
//! classes of BCP 140 as Knot and NSD apply them:
//!
//! | class | reply | counted per |
//! |---|---|---|
//! | answer | NOERROR with answer records | query name |
//! | large | the same, [`LARGE`] bytes or more | zone |
//! | NODATA | NOERROR, authoritative, no answer record | query name |
//! | NXDOMAIN | NXDOMAIN | zone |
//! | referral | NOERROR, not authoritative, no answer record | zone |
//! | error | any other rcode (REFUSED, SERVFAIL, FORMERR ...) | client network only |
//!
//! The zone is ours when the query name is in the configured domain; every other name counts
//! as one other zone. A truncated reply (TC) counts as an answer for its name.

use crate::core::wire::HEADER_LEN;

/// Replies this long or longer, with answers, are their own class.
pub const LARGE: usize = 1024;

/// The longest wire name.
const MAX_NAME: usize = 255;

/// The kind of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// NOERROR with answer records.
    Answer,
    /// NOERROR with answer records, [`LARGE`] bytes or more.
    Large,
    /// NOERROR, authoritative, without answer records.
    NoData,
    /// NXDOMAIN.
    NxDomain,
    /// NOERROR, not authoritative, without answer records.
    Referral,
    /// Every other rcode.
    Error,
}

/// What a reply is counted under: its class and, per class, the query name or the zone.
pub struct Key {
    /// The class, then the lowercased query name (wire form) or whether it is in our zone.
    bytes: [u8; 1 + MAX_NAME],
    len: usize,
    class: Class,
}

impl Key {
    /// The bytes to hash.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The class.
    pub fn class(&self) -> Class {
        self.class
    }
}

/// Classifies `reply`, a reply to a query about a name in `zone` (dot-terminated, lowercase)
/// or not.
pub fn key_of(reply: &[u8], zone: &str) -> Key {
    let mut key = Key {
        bytes: [0; 1 + MAX_NAME],
        len: 1,
        class: Class::Error,
    };
    let Some(header) = reply.get(..HEADER_LEN) else {
        return key;
    };
    let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
    let (aa, tc, rcode) = (
        header[2] & 0x04 != 0,
        header[2] & 0x02 != 0,
        header[3] & 0x0f,
    );
    let name_len = match count(4) {
        0 => 0,
        _ => read_name(reply, &mut key.bytes[1..]).unwrap_or(0),
    };
    key.class = match rcode {
        0 if count(6) > 0 && reply.len() >= LARGE => Class::Large,
        0 if count(6) > 0 || tc => Class::Answer,
        0 if aa => Class::NoData,
        0 => Class::Referral,
        3 => Class::NxDomain,
        _ => Class::Error,
    };
    key.bytes[0] = key.class as u8;
    match key.class {
        Class::Answer | Class::NoData => key.len = 1 + name_len,
        Class::Large | Class::NxDomain | Class::Referral => {
            key.bytes[1] = u8::from(in_zone(&key.bytes[1..1 + name_len], zone));
            key.len = 2;
        }
        Class::Error => {}
    }
    key
}

/// Copies the question name of a reply, lowercased, into `out`; its length, or `None` when
/// it is not a plain (uncompressed) name.
fn read_name(reply: &[u8], out: &mut [u8]) -> Option<usize> {
    let mut at = HEADER_LEN;
    let mut len = 0;
    loop {
        let label = usize::from(*reply.get(at)?);
        if label > 63 || len + label + 1 > out.len() {
            return None;
        }
        let bytes = reply.get(at..=at + label)?;
        for (o, b) in out[len..=len + label].iter_mut().zip(bytes) {
            *o = b.to_ascii_lowercase();
        }
        len += label + 1;
        at += label + 1;
        if label == 0 {
            return Some(len);
        }
    }
}

/// True when the wire name `name` (lowercase) is `zone` (text, lowercase) or below it.
fn in_zone(name: &[u8], zone: &str) -> bool {
    let mut wire = [0u8; MAX_NAME];
    let mut len = 0;
    for label in zone.split('.').filter(|l| !l.is_empty()) {
        let bytes = label.as_bytes();
        let Ok(size) = u8::try_from(bytes.len()) else {
            return false;
        };
        if len + bytes.len() + 2 > MAX_NAME {
            return false;
        }
        wire[len] = size;
        wire[len + 1..=len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len() + 1;
    }
    let zone = &wire[..=len];
    let mut at = 0;
    while at < name.len() {
        if &name[at..] == zone {
            return true;
        }
        at += usize::from(name[at]) + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::{A, TXT};
    use hickory_proto::rr::{Name, RData, Record, RecordType};
    use hickory_proto::serialize::binary::BinEncodable;

    use super::*;

    const ZONE: &str = "skydns.local.";

    fn reply(name: &str, rcode: ResponseCode, aa: bool, answers: &[RData]) -> Vec<u8> {
        let mut m = Message::new(7, MessageType::Response, OpCode::Query);
        m.metadata.response_code = rcode;
        m.metadata.authoritative = aa;
        let name = Name::from_ascii(name).unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        for rdata in answers {
            m.answers
                .push(Record::from_rdata(name.clone(), 60, rdata.clone()));
        }
        m.to_vec().unwrap()
    }

    fn a() -> RData {
        RData::A(A::new(10, 0, 0, 1))
    }

    fn key(bytes: &[u8]) -> (Class, Vec<u8>) {
        let k = key_of(bytes, ZONE);
        (k.class(), k.as_bytes().to_vec())
    }

    #[test]
    fn classes() {
        let ok = ResponseCode::NoError;
        assert_eq!(
            key(&reply("a.skydns.local.", ok, true, &[a()])).0,
            Class::Answer
        );
        assert_eq!(
            key(&reply("a.skydns.local.", ok, true, &[])).0,
            Class::NoData
        );
        assert_eq!(key(&reply("a.example.", ok, false, &[])).0, Class::Referral);
        let nx = reply("a.skydns.local.", ResponseCode::NXDomain, true, &[]);
        assert_eq!(key(&nx).0, Class::NxDomain);
        for rcode in [
            ResponseCode::Refused,
            ResponseCode::ServFail,
            ResponseCode::FormErr,
        ] {
            assert_eq!(key(&reply("a.example.", rcode, false, &[])).0, Class::Error);
        }
        let big = RData::TXT(TXT::new(vec!["x".repeat(250); 5]));
        assert_eq!(
            key(&reply("t.skydns.local.", ok, true, &[big])).0,
            Class::Large
        );
        let mut truncated = reply("a.skydns.local.", ok, true, &[]);
        truncated[2] |= 0x02;
        assert_eq!(key(&truncated).0, Class::Answer);
        assert_eq!(key(&[0; 5]).0, Class::Error);
    }

    #[test]
    fn answers_count_per_name_in_any_case_denials_per_zone() {
        let ok = ResponseCode::NoError;
        let one = key(&reply("A.SkyDNS.local.", ok, true, &[a()]));
        assert_eq!(one, key(&reply("a.skydns.local.", ok, true, &[a()])));
        assert_ne!(one, key(&reply("b.skydns.local.", ok, true, &[a()])));
        assert_ne!(one, key(&reply("a.skydns.local.", ok, true, &[])));
        let nx = |name| key(&reply(name, ResponseCode::NXDomain, true, &[]));
        assert_eq!(nx("x.skydns.local."), nx("y.z.SKYDNS.local."));
        assert_eq!(nx("x.example."), nx("y.example.org."));
        assert_ne!(nx("x.skydns.local."), nx("x.example."));
        let err = |name| key(&reply(name, ResponseCode::Refused, false, &[]));
        assert_eq!(err("a.example."), err("b.skydns.local."));
    }

    #[test]
    fn zones() {
        let wire = |text: &str| {
            Name::from_ascii(text)
                .unwrap()
                .to_lowercase()
                .to_bytes()
                .unwrap()
        };
        assert!(in_zone(&wire("skydns.local."), ZONE));
        assert!(in_zone(&wire("a.b.skydns.local."), ZONE));
        assert!(!in_zone(&wire("xskydns.local."), ZONE));
        assert!(!in_zone(&wire("local."), ZONE));
        assert!(in_zone(&wire("anything."), "."));
    }
}
