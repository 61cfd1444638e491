//! Stub zones: services under `stub.dns.<domain>` name the servers of other zones
//! (`/<prefix>/<domain>/dns/stub/<zone reversed>/<id>` with `{"host": IP, "port": n}`). Queries
//! for those zones go to those servers. EDNS0 option 65011 marks a query that already went
//! through a stub forwarder, so a loop is cut instead of amplified.

use std::net::SocketAddr;

use hickory_proto::rr::rdata::opt::EdnsCode;

use super::Ctx;
use crate::core::path::{in_zone, label_count, name_to_path, path_to_name, strip_labels};
use crate::core::request::Request;
use crate::core::service::Host;

/// The EDNS0 option code of the stub-forwarding loop guard (SkyDNS's `EDNS0LOCALSTART + 10`).
pub const LOOP_GUARD_OPTION: u16 = 65011;

/// Port used when a stub server gives none.
const DEFAULT_PORT: u16 = 53;

/// True when the query already passed a stub forwarder.
pub fn looped(req: &Request) -> bool {
    req.edns()
        .is_some_and(|e| e.option(EdnsCode::from(LOOP_GUARD_OPTION)).is_some())
}

/// The servers of the most specific stub zone containing `qname`, if any.
pub fn servers_for(ctx: &Ctx<'_>, qname: &str) -> Option<Vec<SocketAddr>> {
    let stub = ctx.cfg.stub_name();
    let stub_path = name_to_path(&stub);
    let suffix_labels = label_count(&stub);
    let mut best: Option<(usize, Vec<SocketAddr>)> = None;
    for entry in ctx.snap.subtree(&stub_path) {
        let Host::Ip(ip) = entry.service.host else {
            continue;
        };
        let full = path_to_name(&entry.path);
        let zone_labels = label_count(&full).saturating_sub(1 + suffix_labels);
        if zone_labels == 0 {
            continue;
        }
        let zone = zone_of(strip_labels(&full, 1), zone_labels);
        if !in_zone(qname, &zone) {
            continue;
        }
        let port = match entry.service.port {
            0 => DEFAULT_PORT,
            p => p,
        };
        let server = SocketAddr::new(ip, port);
        match &mut best {
            Some((labels, servers)) if *labels == zone_labels => servers.push(server),
            Some((labels, _)) if *labels > zone_labels => {}
            _ => best = Some((zone_labels, vec![server])),
        }
    }
    best.map(|(_, servers)| servers)
}

/// The first `labels` labels of `name`, as a dot-terminated name.
fn zone_of(name: &str, labels: usize) -> String {
    let mut zone: String = name.split('.').take(labels).collect::<Vec<_>>().join(".");
    zone.push('.');
    zone
}
