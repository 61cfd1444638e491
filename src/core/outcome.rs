//! What the core decides for one query. Only `Reply` is complete; the other outcomes are work
//! for the shell (forwarding, stub zones, upstream look-ups) described as data.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::Message;
use hickory_proto::rr::{Record, RecordType};

/// Which path produced a reply (for metrics, caching and signing decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Our own zone, authoritative.
    Auth,
    /// A PTR from `/<prefix>/arpa/...` (not authoritative, not signed).
    Reverse,
    /// A refusal or error decided by policy (REFUSED, NOTIMP, FORMERR, BADVERS...).
    Policy,
}

/// What an authenticated denial must prove, for the DNSSEC signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The name does not exist; `closest_encloser` is its longest existing ancestor
    /// (lowercase, dot-terminated; at least the apex) and `encloser_types` the types it has
    /// (SOA and NS for the apex).
    NxDomain {
        /// The longest existing ancestor of the name (lowercase, dot-terminated).
        closest_encloser: String,
        /// The types the closest encloser has.
        encloser_types: Vec<RecordType>,
    },
    /// The name exists but has no data of the asked type; `types` are the types it does have.
    NoData {
        /// The types the name has.
        types: Vec<RecordType>,
    },
}

/// The number of records of each RRset of the answer and the additional sections, in order,
/// when the core wrote each RRset's records together (`tidy`): the compiler then takes the
/// RRsets as they are instead of comparing every record's owner with the one before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RrsetLengths {
    /// The answer section's RRsets.
    pub answers: Vec<usize>,
    /// The additional section's RRsets.
    pub additionals: Vec<usize>,
}

/// A finished answer.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The reply message, not yet signed.
    pub message: Message,
    /// Which path produced it.
    pub source: Source,
    /// What the signer must prove for a negative answer; set only when the client asked
    /// for DNSSEC (DO) and the answer is NXDOMAIN or NODATA.
    pub denial: Option<Box<Denial>>,
    /// Until when this answer stays as it is (a lease-capped TTL in it drops, or a lease runs
    /// out); `None`: as long as the data and the configuration.
    pub valid_until: Option<Instant>,
    /// True when records from upstream look-ups are in it (they are not ours to keep).
    pub upstream_data: bool,
    /// How the answer and additional sections split into RRsets, when the core knows; whoever
    /// changes those sections afterwards sets it to `None`.
    pub rrsets: Option<Box<RrsetLengths>>,
}

impl Reply {
    /// A reply from `source`, valid as long as the data.
    pub fn new(message: Message, source: Source, denial: Option<Denial>) -> Self {
        Reply {
            message,
            source,
            denial: denial.map(Box::new),
            valid_until: None,
            upstream_data: false,
            rrsets: None,
        }
    }
}

/// An upstream look-up the core needs to finish an answer (an external CNAME, SRV or MX
/// target).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExternalQuery {
    /// Lowercase, dot-terminated.
    pub name: String,
    /// The record type to ask for.
    pub qtype: RecordType,
}

/// Results of upstream look-ups, handed back to the core on its second pass.
#[derive(Debug, Clone, Default)]
pub struct Externals {
    results: HashMap<ExternalQuery, Option<Vec<Record>>>,
    /// When set, a look-up without a result counts as failed instead of being asked for.
    pub complete: bool,
}

/// The state of one external look-up.
pub enum ExternalResult<'a> {
    /// The upstream answered; these are the answer records.
    Answered(&'a [Record]),
    /// The look-up failed, or was never made and [`Externals::complete`] is set.
    Failed,
    /// Not made yet: the core asks for it with [`Outcome::NeedExternal`].
    Pending,
}

impl Externals {
    /// No results, and missing ones count as failed (no upstreams).
    pub fn none() -> Self {
        Externals {
            results: HashMap::new(),
            complete: true,
        }
    }

    /// True when some look-up has a result (answered or failed).
    pub fn holds_results(&self) -> bool {
        !self.results.is_empty()
    }

    /// Records the answer records of a look-up (`None` when it failed).
    pub fn insert(&mut self, query: ExternalQuery, answer: Option<Vec<Record>>) {
        self.results.insert(query, answer);
    }

    /// The state of the look-up of `query`.
    pub fn get(&self, query: &ExternalQuery) -> ExternalResult<'_> {
        match self.results.get(query) {
            Some(Some(records)) => ExternalResult::Answered(records),
            Some(None) => ExternalResult::Failed,
            None if self.complete => ExternalResult::Failed,
            None => ExternalResult::Pending,
        }
    }
}

/// The decision for one query.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A finished answer: sign it if needed and send it.
    Reply(Reply),
    /// Forward the client's query to the configured nameservers.
    Forward,
    /// Forward the client's query to the servers of a stub zone.
    Stub {
        /// The nameservers of the stub zone.
        servers: Vec<SocketAddr>,
    },
    /// Resolve these upstream, then ask the core again with the results.
    NeedExternal(Vec<ExternalQuery>),
    /// Send nothing (a stub-zone loop).
    Drop,
}
