//! Targets of SRV and MX records and their glue: a service with an IP host gets a target name
//! made from its own key (minus `targetstrip` labels) with the address as glue; a service with
//! a name host points at that name, whose addresses come from our data (in-zone) or from the
//! upstreams (external).

use std::collections::HashSet;

use hickory_proto::rr::{Name, Record};

use super::address::{address_record, addresses, external, Want};
use super::{name, Ctx};
use crate::core::path::{path_to_name, strip_labels};
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
                let own = path_to_name(&entry.path);
                let target = name(strip_labels(&own, usize::from(entry.service.target_strip)))?;
                self.additional.push(address_record(&target, ttl, *ip));
                Some(target)
            }
            Host::Name(host) => {
                let text = strip_labels(host, usize::from(entry.service.target_strip)).to_owned();
                let target = name(&text)?;
                if self.seen.insert(text.clone()) {
                    let glue = if ctx.in_zone(&text) {
                        addresses(ctx, &text, &target, Want::Both)
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
