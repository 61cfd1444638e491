//! The settings that can change while running (swapped as a whole on reload) and the ones that
//! need a restart. Both are plain validated values; `config::load` builds them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::acl::Acl;

/// Everything the answering, forwarding and signing paths read. Immutable once built; a reload
/// publishes a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// The zone we are authoritative for: lowercase, dot-terminated (`skydns.local.`).
    pub domain: String,
    /// SOA RNAME, dot-terminated (`hostmaster.skydns.local.`).
    pub hostmaster: String,
    /// The name answered for `local.dns.<domain>`, if any (lowercase, dot-terminated).
    pub local: Option<String>,
    pub round_robin: bool,
    pub ns_rotate: bool,
    pub nameservers: Vec<SocketAddr>,
    pub no_rec: bool,
    pub read_timeout: Duration,
    /// SRV priority / MX preference of services that give none.
    pub priority: u16,
    /// Default TTL; also the SOA, DNSKEY and positive-answer cap.
    pub ttl: u32,
    /// SOA MINIMUM and the TTL of negative answers (with the SOA TTL, RFC 2308).
    pub min_ttl: u32,
    /// DNSSEC key basename (`Kskydns.local.+013+12345`), if signing.
    pub dnssec: Option<PathBuf>,
    pub scache: usize,
    pub rcache: usize,
    pub rcache_ttl: u32,
    /// A name needs at least this many labels before it is forwarded.
    pub ndots: usize,
    /// Forward to stub zones found under `stub.dns.<domain>`.
    pub stubzones: bool,
    /// Who may have names outside our zone forwarded (RFC 5358).
    pub forward_allow: Acl,
    /// The EDNS UDP payload we advertise and clamp client sizes to.
    pub edns_payload: u16,
    /// Log one line per query.
    pub query_log: bool,
}

impl RuntimeConfig {
    /// `ns.dns.<domain>`: where NS data lives and the SOA MNAME.
    pub fn ns_name(&self) -> String {
        format!("ns.dns.{}", self.domain)
    }

    /// `local.dns.<domain>`.
    pub fn local_name(&self) -> String {
        format!("local.dns.{}", self.domain)
    }

    /// The TTL of negative answers: min(SOA TTL, SOA MINIMUM) (RFC 2308 §5).
    pub fn negative_ttl(&self) -> u32 {
        self.ttl.min(self.min_ttl)
    }

    /// `stub.dns.<domain>`.
    pub fn stub_name(&self) -> String {
        format!("stub.dns.{}", self.domain)
    }
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            domain: "skydns.local.".into(),
            hostmaster: "hostmaster.skydns.local.".into(),
            local: None,
            round_robin: true,
            ns_rotate: true,
            nameservers: Vec::new(),
            no_rec: false,
            read_timeout: Duration::from_secs(2),
            priority: 10,
            ttl: 3600,
            min_ttl: 60,
            dnssec: None,
            scache: 10_000,
            rcache: 0,
            rcache_ttl: 60,
            ndots: 2,
            stubzones: false,
            forward_allow: Acl::default(),
            edns_payload: 1232,
            query_log: false,
        }
    }
}
