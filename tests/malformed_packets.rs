//! Hostile input over the wire (reliability.md T2 and the rules of its §3.2), against the real
//! binary: a corpus of hand-made broken packets, each with the reply our rule demands, sent over
//! UDP and TCP; then a barrage of bit-flipped valid queries while a second client checks that
//! valid queries keep being answered.

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::server::{read_framed, Skydns, TempDir};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const QUERY: u16 = 0x0100; // QR=0, opcode QUERY, RD=1
const FORMERR: u8 = 1;
const NOERROR: u8 = 0;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

/// How long a reply that must come may take (the barrage runs beside the other tests).
const REPLY_WAIT: Duration = Duration::from_secs(3);
const NOTAUTH: u8 = 9;

/// 13 TXT records of 200 bytes: far above 512 bytes.
fn store(dir: &TempDir) -> String {
    let mut services = serde_json::Map::new();
    services.insert(
        "/skydns/local/skydns/web/1".into(),
        serde_json::json!({"host": "10.0.0.1", "port": 80}),
    );
    for i in 0..13 {
        services.insert(
            format!("/skydns/local/skydns/big/t{i}"),
            serde_json::json!({ "text": format!("{i:02}{}", "y".repeat(198)) }),
        );
    }
    let file = dir.path().join("s.json");
    std::fs::write(&file, serde_json::Value::Object(services).to_string()).unwrap();
    format!("--file={}", file.display())
}

fn start(dir: &TempDir) -> Skydns {
    let file = store(dir);
    Skydns::start(&[&file, "--no-rec"], dir.path())
}

// ---- building raw packets -------------------------------------------------------------------

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        p.extend_from_slice(&c.to_be_bytes());
    }
    p
}

/// A name in wire form from its labels (no compression).
fn name(labels: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in labels {
        out.push(u8::try_from(l.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(l.as_bytes());
    }
    out.push(0);
    out
}

const WEB: &[&str] = &["web", "skydns", "local"];

fn question(qname: &[u8], qtype: u16, qclass: u16) -> Vec<u8> {
    let mut q = qname.to_vec();
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&qclass.to_be_bytes());
    q
}

/// An OPT record: `owner` in wire form, payload size, version, DO flag, options rdata.
fn opt(owner: &[u8], payload: u16, version: u8, dnssec_ok: bool, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&41u16.to_be_bytes());
    r.extend_from_slice(&payload.to_be_bytes());
    r.push(0); // extended rcode
    r.push(version);
    r.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    r.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// A query for `qname`/`qtype` with `flags`, with an OPT record when `edns` is given.
fn query(id: u16, flags: u16, qname: &[u8], qtype: u16, edns: Option<u16>) -> Vec<u8> {
    let mut p = header(id, flags, [1, 0, 0, u16::from(edns.is_some())]);
    p.extend(question(qname, qtype, 1));
    if let Some(payload) = edns {
        p.extend(opt(&[0], payload, 0, false, &[]));
    }
    p
}

/// A query for web.skydns.local/`qtype` followed by `additional` records (wire form).
fn with_additional(id: u16, qtype: u16, additional: &[Vec<u8>]) -> Vec<u8> {
    let mut p = header(
        id,
        QUERY,
        [1, 0, 0, u16::try_from(additional.len()).unwrap_or(u16::MAX)],
    );
    p.extend(question(&name(WEB), qtype, 1));
    for record in additional {
        p.extend_from_slice(record);
    }
    p
}

/// An OPT record from the root with a cookie option (code 10) whose length field says `len`
/// and 8 bytes of data.
fn cookie_opt(payload: u16, dnssec_ok: bool, len: u8) -> Vec<u8> {
    opt(
        &[0],
        payload,
        0,
        dnssec_ok,
        &[0, 10, 0, len, 1, 2, 3, 4, 5, 6, 7, 8],
    )
}

// ---- what a reply must look like ------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Want {
    /// No reply at all.
    Drop,
    /// A reply with this rcode (the low 4 bits), question count and OPT presence.
    Reply { rcode: u8, qd: u16, opt: bool },
}

struct Case {
    what: &'static str,
    packet: Vec<u8>,
    want: Want,
}

fn reply(rcode: u8, qd: u16, opt: bool) -> Want {
    Want::Reply { rcode, qd, opt }
}

/// A case whose reply must be FORMERR with no question and no OPT (12 bytes).
fn formerr(what: &'static str, packet: Vec<u8>) -> Case {
    Case {
        what,
        packet,
        want: reply(FORMERR, 0, false),
    }
}

fn corpus() -> Vec<Case> {
    let web = name(WEB);
    let good = query(1, QUERY, &web, 1, None);
    let mut cases = vec![
        Case {
            what: "empty",
            packet: vec![],
            want: Want::Drop,
        },
        Case {
            what: "5-byte header",
            packet: good[..5].to_vec(),
            want: Want::Drop,
        },
        Case {
            what: "QR=1 (a response)",
            packet: query(2, QUERY | 0x8000, &web, 1, None),
            want: Want::Drop,
        },
        formerr("QDCOUNT=0", header(3, QUERY, [0, 0, 0, 0])),
    ];
    let mut two = header(4, QUERY, [2, 0, 0, 0]);
    two.extend(question(&web, 1, 1));
    two.extend(question(&web, 28, 1));
    cases.push(formerr("QDCOUNT=2", two));
    cases.push(formerr("missing question", header(5, QUERY, [1, 0, 0, 0])));
    let mut truncated = header(6, QUERY, [1, 0, 0, 0]);
    truncated.extend_from_slice(&web[..6]);
    cases.push(formerr("truncated QNAME", truncated));
    let long_label = "a".repeat(64);
    let mut p = header(7, QUERY, [1, 0, 0, 0]);
    p.extend(question(&name(&[&long_label, "local"]), 1, 1));
    cases.push(formerr("label of 64 bytes", p));
    let label = "b".repeat(63);
    let mut p = header(8, QUERY, [1, 0, 0, 0]);
    p.extend(question(
        &name(&[&label, &label, &label, &label, "x"]),
        1,
        1,
    ));
    cases.push(formerr("name of 256+ bytes", p));
    // Compression pointers (0xC000 | offset) in the question name.
    for (what, pointer) in [
        ("pointer to itself", 12u16),
        ("forward pointer", 40),
        ("pointer into the header", 2),
    ] {
        let mut p = header(9, QUERY, [1, 0, 0, 0]);
        p.extend_from_slice(&(0xC000 | pointer).to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        // Something for a forward pointer to land on (the other cases get no trailing bytes:
        // each is broken only by its pointer).
        if pointer > 12 {
            p.extend(name(WEB));
        }
        cases.push(Case {
            what,
            packet: p,
            want: reply(FORMERR, 0, false),
        });
    }
    let mut garbage = good.clone();
    garbage.extend_from_slice(&[0xde, 0xad]);
    cases.push(formerr("trailing garbage", garbage));
    let mut lies = good.clone();
    lies[7] = 1; // ANCOUNT=1 with no answer
    cases.push(formerr("ANCOUNT lies", lies));
    let root_opt = opt(&[0], 1232, 0, false, &[]);
    cases.push(formerr(
        "two OPT records",
        with_additional(10, 1, &[root_opt.clone(), root_opt]),
    ));
    cases.push(Case {
        what: "OPT option longer than its rdata",
        // A cookie claiming 40 bytes of which 8 are present.
        packet: with_additional(11, 1, &[cookie_opt(1232, false, 40)]),
        want: reply(FORMERR, 0, false),
    });
    cases.push(formerr(
        "OPT with a non-root owner",
        with_additional(12, 1, &[opt(&name(&["x"]), 1232, 0, false, &[])]),
    ));
    cases.push(Case {
        what: "EDNS version 1",
        // BADVERS is 16: header rcode 0, extended rcode 1 in the OPT (checked below).
        packet: with_additional(13, 1, &[opt(&[0], 1232, 1, false, &[])]),
        want: reply(NOERROR, 1, true),
    });
    cases.push(Case {
        what: "opcode 15",
        packet: query(14, QUERY | (15 << 11), &web, 1, Some(1232)),
        want: reply(NOTIMP, 1, false),
    });
    cases.push(Case {
        what: "NOTIFY",
        packet: query(15, QUERY | (4 << 11), &web, 6, None),
        want: reply(NOTIMP, 1, false),
    });
    cases.push(Case {
        what: "UPDATE",
        packet: query(16, QUERY | (5 << 11), &web, 6, None),
        want: reply(NOTIMP, 1, false),
    });
    cases.push(Case {
        what: "qtype 0",
        packet: query(17, QUERY, &web, 0, None),
        want: reply(NOERROR, 1, false),
    });
    cases.push(formerr("qtype OPT", query(18, QUERY, &web, 41, None)));
    cases.push(Case {
        what: "qtype RRSIG",
        packet: query(19, QUERY, &web, 46, Some(1232)),
        want: reply(NOERROR, 1, true),
    });
    let mut tsig = name(&["unknown", "key"]);
    tsig.extend_from_slice(&250u16.to_be_bytes()); // TSIG
    tsig.extend_from_slice(&255u16.to_be_bytes()); // class ANY
    tsig.extend_from_slice(&0u32.to_be_bytes());
    let mut rdata = name(&["hmac-sha256"]);
    rdata.extend_from_slice(&[0, 0, 0x6a, 0x00, 0x00, 0x00]); // time signed
    rdata.extend_from_slice(&300u16.to_be_bytes()); // fudge
    rdata.extend_from_slice(&32u16.to_be_bytes()); // MAC size
    rdata.extend_from_slice(&[7; 32]);
    rdata.extend_from_slice(&20u16.to_be_bytes()); // original ID
    rdata.extend_from_slice(&[0, 0, 0, 0]); // error, other len
    tsig.extend_from_slice(&u16::try_from(rdata.len()).unwrap_or(u16::MAX).to_be_bytes());
    tsig.extend(rdata);
    cases.push(Case {
        what: "TSIG with an unknown key",
        packet: with_additional(20, 1, &[tsig]),
        want: reply(NOTAUTH, 1, false),
    });
    // Client subnet (RFC 7871 §7.1.1: a malformed one is FORMERR): an unknown family, a prefix
    // longer than an IPv4 address, an address shorter than its prefix; a well-formed one is
    // answered.
    for (what, data) in [
        ("client subnet of family 7", &[0, 7, 24, 0, 10, 0, 0][..]),
        ("client subnet /33 for IPv4", &[0, 1, 33, 0, 10, 0, 0, 1, 2]),
        ("client subnet /24 with 2 bytes", &[0, 1, 24, 0, 10, 0]),
    ] {
        let mut rdata = vec![0, 8];
        rdata.extend_from_slice(&u16::try_from(data.len()).unwrap_or(0).to_be_bytes());
        rdata.extend_from_slice(data);
        cases.push(formerr(
            what,
            with_additional(22, 1, &[opt(&[0], 1232, 0, false, &rdata)]),
        ));
    }
    cases.push(Case {
        what: "client subnet 10.0.0.0/24",
        packet: with_additional(
            23,
            1,
            &[opt(
                &[0],
                1232,
                0,
                false,
                &[0, 8, 0, 7, 0, 1, 24, 0, 10, 0, 0],
            )],
        ),
        want: reply(NOERROR, 1, true),
    });
    let mut chaos = header(21, QUERY, [1, 0, 0, 0]);
    chaos.extend(question(&name(&["version", "bind"]), 16, 3));
    cases.push(Case {
        what: "CHAOS version.bind",
        packet: chaos,
        want: reply(REFUSED, 1, false),
    });
    cases
}

/// Checks one reply (or its absence) against `want`; `None` when it holds.
fn judge(case: &Case, got: Option<&[u8]>) -> Option<String> {
    match (case.want, got) {
        (Want::Drop, None) => None,
        (Want::Drop, Some(r)) => Some(format!("{}: expected no reply, got {r:02x?}", case.what)),
        (Want::Reply { .. }, None) => Some(format!("{}: no reply", case.what)),
        (Want::Reply { rcode, qd, opt }, Some(r)) => {
            let fail = |why: String| Some(format!("{}: {why}; reply {r:02x?}", case.what));
            if r.len() < 12 {
                return fail("shorter than a header".into());
            }
            if r[..2] != case.packet[..2] || r[2] & 0x80 == 0 {
                return fail("not a reply to this query (ID or QR)".into());
            }
            if r[2] & 0x78 != case.packet[2] & 0x78 {
                return fail("opcode not copied".into());
            }
            if r[3] & 0x0f != rcode {
                return fail(format!("rcode {} instead of {rcode}", r[3] & 0x0f));
            }
            let count = |i: usize| u16::from_be_bytes([r[i], r[i + 1]]);
            if count(4) != qd {
                return fail(format!("{} questions instead of {qd}", count(4)));
            }
            if (count(10) > 0) != opt {
                return fail(format!("OPT expected: {opt}"));
            }
            if rcode == FORMERR && r.len() > case.packet.len() {
                return fail("an error reply larger than the query".into());
            }
            None
        }
    }
}

fn udp_exchange(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(packet, server).unwrap();
    let mut buf = vec![0u8; 65535];
    let n = sock.recv(&mut buf).ok()?;
    buf.truncate(n);
    Some(buf)
}

/// Sends one length-prefixed message on a fresh connection; the reply, or `None` when the
/// server sent nothing within `wait` (or closed the connection).
fn tcp_exchange(server: SocketAddr, packet: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let mut conn = TcpStream::connect(server).unwrap();
    conn.set_read_timeout(Some(wait)).unwrap();
    let mut framed = u16::try_from(packet.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(packet);
    conn.write_all(&framed).unwrap();
    read_framed(&mut conn)
}

#[test]
fn every_malformed_packet_gets_the_reply_its_rule_demands_over_udp_and_tcp() {
    let dir = TempDir::new("malformed");
    let s = start(&dir);
    // The answer table holds what was asked before: each malformed query of a question asked
    // well-formed first must get the same reply from the table as on the full way.
    for edns in [None, Some(1232)] {
        let asked = query(0, QUERY, &name(WEB), 1, edns);
        for got in [
            udp_exchange(s.addr(), &asked, REPLY_WAIT),
            tcp_exchange(s.addr(), &asked, REPLY_WAIT),
        ] {
            let r = got.expect("a reply to web.skydns.local A");
            assert_eq!((r[3] & 0x0f, r[7]), (NOERROR, 1), "{r:02x?}");
        }
    }
    let mut failures = Vec::new();
    for case in corpus() {
        // Long enough for a reply on a loaded machine; short where none may come.
        let wait = match case.want {
            Want::Drop => Duration::from_millis(700),
            Want::Reply { .. } => REPLY_WAIT,
        };
        let got = udp_exchange(s.addr(), &case.packet, wait);
        failures.extend(judge(&case, got.as_deref()).map(|f| format!("UDP {f}")));
        if case.packet.len() >= 12 {
            let got = tcp_exchange(s.addr(), &case.packet, wait);
            failures.extend(judge(&case, got.as_deref()).map(|f| format!("TCP {f}")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn edns_details_badvers_bufsize_zero_and_axfr_by_transport() {
    let dir = TempDir::new("malformed-edns");
    let s = start(&dir);
    let wait = REPLY_WAIT;

    // EDNS version 1: BADVERS (16 = extended rcode 1, header rcode 0) in an OPT of version 0.
    let v1 = with_additional(1, 1, &[opt(&[0], 1232, 1, false, &[])]);
    let r = udp_exchange(s.addr(), &v1, wait).expect("a BADVERS reply");
    let tail = &r[r.len() - 11..];
    assert_eq!(tail[0], 0, "OPT owner is the root: {r:02x?}");
    assert_eq!(u16::from_be_bytes([tail[1], tail[2]]), 41, "{r:02x?}");
    assert_eq!((r[3] & 0x0f, tail[5], tail[6]), (0, 1, 0), "{r:02x?}");

    // Buffer size 0 counts as 512: the big TXT set is truncated to fit 512 bytes.
    let big = query(2, QUERY, &name(&["big", "skydns", "local"]), 16, Some(0));
    let r = udp_exchange(s.addr(), &big, wait).expect("a reply");
    assert!(
        r.len() <= 512 && r[2] & 0x02 != 0,
        "{} bytes, TC unset",
        r.len()
    );

    // AXFR: NOTIMP over UDP, REFUSED over TCP; no records either way.
    let axfr = query(3, QUERY, &name(&["skydns", "local"]), 252, None);
    let r = udp_exchange(s.addr(), &axfr, wait).expect("a UDP reply");
    assert_eq!((r[3] & 0x0f, r[7]), (NOTIMP, 0), "{r:02x?}");
    let r = tcp_exchange(s.addr(), &axfr, wait).expect("a TCP reply");
    assert_eq!((r[3] & 0x0f, r[7]), (REFUSED, 0), "{r:02x?}");
}

/// The valid queries the barrage starts from.
fn seeds() -> Vec<Vec<u8>> {
    let web = name(WEB);
    let big = name(&["big", "skydns", "local"]);
    let mut seeds = Vec::new();
    for (qname, qtype) in [(&web, 1u16), (&web, 33), (&big, 16), (&web, 255)] {
        seeds.push(query(0, QUERY, qname, qtype, None));
        seeds.push(query(0, QUERY, qname, qtype, Some(1232)));
    }
    seeds.push(with_additional(0, 28, &[cookie_opt(4096, true, 8)]));
    seeds
}

/// A seed with its ID set to `id` and 1 to 4 random bits flipped after the ID.
fn flipped(seeds: &[Vec<u8>], id: u16, rng: &mut StdRng) -> Vec<u8> {
    let mut p = seeds[rng.random_range(0..seeds.len())].clone();
    p[..2].copy_from_slice(&id.to_be_bytes());
    for _ in 0..rng.random_range(1..=4) {
        let bit = rng.random_range(16..p.len() * 8);
        p[bit / 8] ^= 0x80 >> (bit % 8);
    }
    p
}

/// Rules every reply to a bit-flipped query must hold; `None` when it does.
fn barrage_rule(query: &[u8], reply: &[u8]) -> Option<String> {
    if query[2] & 0x80 != 0 {
        return Some(format!("a reply to a response: {query:02x?}"));
    }
    if reply.len() < 12 || reply[2] & 0x80 == 0 {
        return Some(format!("not a DNS reply: {reply:02x?}"));
    }
    let rcode = reply[3] & 0x0f;
    if (rcode == FORMERR || rcode == NOTIMP) && reply.len() > query.len() {
        return Some(format!(
            "error reply of {} bytes to a {}-byte query {query:02x?}",
            reply.len(),
            query.len()
        ));
    }
    None
}

/// Sends valid queries one at a time until `stop`; returns (sent, answered correctly).
fn liveness(server: SocketAddr, stop: &AtomicBool) -> (u32, u32) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let (mut sent, mut answered) = (0u32, 0u32);
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        sent += 1;
        #[allow(clippy::cast_possible_truncation)] // IDs wrap after 65535 queries
        let id = sent as u16;
        sock.send_to(&query(id, QUERY, &name(WEB), 1, None), server)
            .unwrap();
        // A late reply to an earlier query is skipped, not counted twice.
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 12 && buf[..2] == id.to_be_bytes() {
                answered += u32::from(buf[3] & 0x0f == NOERROR && buf[7] == 1);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    (sent, answered)
}

#[test]
fn a_barrage_of_bit_flipped_queries_breaks_no_rule_and_valid_queries_keep_their_answers() {
    const UDP_QUERIES: u32 = 100_000;
    const WINDOW: u16 = 32;
    const TCP_QUERIES: u16 = 1_000;
    let dir = TempDir::new("barrage");
    let s = start(&dir);
    let server = s.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let live = {
        let stop = stop.clone();
        std::thread::spawn(move || liveness(server, &stop))
    };

    let seeds = seeds();
    let mut rng = StdRng::seed_from_u64(8906);
    let mut failures = Vec::new();
    let mut replies = 0u32;
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = vec![0u8; 65535];
    // Windows of queries with distinct IDs (WINDOW divides 65536, so IDs never wrap inside
    // one); replies are matched to their query by ID.
    for n in (0..UDP_QUERIES).step_by(usize::from(WINDOW)) {
        let start = u16::try_from(n % 65536).unwrap_or(u16::MAX);
        let window: Vec<Vec<u8>> = (0..WINDOW)
            .map(|i| flipped(&seeds, start + i, &mut rng))
            .collect();
        for p in &window {
            sock.send_to(p, server).unwrap();
        }
        let expected = window.iter().filter(|p| p[2] & 0x80 == 0).count();
        let mut got = 0;
        while got < expected {
            let Ok(n) = sock.recv(&mut buf) else { break };
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            let Some(query) = id
                .checked_sub(start)
                .and_then(|i| window.get(usize::from(i)))
            else {
                continue; // a late reply from an earlier window
            };
            got += 1;
            failures.extend(barrage_rule(query, &buf[..n]));
        }
        replies += u32::try_from(got).unwrap_or(u32::MAX); // at most WINDOW
    }
    for id in 0..TCP_QUERIES {
        let p = flipped(&seeds, id, &mut rng);
        let wait = Duration::from_millis(if p[2] & 0x80 != 0 { 50 } else { 2000 });
        match tcp_exchange(server, &p, wait) {
            Some(r) => failures.extend(barrage_rule(&p, &r).map(|f| format!("TCP {f}"))),
            None if p[2] & 0x80 == 0 => failures.push(format!("TCP: no reply to {p:02x?}")),
            None => {}
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, answered) = live.join().unwrap();

    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        f64::from(replies) >= f64::from(UDP_QUERIES) * 0.95,
        "only {replies} replies to {UDP_QUERIES} UDP queries"
    );
    assert!(
        f64::from(answered) >= f64::from(sent) * 0.999,
        "valid queries answered during the barrage: {answered} of {sent}"
    );
    let log = s.log_text();
    assert!(!log.contains("panicked"), "{log}");
    let after = udp_exchange(
        server,
        &query(7, QUERY, &name(WEB), 1, None),
        Duration::from_secs(2),
    );
    assert!(after.is_some_and(|r| r[3] & 0x0f == NOERROR && r[7] == 1));
}
