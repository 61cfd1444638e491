//! The settings that can change while running, in the form the answering, forwarding and
//! signing paths read them. Immutable once built; a reload builds a new one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::acl::Acl;
use super::host::HostFacts;
use super::settings::RuntimeSettings;
use super::startup::StartupConfig;

/// Everything the answering, forwarding and signing paths read.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeConfig {
    /// The zone we are authoritative for: lowercase, dot-terminated (`skydns.local.`).
    pub domain: String,
    /// SOA RNAME, dot-terminated (`hostmaster.skydns.local.`).
    pub hostmaster: String,
    /// `domain`, `ns.dns.<domain>` and `hostmaster` as DNS names, parsed once here rather than
    /// per answer; `None` only if one does not parse (validation refuses such settings).
    pub zone_names: Option<ZoneNames>,
    /// The name answered for `local.dns.<domain>`, if any (lowercase, dot-terminated).
    pub local: Option<String>,
    /// Shuffle address records.
    pub round_robin: bool,
    /// Rotate over the nameservers.
    pub ns_rotate: bool,
    /// Upstream nameservers.
    pub nameservers: Vec<SocketAddr>,
    /// Never forward.
    pub no_rec: bool,
    /// Timeout of one upstream exchange.
    pub read_timeout: Duration,
    /// SRV priority / MX preference of services that give none.
    pub priority: u16,
    /// Default TTL; also the SOA, DNSKEY and positive-answer cap.
    pub ttl: u32,
    /// SOA MINIMUM and the TTL of negative answers (with the SOA TTL, RFC 2308).
    pub min_ttl: u32,
    /// DNSSEC key basename (`Kskydns.local.+013+12345`), if signing.
    pub dnssec: Option<PathBuf>,
    /// Signature cache capacity.
    pub scache: usize,
    /// Forward cache capacity (0: off).
    pub rcache: usize,
    /// Longest time a forwarded answer is cached, in seconds.
    pub rcache_ttl: u32,
    /// A name needs at least this many labels before it is forwarded.
    pub ndots: usize,
    /// Forward to stub zones found under `stub.dns.<domain>`.
    pub stubzones: bool,
    /// Who may have names outside our zone forwarded (RFC 5358).
    pub forward_allow: Acl,
    /// Clients never rate limited (`rrl_exempt`, with `localnets` resolved).
    pub rrl_exempt: Acl,
    /// The EDNS UDP payload we advertise and clamp client sizes to.
    pub edns_payload: u16,
    /// Log one line per query.
    pub query_log: bool,
    /// The log level.
    pub log_level: String,
    /// Every run-time setting as given: settings used as they are are read from here.
    pub settings: RuntimeSettings,
}

impl RuntimeConfig {
    /// Builds the runtime config from its settings, the start-up config (for the sockets
    /// that default nameservers must leave out) and the host.
    pub fn new(s: &RuntimeSettings, startup: &StartupConfig, host: &HostFacts) -> Self {
        let domain = s.domain.0.clone();
        let with_host = |acl: &Acl| {
            let mut acl = acl.clone();
            if acl.localnets {
                acl.host_networks = host.networks.clone();
            }
            acl
        };
        let hostmaster = s
            .hostmaster
            .get()
            .map_or_else(|| format!("hostmaster.{domain}"), |h| h.0.clone());
        RuntimeConfig {
            zone_names: ZoneNames::parse(&domain, &hostmaster),
            hostmaster,
            domain,
            local: s.local.get().map(|l| l.0.clone()),
            round_robin: s.round_robin.0,
            ns_rotate: s.ns_rotate.0,
            nameservers: match s.nameservers.get() {
                Some(list) => list.0.clone(),
                None => host.default_nameservers(startup.systemd, &startup.addrs),
            },
            no_rec: s.no_rec.0,
            read_timeout: s.read_timeout.0,
            priority: s.priority.as_u16(),
            ttl: s.ttl.as_u32(),
            min_ttl: s.min_ttl.as_u32(),
            dnssec: s.dnssec.get().map(|k| k.0.clone()),
            scache: s.scache.0,
            rcache: s.rcache.0,
            rcache_ttl: s.rcache_ttl.as_u32(),
            ndots: s.ndots.as_usize(),
            stubzones: s.stubzones.0,
            forward_allow: with_host(&s.forward_allow.0),
            rrl_exempt: with_host(&s.rrl_exempt.0),
            edns_payload: s.edns_payload.as_u16(),
            query_log: s.query_log.0,
            log_level: s.log_level.0.clone(),
            settings: s.clone(),
        }
    }

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

/// The names of our zone's SOA, in wire form.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneNames {
    /// The apex, `domain`.
    pub apex: Name,
    /// The SOA MNAME, `ns.dns.<domain>`.
    pub mname: Name,
    /// The SOA RNAME, `hostmaster`.
    pub rname: Name,
}

impl ZoneNames {
    /// The names of the zone `domain` with the SOA RNAME `hostmaster` (both dot-terminated).
    fn parse(domain: &str, hostmaster: &str) -> Option<Self> {
        let apex = Name::from_ascii(domain).ok()?;
        Some(ZoneNames {
            mname: Name::from_ascii(format!("ns.dns.{domain}")).ok()?,
            rname: Name::from_ascii(hostmaster).ok()?,
            apex,
        })
    }
}

impl Default for RuntimeConfig {
    /// The configuration every default gives (no host facts: no nameservers).
    fn default() -> Self {
        super::defaults().runtime
    }
}
