//! One query from bytes to bytes. First without waiting on anything ([`Handler::answer_now`]):
//! a query of the common shape is looked up in the answer table of the current snapshot and
//! configuration and, when found, rendered for its asker; otherwise it is decoded (with the
//! malformed-packet rules), the core decides, and a reply of our own zone is compiled, kept in
//! the table when it may be, and rendered. What needs upstream servers (forwarding, stub
//! zones, external targets) is left to [`Handler::answer_later`], which waits on them.
//!
//! Both check a query's DNS cookie and give its reply ours (`core::cookie`), and both pass
//! every UDP reply through response rate limiting (`net::rrl`) before it is sent, unless the
//! query carried a valid server cookie: the reply is sent, dropped, or cut to a truncated one.
//!
//! With metrics on, each query is counted once its reply is final (`metrics::query`): what
//! is learnt on the way (type, DO, rcode, the path that answered) is noted in a [`Tally`].

use std::cell::Cell;
#[cfg(test)]
use std::net::IpAddr;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use hickory_proto::op::Message;

use crate::answers::question::{self, Asked};
use crate::answers::render::Asker;
use crate::answers::table::{KeyRef, Table};
use crate::answers::{asker_of, compile_reply, encode_message};
use crate::config::RuntimeConfig;
use crate::core::cookie::{self, Received};
use crate::core::decide::{forwarding_allowed_for, new_reply, servfail};
use crate::core::ede::ExtendedError;
use crate::core::edns;
use crate::core::wire::{decode, header_only, Decoded};
use crate::core::{Externals, Outcome, Reply, Request, Transport};
use crate::metrics::query::{Cache, Dropped, Origin, Tally};
use crate::metrics::Metrics;
use crate::net::forward::{Forwarder, Target, Via};
use crate::net::rrl::{self, slip, Limiter, Verdict};
use crate::net::serving::{Serving, ServingCell};
use crate::store::StoreState;

/// Queries waiting on upstream servers at once; beyond it a query that would wait gets
/// SERVFAIL at once (receiving never stops).
pub const MAX_WAITING: usize = 4096;

/// What [`Handler::answer_now`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Now {
    /// The reply is in the buffer.
    Reply,
    /// Nothing is to be sent.
    Drop,
    /// The query needs upstream servers: answer it with [`Handler::answer_later`].
    Later,
}

/// Shared by every server.
pub struct Handler {
    /// The data.
    pub store: Arc<StoreState>,
    /// The configuration and signer, swapped as one by reloads.
    pub serving: Arc<ServingCell>,
    /// The compiled replies of the current snapshot and configuration.
    table: ArcSwap<Table<Serving>>,
    forwarder: Forwarder,
    waiting: AtomicUsize,
    /// The server secret of our DNS cookies, made at start.
    cookies: cookie::Secret,
    /// Response rate limiting of UDP replies.
    rrl: Limiter,
    /// Where queries are counted, when metrics are on.
    metrics: Option<Arc<Metrics>>,
}

/// One received message and what is known about it before it is answered.
struct Arrival<'a> {
    bytes: &'a [u8],
    transport: Transport,
    peer: SocketAddr,
    started: Instant,
    /// The query carried a server cookie of ours, valid for this client (set once checked).
    vouched: bool,
    /// What the metrics count of it.
    tally: Tally,
}

impl<'a> Arrival<'a> {
    /// A message received now.
    fn new(bytes: &'a [u8], transport: Transport, peer: SocketAddr) -> Self {
        Arrival {
            bytes,
            transport,
            peer,
            started: Instant::now(),
            vouched: false,
            tally: Tally::default(),
        }
    }
}

thread_local! {
    /// Turns address RRsets one step per reply rendered on this thread.
    static TURN: Cell<usize> = const { Cell::new(0) };
}

impl Handler {
    /// A handler answering from `store` with the configuration in `serving`, counting in
    /// `metrics` when given.
    pub fn new(
        store: Arc<StoreState>,
        serving: Arc<ServingCell>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        let serving_now = serving.load_full();
        let bytes = serving_now.cfg.settings.answer_cache.0;
        let table = Table::new(store.snapshot(), serving_now, bytes);
        Handler {
            store,
            serving,
            table: ArcSwap::from_pointee(table),
            forwarder: Forwarder::new(metrics.clone()),
            waiting: AtomicUsize::new(0),
            cookies: cookie::Secret::new(rand::random()),
            rrl: Limiter::new(Instant::now(), rand::random()),
            metrics,
        }
    }

    /// Counts a UDP datagram dropped before it could be read as a query.
    pub fn dropped(&self, why: Dropped) {
        if let Some(metrics) = &self.metrics {
            metrics.queries.dropped(why);
        }
    }

    /// Counts one query whose reply (`None`: nothing) is final.
    fn count(&self, arrival: &Arrival<'_>, reply: Option<&[u8]>) {
        if let Some(metrics) = &self.metrics {
            metrics.queries.record(
                arrival.transport,
                arrival.peer.ip(),
                arrival.bytes,
                reply,
                &arrival.tally,
                arrival.started.elapsed(),
            );
        }
    }

    /// Replies held back and slipped by response rate limiting since start.
    pub fn rrl_counts(&self) -> rrl::Counts {
        self.rrl.counts()
    }

    /// The reply to one received message (`None`: nothing is sent), waiting on upstream
    /// servers when it must.
    pub async fn handle(
        &self,
        bytes: &[u8],
        transport: Transport,
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        match self.answer_now(bytes, transport, peer, &mut out) {
            Now::Reply => Some(out),
            Now::Drop => None,
            Now::Later => self.answer_later(bytes, transport, peer).await,
        }
    }

    /// The table for the current snapshot and configuration (a new, empty one after either
    /// changed).
    fn table(&self) -> Arc<Table<Serving>> {
        let snapshot = self.store.snapshot();
        let serving = self.serving.load_full();
        let table = self.table.load_full();
        if table.is_for(&snapshot, &serving) {
            return table;
        }
        let bytes = serving.cfg.settings.answer_cache.0;
        let fresh = Arc::new(Table::new(snapshot, serving, bytes));
        self.table.store(fresh.clone());
        fresh
    }

    /// Entries and bytes held by the answer table.
    pub fn table_size(&self) -> (usize, u64) {
        let table = self.table.load();
        (table.len(), table.bytes())
    }

    /// Answers without waiting: from the answer table, or from the core when it needs no
    /// upstream server. Writes the reply into `out` (over UDP, as rate limiting leaves it).
    pub fn answer_now(
        &self,
        bytes: &[u8],
        transport: Transport,
        peer: SocketAddr,
        out: &mut Vec<u8>,
    ) -> Now {
        let mut arrival = Arrival::new(bytes, transport, peer);
        let table = self.table();
        let now = self.reply_now(&table, &mut arrival, out);
        let now = self.rate_limit(now, &arrival, &table.serving.cfg, out);
        if now != Now::Later {
            self.count(&arrival, (now == Now::Reply).then_some(out.as_slice()));
        }
        now
    }

    /// [`Handler::answer_now`] before rate limiting.
    fn reply_now(
        &self,
        table: &Table<Serving>,
        arrival: &mut Arrival<'_>,
        out: &mut Vec<u8>,
    ) -> Now {
        let (bytes, transport, peer, started) = (
            arrival.bytes,
            arrival.transport,
            arrival.peer,
            arrival.started,
        );
        let serving = &table.serving;
        let cfg = &serving.cfg;
        let asked = question::parse(bytes).filter(|a| a.qclass == 1);
        let may_recurse = forwarding_allowed_for(peer.ip(), cfg);
        if let Some(asked) = &asked {
            arrival.tally.qtype = Some(asked.qtype);
            arrival.tally.dnssec_ok = asked.edns.is_some_and(|e| e.dnssec_ok);
            let key = key_of(asked, may_recurse);
            let mut rendered = None;
            if let Some(compiled) = table.get(&key) {
                let mut asker = asker_from(asked, transport, cfg);
                asker.cookie = self.cookie(asked.edns.and_then(|e| e.cookie), arrival);
                if compiled.fresh(started) && compiled.serves(compiled.body_limit(&asker)) {
                    let turn = next_turn();
                    if compiled.render(&asker, cfg.edns_payload, turn, out) {
                        rendered = Some(compiled.bits().rcode);
                    }
                }
            }
            self.cache_lookup(Cache::Answer, rendered.is_some());
            if let Some(rcode) = rendered {
                arrival.tally.rcode = rcode;
                log_query(cfg, peer, transport, bytes, out, started);
                return Now::Reply;
            }
        }
        let message = match decode(bytes) {
            Decoded::Query(message) => message,
            Decoded::CookieProbe(message) => {
                return self.cookie_probe(*message, arrival, cfg, out);
            }
            Decoded::Error(reply) => {
                arrival.tally.rcode = reply.get(3).map_or(0, |b| u16::from(b & 0x0f));
                *out = reply;
                return Now::Reply;
            }
            Decoded::Drop => {
                arrival.tally.dropped = Some(Dropped::Malformed);
                return Now::Drop;
            }
        };
        let req = Request::new(*message, transport, peer.ip());
        arrival.tally.qtype = Some(u16::from(req.qtype()));
        arrival.tally.dnssec_ok = req.dnssec_ok();
        let mut question = Vec::new();
        // A query of the common shape has its question at hand; another is encoded again.
        let mut asker = match &asked {
            Some(asked) => asker_from(asked, transport, cfg),
            None => asker_of(&req, cfg.edns_payload, &mut question),
        };
        asker.cookie = self.cookie(received(&req), arrival);
        if !self.store.is_loaded() {
            let reply = servfail(&req, cfg, Some(ExtendedError::NotReady));
            return self.send_message(&reply, &asker, cfg, &mut arrival.tally, out);
        }
        let lowered = req.lowercased();
        let externals = if cfg.no_rec || cfg.nameservers.is_empty() {
            Externals::none()
        } else {
            Externals::default()
        };
        let outcome = match crate::core::decide(&lowered, &table.snapshot, cfg, &externals, started)
        {
            // A client that may not have names forwarded causes no upstream packet: its
            // external targets are answered from what the forward cache holds.
            Outcome::NeedExternal(needs) if !may_recurse => {
                let held = Forwarder::held(serving, &needs);
                crate::core::decide(&lowered, &table.snapshot, cfg, &held, started)
            }
            other => other,
        };
        let reply = match outcome {
            Outcome::Reply(reply) => reply,
            Outcome::Drop => return drop_looped(&req, &mut arrival.tally),
            Outcome::Forward | Outcome::Stub { .. } | Outcome::NeedExternal(_) => {
                return self.later_or_busy(&req, &asker, cfg, &mut arrival.tally, out);
            }
        };
        let cacheable = keeps(&reply);
        arrival.tally.origin = origin_of(&reply);
        let signer = serving.signer.as_deref();
        let tally = &mut arrival.tally;
        match compile_reply(&lowered, reply, cfg, signer, &asker, started, unix_now()) {
            Ok(compiled) => {
                let compiled = Arc::new(compiled);
                if let (Some(asked), true) = (&asked, cacheable) {
                    table.insert(key_of(asked, may_recurse).to_key(), compiled.clone());
                }
                tally.rcode = compiled.bits().rcode;
                if !compiled.render(&asker, cfg.edns_payload, next_turn(), out) {
                    return self.send_message(&servfail(&req, cfg, None), &asker, cfg, tally, out);
                }
            }
            Err(e) => {
                crate::sys::rate_limited::error(&e.to_string());
                return self.send_message(&servfail(&req, cfg, None), &asker, cfg, tally, out);
            }
        }
        log_query(cfg, peer, transport, bytes, out, started);
        Now::Reply
    }

    /// Counts one look-up of `cache`.
    fn cache_lookup(&self, cache: Cache, hit: bool) {
        if let Some(metrics) = &self.metrics {
            metrics.queries.cache_lookup(cache, hit);
        }
    }

    /// The COOKIE option data of the reply to a query that sent `received`; records in
    /// `arrival` whether its server cookie was valid.
    fn cookie(
        &self,
        received: Option<Received>,
        arrival: &mut Arrival<'_>,
    ) -> Option<[u8; cookie::REPLY_LEN]> {
        let checked = self
            .cookies
            .check(&received?, arrival.peer.ip(), unix_now());
        arrival.vouched = checked.valid;
        Some(checked.reply)
    }

    /// The reply to a query without a question that asks for a server cookie (RFC 7873 §5.4):
    /// NOERROR with our cookie, or BADCOOKIE when the server cookie it sent is not valid.
    fn cookie_probe(
        &self,
        message: Message,
        arrival: &mut Arrival<'_>,
        cfg: &RuntimeConfig,
        out: &mut Vec<u8>,
    ) -> Now {
        let req = Request::new(message, arrival.transport, arrival.peer.ip());
        let sent = received(&req);
        let mut no_question = Vec::new();
        let mut asker = asker_of(&req, cfg.edns_payload, &mut no_question);
        asker.cookie = self.cookie(sent, arrival);
        let mut reply = new_reply(&req, cfg);
        if sent.is_some_and(|c| !c.server().is_empty()) && !arrival.vouched {
            reply.metadata.response_code = hickory_proto::op::ResponseCode::BADCOOKIE;
        }
        self.send_message(&reply, &asker, cfg, &mut arrival.tally, out)
    }

    /// Response rate limiting of a UDP reply in `out` (left alone for TCP and for queries
    /// with a valid server cookie).
    fn rate_limit(
        &self,
        now: Now,
        arrival: &Arrival<'_>,
        cfg: &RuntimeConfig,
        out: &mut Vec<u8>,
    ) -> Now {
        if now != Now::Reply || arrival.transport != Transport::Udp || arrival.vouched {
            return now;
        }
        let policy = rrl::Policy {
            rate: cfg.settings.rrl.as_u32(),
            slip: cfg.settings.rrl_slip.as_u32(),
            exempt: &cfg.rrl_exempt,
            zone: &cfg.domain,
        };
        match self
            .rrl
            .check(out, arrival.peer.ip(), &policy, arrival.started)
        {
            Verdict::Send => Now::Reply,
            Verdict::Drop => Now::Drop,
            Verdict::Slip => {
                slip::truncate(out);
                Now::Reply
            }
        }
    }

    /// A query that must wait on upstream servers: later, unless too many already wait.
    fn later_or_busy(
        &self,
        req: &Request,
        asker: &Asker<'_>,
        cfg: &RuntimeConfig,
        tally: &mut Tally,
        out: &mut Vec<u8>,
    ) -> Now {
        if self.waiting.load(Ordering::Relaxed) < MAX_WAITING {
            return Now::Later;
        }
        self.send_message(
            &servfail(req, cfg, Some(ExtendedError::Busy)),
            asker,
            cfg,
            tally,
            out,
        )
    }

    /// Encodes `message` for `asker` into `out` and notes its rcode; a message that cannot be
    /// encoded becomes a bare SERVFAIL header.
    fn send_message(
        &self,
        message: &Message,
        asker: &Asker<'_>,
        cfg: &RuntimeConfig,
        tally: &mut Tally,
        out: &mut Vec<u8>,
    ) -> Now {
        let md = &message.metadata;
        tally.rcode = u16::from(md.response_code);
        if encode_message(message, asker, cfg.edns_payload, out).is_err() {
            let servfail = hickory_proto::op::ResponseCode::ServFail;
            tally.rcode = u16::from(servfail);
            *out = header_only(md.id, u8::from(md.op_code), md.recursion_desired, servfail);
        }
        Now::Reply
    }

    /// Answers a query that needs upstream servers: forwarding, a stub zone, or external
    /// targets looked up before the core answers again (over UDP, as rate limiting leaves
    /// the reply).
    pub async fn answer_later(
        &self,
        bytes: &[u8],
        transport: Transport,
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let _waiting = Waiting::enter(&self.waiting);
        let mut arrival = Arrival::new(bytes, transport, peer);
        let serving = self.serving.load_full();
        let reply = match self.reply_later(&serving, &mut arrival).await {
            Some(mut out) => match self.rate_limit(Now::Reply, &arrival, &serving.cfg, &mut out) {
                Now::Reply => Some(out),
                Now::Drop | Now::Later => None,
            },
            None => None,
        };
        self.count(&arrival, reply.as_deref());
        reply
    }

    /// [`Handler::answer_later`] before rate limiting.
    async fn reply_later(&self, serving: &Serving, arrival: &mut Arrival<'_>) -> Option<Vec<u8>> {
        let (bytes, transport, peer, started) = (
            arrival.bytes,
            arrival.transport,
            arrival.peer,
            arrival.started,
        );
        let Decoded::Query(message) = decode(bytes) else {
            return None;
        };
        let req = Request::new(*message, transport, peer.ip());
        arrival.tally.qtype = Some(u16::from(req.qtype()));
        arrival.tally.dnssec_ok = req.dnssec_ok();
        let cfg = &serving.cfg;
        let snapshot = self.store.snapshot();
        let lowered = req.lowercased();
        let mut question = Vec::new();
        let mut asker = asker_of(&req, cfg.edns_payload, &mut question);
        asker.cookie = self.cookie(received(&req), arrival);
        let first = Externals::default();
        let outcome = match crate::core::decide(&lowered, &snapshot, cfg, &first, started) {
            Outcome::NeedExternal(needs) => {
                let externals = self.forwarder.lookups(serving, &needs).await;
                crate::core::decide(&lowered, &snapshot, cfg, &externals, Instant::now())
            }
            other => other,
        };
        let reply = match outcome {
            Outcome::Reply(reply) => reply,
            Outcome::Drop => {
                drop_looped(&req, &mut arrival.tally);
                return None;
            }
            Outcome::Forward => {
                let target = Target::Nameservers;
                return Some(self.relay(&req, serving, target, &asker, arrival).await);
            }
            Outcome::Stub { servers } => {
                let target = Target::Stub(servers);
                return Some(self.relay(&req, serving, target, &asker, arrival).await);
            }
            // The second pass has every look-up result: it cannot ask again.
            Outcome::NeedExternal(_) => {
                Reply::new(servfail(&req, cfg, None), crate::core::Source::Policy, None)
            }
        };
        let mut out = Vec::new();
        let tally = &mut arrival.tally;
        tally.origin = origin_of(&reply);
        let signer = serving.signer.as_deref();
        let rendered = compile_reply(&lowered, reply, cfg, signer, &asker, started, unix_now())
            .map(|compiled| {
                tally.rcode = compiled.bits().rcode;
                compiled.render(&asker, cfg.edns_payload, next_turn(), &mut out)
            });
        if !matches!(rendered, Ok(true)) {
            if let Err(e) = rendered {
                crate::sys::rate_limited::error(&e.to_string());
            }
            self.send_message(&servfail(&req, cfg, None), &asker, cfg, tally, &mut out);
        }
        log_query(cfg, peer, transport, bytes, &out, started);
        Some(out)
    }

    /// The reply to a query relayed to `target`, for `asker`: the upstream's, or SERVFAIL.
    async fn relay(
        &self,
        req: &Request,
        serving: &Serving,
        target: Target,
        asker: &Asker<'_>,
        arrival: &mut Arrival<'_>,
    ) -> Vec<u8> {
        let (reply, via) = self.forwarder.relay(req, serving, target).await;
        arrival.tally.origin = match via {
            Via::Cache => Origin::Cache,
            Via::Nameservers => Origin::Forward,
            Via::Stub => Origin::Stub,
        };
        let mut out = Vec::new();
        let cfg = &serving.cfg;
        self.send_message(&reply, asker, cfg, &mut arrival.tally, &mut out);
        let (bytes, started) = (arrival.bytes, arrival.started);
        log_query(cfg, arrival.peer, arrival.transport, bytes, &out, started);
        out
    }
}

/// The table key of a query of the common shape.
fn key_of<'a>(asked: &'a Asked<'_>, may_recurse: bool) -> KeyRef<'a> {
    KeyRef {
        name: asked.name.as_bytes(),
        qtype: asked.qtype,
        qclass: asked.qclass,
        dnssec_ok: asked.edns.is_some_and(|e| e.dnssec_ok),
        may_recurse,
    }
}

/// The asker of a query of the common shape.
fn asker_from<'a>(asked: &'a Asked<'_>, transport: Transport, cfg: &RuntimeConfig) -> Asker<'a> {
    let limit = edns::limit(transport, asked.edns.map(|e| e.payload), cfg.edns_payload);
    Asker {
        id: asked.id,
        rd: asked.rd,
        cd: asked.cd,
        question: asked.question,
        edns: asked.edns.map(|e| e.dnssec_ok),
        limit,
        cookie: None,
    }
}

/// The cookie of a decoded query (`wire::decode` answered a malformed one with FORMERR).
fn received(req: &Request) -> Option<Received> {
    cookie::received(req.edns()).ok().flatten()
}

/// True when a reply may be kept in the answer table: our own data, nothing from upstream.
fn keeps(reply: &Reply) -> bool {
    matches!(
        reply.source,
        crate::core::Source::Auth | crate::core::Source::Reverse
    ) && !reply.upstream_data
}

/// The path that made a reply of the core: refused by policy, or ours.
fn origin_of(reply: &Reply) -> Origin {
    let refused = reply.message.metadata.response_code == hickory_proto::op::ResponseCode::Refused;
    if reply.source == crate::core::Source::Policy && refused {
        Origin::Refused
    } else {
        Origin::Auth
    }
}

/// A query that already passed a stub forwarder: dropped (stub-zone loop).
fn drop_looped(req: &Request, tally: &mut Tally) -> Now {
    tally.dropped = Some(Dropped::Loop);
    tracing::debug!(name = %req.qname(), client = %req.client, "dropping a query that already passed a stub forwarder (stub-zone loop)");
    Now::Drop
}

fn next_turn() -> usize {
    TURN.with(|t| {
        let turn = t.get();
        t.set(turn.wrapping_add(1));
        turn
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Counts a query waiting on upstream servers while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One log line per query (target `skydns::query`), when the query log is on.
fn log_query(
    cfg: &RuntimeConfig,
    peer: SocketAddr,
    transport: Transport,
    query: &[u8],
    reply: &[u8],
    started: Instant,
) {
    if !cfg.query_log {
        return;
    }
    let Ok(q) = Message::from_vec(query) else {
        return;
    };
    let rcode = reply.get(3).map_or(0, |b| b & 0x0f);
    let question = q.queries.first();
    tracing::info!(
        target: "skydns::query",
        remote = %peer,
        id = q.metadata.id,
        qtype = %question.map(|q| q.query_type().to_string()).unwrap_or_default(),
        qclass = %question.map(|q| q.query_class().to_string()).unwrap_or_default(),
        name = %question.map(|q| q.name().to_string()).unwrap_or_default(),
        proto = if transport == Transport::Tcp { "tcp" } else { "udp" },
        dnssec_ok = q.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok),
        bufsize = q.edns.as_ref().map_or(512, hickory_proto::op::Edns::max_payload),
        rcode = %hickory_proto::op::ResponseCode::from(0, rcode),
        rsize = reply.len(),
        duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "query"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_may_recurse_with_nameservers() {
        let mut cfg = RuntimeConfig {
            nameservers: vec!["127.0.0.1:53".parse().unwrap()],
            ..RuntimeConfig::default()
        };
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(forwarding_allowed_for(lo, &cfg));
        cfg.no_rec = true;
        assert!(!forwarding_allowed_for(lo, &cfg));
    }
}
