//! Look-ups skydns makes itself for external CNAME, SRV and MX targets (SkyDNS's `Lookup`): a
//! recursive UDP query with EDNS to the configured nameservers (TCP again when the reply is
//! truncated), all needed look-ups at once. A name with fewer than `ndots` labels, `no_rec`, no
//! nameservers or any reply but NOERROR count as a failed look-up.

use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::Name;

use super::upstream::Upstreams;
use crate::config::RuntimeConfig;
use crate::core::path::label_count;
use crate::core::{ExternalQuery, Externals, Transport};

/// Resolves every query in `needs` concurrently; the result is complete (nothing pending).
pub async fn look_up_all(
    upstreams: &Upstreams,
    cfg: &RuntimeConfig,
    needs: &[ExternalQuery],
) -> Externals {
    let lookups = needs.iter().map(|need| async move {
        let answer = lookup(upstreams, cfg, need).await;
        (need.clone(), answer)
    });
    let mut externals = Externals::none();
    for (need, answer) in futures_util::future::join_all(lookups).await {
        externals.insert(need, answer);
    }
    externals
}

/// The answer records for one look-up, `None` when it failed.
async fn lookup(
    upstreams: &Upstreams,
    cfg: &RuntimeConfig,
    need: &ExternalQuery,
) -> Option<Vec<hickory_proto::rr::Record>> {
    if cfg.no_rec || label_count(&need.name) < cfg.ndots {
        return None;
    }
    let name = Name::from_ascii(&need.name).ok()?;
    let mut query = Message::query();
    query.metadata.recursion_desired = true;
    query.add_query(Query::query(name, need.qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(cfg.edns_payload.max(512));
    query.edns = Some(edns);
    let reply = upstreams
        .exchange(
            &query,
            &cfg.nameservers,
            cfg.ns_rotate,
            Transport::Udp,
            cfg.read_timeout,
        )
        .await;
    match reply {
        Ok(reply) if reply.metadata.response_code == ResponseCode::NoError => Some(reply.answers),
        Ok(reply) => {
            tracing::debug!(name = %need.name, rcode = %reply.metadata.response_code, "external look-up failed");
            None
        }
        Err(e) => {
            tracing::debug!(name = %need.name, error = %e, "external look-up failed");
            None
        }
    }
}
