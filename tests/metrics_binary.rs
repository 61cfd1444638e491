//! The metrics listener of the real binary, read with a real HTTP client as an operator's
//! scraper or probe would: exact counter deltas after known queries (an answer, an NXDOMAIN, a
//! forwarded name, a refused one, a DO query, one over TCP, a malformed packet), `/ready`
//! through the life of an etcd store (before the first load, loaded, etcd frozen past the
//! bound, etcd back) while DNS answers keep coming, SkyDNS's PROMETHEUS_* variables, and a
//! metrics port that is taken. Every packet stays on loopback; the one upstream is a fake on
//! 127.0.0.1.

mod common;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use common::etcd::Etcd;
use common::server::{free_port, tcp_roundtrip, udp_query, wait_until, Skydns, TempDir};
use common::upstream::CountingUpstream;
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// The samples of a scrape, by name and labels as written.
type Samples = BTreeMap<String, f64>;

/// Scrapes `path` of `s`'s listener.
fn scrape(s: &Skydns, path: &str) -> Samples {
    let (status, body) = s.http_get(path).expect("the metrics listener answers");
    assert_eq!(status, 200, "{body}");
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// How much `key` grew from `before` to `after` (a series not shown counts as 0).
fn delta(before: &Samples, after: &Samples, key: &str) -> f64 {
    after.get(key).copied().unwrap_or(0.0) - before.get(key).copied().unwrap_or(0.0)
}

fn query(name: &str, qtype: RecordType, dnssec_ok: bool) -> Vec<u8> {
    let mut m = Message::query();
    m.metadata.id = 4242;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    if dnssec_ok {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(true);
        m.edns = Some(edns);
    }
    m.to_vec().unwrap()
}

/// Sends `wire` over UDP from `from` to `server`: the reply's rcode and length.
fn ask_udp(from: IpAddr, server: SocketAddr, wire: &[u8]) -> (ResponseCode, usize) {
    let sock = UdpSocket::bind((from, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    sock.send_to(wire, server).unwrap();
    let mut buf = [0u8; 65535];
    let (len, _) = sock.recv_from(&mut buf).expect("a reply");
    let reply = Message::from_vec(&buf[..len]).unwrap();
    (reply.metadata.response_code, len)
}

/// Sends `wire` over TCP to `server`: the reply's rcode and length (without the prefix).
fn ask_tcp(server: SocketAddr, wire: &[u8]) -> (ResponseCode, usize) {
    let reply = tcp_roundtrip(server, wire, Duration::from_secs(3)).expect("a TCP reply");
    (
        Message::from_vec(&reply).unwrap().metadata.response_code,
        reply.len(),
    )
}

#[test]
fn known_queries_move_the_counters_by_exactly_what_they_are() {
    let dir = TempDir::new("metrics-counts");
    let upstream = CountingUpstream::start([192, 0, 2, 7], 300, false);
    let store = dir.path().join("store.json");
    std::fs::write(
        &store,
        r#"{"/skydns/local/skydns/web": {"host": "10.1.0.1", "port": 80}}"#,
    )
    .unwrap();
    let s = Skydns::start(
        &[
            &format!("--file={}", store.display()),
            &format!("--nameservers={}", upstream.addr),
            // 127.0.0.2 is a client whose foreign names are refused.
            "--forward-allow=127.0.0.1/32",
        ],
        dir.path(),
    );
    assert_eq!(s.http_get("/health"), Some((200, "OK\n".to_owned())));
    assert_eq!(
        s.http_get("/ready"),
        Some((200, "OK\n".to_owned())),
        "the file store is ready once loaded"
    );
    let before = scrape(&s, "/metrics");

    let lo: IpAddr = "127.0.0.1".parse().unwrap();
    let other: IpAddr = "127.0.0.2".parse().unwrap();
    let udp = [
        (
            lo,
            query("web.skydns.local.", RecordType::A, false),
            ResponseCode::NoError,
        ),
        (
            lo,
            query("web.skydns.local.", RecordType::A, false),
            ResponseCode::NoError,
        ),
        (
            lo,
            query("gone.skydns.local.", RecordType::AAAA, false),
            ResponseCode::NXDomain,
        ),
        (
            lo,
            query("www.example.org.", RecordType::A, false),
            ResponseCode::NoError,
        ),
        (
            other,
            query("www.example.org.", RecordType::MX, false),
            ResponseCode::Refused,
        ),
        (
            lo,
            query("web.skydns.local.", RecordType::TXT, true),
            ResponseCode::NoError,
        ),
    ];
    let (mut udp_in, mut udp_out) = (0usize, 0usize);
    for (from, wire, rcode) in &udp {
        let (got, len) = ask_udp(*from, s.addr(), wire);
        assert_eq!(got, *rcode);
        udp_in += wire.len();
        udp_out += len;
    }
    let srv = query("web.skydns.local.", RecordType::SRV, false);
    let (got, tcp_out) = ask_tcp(s.addr(), &srv);
    assert_eq!(got, ResponseCode::NoError);
    // Too short for a header: dropped without a reply.
    let garbage = UdpSocket::bind("127.0.0.1:0").unwrap();
    garbage.send_to(&[1, 2, 3, 4, 5], s.addr()).unwrap();
    let after_garbage = |samples: &Samples| {
        samples
            .get(r#"skydns_dns_dropped_total{reason="malformed"}"#)
            .copied()
            .unwrap_or(0.0)
    };
    let mut after = scrape(&s, "/metrics");
    assert!(wait_until(Duration::from_secs(5), || {
        after = scrape(&s, "/metrics");
        after_garbage(&after) > after_garbage(&before)
    }));
    assert_eq!(upstream.queries(), 1, "one exchange upstream");

    let d = |key: &str| delta(&before, &after, key);
    for (key, want) in [
        (
            r#"skydns_dns_requests_total{proto="udp",family="1",type="A"}"#,
            3.0,
        ),
        (
            r#"skydns_dns_requests_total{proto="udp",family="1",type="AAAA"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_requests_total{proto="udp",family="1",type="MX"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_requests_total{proto="udp",family="1",type="TXT"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_requests_total{proto="tcp",family="1",type="SRV"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_requests_total{proto="udp",family="1",type="other"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_responses_total{rcode="NOERROR",source="auth"}"#,
            4.0,
        ),
        (
            r#"skydns_dns_responses_total{rcode="NXDOMAIN",source="auth"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_responses_total{rcode="NOERROR",source="forward"}"#,
            1.0,
        ),
        (
            r#"skydns_dns_responses_total{rcode="REFUSED",source="refused"}"#,
            1.0,
        ),
        ("skydns_dns_do_requests_total", 1.0),
        (r#"skydns_dns_dropped_total{reason="malformed"}"#, 1.0),
        (r#"skydns_dns_request_size_bytes_count{proto="udp"}"#, 7.0),
        (
            r#"skydns_dns_request_size_bytes_sum{proto="udp"}"#,
            (udp_in + 5) as f64,
        ),
        (r#"skydns_dns_response_size_bytes_count{proto="udp"}"#, 6.0),
        (
            r#"skydns_dns_response_size_bytes_sum{proto="udp"}"#,
            udp_out as f64,
        ),
        (
            r#"skydns_dns_request_size_bytes_sum{proto="tcp"}"#,
            srv.len() as f64,
        ),
        (
            r#"skydns_dns_response_size_bytes_sum{proto="tcp"}"#,
            tcp_out as f64,
        ),
        (
            r#"skydns_dns_request_duration_seconds_count{type="A"}"#,
            3.0,
        ),
        (
            r#"skydns_dns_request_duration_seconds_count{type="SRV"}"#,
            1.0,
        ),
        (r#"skydns_cache_hits_total{cache="answer"}"#, 1.0),
        (r#"skydns_cache_requests_total{cache="answer"}"#, 7.0),
    ] {
        assert_eq!(d(key), want, "{key}");
    }
    let sum: f64 = after
        .iter()
        .filter(|(k, _)| k.starts_with("skydns_dns_responses_total"))
        .map(|(k, v)| v - before.get(k).copied().unwrap_or(0.0))
        .sum();
    assert_eq!(sum, 7.0, "no response counted twice or elsewhere");
    let to = format!(
        r#"skydns_forward_request_duration_seconds_count{{to="{}",rcode="NOERROR"}}"#,
        upstream.addr
    );
    assert_eq!(d(&to), 1.0, "{to}");
    assert_eq!(after["skydns_backend_records"], 1.0);
    assert_eq!(after[r#"skydns_backend_sync_state{state="synced"}"#], 1.0);
    assert!(after.contains_key(r#"skydns_build_info{version="0.1.0",revision="unknown"}"#));
}

#[test]
fn ready_follows_the_etcd_store_while_answers_keep_coming() {
    let dir = TempDir::new("metrics-ready");
    let port = free_port();
    let s = Skydns::start_answering(
        &[
            &format!("--machines=http://127.0.0.1:{port}"),
            "--no-rec",
            "--ready-stale-after=2s",
        ],
        dir.path(),
    );
    let ready = || s.http_get("/ready").expect("the listener answers");
    assert_eq!(s.http_get("/health"), Some((200, "OK\n".to_owned())));
    let (code, why) = ready();
    assert_eq!(code, 503);
    assert_eq!(why, "not ready: no snapshot loaded from the store yet\n");

    let etcd = Etcd::start_on(port);
    etcd.put("/skydns/local/skydns/web", r#"{"host": "10.9.7.1"}"#);
    assert!(
        wait_until(Duration::from_secs(20), || ready().0 == 200),
        "never ready:\n{}",
        s.log_text()
    );
    let answers = || {
        udp_query(
            s.addr(),
            "web.skydns.local.",
            RecordType::A,
            Duration::from_secs(1),
        )
        .is_some_and(|m| m.metadata.response_code == ResponseCode::NoError && m.answers.len() == 1)
    };
    assert!(answers());

    // Frozen etcd: found silent within a few seconds, then stale; not ready once stale for
    // the bound. Every query is answered from the last snapshot meanwhile.
    etcd.pause();
    let frozen = Instant::now();
    let mut answered = 0;
    let went_unready = wait_until(Duration::from_secs(20), || {
        assert!(answers(), "a query went unanswered while etcd was frozen");
        answered += 1;
        ready().0 == 503
    });
    assert!(
        went_unready,
        "still ready with etcd frozen:\n{}",
        s.log_text()
    );
    assert!(
        frozen.elapsed() >= Duration::from_secs(2),
        "not ready before the bound"
    );
    let (_, why) = ready();
    assert!(
        why.starts_with("not ready: the store has been out of touch with etcd for ")
            && why.ends_with("answering from the last snapshot\n")
            && why.lines().count() == 1,
        "{why}"
    );
    let stale = scrape(&s, "/metrics");
    assert_eq!(stale[r#"skydns_backend_sync_state{state="stale"}"#], 1.0);
    assert!(stale["skydns_backend_stale_seconds"] >= 2.0);
    assert!(answered > 0);

    etcd.resume();
    assert!(
        wait_until(Duration::from_secs(20), || {
            assert!(answers(), "a query went unanswered after etcd came back");
            ready().0 == 200
        }),
        "not ready again after etcd came back:\n{}",
        s.log_text()
    );
    let back = scrape(&s, "/metrics");
    assert_eq!(back[r#"skydns_backend_sync_state{state="synced"}"#], 1.0);
    assert!(back["skydns_backend_watch_reconnects_total"] >= 1.0);
    assert_eq!(back["skydns_backend_records"], 1.0);
}

#[test]
fn skydns_prometheus_variables_set_port_path_and_names() {
    let dir = TempDir::new("metrics-env");
    let store = dir.path().join("store.json");
    std::fs::write(&store, "{}").unwrap();
    let port = free_port().to_string();
    let s = Skydns::start_on(
        free_port(),
        &[&format!("--file={}", store.display()), "--no-rec"],
        dir.path(),
        &[
            ("PROMETHEUS_PORT", port.as_str()),
            ("PROMETHEUS_PATH", "/prom"),
            ("PROMETHEUS_NAMESPACE", "dns"),
            ("PROMETHEUS_SUBSYSTEM", "east"),
        ],
    );
    assert_eq!(
        s.metrics.map(|m| m.to_string()),
        Some(format!("127.0.0.1:{port}"))
    );
    let samples = scrape(&s, "/prom");
    assert!(
        samples.contains_key("dns_east_dns_do_requests_total"),
        "{samples:?}"
    );
    assert!(!samples.keys().any(|k| k.starts_with("skydns_")));
    assert_eq!(s.http_get("/metrics").map(|r| r.0), Some(404));
    assert_eq!(s.http_get("/ready").map(|r| r.0), Some(200));
}

#[test]
fn a_metrics_port_in_use_stops_the_start_up_with_the_setting_named() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let out = Command::new("timeout")
        .arg("15")
        .arg(env!("CARGO_BIN_EXE_skydns"))
        .arg(format!("--addr=127.0.0.1:{}", free_port()))
        .args(["--file=/nonexistent.json", "--log=stderr"])
        .arg(format!("--metrics-addr={addr}"))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot listen for metrics on {addr} (metrics_addr"
        )),
        "{stderr}"
    );
    drop(taken);
}
