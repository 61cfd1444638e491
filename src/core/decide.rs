//! The order in which a query is handled, as in SkyDNS's `ServeDNS`: EDNS version, class,
//! stub zones, `local.dns.<domain>`, reverse names, forwarding of foreign names, then the
//! authoritative answers by type.

use std::time::Instant;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{CNAME, HINFO};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use super::answer::address::{addresses, Want};
use super::answer::{
    mx, name, negative, ns_soa, ptr, record, srv, stub, txt, wire_len, Ctx, MAX_LOOKUP_RESULTS,
    MAX_UDP_LOOKUP_RESULTS,
};
use super::ede::{self, ExtendedError};
use super::edns;
use super::outcome::{Externals, Outcome, Reply, RrsetLengths, Source};
use super::path::{in_zone, name_text, name_to_path, usable_suffix};
use super::request::{Request, Transport};
use super::service::Host;
use super::snapshot::Snapshot;
use super::tidy::tidy;
use crate::config::RuntimeConfig;

/// Decides what to do with one query.
pub fn decide(
    req: &Request,
    snap: &Snapshot,
    cfg: &RuntimeConfig,
    externals: &Externals,
    now: Instant,
) -> Outcome {
    let mut reply = new_reply(req, cfg);
    if edns::bad_version(req) {
        reply.metadata.response_code = ResponseCode::BADVERS;
        return policy(reply);
    }
    if req.message.signature.is_some() {
        // We share no TSIG keys with anyone: the key is unknown (RFC 8945 §5.2).
        reply.metadata.response_code = ResponseCode::NotAuth;
        return policy(reply);
    }
    if req.qclass() != DNSClass::IN {
        // CHAOS (version.bind, id.server ...) and the other classes are not disclosed.
        reply.metadata.response_code = ResponseCode::Refused;
        return policy(reply);
    }
    if matches!(req.qtype(), RecordType::AXFR | RecordType::IXFR) {
        reply.metadata.response_code = match req.transport {
            Transport::Tcp => ResponseCode::Refused,
            Transport::Udp => ResponseCode::NotImp,
        };
        return policy(reply);
    }
    let max_results = match req.transport {
        Transport::Udp => MAX_UDP_LOOKUP_RESULTS,
        Transport::Tcp => MAX_LOOKUP_RESULTS,
    };
    // What the header and the question take of the reply.
    let question = 12 + wire_len(req.qname()) + 4;
    let room = edns::size_limit(req, cfg.edns_payload).saturating_sub(question);
    let mut ctx = Ctx::new(snap, cfg, externals, now)
        .with_max_results(max_results)
        .with_room(room);
    let Some(qname) = name_text(req.qname()) else {
        // A label no key can hold: foreign names are forwarded, ours do not exist. The proof
        // of that starts from the labels to its right, which may well exist.
        let usable = usable_suffix(req.qname());
        if in_zone(&usable, &cfg.domain) {
            return nxdomain_below(&ctx, req, reply, &usable);
        }
        return forward_or_refuse(req, cfg, reply);
    };
    if cfg.stubzones {
        if let Some(servers) = stub::servers_for(&ctx, &qname) {
            return if stub::looped(req) {
                Outcome::Drop
            } else if cfg.forward_allow.allows(req.client) {
                Outcome::Stub { servers }
            } else {
                // Stub forwarding is forwarding: only for clients the ACL allows (RFC 5358).
                refused(reply, ExtendedError::Prohibited)
            };
        }
    }
    let lookup = match &cfg.local {
        Some(local) if qname == cfg.local_name() => local.clone(),
        _ => qname.clone(),
    };
    if req.qtype() == RecordType::PTR && ptr::is_reverse(&qname) {
        return match ptr::answer(&ctx, &qname, req.qname()) {
            Some(record) => {
                reply.metadata.recursion_available = forwarding_allowed(req, cfg);
                reply.answers.push(record);
                Outcome::Reply(Reply::new(reply, Source::Reverse, None))
            }
            None => forward_or_refuse(req, cfg, reply),
        };
    }
    if !in_zone(&qname, &cfg.domain) {
        return forward_or_refuse(req, cfg, reply);
    }
    reply.metadata.authoritative = true;
    reply.metadata.recursion_available = forwarding_allowed(req, cfg);
    let mut outcome = authoritative(&mut ctx, req, &qname, &lookup, reply);
    if ctx.needs.is_empty() {
        if let Outcome::Reply(reply) = &mut outcome {
            reply.valid_until = ctx.valid_until();
            reply.upstream_data = externals.holds_results();
        }
        outcome
    } else {
        ctx.needs
            .sort_by(|a, b| (&a.name, u16::from(a.qtype)).cmp(&(&b.name, u16::from(b.qtype))));
        ctx.needs.dedup();
        Outcome::NeedExternal(ctx.needs)
    }
}

/// The answers of our own zone.
fn authoritative(
    ctx: &mut Ctx<'_>,
    req: &Request,
    qname: &str,
    lookup: &str,
    mut reply: Message,
) -> Outcome {
    let owner = req.qname().clone();
    let apex = *qname == ctx.cfg.domain;
    let found: Option<(Vec<Record>, Vec<Record>)> = match req.qtype() {
        RecordType::SOA if apex => Some((
            ns_soa::soa(ctx, &owner, ctx.cfg.ttl).into_iter().collect(),
            Vec::new(),
        )),
        RecordType::NS if apex => Some(ns_soa::ns(ctx, &owner)),
        RecordType::A => addresses(ctx, lookup, &owner, Want::A).map(|a| (a, Vec::new())),
        RecordType::AAAA => addresses(ctx, lookup, &owner, Want::Aaaa).map(|a| (a, Vec::new())),
        RecordType::SRV => srv::answer(ctx, lookup, &owner),
        RecordType::MX => mx::answer(ctx, lookup, &owner),
        RecordType::TXT => txt::answer(ctx, lookup, &owner).map(|a| (a, Vec::new())),
        RecordType::CNAME => cname(ctx, lookup, &owner),
        RecordType::ANY => ctx
            .exists(lookup)
            .then(|| (vec![rfc8482(ctx, &owner)], Vec::new())),
        _ => ctx.exists(lookup).then(|| (Vec::new(), Vec::new())),
    };
    // The apex always exists, with or without data.
    let found = found.or_else(|| apex.then(|| (Vec::new(), Vec::new())));
    let Some((mut answers, mut additional)) = found else {
        return nxdomain(ctx, req, reply, qname);
    };
    if answers.is_empty() {
        reply.authorities = negative::authority(ctx);
        return Outcome::Reply(Reply::new(
            reply,
            Source::Auth,
            req.dnssec_ok().then(|| negative::nodata(ctx, lookup, apex)),
        ));
    }
    let rrsets = RrsetLengths {
        answers: tidy(&mut answers),
        additionals: tidy(&mut additional),
    };
    reply.answers = answers;
    reply.additionals = additional;
    let mut reply = Reply::new(reply, Source::Auth, None);
    reply.rrsets = Some(Box::new(rrsets));
    Outcome::Reply(reply)
}

/// CNAME queries: the service stored exactly at the name, when its host is a name.
fn cname(ctx: &Ctx<'_>, lookup: &str, owner: &Name) -> Option<(Vec<Record>, Vec<Record>)> {
    if !ctx.exists(lookup) {
        return None;
    }
    let answer =
        ctx.snap
            .exact(&name_to_path(lookup))
            .and_then(|entry| match &entry.service.host {
                Host::Name(target) => Some(record(
                    owner,
                    ctx.ttl(entry)?,
                    RData::CNAME(CNAME(name(target)?)),
                )),
                _ => None,
            });
    Some((answer.into_iter().collect(), Vec::new()))
}

/// The RFC 8482 answer to ANY: one synthesized HINFO.
fn rfc8482(ctx: &Ctx<'_>, owner: &Name) -> Record {
    let hinfo = HINFO::new("RFC8482".to_owned(), String::new());
    record(owner, ctx.cfg.ttl, RData::HINFO(hinfo))
}

/// NXDOMAIN with the SOA; the denial proof is worked out only for DNSSEC-aware queries.
fn nxdomain(ctx: &Ctx<'_>, req: &Request, mut reply: Message, qname: &str) -> Outcome {
    reply.metadata.response_code = ResponseCode::NXDomain;
    reply.metadata.authoritative = true;
    reply.authorities = negative::authority(ctx);
    Outcome::Reply(Reply::new(
        reply,
        Source::Auth,
        req.dnssec_ok().then(|| negative::nxdomain(ctx, qname)),
    ))
}

/// NXDOMAIN for a name that cannot exist below `usable` (lowercase text: the longest suffix of
/// the name whose labels a key can hold); its closest encloser is `usable` itself when that
/// exists.
fn nxdomain_below(ctx: &Ctx<'_>, req: &Request, mut reply: Message, usable: &str) -> Outcome {
    reply.metadata.response_code = ResponseCode::NXDomain;
    reply.metadata.authoritative = true;
    reply.authorities = negative::authority(ctx);
    let denial = req
        .dnssec_ok()
        .then(|| negative::nxdomain_from(ctx, usable));
    Outcome::Reply(Reply::new(reply, Source::Auth, denial))
}

/// May this client's foreign names be forwarded at all?
pub fn forwarding_allowed(req: &Request, cfg: &RuntimeConfig) -> bool {
    forwarding_allowed_for(req.client, cfg)
}

/// May a client at `client` have foreign names forwarded at all?
pub fn forwarding_allowed_for(client: std::net::IpAddr, cfg: &RuntimeConfig) -> bool {
    !cfg.no_rec && !cfg.nameservers.is_empty() && cfg.forward_allow.allows(client)
}

/// Foreign names: forwarded when policy allows, REFUSED (RA=0) otherwise (RFC 5358), with the
/// reason as an extended error.
fn forward_or_refuse(req: &Request, cfg: &RuntimeConfig, mut reply: Message) -> Outcome {
    let labels = req.qname().num_labels() as usize;
    let why = if cfg.no_rec || cfg.nameservers.is_empty() || labels < cfg.ndots {
        ExtendedError::NotAuthoritative
    } else if !cfg.forward_allow.allows(req.client) {
        ExtendedError::Prohibited
    } else {
        return Outcome::Forward;
    };
    reply.metadata.recursion_available = false;
    refused(reply, why)
}

fn refused(mut reply: Message, why: ExtendedError) -> Outcome {
    reply.metadata.response_code = ResponseCode::Refused;
    ede::attach(&mut reply, why);
    policy(reply)
}

fn policy(reply: Message) -> Outcome {
    Outcome::Reply(Reply::new(reply, Source::Policy, None))
}

/// An empty reply to `req`: ID, opcode, RD and CD copied, the question echoed as sent, and an
/// OPT record when the query had one.
pub fn new_reply(req: &Request, cfg: &RuntimeConfig) -> Message {
    let query = &req.message;
    let mut reply = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.checking_disabled = query.metadata.checking_disabled;
    reply.queries = query.queries.clone();
    reply.edns = edns::reply_opt(req, cfg.edns_payload);
    reply
}

/// A SERVFAIL reply to `req` (upstreams failed, no data yet), with the reason as an extended
/// error when there is one to give.
pub fn servfail(req: &Request, cfg: &RuntimeConfig, why: Option<ExtendedError>) -> Message {
    let mut reply = new_reply(req, cfg);
    reply.metadata.response_code = ResponseCode::ServFail;
    reply.metadata.recursion_available = forwarding_allowed(req, cfg);
    if let Some(why) = why {
        ede::attach(&mut reply, why);
    }
    reply
}
