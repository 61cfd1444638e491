//! Targets of SRV and MX records and their glue: a service with an IP host gets a target name
//! made from its own key (minus `targetstrip` labels) with the address as glue; a service with
//! a name host points at that name, whose addresses come from our data (in-zone) or from the
//! upstreams (external).
//!
//! Glue is worked out after the answer records, and only while the reply has room for it: an
//! answer that fills the reply (a whole zone's SRV records over TCP) builds no glue, and asks
//! no upstream for it.

use std::collections::HashSet;
use std::net::IpAddr;

use hickory_proto::rr::{Name, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

use super::address::{address_record, addresses, external, Want};
use super::{name, Ctx, RECORD_OVERHEAD};
use crate::core::path::strip_labels;
use crate::core::service::Host;
use crate::core::snapshot::Entry;

/// Glue still to build, in the order of the answer records.
enum Glue {
    /// The address of a service with an IP host, owned by its target name.
    Address(Name, u32, IpAddr),
    /// The addresses of a name host (lowercase text), from our data or the upstreams.
    Host(String, Name),
}

/// Collects targets and the glue that goes with them.
pub struct Targets {
    seen: HashSet<String>,
    glue: Vec<Glue>,
}

impl Targets {
    /// Room for the glue of `services` services (a large answer's is not moved as it grows).
    pub fn with_capacity(services: usize) -> Self {
        Targets {
            seen: HashSet::new(),
            glue: Vec::with_capacity(services),
        }
    }

    /// The target name of `entry`, noting its glue once per distinct target. `None` for
    /// services without a host.
    pub fn target(&mut self, entry: &Entry, ttl: u32) -> Option<Name> {
        match &entry.service.host {
            Host::None => None,
            Host::Ip(ip) => {
                let target = target_name(&entry.path, usize::from(entry.service.target_strip))?;
                self.glue.push(Glue::Address(target.clone(), ttl, *ip));
                Some(target)
            }
            Host::Name(host) => {
                let text = strip_labels(host, usize::from(entry.service.target_strip)).to_owned();
                let target = name(&text)?;
                if self.seen.insert(text.clone()) {
                    self.glue.push(Glue::Host(text, target.clone()));
                }
                Some(target)
            }
        }
    }

    /// The glue records, for the additional section: built in order while the reply has room
    /// left after the answer records (each taking at least its smallest encoding).
    pub fn glue(self, ctx: &mut Ctx<'_>) -> Vec<Record> {
        let mut additional = Vec::new();
        for glue in self.glue {
            if ctx.full() {
                break;
            }
            match glue {
                Glue::Address(target, ttl, ip) => {
                    ctx.claim(RECORD_OVERHEAD + if ip.is_ipv4() { 4 } else { 16 });
                    additional.push(address_record(&target, ttl, ip));
                }
                Glue::Host(text, target) => {
                    let found = if ctx.in_zone(&text) {
                        ctx.unclaimed(|ctx| addresses(ctx, &text, &target, Want::Both))
                    } else {
                        external(ctx, &text, Want::Both)
                    };
                    let found = found.unwrap_or_default();
                    ctx.claim(RECORD_OVERHEAD * found.len());
                    additional.extend(found);
                }
            }
        }
        additional
    }
}

/// The name of the key at `path` without its first `strip` labels (all of them are kept when
/// that would leave none), built from the labels in wire form without going through text.
fn target_name(path: &str, strip: usize) -> Option<Name> {
    let skip = if strip == 0 {
        0
    } else {
        let labels = path.bytes().filter(|&b| b == b'/').count() + 1;
        if strip >= labels {
            0
        } else {
            strip
        }
    };
    let mut wire = [0u8; 256];
    let mut len = 0;
    for label in path.as_bytes().rsplit(|&b| b == b'/').skip(skip) {
        let end = len + 1 + label.len();
        // An empty label would end the name early; room is kept for the root label, and
        // hickory checks label and name lengths.
        if label.is_empty() || end >= wire.len() {
            return None;
        }
        wire[len] = u8::try_from(label.len()).ok()?;
        wire[len + 1..end].copy_from_slice(label);
        len = end;
    }
    Name::read(&mut BinDecoder::new(&wire[..=len])).ok()
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

    #[test]
    fn keys_that_make_no_name_make_no_target() {
        assert_eq!(target_name("local/skydns//1", 0), None);
        let long = "a".repeat(64);
        assert_eq!(target_name(&format!("local/{long}"), 0), None);
        let deep = vec!["abcdefghi"; 30].join("/");
        assert_eq!(target_name(&deep, 0), None, "300 bytes is over 255");
    }
}
