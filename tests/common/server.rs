//! Running the real `skydns` binary on a loopback port and querying it with real clients.

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

/// A port free for both UDP and TCP on 127.0.0.1, for a server a test starts.
///
/// It is drawn below the kernel's ephemeral range, so the client sockets of concurrent tests
/// (which get ephemeral ports) cannot take it between this check and the server's bind, and
/// it is never handed out twice in one test process.
pub(crate) fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let (low, high) = below_ephemeral_range();
    let mut handed = HANDED_OUT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let port = rand::random_range(low..high);
        if handed.contains(&port) {
            continue;
        }
        let udp = UdpSocket::bind(("127.0.0.1", port));
        if udp.is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed.insert(port);
            return port;
        }
    }
}

/// Ports from 10000 up to the start of the ephemeral range (Linux default 32768).
fn below_ephemeral_range() -> (u16, u16) {
    let start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32768);
    (10_000, start.max(20_000))
}

/// A temporary directory removed on drop.
pub(crate) struct TempDir(pub PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "skydns-test-{tag}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_suffix()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

fn rand_suffix() -> u128 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    RandomState::new().build_hasher().finish() as u128
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running skydns process, killed on drop.
pub(crate) struct Skydns {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
    /// Where it serves /metrics, /health and /ready (`None`: turned off).
    pub metrics: Option<SocketAddr>,
}

/// What [`Skydns::launch`] waits for before handing the server to a test.
#[derive(Clone, Copy)]
enum Readiness {
    /// Any reply, SERVFAIL included.
    Answering,
    /// A reply other than SERVFAIL: the first snapshot is loaded.
    Loaded,
}

impl Skydns {
    /// Starts skydns on a free loopback port with `args` and waits until it answers.
    pub(crate) fn start(args: &[&str], log_dir: &Path) -> Skydns {
        let port = free_port();
        Self::start_on(port, args, log_dir, &[])
    }

    /// Starts skydns on `port` with extra environment variables and waits until its store is
    /// loaded.
    pub(crate) fn start_on(
        port: u16,
        args: &[&str],
        log_dir: &Path,
        env: &[(&str, &str)],
    ) -> Skydns {
        Self::launch(port, args, log_dir, env, Readiness::Loaded)
    }

    /// Starts skydns and waits only until it answers at all (SERVFAIL while its store is still
    /// loading counts), for tests of the start-up without a reachable store.
    pub(crate) fn start_answering(args: &[&str], log_dir: &Path) -> Skydns {
        Self::launch(free_port(), args, log_dir, &[], Readiness::Answering)
    }

    fn launch(
        port: u16,
        args: &[&str],
        log_dir: &Path,
        env: &[(&str, &str)],
        readiness: Readiness,
    ) -> Skydns {
        let log = log_dir.join(format!("skydns-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        // Every server gets a listener of its own, unless the test names one (or none) with
        // the flag or with PROMETHEUS_PORT (a port alone means 127.0.0.1).
        let given = args
            .iter()
            .find_map(|a| a.strip_prefix("--metrics-addr="))
            .or_else(|| {
                env.iter()
                    .find(|(k, _)| *k == "PROMETHEUS_PORT")
                    .map(|(_, v)| *v)
            });
        let metrics = match given {
            Some(addr) => addr.parse().ok().or_else(|| {
                let port = addr.parse::<u16>().ok()?;
                Some(SocketAddr::from(([127, 0, 0, 1], port)))
            }),
            None => Some(SocketAddr::from(([127, 0, 0, 1], free_port()))),
        };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydns"));
        cmd.arg(format!("--addr=127.0.0.1:{port}"));
        if let (None, Some(addr)) = (given, metrics) {
            cmd.arg(format!("--metrics-addr={addr}"));
        }
        cmd.args(args)
            .env_remove("RUST_LOG")
            .env("SKYDNS_LOG", "stderr")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start skydns");
        let mut s = Skydns {
            child,
            port,
            log,
            metrics,
        };
        s.wait_ready(readiness);
        s
    }

    fn wait_ready(&mut self, readiness: Readiness) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut answered = false;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("skydns exited with {status}:\n{}", self.log_text());
            }
            // The root is never forwarded (fewer labels than ndots), so this probe stays local
            // even when skydns has upstreams.
            // While the store loads every query gets SERVFAIL; once loaded this one is REFUSED.
            let reply = udp_query(
                self.addr(),
                ".",
                RecordType::SOA,
                Duration::from_millis(200),
            );
            match (reply, readiness) {
                (Some(_), Readiness::Answering) => return,
                (Some(m), Readiness::Loaded)
                    if m.metadata.response_code != ResponseCode::ServFail =>
                {
                    return
                }
                (Some(_), Readiness::Loaded) => answered = true,
                (None, _) => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if answered {
            panic!(
                "skydns answered only SERVFAIL for 20 s (its store never loaded):\n{}",
                self.log_text()
            );
        }
        panic!("skydns did not answer within 20 s:\n{}", self.log_text());
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub(crate) fn log_text(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Runs `dig @127.0.0.1 -p PORT` with `args` (bounded: one try, 2 s).
    pub(crate) fn dig(&self, args: &[&str]) -> String {
        dig(self.port, args)
    }

    /// The A records skydns answers for `name`, as [`answer_lines`].
    pub(crate) fn a_records(&self, name: &str) -> Vec<String> {
        answer_lines(&self.dig(&["+noall", "+answer", name, "A"]))
    }

    /// True when skydns answers `name` with an A record for `ip`.
    pub(crate) fn shows(&self, name: &str, ip: &str) -> bool {
        self.a_records(name)
            .iter()
            .any(|l| l.ends_with(&format!(" A {ip}")))
    }

    /// `GET path` on its metrics listener: the status code and the body.
    pub(crate) fn http_get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.metrics?, path)
    }
}

/// `GET path` over HTTP/1.1 from `addr`, as an operator's client sends it (every socket
/// operation bounded by 2 s): the status code and the body.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::Write;
    let limit = Duration::from_secs(2);
    let mut conn = std::net::TcpStream::connect_timeout(&addr, limit).ok()?;
    conn.set_read_timeout(Some(limit)).ok()?;
    conn.set_write_timeout(Some(limit)).ok()?;
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: skydns-test\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

impl Drop for Skydns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dig @127.0.0.1 -p port +tries=1 +time=2 args...`, stdout as text.
pub(crate) fn dig(port: u16, args: &[&str]) -> String {
    let out: Output = Command::new("dig")
        .arg("@127.0.0.1")
        .arg("-p")
        .arg(port.to_string())
        .args(["+tries=1", "+time=2"])
        .args(args)
        .output()
        .expect("run dig (package bind9-dnsutils)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The answer lines of `dig +noall +answer`, sorted, whitespace normalized.
pub(crate) fn answer_lines(dig_output: &str) -> Vec<String> {
    let mut lines: Vec<String> = dig_output
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

/// The header flags of a full dig output (`qr`, `aa`, `ad` ...).
pub(crate) fn flags(dig_output: &str) -> Vec<String> {
    dig_output
        .lines()
        .find_map(|l| l.strip_prefix(";; flags: "))
        .map(|l| {
            l.split(';')
                .next()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The `status:` of a full dig output.
pub(crate) fn status(dig_output: &str) -> Option<String> {
    dig_output
        .lines()
        .find_map(|l| l.split("status: ").nth(1))
        .map(|s| s.split(',').next().unwrap_or("").to_owned())
}

/// A recursion-desired query for `name`/`qtype` with a random ID.
fn query_message(name: &str, qtype: RecordType) -> Option<Message> {
    let mut m = Message::query();
    #[allow(clippy::cast_possible_truncation)] // any 16 random bits make an ID
    let id = rand_suffix() as u16;
    m.metadata.id = id;
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(Name::from_ascii(name).ok()?, qtype));
    Some(m)
}

/// One UDP query with hickory, for checks dig cannot express.
pub(crate) fn udp_query(
    server: SocketAddr,
    name: &str,
    qtype: RecordType,
    timeout: Duration,
) -> Option<Message> {
    let sock = UdpSocket::bind("127.0.0.1:0").ok()?;
    sock.set_read_timeout(Some(timeout)).ok()?;
    sock.send_to(&query_message(name, qtype)?.to_vec().ok()?, server)
        .ok()?;
    let mut buf = [0u8; 65535];
    let (n, _) = sock.recv_from(&mut buf).ok()?;
    Message::from_vec(&buf[..n]).ok()
}

/// One TCP query with hickory (length-prefixed, RFC 7766), every socket operation bounded by
/// `timeout`.
pub(crate) fn tcp_query(
    server: SocketAddr,
    name: &str,
    qtype: RecordType,
    timeout: Duration,
) -> Option<Message> {
    let mut conn = std::net::TcpStream::connect_timeout(&server, timeout).ok()?;
    tcp_exchange(&mut conn, name, qtype, timeout)
}

/// One TCP query on an open connection, every socket operation bounded by `timeout`.
pub(crate) fn tcp_exchange(
    conn: &mut std::net::TcpStream,
    name: &str,
    qtype: RecordType,
    timeout: Duration,
) -> Option<Message> {
    let wire = query_message(name, qtype)?.to_vec().ok()?;
    conn.set_read_timeout(Some(timeout)).ok()?;
    conn.set_write_timeout(Some(timeout)).ok()?;
    write_framed(conn, &wire)?;
    Message::from_vec(&read_framed(conn)?).ok()
}

/// Connects to `server`, sends `wire` and reads one reply, over TCP with the two-byte length
/// prefix (RFC 7766); every socket operation bounded by `timeout`.
pub(crate) fn tcp_roundtrip(server: SocketAddr, wire: &[u8], timeout: Duration) -> Option<Vec<u8>> {
    let mut conn = std::net::TcpStream::connect_timeout(&server, timeout).ok()?;
    conn.set_read_timeout(Some(timeout)).ok()?;
    conn.set_write_timeout(Some(timeout)).ok()?;
    write_framed(&mut conn, wire)?;
    read_framed(&mut conn)
}

/// Writes `wire` on `conn` after its two-byte length.
pub(crate) fn write_framed(conn: &mut std::net::TcpStream, wire: &[u8]) -> Option<()> {
    use std::io::Write;
    let mut framed = u16::try_from(wire.len()).ok()?.to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    conn.write_all(&framed).ok()
}

/// Reads one message from `conn`: its two-byte length, then that many bytes.
pub(crate) fn read_framed(conn: &mut std::net::TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    conn.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
    conn.read_exact(&mut body).ok()?;
    Some(body)
}

/// Polls `check` every 50 ms until it is true or `limit` passes.
pub(crate) fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}
