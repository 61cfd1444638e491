//! Reverse answers from `/<prefix>/arpa/...`: exactly one leaf service whose host is a name
//! gives `PTR qname -> host` (not authoritative, as SkyDNS). Anything else is "not found" and
//! the query is forwarded.

use hickory_proto::rr::rdata::PTR;
use hickory_proto::rr::{Name, RData, Record};

use super::{name, record, Ctx};
use crate::core::path::{is_wildcard_label, name_to_path};
use crate::core::service::Host;

/// True when the name is under `in-addr.arpa.` or `ip6.arpa.`.
pub fn is_reverse(qname: &str) -> bool {
    qname.ends_with(".in-addr.arpa.") || qname.ends_with(".ip6.arpa.")
}

/// The PTR record for `qname` (lowercase text) owned by `owner`, if our data has one.
pub fn answer(ctx: &Ctx<'_>, qname: &str, owner: &Name) -> Option<Record> {
    let path = name_to_path(qname);
    if path.split('/').any(is_wildcard_label) {
        return None;
    }
    let entry = ctx.snap.exact(&path)?;
    if ctx.snap.subtree(&path).nth(1).is_some() {
        return None;
    }
    let Host::Name(host) = &entry.service.host else {
        return None;
    };
    let ttl = ctx.ttl(entry)?;
    Some(record(owner, ttl, RData::PTR(PTR(name(host)?))))
}
