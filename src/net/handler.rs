//! One query from bytes to bytes: decode, read the current snapshot and config (lock-free),
//! ask the core, carry out what it asks for, fit the reply to the transport and encode it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hickory_proto::op::Message;

use crate::core::decide::servfail;
use crate::core::ede::ExtendedError;
use crate::core::edns::{encode_fitted, size_limit};
use crate::core::wire::{decode, Decoded};
use crate::core::{Externals, Outcome, Reply, Request, Transport};
use crate::net::forward::{Forwarder, Target};
use crate::net::serving::{Serving, ServingCell};
use crate::store::StoreState;

/// Shared by every server task.
pub struct Handler {
    /// The data.
    pub store: Arc<StoreState>,
    /// The configuration and signer, swapped as one by reloads.
    pub serving: Arc<ServingCell>,
    forwarder: Forwarder,
}

impl Handler {
    /// A handler answering from `store` with the configuration in `serving`.
    pub fn new(store: Arc<StoreState>, serving: Arc<ServingCell>) -> Self {
        Handler {
            store,
            serving,
            forwarder: Forwarder::default(),
        }
    }

    /// The reply to one received message, or `None` when nothing must be sent.
    pub async fn handle(
        &self,
        bytes: &[u8],
        transport: Transport,
        peer: SocketAddr,
    ) -> Option<Vec<u8>> {
        let message = match decode(bytes) {
            Decoded::Query(message) => message,
            Decoded::Error(reply) => return Some(reply),
            Decoded::Drop => return None,
        };
        let req = Request::new(*message, transport, peer.ip());
        let serving = self.serving.load_full();
        let cfg = &serving.cfg;
        let started = Instant::now();
        let reply = self.answer(&req, &serving).await?;
        let limit = size_limit(&req, cfg.edns_payload);
        let rcode = reply.metadata.response_code;
        let bytes = encode_fitted(reply, limit);
        if cfg.query_log {
            log_query(&req, peer, rcode, bytes.len(), started);
        }
        Some(bytes)
    }

    async fn answer(&self, req: &Request, serving: &Serving) -> Option<Message> {
        let cfg = &serving.cfg;
        if !self.store.is_loaded() {
            return Some(servfail(req, cfg, Some(ExtendedError::NotReady)));
        }
        let snap = self.store.snapshot();
        // Without upstreams no look-up can succeed: say so at once instead of a second pass.
        let first_externals = if cfg.no_rec || cfg.nameservers.is_empty() {
            Externals::none()
        } else {
            Externals::default()
        };
        let first = crate::core::decide(
            req,
            &snap,
            cfg,
            &first_externals,
            &mut rand::rng(),
            Instant::now(),
        );
        let outcome = match first {
            Outcome::NeedExternal(needs) => {
                let externals = self.forwarder.lookups(cfg, &needs).await;
                crate::core::decide(
                    req,
                    &snap,
                    cfg,
                    &externals,
                    &mut rand::rng(),
                    Instant::now(),
                )
            }
            other => other,
        };
        match outcome {
            Outcome::Reply(reply) => Some(sign(req, serving, reply)),
            Outcome::Drop => {
                tracing::debug!(name = %req.qname(), client = %req.client, "dropping a query that already passed a stub forwarder (stub-zone loop)");
                None
            }
            Outcome::Forward => Some(self.forwarder.relay(req, cfg, Target::Nameservers).await),
            Outcome::Stub { servers } => {
                Some(self.forwarder.relay(req, cfg, Target::Stub(servers)).await)
            }
            // The second pass has every look-up result: it cannot ask again.
            Outcome::NeedExternal(_) => Some(servfail(req, cfg, None)),
        }
    }
}

/// Signs an authoritative reply when a key is loaded; a signing failure gives SERVFAIL.
fn sign(req: &Request, serving: &Serving, reply: Reply) -> Message {
    let cfg = &serving.cfg;
    let Some(signer) = &serving.signer else {
        return reply.message;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    signer.apply(req, reply, cfg, now).unwrap_or_else(|e| {
        tracing::error!(name = %req.qname(), "{e}");
        servfail(req, cfg, None)
    })
}

fn log_query(
    req: &Request,
    peer: SocketAddr,
    rcode: hickory_proto::op::ResponseCode,
    size: usize,
    started: Instant,
) {
    tracing::info!(
        target: "skydns::query",
        remote = %peer,
        id = req.message.metadata.id,
        qtype = %req.qtype(),
        qclass = %req.qclass(),
        name = %req.qname(),
        proto = if req.transport == Transport::Tcp { "tcp" } else { "udp" },
        dnssec_ok = req.dnssec_ok(),
        bufsize = req.edns().map(hickory_proto::op::Edns::max_payload).unwrap_or(512),
        rcode = %rcode,
        rsize = size,
        duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
        "query"
    );
}
