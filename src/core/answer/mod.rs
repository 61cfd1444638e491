//! The authoritative answers, one module per record type, sharing a small context (the
//! snapshot, the config, the clock, randomness and the upstream results).

pub mod address;
pub mod group;
pub mod mx;
pub mod negative;
pub mod ns_soa;
pub mod ptr;
pub mod srv;
pub mod stub;
pub mod targets;
pub mod txt;

use std::cell::Cell;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hickory_proto::rr::{DNSClass, Name, RData, Record};

use super::lookup::{self, Budget};
use super::outcome::{ExternalQuery, Externals};
use super::path::name_to_path;
use super::snapshot::{Entry, Snapshot};
use crate::config::RuntimeConfig;

/// Everything an answer module reads, plus the upstream look-ups it found it needs.
pub struct Ctx<'a> {
    /// The store data answers come from.
    pub snap: &'a Snapshot,
    /// The configuration in force for this query.
    pub cfg: &'a RuntimeConfig,
    /// Results of upstream look-ups made for this query so far.
    pub externals: &'a Externals,
    /// The time of the query; lease deadlines are measured against it.
    pub now: Instant,
    /// Look-ups that had no result yet; non-empty means "ask again once resolved".
    pub needs: Vec<ExternalQuery>,
    /// Store look-ups this query may still make (see [`MAX_LOOKUPS`]).
    lookups_left: Cell<usize>,
    /// Index work this query may still do (see [`MAX_INDEX_WORK`]).
    budget: Budget,
    /// Until when the answer stays as computed: the first moment a lease-capped TTL in it
    /// drops, or a lease in it runs out.
    valid_until: Cell<Option<Instant>>,
    /// The most services one look-up returns.
    max_results: usize,
    /// Bytes of the reply's size limit not yet taken by the answer records built so far
    /// (counted at their smallest encoding). Once used up, the reply is truncated however the
    /// rest would look, so no more answer records, nor glue, are built.
    room: Cell<usize>,
}

/// The most store look-ups one query makes. CNAME chains and SRV/MX targets fan out (each
/// service of a name may point at another name with many services); this bound keeps any data
/// from turning one query into an unbounded amount of work. Names past it count as missing.
pub const MAX_LOOKUPS: usize = 128;

/// The index work one query may do, in entries looked at (a seek counts as several): with
/// [`MAX_LOOKUP_RESULTS`] it bounds a query to well under a millisecond whatever the store
/// holds and whatever the name asks.
pub const MAX_INDEX_WORK: u32 = 12_000;

/// Upper bound on the services one look-up returns over TCP. A 64 KiB message holds about
/// 4000 address records or 1400 SRV records at most; a name with more services than this is
/// answered with the records of the first ones.
pub const MAX_LOOKUP_RESULTS: usize = 2048;

/// Upper bound on the services one look-up returns over UDP: a 1232-byte reply holds at most
/// 77 address records, so a name with more services than this is answered truncated either
/// way (TC), and the client asks again over TCP.
pub const MAX_UDP_LOOKUP_RESULTS: usize = 512;

impl<'a> Ctx<'a> {
    /// A context with no needs yet and the whole budget.
    pub fn new(
        snap: &'a Snapshot,
        cfg: &'a RuntimeConfig,
        externals: &'a Externals,
        now: Instant,
    ) -> Self {
        Ctx {
            snap,
            cfg,
            externals,
            now,
            needs: Vec::new(),
            lookups_left: Cell::new(MAX_LOOKUPS),
            budget: Budget::new(MAX_INDEX_WORK),
            valid_until: Cell::new(None),
            max_results: MAX_LOOKUP_RESULTS,
            room: Cell::new(usize::MAX),
        }
    }

    /// This context for a reply of at most `bytes` (after header and question).
    #[must_use]
    pub fn with_room(self, bytes: usize) -> Self {
        self.room.set(bytes);
        self
    }

    /// Takes `bytes` (the smallest encoding of an answer record about to be built) from the
    /// room left; false when the reply is already full, and the record need not be built.
    pub fn claim(&self, bytes: usize) -> bool {
        let room = self.room.get();
        self.room.set(room.saturating_sub(bytes));
        room > 0
    }

    /// Runs `f` (which builds glue, not answer records) without taking room.
    pub fn unclaimed<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        let room = self.room.replace(usize::MAX);
        let out = f(self);
        self.room.set(room);
        out
    }

    /// True when the answer records built fill the reply: glue would not be sent.
    pub fn full(&self) -> bool {
        self.room.get() == 0
    }

    /// This context with look-ups cut at `max_results` services.
    #[must_use]
    pub fn with_max_results(mut self, max_results: usize) -> Self {
        self.max_results = max_results;
        self
    }

    /// Takes one look-up from the query's allowance; false when none is left.
    fn take_lookup(&self) -> bool {
        let left = self.lookups_left.get();
        self.lookups_left.set(left.saturating_sub(1));
        left > 0
    }

    /// The services of a name (lowercase, dot-terminated), with expired leases left out.
    /// Empty means the name does not exist (or the query used up its look-ups or budget).
    pub fn services(&self, name: &str) -> Vec<&'a Arc<Entry>> {
        let mut entries = Vec::new();
        if self.take_lookup() {
            lookup::visit(self.snap, &name_to_path(name), &self.budget, &mut |e| {
                if self.ttl(e).is_some() {
                    entries.push(e);
                }
                if entries.len() < self.max_results {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            });
        }
        entries
    }

    /// True when the name (lowercase, dot-terminated) has a live service at or below it; stops
    /// at the first one instead of collecting the subtree.
    pub fn exists(&self, name: &str) -> bool {
        let mut found = false;
        if self.take_lookup() {
            lookup::visit(self.snap, &name_to_path(name), &self.budget, &mut |e| {
                found = self.ttl(e).is_some();
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
        }
        found
    }

    /// The TTL of a service: its own `ttl` or the default, never more than what is left of its
    /// lease. `None` when the lease has run out (the store removes the key shortly). Notes
    /// until when the answer using it stays the same.
    pub fn ttl(&self, entry: &Entry) -> Option<u32> {
        let ttl = if entry.service.ttl == 0 {
            self.cfg.ttl
        } else {
            entry.service.ttl
        };
        let Some(deadline) = entry.lease_deadline else {
            return Some(ttl);
        };
        let left = deadline.checked_duration_since(self.now)?;
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        if secs == 0 {
            return None;
        }
        let served = ttl.min(u32::try_from(secs).unwrap_or(u32::MAX));
        // The served TTL drops below `served` once fewer than `served - 1` whole seconds (and
        // a fraction) are left.
        let changes_at = deadline
            .checked_sub(Duration::from_secs(u64::from(served.saturating_sub(1))))
            .unwrap_or(self.now);
        self.until(changes_at.max(self.now));
        Some(served)
    }

    /// Notes that the answer changes at `moment`.
    fn until(&self, moment: Instant) {
        let earliest = self.valid_until.get().map_or(moment, |v| v.min(moment));
        self.valid_until.set(Some(earliest));
    }

    /// Until when the answer computed so far stays the same (`None`: as long as the data).
    pub fn valid_until(&self) -> Option<Instant> {
        self.valid_until.get()
    }

    /// The priority of a service, or the configured default.
    pub fn priority(&self, entry: &Entry) -> u16 {
        match entry.service.priority {
            0 => self.cfg.priority,
            p => p,
        }
    }

    /// True when the name lies in our zone.
    pub fn in_zone(&self, name: &str) -> bool {
        super::path::in_zone(name, &self.cfg.domain)
    }
}

/// A record of class IN.
pub fn record(owner: &Name, ttl: u32, data: RData) -> Record {
    let mut r = Record::from_rdata(owner.clone(), ttl, data);
    r.dns_class = DNSClass::IN;
    r
}

/// The length of `name` in wire format, uncompressed.
pub fn wire_len(name: &Name) -> usize {
    if name.is_root() {
        1
    } else {
        name.len() + 1
    }
}

/// Records are at least this long when their owner is a compression pointer: pointer 2,
/// type, class, TTL, length 10.
pub const RECORD_OVERHEAD: usize = 12;

/// A hickory name from our lowercase text form; `None` for text hickory refuses.
pub fn name(text: &str) -> Option<Name> {
    Name::from_ascii(text).ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::core::snapshot::Snapshot;

    fn ctx_ttls(service: &str, lease_left: Option<Duration>) -> Vec<Option<u32>> {
        let now = Instant::now();
        let deadline = lease_left.map(|d| now + d);
        let (snap, _) = Snapshot::build(
            "skydns",
            1,
            vec![(
                "/skydns/t/a".to_owned(),
                service.as_bytes().to_vec(),
                deadline,
            )],
        );
        let cfg = RuntimeConfig::default();
        let externals = Externals::none();
        let mut ctx = Ctx::new(&snap, &cfg, &externals, now);
        let entry = snap.exact("t/a").unwrap().clone();
        let later = now + Duration::from_millis(2500);
        let first = ctx.ttl(&entry);
        ctx.now = later;
        vec![first, ctx.ttl(&entry)]
    }

    #[test]
    fn ttl_is_service_ttl_or_default() {
        assert_eq!(
            ctx_ttls(r#"{"host":"10.0.0.1"}"#, None),
            vec![Some(3600), Some(3600)]
        );
        assert_eq!(
            ctx_ttls(r#"{"host":"10.0.0.1","ttl":30}"#, None),
            vec![Some(30), Some(30)]
        );
    }

    #[test]
    fn lease_caps_the_ttl_and_counts_down() {
        let ttls = ctx_ttls(
            r#"{"host":"10.0.0.1","ttl":30}"#,
            Some(Duration::from_secs(10)),
        );
        assert_eq!(ttls, vec![Some(10), Some(8)]);
        let ttls = ctx_ttls(
            r#"{"host":"10.0.0.1","ttl":5}"#,
            Some(Duration::from_secs(100)),
        );
        assert_eq!(ttls, vec![Some(5), Some(5)]);
    }

    #[test]
    fn an_answer_with_a_lease_capped_ttl_is_valid_until_the_ttl_drops() {
        let now = Instant::now();
        let (snap, _) = Snapshot::build(
            "skydns",
            1,
            vec![(
                "/skydns/t/a".to_owned(),
                br#"{"host":"10.0.0.1","ttl":30}"#.to_vec(),
                Some(now + Duration::from_millis(9500)),
            )],
        );
        let cfg = RuntimeConfig::default();
        let externals = Externals::none();
        let ctx = Ctx::new(&snap, &cfg, &externals, now);
        assert_eq!(ctx.valid_until(), None);
        let entry = snap.exact("t/a").unwrap().clone();
        assert_eq!(ctx.ttl(&entry), Some(10));
        // TTL 10 is served while more than 9 s are left: until 0.5 s from now.
        assert_eq!(ctx.valid_until(), Some(now + Duration::from_millis(500)));
    }

    #[test]
    fn expired_lease_hides_the_service() {
        let ttls = ctx_ttls(r#"{"host":"10.0.0.1"}"#, Some(Duration::from_secs(2)));
        assert_eq!(ttls, vec![Some(2), None]);
    }

    #[test]
    fn fan_out_through_cname_targets_is_bounded() {
        // Ten services per level, each pointing at the next level: following every one would
        // be 10^8 look-ups; the per-query bound keeps it to MAX_LOOKUPS.
        let mut items = Vec::new();
        for level in 1..=8 {
            for i in 0..10 {
                let value = if level == 8 {
                    format!(r#"{{"host":"10.0.0.{i}"}}"#)
                } else {
                    format!(r#"{{"host":"l{}.fan.skydns.local"}}"#, level + 1)
                };
                items.push((
                    format!("/skydns/local/skydns/fan/l{level}/s{i}"),
                    value.into_bytes(),
                    None,
                ));
            }
        }
        let (snap, _) = Snapshot::build("skydns", 1, items);
        let cfg = RuntimeConfig::default();
        let externals = Externals::none();
        let mut ctx = Ctx::new(&snap, &cfg, &externals, Instant::now());
        let owner = hickory_proto::rr::Name::from_ascii("l1.fan.skydns.local.").unwrap();
        let found = address::addresses(&mut ctx, "l1.fan.skydns.local.", &owner, address::Want::A);
        assert!(found.is_some());
        assert_eq!(
            ctx.lookups_left.get(),
            0,
            "the bound was reached, and the query ended"
        );
    }
}
