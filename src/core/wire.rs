//! Turning received bytes into a query, with the malformed-packet rules of
//! `reliability.md` §3.2: drop what cannot be a query (shorter than a header, or QR=1), answer
//! FORMERR with an empty question to what is broken (a malformed or repeated COOKIE option
//! included, RFC 7873 §5.2.2), NOTIMP to opcodes we do not serve. A query without a question
//! but with a cookie asks for a server cookie (RFC 7873 §5.4).

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;

/// The result of looking at a received datagram or TCP message.
#[derive(Debug)]
pub enum Decoded {
    /// A well-formed QUERY with one question.
    Query(Box<Message>),
    /// A QUERY without a question whose OPT record has a well-formed cookie: it asks for a
    /// server cookie (RFC 7873 §5.4).
    CookieProbe(Box<Message>),
    /// Reply with these bytes (FORMERR / NOTIMP) without consulting the data.
    Error(Vec<u8>),
    /// Send nothing.
    Drop,
}

/// Decodes a query, deciding on the error replies itself.
pub fn decode(bytes: &[u8]) -> Decoded {
    if bytes.len() < HEADER_LEN || bytes[2] & 0x80 != 0 {
        return Decoded::Drop;
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let opcode = (bytes[2] >> 3) & 0x0f;
    let rd = bytes[2] & 0x01 != 0;
    let mut decoder = BinDecoder::new(bytes);
    let message = match Message::read(&mut decoder) {
        Ok(m) if decoder.is_empty() && questions_are_clean(bytes, m.queries.len()) => m,
        _ => return Decoded::Error(header_only(id, opcode, rd, ResponseCode::FormErr)),
    };
    let Ok(cookie) = super::cookie::received(message.edns.as_ref()) else {
        return Decoded::Error(header_only(id, opcode, rd, ResponseCode::FormErr));
    };
    if message.metadata.op_code != OpCode::Query {
        return Decoded::Error(echo_question(&message, ResponseCode::NotImp));
    }
    if message.queries.is_empty() && message.answers.is_empty() && cookie.is_some() {
        return Decoded::CookieProbe(Box::new(message));
    }
    if message.queries.len() != 1
        || !message.answers.is_empty()
        || message.queries[0].query_type() == RecordType::OPT
    {
        return Decoded::Error(header_only(id, opcode, rd, ResponseCode::FormErr));
    }
    Decoded::Query(Box::new(message))
}

/// A 12-byte reply: the header with QR set, the opcode and RD copied, the rcode, no records.
pub fn header_only(id: u16, opcode: u8, rd: bool, rcode: ResponseCode) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.extend_from_slice(&id.to_be_bytes());
    out.push(0x80 | (opcode << 3) | u8::from(rd));
    // The header holds the low 4 bits of the rcode; the rest lives in OPT (RFC 6891).
    #[allow(clippy::cast_possible_truncation)]
    out.push(u16::from(rcode) as u8 & 0x0f);
    out.extend_from_slice(&[0; 8]);
    out
}

/// The reply to a query we do not serve, with its question when it has exactly one (more
/// would make the reply larger than the query).
fn echo_question(query: &Message, rcode: ResponseCode) -> Vec<u8> {
    let md = &query.metadata;
    let header = || header_only(md.id, u8::from(md.op_code), md.recursion_desired, rcode);
    if query.queries.len() != 1 {
        return header();
    }
    let mut reply = Message::new(md.id, MessageType::Response, md.op_code);
    reply.metadata.recursion_desired = md.recursion_desired;
    reply.metadata.response_code = rcode;
    reply.queries = query.queries.clone();
    reply.to_vec().unwrap_or_else(|_| header())
}

/// Labels and pointers walked per name at most: a name of 255 bytes has at most 128 labels,
/// and the reader already refused pointer loops.
const MAX_NAME_STEPS: usize = 256;

/// True when none of the first `count` question names uses a compression pointer into the
/// header. hickory follows such pointers, but no name can start there (reliability.md §3.2:
/// FORMERR), and a name read out of the header would be echoed larger than it was sent.
fn questions_are_clean(bytes: &[u8], count: usize) -> bool {
    let mut at = HEADER_LEN;
    for _ in 0..count {
        match name_end(bytes, at) {
            // The type and class follow the name.
            Some(end) => at = end + 4,
            None => return false,
        }
    }
    true
}

/// Where the name starting at `start` ends in the message, following its pointers; `None`
/// when a pointer leads into the header or the name cannot be walked.
fn name_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    let mut end = None;
    for _ in 0..MAX_NAME_STEPS {
        let len = *bytes.get(at)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(end.unwrap_or(at + 1)),
            0x00 => at += 1 + usize::from(len),
            0xc0 => {
                let target = u16::from_be_bytes([len & 0x3f, *bytes.get(at + 1)?]);
                end.get_or_insert(at + 2);
                at = usize::from(target);
                if at < HEADER_LEN {
                    return None;
                }
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::Query;
    use hickory_proto::rr::Name;

    fn query(name: &str, qtype: RecordType) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = 7;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m.to_vec().unwrap()
    }

    #[test]
    fn short_and_response_packets_are_dropped() {
        assert!(matches!(decode(&[0; 5]), Decoded::Drop));
        let mut q = query("a.", RecordType::A);
        q[2] |= 0x80;
        assert!(matches!(decode(&q), Decoded::Drop));
    }

    #[test]
    fn broken_packets_get_formerr_with_empty_question() {
        let mut q = query("a.", RecordType::A);
        q.push(0);
        let Decoded::Error(reply) = decode(&q) else {
            panic!("trailing garbage must be FORMERR")
        };
        assert_eq!(reply.len(), HEADER_LEN);
        assert_eq!(reply[3] & 0x0f, 1);
        let q = query("a.", RecordType::A);
        let Decoded::Error(reply) = decode(&q[..q.len() - 3]) else {
            panic!("truncated question must be FORMERR")
        };
        assert_eq!(&reply[..2], &[0, 7]);
        let mut noq = query("a.", RecordType::A);
        noq[5] = 0;
        assert!(matches!(decode(&noq[..HEADER_LEN]), Decoded::Error(_)));
        assert!(matches!(
            decode(&query("a.", RecordType::OPT)),
            Decoded::Error(_)
        ));
    }

    #[test]
    fn unknown_opcode_is_notimp_with_question() {
        let mut q = query("a.", RecordType::A);
        q[2] |= 15 << 3;
        let Decoded::Error(reply) = decode(&q) else {
            panic!("opcode 15 must be answered")
        };
        let m = Message::from_vec(&reply).unwrap();
        assert_eq!(m.metadata.response_code, ResponseCode::NotImp);
        assert_eq!(m.queries.len(), 1);
        assert!(m.edns.is_none());
    }

    /// `query` with an OPT record holding COOKIE options of these lengths.
    fn with_cookies(mut query: Message, lens: &[usize]) -> Vec<u8> {
        let mut edns = hickory_proto::op::Edns::new();
        for len in lens {
            edns.options_mut()
                .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
                    10,
                    vec![1; *len],
                ));
        }
        query.edns = Some(edns);
        query.to_vec().unwrap()
    }

    #[test]
    fn malformed_cookies_are_formerr_and_a_bare_cookie_asks_for_one() {
        let q = Message::from_vec(&query("a.", RecordType::A)).unwrap();
        for lens in [&[5][..], &[12], &[41], &[8, 8]] {
            let Decoded::Error(reply) = decode(&with_cookies(q.clone(), lens)) else {
                panic!("cookies {lens:?} must be FORMERR")
            };
            assert_eq!((reply.len(), reply[3] & 0x0f), (HEADER_LEN, 1));
        }
        assert!(matches!(
            decode(&with_cookies(q.clone(), &[24])),
            Decoded::Query(_)
        ));
        let mut bare = q.clone();
        bare.queries.clear();
        assert!(matches!(
            decode(&with_cookies(bare.clone(), &[8])),
            Decoded::CookieProbe(_)
        ));
        assert!(matches!(
            decode(&with_cookies(bare, &[])),
            Decoded::Error(_)
        ));
    }

    #[test]
    fn a_name_pointing_into_the_header_is_formerr() {
        // Found by fuzzing: hickory reads the name `\000.` from header bytes 5 to 7, and the
        // NOTIMP echo of that name was a byte larger than the query.
        for opcode in [0u8, 6] {
            let mut q = vec![1, 0x12, opcode << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0];
            q.extend_from_slice(&[0xc0, 5, 0, 1, 0, 1]);
            let Decoded::Error(reply) = decode(&q) else {
                panic!("a pointer into the header must be FORMERR")
            };
            assert_eq!(reply.len(), HEADER_LEN);
            assert_eq!(reply[3] & 0x0f, 1);
        }
        // A pointer back into the first question is fine.
        let mut q = query("a.b.", RecordType::A);
        q.extend_from_slice(&[0xc0, 14, 0, 28, 0, 1]);
        assert_eq!(name_end(&q, HEADER_LEN + 9), Some(q.len() - 4));
        assert!(questions_are_clean(&q, 2));
    }

    #[test]
    fn notimp_echoes_only_a_single_question() {
        let mut q = query("a.", RecordType::A);
        q[2] |= 15 << 3;
        q[5] = 2;
        q.extend_from_slice(&[0xc0, 12, 0, 28, 0, 1]);
        let Decoded::Error(reply) = decode(&q) else {
            panic!("opcode 15 must be answered")
        };
        assert_eq!(reply.len(), HEADER_LEN);
        assert_eq!(reply[3] & 0x0f, 4);
    }

    #[test]
    fn good_query_decodes() {
        assert!(matches!(
            decode(&query("a.b.", RecordType::SRV)),
            Decoded::Query(_)
        ));
    }
}
