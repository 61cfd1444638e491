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
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::rr::{DNSClass, Name, RData, Record};
use rand::RngCore;

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
    /// Randomness for shuffling and weighted choices.
    pub rng: &'a mut dyn RngCore,
    /// Look-ups that had no result yet; non-empty means "ask again once resolved".
    pub needs: Vec<ExternalQuery>,
    /// Store look-ups this query may still make (see [`MAX_LOOKUPS`]).
    lookups_left: Cell<usize>,
}

/// The most store look-ups one query makes. CNAME chains and SRV/MX targets fan out (each
/// service of a name may point at another name with many services); this bound keeps any data
/// from turning one query into an unbounded amount of work. Names past it count as missing.
pub const MAX_LOOKUPS: usize = 128;

impl<'a> Ctx<'a> {
    /// A context with no needs yet and the whole [`MAX_LOOKUPS`] budget.
    pub fn new(
        snap: &'a Snapshot,
        cfg: &'a RuntimeConfig,
        externals: &'a Externals,
        now: Instant,
        rng: &'a mut dyn RngCore,
    ) -> Self {
        Ctx {
            snap,
            cfg,
            externals,
            now,
            rng,
            needs: Vec::new(),
            lookups_left: Cell::new(MAX_LOOKUPS),
        }
    }

    /// The services of a name (lowercase, dot-terminated), with expired leases left out.
    /// Empty means the name does not exist (or the query used up its look-ups).
    pub fn services(&self, name: &str) -> Vec<&'a Arc<Entry>> {
        let left = self.lookups_left.get();
        if left == 0 {
            return Vec::new();
        }
        self.lookups_left.set(left - 1);
        let mut entries = self.snap.lookup(&name_to_path(name));
        entries.retain(|e| self.ttl(e).is_some());
        entries
    }

    /// True when the name (lowercase, dot-terminated) has a live service at or below it; stops
    /// at the first one instead of collecting the subtree.
    pub fn exists(&self, name: &str) -> bool {
        let left = self.lookups_left.get();
        if left == 0 {
            return false;
        }
        self.lookups_left.set(left - 1);
        self.snap
            .exists_where(&name_to_path(name), |e| self.ttl(e).is_some())
    }

    /// The TTL of a service: its own `ttl` or the default, never more than what is left of its
    /// lease. `None` when the lease has run out (the store removes the key shortly).
    pub fn ttl(&self, entry: &Entry) -> Option<u32> {
        let ttl = if entry.service.ttl == 0 {
            self.cfg.ttl
        } else {
            entry.service.ttl
        };
        match entry.lease_deadline {
            None => Some(ttl),
            Some(deadline) => {
                let left = deadline.checked_duration_since(self.now)?;
                let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                (secs > 0).then(|| ttl.min(u32::try_from(secs).unwrap_or(u32::MAX)))
            }
        }
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
        let mut rng = rand::rng();
        let mut ctx = Ctx::new(&snap, &cfg, &externals, now, &mut rng);
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
        let mut rng = rand::rng();
        let mut ctx = Ctx::new(&snap, &cfg, &externals, Instant::now(), &mut rng);
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
