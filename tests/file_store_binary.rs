//! The real binary on the embedded file store, queried with dig over UDP and TCP: answers,
//! file changes picked up while running, and a broken file that does not stop service.

mod common;

use std::time::Duration;

use common::server::{answer_lines, read_framed, status, wait_until, Skydns, TempDir};

const SERVICES: &str = r#"{
  "/skydns/config": {"domain": "skydns.local.", "ttl": 3600},
  "/skydns/local/skydns/east/production/rails/1": {"host": "10.0.0.1", "port": 8080},
  "/skydns/local/skydns/east/staging/rails/4": {"host": "10.0.1.125", "port": 8080},
  "/skydns/local/skydns/east/staging/rails/6": "{\"host\": \"2003::8:1\", \"port\": 8080}",
  "/skydns/local/skydns/txt/big1": {"text": "a long text that makes answers big enough to need truncation over plain UDP without EDNS ........................................................................................................................................................................"},
  "/skydns/local/skydns/txt/big2": {"text": "another long text that makes answers big enough to need truncation over plain UDP without EDNS ...................................................................................................................................................................."},
  "/skydns/local/skydns/txt/big3": {"text": "a third long text that makes answers big enough to need truncation over plain UDP without EDNS ....................................................................................................................................................................."}
}"#;

fn start(dir: &TempDir, extra: &[&str]) -> (Skydns, std::path::PathBuf) {
    let file = dir.path().join("services.json");
    std::fs::write(&file, SERVICES).unwrap();
    let file_arg = format!("--file={}", file.display());
    let mut args = vec![file_arg.as_str(), "--no-rec"];
    args.extend_from_slice(extra);
    (Skydns::start(&args, dir.path()), file)
}

#[test]
fn answers_over_udp_and_tcp_with_dig() {
    let dir = TempDir::new("udp-tcp");
    let (s, _) = start(&dir, &[]);
    let expected = vec![
        "east.skydns.local. 3600 IN SRV 10 33 8080 1.rails.production.east.skydns.local.",
        "east.skydns.local. 3600 IN SRV 10 33 8080 4.rails.staging.east.skydns.local.",
        "east.skydns.local. 3600 IN SRV 10 33 8080 6.rails.staging.east.skydns.local.",
    ];
    for transport in ["+notcp", "+tcp"] {
        let out = s.dig(&[transport, "+noall", "+answer", "east.skydns.local", "SRV"]);
        assert_eq!(answer_lines(&out), expected, "{transport}: {out}");
    }
    let out = s.dig(&["+noall", "+additional", "east.skydns.local", "SRV"]);
    assert!(
        answer_lines(&out)
            .contains(&"6.rails.staging.east.skydns.local. 3600 IN AAAA 2003::8:1".to_owned()),
        "{out}"
    );
    let out = s.dig(&["nothere.skydns.local", "A"]);
    assert_eq!(status(&out).as_deref(), Some("NXDOMAIN"), "{out}");
    assert!(
        out.contains("flags: qr aa rd"),
        "NXDOMAIN must be authoritative: {out}"
    );
}

#[test]
fn truncates_over_udp_and_answers_fully_over_tcp() {
    let dir = TempDir::new("tc");
    let (s, _) = start(&dir, &[]);
    let out = s.dig(&["+noedns", "+ignore", "txt.skydns.local", "TXT"]);
    assert!(out.contains(" tc"), "expected TC over plain UDP: {out}");
    let out = s.dig(&["txt.skydns.local", "TXT"]);
    assert_eq!(
        answer_lines(&s.dig(&["+tcp", "+noall", "+answer", "txt.skydns.local", "TXT"])).len(),
        3
    );
    assert!(
        out.contains("ANSWER: 3"),
        "dig retries over TCP and gets all: {out}"
    );
}

#[test]
fn file_changes_are_picked_up_and_a_broken_file_keeps_the_last_data() {
    let dir = TempDir::new("reload");
    let (s, file) = start(&dir, &[]);
    let a = |name: &str| answer_lines(&s.dig(&["+short", name, "A"]));
    assert_eq!(a("1.rails.production.east.skydns.local"), vec!["10.0.0.1"]);

    let changed = SERVICES.replace("10.0.0.1", "10.0.0.99");
    std::fs::write(&file, changed).unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || a(
            "1.rails.production.east.skydns.local"
        ) == vec!["10.0.0.99"]),
        "change not picked up:\n{}",
        s.log_text()
    );

    std::fs::write(&file, "{ this is not json").unwrap();
    assert!(
        wait_until(Duration::from_secs(10), || s
            .log_text()
            .contains("file store not reloaded")),
        "broken file not reported:\n{}",
        s.log_text()
    );
    assert_eq!(a("1.rails.production.east.skydns.local"), vec!["10.0.0.99"]);
    assert!(
        s.log_text().contains("is not valid JSON"),
        "{}",
        s.log_text()
    );
}

#[test]
fn malformed_service_is_logged_with_its_key_and_skipped() {
    let dir = TempDir::new("malformed");
    let file = dir.path().join("services.json");
    std::fs::write(
        &file,
        r#"{"/skydns/local/skydns/good": {"host": "10.1.1.1"},
            "/skydns/local/skydns/broken": {"host": "10.1.1.2", "port": "http"}}"#,
    )
    .unwrap();
    let file_arg = format!("--file={}", file.display());
    let s = Skydns::start(&[&file_arg, "--no-rec"], dir.path());
    assert_eq!(
        answer_lines(&s.dig(&["+short", "good.skydns.local", "A"])),
        vec!["10.1.1.1"]
    );
    assert_eq!(
        status(&s.dig(&["broken.skydns.local", "A"])).as_deref(),
        Some("NXDOMAIN")
    );
    let log = s.log_text();
    assert!(
        log.contains("/skydns/local/skydns/broken") && log.contains("port"),
        "{log}"
    );
}

#[test]
fn malformed_packets_never_kill_the_server() {
    use std::net::UdpSocket;
    let dir = TempDir::new("garbage");
    let (s, _) = start(&dir, &[]);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut seed: u32 = 12345;
    let mut formerr = 0;
    for i in 0..300 {
        let len = 12 + (i % 40);
        let packet: Vec<u8> = (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                #[allow(clippy::cast_possible_truncation)] // the generator's low output byte
                let byte = (seed >> 16) as u8;
                byte
            })
            .map(|b| b & 0x7f)
            .collect();
        sock.send_to(&packet, s.addr()).unwrap();
        let mut buf = [0u8; 600];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            assert!(n >= 12, "a reply is at least a header");
            assert_eq!(buf[..2], packet[..2], "a reply carries the query's ID");
            assert!(buf[2] & 0x80 != 0, "a reply has QR set");
            if buf[3] & 0x0f == 1 {
                formerr += 1;
            }
        }
    }
    assert!(formerr > 0, "random garbage should get FORMERR replies");
    let out = s.dig(&["+short", "1.rails.production.east.skydns.local", "A"]);
    assert_eq!(
        answer_lines(&out),
        vec!["10.0.0.1"],
        "server must still answer"
    );
}

#[test]
fn bad_flag_values_stop_startup_with_a_named_key() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skydns"))
        .args(["--addr=127.0.0.1:1", "--file=/nonexistent", "--domain=a..b"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key `domain`"), "{err}");
}

#[test]
fn check_config_validates_and_exits() {
    let dir = TempDir::new("check");
    let file = dir.path().join("s.json");
    std::fs::write(&file, r#"{"/skydns/config": {"ttl": "long"}}"#).unwrap();
    let run = |f: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_skydns"))
            .arg(format!("--file={}", f.display()))
            .arg("check-config")
            .output()
            .unwrap()
    };
    let out = run(&file);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/skydns/config: key `ttl`"));
    std::fs::write(&file, r#"{"/skydns/config": {"ttl": 60}}"#).unwrap();
    let out = run(&file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn settings_precedence_file_env_flags_then_store() {
    let dir = TempDir::new("precedence");
    let toml = dir.path().join("skydns.toml");
    std::fs::write(&toml, "domain = \"from.file.\"\nttl = 10\nmin_ttl = 5\n").unwrap();
    let services = dir.path().join("s.json");
    let write_services = |store_config: &str| {
        std::fs::write(
            &services,
            format!(
                r#"{{ {store_config} "/skydns/test/env/a": {{"host": "10.0.0.1"}},
                     "/skydns/test/flag/a": {{"host": "10.0.0.2"}} }}"#
            ),
        )
        .unwrap();
    };
    let start = |extra: &[&str]| {
        let mut args = vec![
            format!("--config={}", toml.display()),
            format!("--file={}", services.display()),
            "--no-rec".to_owned(),
        ];
        args.extend(extra.iter().map(std::string::ToString::to_string));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Skydns::start_on(
            common::server::free_port(),
            &args,
            dir.path(),
            &[("SKYDNS_DOMAIN", "env.test."), ("SKYDNS_LOG", "stderr")],
        )
    };
    let ttl_of = |s: &Skydns, name: &str| -> Option<String> {
        answer_lines(&s.dig(&["+noall", "+answer", name, "A"]))
            .first()
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_owned))
    };

    // The environment beats the file (domain), the file gives the ttl.
    write_services("");
    let s = start(&[]);
    assert_eq!(
        ttl_of(&s, "a.env.test").as_deref(),
        Some("10"),
        "{}",
        s.log_text()
    );
    drop(s);
    // A flag beats the environment and the file.
    let s = start(&["--domain=flag.test", "--ttl=20"]);
    assert_eq!(
        ttl_of(&s, "a.flag.test").as_deref(),
        Some("20"),
        "{}",
        s.log_text()
    );
    drop(s);
    // /skydns/config in the store beats the flags.
    write_services(r#""/skydns/config": {"ttl": 30},"#);
    let s = start(&["--domain=flag.test", "--ttl=20"]);
    assert_eq!(
        ttl_of(&s, "a.flag.test").as_deref(),
        Some("30"),
        "{}",
        s.log_text()
    );
}

#[test]
fn config_file_errors_name_the_file_and_key() {
    let dir = TempDir::new("toml");
    let toml = dir.path().join("skydns.toml");
    std::fs::write(&toml, "domian = \"x.\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_skydns"))
        .args([
            format!("--config={}", toml.display()),
            "--file=/x".into(),
            "check-config".into(),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("skydns.toml") && err.contains("key `domian`"),
        "{err}"
    );
}

#[test]
fn version_and_help() {
    let run = |arg: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_skydns"))
            .arg(arg)
            .output()
            .unwrap()
    };
    let out = run("-version");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("skydns "));
    let help = String::from_utf8_lossy(&run("--help").stdout).into_owned();
    for flag in [
        "--addr",
        "--file",
        "--machines",
        "--nameservers",
        "--dnssec",
        "check-config",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn tcp_idle_timeout_partial_messages_and_connection_bound() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Instant;

    let dir = TempDir::new("tcp-limits");
    let (s, _) = start(&dir, &["--tcp-idle-timeout=1s", "--tcp-max-connections=2"]);
    // Reads until the server closes (Ok(0)) and returns how long that took.
    let closed_after = |mut c: TcpStream| -> Option<Duration> {
        c.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        let started = Instant::now();
        let mut buf = [0u8; 64];
        loop {
            match c.read(&mut buf) {
                Ok(0) => return Some(started.elapsed()),
                Ok(_) => continue,
                Err(_) => return None,
            }
        }
    };
    let a = TcpStream::connect(s.addr()).unwrap();
    let b = TcpStream::connect(s.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // A third connection beyond the bound is accepted and closed at once.
    let c = TcpStream::connect(s.addr()).unwrap();
    let third = closed_after(c).expect("third connection closed");
    assert!(third < Duration::from_millis(900), "closed after {third:?}");
    // Idle connections are closed after the idle timeout (1 s), not held for ever.
    let idle = closed_after(a).expect("idle connection closed");
    assert!(idle < Duration::from_secs(3), "idle close after {idle:?}");
    // A partial message (length prefix only) is closed by the read timeout.
    drop(b);
    std::thread::sleep(Duration::from_millis(100));
    let mut p = TcpStream::connect(s.addr()).unwrap();
    p.write_all(&[0, 40, 1, 2]).unwrap();
    let partial = closed_after(p).expect("partial message closed");
    assert!(
        partial < Duration::from_secs(4),
        "partial close after {partial:?}"
    );
    // Service goes on.
    let out = s.dig(&[
        "+tcp",
        "+short",
        "1.rails.production.east.skydns.local",
        "A",
    ]);
    assert_eq!(answer_lines(&out), vec!["10.0.0.1"]);
}

/// Open file descriptors of process `pid`.
fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(std::iter::Iterator::count)
        .expect("read /proc/PID/fd")
}

/// One length-prefixed A query for the rails service with `id`.
fn framed_query(id: u16) -> Vec<u8> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RecordType};
    let mut m = Message::query();
    m.metadata.id = id;
    let name = Name::from_ascii("1.rails.production.east.skydns.local.").unwrap();
    m.add_query(Query::query(name, RecordType::A));
    let wire = m.to_vec().unwrap();
    let mut framed = u16::try_from(wire.len())
        .unwrap_or(u16::MAX)
        .to_be_bytes()
        .to_vec();
    framed.extend(wire);
    framed
}

/// Reads one length-prefixed reply and returns its ID.
fn read_reply_id(conn: &mut std::net::TcpStream) -> Option<u16> {
    let reply = read_framed(conn)?;
    Some(u16::from_be_bytes([*reply.first()?, *reply.get(1)?]))
}

#[test]
fn pipelined_tcp_queries_and_idle_connections_beyond_the_bound() {
    use std::io::Write;
    use std::net::TcpStream;

    let dir = TempDir::new("tcp-hygiene");
    let (s, _) = start(&dir, &["--tcp-idle-timeout=5s"]);
    let pid = s.child.id();
    let baseline = open_fds(pid);

    // Three queries in one write: three replies on the same connection.
    let mut conn = TcpStream::connect(s.addr()).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let batch: Vec<u8> = (1..=3).flat_map(framed_query).collect();
    conn.write_all(&batch).unwrap();
    let mut ids: Vec<u16> = (0..3).filter_map(|_| read_reply_id(&mut conn)).collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2, 3]);
    drop(conn);

    // 300 idle connections (the bound is 150: the rest are closed at once). Well within the
    // idle timeout (5 s), UDP answers every query and a new TCP client is answered or cleanly
    // closed, not left hanging.
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(s.addr()).unwrap())
        .collect();
    for _ in 0..10 {
        let out = s.dig(&["+short", "1.rails.production.east.skydns.local", "A"]);
        assert_eq!(
            answer_lines(&out),
            vec!["10.0.0.1"],
            "UDP while TCP is full"
        );
    }
    let mut late = TcpStream::connect(s.addr()).unwrap();
    late.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let asked = std::time::Instant::now();
    let answered = late
        .write_all(&framed_query(9))
        .ok()
        .and_then(|_| read_reply_id(&mut late));
    assert!(
        answered == Some(9) || asked.elapsed() < Duration::from_secs(1),
        "a new TCP client hangs while the server is full"
    );

    // After the idle timeout the server holds no more descriptors than before.
    drop(late);
    assert!(baseline > 0);
    assert!(
        wait_until(Duration::from_secs(15), || open_fds(pid) <= baseline + 2),
        "{} descriptors open, {baseline} before",
        open_fds(pid)
    );
    drop(idle);
    let out = s.dig(&[
        "+tcp",
        "+short",
        "1.rails.production.east.skydns.local",
        "A",
    ]);
    assert_eq!(answer_lines(&out), vec!["10.0.0.1"]);
}
