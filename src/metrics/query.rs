//! What is counted per DNS query, and the labels it is counted under: requests by protocol,
//! address family and type; responses by rcode and the path that made them; request and
//! response sizes and durations (histograms); DO requests; queries that got no reply; the
//! hits and misses of the answer table and of the forward cache. Every label value is one
//! of a fixed list (the common query types and rcodes have their own, the rest are
//! `other`), so each label set is an index into one [`Bank`] computed with a few
//! comparisons.
//!
//! The query handler (`net::handler`) fills a [`Tally`] while it answers and hands it over
//! with the request and reply bytes; the exposition reads a [`Reading`].

use std::net::IpAddr;
use std::time::Duration;

use super::counters::{Bank, Buckets, Observed};
use crate::core::Transport;

/// Query types with their own `type` label; others count as `other`.
const QTYPES: [(u16, &str); 22] = [
    (1, "A"),
    (2, "NS"),
    (5, "CNAME"),
    (6, "SOA"),
    (12, "PTR"),
    (13, "HINFO"),
    (15, "MX"),
    (16, "TXT"),
    (28, "AAAA"),
    (33, "SRV"),
    (35, "NAPTR"),
    (43, "DS"),
    (46, "RRSIG"),
    (47, "NSEC"),
    (48, "DNSKEY"),
    (50, "NSEC3"),
    (64, "SVCB"),
    (65, "HTTPS"),
    (251, "IXFR"),
    (252, "AXFR"),
    (255, "ANY"),
    (257, "CAA"),
];

/// Rcodes (extended, as in OPT) with their own `rcode` label; others count as `other`.
const RCODES: [(u16, &str); 9] = [
    (0, "NOERROR"),
    (1, "FORMERR"),
    (2, "SERVFAIL"),
    (3, "NXDOMAIN"),
    (4, "NOTIMP"),
    (5, "REFUSED"),
    (9, "NOTAUTH"),
    (16, "BADVERS"),
    (23, "BADCOOKIE"),
];

/// The label value of everything a list leaves out.
const OTHER: &str = "other";

/// Label values of the transports, in the order of [`proto_index`].
const PROTOS: [&str; 2] = ["udp", "tcp"];

/// Label values of the address families (as CoreDNS: 1 IPv4, 2 IPv6).
const FAMILIES: [&str; 2] = ["1", "2"];

/// The path that made a response: the `source` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// skydns itself: its zone, reverse names, and its own errors (FORMERR, NOTIMP,
    /// SERVFAIL while loading or when upstreams fail).
    #[default]
    Auth,
    /// The nameservers answered a forwarded query.
    Forward,
    /// A stub zone's servers answered.
    Stub,
    /// The forward cache answered a forwarded or stub query.
    Cache,
    /// Refused by policy: a foreign name for a client outside `forward_allow`, with
    /// `no_rec` or too few labels, another class than IN, a zone transfer.
    Refused,
}

impl Origin {
    const ALL: [Origin; 5] = [
        Origin::Auth,
        Origin::Forward,
        Origin::Stub,
        Origin::Cache,
        Origin::Refused,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Origin::Auth => "auth",
            Origin::Forward => "forward",
            Origin::Stub => "stub",
            Origin::Cache => "cache",
            Origin::Refused => "refused",
        }
    }
}

/// Why a query got no reply at all (rate limiting is counted by the limiter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// Too short for a header, or a response rather than a query.
    Malformed,
    /// It had passed a stub forwarder already (a stub-zone loop).
    Loop,
    /// A UDP datagram longer than any query we read.
    Oversize,
}

impl Dropped {
    const ALL: [Dropped; 3] = [Dropped::Malformed, Dropped::Loop, Dropped::Oversize];

    /// The label value (`reason`).
    pub fn label(self) -> &'static str {
        match self {
            Dropped::Malformed => "malformed",
            Dropped::Loop => "loop",
            Dropped::Oversize => "oversize",
        }
    }
}

/// The caches whose look-ups are counted here (the signature cache counts its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// The table of compiled answers of our zone.
    Answer,
    /// Forwarded answers (`rcache`).
    Forward,
}

impl Cache {
    const ALL: [Cache; 2] = [Cache::Answer, Cache::Forward];

    /// The label value (`cache`).
    pub fn label(self) -> &'static str {
        match self {
            Cache::Answer => "answer",
            Cache::Forward => "forward",
        }
    }
}

/// What the handler learns about one query while answering it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    /// The question type, once read.
    pub qtype: Option<u16>,
    /// The query asked for DNSSEC records (DO).
    pub dnssec_ok: bool,
    /// The rcode of the reply (extended).
    pub rcode: u16,
    /// The path that made the reply.
    pub origin: Origin,
    /// Why no reply is sent, when the handler decided so.
    pub dropped: Option<Dropped>,
}

/// Request and response sizes, in bytes (CoreDNS's buckets).
const SIZES: Buckets = Buckets {
    bounds: &[
        0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16_000, 32_000, 48_000, 64_000,
    ],
};

/// Durations, in nanoseconds: 25 µs to 5 s (queries, and exchanges with upstreams).
pub(super) const DURATIONS: Buckets = Buckets {
    bounds: &[
        25_000,
        50_000,
        100_000,
        250_000,
        500_000,
        1_000_000,
        2_500_000,
        5_000_000,
        10_000_000,
        25_000_000,
        50_000_000,
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
        2_500_000_000,
        5_000_000_000,
    ],
};

/// Where each family of counters starts in the bank.
mod at {
    use super::{Cache, Dropped, Origin, DURATIONS, FAMILIES, PROTOS, QTYPES, RCODES, SIZES};

    /// Label values per list, `other` included.
    pub(super) const TYPES: usize = QTYPES.len() + 1;
    pub(super) const CODES: usize = RCODES.len() + 1;

    pub(super) const REQUESTS: usize = 0;
    pub(super) const RESPONSES: usize = REQUESTS + PROTOS.len() * FAMILIES.len() * TYPES;
    pub(super) const DO_REQUESTS: usize = RESPONSES + CODES * Origin::ALL.len();
    pub(super) const DROPPED: usize = DO_REQUESTS + 1;
    /// Hits then misses, per cache.
    pub(super) const CACHES: usize = DROPPED + Dropped::ALL.len();
    pub(super) const REQUEST_SIZES: usize = CACHES + 2 * Cache::ALL.len();
    pub(super) const RESPONSE_SIZES: usize = REQUEST_SIZES + PROTOS.len() * SIZES.width();
    pub(super) const DURATIONS_BY_TYPE: usize = RESPONSE_SIZES + PROTOS.len() * SIZES.width();
    pub(super) const LEN: usize = DURATIONS_BY_TYPE + TYPES * DURATIONS.width();
}

/// The index of a query type in [`QTYPES`] (`other` last).
fn qtype_index(qtype: Option<u16>) -> usize {
    qtype
        .and_then(|t| QTYPES.iter().position(|(value, _)| *value == t))
        .unwrap_or(QTYPES.len())
}

/// The index of an rcode in [`RCODES`] (`other` last).
pub(super) fn rcode_index(rcode: u16) -> usize {
    RCODES
        .iter()
        .position(|(value, _)| *value == rcode)
        .unwrap_or(RCODES.len())
}

fn proto_index(transport: Transport) -> usize {
    match transport {
        Transport::Udp => 0,
        Transport::Tcp => 1,
    }
}

/// The label value at `index` of `list` (`other` past its end).
fn label_of(list: &[(u16, &'static str)], index: usize) -> &'static str {
    list.get(index).map_or(OTHER, |(_, name)| name)
}

/// Nanoseconds, saturating.
pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn bytes(len: usize) -> u64 {
    u64::try_from(len).unwrap_or(u64::MAX)
}

/// The per-query counters, shared by every server thread.
#[derive(Debug)]
pub struct QueryMetrics {
    bank: Bank,
}

impl Default for QueryMetrics {
    fn default() -> Self {
        QueryMetrics {
            bank: Bank::new(at::LEN),
        }
    }
}

impl QueryMetrics {
    /// Counts one query: `request` received over `transport` from `client`, answered with
    /// `reply` (`None`: nothing was sent) after `elapsed`, as `tally` describes it.
    pub fn record(
        &self,
        transport: Transport,
        client: IpAddr,
        request: &[u8],
        reply: Option<&[u8]>,
        tally: &Tally,
        elapsed: Duration,
    ) {
        let bank = &self.bank;
        let proto = proto_index(transport);
        let family = usize::from(client.to_canonical().is_ipv6());
        let qtype = qtype_index(tally.qtype);
        bank.add(
            at::REQUESTS + (proto * FAMILIES.len() + family) * at::TYPES + qtype,
            1,
        );
        if tally.dnssec_ok {
            bank.add(at::DO_REQUESTS, 1);
        }
        SIZES.observe(
            bank,
            at::REQUEST_SIZES + proto * SIZES.width(),
            bytes(request.len()),
        );
        DURATIONS.observe(
            bank,
            at::DURATIONS_BY_TYPE + qtype * DURATIONS.width(),
            nanos(elapsed),
        );
        if let Some(dropped) = tally.dropped {
            bank.add(at::DROPPED + dropped as usize, 1);
        }
        if let Some(reply) = reply {
            let origin = tally.origin as usize;
            bank.add(
                at::RESPONSES + rcode_index(tally.rcode) * Origin::ALL.len() + origin,
                1,
            );
            SIZES.observe(
                bank,
                at::RESPONSE_SIZES + proto * SIZES.width(),
                bytes(reply.len()),
            );
        }
    }

    /// Counts a query dropped before it reached the handler.
    pub fn dropped(&self, why: Dropped) {
        self.bank.add(at::DROPPED + why as usize, 1);
    }

    /// Counts one look-up of `cache`.
    pub fn cache_lookup(&self, cache: Cache, hit: bool) {
        self.bank
            .add(at::CACHES + cache as usize * 2 + usize::from(!hit), 1);
    }

    /// Every counter at this moment.
    pub fn read(&self) -> Reading {
        Reading {
            sums: self.bank.sums(),
        }
    }
}

/// A histogram of a reading, with the unit its values are in.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Upper bounds of the buckets, in the exposed unit (bytes or seconds).
    pub bounds: Vec<f64>,
    /// The observations.
    pub observed: Observed,
    /// The sum, in the exposed unit.
    pub sum: f64,
}

impl Histogram {
    /// The histogram `buckets` observed, its values divided by `unit` for the exposition.
    pub(super) fn new(buckets: Buckets, observed: Observed, unit: f64) -> Self {
        #[allow(clippy::cast_precision_loss)] // exposed as floating point, as Prometheus does
        let scale = |v: u64| v as f64 / unit;
        Histogram {
            bounds: buckets.bounds.iter().map(|b| scale(*b)).collect(),
            sum: scale(observed.sum),
            observed,
        }
    }
}

/// The per-query counters read at one moment, by label set.
#[derive(Debug, Clone)]
pub struct Reading {
    sums: Vec<u64>,
}

impl Reading {
    fn at(&self, index: usize) -> u64 {
        self.sums.get(index).copied().unwrap_or(0)
    }

    /// Requests by `proto`, `family` and `type`.
    pub fn requests(&self) -> Vec<([&'static str; 3], u64)> {
        let mut out = Vec::new();
        for (p, proto) in PROTOS.iter().enumerate() {
            for (f, family) in FAMILIES.iter().enumerate() {
                for t in 0..at::TYPES {
                    let index = at::REQUESTS + (p * FAMILIES.len() + f) * at::TYPES + t;
                    out.push(([*proto, *family, label_of(&QTYPES, t)], self.at(index)));
                }
            }
        }
        out
    }

    /// Responses by `rcode` and `source`.
    pub fn responses(&self) -> Vec<([&'static str; 2], u64)> {
        let mut out = Vec::new();
        for code in 0..at::CODES {
            for origin in Origin::ALL {
                let index = at::RESPONSES + code * Origin::ALL.len() + origin as usize;
                out.push(([label_of(&RCODES, code), origin.label()], self.at(index)));
            }
        }
        out
    }

    /// Requests with the DO bit.
    pub fn do_requests(&self) -> u64 {
        self.at(at::DO_REQUESTS)
    }

    /// Queries that got no reply, by `reason`.
    pub fn dropped(&self) -> Vec<(&'static str, u64)> {
        Dropped::ALL
            .iter()
            .map(|d| (d.label(), self.at(at::DROPPED + *d as usize)))
            .collect()
    }

    /// Hits and misses by `cache`.
    pub fn caches(&self) -> Vec<(&'static str, u64, u64)> {
        Cache::ALL
            .iter()
            .map(|c| {
                let first = at::CACHES + *c as usize * 2;
                (c.label(), self.at(first), self.at(first + 1))
            })
            .collect()
    }

    /// Request sizes (bytes) by `proto`.
    pub fn request_sizes(&self) -> Vec<(&'static str, Histogram)> {
        self.sizes(at::REQUEST_SIZES)
    }

    /// Response sizes (bytes) by `proto`.
    pub fn response_sizes(&self) -> Vec<(&'static str, Histogram)> {
        self.sizes(at::RESPONSE_SIZES)
    }

    fn sizes(&self, first: usize) -> Vec<(&'static str, Histogram)> {
        PROTOS
            .iter()
            .enumerate()
            .map(|(p, proto)| {
                let observed = SIZES.read(&self.sums, first + p * SIZES.width());
                (*proto, Histogram::new(SIZES, observed, 1.0))
            })
            .collect()
    }

    /// Durations (seconds) by `type`.
    pub fn durations(&self) -> Vec<(&'static str, Histogram)> {
        (0..at::TYPES)
            .map(|t| {
                let first = at::DURATIONS_BY_TYPE + t * DURATIONS.width();
                let observed = DURATIONS.read(&self.sums, first);
                (
                    label_of(&QTYPES, t),
                    Histogram::new(DURATIONS, observed, 1e9),
                )
            })
            .collect()
    }
}

/// The label values of the rcodes, by [`rcode_index`] (`other` last).
pub(super) fn rcode_labels() -> impl Iterator<Item = &'static str> {
    (0..at::CODES).map(|i| label_of(&RCODES, i))
}

/// The number of rcode label values.
pub(super) const RCODE_LABELS: usize = at::CODES;

#[cfg(test)]
mod tests {
    use super::*;

    fn find<const N: usize>(rows: &[([&str; N], u64)], labels: [&str; N]) -> u64 {
        rows.iter()
            .find(|(l, _)| *l == labels)
            .map_or(u64::MAX, |(_, v)| *v)
    }

    #[test]
    fn a_query_counts_under_its_labels() {
        let m = QueryMetrics::default();
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.1".parse().unwrap();
        let answered = Tally {
            qtype: Some(28),
            dnssec_ok: true,
            rcode: 3,
            ..Tally::default()
        };
        let ms = Duration::from_millis(1);
        m.record(Transport::Udp, v4, &[0; 40], Some(&[0; 90]), &answered, ms);
        m.record(
            Transport::Udp,
            mapped,
            &[0; 40],
            Some(&[0; 90]),
            &answered,
            ms,
        );
        let forwarded = Tally {
            qtype: Some(999),
            rcode: 23,
            origin: Origin::Forward,
            ..Tally::default()
        };
        m.record(
            Transport::Tcp,
            v6,
            &[0; 30],
            Some(&[0; 700]),
            &forwarded,
            ms,
        );
        let dropped = Tally {
            dropped: Some(Dropped::Malformed),
            ..Tally::default()
        };
        m.record(Transport::Udp, v4, &[0; 5], None, &dropped, ms);
        m.cache_lookup(Cache::Forward, false);
        m.dropped(Dropped::Oversize);

        let r = m.read();
        let requests = r.requests();
        assert_eq!(requests.len(), 2 * 2 * 23);
        assert_eq!(find(&requests, ["udp", "1", "AAAA"]), 2);
        assert_eq!(find(&requests, ["tcp", "2", "other"]), 1);
        assert_eq!(find(&requests, ["udp", "1", "other"]), 1);
        let responses = r.responses();
        assert_eq!(find(&responses, ["NXDOMAIN", "auth"]), 2);
        assert_eq!(find(&responses, ["BADCOOKIE", "forward"]), 1);
        assert_eq!(responses.iter().map(|(_, v)| v).sum::<u64>(), 3);
        assert_eq!(r.do_requests(), 2);
        assert_eq!(
            r.dropped(),
            vec![("malformed", 1), ("loop", 0), ("oversize", 1)]
        );
        assert_eq!(r.caches(), vec![("answer", 0, 0), ("forward", 0, 1)]);
        let udp_requests = &r.request_sizes()[0].1;
        assert_eq!(udp_requests.observed.count, 3);
        assert_eq!(udp_requests.sum, 85.0);
        let tcp_responses = &r.response_sizes()[1].1;
        assert_eq!(tcp_responses.observed.count, 1);
        // 700 bytes: the bucket up to 1023, the seventh.
        assert_eq!(tcp_responses.observed.counts[6], 1);
        let aaaa = &r.durations()[8];
        assert_eq!(aaaa.0, "AAAA");
        assert_eq!(aaaa.1.observed.count, 2);
        assert!((aaaa.1.sum - 0.002).abs() < 1e-12);
        assert_eq!(aaaa.1.bounds[0], 25e-6);
    }

    #[test]
    fn labels_of_codes_and_types() {
        let rcode = |code| rcode_labels().nth(rcode_index(code)).unwrap();
        assert_eq!(rcode(0), "NOERROR");
        assert_eq!(rcode(16), "BADVERS");
        assert_eq!(rcode(7), "other");
        assert_eq!(rcode_labels().count(), RCODE_LABELS);
        assert_eq!(label_of(&QTYPES, qtype_index(Some(33))), "SRV");
        assert_eq!(label_of(&QTYPES, qtype_index(None)), "other");
    }
}
