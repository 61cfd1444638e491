//! A paced UDP client for rate-limiting tests: sends one query at a fixed rate from a chosen
//! loopback source address and counts what comes back (bytes, replies, truncated replies,
//! answers), each send and receive bounded in time.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RecordType};

/// How long to wait for late replies once the last query is sent.
const GRACE: Duration = Duration::from_millis(500);

/// A query as a flood sends it.
#[derive(Clone)]
pub(crate) struct Ask {
    pub name: &'static str,
    pub qtype: RecordType,
    pub dnssec_ok: bool,
    /// COOKIE option data to send, if any.
    pub cookie: Option<Vec<u8>>,
}

impl Ask {
    pub(crate) fn new(name: &'static str, qtype: RecordType, dnssec_ok: bool) -> Self {
        Ask {
            name,
            qtype,
            dnssec_ok,
            cookie: None,
        }
    }

    /// The query with ID `id`, in wire form.
    pub(crate) fn wire(&self, id: u16) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.id = id;
        m.add_query(Query::query(
            Name::from_ascii(self.name).unwrap(),
            self.qtype,
        ));
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns.set_dnssec_ok(self.dnssec_ok);
        if let Some(cookie) = &self.cookie {
            edns.options_mut()
                .insert(EdnsOption::Unknown(10, cookie.clone()));
        }
        m.edns = Some(edns);
        m.to_vec().unwrap()
    }
}

/// What one flood saw.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    /// Queries sent.
    pub sent: u64,
    /// Bytes sent (the queries' DNS messages).
    pub bytes_in: u64,
    /// Replies received.
    pub replies: u64,
    /// Bytes received.
    pub bytes_out: u64,
    /// Replies with TC set.
    pub truncated: u64,
    /// Replies without TC and with answer records.
    pub answered: u64,
}

impl Tally {
    /// Bytes out per byte in: what the server amplified.
    pub(crate) fn ratio(&self) -> f64 {
        self.bytes_out as f64 / self.bytes_in.max(1) as f64
    }
}

/// Sends `ask` `qps` times a second for `duration` from `source` to `server` and counts the
/// replies (waiting [`GRACE`] for late ones).
pub(crate) fn flood(
    server: SocketAddr,
    source: IpAddr,
    ask: &Ask,
    qps: u32,
    duration: Duration,
) -> Tally {
    let socket = UdpSocket::bind((source, 0)).expect("bind the flood's source address");
    socket.connect(server).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let total = u64::try_from(u128::from(qps) * duration.as_millis() / 1000).unwrap();
    let gap = Duration::from_secs(1) / qps;
    let done = AtomicBool::new(false);
    let mut tally = Tally::default();
    std::thread::scope(|s| {
        let receiver = s.spawn(|| {
            let mut got = Tally::default();
            let mut buf = [0u8; 65_535];
            let mut deadline = None;
            loop {
                if let Ok(n) = socket.recv(&mut buf) {
                    got.replies += 1;
                    got.bytes_out += n as u64;
                    if n >= 12 && buf[2] & 0x02 != 0 {
                        got.truncated += 1;
                    } else if n >= 12 && u16::from_be_bytes([buf[6], buf[7]]) > 0 {
                        got.answered += 1;
                    }
                }
                match deadline {
                    None if done.load(Ordering::Acquire) => deadline = Some(Instant::now() + GRACE),
                    Some(end) if Instant::now() >= end => return got,
                    _ => {}
                }
            }
        });
        let start = Instant::now();
        for i in 0..total {
            let due = start + gap * u32::try_from(i).unwrap();
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let wire = ask.wire(u16::try_from(i % 65_536).unwrap());
            if socket.send(&wire).is_ok() {
                tally.sent += 1;
                tally.bytes_in += wire.len() as u64;
            }
        }
        done.store(true, Ordering::Release);
        let got = receiver.join().unwrap();
        tally.replies = got.replies;
        tally.bytes_out = got.bytes_out;
        tally.truncated = got.truncated;
        tally.answered = got.answered;
    });
    tally
}

/// The COOKIE option data of one reply to `ask` from `source` (client and server cookie).
pub(crate) fn learn_cookie(server: SocketAddr, source: IpAddr, ask: &Ask) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind((source, 0)).ok()?;
    socket.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut ask = ask.clone();
    ask.cookie = Some(vec![0x5a; 8]);
    socket.send_to(&ask.wire(1), server).ok()?;
    let mut buf = [0u8; 65_535];
    let n = socket.recv(&mut buf).ok()?;
    let reply = Message::from_vec(&buf[..n]).ok()?;
    let edns = reply.edns?;
    match edns.option(hickory_proto::rr::rdata::opt::EdnsCode::Cookie)? {
        EdnsOption::Unknown(_, data) => Some(data.clone()),
        _ => None,
    }
}
