//! `handler`: the whole query path, bytes in and bytes out, on a fixed snapshot of a few
//! services, without upstreams (`no_rec`, no nameservers, no stub zones: nothing can be
//! forwarded).
//!
//! The query's ID picks the variant, so the corpus holds plain DNS messages and the fuzzer
//! steers the variant by mutating two bytes: bit 0 TCP instead of UDP, bits 1–2 the DNSSEC key
//! (none, ECDSAP256SHA256, ED25519, RSASHA256; the key pairs of `corpus/bind_key/`), bit 3 a
//! client outside `forward_allow`.
//!
//! Rules: never a panic; no reply to what is shorter than a header or has QR=1, a reply to
//! everything else; every reply decodes with hickory, is a response and carries the query's ID;
//! a UDP reply fits 512 bytes without EDNS and the client's size (at least 512, at most our
//! 1232) with it, a TCP reply 65535; a reply with a question has the one sent, letter case
//! included; and a query is answered at once, without waiting on anything (which is what
//! forwarding would do).

use std::net::SocketAddr;
use std::sync::OnceLock;

use hickory_proto::op::Message;

use super::wire_decode::{must_drop, parse_reply};

/// Our advertised EDNS payload (the default `edns_payload`).
const OUR_PAYLOAD: usize = 1232;
const PLAIN_UDP_LIMIT: usize = 512;
const TCP_LIMIT: usize = 65_535;

/// How one input is asked.
struct Variant {
    tcp: bool,
    /// Index into [`engine::KEYS`], or none.
    key: Option<usize>,
    peer: SocketAddr,
}

impl Variant {
    fn of(query: &[u8]) -> Variant {
        let id = match query {
            [a, b, ..] => u16::from_be_bytes([*a, *b]),
            _ => 0,
        };
        let key = usize::from((id >> 1) & 3);
        let peer = if id & 8 == 0 {
            "127.0.0.1:40000"
        } else {
            "192.0.2.1:40000"
        };
        Variant {
            tcp: id & 1 != 0,
            key: key.checked_sub(1),
            peer: peer.parse().expect("a socket address"),
        }
    }
}

pub fn run(data: &[u8]) {
    static ENGINE: OnceLock<engine::Engine> = OnceLock::new();
    let engine = ENGINE.get_or_init(engine::build);
    let variant = Variant::of(data);
    let reply = engine::answer(engine, data, &variant);
    let Some(reply) = reply else {
        assert!(must_drop(data), "no reply to a query");
        return;
    };
    assert!(!must_drop(data), "a reply to a short message or a response");
    let message = parse_reply(data, &reply);
    let limit = if variant.tcp {
        TCP_LIMIT
    } else {
        udp_limit(data)
    };
    assert!(
        reply.len() <= limit,
        "a reply of {} bytes over {}, limit {limit}: {message:?}",
        reply.len(),
        if variant.tcp { "TCP" } else { "UDP" },
    );
    if let Some(asked) = message.queries.first() {
        let query = Message::from_vec(data).expect("a query whose question is echoed decodes");
        let sent = query.queries.first().expect("an echoed question was sent");
        assert_eq!(message.queries.len(), 1, "more than one question echoed");
        assert_eq!(
            (
                asked.name().to_ascii(),
                asked.query_type(),
                asked.query_class()
            ),
            (
                sent.name().to_ascii(),
                sent.query_type(),
                sent.query_class()
            ),
            "the question is not echoed as sent"
        );
    }
}

/// What a UDP reply may take: 512 bytes without EDNS, else the client's size within 512..=1232.
fn udp_limit(query: &[u8]) -> usize {
    match Message::from_vec(query).ok().and_then(|m| m.edns) {
        Some(edns) => usize::from(edns.max_payload()).clamp(PLAIN_UDP_LIMIT, OUR_PAYLOAD),
        None => PLAIN_UDP_LIMIT,
    }
}

/// Everything this target knows of skydns' internals: building the query path and putting one
/// message through it. The answering engine is being rewritten; re-point these two functions
/// and the rest of the target stays as it is.
mod engine {
    use std::path::Path;
    use std::sync::Arc;

    use arc_swap::ArcSwap;
    use futures_util::FutureExt;
    use skydns::config::RuntimeConfig;
    use skydns::core::{Snapshot, Transport};
    use skydns::dnssec::{Signer, ZoneKey};
    use skydns::metrics::Metrics;
    use skydns::net::serving::Serving;
    use skydns::net::Handler;
    use skydns::store::StoreState;

    use super::super::bind_key;
    use super::Variant;

    /// The key pairs the variants sign with (`dnssec-keygen` output in the bind_key corpus).
    pub const KEYS: [&[u8]; 3] = [
        include_bytes!("../corpus/bind_key/alg13-zsk"),
        include_bytes!("../corpus/bind_key/alg15-zsk"),
        include_bytes!("../corpus/bind_key/alg8-zsk"),
    ];

    /// The services of the snapshot: every record type, a CNAME to a foreign name (which
    /// cannot be looked up here), a CNAME loop, groups, a PTR, NS data, and sets too big for
    /// 512 and for 1232 bytes.
    const SERVICES: &[(&str, &str)] = &[
        ("web/1", r#"{"host":"10.0.0.1","port":80}"#),
        (
            "web/2",
            r#"{"host":"2001:db8::1","port":80,"priority":20,"weight":5}"#,
        ),
        (
            "east/production/rails/1",
            r#"{"host":"10.0.1.1","port":8080,"ttl":30}"#,
        ),
        (
            "east/staging/rails/2",
            r#"{"host":"web.skydns.local","port":8080}"#,
        ),
        ("alias/www", r#"{"host":"www.example.org"}"#),
        ("loop/a", r#"{"host":"b.loop.skydns.local"}"#),
        ("loop/b", r#"{"host":"a.loop.skydns.local"}"#),
        (
            "mail/mx1",
            r#"{"host":"10.0.3.1","mail":true,"priority":5}"#,
        ),
        ("txt/motd", r#"{"text":"hello from skydns"}"#),
        ("g/a", r#"{"host":"10.0.5.1","group":"one"}"#),
        ("g/b", r#"{"host":"10.0.5.2","group":"two"}"#),
        ("ts/x", r#"{"host":"10.0.4.1","port":9,"targetstrip":1}"#),
        ("dns/ns/ns1", r#"{"host":"127.0.0.1"}"#),
    ];

    pub struct Engine {
        runtime: tokio::runtime::Runtime,
        /// One handler per variant key: unsigned first, then one per entry of [`KEYS`].
        handlers: Vec<Handler>,
    }

    pub fn build() -> Engine {
        let mut items: Vec<(String, Vec<u8>, _)> = SERVICES
            .iter()
            .map(|(path, json)| {
                (
                    format!("/skydns/local/skydns/{path}"),
                    json.as_bytes().to_vec(),
                    None,
                )
            })
            .collect();
        items.push((
            "/skydns/arpa/in-addr/10/0/0/1".into(),
            br#"{"host":"web.skydns.local"}"#.to_vec(),
            None,
        ));
        for i in 0..40 {
            let text = format!(r#"{{"text":"{i:02}{}"}}"#, "y".repeat(100));
            items.push((
                format!("/skydns/local/skydns/big/t{i}"),
                text.into_bytes(),
                None,
            ));
            let host = format!(r#"{{"host":"10.9.0.{i}","port":{i}}}"#);
            items.push((
                format!("/skydns/local/skydns/many/a{i}"),
                host.into_bytes(),
                None,
            ));
        }
        let (snapshot, rejected) = Snapshot::build("skydns", 1, items);
        assert!(rejected.is_empty(), "fixed services rejected: {rejected:?}");
        let store = StoreState::new();
        store.publish(snapshot, None, &[]);
        let config = RuntimeConfig {
            no_rec: true,
            nameservers: Vec::new(),
            stubzones: false,
            local: Some("web.skydns.local.".into()),
            ..RuntimeConfig::default()
        };
        let signer = |key: &[u8]| {
            let (public, private) = bind_key::split(key);
            let key = ZoneKey::parse(
                &public,
                &private,
                bind_key::ZONE,
                Path::new("k"),
                Path::new("p"),
            )
            .expect("the checked-in key pairs load");
            Arc::new(Signer::new(key, 1000))
        };
        // Counted as the daemon counts by default: every input goes through the metrics too.
        let metrics = Arc::new(Metrics::default());
        let handlers = std::iter::once(None)
            .chain(KEYS.iter().map(|key| Some(signer(key))))
            .map(|signer| {
                let serving = Serving::new(config.clone(), signer, None);
                let serving = Arc::new(ArcSwap::from_pointee(serving));
                Handler::new(store.clone(), serving, Some(metrics.clone()))
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a tokio runtime");
        Engine { runtime, handlers }
    }

    /// The reply to `query` asked as `variant`. Without upstreams nothing may wait: the answer
    /// must be ready at the first poll, else the handler tried to forward or look something up.
    pub fn answer(engine: &Engine, query: &[u8], variant: &Variant) -> Option<Vec<u8>> {
        let transport = if variant.tcp {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        let handler = &engine.handlers[variant.key.map_or(0, |k| k + 1)];
        engine.runtime.block_on(async {
            handler
                .handle(query, transport, variant.peer)
                .now_or_never()
                .expect("the handler waited on something: a query went upstream")
        })
    }
}
