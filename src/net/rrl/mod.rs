//! Response rate limiting (BCP 140, as Knot's mod-rrl and NSD do it) for UDP replies, whose
//! source address can be forged to aim our replies at a victim. Pure: the clock is passed in.
//!
//! Each reply is counted under its client network (IPv4 /24, IPv6 /56) and its key ([`class`]:
//! the kind of response and its query name or zone). The count is a token bucket refilled at
//! `rrl` responses per second and holding one second of them (the burst), kept as the GCRA's
//! "theoretical arrival time": one 64-bit word per bucket, updated with one compare-and-swap,
//! so the UDP workers share the table without a lock. The table has a fixed number of buckets
//! ([`BUCKETS`], 1 MiB, allocated when limiting is first used) indexed by a keyed hash of
//! network and key; keys that collide share a bucket (counted together, never less limited),
//! and a bucket whose tokens are all back is as good as new, so nothing needs evicting.
//!
//! A reply over the limit is not sent, except every `rrl_slip`-th one, which is sent cut to
//! its question with TC set ([`slip`]), so a real client behind a forged flood still gets an
//! answer over TCP. Clients in `rrl_exempt` and queries carrying a valid server cookie (the
//! caller checks it) are never limited.

pub mod class;
pub mod slip;

use std::hash::Hasher;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use siphasher::sip::SipHasher13;

use crate::config::acl::Acl;
use class::Key;

/// Buckets in the table (8 bytes each).
pub const BUCKETS: usize = 1 << 17;

/// The burst: a bucket holds this long's worth of responses, in microseconds.
const WINDOW_US: u64 = 1_000_000;

/// Bytes of an IPv4 address that make its network (/24).
const V4_PREFIX_BYTES: usize = 3;

/// Bytes of an IPv6 address that make its network (/56).
const V6_PREFIX_BYTES: usize = 7;

/// The settings a reply is limited by.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    /// Responses per second per network and key; 0: no limit.
    pub rate: u32,
    /// Every `slip`-th limited reply is sent truncated; 0: none.
    pub slip: u32,
    /// Clients never limited.
    pub exempt: &'a Acl,
    /// Our zone (lowercase, dot-terminated).
    pub zone: &'a str,
}

/// What to do with a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it.
    Send,
    /// Send nothing.
    Drop,
    /// Send it cut with [`slip::truncate`].
    Slip,
}

/// Replies limited and slipped since start, for metrics.
#[derive(Debug, Default)]
pub struct Stats {
    limited: AtomicU64,
    slipped: AtomicU64,
}

/// The counters of [`Stats`] read at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Replies held back (dropped or slipped).
    pub limited: u64,
    /// Of those, replies sent truncated.
    pub slipped: u64,
}

/// The table of buckets and its counters, shared by every UDP worker.
pub struct Limiter {
    buckets: OnceLock<Box<[AtomicU64]>>,
    hasher: SipHasher13,
    epoch: Instant,
    stats: Stats,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("allocated", &self.buckets.get().is_some())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// An empty table whose clock starts at `epoch`, hashing with the secret `hash_key`.
    pub fn new(epoch: Instant, hash_key: [u8; 16]) -> Self {
        Limiter {
            buckets: OnceLock::new(),
            hasher: SipHasher13::new_with_key(&hash_key),
            epoch,
            stats: Stats::default(),
        }
    }

    /// Decides on `reply`, about to be sent to `client` at `now`.
    pub fn check(
        &self,
        reply: &[u8],
        client: IpAddr,
        policy: &Policy<'_>,
        now: Instant,
    ) -> Verdict {
        if policy.rate == 0 || policy.exempt.allows(client) {
            return Verdict::Send;
        }
        let key = class::key_of(reply, policy.zone);
        let now_us = u64::try_from(now.saturating_duration_since(self.epoch).as_micros())
            .unwrap_or(u64::MAX);
        if self.admit(self.bucket(client, &key), now_us, policy.rate) {
            return Verdict::Send;
        }
        let limited = self.stats.limited.fetch_add(1, Ordering::Relaxed) + 1;
        if policy.slip != 0 && limited.is_multiple_of(u64::from(policy.slip)) {
            self.stats.slipped.fetch_add(1, Ordering::Relaxed);
            return Verdict::Slip;
        }
        Verdict::Drop
    }

    /// The counters now.
    pub fn counts(&self) -> Counts {
        Counts {
            limited: self.stats.limited.load(Ordering::Relaxed),
            slipped: self.stats.slipped.load(Ordering::Relaxed),
        }
    }

    /// The bucket of `key` for `client`'s network.
    fn bucket(&self, client: IpAddr, key: &Key) -> usize {
        let mut hasher = self.hasher;
        let (network, len) = network(client);
        hasher.write(&network[..len]);
        hasher.write(key.as_bytes());
        let index = hasher.finish() % BUCKETS as u64;
        usize::try_from(index).unwrap_or(0)
    }

    /// Takes a token from bucket `index` at `now_us` if it has one (GCRA: the bucket holds
    /// the time at which it would be full again if nothing more were taken; each response
    /// moves it on by one interval, and a response that would move it past a window ahead
    /// of now is over the limit).
    fn admit(&self, index: usize, now_us: u64, rate: u32) -> bool {
        let buckets = self
            .buckets
            .get_or_init(|| (0..BUCKETS).map(|_| AtomicU64::new(0)).collect());
        let interval = (WINDOW_US / u64::from(rate.max(1))).max(1);
        buckets[index]
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |full_at| {
                let next = full_at.max(now_us) + interval;
                (next <= now_us + WINDOW_US).then_some(next)
            })
            .is_ok()
    }
}

/// The bytes of `ip`'s network after a family byte (IPv4-mapped IPv6 addresses are IPv4), and
/// how many there are.
fn network(ip: IpAddr) -> ([u8; 1 + V6_PREFIX_BYTES], usize) {
    let mut bytes = [0; 1 + V6_PREFIX_BYTES];
    let v6 = match ip {
        IpAddr::V4(v4) => return v4_network(v4),
        IpAddr::V6(v6) => v6,
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return v4_network(v4);
    }
    bytes[0] = 6;
    bytes[1..].copy_from_slice(&v6.octets()[..V6_PREFIX_BYTES]);
    (bytes, 1 + V6_PREFIX_BYTES)
}

/// [`network`] of an IPv4 address.
fn v4_network(v4: std::net::Ipv4Addr) -> ([u8; 1 + V6_PREFIX_BYTES], usize) {
    let mut bytes = [0; 1 + V6_PREFIX_BYTES];
    bytes[0] = 4;
    bytes[1..=V4_PREFIX_BYTES].copy_from_slice(&v4.octets()[..V4_PREFIX_BYTES]);
    (bytes, 1 + V4_PREFIX_BYTES)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{Name, RData, Record, RecordType};

    use super::*;

    const ZONE: &str = "skydns.local.";

    /// A reply for `name` with `rcode` (one A record with NOERROR).
    fn reply(name: &str, rcode: ResponseCode) -> Vec<u8> {
        let mut m = Message::new(1, MessageType::Response, OpCode::Query);
        m.metadata.authoritative = true;
        m.metadata.response_code = rcode;
        let name = Name::from_ascii(name).unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        if rcode == ResponseCode::NoError {
            let a = RData::A(A::new(10, 0, 0, 1));
            m.answers.push(Record::from_rdata(name, 60, a));
        }
        m.to_vec().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// A limiter and its fake clock's start.
    fn limiter() -> (Limiter, Instant) {
        let t0 = Instant::now();
        (Limiter::new(t0, [7; 16]), t0)
    }

    fn policy(acl: &Acl, rate: u32, slip: u32) -> Policy<'_> {
        Policy {
            rate,
            slip,
            exempt: acl,
            zone: ZONE,
        }
    }

    fn no_exempt() -> Acl {
        Acl::parse::<&str>(&[]).unwrap()
    }

    /// How many of `n` replies sent at `at` pass.
    fn passed(
        l: &Limiter,
        reply: &[u8],
        client: &str,
        p: &Policy<'_>,
        at: Instant,
        n: usize,
    ) -> usize {
        (0..n)
            .filter(|_| l.check(reply, ip(client), p, at) == Verdict::Send)
            .count()
    }

    #[test]
    fn a_burst_of_one_second_then_the_rate() {
        let (l, t0) = limiter();
        let acl = no_exempt();
        let p = policy(&acl, 10, 0);
        let r = reply("a.skydns.local.", ResponseCode::NoError);
        assert_eq!(passed(&l, &r, "192.0.2.1", &p, t0, 50), 10);
        // One token back every 100 ms.
        assert_eq!(
            passed(&l, &r, "192.0.2.1", &p, t0 + Duration::from_millis(99), 5),
            0
        );
        assert_eq!(
            passed(&l, &r, "192.0.2.1", &p, t0 + Duration::from_millis(100), 5),
            1
        );
        assert_eq!(
            passed(&l, &r, "192.0.2.1", &p, t0 + Duration::from_millis(350), 5),
            2
        );
        // A steady 20 per second from then on gets 10 per second through.
        let mut through = 0;
        for ms in (400..10_400).step_by(50) {
            through += passed(&l, &r, "192.0.2.1", &p, t0 + Duration::from_millis(ms), 1);
        }
        assert!((99..=101).contains(&through), "{through}");
        // Idle for a second: the whole burst again.
        let later = t0 + Duration::from_secs(13);
        assert_eq!(passed(&l, &r, "192.0.2.1", &p, later, 50), 10);
        assert_eq!(l.counts().slipped, 0);
        assert!(l.counts().limited > 100);
    }

    #[test]
    fn networks_and_keys_have_their_own_buckets() {
        let (l, t0) = limiter();
        let acl = no_exempt();
        let p = policy(&acl, 5, 0);
        let a = reply("a.skydns.local.", ResponseCode::NoError);
        assert_eq!(passed(&l, &a, "192.0.2.1", &p, t0, 10), 5);
        // The same /24 shares the bucket; another /24 has its own.
        assert_eq!(passed(&l, &a, "192.0.2.200", &p, t0, 10), 0);
        assert_eq!(passed(&l, &a, "::ffff:192.0.2.9", &p, t0, 10), 0);
        assert_eq!(passed(&l, &a, "192.0.3.1", &p, t0, 10), 5);
        // Another name, another bucket; NXDOMAIN for any name of the zone, one bucket.
        let b = reply("b.skydns.local.", ResponseCode::NoError);
        assert_eq!(passed(&l, &b, "192.0.2.1", &p, t0, 10), 5);
        let nx = |name| reply(name, ResponseCode::NXDomain);
        assert_eq!(
            passed(&l, &nx("x.skydns.local."), "192.0.2.1", &p, t0, 3),
            3
        );
        assert_eq!(
            passed(&l, &nx("y.skydns.local."), "192.0.2.1", &p, t0, 10),
            2
        );
        // IPv6: one /56.
        assert_eq!(passed(&l, &a, "2001:db8:0:ff::1", &p, t0, 10), 5);
        assert_eq!(passed(&l, &a, "2001:db8:0:1::2", &p, t0, 10), 0);
        assert_eq!(passed(&l, &a, "2001:db8:0:100::1", &p, t0, 10), 5);
    }

    #[test]
    fn every_nth_limited_reply_slips() {
        let acl = no_exempt();
        let r = reply("a.skydns.local.", ResponseCode::NoError);
        for (slip, slips) in [(0, 0), (1, 20), (2, 10), (3, 6)] {
            let (l, t0) = limiter();
            let p = policy(&acl, 1, slip);
            let verdicts: Vec<Verdict> = (0..21)
                .map(|_| l.check(&r, ip("192.0.2.1"), &p, t0))
                .collect();
            assert_eq!(verdicts[0], Verdict::Send);
            let slipped = verdicts.iter().filter(|v| **v == Verdict::Slip).count();
            assert_eq!(slipped, slips, "slip {slip}");
            assert_eq!(
                l.counts(),
                Counts {
                    limited: 20,
                    slipped: slips as u64
                }
            );
            if slip == 2 {
                assert_eq!(
                    &verdicts[1..4],
                    &[Verdict::Drop, Verdict::Slip, Verdict::Drop]
                );
            }
        }
    }

    #[test]
    fn exempt_clients_and_rate_zero_are_never_limited() {
        let (l, t0) = limiter();
        let r = reply("a.skydns.local.", ResponseCode::NoError);
        let acl = Acl::parse(&["192.0.2.0/24", "localhost"]).unwrap();
        let p = policy(&acl, 1, 2);
        assert_eq!(passed(&l, &r, "192.0.2.7", &p, t0, 100), 100);
        assert_eq!(passed(&l, &r, "127.0.0.1", &p, t0, 100), 100);
        assert_eq!(passed(&l, &r, "198.51.100.1", &p, t0, 100), 1);
        let none = no_exempt();
        assert_eq!(
            passed(&l, &r, "198.51.100.1", &policy(&none, 0, 2), t0, 100),
            100
        );
        assert!(format!("{l:?}").contains("allocated: true"));
        let (fresh, _) = limiter();
        assert!(format!("{fresh:?}").contains("allocated: false"));
    }

    #[test]
    fn workers_share_the_buckets() {
        let (l, t0) = limiter();
        let acl = no_exempt();
        let p = policy(&acl, 1000, 0);
        let r = reply("a.skydns.local.", ResponseCode::NoError);
        let through: usize = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| passed(&l, &r, "192.0.2.1", &p, t0, 1000)))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(through, 1000);
        assert_eq!(l.counts().limited, 3000);
    }
}
