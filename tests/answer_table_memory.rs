//! The answer table's bound in bytes is honest: what it reports holding is close to what the
//! allocator (jemalloc, the daemon's) really holds for it, for replies of their own (address
//! answers) and for replies shared by many questions (NXDOMAIN for names that do not exist);
//! and 4 MiB holds a flood of 20,000 distinct NXDOMAIN names, 8 MiB (the default) about 24,000
//! address answers.
#![cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use skydns::answers::table::{Key, Table};
use skydns::answers::{asker_of, compile_reply};
use skydns::config::RuntimeConfig;
use skydns::core::{decide, Externals, Outcome, Request, Snapshot, Transport};

use common::counting_allocator::{allocated, Counting};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SERVICES: usize = 2_000;

fn snapshot() -> Arc<Snapshot> {
    let entries: Vec<_> = (0..SERVICES)
        .map(|i| {
            let host = format!(r#"{{"host":"10.1.{}.{}"}}"#, i / 250, i % 250);
            (
                format!("/skydns/local/skydns/s{i}"),
                host.into_bytes(),
                None::<Instant>,
            )
        })
        .collect();
    Arc::new(Snapshot::build("skydns", 1, entries).0)
}

/// The lowercased wire form of a dotted name.
fn wire(name: &str) -> Box<[u8]> {
    let mut out = Vec::new();
    for label in name.trim_end_matches('.').split('.') {
        out.push(u8::try_from(label.len()).unwrap());
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.into()
}

/// Compiles the reply to `name A` (EDNS, no DO) and keeps it in `table`.
fn keep(table: &Table<()>, cfg: &RuntimeConfig, name: &str) {
    let mut m = Message::query();
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::A));
    m.edns = Some(Edns::new());
    let req = Request::new(m, Transport::Udp, IpAddr::V4(Ipv4Addr::LOCALHOST));
    let lowered = req.lowercased();
    let now = Instant::now();
    let Outcome::Reply(reply) = decide(&lowered, &table.snapshot, cfg, &Externals::none(), now)
    else {
        panic!("{name}: not a reply")
    };
    let mut question = Vec::new();
    let asker = asker_of(&req, cfg.edns_payload, &mut question);
    let compiled = compile_reply(&lowered, reply, cfg, None, &asker, now, 0).unwrap();
    let key = Key {
        name: wire(name),
        qtype: 1,
        qclass: 1,
        dnssec_ok: false,
        may_recurse: false,
    };
    table.insert(key, Arc::new(compiled));
}

/// Fills a table of `bytes` with the replies to `names`; returns the table's entries, the
/// bytes it reports and the bytes the allocator holds for it (its empty allocation included).
fn fill(bytes: u64, names: &[String]) -> (usize, u64, u64) {
    let cfg = RuntimeConfig::default();
    let snapshot = snapshot();
    let before = allocated();
    let table = Table::new(snapshot, Arc::new(()), bytes);
    for name in names {
        keep(&table, &cfg, name);
    }
    let held = allocated().saturating_sub(before);
    (table.len(), table.bytes(), held)
}

fn assert_honest(what: &str, reported: u64, held: u64) {
    println!("{what}: reported {reported} bytes, allocator holds {held}");
    assert!(
        held <= reported + reported / 5,
        "{what}: the table reports {reported} bytes but holds {held}"
    );
    assert!(
        reported <= held + held / 2,
        "{what}: the table reports {reported} bytes for {held} held (too cautious)"
    );
}

#[test]
fn the_tables_bytes_are_what_the_allocator_holds() {
    // One test: the allocator's count is global, so nothing else may run beside it.
    let absent: Vec<String> = (0..20_000)
        .map(|i| format!("m{:06x}.skydns.local.", i * 7919 % 0xff_ffff))
        .collect();
    let (len, reported, held) = fill(4 << 20, &absent);
    assert_eq!(len, absent.len(), "20,000 NXDOMAIN names fit 4 MiB");
    assert_honest("20,000 NXDOMAIN", reported, held);

    // More names than fit: the table evicts and remembers the evicted (its ghosts), and its
    // slots grow in steps; at every size what it holds stays within what it reports.
    for mib in [1, 2, 3, 4, 6, 8] {
        let flood: Vec<String> = (0..mib * 20_000)
            .map(|i| format!("f{:06x}.skydns.local.", i * 7919 % 0xff_ffff))
            .collect();
        let (len, reported, held) = fill(mib << 20, &flood);
        assert!(len < flood.len());
        assert_honest(
            &format!("{} NXDOMAIN names in {mib} MiB ({len} kept)", flood.len()),
            reported,
            held,
        );
    }

    let present: Vec<String> = (0..SERVICES)
        .map(|i| format!("s{i}.skydns.local."))
        .collect();
    let (len, reported, held) = fill(64 << 20, &present);
    assert_eq!(len, SERVICES);
    assert_honest("2,000 address answers", reported, held);
    // One allocation per reply besides its key: the default 8 MiB holds about 24,000 (the
    // README and skydns(8) say so).
    let each = reported / SERVICES as u64;
    assert!(each <= 352, "an address answer weighs {each} bytes");
}
