//! A decoded query together with what the answer depends on besides the data: the transport it
//! came over and the client address. Built by the network layer, read by the core.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// How the query arrived; it sets the size limit of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

/// A query the core can answer: exactly one question, opcode QUERY, QR=0 (checked by
/// `wire::decode`).
#[derive(Debug, Clone)]
pub struct Request {
    pub message: Message,
    pub transport: Transport,
    pub client: IpAddr,
}

impl Request {
    pub fn new(message: Message, transport: Transport, client: IpAddr) -> Self {
        Request {
            message,
            transport,
            client,
        }
    }

    /// The question name exactly as sent (case preserved).
    pub fn qname(&self) -> &Name {
        self.message
            .queries
            .first()
            .map(hickory_proto::op::Query::name)
            .unwrap_or_else(|| root())
    }

    pub fn qtype(&self) -> RecordType {
        self.message
            .queries
            .first()
            .map(hickory_proto::op::Query::query_type)
            .unwrap_or(RecordType::Unknown(0))
    }

    pub fn qclass(&self) -> DNSClass {
        self.message
            .queries
            .first()
            .map(hickory_proto::op::Query::query_class)
            .unwrap_or(DNSClass::IN)
    }

    pub fn edns(&self) -> Option<&Edns> {
        self.message.edns.as_ref()
    }

    /// The DO bit.
    pub fn dnssec_ok(&self) -> bool {
        self.edns().is_some_and(|e| e.flags().dnssec_ok)
    }
}

fn root() -> &'static Name {
    static ROOT: std::sync::OnceLock<Name> = std::sync::OnceLock::new();
    ROOT.get_or_init(Name::root)
}
