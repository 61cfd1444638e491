//! The identity of a forwarded question: what makes two client queries get the same upstream
//! answer. It is the question name in lowercase, type, class, the RD, AD, DO and CD bits, the
//! EDNS options that travel upstream and change the answer (client subnet, and the stub loop
//! guard, which makes the next skydns drop the query) and the servers asked. So letter case,
//! classes and DNSSEC answers never mix, and once a reload or a stub-zone change sends a name
//! to other servers, answers from the old ones are not reused. The forward cache and the
//! sharing of exchanges in flight both key on it.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::net::SocketAddr;

use hickory_proto::rr::rdata::opt::{ClientSubnet, EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RecordType};

use crate::core::answer::stub;
use crate::core::Request;

/// The identity of one forwarded question (see the module documentation); two queries with
/// equal keys may share an upstream answer.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ForwardKey {
    /// Compared and hashed without regard to case (hickory's `Name`).
    name: Name,
    qtype: RecordType,
    qclass: DNSClass,
    recursion_desired: bool,
    authentic_data: bool,
    dnssec_ok: bool,
    checking_disabled: bool,
    loop_guarded: bool,
    client_subnet: Option<ClientSubnet>,
    /// A hash of the servers the answer comes from (their order included).
    route: u64,
}

impl ForwardKey {
    /// The key of `req` forwarded to `servers`.
    pub fn of(req: &Request, servers: &[SocketAddr]) -> ForwardKey {
        ForwardKey {
            name: req.qname().clone(),
            qtype: req.qtype(),
            qclass: req.qclass(),
            recursion_desired: req.message.metadata.recursion_desired,
            authentic_data: req.message.metadata.authentic_data,
            dnssec_ok: req.dnssec_ok(),
            checking_disabled: req.message.metadata.checking_disabled,
            loop_guarded: stub::looped(req),
            client_subnet: req.edns().and_then(|e| match e.option(EdnsCode::Subnet) {
                Some(EdnsOption::Subnet(subnet)) => Some(*subnet),
                _ => None,
            }),
            route: BuildHasherDefault::<DefaultHasher>::default().hash_one(servers),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::Name;

    use super::*;
    use crate::core::Transport;

    /// One upstream server, 127.0.0.1:5353, to make keys with.
    pub(crate) const UP: &[SocketAddr] = &[SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5353)];

    /// An A query for `name` with `id`, RD set, and DO when asked.
    pub(crate) fn request(name: &str, id: u16, dnssec_ok: bool) -> Request {
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
    fn the_loop_guard_the_client_subnet_and_ad_count() {
        let base = ForwardKey::of(&request("x.example.org.", 1, true), UP);
        let with_option = |option: EdnsOption| {
            let mut req = request("x.example.org.", 1, true);
            if let Some(edns) = req.message.edns.as_mut() {
                edns.options_mut().insert(option);
            }
            ForwardKey::of(&req, UP)
        };
        let guard = EdnsOption::Unknown(stub::LOOP_GUARD_OPTION, vec![1]);
        assert_ne!(base, with_option(guard));
        let subnet = ClientSubnet::new("192.0.2.0".parse().unwrap(), 24, 0);
        assert_ne!(base, with_option(EdnsOption::Subnet(subnet)));
        let cookie = EdnsOption::Unknown(10, vec![1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(base, with_option(cookie), "cookies do not split answers");
        let mut ad = request("x.example.org.", 1, true);
        ad.message.metadata.authentic_data = true;
        assert_ne!(base, ForwardKey::of(&ad, UP));
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
