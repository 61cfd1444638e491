//! The seed corpus, made by code so it can be read and made again: real queries built with
//! hickory, the malformed cases of reliability.md §3.2 made by hand, service values good and
//! hostile, and broken variants of the `dnssec-keygen` key pairs checked into
//! `corpus/bind_key/alg*-zsk|ksk` (those are made by `dnssec-keygen` itself; see
//! `fuzz/README.md`).
//!
//! `cargo test --test fuzz_corpus_replay -- --ignored write_seed_corpus` writes every seed into
//! `fuzz/corpus/<target>/` (files named `seed-*`; other files there are kept).

use std::io;
use std::path::Path;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::{DNSClass, Name, RecordType};

/// One seed: a file name (without the `seed-` prefix) and its bytes.
type Seed = (String, Vec<u8>);

/// Writes the seeds of every target under `corpus` (the `fuzz/corpus` directory).
pub fn write(corpus: &Path) -> io::Result<()> {
    let messages = messages();
    let handler = messages.iter().enumerate().flat_map(|(n, (name, bytes))| {
        // Valid queries in four variants (see `handler`), broken ones in one.
        let variants: &[u16] = if name.starts_with("bad-") {
            &[0]
        } else {
            &[0b0000, 0b0011, 0b0100, 0b1110]
        };
        variants.iter().map(move |&v| {
            let id = (u16::try_from(n).expect("fewer than 4096 seeds") << 4) | v;
            let mut bytes = bytes.clone();
            if bytes.len() >= 2 {
                bytes[..2].copy_from_slice(&id.to_be_bytes());
            }
            (format!("{name}-v{v}"), bytes)
        })
    });
    let targets: [(&str, Vec<Seed>); 4] = [
        ("wire_decode", messages.clone()),
        ("handler", handler.collect()),
        ("service_json", services()),
        (
            "bind_key",
            keys(
                &corpus.join("bind_key"),
                &corpus.join("../../tests/data/dnssec"),
            )?,
        ),
    ];
    for (target, seeds) in targets {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir)?;
        for (name, bytes) in seeds {
            std::fs::write(dir.join(format!("seed-{name}")), bytes)?;
        }
    }
    Ok(())
}

/// How a query carries EDNS.
#[derive(Clone, Copy)]
enum Style {
    Plain,
    Edns(u16),
    Dnssec(u16),
    Cookie,
}

fn query(name: &str, qtype: RecordType, style: Style) -> Vec<u8> {
    let mut m = Message::query();
    // Message::query draws a random ID; seeds are the same on every run.
    m.metadata.id = 0;
    m.metadata.recursion_desired = true;
    let mut q = Query::query(Name::from_ascii(name).expect("a seed name"), qtype);
    q.set_query_class(DNSClass::IN);
    m.add_query(q);
    let mut edns = Edns::new();
    match style {
        Style::Plain => return m.to_vec().expect("a seed encodes"),
        Style::Edns(size) => {
            edns.set_max_payload(size);
        }
        Style::Dnssec(size) => {
            edns.set_max_payload(size);
            edns.set_dnssec_ok(true);
        }
        Style::Cookie => {
            edns.set_max_payload(1232);
            edns.options_mut()
                .insert(EdnsOption::Unknown(u16::from(EdnsCode::Cookie), vec![7; 8]));
        }
    }
    m.edns = Some(edns);
    m.to_vec().expect("a seed encodes")
}

/// Real queries, then the malformed cases.
fn messages() -> Vec<Seed> {
    use RecordType as T;
    let questions = [
        ("web.skydns.local.", T::A),
        ("web.skydns.local.", T::AAAA),
        ("web.skydns.local.", T::SRV),
        ("WeB.SkYdNs.LoCaL.", T::A),
        ("east.skydns.local.", T::SRV),
        ("1.rails.production.east.skydns.local.", T::A),
        ("rails.*.skydns.local.", T::SRV),
        ("*.skydns.local.", T::A),
        ("2.rails.staging.east.skydns.local.", T::CNAME),
        ("www.alias.skydns.local.", T::A),
        ("a.loop.skydns.local.", T::A),
        ("mail.skydns.local.", T::MX),
        ("motd.txt.skydns.local.", T::TXT),
        ("g.skydns.local.", T::SRV),
        ("x.ts.skydns.local.", T::SRV),
        ("big.skydns.local.", T::TXT),
        ("many.skydns.local.", T::SRV),
        ("many.skydns.local.", T::A),
        ("skydns.local.", T::NS),
        ("skydns.local.", T::SOA),
        ("skydns.local.", T::DNSKEY),
        ("skydns.local.", T::NSEC3PARAM),
        ("skydns.local.", T::ANY),
        ("local.dns.skydns.local.", T::A),
        ("nothere.skydns.local.", T::A),
        ("web.skydns.local.", T::RRSIG),
        ("web.skydns.local.", T::Unknown(666)),
        ("1.0.0.10.in-addr.arpa.", T::PTR),
        ("2.0.0.10.in-addr.arpa.", T::PTR),
        ("www.example.org.", T::A),
        ("org.", T::NS),
        ("skydns.local.", T::AXFR),
        ("skydns.local.", T::IXFR),
    ];
    let styles = [
        ("plain", Style::Plain),
        ("edns", Style::Edns(1232)),
        ("do", Style::Dnssec(4096)),
        ("do512", Style::Dnssec(512)),
        ("bufsize0", Style::Edns(0)),
        ("cookie", Style::Cookie),
    ];
    let mut seeds = Vec::new();
    for (n, (name, qtype)) in questions.into_iter().enumerate() {
        // Each question in two styles, taking turns through them.
        for (style_name, style) in [styles[n % styles.len()], styles[(n + 2) % styles.len()]] {
            let file = format!("q-{}-{qtype}-{style_name}", name.trim_end_matches('.'));
            seeds.push((file.replace('*', "star"), query(name, qtype, style)));
        }
    }
    seeds.extend(
        malformed()
            .into_iter()
            .map(|(what, bytes)| (format!("bad-{what}"), bytes)),
    );
    seeds
}

/// The length of a seed's part as a 16-bit wire field.
fn len16(part: &[u8]) -> [u8; 2] {
    u16::try_from(part.len())
        .expect("a seed part under 64 KiB")
        .to_be_bytes()
}

/// A name in wire form, uncompressed.
fn wire_name(labels: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for label in labels {
        out.push(u8::try_from(label.len()).expect("a label of at most 255 bytes"));
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// A message from a header (flags, counts) and the bytes after it.
fn raw(flags: u16, counts: [u16; 4], body: &[&[u8]]) -> Vec<u8> {
    let mut out = vec![0x12, 0x34];
    out.extend_from_slice(&flags.to_be_bytes());
    for count in counts {
        out.extend_from_slice(&count.to_be_bytes());
    }
    body.iter().for_each(|part| out.extend_from_slice(part));
    out
}

/// An OPT record: owner, payload, version, options.
fn opt(owner: &[u8], payload: u16, version: u8, options: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, version, 0, 0]);
    out.extend_from_slice(&len16(options));
    out.extend_from_slice(options);
    out
}

/// The malformed cases of reliability.md §3.2.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    const RD: u16 = 0x0100;
    let web = wire_name(&[b"web", b"skydns", b"local"]);
    let a_in: &[u8] = &[0, 1, 0, 1];
    let good = raw(RD, [1, 0, 0, 0], &[&web, a_in]);
    let root_opt = opt(&[0], 1232, 0, &[]);
    let long_label = wire_name(&[&[b'a'; 64], b"local"]);
    let long_name = wire_name(&[&[b'b'; 63], &[b'b'; 63], &[b'b'; 63], &[b'b'; 63], b"x"]);
    let mut tsig = wire_name(&[b"unknown", b"key"]);
    let mut tsig_rdata = wire_name(&[b"hmac-sha256"]);
    tsig_rdata.extend_from_slice(&[0, 0, 0x6a, 0, 0, 0, 1, 44, 0, 32]);
    tsig_rdata.extend_from_slice(&[7; 32]);
    tsig_rdata.extend_from_slice(&[0x12, 0x34, 0, 0, 0, 0]);
    tsig.extend_from_slice(&[0, 250, 0, 255, 0, 0, 0, 0]);
    tsig.extend_from_slice(&len16(&tsig_rdata));
    tsig.extend_from_slice(&tsig_rdata);
    let with_flags = |flags: u16, qtype: &[u8]| raw(flags, [1, 0, 0, 0], &[&web, qtype]);
    vec![
        ("empty", Vec::new()),
        ("5-byte-header", good[..5].to_vec()),
        ("11-bytes", good[..11].to_vec()),
        ("qr-set", with_flags(RD | 0x8000, a_in)),
        ("qdcount-0", raw(RD, [0, 0, 0, 0], &[])),
        (
            "qdcount-2",
            raw(RD, [2, 0, 0, 0], &[&web, a_in, &web, &[0, 28, 0, 1]]),
        ),
        ("missing-question", raw(RD, [1, 0, 0, 0], &[])),
        ("truncated-qname", raw(RD, [1, 0, 0, 0], &[&web[..6]])),
        ("label-64", raw(RD, [1, 0, 0, 0], &[&long_label, a_in])),
        ("name-256", raw(RD, [1, 0, 0, 0], &[&long_name, a_in])),
        ("pointer-loop", raw(RD, [1, 0, 0, 0], &[&[0xc0, 12], a_in])),
        (
            "pointer-forward",
            raw(RD, [1, 0, 0, 0], &[&[0xc0, 18], a_in, &web]),
        ),
        (
            "pointer-into-header",
            raw(RD, [1, 0, 0, 0], &[&[0xc0, 2], a_in]),
        ),
        (
            "trailing-garbage",
            raw(RD, [1, 0, 0, 0], &[&web, a_in, &[0xde, 0xad]]),
        ),
        ("ancount-lies", raw(RD, [1, 1, 0, 0], &[&web, a_in])),
        (
            "two-opt",
            raw(RD, [1, 0, 0, 2], &[&web, a_in, &root_opt, &root_opt]),
        ),
        (
            "opt-option-too-long",
            raw(
                RD,
                [1, 0, 0, 1],
                &[
                    &web,
                    a_in,
                    &opt(&[0], 1232, 0, &[0, 10, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8]),
                ],
            ),
        ),
        (
            "opt-non-root-owner",
            raw(
                RD,
                [1, 0, 0, 1],
                &[&web, a_in, &opt(&wire_name(&[b"x"]), 1232, 0, &[])],
            ),
        ),
        (
            "edns-version-1",
            raw(RD, [1, 0, 0, 1], &[&web, a_in, &opt(&[0], 1232, 1, &[])]),
        ),
        (
            "edns-bufsize-0",
            raw(
                RD,
                [1, 0, 0, 1],
                &[&web, &[0, 16, 0, 1], &opt(&[0], 0, 0, &[])],
            ),
        ),
        ("opcode-15", with_flags(RD | (15 << 11), a_in)),
        (
            "opcode-15-qdcount-3",
            raw(
                15 << 11,
                [3, 0, 0, 0],
                &[
                    &web,
                    a_in,
                    &[0xc0, 12, 0, 28, 0, 1],
                    &[0xc0, 12, 0, 16, 0, 1],
                ],
            ),
        ),
        ("notify", with_flags(4 << 11, &[0, 6, 0, 1])),
        ("update", with_flags(5 << 11, &[0, 6, 0, 1])),
        ("qtype-0", with_flags(RD, &[0, 0, 0, 1])),
        ("qtype-opt", with_flags(RD, &[0, 41, 0, 1])),
        ("axfr", with_flags(0, &[0, 252, 0, 1])),
        (
            "tsig-unknown-key",
            raw(RD, [1, 0, 0, 1], &[&web, a_in, &tsig]),
        ),
        (
            "chaos-version-bind",
            raw(
                0,
                [1, 0, 0, 0],
                &[&wire_name(&[b"version", b"bind"]), &[0, 16, 0, 3]],
            ),
        ),
    ]
}

/// Service values, good and hostile.
fn services() -> Vec<Seed> {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let long_host = format!(r#"{{"host":"{}.local"}}"#, "a".repeat(300));
    let long_label = format!(r#"{{"host":"{}.local"}}"#, "a".repeat(64));
    let long_text = format!(r#"{{"text":"{}"}}"#, "t".repeat(2000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("all-fields", br#"{"host":"10.0.0.1","port":8080,"priority":20,"weight":5,"text":"t","mail":true,"ttl":30,"targetstrip":1,"group":"g"}"#.to_vec()),
        ("minimal", br#"{"host":"10.0.0.1"}"#.to_vec()),
        ("ipv6", br#"{"host":"2001:db8::1","port":53}"#.to_vec()),
        ("name", br#"{"Host":"Service1.SkyDNS.Local","PORT":80}"#.to_vec()),
        ("text-only", br#"{"text":"hello"}"#.to_vec()),
        ("double-encoded", br#""{\"host\":\"10.0.0.2\"}""#.to_vec()),
        ("nulls", br#"{"host":null,"port":null,"mail":null,"text":null}"#.to_vec()),
        ("empty-object", b"{}".to_vec()),
        ("port-too-big", br#"{"host":"10.0.0.1","port":70000}"#.to_vec()),
        ("port-negative", br#"{"port":-1}"#.to_vec()),
        ("port-float", br#"{"port":80.5}"#.to_vec()),
        ("port-string", br#"{"port":"80"}"#.to_vec()),
        ("huge-number", br#"{"ttl":1e400}"#.to_vec()),
        ("ttl-u64", br#"{"ttl":18446744073709551615}"#.to_vec()),
        ("targetstrip-big", br#"{"targetstrip":256}"#.to_vec()),
        ("mail-string", br#"{"mail":"yes"}"#.to_vec()),
        ("host-number", br#"{"host":1}"#.to_vec()),
        ("host-dots", br#"{"host":"a..b"}"#.to_vec()),
        ("host-leading-dot", br#"{"host":".a"}"#.to_vec()),
        ("host-spaces", br#"{"host":" a b "}"#.to_vec()),
        ("host-unicode", "{\"host\":\"\u{e9}t\u{e9}.local\"}".as_bytes().to_vec()),
        ("host-nul", br#"{"host":"a\u0000b"}"#.to_vec()),
        ("long-host", long_host.into_bytes()),
        ("long-label", long_label.into_bytes()),
        ("long-text", long_text.into_bytes()),
        ("duplicate-keys", br#"{"host":"10.0.0.1","host":"10.0.0.2"}"#.to_vec()),
        ("deep-nesting", deep.into_bytes()),
        ("array", b"[1,2]".to_vec()),
        ("null", b"null".to_vec()),
        ("empty", Vec::new()),
        ("trailing-garbage", br#"{"host":"10.0.0.1"} x"#.to_vec()),
        ("invalid-utf8", b"{\"text\":\"\xff\xfe\"}".to_vec()),
        ("bom", b"\xef\xbb\xbf{\"host\":\"10.0.0.1\"}".to_vec()),
    ];
    cases
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect()
}

/// Broken variants of the checked-in key pairs, and the short and weak keys of
/// `tests/data/dnssec`.
fn keys(pairs: &Path, test_data: &Path) -> io::Result<Vec<Seed>> {
    let read = |name: &str| std::fs::read_to_string(pairs.join(name));
    let (ec, ed, rsa, ksk) = (
        read("alg13-zsk")?,
        read("alg15-zsk")?,
        read("alg8-zsk")?,
        read("alg13-ksk")?,
    );
    let split = |pair: &str| -> (String, String) {
        let (public, private) = pair.split_once('\0').unwrap_or((pair, ""));
        (public.to_owned(), private.to_owned())
    };
    let (ec_pub, ec_priv) = split(&ec);
    let (ed_pub, _) = split(&ed);
    let (rsa_pub, rsa_priv) = split(&rsa);
    let (ksk_pub, _) = split(&ksk);
    let join = |public: &str, private: &str| format!("{public}\0{private}").into_bytes();
    let without = |text: &str, field: &str| -> String {
        text.lines()
            .filter(|l| !l.starts_with(field))
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let broken_secret = |text: &str, with: &str| -> String {
        text.lines()
            .map(|l| {
                if l.starts_with("PrivateKey:") {
                    format!("PrivateKey: {with}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    };
    let mut seeds: Vec<(&str, Vec<u8>)> = vec![
        ("alg13-public-only", ec_pub.clone().into_bytes()),
        ("alg13-private-of-alg15-public", join(&ed_pub, &ec_priv)),
        ("alg13-private-of-other-key", join(&ksk_pub, &ec_priv)),
        (
            "alg13-wrong-zone",
            join(&ec_pub.replace("skydns.local.", "example.org."), &ec_priv),
        ),
        (
            "alg13-as-sha1",
            join(
                &ec_pub.replace(" 3 13 ", " 3 5 "),
                &ec_priv.replace("Algorithm: 13", "Algorithm: 5"),
            ),
        ),
        (
            "alg13-revoked",
            join(&ec_pub.replace("DNSKEY 256", "DNSKEY 384"), &ec_priv),
        ),
        (
            "alg13-flags-0",
            join(&ec_pub.replace("DNSKEY 256", "DNSKEY 0"), &ec_priv),
        ),
        (
            "alg13-no-format-line",
            join(&ec_pub, &without(&ec_priv, "Private-key-format")),
        ),
        (
            "alg13-no-private-key",
            join(&ec_pub, &without(&ec_priv, "PrivateKey")),
        ),
        (
            "alg13-secret-not-base64",
            join(
                &ec_pub,
                &broken_secret(&ec_priv, "!!!!not*base64*at*all!!!!"),
            ),
        ),
        (
            "alg13-secret-too-long",
            join(&ec_pub, &broken_secret(&ec_priv, &"QUFB".repeat(20))),
        ),
        (
            "alg13-secret-wrong",
            join(
                &ec_pub,
                &broken_secret(&ec_priv, "66DsUb0fVPAQUyMkubnWuvsxR7xDr1O+grhnYO//cuM="),
            ),
        ),
        (
            "alg13-garbage-line",
            join(&ec_pub, &format!("{ec_priv}this line has no colon\n")),
        ),
        (
            "alg8-missing-prime2",
            join(&rsa_pub, &without(&rsa_priv, "Prime2")),
        ),
        (
            "alg8-public-truncated",
            join(&rsa_pub.replace(" 3 8 ", " 3 8 AwEAAQ== ;"), &rsa_priv),
        ),
        (
            "alg8-modulus-of-other-key",
            join(
                &rsa_pub,
                &rsa_priv.replacen("Modulus: ", "Modulus: AAAA", 1),
            ),
        ),
    ];
    for (file, name) in [
        ("p256-short", "test-data-p256-short"),
        ("p384-short", "test-data-p384-short"),
        ("rsa1024", "test-data-rsa1024"),
    ] {
        let public = std::fs::read_to_string(test_data.join(format!("{file}.key")))?;
        let private = std::fs::read_to_string(test_data.join(format!("{file}.private")))?;
        seeds.push((name, join(&public, &private)));
    }
    Ok(seeds
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect())
}
