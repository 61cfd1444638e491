//! Whatever operators (or broken tools) write into the store must never take skydns down: a
//! store of randomly built hostile keys and values (odd labels, wildcards, over-long names and
//! texts, wrong JSON types, out-of-range numbers, CNAME loops, names of every shape), served by
//! the real binary with a DNSSEC key, and queried for every stored name with every record type,
//! with and without DO. Every query gets a well-formed reply and the process lives on.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::dnssec::keygen;
use common::server::{free_port, Skydns, TempDir};
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

const LABELS: &[&str] = &[
    "web",
    "db",
    "*",
    "any",
    "ANY",
    "x",
    "UPPER",
    "_sip",
    "_tcp",
    "123",
    "-",
    "a-b",
    "dns",
    "ns",
    "stub",
    "arpa",
    "skydns",
    "local",
    "xn--bcher-kva",
    "café",
    "a b",
    "a.b",
    "",
];

fn label(rng: &mut StdRng) -> String {
    match rng.random_range(0..10) {
        0 => "l".repeat(rng.random_range(60..70)),
        1 => (0..rng.random_range(1..6))
            .map(|_| char::from(rng.random_range(33u8..127)))
            .filter(|c| *c != '/')
            .collect(),
        _ => (*LABELS.choose(rng).unwrap()).to_owned(),
    }
}

/// A key under `/skydns/local/skydns/` of 1 to 6 labels (or a few long ones).
fn key(rng: &mut StdRng) -> String {
    let depth = if rng.random_ratio(1, 20) {
        rng.random_range(20..40)
    } else {
        rng.random_range(1..7)
    };
    let labels: Vec<String> = (0..depth).map(|_| label(rng)).collect();
    format!("/skydns/local/skydns/{}", labels.join("/"))
}

/// A value for `host`: addresses, names in and out of the zone (some pointing at other keys,
/// so CNAME chains and loops form), and junk.
fn host(rng: &mut StdRng, names: &[String]) -> Value {
    match rng.random_range(0..14) {
        0 => json!(format!(
            "10.{}.{}.{}",
            rng.random::<u8>(),
            rng.random::<u8>(),
            rng.random::<u8>()
        )),
        1 => json!("2001:db8::1"),
        2 => json!("::ffff:10.0.0.1"),
        3 | 4 => json!(names.choose(rng).cloned().unwrap_or_default()),
        5 => json!("skydns.local"),
        6 => json!("external.example."),
        7 => json!(""),
        8 => json!("a..b"),
        9 => json!("h".repeat(300)),
        10 => json!("999.1.1.1"),
        11 => json!("[::1]"),
        12 => json!(42),
        _ => json!(null),
    }
}

fn number(rng: &mut StdRng) -> Value {
    match rng.random_range(0..8) {
        0 => json!(-1),
        1 => json!(u64::MAX),
        2 => json!(1.5),
        3 => json!("80"),
        4 => json!(0),
        5 => json!(65_536),
        _ => json!(rng.random_range(1..5000)),
    }
}

fn text(rng: &mut StdRng) -> Value {
    match rng.random_range(0..5) {
        0 => json!("t".repeat(rng.random_range(200..3000))),
        1 => json!("ünïcödé \u{0} \" \\ text"),
        2 => json!(["not", "a", "string"]),
        _ => json!("hello"),
    }
}

/// A stored value: mostly objects with a random choice of fields, sometimes not an object.
fn value(rng: &mut StdRng, names: &[String]) -> Value {
    match rng.random_range(0..20) {
        0 => json!([1, 2, 3]),
        1 => json!(7),
        2 => json!("{not json"),
        3 => json!(r#"{"host": "10.9.9.9", "port": 53}"#),
        _ => {
            let mut obj = serde_json::Map::new();
            for field in [
                "host",
                "port",
                "priority",
                "weight",
                "text",
                "mail",
                "ttl",
                "targetstrip",
                "group",
            ] {
                if !rng.random_ratio(1, 2) {
                    continue;
                }
                let v = match field {
                    "host" => host(rng, names),
                    "text" | "group" => text(rng),
                    "mail" => [json!(true), json!(false), json!("yes")]
                        .choose(rng)
                        .unwrap()
                        .clone(),
                    _ => number(rng),
                };
                obj.insert(field.to_owned(), v);
            }
            Value::Object(obj)
        }
    }
}

/// A key as a DNS name (reversed labels under skydns.local.), in text form for `host` values.
fn name_of(key: &str) -> String {
    let mut labels = labels_of(key);
    labels.reverse();
    format!("{}.skydns.local", labels.join("."))
}

fn labels_of(key: &str) -> Vec<&str> {
    key.trim_start_matches("/skydns/local/skydns/")
        .split('/')
        .collect()
}

/// A key as a DNS name built label by label, so that labels with dots, spaces or other bytes
/// stay one label; `None` for keys no DNS name can reach (labels over 63 bytes and such).
fn query_name(key: &str) -> Option<Name> {
    let mut labels: Vec<&[u8]> = labels_of(key).into_iter().map(str::as_bytes).collect();
    labels.reverse();
    labels.extend([b"skydns".as_slice(), b"local".as_slice()]);
    let name = Name::from_labels(labels).ok()?;
    Some(name)
}

fn ask(server: SocketAddr, name: &Name, qtype: RecordType, dnssec_ok: bool) -> Option<Message> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.add_query(Query::query(name.clone(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(dnssec_ok);
    m.edns = Some(edns);
    sock.send_to(&m.to_vec().ok()?, server).ok()?;
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).ok()?;
    Message::from_vec(&buf[..n]).ok()
}

#[test]
fn a_store_of_hostile_values_is_served_without_a_failure() {
    let dir = TempDir::new("hostile");
    let mut rng = StdRng::seed_from_u64(2026);
    let keys: Vec<String> = (0..400).map(|_| key(&mut rng)).collect();
    let names: Vec<String> = keys
        .iter()
        .map(|k| name_of(k).trim_end_matches('.').to_owned())
        .collect();
    let mut store = serde_json::Map::new();
    for k in &keys {
        store.insert(k.clone(), value(&mut rng, &names));
    }
    let file = dir.path().join("hostile.json");
    std::fs::write(&file, Value::Object(store).to_string()).unwrap();

    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let file_arg = format!("--file={}", file.display());
    let key_arg = format!("--dnssec={}", key.basename.display());
    // Names outside the zone go to a closed loopback port: nothing leaves the machine.
    let ns_arg = format!("--nameservers=127.0.0.1:{}", free_port());
    let mut s = Skydns::start(&[&file_arg, &key_arg, &ns_arg, "--rtimeout=1s"], dir.path());

    let qtypes = [
        RecordType::A,
        RecordType::AAAA,
        RecordType::SRV,
        RecordType::TXT,
        RecordType::MX,
        RecordType::CNAME,
        RecordType::NS,
        RecordType::SOA,
        RecordType::PTR,
        RecordType::ANY,
    ];
    let mut failures = Vec::new();
    let mut asked = 0;
    for name in keys.iter().filter_map(|k| query_name(k)) {
        for (qtype, dnssec_ok) in qtypes.iter().flat_map(|t| [(*t, false), (*t, true)]) {
            asked += 1;
            match ask(s.addr(), &name, qtype, dnssec_ok) {
                Some(reply)
                    if reply.metadata.id == 4242
                        && matches!(
                            reply.metadata.response_code,
                            ResponseCode::NoError | ResponseCode::NXDomain
                        ) => {}
                other => failures.push(format!("{name} {qtype} DO={dnssec_ok}: {other:?}")),
            }
        }
    }
    assert!(asked > 4000, "only {asked} queries asked");
    failures.truncate(10);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matches!(s.child.try_wait(), Ok(None)), "skydns exited");
    let log = s.log_text();
    assert!(
        !log.contains("panicked") && !log.contains(" ERROR "),
        "{log}"
    );
    assert!(
        log.contains("/skydns/local/skydns/"),
        "rejected values are logged with their key"
    );
}
