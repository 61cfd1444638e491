//! Carrying out `Forward` and `Stub` outcomes: the client's query goes to the configured
//! nameservers (rotating with `ns_rotate`) or to a stub zone's servers (always rotating, with the
//! EDNS0 loop-guard option 65011 added), over the client's transport, through the forwarded
//! answer cache. The client gets the upstream reply with its own ID and question and our OPT
//! record, or SERVFAIL when every upstream failed. External look-ups are run here too.
//!
//! Server lists are read from the runtime config passed in for each query, so a reload that
//! changes them takes effect at once.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::rdata::opt::EdnsOption;

use super::cache::ForwardCache;
use super::lookup;
use super::upstream::Upstreams;
use crate::config::RuntimeConfig;
use crate::core::answer::stub::LOOP_GUARD_OPTION;
use crate::core::ede::ExtendedError;
use crate::core::edns::reply_opt;
use crate::core::resolve::servfail;
use crate::core::{ExternalQuery, Externals, Request};

/// Where a client's query goes.
pub enum Target {
    /// `nameservers` of the current config.
    Nameservers,
    /// The servers of a stub zone.
    Stub(Vec<SocketAddr>),
}

/// Upstream traffic and the forwarded-answer cache, shared by every query task.
#[derive(Default)]
pub struct Forwarder {
    upstreams: Upstreams,
    cache: ForwardCache,
}

impl Forwarder {
    /// The reply to a query the core decided to forward.
    pub async fn relay(&self, req: &Request, cfg: &RuntimeConfig, target: Target) -> Message {
        let (servers, rotate) = match &target {
            Target::Nameservers => (cfg.nameservers.as_slice(), cfg.ns_rotate),
            Target::Stub(servers) => (servers.as_slice(), true),
        };
        if cfg.rcache > 0 {
            if let Some(hit) = self.cache.get(req, servers, Instant::now()) {
                return for_client(hit, req, cfg);
            }
        }
        let mut query = req.message.clone();
        if let Target::Stub(_) = target {
            add_loop_guard(&mut query, cfg.edns_payload);
        }
        match self
            .upstreams
            .exchange(&query, servers, rotate, req.transport, cfg.read_timeout)
            .await
        {
            Ok(reply) => {
                if cfg.rcache > 0 {
                    self.cache.insert(
                        req,
                        servers,
                        &reply,
                        cfg.rcache,
                        cfg.rcache_ttl,
                        Instant::now(),
                    );
                }
                for_client(reply, req, cfg)
            }
            Err(e) => {
                tracing::debug!(name = %req.qname(), qtype = %req.qtype(), error = %e, "forwarding failed");
                servfail(req, cfg, Some(ExtendedError::NoReachableAuthority))
            }
        }
    }

    /// Resolves the external targets the core asked for.
    pub async fn lookups(&self, cfg: &RuntimeConfig, needs: &[ExternalQuery]) -> Externals {
        lookup::resolve(&self.upstreams, cfg, needs).await
    }
}

/// An upstream (or cached) reply as the client must see it: its ID, its question exactly as
/// sent, and the OPT record we give (hop-by-hop options of the upstream are not passed on).
fn for_client(mut reply: Message, req: &Request, cfg: &RuntimeConfig) -> Message {
    reply.metadata.id = req.message.metadata.id;
    reply.queries = req.message.queries.clone();
    reply.edns = reply_opt(req, cfg.edns_payload);
    reply
}

/// Marks a query as forwarded to a stub zone, so another skydns drops it instead of
/// forwarding it again.
fn add_loop_guard(query: &mut Message, our_payload: u16) {
    let edns = query.edns.get_or_insert_with(|| {
        let mut edns = Edns::new();
        edns.set_max_payload(our_payload.max(512));
        edns
    });
    edns.options_mut()
        .insert(EdnsOption::Unknown(LOOP_GUARD_OPTION, vec![1]));
}
