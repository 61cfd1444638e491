//! Synthetic service data, and the zone a plain authoritative server needs to give the same
//! answers, shared by the Knot comparison (`examples/bench_data.rs`, run by
//! `scripts/bench-compare.sh`) and the differential test (`tests/differential_knot.rs`).
//!
//! [`generate`] builds, from N and a seed, N "core" services laid out for the benchmark
//! (`<j>.svc<k>.g<g>.skydns.local`: 10 instances per service, 10 services per group) plus a
//! fixed handful of every other kind (IPv6, TXT-only, mail, CNAME aliases and a chain, a
//! `targetstrip`, nameservers, reverse names), and from that:
//! - the etcd keys and JSON values, or the same as one file-store JSON ([`Data::etcd_items`],
//!   [`Data::file_store_json`]);
//! - the equivalent zones ([`Data::zone`], [`Data::reverse_zone`]): every name that exists for
//!   SkyDNS (every ancestor of a key) carries the records of its whole subtree, SRV weights are
//!   already turned into the percentages SkyDNS computes for that subtree, IP-host services get
//!   their synthesized SRV/MX targets, and a SkyDNS wildcard question `*.<parent>` is modelled
//!   by wildcard records owned by `*.<parent>`;
//! - the query lists of the benchmark workloads ([`Data::workload`]) and random questions for
//!   the differential test ([`Data::random_questions`]).
//!
//! Only `std` and `serde_json`, so the example can include this file with `#[path]`. Random
//! choices come from a small seeded generator: the same N and seed give the same data.

// Numbers are cut into address octets, ports and indexes on purpose: the values are small.
#![allow(clippy::cast_possible_truncation)]
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The zone skydns serves by default.
pub(crate) const ZONE: &str = "skydns.local.";
/// The reverse zone the comparison server holds for the PTR data.
pub(crate) const REVERSE_ZONE: &str = "in-addr.arpa.";
/// skydns's defaults (`ttl`, `min_ttl`, `priority`) and SOA fields.
pub(crate) const DEFAULT_TTL: u32 = 3600;
pub(crate) const MIN_TTL: u32 = 60;
pub(crate) const DEFAULT_PRIORITY: u16 = 10;
const DEFAULT_WEIGHT: u32 = 100;
const SOA_RDATA_TAIL: &str = "28800 7200 604800";
const MNAME: &str = "ns.dns.skydns.local.";
const RNAME: &str = "hostmaster.skydns.local.";
/// Instances per core service and services per group.
pub(crate) const INSTANCES: usize = 10;
pub(crate) const SERVICES_PER_GROUP: usize = 10;
/// Every `WILDCARD_EVERY`-th core service has its wildcard question modelled in the zone.
pub(crate) const WILDCARD_EVERY: usize = 4;

/// The question types the differential test asks.
pub(crate) const QTYPES: [&str; 9] = ["A", "AAAA", "SRV", "TXT", "MX", "NS", "SOA", "CNAME", "PTR"];

/// A small seeded generator (splitmix64): reproducible, no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with the given chance in percent.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A label that no generated name uses (and never `any`, a SkyDNS wildcard).
    pub(crate) fn missing_label(&mut self) -> String {
        format!("m{:x}", self.next_u64() & 0xff_ffff)
    }
}

/// Where a service points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    /// Text only.
    None,
    Ip(IpAddr),
    /// A name (lowercase, dot-terminated): a CNAME for address questions, an SRV/MX target.
    Name(String),
}

/// One service: its name (the key reversed) and the fields of its JSON value. Zero means
/// "not given" for the numbers, as in the store.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: String,
    pub host: Host,
    pub port: u16,
    pub priority: u16,
    pub weight: u16,
    pub text: String,
    pub mail: bool,
    pub ttl: u32,
    pub target_strip: usize,
}

impl Service {
    fn new(name: String, host: Host) -> Self {
        Service {
            name,
            host,
            port: 0,
            priority: 0,
            weight: 0,
            text: String::new(),
            mail: false,
            ttl: 0,
            target_strip: 0,
        }
    }

    /// The etcd key: `/skydns/` and the labels reversed.
    pub(crate) fn key(&self) -> String {
        name_to_key(&self.name)
    }

    /// The JSON value, with only the fields that are set.
    pub(crate) fn value(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        match &self.host {
            Host::None => {}
            Host::Ip(ip) => {
                m.insert("host".into(), ip.to_string().into());
            }
            Host::Name(n) => {
                m.insert("host".into(), n.trim_end_matches('.').into());
            }
        }
        let numbers = [
            ("port", u32::from(self.port)),
            ("priority", u32::from(self.priority)),
            ("weight", u32::from(self.weight)),
            ("ttl", self.ttl),
            ("targetstrip", self.target_strip as u32),
        ];
        for (field, v) in numbers {
            if v != 0 {
                m.insert(field.into(), v.into());
            }
        }
        if !self.text.is_empty() {
            m.insert("text".into(), self.text.clone().into());
        }
        if self.mail {
            m.insert("mail".into(), true.into());
        }
        serde_json::Value::Object(m)
    }

    fn ttl(&self) -> u32 {
        if self.ttl == 0 {
            DEFAULT_TTL
        } else {
            self.ttl
        }
    }

    fn priority(&self) -> u16 {
        if self.priority == 0 {
            DEFAULT_PRIORITY
        } else {
            self.priority
        }
    }

    fn weight(&self) -> u32 {
        if self.weight == 0 {
            DEFAULT_WEIGHT
        } else {
            u32::from(self.weight)
        }
    }

    /// The SRV/MX target: the host name, or for an address the service's own name; minus
    /// `targetstrip` labels (unless that would strip everything).
    fn target(&self) -> Option<String> {
        let base = match &self.host {
            Host::None => return None,
            Host::Ip(_) => self.name.as_str(),
            Host::Name(n) => n.as_str(),
        };
        let labels: Vec<&str> = base.trim_end_matches('.').split('.').collect();
        let strip = if self.target_strip < labels.len() {
            self.target_strip
        } else {
            0
        };
        Some(format!("{}.", labels[strip..].join(".")))
    }

    fn is_alias(&self) -> bool {
        matches!(self.host, Host::Name(_))
    }
}

/// `a.b.skydns.local.` -> `/skydns/local/skydns/b/a`.
pub(crate) fn name_to_key(name: &str) -> String {
    let mut labels: Vec<&str> = name.trim_end_matches('.').split('.').collect();
    labels.reverse();
    format!("/skydns/{}", labels.join("/"))
}

/// The name one label up (`None` for a single label).
fn parent(name: &str) -> Option<&str> {
    let (_, rest) = name.split_once('.')?;
    (!rest.is_empty()).then_some(rest)
}

/// True when `name` is `zone` or below it.
fn in_zone(name: &str, zone: &str) -> bool {
    name == zone || name.ends_with(&format!(".{zone}"))
}

/// A PTR of the reverse data: `/skydns/arpa/in-addr/...` with a name as host.
#[derive(Debug, Clone)]
pub(crate) struct Ptr {
    pub name: String,
    pub target: String,
}

impl Ptr {
    fn for_address(v4: Ipv4Addr, target: &str) -> Self {
        let [a, b, c, d] = v4.octets();
        Ptr {
            name: format!("{d}.{c}.{b}.{a}.in-addr.arpa."),
            target: target.to_owned(),
        }
    }
}

/// One RRset of the zone, rdata in presentation form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RRset {
    pub owner: String,
    pub rtype: &'static str,
    pub ttl: u32,
    pub rdata: BTreeSet<String>,
}

/// A zone file and what went into it.
pub(crate) struct Zone {
    pub text: String,
    pub records: usize,
    /// RRsets left out for being larger than the limit given to [`Data::zone`].
    pub omitted: usize,
}

/// The generated services and everything derived from them.
pub(crate) struct Data {
    /// Number of core services (`<j>.svc<k>.g<g>`), the first entries of `services`.
    pub core: usize,
    pub services: Vec<Service>,
    pub reverse: Vec<Ptr>,
    /// Parents whose SkyDNS wildcard question `*.<parent>` the zone models.
    pub wildcard_parents: BTreeSet<String>,
    /// Every name that exists for SkyDNS (in our zone) and the services of its subtree.
    nodes: BTreeMap<String, Vec<usize>>,
}

/// Name of core service `i`.
fn core_name(i: usize) -> String {
    let k = i / INSTANCES;
    format!(
        "{}.svc{k}.g{}.{ZONE}",
        i % INSTANCES + 1,
        k / SERVICES_PER_GROUP
    )
}

/// Loopback addresses only: nothing ever sends traffic to them, and if anything did it would
/// stay on this machine.
fn core_address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 1 + (i >> 16) as u8, (i >> 8) as u8, i as u8)
}

/// Builds the data set: `n` core services and the others (see the module doc).
pub(crate) fn generate(n: usize, seed: u64) -> Data {
    let mut rng = Rng::new(seed);
    let mut services = core_services(n, &mut rng);
    services.extend(other_services((n / 50).clamp(4, 20), &mut rng));
    let wildcard_parents = (0..n / INSTANCES)
        .filter(|k| k.is_multiple_of(WILDCARD_EVERY))
        .map(|k| parent(&core_name(k * INSTANCES)).unwrap_or(ZONE).to_owned())
        .collect();
    // Reverse names for some core instances and the mail exchangers.
    let reverse = services
        .iter()
        .enumerate()
        .filter(|(i, s)| *i < n.min(20) || s.mail)
        .filter_map(|(_, s)| match s.host {
            Host::Ip(IpAddr::V4(v4)) => Some(Ptr::for_address(v4, &s.name)),
            _ => None,
        })
        .collect();
    let nodes = index(&services);
    Data {
        core: n,
        services,
        reverse,
        wildcard_parents,
        nodes,
    }
}

/// `<j>.svc<k>.g<g>`: one IPv4 address each, equal weights, random ports.
fn core_services(n: usize, rng: &mut Rng) -> Vec<Service> {
    (0..n)
        .map(|i| {
            let mut s = Service::new(core_name(i), Host::Ip(IpAddr::V4(core_address(i))));
            s.port = 1024 + rng.below(60_000) as u16;
            s
        })
        .collect()
}

/// The other kinds, `extra` of the main ones: instances of both address families with mixed
/// priorities, weights, TTLs and texts; text-only services (one text longer than a
/// character-string); mail exchangers; aliases (to names with both families) and a chain of
/// two; a stripped target; the nameservers.
fn other_services(extra: usize, rng: &mut Rng) -> Vec<Service> {
    let mut services = Vec::new();
    for m in 0..extra {
        for j in 1..=3u16 {
            let host = match j {
                2 => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, m as u16, j)),
                _ => IpAddr::V4(Ipv4Addr::new(127, 3, m as u8, j as u8)),
            };
            let mut s = Service::new(format!("{j}.web{m}.dual.{ZONE}"), Host::Ip(host));
            s.port = 1024 + rng.below(60_000) as u16;
            s.priority = *rng.pick(&[0, 10, 20]);
            s.weight = *rng.pick(&[0, 1, 50, 100, 120, 130, 200]);
            s.ttl = *rng.pick(&[0, 0, 0, 60, 300]);
            if rng.chance(30) {
                s.text = format!("web{m} instance {j}");
            }
            services.push(s);
        }
    }
    for m in 0..extra / 2 + 1 {
        let mut s = Service::new(format!("t{m}.txt.{ZONE}"), Host::None);
        s.text = if m == 0 {
            "0123456789".repeat(30)
        } else {
            format!("motd {m} v={}", rng.below(1000))
        };
        services.push(s);
    }
    for m in 0..3u8 {
        let address = Ipv4Addr::new(127, 4, 0, m + 1);
        let mut s = Service::new(format!("mx{m}.mail.{ZONE}"), Host::Ip(IpAddr::V4(address)));
        s.mail = true;
        s.priority = *rng.pick(&[0, 5, 20]);
        services.push(s);
    }
    for m in 0..extra / 2 + 1 {
        let target = format!("web{}.dual.{ZONE}", rng.below(extra));
        let mut s = Service::new(format!("a{m}.alias.{ZONE}"), Host::Name(target));
        s.port = 1024 + rng.below(60_000) as u16;
        services.push(s);
    }
    let chain = Host::Name(format!("a0.alias.{ZONE}"));
    services.push(Service::new(format!("chain.alias.{ZONE}"), chain));
    let address = IpAddr::V4(Ipv4Addr::new(127, 5, 0, 1));
    let mut s = Service::new(format!("x.strip.{ZONE}"), Host::Ip(address));
    s.port = 80;
    s.target_strip = 1;
    services.push(s);
    for m in 1..=2u8 {
        let address = IpAddr::V4(Ipv4Addr::new(127, 0, 53, m));
        services.push(Service::new(
            format!("ns{m}.ns.dns.{ZONE}"),
            Host::Ip(address),
        ));
    }
    services
}

/// Every name that exists for SkyDNS (each service's name and its ancestors up to the apex)
/// with the services of its subtree.
fn index(services: &[Service]) -> BTreeMap<String, Vec<usize>> {
    let mut nodes: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, s) in services.iter().enumerate() {
        let mut name = s.name.as_str();
        loop {
            nodes.entry(name.to_owned()).or_default().push(i);
            if name == ZONE {
                break;
            }
            name = parent(name).unwrap_or(ZONE);
        }
    }
    nodes
}

impl Data {
    /// Every key and its JSON value as text, as one would `etcdctl put` them.
    pub(crate) fn etcd_items(&self) -> Vec<(String, String)> {
        let services = self.services.iter().map(|s| (s.key(), s.value()));
        let reverse = self.reverse.iter().map(|p| {
            let value = serde_json::json!({ "host": p.target.trim_end_matches('.') });
            (name_to_key(&p.name), value)
        });
        services
            .chain(reverse)
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    }

    /// The same keys and values as one JSON object, for `skydns --file`.
    pub(crate) fn file_store_json(&self) -> String {
        let mut map = serde_json::Map::new();
        for (key, value) in self.etcd_items() {
            let value = serde_json::from_str(&value).unwrap_or(serde_json::Value::Null);
            map.insert(key, value);
        }
        serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default()
    }

    /// Names that exist for SkyDNS in our zone (every ancestor of a service, the apex included).
    pub(crate) fn nodes(&self) -> impl Iterator<Item = &str> {
        self.nodes.keys().map(String::as_str)
    }

    /// True when SkyDNS has data at or below `name`, or `name` is a modelled wildcard question.
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.nodes.contains_key(name) || self.wildcard_question(name).is_some()
    }

    /// The parent of a modelled wildcard question `*.<parent>`.
    fn wildcard_question<'a>(&self, name: &'a str) -> Option<&'a str> {
        let p = name.strip_prefix("*.")?;
        self.wildcard_parents.contains(p).then_some(p)
    }

    /// The alias service stored exactly at `name`, if any.
    pub(crate) fn alias(&self, name: &str) -> Option<&Service> {
        let members = self.nodes.get(name)?;
        members
            .iter()
            .map(|&i| &self.services[i])
            .find(|s| s.name == name && s.is_alias())
    }

    /// True when `name` is a strict ancestor of an alias service.
    pub(crate) fn has_alias_below(&self, name: &str) -> bool {
        self.nodes.get(name).is_some_and(|members| {
            members
                .iter()
                .map(|&i| &self.services[i])
                .any(|s| s.is_alias() && s.name != name)
        })
    }

    /// True when `name` (in our zone) does not exist and the nearest existing ancestor has a
    /// modelled wildcard: a DNS server synthesizes an answer from `*.<ancestor>` there.
    pub(crate) fn under_modelled_wildcard(&self, name: &str) -> bool {
        if self.exists(name) || !in_zone(name, ZONE) {
            return false;
        }
        let mut up = parent(name);
        while let Some(p) = up {
            if self.nodes.contains_key(p) {
                return self.wildcard_parents.contains(p);
            }
            up = parent(p);
        }
        false
    }

    /// The zone's RRsets at an existing name (or modelled wildcard question): what SkyDNS
    /// answers there, except at an alias's own name, which holds only its CNAME.
    pub(crate) fn rrsets(&self, name: &str) -> Vec<RRset> {
        match self.alias(name) {
            Some(alias) => {
                // A CNAME owner holds nothing else (the generator puts nothing below aliases).
                let mut set = RRset::new(name, "CNAME");
                set.add(alias.ttl(), alias.target().unwrap_or_default());
                vec![set]
            }
            None => self.service_rrsets(name),
        }
    }

    /// What SkyDNS answers at an existing name (or modelled wildcard question) from the
    /// services of its subtree, one RRset per type: addresses, SRV (weights as percentages per
    /// priority), TXT and MX. CNAMEs are left out (a zone cannot hold them beside the rest).
    pub(crate) fn service_rrsets(&self, name: &str) -> Vec<RRset> {
        if let Some(p) = self.wildcard_question(name) {
            let members: Vec<usize> = self.nodes[p]
                .iter()
                .copied()
                .filter(|&i| self.services[i].name != p)
                .collect();
            return self.rrsets_of(name, &members);
        }
        match self.nodes.get(name) {
            Some(members) => self.rrsets_of(name, members),
            None => Vec::new(),
        }
    }

    fn rrsets_of(&self, owner: &str, members: &[usize]) -> Vec<RRset> {
        let services: Vec<&Service> = members.iter().map(|&i| &self.services[i]).collect();
        let mut a = RRset::new(owner, "A");
        let mut aaaa = RRset::new(owner, "AAAA");
        let mut srv = RRset::new(owner, "SRV");
        let mut txt = RRset::new(owner, "TXT");
        let mut mx = RRset::new(owner, "MX");
        let mut sums: BTreeMap<u16, u32> = BTreeMap::new();
        for s in services.iter().filter(|s| s.host != Host::None) {
            *sums.entry(s.priority()).or_default() += s.weight();
        }
        for s in &services {
            match s.host {
                Host::Ip(IpAddr::V4(v4)) => a.add(s.ttl(), v4.to_string()),
                Host::Ip(IpAddr::V6(v6)) => aaaa.add(s.ttl(), v6.to_string()),
                _ => {}
            }
            if let Some(target) = s.target() {
                let percent = 100 * s.weight() / sums[&s.priority()].max(1);
                let rdata = format!("{} {percent} {} {target}", s.priority(), s.port);
                srv.add(s.ttl(), rdata);
                if s.mail {
                    mx.add(s.ttl(), format!("{} {target}", s.priority()));
                }
            }
            if !s.text.is_empty() {
                let chunks: Vec<String> = s
                    .text
                    .as_bytes()
                    .chunks(255)
                    .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
                    .collect();
                txt.add(s.ttl(), chunks.join(" "));
            }
        }
        [a, aaaa, srv, txt, mx]
            .into_iter()
            .filter(|set| !set.rdata.is_empty())
            .collect()
    }

    /// The SOA rdata with the given serial.
    fn soa(serial: u32) -> String {
        format!("{MNAME} {RNAME} {serial} {SOA_RDATA_TAIL} {MIN_TTL}")
    }

    /// The zone for `skydns.local.` in master-file format. RRsets with more than `max_rrset`
    /// records are left out (Knot refuses RRsets over 64 KiB; a benchmark with 100,000
    /// services never asks the apex for all of them) and counted in [`Zone::omitted`].
    pub(crate) fn zone(&self, serial: u32, max_rrset: usize) -> Zone {
        let mut zone = Zone::new(ZONE, serial);
        let mut ns = RRset::new(ZONE, "NS");
        for s in self
            .services
            .iter()
            .filter(|s| parent(&s.name) == Some(MNAME))
        {
            ns.add(s.ttl(), s.name.clone());
        }
        zone.push(&ns, max_rrset);
        for name in self.nodes.keys() {
            for set in self.rrsets(name) {
                zone.push(&set, max_rrset);
            }
        }
        for p in &self.wildcard_parents {
            for set in self.rrsets(&format!("*.{p}")) {
                zone.push(&set, max_rrset);
            }
        }
        zone
    }

    /// The reverse zone (`in-addr.arpa.`) holding the PTR data.
    pub(crate) fn reverse_zone(&self, serial: u32) -> Zone {
        let mut zone = Zone::new(REVERSE_ZONE, serial);
        let mut ns = RRset::new(REVERSE_ZONE, "NS");
        ns.add(DEFAULT_TTL, format!("ns1.{MNAME}"));
        zone.push(&ns, usize::MAX);
        for p in &self.reverse {
            let mut set = RRset::new(&p.name, "PTR");
            set.add(DEFAULT_TTL, p.target.clone());
            zone.push(&set, usize::MAX);
        }
        zone
    }

    /// Full core services (all their instances present) and full groups.
    fn full_services(&self) -> Vec<String> {
        (0..self.core / INSTANCES)
            .map(|k| parent(&core_name(k * INSTANCES)).unwrap_or(ZONE).to_owned())
            .collect()
    }

    fn full_groups(&self) -> Vec<String> {
        let per_group = INSTANCES * SERVICES_PER_GROUP;
        (0..self.core / per_group)
            .map(|g| format!("g{g}.{ZONE}"))
            .collect()
    }

    /// `count` questions of a benchmark workload, each `(name, type)`. Empty when the data has
    /// no name of that kind (fewer than 10 or 100 core services).
    pub(crate) fn workload(
        &self,
        workload: Workload,
        count: usize,
        rng: &mut Rng,
    ) -> Vec<(String, &'static str)> {
        let services = self.full_services();
        let groups = self.full_groups();
        let wildcards: Vec<String> = services
            .iter()
            .filter(|s| self.wildcard_parents.contains(*s))
            .map(|s| format!("*.{s}"))
            .collect();
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let kind = match workload {
                Workload::Mixed => match rng.below(10) {
                    0..=5 => Workload::A,
                    6 | 7 => Workload::Srv,
                    8 => Workload::Wildcard,
                    _ => Workload::NxDomain,
                },
                other => other,
            };
            let q = match kind {
                Workload::A if self.core > 0 => (core_name(rng.below(self.core)), "A"),
                Workload::Srv if !services.is_empty() => (rng.pick(&services).clone(), "SRV"),
                Workload::Wildcard if !wildcards.is_empty() => {
                    (rng.pick(&wildcards).clone(), "SRV")
                }
                Workload::NxDomain => (format!("{}.{ZONE}", rng.missing_label()), "A"),
                Workload::Srv100 if !groups.is_empty() => (rng.pick(&groups).clone(), "SRV"),
                _ => return Vec::new(),
            };
            out.push(q);
        }
        out
    }

    /// `count` random questions for the differential test: names that exist (the apex, every
    /// ancestor, leaves, aliases), modelled wildcard questions, names that do not exist (below
    /// existing names, beside leaves, below wildcard parents), reverse names with and without
    /// data, and foreign names; each with a type from [`QTYPES`], or for half the names with
    /// data one of the types they have.
    pub(crate) fn random_questions(
        &self,
        count: usize,
        rng: &mut Rng,
    ) -> Vec<(String, &'static str)> {
        let nodes: Vec<String> = self.nodes.keys().cloned().collect();
        let parents: Vec<String> = self.wildcard_parents.iter().cloned().collect();
        let parents: &[String] = if parents.is_empty() { &nodes } else { &parents };
        let reverse: Vec<String> = self.reverse.iter().map(|p| p.name.clone()).collect();
        let reverse: &[String] = if reverse.is_empty() { &nodes } else { &reverse };
        // Every type at the names where the intended differences live (aliases and the names
        // above them), so that each is asked whatever the draw; then the random ones.
        let edges: Vec<(String, &'static str)> = nodes
            .iter()
            .filter(|n| self.alias(n).is_some() || self.has_alias_below(n))
            .flat_map(|n| QTYPES.iter().map(move |t| (n.clone(), *t)))
            .take(count)
            .collect();
        let random = (edges.len()..count)
            .map(|_| {
                let name = match rng.below(20) {
                    0..=8 | 19 => rng.pick(&nodes).clone(),
                    9 => format!("*.{}", rng.pick(parents)),
                    10..=12 => format!("{}.{}", rng.missing_label(), rng.pick(&nodes)),
                    13 => {
                        // Beside an existing name: its first label replaced.
                        let rest = parent(rng.pick(&nodes).as_str()).unwrap_or(ZONE).to_owned();
                        format!("{}.{rest}", rng.missing_label())
                    }
                    14 => {
                        let (a, b) = (rng.missing_label(), rng.missing_label());
                        format!("{a}.{b}.{}", rng.pick(parents))
                    }
                    15 | 16 => rng.pick(reverse).clone(),
                    17 => {
                        // Reverse names without data, and the ancestors of those with data.
                        let up = parent(rng.pick(reverse).as_str())
                            .unwrap_or(REVERSE_ZONE)
                            .to_owned();
                        match rng.below(2) {
                            0 => format!("{}.{up}", rng.below(256)),
                            _ => up,
                        }
                    }
                    _ => format!("{}.example.org.", rng.missing_label()),
                };
                // Half the questions for names with data ask for a type they have.
                let sets = self.rrsets(&name);
                let qtype = if !sets.is_empty() && rng.chance(50) {
                    rng.pick(&sets).rtype
                } else {
                    *rng.pick(&QTYPES)
                };
                (name, qtype)
            })
            .collect::<Vec<_>>();
        edges.into_iter().chain(random).collect()
    }
}

/// The benchmark workloads with their own query lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Workload {
    /// One A record: an instance's own name.
    A,
    /// A service's name: 10 SRV records with 10 A records as glue.
    Srv,
    /// `*.<service>` SRV: the same 10 records through a SkyDNS wildcard.
    Wildcard,
    /// A name that does not exist.
    NxDomain,
    /// 60 % A, 20 % SRV, 10 % wildcard, 10 % NXDOMAIN.
    Mixed,
    /// A group's name: 100 SRV records (asked over TCP).
    Srv100,
}

impl RRset {
    fn new(owner: &str, rtype: &'static str) -> Self {
        RRset {
            owner: owner.to_owned(),
            rtype,
            ttl: u32::MAX,
            rdata: BTreeSet::new(),
        }
    }

    /// Adds a record; the RRset's TTL is the smallest of its records' (as skydns answers).
    fn add(&mut self, ttl: u32, rdata: String) {
        self.ttl = self.ttl.min(ttl);
        self.rdata.insert(rdata);
    }
}

impl Zone {
    /// A zone with its SOA.
    fn new(origin: &str, serial: u32) -> Self {
        let mut zone = Zone {
            text: format!("; generated by tests/common/generator.rs\n$ORIGIN {origin}\n"),
            records: 0,
            omitted: 0,
        };
        let mut soa = RRset::new(origin, "SOA");
        soa.add(DEFAULT_TTL, Data::soa(serial));
        zone.push(&soa, 1);
        zone
    }

    fn push(&mut self, set: &RRset, max_rrset: usize) {
        if set.rdata.is_empty() {
            return;
        }
        if set.rdata.len() > max_rrset {
            self.omitted += 1;
            let _ = writeln!(
                self.text,
                "; left out: {} {} ({} records)",
                set.owner,
                set.rtype,
                set.rdata.len()
            );
            return;
        }
        for rdata in &set.rdata {
            let _ = writeln!(
                self.text,
                "{} {} IN {} {rdata}",
                set.owner, set.ttl, set.rtype
            );
        }
        self.records += set.rdata.len();
    }
}
