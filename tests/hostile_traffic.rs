//! The holes a review of hostile traffic found, each shown closed over the wire against the
//! real binary (the test names say which hole): upstream fan-out for refused clients, signing
//! what is not sent, large signed RRsets, signed denial of names below existing ones, UDP
//! stalled by waiting queries, TCP connections held by one client, memory built for one
//! answer, and the smaller items (TTLs above 2^31 - 1, SIGHUP during start-up, a password over
//! plain HTTP).

mod common;

use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::dnssec::keygen;
use common::server::{
    dig, free_port, read_framed, status, tcp_roundtrip, write_framed, Skydns, TempDir,
};
use common::upstream::{BlackHole, CountingUpstream, INJECTED};
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// A file store holding `entries` (key suffix under /skydns/local/skydns/, JSON value).
fn store(dir: &TempDir, entries: impl IntoIterator<Item = (String, String)>) -> PathBuf {
    let mut map = serde_json::Map::new();
    map.insert(
        "/skydns/config".into(),
        serde_json::json!({"domain": "skydns.local."}),
    );
    for (key, value) in entries {
        map.insert(
            format!("/skydns/local/skydns/{key}"),
            serde_json::from_str(&value).unwrap(),
        );
    }
    let path = dir.path().join("store.json");
    std::fs::write(&path, serde_json::Value::Object(map).to_string()).unwrap();
    path
}

fn file_arg(path: &std::path::Path) -> String {
    format!("--file={}", path.display())
}

/// A query message for `name`/`qtype`, with EDNS (and DO when asked).
fn query(name: &str, qtype: RecordType, dnssec: bool) -> Message {
    let mut m = Message::query();
    m.metadata.id = rand::random();
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(dnssec);
    m.edns = Some(edns);
    m
}

/// Asks `server` over UDP from `source`; the reply and how long it took.
fn ask_udp(source: &str, server: SocketAddr, m: &Message) -> (Option<Message>, Duration) {
    ask_udp_within(source, server, m, Duration::from_secs(3))
}

/// Asks `server` over UDP from `source`, waiting at most `limit` for the reply.
fn ask_udp_within(
    source: &str,
    server: SocketAddr,
    m: &Message,
    limit: Duration,
) -> (Option<Message>, Duration) {
    let sock = UdpSocket::bind((source, 0)).unwrap();
    sock.set_read_timeout(Some(limit)).unwrap();
    let started = Instant::now();
    sock.send_to(&m.to_vec().unwrap(), server).unwrap();
    let mut buf = [0u8; 65535];
    let reply = sock
        .recv_from(&mut buf)
        .ok()
        .and_then(|(n, _)| Message::from_vec(&buf[..n]).ok());
    (reply, started.elapsed())
}

/// Asks `server` over TCP.
fn ask_tcp(server: SocketAddr, m: &Message) -> Option<Message> {
    let body = tcp_roundtrip(server, &m.to_vec().ok()?, Duration::from_secs(5))?;
    Message::from_vec(&body).ok()
}

#[test]
fn hole1_refused_clients_cause_no_upstream_packet_and_lookups_are_few_shared_and_clean() {
    let dir = TempDir::new("hole1");
    let up = CountingUpstream::start_injecting([192, 0, 2, 50], 300);
    let services = (0..600).map(|i| {
        (
            format!("ext/s{i}"),
            format!(r#"{{"host":"h{i}.example.org","port":80}}"#),
        )
    });
    let path = store(&dir, services);
    let s = Skydns::start(
        &[
            &file_arg(&path),
            &format!("--nameservers={}", up.addr),
            "--forward-allow=127.0.0.1/32",
            "--rcache=1000",
        ],
        dir.path(),
    );
    // A client outside forward_allow: answered from what is held, no upstream packet.
    let (reply, _) = ask_udp(
        "127.0.0.2",
        s.addr(),
        &query("ext.skydns.local.", RecordType::SRV, false),
    );
    assert_eq!(
        reply.expect("a reply").metadata.response_code,
        ResponseCode::NoError
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(up.queries(), 0, "a refused client made skydns ask upstream");

    // An allowed client: a bounded number of look-ups, and the same ones are not asked again.
    let m = query("ext.skydns.local.", RecordType::SRV, false);
    let reply = ask_tcp(s.addr(), &m).expect("a TCP reply");
    let first = up.queries();
    assert!(
        first > 0 && first <= 16,
        "{first} upstream queries for one client query"
    );
    assert!(
        reply
            .additionals
            .iter()
            .all(|r| r.name.to_ascii() != INJECTED),
        "an upstream's record about another name was copied into our answer"
    );
    assert!(
        reply
            .additionals
            .iter()
            .any(|r| r.record_type() == RecordType::A),
        "the looked-up targets' addresses are glue"
    );
    // Asked again: the A answers come from the forward cache (the empty AAAA answers carry no
    // TTL to be cached by, RFC 2308, and are asked again).
    let _ = ask_tcp(
        s.addr(),
        &query("ext.skydns.local.", RecordType::SRV, false),
    );
    let again = up.queries() - first;
    assert!(
        again <= first / 2,
        "{again} more upstream queries: the cache was not used"
    );
    // Now held, the refused client gets them without asking either.
    let asked = up.queries();
    let (reply, _) = ask_udp(
        "127.0.0.2",
        s.addr(),
        &query("h1.example.org.", RecordType::A, false),
    );
    assert_eq!(
        reply.expect("a reply").metadata.response_code,
        ResponseCode::Refused
    );
    assert_eq!(up.queries(), asked);
}

#[test]
fn hole2_with_dnssec_only_what_is_sent_is_signed() {
    let dir = TempDir::new("hole2");
    let key = keygen(dir.path(), "RSASHA256", "skydns.local");
    let services = (0..600).map(|i| {
        (
            format!("big/s{i}"),
            format!(r#"{{"host":"10.1.{}.{}","port":80}}"#, i / 256, i % 256),
        )
    });
    let path = store(&dir, services);
    let s = Skydns::start(
        &[
            &file_arg(&path),
            &format!("--dnssec={}", key.basename.display()),
            "--no-rec",
        ],
        dir.path(),
    );
    // 600 SRV records cannot go over UDP: the reply is truncated, and making it must not sign
    // 600 glue RRsets with RSA (about half a second of CPU) to throw them away.
    let (reply, took) = ask_udp(
        "127.0.0.1",
        s.addr(),
        &query("big.skydns.local.", RecordType::SRV, true),
    );
    let reply = reply.expect("a reply");
    assert!(reply.metadata.truncation, "600 SRV records do not fit UDP");
    assert!(
        took < Duration::from_millis(200),
        "the truncated reply took {took:?}"
    );
}

#[test]
fn hole3_large_rrsets_with_dnssec_are_answered_not_servfail() {
    let dir = TempDir::new("hole3");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let services = (0..2100).map(|i| {
        (
            format!("many/s{i}"),
            format!(r#"{{"host":"10.2.{}.{}"}}"#, i / 256, i % 256),
        )
    });
    let path = store(&dir, services);
    let s = Skydns::start(
        &[
            &file_arg(&path),
            &format!("--dnssec={}", key.basename.display()),
            "--no-rec",
        ],
        dir.path(),
    );
    let m = query("many.skydns.local.", RecordType::A, true);
    for _ in 0..20 {
        let (reply, _) = ask_udp("127.0.0.1", s.addr(), &m);
        let reply = reply.expect("a UDP reply");
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.metadata.truncation);
    }
    let reply = ask_tcp(s.addr(), &m).expect("a TCP reply");
    assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
    let addresses = reply
        .answers
        .iter()
        .filter(|r| r.record_type() == RecordType::A)
        .count();
    let signed = reply
        .answers
        .iter()
        .any(|r| r.record_type() == RecordType::RRSIG);
    assert!(
        addresses > 1000 && signed,
        "{addresses} addresses, signed: {signed}"
    );
    let errors = s.log_text().lines().filter(|l| l.contains("ERROR")).count();
    assert_eq!(errors, 0, "error lines per query:\n{}", s.log_text());
}

#[test]
fn hole4_a_name_below_an_existing_one_is_denied_from_it() {
    let dir = TempDir::new("hole4");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let path = store(
        &dir,
        [("big/s1".to_owned(), r#"{"host":"10.0.0.1"}"#.to_owned())],
    );
    let s = Skydns::start(
        &[
            &file_arg(&path),
            &format!("--dnssec={}", key.basename.display()),
            "--no-rec",
        ],
        dir.path(),
    );
    let out = dig(
        s.port,
        &["+dnssec", "+multiline", "a\\/b.big.skydns.local", "A"],
    );
    assert_eq!(status(&out).as_deref(), Some("NXDOMAIN"), "{out}");
    // The closest encloser is big.skydns.local: an NSEC3 matches its hash (listing A), none
    // covers it (which would deny a name that exists).
    let hash = nsec3_hash("big.skydns.local.");
    let matched = out
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with(&format!("{hash}.")));
    assert!(
        matched,
        "no NSEC3 matches big.skydns.local ({hash}):\n{out}"
    );
}

/// The NSEC3 hash (SHA-1, no salt, no extra iterations) of `name`, in base32hex lowercase.
fn nsec3_hash(name: &str) -> String {
    let out = std::process::Command::new("ldns-nsec3-hash")
        .args(["-t", "0", name])
        .output()
        .expect("ldns-nsec3-hash (package ldnsutils)");
    String::from_utf8_lossy(&out.stdout)
        .split('.')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

#[test]
fn hole5_queries_waiting_on_a_silent_upstream_do_not_stall_udp() {
    let dir = TempDir::new("hole5");
    let hole = BlackHole::new();
    let path = store(
        &dir,
        [("web/1".to_owned(), r#"{"host":"10.0.0.1"}"#.to_owned())],
    );
    let s = Skydns::start(
        &[&file_arg(&path), &format!("--nameservers={}", hole.addr)],
        dir.path(),
    );
    // 4,500 forwarded queries for 3 names, as fast as one socket sends them.
    let flood = UdpSocket::bind("127.0.0.1:0").unwrap();
    let names = ["a.example.org.", "b.example.org.", "c.example.org."];
    for i in 0..4500 {
        let m = query(names[i % 3], RecordType::A, false);
        let _ = flood.send_to(&m.to_vec().unwrap(), s.addr());
    }
    // Another client's query for our own zone is answered at once. Like a stub resolver it
    // asks again after a second (on a loaded machine the kernel may drop its first packet
    // behind the flood); before the fix, receiving stopped until the upstream timeouts (4 s).
    let started = Instant::now();
    let soa = query("skydns.local.", RecordType::SOA, false);
    let reply =
        (0..3).find_map(|_| ask_udp_within("127.0.0.2", s.addr(), &soa, Duration::from_secs(1)).0);
    let took = started.elapsed();
    assert_eq!(
        reply.expect("the SOA").metadata.response_code,
        ResponseCode::NoError
    );
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
}

#[test]
fn hole6_one_client_cannot_hold_every_tcp_connection() {
    let dir = TempDir::new("hole6");
    let path = store(
        &dir,
        [("web/1".to_owned(), r#"{"host":"10.0.0.1"}"#.to_owned())],
    );
    let s = Skydns::start(&[&file_arg(&path), "--no-rec"], dir.path());
    let idle: Vec<TcpStream> = (0..1000)
        .filter_map(|_| connect_from([127, 0, 0, 2], s.addr()))
        .collect();
    assert!(idle.len() > 900, "only {} connections made", idle.len());
    std::thread::sleep(Duration::from_millis(300));
    let reply = ask_tcp(s.addr(), &query("web.skydns.local.", RecordType::A, false));
    assert_eq!(
        reply
            .expect("a TCP reply for another client")
            .metadata
            .response_code,
        ResponseCode::NoError
    );
}

/// A TCP connection to `server` from the loopback address `from`.
fn connect_from(from: [u8; 4], server: SocketAddr) -> Option<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    sock.bind(&SocketAddr::from((from, 0)).into()).ok()?;
    sock.connect(&server.into()).ok()?;
    Some(TcpStream::from(sock))
}

#[test]
fn hole6_a_burst_of_connections_from_one_client_is_answered_without_resets() {
    // As after a restart: many connections of one address, each with its query sent, accepted
    // faster than they are read. The per-client limit closes the oldest for newer ones, but a
    // connection whose query waits unread answers it first.
    let dir = TempDir::new("hole6-burst");
    let path = store(
        &dir,
        [("web/1".to_owned(), r#"{"host":"10.0.0.1"}"#.to_owned())],
    );
    let s = Skydns::start(
        &[&file_arg(&path), "--no-rec", "--tcp-max-per-client=2"],
        dir.path(),
    );
    let wire = query("web.skydns.local.", RecordType::A, false)
        .to_vec()
        .unwrap();
    for round in 0..20 {
        let mut burst: Vec<TcpStream> = (0..32)
            .map(|_| {
                let mut conn = connect_from([127, 0, 0, 3], s.addr()).expect("a connection");
                write_framed(&mut conn, &wire).expect("the query sent");
                conn
            })
            .collect();
        for (i, conn) in burst.iter_mut().enumerate() {
            conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            assert!(
                read_framed(conn).is_some(),
                "round {round}: connection {i} closed with its query unanswered"
            );
        }
    }
}

/// Resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hole7_one_txt_answer_builds_bounded_memory() {
    let dir = TempDir::new("hole7");
    let text = "x".repeat(1_400_000);
    let services = (0..100).map(|i| {
        (
            format!("txt/s{i}"),
            serde_json::json!({ "text": text }).to_string(),
        )
    });
    let path = store(&dir, services);
    let s = Skydns::start(&[&file_arg(&path), "--no-rec"], dir.path());
    let before = rss_kib(s.child.id());
    for _ in 0..3 {
        let (reply, _) = ask_udp(
            "127.0.0.1",
            s.addr(),
            &query("txt.skydns.local.", RecordType::TXT, false),
        );
        assert!(reply.expect("a UDP reply").metadata.truncation);
        let reply = ask_tcp(
            s.addr(),
            &query("txt.skydns.local.", RecordType::TXT, false),
        );
        assert!(reply.is_some(), "a TCP reply");
    }
    let grown = rss_kib(s.child.id()).saturating_sub(before);
    assert!(
        grown < 40 * 1024,
        "memory grew by {grown} KiB answering TXT"
    );
}

#[test]
fn hole8_ttls_past_two_to_the_31_sighup_at_start_and_plain_passwords() {
    let dir = TempDir::new("hole8");
    let path = store(
        &dir,
        [(
            "forever".to_owned(),
            r#"{"host":"10.0.0.9","ttl":4294967295}"#.to_owned(),
        )],
    );
    let s = Skydns::start(&[&file_arg(&path), "--no-rec"], dir.path());
    let (reply, _) = ask_udp(
        "127.0.0.1",
        s.addr(),
        &query("forever.skydns.local.", RecordType::A, false),
    );
    let ttl = reply.expect("a reply").answers[0].ttl;
    assert!(
        ttl <= 0x7fff_ffff,
        "TTL {ttl} reads as 0 to resolvers (RFC 2181)"
    );
    drop(s);

    // SIGHUP while starting (before the reload handler exists) does not end the process.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_skydns"))
        .arg(format!("--addr=127.0.0.1:{}", free_port()))
        .args(["--machines=http://127.0.0.1:1", "--password=secret"])
        .args(["--username=u", "--log=stderr", "--metrics-addr="])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    // From the moment the program runs (the exec itself takes a few milliseconds) through
    // the start-up: settings, sockets, privileges, the runtime.
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..200 {
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP);
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "SIGHUP at start-up ended skydns"
    );
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("password goes over plain text"),
        "no warning about the password over http://:\n{log}"
    );
    assert!(!log.contains("secret"), "the password is in the log");
}
