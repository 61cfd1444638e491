//! A decoded query together with what the answer depends on besides the data: the transport it
//! came over and the client address. Built by the network layer, read by the core.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// How the query arrived; it sets the size limit of the reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: the reply must fit the client's buffer size, else it is truncated (TC).
    Udp,
    /// TCP: replies up to 65535 bytes.
    Tcp,
}

/// A query the core can answer: exactly one question, opcode QUERY, QR=0 (checked by
/// `wire::decode`).
#[derive(Debug, Clone)]
pub struct Request {
    /// The decoded query.
    pub message: Message,
    /// How it arrived.
    pub transport: Transport,
    /// The address of the client that sent it.
    pub client: IpAddr,
}

impl Request {
    /// A request from its parts.
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

    /// The question type (`Unknown(0)` when there is no question).
    pub fn qtype(&self) -> RecordType {
        self.message
            .queries
            .first()
            .map(hickory_proto::op::Query::query_type)
            .unwrap_or(RecordType::Unknown(0))
    }

    /// The question class (IN when there is no question).
    pub fn qclass(&self) -> DNSClass {
        self.message
            .queries
            .first()
            .map(hickory_proto::op::Query::query_class)
            .unwrap_or(DNSClass::IN)
    }

    /// The query's EDNS (OPT record), if it had one.
    pub fn edns(&self) -> Option<&Edns> {
        self.message.edns.as_ref()
    }

    /// This request with its question name in lowercase: what the answer table keys on, so
    /// a reply compiled for it fits every letter case of the question.
    pub fn lowercased(&self) -> Request {
        let mut message = self.message.clone();
        if let Some(query) = message.queries.first_mut() {
            let lower = query.name().to_lowercase();
            query.set_name(lower);
        }
        Request {
            message,
            transport: self.transport,
            client: self.client,
        }
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
