//! The apex records: SOA (MNAME `ns.dns.<domain>`, serial from the snapshot) and NS from the
//! services under `ns.dns.<domain>`, which must be addresses and become glue.

use hickory_proto::rr::rdata::{NS, SOA};
use hickory_proto::rr::{Name, RData, Record};

use super::address::address_record;
use super::{group, name, record, Ctx};
use crate::core::path::path_to_name;
use crate::core::service::Host;

/// SOA refresh, retry and expire (as SkyDNS).
const REFRESH: i32 = 28_800;
const RETRY: i32 = 7_200;
const EXPIRE: i32 = 604_800;

/// The SOA of our zone, owned by `owner`, with the given TTL.
pub fn soa(ctx: &Ctx<'_>, owner: &Name, ttl: u32) -> Option<Record> {
    let names = ctx.cfg.zone_names.as_ref()?;
    let soa = SOA::new(
        names.mname.clone(),
        names.rname.clone(),
        ctx.snap.serial(),
        REFRESH,
        RETRY,
        EXPIRE,
        ctx.cfg.min_ttl,
    );
    Some(record(owner, ttl, RData::SOA(soa)))
}

/// NS records for the apex (owned by `owner`) with their glue. Empty when there is no NS data
/// or when any nameserver host is not an address (as SkyDNS).
pub fn ns(ctx: &mut Ctx<'_>, owner: &Name) -> (Vec<Record>, Vec<Record>) {
    let entries = group::apply(ctx.services(&ctx.cfg.ns_name()));
    let mut answers = Vec::new();
    let mut glue = Vec::new();
    for entry in entries {
        let Host::Ip(ip) = entry.service.host else {
            return (Vec::new(), Vec::new());
        };
        let Some(ttl) = ctx.ttl(entry) else { continue };
        let Some(ns_name) = name(&path_to_name(&entry.path)) else {
            continue;
        };
        glue.push(address_record(&ns_name, ttl, ip));
        answers.push(record(owner, ttl, RData::NS(NS(ns_name))));
    }
    (answers, glue)
}
