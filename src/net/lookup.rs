//! Look-ups skydns makes itself for external CNAME, SRV and MX targets (SkyDNS's `Lookup`):
//! the recursive question sent for a target, and what is taken from the reply. A name with
//! fewer than `ndots` labels, `no_rec`, no nameservers or any reply but NOERROR count as a
//! failed look-up. Of a reply only the target's own chain is kept: the CNAMEs from the target
//! on, then the records of the asked type owned by the chain's last name. Records about any
//! other name (an upstream may add what it likes) never reach our answers.

use std::net::{IpAddr, Ipv4Addr};

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::config::RuntimeConfig;
use crate::core::answer::address::MAX_CNAME_CHAIN;
use crate::core::path::label_count;
use crate::core::{ExternalQuery, Request, Transport};

/// The question skydns sends upstream for `need` (as a request, for the forward cache's key);
/// `None` when this target is not looked up.
pub fn question(need: &ExternalQuery, cfg: &RuntimeConfig) -> Option<Request> {
    if cfg.no_rec || cfg.nameservers.is_empty() || label_count(&need.name) < cfg.ndots {
        return None;
    }
    let name = Name::from_ascii(&need.name).ok()?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, need.qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(cfg.edns_payload.max(512));
    query.edns = Some(edns);
    Some(Request::new(
        query,
        Transport::Udp,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    ))
}

/// The records of `reply` that answer `need`: the CNAME chain from its name, then the records
/// of its type at the end of the chain. `None` when the reply is not NOERROR.
pub fn records(need: &ExternalQuery, reply: &Message) -> Option<Vec<Record>> {
    if reply.metadata.response_code != ResponseCode::NoError {
        tracing::debug!(name = %need.name, rcode = %reply.metadata.response_code, "external look-up failed");
        return None;
    }
    let mut name = Name::from_ascii(&need.name).ok()?;
    let mut chain = Vec::new();
    for _ in 0..MAX_CNAME_CHAIN {
        let cname = reply.answers.iter().find(|r| {
            r.record_type() == RecordType::CNAME && r.name == name && !chain.contains(*r)
        });
        let Some(cname) = cname else { break };
        let RData::CNAME(target) = &cname.data else {
            break;
        };
        chain.push(cname.clone());
        name = target.0.clone();
    }
    chain.extend(
        reply
            .answers
            .iter()
            .filter(|r| r.record_type() == need.qtype && r.name == name)
            .cloned(),
    );
    Some(chain)
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{A, CNAME};

    use super::*;

    fn rec(owner: &str, data: RData) -> Record {
        Record::from_rdata(Name::from_ascii(owner).unwrap(), 60, data)
    }

    #[test]
    fn only_the_chain_of_the_target_is_kept() {
        let need = ExternalQuery {
            name: "www.example.org.".into(),
            qtype: RecordType::A,
        };
        let mut reply = Message::query();
        reply.answers = vec![
            rec(
                "www.example.org.",
                RData::CNAME(CNAME(Name::from_ascii("cdn.example.net.").unwrap())),
            ),
            rec("cdn.example.net.", RData::A(A::new(192, 0, 2, 1))),
            rec("evil.example.com.", RData::A(A::new(192, 0, 2, 66))),
            rec("www.example.org.", RData::A(A::new(192, 0, 2, 67))),
        ];
        let kept = records(&need, &reply).unwrap();
        let owners: Vec<String> = kept.iter().map(|r| r.name.to_string()).collect();
        assert_eq!(owners, vec!["www.example.org.", "cdn.example.net."]);
        reply.metadata.response_code = ResponseCode::ServFail;
        assert!(records(&need, &reply).is_none());
    }

    #[test]
    fn no_question_without_upstreams_or_enough_labels() {
        let need = ExternalQuery {
            name: "host.".into(),
            qtype: RecordType::A,
        };
        let cfg = RuntimeConfig {
            nameservers: vec!["127.0.0.1:53".parse().unwrap()],
            ..RuntimeConfig::default()
        };
        assert!(question(&need, &cfg).is_none(), "fewer labels than ndots");
        let need = ExternalQuery {
            name: "www.example.org.".into(),
            qtype: RecordType::A,
        };
        assert!(question(&need, &cfg).is_some());
        let off = RuntimeConfig {
            no_rec: true,
            ..cfg
        };
        assert!(question(&need, &off).is_none());
    }
}
