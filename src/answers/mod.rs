//! Compiled answers: replies encoded once per snapshot and configuration and sent to every
//! asker with only its ID, flags, question case, size limit, address rotation and OPT record
//! applied. Pure: no sockets, the clock passed in.
//!
//! - [`question`]: the quick read of a query that a table look-up needs;
//! - [`compiled`]: encoding a reply within a size limit, signing only what is sent;
//! - [`reply`]: a compiled reply packed in one allocation, and reading it;
//! - [`render`]: one compiled reply made into the bytes for one asker;
//! - [`table`]: the bounded table of compiled replies of one snapshot and configuration.

pub mod compiled;
pub mod question;
pub mod render;
pub mod reply;
pub mod table;

use std::time::{Duration, Instant};

use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};

use crate::config::RuntimeConfig;
use crate::core::edns::size_limit;
use crate::core::{Reply, Request, Transport};
use crate::dnssec::sign::VALIDITY;
use crate::dnssec::Signer;
use compiled::{compile, CompileError, Options};
use render::Asker;
use reply::Compiled;

/// How long a compiled reply with signatures may be sent: signatures are made valid for a
/// week and are renewed once half of that is gone.
const SIGNED_REPLY_LIFE: Duration = Duration::from_secs(VALIDITY / 2);

/// The asker of a decoded query, its question written back in its own letter case.
pub fn asker_of<'a>(req: &Request, our_payload: u16, question: &'a mut Vec<u8>) -> Asker<'a> {
    question.clear();
    if let Some(query) = req.message.queries.first() {
        let mut encoder = BinEncoder::new(question);
        // A question that was decoded encodes again; if not, the reply has no question.
        let _ = query.emit(&mut encoder);
    }
    let md = &req.message.metadata;
    Asker {
        id: md.id,
        rd: md.recursion_desired,
        cd: md.checking_disabled,
        question,
        edns: req.edns().map(|e| e.flags().dnssec_ok),
        limit: size_limit(req, our_payload),
        cookie: None,
    }
}

/// Compiles the core's `reply` to `req` (asked in lowercase) for `asker`: signed when the
/// serving configuration has a key for our zone and the query asked for DNSSEC.
pub fn compile_reply(
    req: &Request,
    mut reply: Reply,
    cfg: &RuntimeConfig,
    signer: Option<&Signer>,
    asker: &Asker<'_>,
    now: Instant,
    now_unix: u64,
) -> Result<Compiled, CompileError> {
    let signer = signer.filter(|s| s.prepare(req, &mut reply, cfg));
    let valid_until = match signer {
        Some(_) => Some(
            reply
                .valid_until
                .map_or(now + SIGNED_REPLY_LIFE, |v| v.min(now + SIGNED_REPLY_LIFE)),
        ),
        None => reply.valid_until,
    };
    compile(
        &reply.message,
        &Options {
            signer,
            now_unix,
            body_limit: body_limit(&reply.message, asker),
            rotate: cfg.round_robin,
            cut_rrsets: req.transport == Transport::Tcp,
            valid_until,
            asked: Some(asker.question),
            rrsets: reply.rrsets.as_deref(),
        },
    )
}

/// A message (forwarded, or an error) made into the bytes for `asker`, without signing or
/// keeping it.
pub fn encode_message(
    message: &Message,
    asker: &Asker<'_>,
    our_payload: u16,
    out: &mut Vec<u8>,
) -> Result<(), CompileError> {
    let compiled = compile(
        message,
        &Options {
            signer: None,
            now_unix: 0,
            body_limit: body_limit(message, asker),
            rotate: false,
            cut_rrsets: false,
            valid_until: None,
            asked: None,
            rrsets: None,
        },
    )?;
    compiled.render(asker, our_payload, 0, out);
    Ok(())
}

/// The largest body for `asker` when `message` becomes the reply: its limit less the OPT
/// record (with the message's Extended DNS Error, if any, and the asker's cookie).
fn body_limit(message: &Message, asker: &Asker<'_>) -> usize {
    let ede = message.edns.as_ref().and_then(|edns| {
        match edns.option(EdnsCode::from(crate::core::ede::OPTION_CODE)) {
            Some(EdnsOption::Unknown(_, data)) => Some(data.as_slice()),
            _ => None,
        }
    });
    asker.limit.saturating_sub(render::opt_len(ede, asker))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hickory_proto::op::{Edns, Message, Query, ResponseCode};
    use hickory_proto::rr::{Name, Record, RecordType};

    use super::*;
    use crate::core::{Externals, Outcome, Snapshot};
    use crate::dnssec::{key, Signer};

    const NOW: u64 = 1_800_000_000;

    fn request(name: &str, qtype: RecordType, dnssec_ok: bool) -> Request {
        let mut m = Message::query();
        m.metadata.id = 0x4242;
        m.metadata.authentic_data = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        let mut edns = Edns::new();
        edns.set_dnssec_ok(dnssec_ok);
        edns.set_max_payload(4096);
        m.edns = Some(edns);
        Request::new(m, Transport::Udp, "127.0.0.1".parse().unwrap())
    }

    fn snapshot() -> Snapshot {
        let mut entries: Vec<(String, Vec<u8>, Option<Instant>)> = [
            (
                "/skydns/local/skydns/a/1",
                r#"{"host":"10.0.0.1","port":80}"#,
            ),
            (
                "/skydns/local/skydns/a/2",
                r#"{"host":"10.0.0.2","port":80}"#,
            ),
            (
                "/skydns/arpa/in-addr/10/0/0/1",
                r#"{"host":"a.skydns.local"}"#,
            ),
        ]
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec(), None))
        .into();
        for i in 0..20 {
            entries.push((
                format!("/skydns/local/skydns/big/{i}"),
                format!(r#"{{"host":"10.1.0.{i}","port":80}}"#).into_bytes(),
                None,
            ));
        }
        Snapshot::build("skydns", 1, entries).0
    }

    /// The reply skydns sends for `req`, signed with the test key when `signed`.
    fn answer(req: &Request, signed: bool) -> Message {
        let signer = signed.then(|| Signer::new(key::tests::ecdsa_key(), 100));
        answer_with(req, signer.as_ref())
    }

    fn answer_with(req: &Request, signer: Option<&Signer>) -> Message {
        let snap = snapshot();
        let cfg = RuntimeConfig::default();
        let lowered = req.lowercased();
        let now = Instant::now();
        let Outcome::Reply(reply) =
            crate::core::decide(&lowered, &snap, &cfg, &Externals::none(), now)
        else {
            panic!("not a reply")
        };
        let mut question = Vec::new();
        let asker = asker_of(req, cfg.edns_payload, &mut question);
        let compiled = compile_reply(&lowered, reply, &cfg, signer, &asker, now, NOW).unwrap();
        let mut out = Vec::new();
        assert!(compiled.render(&asker, cfg.edns_payload, 1, &mut out));
        assert!(out.len() <= asker.limit);
        Message::from_vec(&out).unwrap()
    }

    fn types(records: &[Record]) -> Vec<RecordType> {
        records.iter().map(Record::record_type).collect()
    }

    #[test]
    fn each_rrset_is_followed_by_its_rrsig_and_ad_is_clear() {
        let m = answer(&request("a.skydns.local.", RecordType::SRV, true), true);
        assert!(!m.metadata.authentic_data);
        assert_eq!(m.metadata.id, 0x4242);
        assert_eq!(
            types(&m.answers),
            vec![RecordType::SRV, RecordType::SRV, RecordType::RRSIG]
        );
        assert_eq!(
            types(&m.additionals),
            vec![
                RecordType::A,
                RecordType::RRSIG,
                RecordType::A,
                RecordType::RRSIG
            ]
        );
        assert!(m.edns.as_ref().is_some_and(|e| e.flags().dnssec_ok));
    }

    #[test]
    fn denials_get_nsec3_and_only_with_do() {
        let m = answer(&request("nothere.skydns.local.", RecordType::A, true), true);
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        let nsec3 = types(&m.authorities)
            .iter()
            .filter(|t| **t == RecordType::NSEC3)
            .count();
        assert_eq!(nsec3, 3);
        assert!(m.authorities.iter().all(|r| r.ttl == 60));
        let m = answer(
            &request("nothere.skydns.local.", RecordType::A, false),
            true,
        );
        assert_eq!(types(&m.authorities), vec![RecordType::SOA]);
    }

    #[test]
    fn dnskey_at_the_apex_is_answered_without_do_and_unsigned() {
        let m = answer(&request("SkyDNS.local.", RecordType::DNSKEY, false), true);
        assert_eq!(types(&m.answers), vec![RecordType::DNSKEY]);
        assert!(m.authorities.is_empty());
        let m = answer(&request("a.skydns.local.", RecordType::DNSKEY, true), true);
        assert!(m.answers.is_empty(), "DNSKEY only at the apex");
    }

    #[test]
    fn reverse_and_policy_replies_are_not_signed() {
        let m = answer(
            &request("1.0.0.10.in-addr.arpa.", RecordType::PTR, true),
            true,
        );
        assert_eq!(types(&m.answers), vec![RecordType::PTR]);
        let m = answer(&request("example.org.", RecordType::A, true), true);
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert!(m.answers.is_empty() && m.authorities.is_empty());
    }

    #[test]
    fn the_question_and_owners_keep_the_askers_case() {
        let m = answer(&request("A.SkyDNS.local.", RecordType::A, false), false);
        assert_eq!(m.queries[0].name().to_ascii(), "A.SkyDNS.local.");
        assert!(m
            .answers
            .iter()
            .all(|r| r.name.to_ascii() == "A.SkyDNS.local."));
        assert_eq!(m.answers.len(), 2);
    }

    #[test]
    fn a_big_signed_answer_is_signed_only_as_far_as_it_is_sent() {
        // 20 SRV records and 20 glue RRsets: the SRV RRset fits 1232 bytes with its RRSIG,
        // the glue does not all fit; only the glue RRsets sent carry (and cost) signatures.
        let signer = Arc::new(Signer::new(key::tests::ecdsa_key(), 100));
        let req = request("big.skydns.local.", RecordType::SRV, true);
        let m = answer_with(&req, Some(&signer));
        assert!(!m.metadata.truncation);
        assert_eq!(types(&m.answers).len(), 21);
        let glue = m.additionals.len();
        assert!(glue > 0 && glue < 40, "{glue} additional records");
        assert_eq!(glue % 2, 0, "every glue RRset with its RRSIG");
        assert_eq!(
            signer.cached_signatures(),
            1 + glue / 2,
            "signatures made: the SRV RRset's and the glue sent"
        );
        let mut udp = request("big.skydns.local.", RecordType::SRV, true);
        udp.message.edns.as_mut().unwrap().set_max_payload(512);
        let m = answer(&udp, true);
        assert!(m.metadata.truncation);
        assert!(m.answers.is_empty() && m.additionals.is_empty());
    }

    /// The table key of `name` (any case) and `qtype`, without DO.
    fn table_key(name: &str, qtype: RecordType) -> table::Key {
        use hickory_proto::serialize::binary::BinEncodable;
        let lowered = Name::from_ascii(name).unwrap().to_lowercase();
        table::Key {
            name: lowered.to_bytes().unwrap().into(),
            qtype: u16::from(qtype),
            qclass: 1,
            dnssec_ok: false,
            may_recurse: false,
        }
    }

    /// The reply `req` gets from `snap`, compiled (its asker's question left in `question`).
    fn compiled_reply(req: &Request, snap: &Snapshot, question: &mut Vec<u8>) -> Compiled {
        let cfg = RuntimeConfig::default();
        let lowered = req.lowercased();
        let now = Instant::now();
        let Outcome::Reply(reply) =
            crate::core::decide(&lowered, snap, &cfg, &Externals::none(), now)
        else {
            panic!("not a reply")
        };
        let asker = asker_of(req, cfg.edns_payload, question);
        compile_reply(&lowered, reply, &cfg, None, &asker, now, NOW).unwrap()
    }

    /// What `table` holds for `key`.
    fn held(table: &table::Table<()>, key: &table::Key) -> Option<Arc<Compiled>> {
        table.get(&table::KeyRef {
            name: &key.name,
            qtype: key.qtype,
            qclass: key.qclass,
            dnssec_ok: key.dnssec_ok,
            may_recurse: key.may_recurse,
        })
    }

    #[test]
    fn a_flood_of_one_off_names_leaves_the_names_asked_again_and_again() {
        let snap = Arc::new(snapshot());
        let table = table::Table::new(snap.clone(), Arc::new(()), 256 << 10);
        let keep = |name: &str| {
            let req = request(name, RecordType::A, false);
            let reply = compiled_reply(&req, &snap, &mut Vec::new());
            table.insert(table_key(name, RecordType::A), Arc::new(reply));
        };
        let popular: Vec<String> = (0..20).map(|i| format!("{i}.big.skydns.local.")).collect();
        for name in &popular {
            keep(name);
        }
        for _ in 0..3 {
            for name in &popular {
                assert!(held(&table, &table_key(name, RecordType::A)).is_some());
            }
        }
        // Ten times more one-off names than the table holds.
        for i in 0..15_000 {
            keep(&format!("x{i}.skydns.local."));
        }
        for name in &popular {
            let kept = held(&table, &table_key(name, RecordType::A));
            assert!(kept.is_some(), "{name} was pushed out by names asked once");
        }
    }

    #[test]
    fn replies_that_differ_only_in_the_question_are_shared_and_render_as_the_askers_own() {
        let snap = Arc::new(snapshot());
        let cfg = RuntimeConfig::default();
        let table = table::Table::new(snap.clone(), Arc::new(()), 1 << 20);
        // Names that do not exist (of two lengths, one below `dns`, whose SOA MNAME
        // `ns.dns.skydns.local` compresses into the question), one that exists, in two cases.
        let names = [
            "nothere.skydns.local.",
            "notthat.skydns.local.",
            "nope.skydns.local.",
            "abc.dns.skydns.local.",
            "xyz.dns.skydns.local.",
            "a.skydns.local.",
            "NoThere.SkyDNS.local.",
        ];
        let questions: Vec<(Request, table::Key)> = names
            .iter()
            .flat_map(|name| [RecordType::A, RecordType::AAAA, RecordType::SRV].map(|t| (name, t)))
            .map(|(name, qtype)| (request(name, qtype, false), table_key(name, qtype)))
            .collect();
        for (req, key) in &questions {
            let reply = compiled_reply(req, &snap, &mut Vec::new());
            table.insert(key.clone(), Arc::new(reply));
        }
        let held = |name: &str, qtype: RecordType| held(&table, &table_key(name, qtype)).unwrap();
        for (req, key) in &questions {
            let mut question = Vec::new();
            let own = compiled_reply(req, &snap, &mut question);
            let asker = asker_of(req, cfg.edns_payload, &mut question);
            let (mut expected, mut got) = (Vec::new(), Vec::new());
            assert!(own.render(&asker, cfg.edns_payload, 1, &mut expected));
            let kept = held(&req.message.queries[0].name().to_ascii(), req.qtype());
            assert!(kept.render(&asker, cfg.edns_payload, 1, &mut got));
            assert_eq!(got, expected, "{:?}", key.name);
        }
        let shared =
            |a: &str, b: &str| Arc::ptr_eq(&held(a, RecordType::A), &held(b, RecordType::A));
        assert!(shared("nothere.skydns.local.", "notthat.skydns.local."));
        assert!(Arc::ptr_eq(
            &held("nothere.skydns.local.", RecordType::A),
            &held("notthat.skydns.local.", RecordType::SRV)
        ));
        assert!(!shared("nothere.skydns.local.", "nope.skydns.local."));
        assert!(!shared("abc.dns.skydns.local.", "nothere.skydns.local."));
    }
}
