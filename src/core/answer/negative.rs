//! Negative answers: NXDOMAIN (the name does not exist) and NODATA (it exists, without data of
//! the asked type). Both are authoritative and carry the SOA with the RFC 2308 negative TTL,
//! min(SOA TTL, SOA MINIMUM); both say what a DNSSEC denial must prove.

use hickory_proto::rr::RecordType;

use super::{ns_soa, Ctx};
use crate::core::outcome::Denial;
use crate::core::path::{label_count, strip_labels};
use crate::core::service::Host;

/// The SOA for the authority section of a negative answer.
pub fn authority(ctx: &Ctx<'_>) -> Vec<hickory_proto::rr::Record> {
    let Some(names) = &ctx.cfg.zone_names else {
        return Vec::new();
    };
    ns_soa::soa(ctx, &names.apex, ctx.cfg.negative_ttl())
        .into_iter()
        .collect()
}

/// The longest ancestor of `qname` (lowercase text) that exists; the apex at least. An
/// ancestor of a name that exists exists too, so a binary search over the number of labels
/// stripped finds it in a handful of look-ups however long the name is.
pub fn closest_encloser(ctx: &Ctx<'_>, qname: &str) -> String {
    let apex_labels = label_count(&ctx.cfg.domain);
    // Candidates strip 1 ..= `most` labels; stripping more reaches the apex.
    let most = label_count(qname).saturating_sub(apex_labels + 1);
    let (mut lo, mut hi) = (1, most + 1);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if ctx.exists(strip_labels(qname, mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if lo <= most {
        strip_labels(qname, lo).to_owned()
    } else {
        ctx.cfg.domain.clone()
    }
}

/// The record types a name has (for NODATA proofs), given its lookup text and whether it is
/// the apex.
pub fn types_at(ctx: &Ctx<'_>, lookup: &str, apex: bool) -> Vec<RecordType> {
    let mut types = Vec::new();
    if apex {
        types.extend([RecordType::SOA, RecordType::NS]);
    }
    for entry in ctx.services(lookup) {
        let svc = &entry.service;
        match &svc.host {
            Host::Ip(ip) if ip.is_ipv4() => types.push(RecordType::A),
            Host::Ip(_) => types.push(RecordType::AAAA),
            Host::Name(_) => types.push(RecordType::CNAME),
            Host::None => {}
        }
        if svc.has_host() {
            types.push(RecordType::SRV);
        }
        if svc.mail && svc.has_host() {
            types.push(RecordType::MX);
        }
        if !svc.text().is_empty() {
            types.push(RecordType::TXT);
        }
    }
    types.sort_by_key(|t| u16::from(*t));
    types.dedup();
    types
}

/// The denial for a name that does not exist. The closest encloser's types are listed as a
/// NODATA for it would list them, the apex included: one owner never gets two different NSEC3
/// type bitmaps (resolvers reuse them, RFC 8198).
pub fn nxdomain(ctx: &Ctx<'_>, qname: &str) -> Denial {
    let closest_encloser = closest_encloser(ctx, qname);
    let apex = closest_encloser == ctx.cfg.domain;
    let encloser_types = types_at(ctx, &closest_encloser, apex);
    Denial::NxDomain {
        closest_encloser,
        encloser_types,
    }
}

/// The denial for a name below `usable` (lowercase text) that cannot exist: `usable` is its
/// closest encloser when it exists, else its own closest encloser.
pub fn nxdomain_from(ctx: &Ctx<'_>, usable: &str) -> Denial {
    let closest_encloser = if ctx.exists(usable) {
        usable.to_owned()
    } else {
        closest_encloser(ctx, usable)
    };
    let apex = closest_encloser == ctx.cfg.domain;
    let encloser_types = types_at(ctx, &closest_encloser, apex);
    Denial::NxDomain {
        closest_encloser,
        encloser_types,
    }
}

/// The denial for a name that exists without the asked type.
pub fn nodata(ctx: &Ctx<'_>, lookup: &str, apex: bool) -> Denial {
    Denial::NoData {
        types: types_at(ctx, lookup, apex),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::config::RuntimeConfig;
    use crate::core::outcome::Externals;
    use crate::core::snapshot::Snapshot;

    #[test]
    fn the_apex_lists_the_same_types_as_encloser_and_as_nodata_owner() {
        let entries = [(
            "/skydns/local/skydns/web/1".to_owned(),
            br#"{"host":"10.0.0.1","text":"t"}"#.to_vec(),
            None,
        )];
        let (snap, _) = Snapshot::build("skydns", 1, entries);
        let cfg = RuntimeConfig::default();
        let externals = Externals::none();
        let ctx = Ctx::new(&snap, &cfg, &externals, Instant::now());
        let Denial::NxDomain {
            closest_encloser,
            encloser_types,
        } = nxdomain(&ctx, "nothere.skydns.local.")
        else {
            panic!("an NXDOMAIN denial")
        };
        assert_eq!(closest_encloser, "skydns.local.");
        let Denial::NoData { types } = nodata(&ctx, "skydns.local.", true) else {
            panic!("a NODATA denial")
        };
        assert_eq!(encloser_types, types);
        assert!(types.contains(&RecordType::A) && types.contains(&RecordType::SOA));
    }
}
