//! `wire_decode`: any bytes through `skydns::core::wire::decode`, with the malformed-packet
//! rules of reliability.md §3.2 asserted:
//! - what is shorter than a header or has QR=1 is dropped, and nothing else is;
//! - a decoded query is a QUERY with exactly one question that is not of type OPT;
//! - an error reply (FORMERR, NOTIMP) is a DNS message hickory reads, answers the query's ID,
//!   carries nothing but the header and the echoed question, and is never larger than the query
//!   (no amplification);
//! - a query without a question passes only as a cookie probe (RFC 7873 §5.4), with a COOKIE
//!   option.

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::rr::RecordType;
use skydns::core::wire::{decode, Decoded, HEADER_LEN};

pub fn run(data: &[u8]) {
    let decoded = decode(data);
    let droppable = must_drop(data);
    match decoded {
        Decoded::Drop => assert!(droppable, "dropped a query that needs a reply"),
        _ if droppable => panic!("answered a message shorter than a header or with QR=1"),
        Decoded::Query(query) => {
            let md = &query.metadata;
            assert_eq!(md.message_type, MessageType::Query);
            assert_eq!(md.op_code, OpCode::Query);
            assert_eq!(query.queries.len(), 1, "a query passed with QDCOUNT != 1");
            assert!(query.answers.is_empty(), "a query passed with answers");
            assert_ne!(query.queries[0].query_type(), RecordType::OPT);
        }
        Decoded::CookieProbe(probe) => {
            assert_eq!(probe.metadata.op_code, OpCode::Query);
            assert!(probe.queries.is_empty(), "a cookie probe with a question");
            let cookie = probe
                .edns
                .as_ref()
                .and_then(|edns| edns.option(EdnsCode::Cookie));
            assert!(cookie.is_some(), "a cookie probe without a COOKIE option");
        }
        Decoded::Error(reply) => check_error_reply(data, &reply),
    }
}

/// True for what gets no reply at all: shorter than a header, or a response (QR=1).
pub fn must_drop(query: &[u8]) -> bool {
    query.len() < HEADER_LEN || query[2] & 0x80 != 0
}

/// A reply to `query` as hickory reads it, after the rules every reply obeys: it decodes, it is a
/// response (QR=1) and it carries the query's ID.
pub fn parse_reply(query: &[u8], reply: &[u8]) -> Message {
    let message = Message::from_vec(reply)
        .unwrap_or_else(|e| panic!("the reply does not decode ({e}): {reply:02x?}"));
    assert_eq!(message.metadata.message_type, MessageType::Response);
    assert_eq!(
        message.metadata.id.to_be_bytes(),
        [query[0], query[1]],
        "the reply carries another ID"
    );
    message
}

/// A reply made from the bytes alone: FORMERR with an empty question, or NOTIMP with the
/// question echoed; no records, no OPT, never larger than the query.
pub fn check_error_reply(query: &[u8], reply: &[u8]) {
    let message = parse_reply(query, reply);
    assert!(
        reply.len() <= query.len(),
        "an error reply of {} bytes to a query of {}",
        reply.len(),
        query.len()
    );
    assert!(
        message.answers.is_empty()
            && message.authorities.is_empty()
            && message.additionals.is_empty()
            && message.edns.is_none()
            && message.signature.is_none(),
        "an error reply with records: {message:?}"
    );
    match message.metadata.response_code {
        ResponseCode::FormErr => {
            assert_eq!(reply.len(), HEADER_LEN, "FORMERR carries only the header");
        }
        ResponseCode::NotImp => {
            assert_ne!(message.metadata.op_code, OpCode::Query, "NOTIMP to a QUERY");
        }
        other => panic!("an error reply with rcode {other}"),
    }
}
