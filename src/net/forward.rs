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
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::rdata::opt::EdnsOption;
use tokio::sync::Semaphore;

use super::cache::records_mut;
use super::forward_key::ForwardKey;
use super::inflight::{self, InFlight, Turn};
use super::lookup;
use super::serving::Serving;
use super::upstream::{UpstreamError, Upstreams};
use crate::config::RuntimeConfig;
use crate::core::answer::stub::LOOP_GUARD_OPTION;
use crate::core::decide::servfail;
use crate::core::ede::ExtendedError;
use crate::core::edns::reply_opt;
use crate::core::{ExternalQuery, Externals, Request, Transport};
use crate::metrics::query::Cache;
use crate::metrics::Metrics;

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

/// Where a relayed reply came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The forward cache.
    Cache,
    /// An exchange with the nameservers (or its failure), ours or one shared in flight.
    Nameservers,
    /// An exchange with a stub zone's servers (or its failure).
    Stub,
}

/// Upstream traffic and the exchanges in flight, shared by every query; the forward cache
/// comes with the configuration of each query ([`Serving`]).
pub struct Forwarder {
    upstreams: Upstreams,
    inflight: InFlight<Landed>,
    /// Look-ups of external targets in flight: bounded apart from forwarded queries, so that
    /// the targets of one name cannot take the whole upstream budget.
    lookup_permits: Semaphore,
    /// Where forward cache look-ups and upstream exchanges are counted.
    metrics: Option<Arc<Metrics>>,
}

/// The most external-target look-ups one query makes (a target is asked for A and AAAA:
/// this is 8 targets); targets past it go without their addresses.
pub const MAX_LOOKUPS_PER_QUERY: usize = 16;

/// The most external-target look-ups in flight for all queries together: a quarter of the
/// upstream budget, the rest is kept for forwarded queries.
pub const MAX_LOOKUPS_IN_FLIGHT: usize = super::upstream::MAX_OUTSTANDING / 4;

impl Forwarder {
    /// A forwarder counting in `metrics`.
    pub fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Forwarder {
            upstreams: Upstreams::new(super::upstream::MAX_OUTSTANDING, metrics.clone()),
            inflight: InFlight::default(),
            lookup_permits: Semaphore::new(MAX_LOOKUPS_IN_FLIGHT),
            metrics,
        }
    }

    /// The reply to a query the core decided to forward, and where it came from.
    pub async fn relay(&self, req: &Request, serving: &Serving, target: Target) -> (Message, Via) {
        let cfg = &serving.cfg;
        let mut query = req.message.clone();
        let (servers, rotate, via) = match &target {
            Target::Nameservers => (cfg.nameservers.as_slice(), cfg.ns_rotate, Via::Nameservers),
            Target::Stub(servers) => {
                add_loop_guard(&mut query, cfg.edns_payload);
                (servers.as_slice(), true, Via::Stub)
            }
        };
        let key = ForwardKey::of(req, servers);
        let exchange = Exchange {
            query: &query,
            servers,
            rotate,
            transport: req.transport,
        };
        let (landed, via) = self.shared(&key, &exchange, serving, via).await;
        let reply = match landed {
            Ok(reply) => for_client(reply, req, cfg),
            Err(why) => servfail(req, cfg, why),
        };
        (reply, via)
    }

    /// The upstream answer to an exchange with the servers `upstream` says, and where it came
    /// from: the forward cache, or one exchange shared with the identical queries in flight
    /// (and then cached when it may be).
    async fn shared(
        &self,
        key: &ForwardKey,
        exchange: &Exchange<'_>,
        serving: &Serving,
        upstream: Via,
    ) -> (Landed, Via) {
        let cache = serving.forward_cache.as_deref();
        let hit = cache.and_then(|c| c.get(key, Instant::now()));
        if let (Some(metrics), Some(_)) = (&self.metrics, cache) {
            metrics.queries.cache_lookup(Cache::Forward, hit.is_some());
        }
        if let Some(hit) = hit {
            return (Ok(hit), Via::Cache);
        }
        // Waiters whose asker went away (its task cancelled) join again.
        loop {
            match self.inflight.join(key) {
                Turn::Ask(flight) => {
                    let landed = self.ask(exchange, serving.cfg.read_timeout).await;
                    if let (Ok(reply), Some(cache)) = (&landed, cache) {
                        cache.insert(key.clone(), reply, Instant::now());
                    }
                    flight.land(&landed);
                    return (landed, upstream);
                }
                Turn::Wait(waiting) => {
                    if let Some(landed) = inflight::wait(waiting).await {
                        return (landed, upstream);
                    }
                }
            }
        }
    }

    /// One exchange with the upstream servers.
    async fn ask(&self, exchange: &Exchange<'_>, read_timeout: std::time::Duration) -> Landed {
        self.upstreams
            .exchange(
                exchange.query,
                exchange.servers,
                exchange.rotate,
                exchange.transport,
                read_timeout,
            )
            .await
            .map_err(|e| {
                let name = exchange.query.queries.first().map(|q| q.name().to_string());
                tracing::debug!(name = ?name, error = %e, "upstream exchange failed");
                extended_error(&e)
            })
    }

    /// Resolves the external targets the core asked for, through the forward cache and the
    /// sharing of exchanges in flight: at most [`MAX_LOOKUPS_PER_QUERY`] of them, each only
    /// while the look-up budget has room.
    pub async fn lookups(&self, serving: &Serving, needs: &[ExternalQuery]) -> Externals {
        let cfg = &serving.cfg;
        let asked = needs
            .iter()
            .take(MAX_LOOKUPS_PER_QUERY)
            .map(|need| async move {
                let records = match (
                    lookup::question(need, cfg),
                    self.lookup_permits.try_acquire(),
                ) {
                    (Some(req), Ok(_permit)) => {
                        let key = ForwardKey::of(&req, &cfg.nameservers);
                        let exchange = Exchange {
                            query: &req.message,
                            servers: &cfg.nameservers,
                            rotate: cfg.ns_rotate,
                            transport: Transport::Udp,
                        };
                        self.shared(&key, &exchange, serving, Via::Nameservers)
                            .await
                            .0
                            .ok()
                            .and_then(|reply| lookup::records(need, &reply))
                    }
                    _ => None,
                };
                (need.clone(), records)
            });
        let mut externals = Externals::none();
        for (need, records) in futures_util::future::join_all(asked).await {
            externals.insert(need, records);
        }
        externals
    }

    /// The results the forward cache holds for the external targets in `needs`, asking no
    /// upstream server (for a client that may not have names forwarded).
    pub fn held(serving: &Serving, needs: &[ExternalQuery]) -> Externals {
        let cfg = &serving.cfg;
        let mut externals = Externals::none();
        let now = Instant::now();
        for need in needs.iter().take(MAX_LOOKUPS_PER_QUERY) {
            let records = lookup::question(need, cfg)
                .zip(serving.forward_cache.as_deref())
                .and_then(|(req, cache)| cache.get(&ForwardKey::of(&req, &cfg.nameservers), now))
                .and_then(|reply| lookup::records(need, &reply));
            externals.insert(need.clone(), records);
        }
        externals
    }
}

/// One upstream exchange to make.
struct Exchange<'a> {
    query: &'a Message,
    servers: &'a [SocketAddr],
    rotate: bool,
    transport: Transport,
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
