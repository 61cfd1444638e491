//! EDNS(0) and message size: the OPT record of replies (RFC 6891: echoed when the query had one,
//! version 0, our payload size, DO copied, no unknown options or flags) and the size budget per
//! transport. Truncation is done where replies are encoded (`answers::compiled`).

use hickory_proto::op::Edns;

use super::request::{Request, Transport};

/// Largest DNS message over TCP.
pub const TCP_LIMIT: usize = 65_535;
/// Limit for UDP queries without EDNS.
pub const PLAIN_UDP_LIMIT: usize = 512;

/// The size a reply to `req` may have: 512 without EDNS, the client's size (at least 512)
/// capped to our advertised payload with EDNS, 65535 over TCP.
pub fn size_limit(req: &Request, our_payload: u16) -> usize {
    limit(
        req.transport,
        req.edns().map(Edns::max_payload),
        our_payload,
    )
}

/// The size a reply may have over `transport` for a client that advertised
/// `client_payload` in its OPT record (`None`: no OPT record).
pub fn limit(transport: Transport, client_payload: Option<u16>, our_payload: u16) -> usize {
    match (transport, client_payload) {
        (Transport::Tcp, _) => TCP_LIMIT,
        (Transport::Udp, None) => PLAIN_UDP_LIMIT,
        (Transport::Udp, Some(payload)) => usize::from(payload)
            .max(PLAIN_UDP_LIMIT)
            .min(usize::from(our_payload).max(PLAIN_UDP_LIMIT)),
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
