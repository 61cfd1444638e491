//! Carrying out `Forward` and `Stub` outcomes: the client's query goes to the configured
//! nameservers (rotating with `ns_rotate`) or to a stub zone's servers (always rotating, with the
//! EDNS0 loop-guard option 65011 added), over the client's transport, through the forwarded
//! answer cache, sharing the exchange with identical queries in flight. The client gets the
//! upstream reply with its own ID, question and letter case and our OPT record, or SERVFAIL
//! when every upstream failed. External look-ups are run here too.
//!
//! Server lists are read from the runtime config passed in for each query, so a reload that
//! changes them takes effect at once.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::rdata::opt::EdnsOption;

use super::cache::{records_mut, ForwardCache};
use super::forward_key::ForwardKey;
use super::inflight::{self, InFlight, Turn};
use super::lookup;
use super::upstream::{UpstreamError, Upstreams};
use crate::config::RuntimeConfig;
use crate::core::answer::stub::LOOP_GUARD_OPTION;
use crate::core::decide::servfail;
use crate::core::ede::ExtendedError;
use crate::core::edns::reply_opt;
use crate::core::{ExternalQuery, Externals, Request};

/// Where a client's query goes.
pub enum Target {
    /// `nameservers` of the current config.
    Nameservers,
    /// The servers of a stub zone.
    Stub(Vec<SocketAddr>),
}

/// What one exchange lands: the upstream reply, or why the client gets SERVFAIL (the extended
/// error to give, if any).
type Landed = Result<Message, Option<ExtendedError>>;

/// Upstream traffic, the forwarded-answer cache and the exchanges in flight, shared by every
/// query task.
#[derive(Default)]
pub struct Forwarder {
    upstreams: Upstreams,
    cache: ForwardCache,
    inflight: InFlight<Landed>,
}

impl Forwarder {
    /// The reply to a query the core decided to forward.
    pub async fn relay(&self, req: &Request, cfg: &RuntimeConfig, target: Target) -> Message {
        let servers = match &target {
            Target::Nameservers => cfg.nameservers.as_slice(),
            Target::Stub(servers) => servers.as_slice(),
        };
        let key = ForwardKey::of(req, servers);
        if cfg.rcache > 0 {
            if let Some(hit) = self.cache.get(&key, Instant::now()) {
                return for_client(hit, req, cfg);
            }
        }
        // Waiters whose asker went away (its task cancelled) join again.
        let landed = loop {
            match self.inflight.join(&key) {
                Turn::Ask(flight) => {
                    let landed = self.ask(req, cfg, &target, &key).await;
                    flight.land(&landed);
                    break landed;
                }
                Turn::Wait(waiting) => {
                    if let Some(landed) = inflight::wait(waiting).await {
                        break landed;
                    }
                }
            }
        };
        match landed {
            Ok(reply) => for_client(reply, req, cfg),
            Err(why) => servfail(req, cfg, why),
        }
    }

    /// One exchange with the servers of `target`; the reply is cached when it may be.
    async fn ask(
        &self,
        req: &Request,
        cfg: &RuntimeConfig,
        target: &Target,
        key: &ForwardKey,
    ) -> Landed {
        let mut query = req.message.clone();
        let (servers, rotate) = match target {
            Target::Nameservers => (cfg.nameservers.as_slice(), cfg.ns_rotate),
            Target::Stub(servers) => {
                add_loop_guard(&mut query, cfg.edns_payload);
                (servers.as_slice(), true)
            }
        };
        let exchanged = self
            .upstreams
            .exchange(&query, servers, rotate, req.transport, cfg.read_timeout)
            .await;
        match exchanged {
            Ok(reply) => {
                if cfg.rcache > 0 {
                    let now = Instant::now();
                    self.cache
                        .insert(key.clone(), &reply, cfg.rcache, cfg.rcache_ttl, now);
                }
                Ok(reply)
            }
            Err(e) => {
                tracing::debug!(name = %req.qname(), qtype = %req.qtype(), error = %e, "forwarding failed");
                Err(extended_error(&e))
            }
        }
    }

    /// Resolves the external targets the core asked for.
    pub async fn lookups(&self, cfg: &RuntimeConfig, needs: &[ExternalQuery]) -> Externals {
        lookup::look_up_all(&self.upstreams, cfg, needs).await
    }
}

/// What the client is told about a failed exchange.
fn extended_error(e: &UpstreamError) -> Option<ExtendedError> {
    match e {
        UpstreamError::NoServers | UpstreamError::AllFailed(_) => {
            Some(ExtendedError::NoReachableAuthority)
        }
        UpstreamError::Busy => Some(ExtendedError::Busy),
        UpstreamError::Encode(_) => None,
    }
}

/// An upstream, shared or cached reply as the client must see it: its ID, its question
/// exactly as sent, owner names equal to the question in the client's letter case (0x20), and
/// the OPT record we give (hop-by-hop options of the upstream are not passed on).
fn for_client(mut reply: Message, req: &Request, cfg: &RuntimeConfig) -> Message {
    reply.metadata.id = req.message.metadata.id;
    reply.queries = req.message.queries.clone();
    reply.edns = reply_opt(req, cfg.edns_payload);
    let qname = req.qname();
    for record in records_mut(&mut reply) {
        if record.name == *qname {
            record.name = qname.clone();
        }
    }
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

#[cfg(test)]
mod tests {
    use hickory_proto::op::MessageType;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::{RData, Record};

    use super::*;
    use crate::net::forward_key::tests::request;

    #[test]
    fn failures_map_to_extended_errors() {
        let code = |e| extended_error(&e).map(ExtendedError::code);
        assert_eq!(code(UpstreamError::Busy), Some(0));
        assert_eq!(code(UpstreamError::NoServers), Some(22));
        assert_eq!(code(UpstreamError::Encode("x".into())), None);
    }

    #[test]
    fn a_reply_gets_the_clients_id_question_and_case() {
        let asker = request("www.example.org.", 1, false);
        let mut reply = asker.message.clone();
        reply.metadata.message_type = MessageType::Response;
        let data = RData::A(A::new(192, 0, 2, 1));
        reply
            .answers
            .push(Record::from_rdata(asker.qname().clone(), 60, data));

        let client = request("WwW.ExAmple.org.", 2, false);
        let out = for_client(reply, &client, &RuntimeConfig::default());
        assert_eq!(out.metadata.id, 2);
        assert_eq!(out.queries[0].name().to_ascii(), "WwW.ExAmple.org.");
        assert!(out.answers[0].name.eq_case(client.qname()));
        assert!(out.edns.is_none(), "no OPT for a query without one");
    }
}
