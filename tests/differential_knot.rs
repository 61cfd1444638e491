//! T18, the differential test: skydns (file store) and Knot DNS (the equivalent zone, written
//! by `tests/common/generator.rs`) are asked the same 10,000 random questions without DO, over
//! UDP (TCP after a truncated reply); their rcode, AA flag and answer section (as a set of
//! records: TTLs and order ignored) must be equal, apart from the differences SkyDNS means to
//! have, which [`intended_difference`] lists and checks one by one.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType};

use common::generator::{self, Data, Rng, REVERSE_ZONE, ZONE};
use common::knot::Knot;
use common::server::{tcp_query, udp_query, Skydns, TempDir};

/// Core services of the data set (plus about 50 of other kinds).
const SERVICES: usize = 300;
const QUESTIONS: usize = 10_000;
const SEED: u64 = 0x5eed_d1ff;
const TIMEOUT: Duration = Duration::from_secs(2);

/// What is compared of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
struct View {
    rcode: ResponseCode,
    aa: bool,
    /// `owner TYPE rdata`, lowercase.
    answer: BTreeSet<String>,
}

impl View {
    fn of(reply: &Message) -> View {
        View {
            rcode: reply.metadata.response_code,
            aa: reply.metadata.authoritative,
            answer: reply.answers.iter().map(record_text).collect(),
        }
    }

    /// The same view with only the answer records `keep` accepts.
    fn filtered(&self, keep: impl Fn(&str) -> bool) -> View {
        View {
            answer: self.answer.iter().filter(|r| keep(r)).cloned().collect(),
            ..self.clone()
        }
    }
}

impl fmt::Display for View {
    /// The rcode and AA flag (`NXDOMAIN aa`); records are shown by [`differences`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let aa = if self.aa { " aa" } else { "" };
        write!(f, "{}{aa}, {} records", self.rcode, self.answer.len())
    }
}

/// What differs between two views, for a failure message.
fn differences(question: &str, sky: &View, knot: &View) -> String {
    let mut text = format!("{question}: skydns {sky}; knot {knot}");
    for (who, mine, theirs) in [("skydns", sky, knot), ("knot", knot, sky)] {
        for r in mine.answer.difference(&theirs.answer) {
            text.push_str(&format!("\n    only from {who}: {r}"));
        }
    }
    text
}

/// `owner TYPE rdata` in lowercase; TXT as quoted character-strings, as the generator writes it.
fn record_text(r: &Record) -> String {
    let data = match &r.data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    format!("{} {} {data}", r.name, r.record_type()).to_ascii_lowercase()
}

/// The reply of `server`: over UDP (one retry after a lost datagram), then over TCP when it was
/// truncated.
fn ask(server: SocketAddr, name: &str, qtype: RecordType) -> Option<Message> {
    let reply = udp_query(server, name, qtype, TIMEOUT)
        .or_else(|| udp_query(server, name, qtype, TIMEOUT))?;
    if reply.metadata.truncation {
        return tcp_query(server, name, qtype, TIMEOUT);
    }
    Some(reply)
}

/// The differences between skydns and a plain authoritative server holding the equivalent zone
/// that SkyDNS semantics make on purpose. Each rule names itself when it explains the
/// difference exactly; anything else is a failure of the test.
///
/// 1. `reverse`: `in-addr.arpa.` is not skydns's zone (as in SkyDNS). A PTR from
///    `/skydns/arpa/...` is answered with AA=0; every other question there (names without
///    data, their ancestors, other types) would be forwarded, which `--no-rec` turns into
///    REFUSED. Knot is authoritative for the reverse zone (AA=1, NXDOMAIN or NODATA).
/// 2. `alias in subtree`: A/AAAA for a name above an alias service (a service whose host is a
///    name). SkyDNS answers with the whole subtree, so that includes a CNAME owned by the
///    question name and the records of the chain; a zone cannot hold a CNAME beside other
///    data, so the zone has only the addresses. Without the CNAMEs owned by the question name
///    and the records owned by other names, skydns's answer is Knot's.
/// 3. `alias, other types`: an alias's own name asked for a type other than A, AAAA or CNAME.
///    Knot follows the CNAME (RFC 1034 §3.6.2); skydns answers from the service itself
///    (SkyDNS): SRV with the host name as target, NODATA for the rest.
/// 4. `wildcard synthesis`: SkyDNS wildcards are patterns in the question
///    (`*.svc4.g0.skydns.local` matches the services below `svc4.g0`) and a name missing from
///    the data is NXDOMAIN. The zone models such a question with records owned by
///    `*.svc4.g0`, which a DNS server (RFC 4592) also uses to synthesize answers for every
///    missing name below `svc4.g0`: there Knot answers NOERROR where skydns says NXDOMAIN.
///
/// Not differences, because the generator's zone mirrors them: subtree answers (every name
/// carries its subtree's records), SRV weights as percentages per priority, synthesized SRV
/// and MX targets, the apex SOA (the zone takes skydns's serial) and NS, the modelled wildcard
/// questions themselves.
fn intended_difference(
    data: &Data,
    name: &str,
    qtype: RecordType,
    sky: &View,
    knot: &View,
) -> Option<&'static str> {
    if name == REVERSE_ZONE || name.ends_with(&format!(".{REVERSE_ZONE}")) {
        let has_ptr = data.reverse.iter().any(|p| p.name == name);
        let explained = if qtype == RecordType::PTR && has_ptr {
            !sky.aa
                && knot.aa
                && View {
                    aa: true,
                    ..sky.clone()
                } == *knot
        } else {
            sky.rcode == ResponseCode::Refused && !sky.aa && sky.answer.is_empty()
        };
        return explained.then_some("reverse");
    }
    if matches!(qtype, RecordType::A | RecordType::AAAA)
        && data.alias(name).is_none()
        && data.has_alias_below(name)
    {
        let owner = format!("{name} ");
        let cname = format!("{name} cname ");
        let kept = sky.filtered(|r| r.starts_with(&owner) && !r.starts_with(&cname));
        return (kept == *knot).then_some("alias in subtree");
    }
    if data.alias(name).is_some()
        && !matches!(qtype, RecordType::A | RecordType::AAAA | RecordType::CNAME)
    {
        let want: BTreeSet<String> = data
            .service_rrsets(name)
            .iter()
            .filter(|set| set.rtype == qtype.to_string())
            .flat_map(|set| {
                set.rdata
                    .iter()
                    .map(|d| format!("{name} {} {d}", set.rtype).to_ascii_lowercase())
            })
            .collect();
        let follows_cname = knot
            .answer
            .iter()
            .any(|r| r.starts_with(&format!("{name} cname ")));
        let explained =
            follows_cname && sky.rcode == ResponseCode::NoError && sky.aa && sky.answer == want;
        return explained.then_some("alias, other types");
    }
    if data.under_modelled_wildcard(name)
        && sky.rcode == ResponseCode::NXDomain
        && knot.rcode == ResponseCode::NoError
    {
        return Some("wildcard synthesis");
    }
    None
}

#[test]
fn skydns_answers_as_knot_does_apart_from_intended_differences() {
    let dir = TempDir::new("differential");
    let data = generator::generate(SERVICES, SEED);
    let store = dir.path().join("services.json");
    std::fs::write(&store, data.file_store_json()).unwrap();
    let store_arg = store.display().to_string();
    let skydns = Skydns::start(&["--file", &store_arg, "--no-rec"], dir.path());

    // The zone takes skydns's SOA serial (the file's modification time), so SOA answers match.
    let soa = udp_query(skydns.addr(), ZONE, RecordType::SOA, TIMEOUT).expect("skydns SOA");
    let serial = match soa.answers.first().map(|r| &r.data) {
        Some(RData::SOA(soa)) => soa.serial,
        other => panic!("no SOA from skydns: {other:?}"),
    };
    let zone = data.zone(serial, usize::MAX);
    assert_eq!(zone.omitted, 0);
    let reverse = data.reverse_zone(serial);
    let knot = Knot::start(&[(ZONE, &zone.text), (REVERSE_ZONE, &reverse.text)]);

    let questions = data.random_questions(QUESTIONS, &mut Rng::new(SEED));
    let mut explained: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut answered = 0;
    for (name, qtype) in &questions {
        let qtype: RecordType = qtype.parse().unwrap();
        let (Some(s), Some(k)) = (
            ask(skydns.addr(), name, qtype),
            ask(knot.addr(), name, qtype),
        ) else {
            failures.push(format!("{name} {qtype}: no reply from one of the servers"));
            continue;
        };
        let (sky, knot_view) = (View::of(&s), View::of(&k));
        answered += usize::from(!knot_view.answer.is_empty());
        if sky == knot_view {
            continue;
        }
        match intended_difference(&data, name, qtype, &sky, &knot_view) {
            Some(rule) => *explained.entry(rule).or_default() += 1,
            None => failures.push(differences(&format!("{name} {qtype}"), &sky, &knot_view)),
        }
    }
    eprintln!(
        "{} questions, {} zone records, {answered} non-empty answers from Knot; \
         intended differences: {explained:?}",
        questions.len(),
        zone.records + reverse.records
    );
    // A broken set-up (a zone not loaded, everything REFUSED) must not pass as agreement.
    assert!(
        answered > QUESTIONS / 4,
        "only {answered} of {QUESTIONS} questions got records from Knot"
    );
    assert!(
        failures.is_empty(),
        "{} of {} questions answered differently (first 30):\n{}\nskydns log:\n{}",
        failures.len(),
        questions.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        skydns.log_text()
    );
}
