//! A and AAAA answers: addresses of the services of a name, owned by the question name, and
//! CNAME chains for services whose host is a name (at most 8 CNAMEs, loops cut, external
//! targets resolved upstream).

use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::{group, name, record, Ctx, RECORD_OVERHEAD};
use crate::core::outcome::{ExternalQuery, ExternalResult};
use crate::core::service::Host;

/// The most CNAMEs one answer follows.
pub const MAX_CNAME_CHAIN: usize = 8;

/// Which address families an answer wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// IPv4 only (A records).
    A,
    /// IPv6 only (AAAA records).
    Aaaa,
    /// Both families (glue for SRV and MX targets).
    Both,
}

impl Want {
    fn accepts(self, ip: &IpAddr) -> bool {
        matches!(
            (self, ip),
            (Want::Both, _) | (Want::A, IpAddr::V4(_)) | (Want::Aaaa, IpAddr::V6(_))
        )
    }

    fn types(self) -> &'static [RecordType] {
        match self {
            Want::A => &[RecordType::A],
            Want::Aaaa => &[RecordType::AAAA],
            Want::Both => &[RecordType::A, RecordType::AAAA],
        }
    }
}

/// An address record for `ip` owned by `owner`.
pub fn address_record(owner: &Name, ttl: u32, ip: IpAddr) -> Record {
    let data = match ip {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    record(owner, ttl, data)
}

/// The address records of `lookup` (lowercase text) owned by `owner`, CNAMEs first.
/// `None` when the name does not exist.
pub fn addresses(ctx: &mut Ctx<'_>, lookup: &str, owner: &Name, want: Want) -> Option<Vec<Record>> {
    let mut chain = Vec::new();
    chase(ctx, lookup, owner, want, &mut chain)
}

fn chase(
    ctx: &mut Ctx<'_>,
    lookup: &str,
    owner: &Name,
    want: Want,
    chain: &mut Vec<String>,
) -> Option<Vec<Record>> {
    let entries = ctx.services(lookup);
    if entries.is_empty() {
        return None;
    }
    let entries = group::apply(entries);
    // The owner's text, for aliases only (most answers have none).
    let mut owner_text: Option<String> = None;
    let mut aliases = Vec::new();
    let mut addrs = Vec::new();
    for entry in entries {
        let Some(ttl) = ctx.ttl(entry) else { continue };
        match &entry.service.host {
            Host::None => {}
            Host::Ip(ip) => {
                let size = RECORD_OVERHEAD + if ip.is_ipv4() { 4 } else { 16 };
                if want.accepts(ip) && ctx.claim(size) {
                    addrs.push(address_record(owner, ttl, *ip));
                }
            }
            Host::Name(target) => {
                let owner_text = owner_text
                    .get_or_insert_with(|| crate::core::path::name_text(owner).unwrap_or_default());
                if **target == **owner_text
                    || chain.len() >= MAX_CNAME_CHAIN
                    || chain.iter().any(|t| **t == **target)
                {
                    continue;
                }
                let Some(target_name) = name(target) else {
                    continue;
                };
                let cname = record(owner, ttl, RData::CNAME(CNAME(target_name.clone())));
                if ctx.in_zone(target) {
                    chain.push(target.to_string());
                    let found = chase(ctx, target, &target_name, want, chain);
                    chain.pop();
                    if let Some(records) = found.filter(|r| !r.is_empty()) {
                        aliases.push(cname);
                        aliases.extend(records);
                    }
                } else if let Some(records) = external(ctx, target, want) {
                    aliases.push(cname);
                    aliases.extend(records);
                }
            }
        }
    }
    aliases.extend(addrs);
    Some(aliases)
}

/// The upstream answer for an external target, with TTLs set to `rcache_ttl`; `None` when the
/// look-up failed or is still pending (then it is recorded in `ctx.needs`).
///
/// Records owned by names in our zone are dropped: an upstream never speaks for our zone, and
/// such records would otherwise be served (and signed) as ours.
pub fn external(ctx: &mut Ctx<'_>, target: &str, want: Want) -> Option<Vec<Record>> {
    let zone = &ctx.cfg.zone_names.as_ref()?.apex;
    let mut out = Vec::new();
    let mut answered = false;
    for &qtype in want.types() {
        let query = ExternalQuery {
            name: target.to_owned(),
            qtype,
        };
        match ctx.externals.get(&query) {
            ExternalResult::Answered(records) => {
                answered = true;
                let skip_cnames = want == Want::Both && qtype == RecordType::AAAA;
                out.extend(
                    records
                        .iter()
                        .filter(|r| !(skip_cnames && r.record_type() == RecordType::CNAME))
                        .filter(|r| !zone.zone_of(&r.name))
                        .map(|r| {
                            let mut r = r.clone();
                            r.ttl = ctx.cfg.rcache_ttl;
                            r
                        }),
                );
            }
            ExternalResult::Failed => {}
            ExternalResult::Pending => ctx.needs.push(query),
        }
    }
    answered.then_some(out)
}
