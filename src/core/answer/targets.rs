//! Targets of SRV and MX records and their glue: a service with an IP host gets a target name
//! made from its own key (minus `targetstrip` labels) with the address as glue; a service with
//! a name host points at that name, whose addresses come from our data (in-zone) or from the
//! upstreams (external).

use std::collections::HashSet;

use hickory_proto::rr::{Name, Record};

use super::address::{address_record, addresses, external, Want};
use super::{name, Ctx};
use crate::core::path::strip_labels;
use crate::core::service::Host;
use crate::core::snapshot::Entry;

/// Collects targets and the additional records that go with them.
#[derive(Default)]
pub struct Targets {
    seen: HashSet<String>,
    /// Glue: the address records of the targets, for the additional section.
    pub additional: Vec<Record>,
}

impl Targets {
    /// The target name of `entry`, adding its glue once per distinct target. `None` for
    /// services without a host.
    pub fn target(&mut self, ctx: &mut Ctx<'_>, entry: &Entry, ttl: u32) -> Option<Name> {
        match &entry.service.host {
            Host::None => None,
            Host::Ip(ip) => {
                let target = target_name(&entry.path, usize::from(entry.service.target_strip))?;
                if !ctx.full() {
                    self.additional.push(address_record(&target, ttl, *ip));
                }
                Some(target)
            }
            Host::Name(host) => {
                let text = strip_labels(host, usize::from(entry.service.target_strip)).to_owned();
                let target = name(&text)?;
                if !ctx.full() && self.seen.insert(text.clone()) {
                    let glue = if ctx.in_zone(&text) {
                        ctx.unclaimed(|ctx| addresses(ctx, &text, &target, Want::Both))
                    } else {
                        external(ctx, &text, Want::Both)
                    };
                    self.additional.extend(glue.unwrap_or_default());
                }
                Some(target)
            }
        }
    }
}

/// The name of the key at `path` without its first `strip` labels (all of them are kept when
/// that would leave none), built from the labels without going through text.
fn target_name(path: &str, strip: usize) -> Option<Name> {
    let labels = path.split('/').count();
    let keep = if strip >= labels {
        labels
    } else {
        labels - strip
    };
    let labels: Vec<&[u8]> = path.split('/').take(keep).map(str::as_bytes).collect();
    Name::from_labels(labels.into_iter().rev())
        .ok()
        .map(|mut n| {
            n.set_fqdn(true);
            n
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::path::path_to_name;

    #[test]
    fn target_names_from_paths() {
        let path = "local/skydns/east/production/rails/1";
        for strip in [0, 1, 2, 7] {
            let want = name(strip_labels(&path_to_name(path), strip)).unwrap();
            assert_eq!(target_name(path, strip), Some(want), "strip {strip}");
        }
    }
}
