//! The real binary as a system daemon: socket activation under `systemd-socket-activate`,
//! sd-notify readiness / reload / stop / watchdog messages on a socket the test listens on, the
//! privilege drop seen in `/proc/PID/task/*/status`, syslog lines on a socket the test binds,
//! and SIGHUP reloads under continuous load.

mod common;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use common::server::{
    answer_lines, dig, free_port, tcp_exchange, udp_query, wait_until, Skydns, TempDir,
};

const WEB: &str = "web.skydns.local.";
const MARKER: &str = "marker.skydns.local.";

/// A file store whose `/skydns/config` is `config` (raw JSON text) and whose marker record
/// holds `marker`, written atomically (the watcher sees a new file).
fn write_store(path: &Path, config: &str, marker: &str) {
    let text = format!(
        r#"{{"/skydns/config": {config},
            "/skydns/local/skydns/web": {{"host": "10.1.0.1"}},
            "/skydns/local/skydns/marker": {{"host": "{marker}"}}}}"#
    );
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Starts the binary without waiting for it; stdout and stderr go to a log file in `dir`.
fn spawn(program: &str, args: &[String], env: &[(&str, String)], dir: &Path) -> Skydns {
    let log = dir.join(format!("daemon-{}.log", free_port()));
    let file = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_remove("RUST_LOG")
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .env("SKYDNS_LOG", "stderr")
        // No metrics listener: tests run side by side, each would want 127.0.0.1:9153.
        .env("PROMETHEUS_PORT", "")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Skydns {
        child: cmd.spawn().expect("start the daemon"),
        port: 0,
        log,
        metrics: None,
    }
}

/// The text [`write_store`] writes, in a file of its own.
fn store_text_file(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("first.json");
    write_store(&path, r#"{"ttl": 60}"#, "10.9.9.1");
    path
}

fn skydns_bin() -> &'static str {
    env!("CARGO_BIN_EXE_skydns")
}

fn signal(s: &Skydns, sig: Signal) {
    kill(Pid::from_raw(s.child.id() as i32), sig).unwrap();
}

fn wait_exit(s: &mut Skydns, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = s.child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The A addresses and their TTL in a reply, and its RA flag.
fn addresses(reply: &Message) -> (Vec<String>, Option<u32>) {
    let ips = reply
        .answers
        .iter()
        .filter_map(|r| match &r.data {
            RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect();
    (ips, reply.answers.first().map(|r| r.ttl))
}

fn query_a(addr: SocketAddr, name: &str) -> Option<Message> {
    udp_query(addr, name, RecordType::A, Duration::from_millis(500))
}

/// A datagram socket the test listens on, writable by the daemon after it dropped root.
fn listening_socket(path: &Path) -> UnixDatagram {
    let sock = UnixDatagram::bind(path).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    sock
}

/// Datagrams received within `limit` until `stop` says enough.
fn receive_until(
    sock: &UnixDatagram,
    limit: Duration,
    mut stop: impl FnMut(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = stop(&text);
            got.push(text);
            if done {
                break;
            }
        }
    }
    got
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

#[test]
fn socket_activation_serves_the_inherited_udp_and_tcp_sockets() {
    let dir = TempDir::new("activate");
    let store = dir.path().join("store.json");
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");
    let port = free_port();
    let unused = free_port();
    let listen = format!("--listen=127.0.0.1:{port}");
    // The outer launcher passes a UDP socket on, the inner one adds a TCP socket on the same
    // port: skydns gets LISTEN_FDS=2 (fd 3 UDP, fd 4 TCP) and starts on the first datagram.
    let args: Vec<String> = [
        "--datagram",
        &listen,
        "--",
        "systemd-socket-activate",
        &listen,
        "--",
        skydns_bin(),
        &format!("--addr=127.0.0.1:{unused}"),
        &format!("--file={}", store.display()),
        "--no-rec",
    ]
    .iter()
    .map(std::string::ToString::to_string)
    .collect();
    let s = spawn("systemd-socket-activate", &args, &[], dir.path());
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    assert!(
        wait_until(Duration::from_secs(20), || query_a(server, WEB)
            .is_some_and(|m| addresses(&m).0 == ["10.1.0.1"])),
        "no UDP answer on the inherited socket:\n{}",
        s.log_text()
    );
    assert_eq!(
        answer_lines(&dig(port, &["+tcp", "+short", WEB, "A"])),
        vec!["10.1.0.1"],
        "TCP on the inherited socket:\n{}",
        s.log_text()
    );
    assert!(
        UdpSocket::bind(("127.0.0.1", unused)).is_ok()
            && TcpListener::bind(("127.0.0.1", unused)).is_ok(),
        "--addr was bound although systemd passed sockets"
    );
    let log = s.log_text();
    assert!(log.contains("socket activation"), "{log}");
    if is_root() {
        assert!(log.contains("dropped root privileges"), "{log}");
    }
}

#[test]
fn systemd_flag_without_inherited_sockets_is_a_clear_error() {
    let dir = TempDir::new("nofds");
    let store = dir.path().join("store.json");
    write_store(&store, "{}", "10.9.9.1");
    let out = Command::new(skydns_bin())
        .args(["--systemd", &format!("--file={}", store.display())])
        .env_remove("LISTEN_FDS")
        .env("SKYDNS_LOG", "stderr")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("systemd passed no socket"), "{stderr}");
}

#[test]
fn notifies_ready_after_load_reloading_stopping_and_watchdog() {
    let dir = TempDir::new("notify");
    // The store starts as a FIFO: loading blocks until the test writes the data into it.
    let store = dir.path().join("store.json");
    nix::unistd::mkfifo(&store, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let notify_path = dir.path().join("notify.sock");
    let notify = listening_socket(&notify_path);
    let port = free_port();
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let args = vec![
        format!("--addr=127.0.0.1:{port}"),
        format!("--file={}", store.display()),
        "--no-rec".to_owned(),
    ];
    let env = [
        ("NOTIFY_SOCKET", notify_path.display().to_string()),
        ("WATCHDOG_USEC", "400000".to_owned()),
    ];
    let mut s = spawn(skydns_bin(), &args, &env, dir.path());

    // While the store is loading: STATUS= says so, queries get SERVFAIL, no READY=1.
    let waiting = receive_until(&notify, Duration::from_secs(10), |m| {
        m.contains("STATUS=waiting for the first snapshot")
    });
    assert!(
        waiting
            .last()
            .is_some_and(|m| m.contains("STATUS=waiting for the first snapshot")),
        "{waiting:?}\n{}",
        s.log_text()
    );
    let early = wait_until(Duration::from_secs(10), || {
        query_a(server, WEB).is_some_and(|m| m.metadata.response_code == ResponseCode::ServFail)
    });
    assert!(early, "no SERVFAIL while loading:\n{}", s.log_text());
    let quiet = receive_until(&notify, Duration::from_millis(300), |_| false);
    assert!(!quiet.iter().any(|m| m.contains("READY=1")), "{quiet:?}");

    let text = std::fs::read_to_string(store_text_file(&dir)).unwrap();
    std::fs::write(&store, text).unwrap();
    let before_ready = receive_until(&notify, Duration::from_secs(20), |m| {
        m.lines().any(|l| l == "READY=1")
    });
    // The first snapshot is in when READY=1 arrives: the very next query is answered from it.
    let answer = query_a(server, WEB).map(|m| addresses(&m).0);
    assert_eq!(
        answer,
        Some(vec!["10.1.0.1".to_owned()]),
        "{before_ready:?}"
    );
    assert!(
        before_ready.last().is_some_and(
            |m| m.contains("READY=1") && m.contains("STATUS=serving; 2 services loaded")
        ),
        "{before_ready:?}"
    );
    // From here on the store is a regular file again.
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");

    let pings = receive_until(&notify, Duration::from_secs(5), |m| m == "WATCHDOG=1\n");
    assert!(pings.iter().any(|m| m == "WATCHDOG=1\n"), "{pings:?}");

    signal(&s, Signal::SIGHUP);
    let reload = receive_until(&notify, Duration::from_secs(10), |m| m.contains("READY=1"));
    let reload: Vec<&String> = reload.iter().filter(|m| *m != "WATCHDOG=1\n").collect();
    assert_eq!(reload.len(), 2, "{reload:?}");
    let monotonic = reload[0]
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .and_then(|v| v.parse::<u64>().ok());
    assert!(
        reload[0].lines().any(|l| l == "RELOADING=1") && monotonic.is_some_and(|v| v > 0),
        "{reload:?}"
    );
    assert!(
        reload[1].contains("READY=1") && reload[1].contains("STATUS=serving; reload #1 applied"),
        "{reload:?}"
    );

    // A broken config on reload: READY=1 again, and STATUS= says why the old one is kept.
    write_store(&store, r#"{"ttl": "x"}"#, "10.9.9.2");
    assert!(wait_until(Duration::from_secs(10), || query_a(
        server, MARKER
    )
    .is_some_and(|m| addresses(&m).0 == ["10.9.9.2"])));
    signal(&s, Signal::SIGHUP);
    let failed = receive_until(&notify, Duration::from_secs(10), |m| m.contains("READY=1"));
    assert!(
        failed.last().is_some_and(|m| m.contains(
            "STATUS=serving; reload #2 failed, previous configuration kept: /skydns/config: key `ttl`"
        )),
        "{failed:?}"
    );

    signal(&s, Signal::SIGTERM);
    let stopping = receive_until(&notify, Duration::from_secs(10), |m| {
        m.contains("STOPPING=1")
    });
    assert!(
        stopping.iter().any(|m| m.contains("STOPPING=1")),
        "{stopping:?}"
    );
    let status = wait_exit(&mut s, Duration::from_secs(10));
    assert_eq!(status.and_then(|st| st.code()), Some(0), "{}", s.log_text());
}

#[test]
fn a_tcp_connection_accepted_before_sigterm_gets_its_first_answer() {
    let dir = TempDir::new("stop-tcp");
    let store = dir.path().join("store.json");
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");
    let file_arg = format!("--file={}", store.display());
    let mut s = Skydns::start(&[&file_arg, "--no-rec"], dir.path());
    wait_for_marker(&s, "10.9.9.1");
    // Connected (and accepted) while running; the query is sent only once the stop began, as
    // a client that connects just before a restart does.
    let mut conn = std::net::TcpStream::connect(s.addr()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    signal(&s, Signal::SIGTERM);
    std::thread::sleep(Duration::from_millis(300));
    let reply = tcp_exchange(&mut conn, MARKER, RecordType::A, Duration::from_secs(5));
    assert_eq!(
        reply.as_ref().map(|m| addresses(m).0),
        Some(vec!["10.9.9.1".to_owned()]),
        "{}",
        s.log_text()
    );
    let status = wait_exit(&mut s, Duration::from_secs(10));
    assert_eq!(status.and_then(|st| st.code()), Some(0), "{}", s.log_text());
}

/// `Uid:`/`Gid:` fields of every thread, and the other lines asked for.
fn task_status(pid: u32) -> Vec<String> {
    let mut all = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let status = std::fs::read_to_string(task.unwrap().path().join("status")).unwrap();
        all.push(status);
    }
    all
}

fn field<'a>(status: &'a str, name: &str) -> Vec<&'a str> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.split_whitespace().collect())
        .unwrap_or_default()
}

#[test]
fn started_as_root_runs_every_thread_as_nobody_without_capabilities() {
    if !is_root() {
        eprintln!("skipped: the privilege drop needs the test to run as root");
        return;
    }
    let dir = TempDir::new("privileges");
    let store = dir.path().join("store.json");
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");
    let file_arg = format!("--file={}", store.display());
    let s = Skydns::start(&[&file_arg, "--no-rec", "--user=nobody"], dir.path());
    // Queries are answered (from the file nobody can read) by threads that are not root.
    wait_for_marker(&s, "10.9.9.1");
    let statuses = task_status(s.child.id());
    assert!(statuses.len() >= 2, "expected runtime threads");
    for st in &statuses {
        for name in ["Uid:", "Gid:"] {
            let ids = field(st, name);
            assert_eq!(ids.len(), 4, "{st}");
            assert!(ids.iter().all(|id| *id != "0"), "{name} {ids:?}:\n{st}");
        }
        for name in ["CapEff:", "CapPrm:"] {
            assert_eq!(field(st, name), ["0000000000000000"], "{st}");
        }
        assert_eq!(field(st, "NoNewPrivs:"), ["1"], "{st}");
    }
    assert!(s.log_text().contains("dropped root privileges"));
}

#[test]
fn logs_to_syslog_with_fields_and_switches_the_query_log_on_reload() {
    let dir = TempDir::new("syslog");
    let store = dir.path().join("store.json");
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");
    let syslog_path = dir.path().join("log.sock");
    let syslog = listening_socket(&syslog_path);
    let file_arg = format!("--file={}", store.display());
    let s = Skydns::start_on(
        free_port(),
        &[&file_arg, "--no-rec", "--log=syslog"],
        dir.path(),
        &[("SKYDNS_SYSLOG_SOCKET", &syslog_path.display().to_string())],
    );
    let pid = s.child.id();
    let lines = receive_until(&syslog, Duration::from_secs(10), |m| m.ends_with("ready"));
    // Facility daemon (3) at level info (6): <30>.
    assert!(
        lines.iter().any(|l| l.starts_with("<30>")
            && l.contains(&format!("skydns[{pid}]"))
            && l.contains("listening on udp://127.0.0.1")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.ends_with("ready")), "{lines:?}");

    query_a(s.addr(), WEB).unwrap();
    let quiet = receive_until(&syslog, Duration::from_millis(600), |_| false);
    assert!(!quiet.iter().any(|l| l.contains("query")), "{quiet:?}");

    write_store(&store, r#"{"ttl": 60, "query_log": true}"#, "10.9.9.2");
    wait_for_marker(&s, "10.9.9.2");
    signal(&s, Signal::SIGHUP);
    receive_until(&syslog, Duration::from_secs(10), |m| {
        m.contains("reload #1 applied")
    });
    query_a(s.addr(), WEB).unwrap();
    let logged = receive_until(&syslog, Duration::from_secs(5), |m| m.contains("query"));
    assert!(
        logged.iter().any(|l| l.contains("query")
            && l.contains("remote=127.0.0.1:")
            && l.contains("name=web.skydns.local.")
            && l.contains("rcode=")),
        "{logged:?}"
    );
}

fn wait_for_marker(s: &Skydns, ip: &str) {
    assert!(
        wait_until(Duration::from_secs(10), || query_a(s.addr(), MARKER)
            .is_some_and(|m| addresses(&m).0 == [ip])),
        "the store did not pick up the change:\n{}",
        s.log_text()
    );
}

/// Sends queries one after the other and checks every reply until told to stop.
struct LoadGenerator {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<Vec<String>>>,
}

impl LoadGenerator {
    fn start(server: SocketAddr, threads: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let threads = (0..threads)
            .map(|_| {
                let (stop, sent) = (stop.clone(), sent.clone());
                std::thread::spawn(move || {
                    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
                    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                    let mut failures = Vec::new();
                    let mut buf = [0u8; 4096];
                    let mut id = 0u16;
                    while !stop.load(Ordering::Relaxed) {
                        id = id.wrapping_add(1);
                        let mut m = Message::query();
                        m.metadata.id = id;
                        m.add_query(Query::query(Name::from_ascii(WEB).unwrap(), RecordType::A));
                        sock.send_to(&m.to_vec().unwrap(), server).unwrap();
                        sent.fetch_add(1, Ordering::Relaxed);
                        let reply = match sock.recv(&mut buf) {
                            Ok(n) => Message::from_vec(&buf[..n]).ok(),
                            Err(e) => {
                                failures.push(format!("query {id}: no reply ({e})"));
                                continue;
                            }
                        };
                        match reply {
                            Some(r)
                                if r.metadata.id == id
                                    && r.metadata.response_code == ResponseCode::NoError
                                    && addresses(&r).0 == ["10.1.0.1"] => {}
                            other => failures.push(format!("query {id}: bad reply {other:?}")),
                        }
                    }
                    failures
                })
            })
            .collect();
        LoadGenerator {
            stop,
            sent,
            threads,
        }
    }

    /// Stops and returns (queries sent, failures).
    fn finish(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let failures = self
            .threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        (self.sent.load(Ordering::Relaxed), failures)
    }
}

/// TTL of the web record and the RA flag of its answer.
fn ttl_and_ra(s: &Skydns) -> Option<(u32, bool)> {
    let reply = query_a(s.addr(), WEB)?;
    Some((addresses(&reply).1?, reply.metadata.recursion_available))
}

#[test]
fn sighup_under_load_applies_new_settings_keeps_old_on_error_and_drops_nothing() {
    let dir = TempDir::new("hup");
    let store = dir.path().join("store.json");
    // An upstream on loopback that nothing is sent to here: forwarding, when on, stays local.
    let upstream = UdpSocket::bind("127.0.0.1:0").unwrap();
    let upstream = upstream.local_addr().unwrap();
    write_store(&store, r#"{"ttl": 60, "nameservers": []}"#, "10.9.9.1");
    let file_arg = format!("--file={}", store.display());
    let ns_arg = format!("--nameservers={upstream}");
    let s = Skydns::start(&[&file_arg, &ns_arg], dir.path());
    wait_for_marker(&s, "10.9.9.1");
    assert_eq!(ttl_and_ra(&s), Some((60, false)));
    let load = LoadGenerator::start(s.addr(), 2);

    let changed = format!(r#"{{"ttl": 120, "nameservers": ["{upstream}"]}}"#);
    write_store(&store, &changed, "10.9.9.2");
    wait_for_marker(&s, "10.9.9.2");
    assert_eq!(ttl_and_ra(&s), Some((60, false)), "applied before SIGHUP");
    signal(&s, Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(5), || ttl_and_ra(&s)
            == Some((120, true))),
        "new ttl/nameservers not in effect:\n{}",
        s.log_text()
    );

    write_store(&store, r#"{"ttl": "x"}"#, "10.9.9.3");
    wait_for_marker(&s, "10.9.9.3");
    signal(&s, Signal::SIGHUP);
    assert!(
        wait_until(Duration::from_secs(5), || s
            .log_text()
            .contains("reload #2 failed")),
        "{}",
        s.log_text()
    );
    let log = s.log_text();
    assert!(
        log.contains("still serving the previous configuration") && log.contains("key `ttl`"),
        "{log}"
    );
    assert_eq!(ttl_and_ra(&s), Some((120, true)), "old config kept");

    // A listen address in /skydns/config cannot apply (the sockets exist before the store is
    // read): reported as ignored, not applied; queries keep flowing.
    let moved =
        format!(r#"{{"ttl": 120, "nameservers": ["{upstream}"], "dns_addr": "127.0.0.1:1"}}"#);
    write_store(&store, &moved, "10.9.9.4");
    wait_for_marker(&s, "10.9.9.4");
    for _ in 0..10 {
        signal(&s, Signal::SIGHUP);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        wait_until(Duration::from_secs(5), || s
            .log_text()
            .contains("reload #12 applied")),
        "{}",
        s.log_text()
    );
    assert!(
        s.log_text()
            .contains("ignoring start-up settings in /skydns/config: dns_addr"),
        "{}",
        s.log_text()
    );
    assert_eq!(ttl_and_ra(&s), Some((120, true)));
    let (sent, failures) = load.finish();
    assert!(sent > 100, "the load generator sent only {sent} queries");
    assert!(
        failures.is_empty(),
        "{} of {sent} queries failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

#[test]
fn auto_logging_picks_syslog_for_a_service_and_stderr_under_the_journal() {
    let dir = TempDir::new("autolog");
    let store = dir.path().join("store.json");
    write_store(&store, r#"{"ttl": 60}"#, "10.9.9.1");
    let syslog_path = dir.path().join("log.sock");
    let syslog = listening_socket(&syslog_path);
    let file_arg = format!("--file={}", store.display());
    let socket = syslog_path.display().to_string();
    // stderr is a file, not a terminal, and there is no journal: syslog.
    let service = Skydns::start_on(
        free_port(),
        &[&file_arg, "--no-rec"],
        dir.path(),
        &[("SKYDNS_LOG", "auto"), ("SKYDNS_SYSLOG_SOCKET", &socket)],
    );
    let lines = receive_until(&syslog, Duration::from_secs(10), |m| m.ends_with("ready"));
    assert!(lines.iter().any(|l| l.ends_with("ready")), "{lines:?}");
    assert!(!service.log_text().contains("ready"));
    drop(service);

    // With JOURNAL_STREAM set, systemd reads stderr: no syslog.
    let journal = Skydns::start_on(
        free_port(),
        &[&file_arg, "--no-rec"],
        dir.path(),
        &[
            ("SKYDNS_LOG", "auto"),
            ("SKYDNS_SYSLOG_SOCKET", &socket),
            ("JOURNAL_STREAM", "8:12345"),
        ],
    );
    assert!(wait_until(Duration::from_secs(5), || journal
        .log_text()
        .contains("ready")));
    let nothing = receive_until(&syslog, Duration::from_millis(300), |_| false);
    assert!(nothing.is_empty(), "{nothing:?}");
}
