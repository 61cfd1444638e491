//! What is counted per upstream server (`to`, its address): the duration of every exchange
//! that got a reply, by the reply's rcode, and the failed exchanges by reason. Counted by
//! `net::upstream` for each server it asks, off the answering path (an exchange waits on the
//! network anyway). Stub-zone servers come from the store's data, so at most
//! [`MAX_SERVERS`] addresses are kept apart; exchanges with any further one count as `other`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::counters::Bank;
use super::query::{nanos, rcode_index, rcode_labels, Histogram, DURATIONS, RCODE_LABELS};

/// Upstream addresses counted apart at most.
pub const MAX_SERVERS: usize = 64;

/// Why an exchange with one server failed (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No matching reply in time.
    Timeout,
    /// A socket operation failed.
    Network,
    /// A reply that cannot be decoded or does not answer the query.
    BadReply,
    /// A reply with another rcode than NOERROR or NXDOMAIN.
    Rcode,
}

impl Failure {
    const ALL: [Failure; 4] = [
        Failure::Timeout,
        Failure::Network,
        Failure::BadReply,
        Failure::Rcode,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Network => "network",
            Failure::BadReply => "bad_reply",
            Failure::Rcode => "rcode",
        }
    }
}

/// The counters of one server: a duration histogram per rcode, then the failures.
#[derive(Debug)]
struct Server {
    bank: Bank,
}

/// Where the failures start in a server's bank.
const FAILURES: usize = RCODE_LABELS * DURATIONS.width();

impl Server {
    fn new() -> Arc<Self> {
        Arc::new(Server {
            bank: Bank::with_shards(FAILURES + Failure::ALL.len(), 1),
        })
    }
}

/// The counters of every upstream server, shared by all exchanges.
#[derive(Debug)]
pub struct UpstreamMetrics {
    servers: RwLock<HashMap<SocketAddr, Arc<Server>>>,
    other: Arc<Server>,
}

impl Default for UpstreamMetrics {
    fn default() -> Self {
        UpstreamMetrics {
            servers: RwLock::new(HashMap::new()),
            other: Server::new(),
        }
    }
}

impl UpstreamMetrics {
    /// Counts an exchange with `server` that got a reply with `rcode` after `elapsed`.
    pub fn answered(&self, server: SocketAddr, rcode: u16, elapsed: Duration) {
        let first = rcode_index(rcode) * DURATIONS.width();
        DURATIONS.observe(&self.server(server).bank, first, nanos(elapsed));
    }

    /// Counts a failed exchange with `server`.
    pub fn failed(&self, server: SocketAddr, why: Failure) {
        self.server(server).bank.add(FAILURES + why as usize, 1);
    }

    /// The counters of `server`, made on its first exchange (`other` once full).
    fn server(&self, server: SocketAddr) -> Arc<Server> {
        let read = self
            .servers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(known) = read.get(&server) {
            return known.clone();
        }
        drop(read);
        let mut write = self
            .servers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if write.len() >= MAX_SERVERS && !write.contains_key(&server) {
            return self.other.clone();
        }
        write.entry(server).or_insert_with(Server::new).clone()
    }

    /// Every server's counters at this moment, ordered by address, `other` last when used.
    pub fn read(&self) -> Vec<UpstreamReading> {
        let mut servers: Vec<(String, Arc<Server>)> = self
            .servers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(addr, server)| (addr.to_string(), server.clone()))
            .collect();
        servers.sort_by(|a, b| a.0.cmp(&b.0));
        servers.push(("other".to_owned(), self.other.clone()));
        servers
            .into_iter()
            .map(|(to, server)| {
                let sums = server.bank.sums();
                let durations = rcode_labels()
                    .enumerate()
                    .map(|(i, rcode)| {
                        let observed = DURATIONS.read(&sums, i * DURATIONS.width());
                        (rcode, Histogram::new(DURATIONS, observed, 1e9))
                    })
                    .filter(|(_, h)| h.observed.count > 0)
                    .collect();
                let failures = Failure::ALL
                    .iter()
                    .map(|f| {
                        (
                            f.label(),
                            sums.get(FAILURES + *f as usize).copied().unwrap_or(0),
                        )
                    })
                    .filter(|(_, n)| *n > 0)
                    .collect();
                UpstreamReading {
                    to,
                    durations,
                    failures,
                }
            })
            .filter(|r| !(r.durations.is_empty() && r.failures.is_empty()))
            .collect()
    }
}

/// One upstream server's counters, read at one moment (label sets never seen left out).
#[derive(Debug, Clone, PartialEq)]
pub struct UpstreamReading {
    /// The `to` label: the server's address, or `other`.
    pub to: String,
    /// Exchange durations (seconds) by `rcode`.
    pub durations: Vec<(&'static str, Histogram)>,
    /// Failed exchanges by `reason`.
    pub failures: Vec<(&'static str, u64)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchanges_count_per_server_and_beyond_the_bound_as_other() {
        let m = UpstreamMetrics::default();
        let a: SocketAddr = "127.0.0.1:5301".parse().unwrap();
        m.answered(a, 0, Duration::from_millis(3));
        m.answered(a, 3, Duration::from_millis(1));
        m.failed(a, Failure::Timeout);
        m.failed(a, Failure::Timeout);
        for port in 0..MAX_SERVERS {
            let addr = SocketAddr::from(([127, 0, 0, 2], u16::try_from(port).unwrap() + 1));
            m.failed(addr, Failure::Network);
        }
        let read = m.read();
        assert_eq!(read.len(), MAX_SERVERS + 1, "64 servers and other");
        let first = read.iter().find(|r| r.to == "127.0.0.1:5301").unwrap();
        let rcodes: Vec<_> = first
            .durations
            .iter()
            .map(|(rcode, h)| (*rcode, h.observed.count))
            .collect();
        assert_eq!(rcodes, vec![("NOERROR", 1), ("NXDOMAIN", 1)]);
        assert_eq!(first.failures, vec![("timeout", 2)]);
        let other = read.last().unwrap();
        assert_eq!(other.to, "other");
        assert_eq!(other.failures, vec![("network", 1)]);
    }
}
