//! The identity of a forwarded question: what makes two client queries get the same upstream
//! answer. It is the question name in lowercase, type, class, the RD, DO and CD bits and the
//! servers asked, so letter case, classes and DNSSEC answers never mix, and once a reload or a
//! stub-zone change sends a name to other servers, answers from the old ones are not reused.
//! The forward cache and the sharing of exchanges in flight both key on it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::SocketAddr;

use hickory_proto::rr::{DNSClass, RecordType};

use crate::core::Request;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardKey {
    name: String,
    qtype: RecordType,
    qclass: DNSClass,
    recursion_desired: bool,
    dnssec_ok: bool,
    checking_disabled: bool,
    /// A hash of the servers the answer comes from (their order included).
    route: u64,
}

impl ForwardKey {
    /// The key of `req` forwarded to `servers`.
    pub fn of(req: &Request, servers: &[SocketAddr]) -> ForwardKey {
        ForwardKey {
            name: req.qname().to_lowercase().to_ascii(),
            qtype: req.qtype(),
            qclass: req.qclass(),
            recursion_desired: req.message.metadata.recursion_desired,
            dnssec_ok: req.dnssec_ok(),
            checking_disabled: req.message.metadata.checking_disabled,
            route: BuildHasherDefault::<DefaultHasher>::default().hash_one(servers),
        }
    }
}

#[cfg(test)]
pub mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::Name;

    use super::*;
    use crate::core::Transport;

    pub const UP: &[SocketAddr] = &[SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5353)];

    /// An A query for `name` with `id`, RD set, and DO when asked.
    pub fn request(name: &str, id: u16, dnssec_ok: bool) -> Request {
        let mut m = Message::query();
        m.metadata.id = id;
        m.metadata.recursion_desired = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
        if dnssec_ok {
            let mut edns = Edns::new();
            edns.set_dnssec_ok(true);
            m.edns = Some(edns);
        }
        Request::new(m, Transport::Udp, IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    #[test]
    fn case_and_id_do_not_count_but_do_and_servers_do() {
        let base = ForwardKey::of(&request("www.example.org.", 1, false), UP);
        assert_eq!(
            base,
            ForwardKey::of(&request("WwW.ExAmple.org.", 2, false), UP)
        );
        assert_ne!(
            base,
            ForwardKey::of(&request("www.example.org.", 1, true), UP)
        );
        let other = [SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5354)];
        let req = request("www.example.org.", 1, false);
        assert_ne!(base, ForwardKey::of(&req, &other));
        assert_ne!(base, ForwardKey::of(&req, &[UP[0], other[0]]));
    }
}
