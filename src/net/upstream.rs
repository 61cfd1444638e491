//! Exchanges with upstream DNS servers, with the spoofing defences of RFC 5452: every upstream
//! query goes out from a fresh socket (a kernel-chosen random source port) with a fresh random
//! ID, and only a reply from the server's address and port that carries that ID and the same
//! question (name without regard to case, type, class) is accepted; anything else is ignored
//! while waiting goes on until the timeout.
//!
//! Servers are tried in turn, starting at a rotating index when asked to rotate: the next one is
//! tried after a timeout, a transport error or a SERVFAIL/REFUSED-like reply. A single server is
//! tried twice. Every exchange is bounded by the per-exchange timeout and all of them together
//! by [`MAX_TOTAL`] (or one timeout, when that is longer), so the client hears SERVFAIL before
//! its own resolver gives up (stub resolvers wait 5 s). When every server fails, one warning per
//! [`WARN_INTERVAL`] says so (with the last error), so a wrong `nameservers` is noticed.
//!
//! A truncated UDP reply makes us ask the same server again over TCP (RFC 7766), so the
//! answer we hand on is complete; the client-facing reply is fitted to the client's size later.
//!
//! The number of upstream exchanges in flight is bounded: beyond [`MAX_OUTSTANDING`] a new one
//! fails at once ([`UpstreamError::Busy`]).

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Semaphore;
use tokio::time::{timeout, timeout_at, Instant};

use crate::core::Transport;
use crate::metrics::upstream::Failure;
use crate::metrics::Metrics;

/// Upstream exchanges (forwarded queries and look-ups) in flight at once.
pub const MAX_OUTSTANDING: usize = 1000;

/// Upper bound on all the exchanges for one query together.
pub const MAX_TOTAL: Duration = Duration::from_secs(4);

/// At most one "every upstream failed" warning per this interval.
pub const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// Largest UDP reply we read from an upstream.
const UDP_BUFFER: usize = 65_535;

/// Why no usable upstream reply came back.
#[derive(Debug, Error)]
pub enum UpstreamError {
    /// [`MAX_OUTSTANDING`] exchanges are in flight already; nothing was sent.
    #[error("too many upstream queries in flight")]
    Busy,
    /// The server list is empty.
    #[error("no upstream servers")]
    NoServers,
    /// The query cannot be encoded (or is too long for TCP); holds why.
    #[error("the query cannot be encoded: {0}")]
    Encode(String),
    /// Every attempt failed, or the time ran out; holds the last failure.
    #[error("every upstream failed; last: {0}")]
    AllFailed(ExchangeError),
}

/// Why one exchange with one server failed.
#[derive(Debug, Error)]
pub enum ExchangeError {
    /// No reply that matches the query arrived in time.
    #[error("{server}: no matching reply within {timeout:?}")]
    Timeout {
        /// The server asked.
        server: SocketAddr,
        /// How long it was given.
        timeout: Duration,
    },
    /// A socket operation failed (bind, connect, send, receive).
    #[error("{server}: {error}")]
    Io {
        /// The server asked.
        server: SocketAddr,
        /// The I/O error.
        error: io::Error,
    },
    /// The TCP reply cannot be decoded or is not the answer to the query.
    #[error("{server}: reply does not match the query or cannot be decoded")]
    BadReply {
        /// The server asked.
        server: SocketAddr,
    },
    /// The reply's rcode is neither NOERROR nor NXDOMAIN (SERVFAIL, REFUSED, ...).
    #[error("{server}: answered {rcode}")]
    Rcode {
        /// The server asked.
        server: SocketAddr,
        /// The rcode it answered with.
        rcode: ResponseCode,
    },
}

/// The shared state of upstream traffic: the bound on exchanges in flight and the rotation
/// counter. Server lists are not kept here: callers pass the ones of the current config.
pub struct Upstreams {
    outstanding: Semaphore,
    next: AtomicUsize,
    /// When the last failure warning was logged, in ms since `created` (0: never).
    warned_at_ms: AtomicU64,
    created: Instant,
    /// Where each exchange is counted, per server.
    metrics: Option<Arc<Metrics>>,
}

impl Upstreams {
    /// At most `limit` exchanges in flight, each counted in `metrics`.
    pub fn new(limit: usize, metrics: Option<Arc<Metrics>>) -> Self {
        Upstreams {
            outstanding: Semaphore::new(limit),
            next: AtomicUsize::new(0),
            warned_at_ms: AtomicU64::new(0),
            created: Instant::now(),
            metrics,
        }
    }

    /// Asks `servers` for `query` (its ID is replaced per upstream query; the reply carries the
    /// ID of the last query sent). With `rotate`, successive calls start at successive servers.
    pub async fn exchange(
        &self,
        query: &Message,
        servers: &[SocketAddr],
        rotate: bool,
        transport: Transport,
        per_exchange: Duration,
    ) -> Result<Message, UpstreamError> {
        if servers.is_empty() {
            return Err(UpstreamError::NoServers);
        }
        let Ok(_permit) = self.outstanding.try_acquire() else {
            return Err(UpstreamError::Busy);
        };
        let start = if rotate {
            self.next.fetch_add(1, Ordering::Relaxed)
        } else {
            0
        };
        let attempts = servers.len().max(2);
        // One attempt per upstream server: a handful, far below u32::MAX.
        let times = u32::try_from(attempts).unwrap_or(u32::MAX);
        let budget = per_exchange.max(MAX_TOTAL.min(per_exchange * times));
        let deadline = Instant::now() + budget;
        let mut query = query.clone();
        let mut last = None;
        for attempt in 0..attempts {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let server = servers[(start + attempt) % servers.len()];
            let began = Instant::now();
            match exchange_one(&mut query, server, transport, per_exchange.min(left)).await {
                Ok(reply) => {
                    self.count(server, Ok(&reply), began.elapsed());
                    return Ok(reply);
                }
                Err(OneError::Encode(e)) => return Err(UpstreamError::Encode(e)),
                Err(OneError::Failed(e)) => {
                    tracing::debug!(error = %e, "upstream exchange failed");
                    self.count(server, Err(&e), began.elapsed());
                    last = Some(e);
                }
            }
        }
        let error = UpstreamError::AllFailed(last.unwrap_or(ExchangeError::Timeout {
            server: servers[0],
            timeout: per_exchange,
        }));
        self.warn_rarely(&error);
        Err(error)
    }

    /// Counts one exchange with `server`: its reply, or why it failed, after `elapsed`.
    fn count(
        &self,
        server: SocketAddr,
        outcome: Result<&Message, &ExchangeError>,
        elapsed: Duration,
    ) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        let upstreams = &metrics.upstreams;
        match outcome {
            Ok(reply) => {
                upstreams.answered(server, u16::from(reply.metadata.response_code), elapsed);
            }
            Err(e) => {
                if let ExchangeError::Rcode { rcode, .. } = e {
                    upstreams.answered(server, u16::from(*rcode), elapsed);
                }
                upstreams.failed(server, e.failure());
            }
        }
    }

    /// Logs `error` as a warning unless one was logged within [`WARN_INTERVAL`].
    fn warn_rarely(&self, error: &UpstreamError) {
        // Milliseconds since start-up fit in u64 for 584 million years.
        let now_ms = u64::try_from(self.created.elapsed().as_millis()).unwrap_or(u64::MAX) + 1;
        let last = self.warned_at_ms.load(Ordering::Relaxed);
        let due = last == 0
            || now_ms.saturating_sub(last)
                >= u64::try_from(WARN_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if due
            && self
                .warned_at_ms
                .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!("upstream servers failed (one warning per {WARN_INTERVAL:?}): {error}");
        }
    }
}

impl ExchangeError {
    /// The kind of failure, as counted.
    pub fn failure(&self) -> Failure {
        match self {
            ExchangeError::Timeout { .. } => Failure::Timeout,
            ExchangeError::Io { .. } => Failure::Network,
            ExchangeError::BadReply { .. } => Failure::BadReply,
            ExchangeError::Rcode { .. } => Failure::Rcode,
        }
    }
}

enum OneError {
    Encode(String),
    Failed(ExchangeError),
}

impl From<ExchangeError> for OneError {
    fn from(e: ExchangeError) -> Self {
        OneError::Failed(e)
    }
}

/// One query to one server over `transport` (UDP falling back to TCP on truncation), all
/// within `per_exchange`.
async fn exchange_one(
    query: &mut Message,
    server: SocketAddr,
    transport: Transport,
    per_exchange: Duration,
) -> Result<Message, OneError> {
    let started = Instant::now();
    let reply = match transport {
        Transport::Udp => {
            let reply = udp(query, server, per_exchange).await?;
            if reply.metadata.truncation {
                tracing::debug!(%server, "truncated upstream reply, asking again over TCP");
                let left = per_exchange.saturating_sub(started.elapsed());
                tcp(query, server, left).await?
            } else {
                reply
            }
        }
        Transport::Tcp => tcp(query, server, per_exchange).await?,
    };
    match reply.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(reply),
        rcode => Err(ExchangeError::Rcode { server, rcode }.into()),
    }
}

/// Gives `query` a fresh random ID and encodes it.
fn fresh_bytes(query: &mut Message) -> Result<Vec<u8>, OneError> {
    query.metadata.id = rand::random();
    query.to_vec().map_err(|e| OneError::Encode(e.to_string()))
}

async fn udp(
    query: &mut Message,
    server: SocketAddr,
    per_exchange: Duration,
) -> Result<Message, OneError> {
    let io = |error| ExchangeError::Io { server, error };
    let bytes = fresh_bytes(query)?;
    let deadline = Instant::now() + per_exchange;
    // A new socket per query: the kernel picks a random ephemeral source port. Connecting it
    // makes the kernel deliver only datagrams from the server's address and port.
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(io)?;
    socket.connect(server).await.map_err(io)?;
    socket.send(&bytes).await.map_err(io)?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let len = match timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => {
                return Err(ExchangeError::Timeout {
                    server,
                    timeout: per_exchange,
                }
                .into())
            }
            Ok(received) => received.map_err(io)?,
        };
        match Message::from_vec(&buf[..len]) {
            Ok(reply) if matches(query, &reply) => return Ok(reply),
            _ => tracing::debug!(%server, "ignoring a UDP reply that does not match the query"),
        }
    }
}

async fn tcp(
    query: &mut Message,
    server: SocketAddr,
    per_exchange: Duration,
) -> Result<Message, OneError> {
    let bytes = fresh_bytes(query)?;
    let Ok(len) = u16::try_from(bytes.len()) else {
        return Err(OneError::Encode("query longer than 65535 bytes".into()));
    };
    let exchange = async {
        let mut stream = TcpStream::connect(server).await?;
        let _ = stream.set_nodelay(true);
        let mut framed = Vec::with_capacity(bytes.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&bytes);
        stream.write_all(&framed).await?;
        let reply_len = stream.read_u16().await?;
        let mut body = vec![0u8; usize::from(reply_len)];
        stream.read_exact(&mut body).await?;
        Ok::<_, io::Error>(body)
    };
    let body = match timeout(per_exchange, exchange).await {
        Err(_) => {
            return Err(ExchangeError::Timeout {
                server,
                timeout: per_exchange,
            }
            .into())
        }
        Ok(result) => result.map_err(|error| ExchangeError::Io { server, error })?,
    };
    match Message::from_vec(&body) {
        Ok(reply) if matches(query, &reply) => Ok(reply),
        _ => Err(ExchangeError::BadReply { server }.into()),
    }
}

/// Is `reply` the answer to `query`: a response with its ID and its question (the name
/// compared without regard to case)?
fn matches(query: &Message, reply: &Message) -> bool {
    reply.metadata.message_type == MessageType::Response
        && reply.metadata.id == query.metadata.id
        && same_question(&query.queries, &reply.queries)
}

fn same_question(asked: &[Query], echoed: &[Query]) -> bool {
    asked.len() == echoed.len()
        && asked.iter().zip(echoed).all(|(a, e)| {
            a.name() == e.name()
                && a.query_type() == e.query_type()
                && a.query_class() == e.query_class()
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{DNSClass, Name, RecordType};

    fn query(name: &str, qtype: RecordType) -> Message {
        let mut m = Message::query();
        m.metadata.id = 77;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        m
    }

    fn reply_to(q: &Message) -> Message {
        let mut r = q.clone();
        r.metadata.message_type = MessageType::Response;
        r
    }

    #[test]
    fn only_a_reply_with_the_id_and_question_matches() {
        let q = query("www.Example.org.", RecordType::A);
        assert!(matches(&q, &reply_to(&q)));

        let mut case = reply_to(&q);
        case.queries[0].set_name(Name::from_ascii("WWW.example.ORG.").unwrap());
        assert!(matches(&q, &case), "names compare without regard to case");

        let mut id = reply_to(&q);
        id.metadata.id = 78;
        assert!(!matches(&q, &id));

        let mut qtype = reply_to(&q);
        qtype.queries[0].set_query_type(RecordType::AAAA);
        assert!(!matches(&q, &qtype));

        let mut class = reply_to(&q);
        class.queries[0].set_query_class(DNSClass::CH);
        assert!(!matches(&q, &class));

        let mut name = reply_to(&q);
        name.queries[0].set_name(Name::from_ascii("www.example.net.").unwrap());
        assert!(!matches(&q, &name));

        assert!(!matches(&q, &q), "a query is not a reply");
    }

    #[tokio::test]
    async fn beyond_the_bound_an_exchange_fails_at_once() {
        // A loopback socket that never answers keeps the first exchange outstanding.
        let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let servers = [hole.local_addr().unwrap()];
        let upstreams = Upstreams::new(1, None);
        let q = query("www.example.org.", RecordType::A);
        let slow = upstreams.exchange(
            &q,
            &servers,
            false,
            Transport::Udp,
            Duration::from_millis(300),
        );
        let busy = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let started = std::time::Instant::now();
            let result = upstreams
                .exchange(&q, &servers, false, Transport::Udp, Duration::from_secs(2))
                .await;
            (result, started.elapsed())
        };
        let (slow, (busy, waited)) = tokio::join!(slow, busy);
        assert!(matches!(slow, Err(UpstreamError::AllFailed(_))));
        assert!(matches!(busy, Err(UpstreamError::Busy)));
        assert!(waited < Duration::from_millis(200));
    }
}
