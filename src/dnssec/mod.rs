//! Online DNSSEC signing of authoritative replies. Pure: the time comes in as Unix seconds and
//! nothing here touches the network or the clock (the key files are read by [`load_signer`],
//! at start-up, on reloads and by check-config).
//!
//! What a signed reply gets (only `Source::Auth` replies; forwarded, reverse and policy replies
//! pass untouched):
//! - DNSKEY and NSEC3PARAM queries at the apex are answered (with or without DO);
//! - with DO: the NSEC3 white-lie proof of the core's [`Denial`], then an RRSIG after every
//!   in-zone RRset of every section, so truncation can keep or drop them together;
//! - AD is always clear. We are the authoritative signer, not a validator: RFC 4035 §3.2.3
//!   lets an authoritative server set AD only for data it considers authentic by local policy,
//!   and RFC 6840 §5.7/§5.8 make AD a statement about validation for the client. Like BIND,
//!   Knot and NSD as authoritative servers, we leave validation (and AD) to the resolver.

pub mod cache;
pub mod key;
pub mod nsec3;
pub mod sign;

use std::sync::Arc;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use crate::config::RuntimeConfig;
use crate::core::tidy::{equalize_ttls, group_rrsets};
use crate::core::{Denial, Reply, Request, Source};
use cache::{RrsetKey, SigCache};
pub use key::{KeyError, SignError, ZoneKey};
use sign::{sign_rrset, Window};

/// The zone key and its signature cache.
pub struct Signer {
    key: ZoneKey,
    /// The zone as text (`skydns.local.`), compared with the configured domain per reply.
    zone_text: String,
    cache: SigCache,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Loads the key named by `cfg.dnssec` for `cfg.domain` (`None` when signing is off). Call it
/// at start-up and again on every reload, then swap the result into the handler.
pub fn load_signer(cfg: &RuntimeConfig) -> Result<Option<Arc<Signer>>, KeyError> {
    let Some(basename) = &cfg.dnssec else {
        return Ok(None);
    };
    let key = ZoneKey::load(basename, &cfg.domain)?;
    Ok(Some(Arc::new(Signer::new(key, cfg.scache))))
}

impl Signer {
    /// A signer with `key` and a cache of at most `scache` signatures (0: no caching).
    pub fn new(key: ZoneKey, scache: usize) -> Signer {
        Signer {
            zone_text: key.zone.to_ascii(),
            key,
            cache: SigCache::new(scache),
        }
    }

    /// The zone key it signs with.
    pub fn key(&self) -> &ZoneKey {
        &self.key
    }

    /// The reply to send for `reply`, signed when it is ours and the query asked for DNSSEC.
    pub fn apply(
        &self,
        req: &Request,
        reply: Reply,
        cfg: &RuntimeConfig,
        now: u64,
    ) -> Result<Message, SignError> {
        let mut message = reply.message;
        // A key for another zone (the domain changed on reload without a new key) signs nothing.
        if reply.source != Source::Auth || !self.zone_is(&cfg.domain) {
            return Ok(message);
        }
        message.metadata.authentic_data = false;
        let mut denial = reply.denial;
        if self.answer_apex_type(req, &mut message, cfg) {
            denial = None;
        }
        if !req.dnssec_ok() {
            return Ok(message);
        }
        if let Some(denial) = denial {
            let ttl = cfg.negative_ttl();
            message
                .authorities
                .extend(self.denial_records(req, &denial, ttl));
        }
        let window = Window::at(now);
        message.answers = self.sign_section(std::mem::take(&mut message.answers), window, now)?;
        message.authorities =
            self.sign_section(std::mem::take(&mut message.authorities), window, now)?;
        message.additionals =
            self.sign_section(std::mem::take(&mut message.additionals), window, now)?;
        Ok(message)
    }

    fn zone_is(&self, domain: &str) -> bool {
        domain.eq_ignore_ascii_case(&self.zone_text)
    }

    /// DNSKEY and NSEC3PARAM at the apex: the core knows nothing of keys, so it answered NODATA;
    /// put the RRset in. Returns true when it did.
    fn answer_apex_type(&self, req: &Request, message: &mut Message, cfg: &RuntimeConfig) -> bool {
        let qname = req.qname();
        if *qname != self.key.zone || message.metadata.response_code != ResponseCode::NoError {
            return false;
        }
        let data = match req.qtype() {
            RecordType::DNSKEY => RData::DNSSEC(DNSSECRData::DNSKEY(self.key.dnskey.clone())),
            RecordType::NSEC3PARAM => RData::DNSSEC(DNSSECRData::NSEC3PARAM(nsec3::param())),
            _ => return false,
        };
        let mut record = Record::from_rdata(qname.clone(), cfg.ttl, data);
        record.dns_class = DNSClass::IN;
        message.answers = vec![record];
        message.authorities.clear();
        true
    }

    fn denial_records(&self, req: &Request, denial: &Denial, ttl: u32) -> Vec<Record> {
        let zone = &self.key.zone;
        match denial {
            Denial::NxDomain {
                closest_encloser,
                encloser_types,
            } => match Name::from_ascii(closest_encloser) {
                Ok(encloser) => nsec3::nxdomain(req.qname(), &encloser, encloser_types, zone, ttl),
                Err(_) => Vec::new(),
            },
            Denial::NoData { types } => nsec3::nodata(req.qname(), types, req.qtype(), zone, ttl),
        }
    }

    /// The records of one section with each in-zone RRset followed by its RRSIG. RRsets keep
    /// the order of their first record; each RRset gets one TTL (the smallest, RFC 2181 §5.2).
    fn sign_section(
        &self,
        records: Vec<Record>,
        window: Window,
        now: u64,
    ) -> Result<Vec<Record>, SignError> {
        let mut out = Vec::with_capacity(records.len() * 2);
        for mut rrset in group_rrsets(records) {
            let signable = rrset[0].record_type() != RecordType::RRSIG
                && self.key.zone.zone_of(&rrset[0].name);
            if signable {
                equalize_ttls(&mut rrset);
                let rrsig = self.rrsig(&rrset, window, now)?;
                out.extend(rrset);
                out.push(rrsig);
            } else {
                out.extend(rrset);
            }
        }
        Ok(out)
    }

    /// The RRSIG of `rrset`: a cached one whose original TTL covers the RRset's TTL (which
    /// counts down for leased records) with its TTL set to the RRset's, else a new signature.
    fn rrsig(&self, rrset: &[Record], window: Window, now: u64) -> Result<Record, SignError> {
        let key = self
            .cache
            .enabled()
            .then(|| RrsetKey::new(rrset, self.key.key_tag))
            .flatten();
        let ttl = rrset[0].ttl;
        let cached = key.as_ref().and_then(|k| self.cache.get(k, now));
        if let Some(mut rrsig) = cached.filter(|sig| original_ttl(sig) >= Some(ttl)) {
            // The cache key holds the owner lowercased: answer with the owner as asked.
            rrsig.name = rrset[0].name.clone();
            rrsig.ttl = ttl;
            return Ok(rrsig);
        }
        let rrsig = sign_rrset(&self.key, rrset, window)?;
        if let Some(key) = key {
            self.cache.put(key, rrsig.clone(), window);
        }
        Ok(rrsig)
    }
}

/// The original TTL field of an RRSIG record.
fn original_ttl(rrsig: &Record) -> Option<u32> {
    match &rrsig.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().original_ttl),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use hickory_proto::op::{Edns, Query};
    use rand::SeedableRng;

    use super::*;
    use crate::core::{Externals, Outcome, Snapshot, Transport};

    const NOW: u64 = 1_800_000_000;

    fn request(name: &str, qtype: RecordType, dnssec_ok: bool) -> Request {
        let mut m = Message::query();
        m.metadata.authentic_data = true;
        m.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        let mut edns = Edns::new();
        edns.set_dnssec_ok(dnssec_ok);
        m.edns = Some(edns);
        Request::new(m, Transport::Udp, "127.0.0.1".parse().unwrap())
    }

    fn reply(req: &Request) -> Reply {
        let entries = [
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
        .map(|(k, v)| (k.to_owned(), v.as_bytes().to_vec(), None));
        let (snap, _) = Snapshot::build("skydns", 1, entries);
        let cfg = RuntimeConfig::default();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        match crate::core::decide(
            req,
            &snap,
            &cfg,
            &Externals::none(),
            &mut rng,
            Instant::now(),
        ) {
            Outcome::Reply(r) => r,
            other => panic!("not a reply: {other:?}"),
        }
    }

    fn apply(req: &Request) -> Message {
        let signer = Signer::new(key::tests::ecdsa_key(), 100);
        signer
            .apply(req, reply(req), &RuntimeConfig::default(), NOW)
            .unwrap()
    }

    fn types(records: &[Record]) -> Vec<RecordType> {
        records.iter().map(Record::record_type).collect()
    }

    #[test]
    fn each_rrset_is_followed_by_its_rrsig_and_ad_is_clear() {
        let m = apply(&request("a.skydns.local.", RecordType::SRV, true));
        assert!(!m.metadata.authentic_data);
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
    }

    #[test]
    fn a_cached_signature_serves_lower_ttls_and_a_higher_ttl_is_signed_afresh() {
        let signer = Signer::new(key::tests::ecdsa_key(), 100);
        let window = Window::at(NOW);
        let a = |ttl| {
            let name = Name::from_ascii("a.skydns.local.").unwrap();
            Record::from_rdata(name, ttl, RData::A("10.0.0.1".parse().unwrap()))
        };
        let sign = |ttl| {
            let rrsig = signer.rrsig(&[a(ttl)], window, NOW).unwrap();
            let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &rrsig.data else {
                panic!("not an RRSIG")
            };
            (rrsig.ttl, sig.input().original_ttl, sig.sig().to_vec())
        };
        let (ttl, original, first) = sign(60);
        assert_eq!((ttl, original), (60, 60));
        let (ttl, original, again) = sign(55);
        assert_eq!((ttl, original), (55, 60));
        assert_eq!(again, first, "the cached signature");
        let (ttl, original, grown) = sign(70);
        assert_eq!((ttl, original), (70, 70));
        assert_ne!(grown, first, "a new signature for the larger TTL");
    }

    #[test]
    fn denials_get_nsec3_and_only_with_do() {
        let m = apply(&request("nothere.skydns.local.", RecordType::A, true));
        assert_eq!(m.metadata.response_code, ResponseCode::NXDomain);
        let nsec3 = types(&m.authorities)
            .iter()
            .filter(|t| **t == RecordType::NSEC3)
            .count();
        assert_eq!(nsec3, 3);
        assert!(m.authorities.iter().all(|r| r.ttl == 60));
        let m = apply(&request("nothere.skydns.local.", RecordType::A, false));
        assert_eq!(types(&m.authorities), vec![RecordType::SOA]);
    }

    #[test]
    fn dnskey_at_the_apex_is_answered_without_do_and_unsigned() {
        let m = apply(&request("SkyDNS.local.", RecordType::DNSKEY, false));
        assert_eq!(types(&m.answers), vec![RecordType::DNSKEY]);
        assert!(m.authorities.is_empty());
        let m = apply(&request("a.skydns.local.", RecordType::DNSKEY, true));
        assert!(m.answers.is_empty(), "DNSKEY only at the apex");
    }

    #[test]
    fn reverse_and_policy_replies_pass_untouched() {
        let m = apply(&request("1.0.0.10.in-addr.arpa.", RecordType::PTR, true));
        assert_eq!(types(&m.answers), vec![RecordType::PTR]);
        let m = apply(&request("example.org.", RecordType::A, true));
        assert_eq!(m.metadata.response_code, ResponseCode::Refused);
        assert!(m.answers.is_empty() && m.authorities.is_empty());
    }
}
