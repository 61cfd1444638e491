//! Forwarding end to end: the real skydns binary in front of real upstreams on loopback (unbound
//! serving small zones, a black hole, a closed port, a tiny counting upstream), queried with dig.
//! Covers relayed answers, external targets, failures within the timeout budget, rotation, TCP
//! on truncation, the forwarded-answer cache, the recursion ACL, `no_rec`, stub zones with their
//! loop guard, and spoofed upstream replies.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::server::{answer_lines, dig, free_port, status, wait_until, Skydns, TempDir};
use common::upstream::{BlackHole, CountingUpstream, Unbound, SPOOFED};

const EXAMPLE_ORG: &[&str] = &[
    "example.org. 300 IN SOA ns.example.org. hostmaster.example.org. 1 3600 600 86400 30",
    "www.example.org. 300 IN A 192.0.2.1",
    "www.example.org. 300 IN A 192.0.2.2",
    "www.example.org. 300 IN AAAA 2001:db8::1",
    "example.org. 300 IN MX 10 mail.example.org.",
    "example.org. 300 IN MX 20 mail2.example.org.",
    "example.org. 300 IN TXT \"v=spf1 -all\"",
    "sip.example.org. 300 IN A 192.0.2.50",
    "sip.example.org. 300 IN AAAA 2001:db8::50",
];

const EXAMPLE_PTR: &str = "1.2.0.192.in-addr.arpa. 300 IN PTR www.example.org.";

const CONFIG: &str = r#"{"domain": "skydns.local."}"#;

/// The file-store JSON: `/skydns/config` = `config`, one own service, and `services` (JSON
/// object members, without braces).
fn store_json(config: &str, services: &str) -> String {
    let mut json = format!(
        r#"{{"/skydns/config": {config},
            "/skydns/local/skydns/own": {{"host": "10.0.0.1"}}"#
    );
    if !services.is_empty() {
        json.push(',');
        json.push_str(services);
    }
    json.push('}');
    json
}

/// skydns on the file store (`dir/services.json`, see [`store_json`]) with `args`.
fn skydns(dir: &TempDir, port: u16, config: &str, services: &str, args: &[&str]) -> Skydns {
    let file = dir.path().join("services.json");
    std::fs::write(&file, store_json(config, services)).unwrap();
    let file_arg = format!("--file={}", file.display());
    let mut all = vec![file_arg.as_str()];
    all.extend_from_slice(args);
    Skydns::start_on(port, &all, dir.path(), &[])
}

fn upstream_dig(addr: SocketAddr, args: &[&str]) -> String {
    dig(addr.port(), args)
}

/// The header flags of a full dig output (`qr rd ra ...`).
fn flags(out: &str) -> Vec<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(";; flags: "))
        .and_then(|l| l.split(';').next())
        .map(|f| f.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

#[test]
fn forwarded_answers_equal_the_upstreams() {
    let up = Unbound::start(
        &["example.org.", "2.0.192.in-addr.arpa."],
        &[EXAMPLE_ORG, &[EXAMPLE_PTR]].concat(),
    );
    let dir = TempDir::new("fwd-equal");
    let ns = format!("--nameservers={}", up.spec());
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns]);
    let cases = [
        ("www.example.org", "A"),
        ("www.example.org", "AAAA"),
        ("example.org", "MX"),
        ("example.org", "TXT"),
        ("1.2.0.192.in-addr.arpa", "PTR"),
    ];
    for (name, qtype) in cases {
        for transport in ["+notcp", "+tcp"] {
            let direct = upstream_dig(up.addr(), &[transport, "+noall", "+answer", name, qtype]);
            let via = s.dig(&[transport, "+noall", "+answer", name, qtype]);
            assert!(
                !answer_lines(&direct).is_empty(),
                "{name} {qtype}: {direct}"
            );
            assert_eq!(
                answer_lines(&via),
                answer_lines(&direct),
                "{name} {qtype} {transport}"
            );
        }
    }
    let out = s.dig(&["nothere.example.org", "A"]);
    assert_eq!(status(&out).as_deref(), Some("NXDOMAIN"), "{out}");
    assert!(out.contains("example.org.") && out.contains("SOA"), "{out}");
    // Our own names are still answered authoritatively.
    let out = s.dig(&["+short", "own.skydns.local", "A"]);
    assert_eq!(answer_lines(&out), vec!["10.0.0.1"]);
}

#[test]
fn external_targets_are_resolved_upstream() {
    let up = Unbound::start(&["example.org."], EXAMPLE_ORG);
    let dir = TempDir::new("fwd-external");
    let ns = format!("--nameservers={}", up.spec());
    let services = r#"
        "/skydns/local/skydns/alias/www": {"host": "www.example.org"},
        "/skydns/local/skydns/srvext/a": {"host": "sip.example.org", "port": 5060}"#;
    let s = skydns(
        &dir,
        free_port(),
        CONFIG,
        services,
        &[&ns, "--rcache-ttl=60"],
    );
    let out = s.dig(&["+noall", "+answer", "www.alias.skydns.local", "A"]);
    assert_eq!(
        answer_lines(&out),
        vec![
            "www.alias.skydns.local. 3600 IN CNAME www.example.org.",
            "www.example.org. 60 IN A 192.0.2.1",
            "www.example.org. 60 IN A 192.0.2.2",
        ],
        "{out}"
    );
    let out = s.dig(&[
        "+noall",
        "+answer",
        "+additional",
        "srvext.skydns.local",
        "SRV",
    ]);
    assert_eq!(
        answer_lines(&out),
        vec![
            "sip.example.org. 60 IN A 192.0.2.50",
            "sip.example.org. 60 IN AAAA 2001:db8::50",
            "srvext.skydns.local. 3600 IN SRV 10 100 5060 sip.example.org.",
        ],
        "{out}"
    );
}

/// Runs dig with a generous client timeout and returns (output, elapsed).
fn timed_dig(s: &Skydns, args: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let mut all = vec!["+time=9"];
    all.extend_from_slice(args);
    let out = s.dig(&all);
    (out, started.elapsed())
}

#[test]
fn dead_and_black_hole_upstreams_give_servfail_within_the_timeout() {
    let timeout = Duration::from_secs(1);
    // One server is tried twice; then the client must have its SERVFAIL.
    let bound = timeout * 2 + Duration::from_millis(1500);
    let hole = BlackHole::new();
    let closed = SocketAddr::from(([127, 0, 0, 1], free_port()));
    for (what, upstream) in [("closed port", closed), ("black hole", hole.addr)] {
        let dir = TempDir::new("fwd-dead");
        let ns = format!("--nameservers={upstream}");
        let s = skydns(&dir, free_port(), CONFIG, "", &[&ns, "--rtimeout=1s"]);
        for transport in ["+notcp", "+tcp"] {
            let (out, elapsed) = timed_dig(&s, &[transport, "www.example.org", "A"]);
            assert_eq!(
                status(&out).as_deref(),
                Some("SERVFAIL"),
                "{what} {transport}: {out}"
            );
            assert!(
                out.contains("EDE: 22 (No Reachable Authority)"),
                "{what} {transport}: {out}"
            );
            assert!(
                elapsed < bound,
                "{what} {transport}: SERVFAIL after {elapsed:?}"
            );
        }
    }
}

#[test]
fn rotation_spreads_queries_over_the_upstreams() {
    let first = CountingUpstream::start([192, 0, 2, 11], 60, false);
    let second = CountingUpstream::start([192, 0, 2, 12], 60, false);
    let ns = format!("--nameservers={},{}", first.addr, second.addr);
    let dir = TempDir::new("fwd-rotate");
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns]);
    for i in 0..6 {
        let out = s.dig(&["+short", &format!("n{i}.example.org"), "A"]);
        assert_eq!(answer_lines(&out).len(), 1, "{out}");
    }
    assert_eq!(first.queries() + second.queries(), 6);
    assert!(first.queries() >= 2 && second.queries() >= 2);

    let dir = TempDir::new("fwd-norotate");
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns, "--ns-rotate=false"]);
    let before = second.queries();
    for i in 0..4 {
        let out = s.dig(&["+short", &format!("m{i}.example.org"), "A"]);
        assert_eq!(answer_lines(&out), vec!["192.0.2.11"]);
    }
    assert_eq!(
        second.queries(),
        before,
        "without rotation the first is asked"
    );
}

#[test]
fn a_truncated_upstream_reply_is_asked_again_over_tcp() {
    let big: Vec<String> = (0..30)
        .map(|i| {
            format!("big.example.org. 300 IN TXT \"record {i} with padding padding padding padding padding padding padding\"")
        })
        .collect();
    let mut data: Vec<&str> = EXAMPLE_ORG.to_vec();
    data.extend(big.iter().map(String::as_str));
    let up = Unbound::start(&["example.org."], &data);
    // The upstream itself truncates over UDP (its limit is 1232 bytes) ...
    let direct = upstream_dig(
        up.addr(),
        &["+bufsize=4096", "+ignore", "big.example.org", "TXT"],
    );
    assert!(flags(&direct).contains(&"tc".to_owned()), "{direct}");
    // ... but skydns fetches the whole answer over TCP and sends it within the client's 4096.
    let dir = TempDir::new("fwd-tc");
    let ns = format!("--nameservers={}", up.spec());
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns, "--edns-payload=4096"]);
    let out = s.dig(&["+bufsize=4096", "+ignore", "big.example.org", "TXT"]);
    assert!(!flags(&out).contains(&"tc".to_owned()), "{out}");
    let direct_tcp = upstream_dig(
        up.addr(),
        &["+tcp", "+noall", "+answer", "big.example.org", "TXT"],
    );
    let via = s.dig(&[
        "+bufsize=4096",
        "+ignore",
        "+noall",
        "+answer",
        "big.example.org",
        "TXT",
    ]);
    assert_eq!(answer_lines(&via).len(), 30);
    assert_eq!(answer_lines(&via), answer_lines(&direct_tcp));
    // A client with a smaller limit gets TC from skydns and the full answer over TCP.
    let out = s.dig(&["+bufsize=1232", "+ignore", "big.example.org", "TXT"]);
    assert!(flags(&out).contains(&"tc".to_owned()), "{out}");
    let via_tcp = s.dig(&["+tcp", "+noall", "+answer", "big.example.org", "TXT"]);
    assert_eq!(answer_lines(&via_tcp), answer_lines(&direct_tcp));
}

/// The TTL of the single answer line of a `+noall +answer` dig output.
fn answer_ttl(out: &str) -> u32 {
    let lines = answer_lines(out);
    assert_eq!(lines.len(), 1, "{out}");
    lines[0].split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn the_cache_answers_repeats_counts_ttls_down_and_expires() {
    let up = CountingUpstream::start([192, 0, 2, 7], 3, false);
    let dir = TempDir::new("fwd-cache");
    let ns = format!("--nameservers={}", up.addr);
    let s = skydns(
        &dir,
        free_port(),
        CONFIG,
        "",
        &[&ns, "--rcache=100", "--rcache-ttl=60"],
    );
    let ask = |name: &str, extra: &[&str]| {
        let mut args = vec!["+noall", "+answer"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&[name, "A"]);
        s.dig(&args)
    };
    assert_eq!(answer_ttl(&ask("www.example.org", &[])), 3);
    // The answer was cached before it was sent: it expires at most 3 s from here.
    let first = Instant::now();
    assert_eq!(up.queries(), 1);
    // A repeat in another letter case is served from the cache, in the client's case.
    let out = ask("WWW.Example.ORG", &[]);
    assert!(out.contains("WWW.Example.ORG."), "{out}");
    assert_eq!(up.queries(), 1, "a repeat must not reach the upstream");
    // DO is part of the key: that answer is not mixed.
    ask("www.example.org", &["+dnssec"]);
    assert_eq!(up.queries(), 2);
    // Counted down while cached.
    std::thread::sleep(Duration::from_millis(1200).saturating_sub(first.elapsed()));
    assert!(answer_ttl(&ask("www.example.org", &[])) <= 2);
    assert_eq!(up.queries(), 2);
    // Gone after the smallest TTL (3 s): asked again.
    std::thread::sleep(Duration::from_millis(3300).saturating_sub(first.elapsed()));
    assert_eq!(answer_ttl(&ask("www.example.org", &[])), 3);
    assert_eq!(up.queries(), 3);
}

#[test]
fn identical_queries_in_flight_share_one_upstream_exchange() {
    // Each reply takes 3 s: eight clients asking within that time must not cost eight
    // exchanges (nor wait for eight replies in a row).
    let up = CountingUpstream::start_slow([192, 0, 2, 8], 60, Duration::from_secs(3));
    let dir = TempDir::new("fwd-inflight");
    let ns = format!("--nameservers={}", up.addr);
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns, "--rtimeout=5s"]);
    let port = s.port;
    let ask = move |name: &'static str| dig(port, &["+time=8", "+noall", "+answer", name, "A"]);
    // Letter case differs per client; each gets its own case back.
    let names = ["same.example.org", "SAME.Example.ORG"];
    let clients: Vec<_> = (0..8)
        .map(|i| {
            let name = names[i % 2];
            (name, std::thread::spawn(move || ask(name)))
        })
        .collect();
    for (name, client) in clients {
        let out = client.join().unwrap();
        assert_eq!(
            answer_lines(&out),
            vec![format!("{name}. 60 IN A 192.0.2.8")],
            "{out}"
        );
    }
    assert_eq!(up.queries(), 1, "one exchange for eight identical queries");
    // The flight is over: without the cache a later repeat asks again.
    ask("same.example.org");
    assert_eq!(up.queries(), 2);
}

#[test]
fn the_recursion_acl_refuses_foreign_names_but_answers_ours() {
    let up = Unbound::start(&["example.org."], EXAMPLE_ORG);
    let ns = format!("--nameservers={}", up.spec());
    // From the flag, and from the config key in /skydns/config.
    let by_flag = TempDir::new("fwd-acl-flag");
    let s1 = skydns(
        &by_flag,
        free_port(),
        CONFIG,
        "",
        &[&ns, "--forward-allow=127.0.0.1/32"],
    );
    let by_key = TempDir::new("fwd-acl-key");
    let s2 = skydns(
        &by_key,
        free_port(),
        r#"{"domain": "skydns.local.", "forward_allow": ["127.0.0.1/32"]}"#,
        "",
        &[&ns],
    );
    for s in [&s1, &s2] {
        let out = s.dig(&["-b", "127.0.0.2", "www.example.org", "A"]);
        assert_eq!(status(&out).as_deref(), Some("REFUSED"), "{out}");
        assert!(!flags(&out).contains(&"ra".to_owned()), "{out}");
        assert!(out.contains("EDE: 18 (Prohibited)"), "{out}");
        let out = s.dig(&["-b", "127.0.0.2", "own.skydns.local", "A"]);
        assert_eq!(status(&out).as_deref(), Some("NOERROR"), "{out}");
        assert!(out.contains("10.0.0.1"), "{out}");
        let out = s.dig(&["-b", "127.0.0.1", "+short", "www.example.org", "A"]);
        assert_eq!(answer_lines(&out), vec!["192.0.2.1", "192.0.2.2"]);
    }
}

#[test]
fn no_rec_never_reaches_the_upstream() {
    let up = CountingUpstream::start([192, 0, 2, 7], 60, false);
    let dir = TempDir::new("fwd-norec");
    let ns = format!("--nameservers={}", up.addr);
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns, "--no-rec"]);
    let out = s.dig(&["www.example.org", "A"]);
    assert_eq!(status(&out).as_deref(), Some("REFUSED"), "{out}");
    assert!(!flags(&out).contains(&"ra".to_owned()), "{out}");
    assert!(out.contains("EDE: 20 (Not Authoritative)"), "{out}");
    assert_eq!(up.queries(), 0);
}

#[test]
fn stub_zones_go_to_their_servers_and_loops_are_cut() {
    let stub = Unbound::start(
        &["example.net."],
        &[
            "example.net. 300 IN SOA ns.example.net. hostmaster.example.net. 1 3600 600 86400 30",
            "www.example.net. 300 IN A 198.51.100.10",
        ],
    );
    let marked_stub = CountingUpstream::start([192, 0, 2, 77], 60, false);
    let forwarder = CountingUpstream::start([192, 0, 2, 99], 60, false);
    let port = free_port();
    let stubs = |com_port: u16| {
        format!(
            r#""/skydns/local/skydns/dns/stub/net/example/ns1": {{"host": "127.0.0.1", "port": {stub}}},
               "/skydns/local/skydns/dns/stub/com/example/ns1": {{"host": "127.0.0.1", "port": {com_port}}},
               "/skydns/local/skydns/dns/stub/test/loop/self": {{"host": "127.0.0.1", "port": {port}}}"#,
            stub = stub.port,
        )
    };
    let dir = TempDir::new("fwd-stub");
    let ns = format!("--nameservers={}", forwarder.addr);
    let args = [
        &ns,
        "--stubzones",
        "--rtimeout=1s",
        "--log-level=debug",
        "--rcache=100",
    ];
    let s = skydns(&dir, port, CONFIG, &stubs(marked_stub.addr.port()), &args);
    let out = s.dig(&["www.example.net", "A"]);
    assert_eq!(status(&out).as_deref(), Some("NOERROR"), "{out}");
    assert!(out.contains("198.51.100.10"), "{out}");
    assert!(
        flags(&out).contains(&"aa".to_owned()),
        "relayed as the stub server sent it: {out}"
    );
    // With and without EDNS from the client, the stub server sees the loop guard.
    for (edns, name) in [("+edns", "www.example.com"), ("+noedns", "ftp.example.com")] {
        let out = s.dig(&[edns, "+short", name, "A"]);
        assert_eq!(answer_lines(&out), vec!["192.0.2.77"], "{edns}");
    }
    assert_eq!(marked_stub.queries(), 2);
    assert_eq!(marked_stub.guarded(), 2, "option 65011 = [1] added");
    assert_eq!(
        forwarder.queries(),
        0,
        "stub names do not go to the nameservers"
    );
    // The loop zone points at skydns itself: the forwarded query comes back marked and is
    // dropped (once per try), and the client gets SERVFAIL instead of an endless loop.
    let (out, elapsed) = timed_dig(&s, &["www.loop.test", "A"]);
    assert_eq!(status(&out).as_deref(), Some("SERVFAIL"), "{out}");
    assert!(elapsed < Duration::from_millis(3500), "{elapsed:?}");
    let drops = || s.log_text().matches("stub-zone loop").count();
    assert!(
        wait_until(Duration::from_secs(2), || drops() == 2),
        "{}",
        s.log_text()
    );
    let out = s.dig(&["+short", "own.skydns.local", "A"]);
    assert_eq!(answer_lines(&out), vec!["10.0.0.1"], "still healthy");
    assert_eq!(drops(), 2, "{}", s.log_text());

    // The zone moves to another server: its answers come from there at once, not from the
    // cached answers of the old one.
    let moved = CountingUpstream::start([192, 0, 2, 78], 60, false);
    let www = || answer_lines(&s.dig(&["+short", "www.example.com", "A"]));
    assert_eq!(www(), vec!["192.0.2.77"], "cached");
    assert_eq!(marked_stub.queries(), 2, "served from the cache");
    std::fs::write(
        dir.path().join("services.json"),
        store_json(CONFIG, &stubs(moved.addr.port())),
    )
    .unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || www() == ["192.0.2.78"]),
        "{}",
        s.log_text()
    );
    assert_eq!(marked_stub.queries(), 2);
}

#[test]
fn spoofed_upstream_replies_are_ignored() {
    let up = CountingUpstream::start([192, 0, 2, 7], 60, true);
    let dir = TempDir::new("fwd-spoof");
    let ns = format!("--nameservers={}", up.addr);
    let s = skydns(&dir, free_port(), CONFIG, "", &[&ns]);
    let spoofed = std::net::Ipv4Addr::from(SPOOFED).to_string();
    for _ in 0..3 {
        let out = s.dig(&["+short", "www.example.org", "A"]);
        assert_eq!(answer_lines(&out), vec!["192.0.2.7"], "not {spoofed}");
    }
}
