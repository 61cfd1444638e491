//! Upstream DNS servers for forwarding tests, all on loopback: a real `unbound` (Debian package
//! `unbound`) serving small local zones the test writes (it refuses every other name, so it never
//! sends a query anywhere), a black hole (a bound UDP socket that never answers), and a tiny
//! counting upstream that can send spoofed replies before the real one.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::server::{free_port, udp_query, wait_until, TempDir};

/// A running unbound, killed on drop.
pub(crate) struct Unbound {
    child: Child,
    pub port: u16,
    _dir: TempDir,
}

impl Unbound {
    /// Starts unbound on a free loopback port serving `zones` (`local-zone` names, static) with
    /// `data` (`local-data` lines in presentation format), and waits until it answers.
    pub(crate) fn start(zones: &[&str], data: &[&str]) -> Unbound {
        let dir = TempDir::new("unbound");
        let port = free_port();
        let mut conf = format!(
            "server:\n  interface: 127.0.0.1@{port}\n  port: {port}\n  do-daemonize: no\n  \
             chroot: \"\"\n  username: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  \
             use-syslog: no\n  logfile: \"\"\n  verbosity: 0\n  do-ip6: no\n  \
             module-config: \"iterator\"\n  max-udp-size: 1232\n  local-zone: \".\" refuse\n",
            dir = dir.path().display()
        );
        for zone in zones {
            conf.push_str(&format!("  local-zone: \"{zone}\" static\n"));
        }
        for line in data {
            conf.push_str(&format!("  local-data: '{line}'\n"));
        }
        conf.push_str("remote-control:\n  control-enable: no\n");
        let path = dir.path().join("unbound.conf");
        std::fs::write(&path, conf).unwrap();
        let child = Command::new("unbound")
            .arg("-c")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start unbound (package unbound)");
        let unbound = Unbound {
            child,
            port,
            _dir: dir,
        };
        let probe = zones.first().copied().unwrap_or(".");
        assert!(
            wait_until(Duration::from_secs(10), || udp_query(
                unbound.addr(),
                probe,
                RecordType::SOA,
                Duration::from_millis(200)
            )
            .is_some()),
            "unbound did not start on port {port}"
        );
        unbound
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// `IP:PORT` for `--nameservers`.
    pub(crate) fn spec(&self) -> String {
        self.addr().to_string()
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP socket that receives queries and never answers.
pub(crate) struct BlackHole {
    _socket: UdpSocket,
    pub addr: SocketAddr,
}

impl BlackHole {
    pub(crate) fn new() -> BlackHole {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        BlackHole {
            _socket: socket,
            addr,
        }
    }
}

/// A tiny UDP upstream that answers every A query with one A record of `ttl` and `address`
/// (after a delay, when started slow),
/// counting the queries it gets and those that carry the stub loop-guard EDNS option 65011.
/// With `spoof`, each real reply is preceded by three that must be
/// ignored: one with a wrong ID, one with a wrong question, and one from another port; they
/// carry the address 198.51.100.66.
pub(crate) struct CountingUpstream {
    pub addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    guarded: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// SkyDNS's stub-forwarding loop-guard EDNS option code.
const LOOP_GUARD: u16 = 65011;

/// The name of the record an injecting upstream adds to its answers.
pub(crate) const INJECTED: &str = "injected.example.com.";

/// The address carried by spoofed replies.
pub(crate) const SPOOFED: [u8; 4] = [198, 51, 100, 66];

impl CountingUpstream {
    pub(crate) fn start(address: [u8; 4], ttl: u32, spoof: bool) -> CountingUpstream {
        Self::spawn(address, ttl, spoof, Duration::ZERO, false)
    }

    /// An upstream that takes `delay` before each reply (queries are answered one by one).
    pub(crate) fn start_slow(address: [u8; 4], ttl: u32, delay: Duration) -> CountingUpstream {
        Self::spawn(address, ttl, false, delay, false)
    }

    /// An upstream whose every A answer also carries a record about another name
    /// ([`INJECTED`]), as a hostile or careless upstream might.
    pub(crate) fn start_injecting(address: [u8; 4], ttl: u32) -> CountingUpstream {
        Self::spawn(address, ttl, false, Duration::ZERO, true)
    }

    fn spawn(
        address: [u8; 4],
        ttl: u32,
        spoof: bool,
        delay: Duration,
        inject: bool,
    ) -> CountingUpstream {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let queries = Arc::new(AtomicUsize::new(0));
        let guarded = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, marked, halt) = (queries.clone(), guarded.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let other = UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut buf = [0u8; 4096];
            while !halt.load(Ordering::Relaxed) {
                let Ok((len, peer)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(query) = Message::from_vec(&buf[..len]) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let guard = query
                    .edns
                    .as_ref()
                    .and_then(|e| e.option(EdnsCode::from(LOOP_GUARD)));
                if matches!(guard, Some(EdnsOption::Unknown(_, data)) if data == &[1]) {
                    marked.fetch_add(1, Ordering::SeqCst);
                }
                if spoof {
                    let mut wrong_id = reply(&query, SPOOFED, ttl);
                    wrong_id.metadata.id = query.metadata.id.wrapping_add(1);
                    let mut wrong_question = reply(&query, SPOOFED, ttl);
                    wrong_question.queries[0]
                        .set_name(Name::from_ascii("decoy.example.org.").unwrap());
                    let _ = socket.send_to(&wrong_id.to_vec().unwrap(), peer);
                    let _ = socket.send_to(&wrong_question.to_vec().unwrap(), peer);
                    let _ = other.send_to(&reply(&query, SPOOFED, ttl).to_vec().unwrap(), peer);
                    std::thread::sleep(Duration::from_millis(20));
                }
                std::thread::sleep(delay);
                let mut answer = reply(&query, address, ttl);
                if inject && !answer.answers.is_empty() {
                    answer.answers.push(Record::from_rdata(
                        Name::from_ascii(INJECTED).unwrap(),
                        ttl,
                        RData::A(A::from(std::net::Ipv4Addr::from(SPOOFED))),
                    ));
                }
                let _ = socket.send_to(&answer.to_vec().unwrap(), peer);
            }
        });
        CountingUpstream {
            addr,
            queries,
            guarded,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn queries(&self) -> usize {
        self.queries.load(Ordering::SeqCst)
    }

    /// Queries that carried EDNS option 65011 with data `[1]`.
    pub(crate) fn guarded(&self) -> usize {
        self.guarded.load(Ordering::SeqCst)
    }
}

impl Drop for CountingUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reply(query: &Message, address: [u8; 4], ttl: u32) -> Message {
    let mut r = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    r.metadata.recursion_desired = query.metadata.recursion_desired;
    r.metadata.recursion_available = true;
    r.queries = query.queries.clone();
    if let Some(q) = query
        .queries
        .first()
        .filter(|q: &&Query| q.query_type() == RecordType::A)
    {
        r.answers.push(Record::from_rdata(
            q.name().clone(),
            ttl,
            RData::A(A::from(std::net::Ipv4Addr::from(address))),
        ));
    }
    r
}
