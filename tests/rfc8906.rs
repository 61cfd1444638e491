//! RFC 8906 / ednscomp conformance, checked with dig against the real binary: every kind of
//! query gets an answer with the right rcode, flags and OPT handling (reliability.md T3, T13,
//! T14, T17).

mod common;

use common::server::{flags, Skydns, TempDir};

fn server(dir: &TempDir) -> Skydns {
    let file = dir.path().join("s.json");
    std::fs::write(
        &file,
        r#"{"/skydns/local/skydns/redis/production/a": {"host": "10.0.0.1", "port": 6379}}"#,
    )
    .unwrap();
    Skydns::start(
        &[&format!("--file={}", file.display()), "--no-rec"],
        dir.path(),
    )
}

struct Expect {
    args: &'static str,
    status: &'static str,
    /// Flags that must be set.
    flags: &'static [&'static str],
    /// Flags that must not be set.
    not_flags: &'static [&'static str],
    /// Some(true): an OPT record must be present; Some(false): absent.
    opt: Option<bool>,
    /// Text that must appear in dig's output.
    contains: &'static [&'static str],
    /// Text that must not appear.
    absent: &'static [&'static str],
}

const Z: &str = "skydns.local";

fn cases() -> Vec<Expect> {
    let e = |args, status| Expect {
        args,
        status,
        flags: &[],
        not_flags: &[],
        opt: None,
        contains: &[],
        absent: &[],
    };
    vec![
        Expect { flags: &["aa"], opt: Some(false), ..e("+noedns +noad +norec SOA", "NOERROR") },
        Expect { flags: &["aa"], ..e("+noedns +noad +norec +aaflag SOA", "NOERROR") },
        Expect { not_flags: &["ad"], ..e("+noedns +noad +norec +ad SOA", "NOERROR") },
        Expect { flags: &["cd"], ..e("+noedns +noad +norec +cd SOA", "NOERROR") },
        Expect { absent: &["MBZ"], ..e("+noedns +noad +norec +zflag SOA", "NOERROR") },
        Expect { flags: &["aa", "rd"], ..e("+noedns +noad +rec SOA", "NOERROR") },
        Expect { flags: &["aa"], contains: &["ANSWER: 0"], ..e("+noedns +noad +norec TYPE666", "NOERROR") },
        Expect { flags: &["aa"], ..e("+noedns +noad +norec +tcp SOA", "NOERROR") },
        Expect { opt: Some(true), contains: &["EDNS: version: 0"], ..e("+edns=0 +nocookie +noad +norec SOA", "NOERROR") },
        Expect { opt: Some(true), contains: &["EDNS: version: 0", "ANSWER: 0"], ..e("+edns=1 +noednsneg +nocookie +noad +norec SOA", "BADVERS") },
        Expect { opt: Some(true), absent: &["OPT=100"], ..e("+edns=0 +nocookie +noad +norec +ednsopt=100 SOA", "NOERROR") },
        Expect { ..e("+edns=1 +noednsneg +nocookie +noad +norec +ednsopt=100 SOA", "BADVERS") },
        Expect { contains: &["flags: do;"], ..e("+edns=0 +nocookie +noad +norec +dnssec SOA", "NOERROR") },
        Expect { contains: &["EDNS: version: 0, flags:;"], absent: &["MBZ"], ..e("+edns=0 +nocookie +noad +norec +ednsflags=0x0080 SOA", "NOERROR") },
        Expect { opt: Some(true), contains: &["COOKIE: 0102030405060708", "(good)"], absent: &["NSID"], ..e("+edns=0 +noad +norec +nsid +subnet=0.0.0.0/0 +expire +cookie=0102030405060708 SOA", "NOERROR") },
        Expect { ..e("+edns=0 +nocookie +noad +norec +dnssec +bufsize=512 +tcp DNSKEY", "NOERROR") },
        Expect { ..e("+noedns +noad +norec -y hmac-sha256:.:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= SOA", "NOTAUTH") },
    ]
}

#[test]
fn ednscomp_checks_pass() {
    let dir = TempDir::new("rfc8906");
    let s = server(&dir);
    let mut failures = Vec::new();
    for case in cases() {
        let mut args: Vec<&str> = case.args.split_whitespace().collect();
        args.push(Z);
        let out = s.dig(&args);
        let status = common::server::status(&out).unwrap_or_default();
        let flags = flags(&out);
        let mut problems = Vec::new();
        if status != case.status {
            problems.push(format!("status {status}, expected {}", case.status));
        }
        for f in case.flags {
            if !flags.iter().any(|x| x == f) {
                problems.push(format!("flag {f} missing"));
            }
        }
        for f in case.not_flags {
            if flags.iter().any(|x| x == f) {
                problems.push(format!("flag {f} set"));
            }
        }
        if let Some(want) = case.opt {
            if out.contains("OPT PSEUDOSECTION") != want {
                problems.push(format!("OPT present should be {want}"));
            }
        }
        for c in case.contains {
            if !out.contains(c) {
                problems.push(format!("missing `{c}`"));
            }
        }
        for a in case.absent {
            if out.contains(a) {
                problems.push(format!("unexpected `{a}`"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!("dig {}: {}\n{out}", case.args, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn unknown_opcode_is_notimp_without_opt() {
    let dir = TempDir::new("opcode");
    let s = server(&dir);
    let out = s.dig(&["+noedns", "+noad", "+norec", "+header-only", "+opcode=15"]);
    assert_eq!(
        common::server::status(&out).as_deref(),
        Some("NOTIMP"),
        "{out}"
    );
    assert!(
        !out.contains("OPT PSEUDOSECTION") && !flags(&out).contains(&"aa".to_owned()),
        "{out}"
    );
}

#[test]
fn big_answers_respect_flag_day_sizes_and_tcp_completes() {
    let dir = TempDir::new("flagday");
    let file = dir.path().join("s.json");
    let mut services = serde_json::Map::new();
    for i in 0..13 {
        services.insert(
            format!("/skydns/local/skydns/big/t{i}"),
            serde_json::json!({ "text": format!("{i:02}{}", "y".repeat(198)) }),
        );
    }
    std::fs::write(&file, serde_json::Value::Object(services).to_string()).unwrap();
    let s = Skydns::start(
        &[&format!("--file={}", file.display()), "--no-rec"],
        dir.path(),
    );
    let size = |out: &str| -> usize {
        out.lines()
            .find_map(|l| l.split("MSG SIZE  rcvd: ").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(usize::MAX)
    };
    let out = s.dig(&["+noedns", "+ignore", "big.skydns.local", "TXT"]);
    assert!(
        flags(&out).contains(&"tc".to_owned()) && size(&out) <= 512,
        "{out}"
    );
    let out = s.dig(&["+bufsize=4096", "+ignore", "big.skydns.local", "TXT"]);
    assert!(
        flags(&out).contains(&"tc".to_owned()) && size(&out) <= 1232,
        "{out}"
    );
    assert!(
        out.contains("OPT PSEUDOSECTION"),
        "a truncated reply keeps its OPT: {out}"
    );
    let out = s.dig(&["big.skydns.local", "TXT"]);
    assert!(
        out.contains("ANSWER: 13"),
        "dig retries over TCP and gets all 13: {out}"
    );
}

#[test]
fn any_zone_transfer_and_chaos_are_refused_or_minimal() {
    let dir = TempDir::new("any");
    let s = server(&dir);
    let out = s.dig(&["a.production.redis.skydns.local", "ANY"]);
    assert!(out.contains("HINFO") && out.contains("RFC8482"), "{out}");
    let out = s.dig(&["+tcp", Z, "AXFR"]);
    assert!(out.contains("Transfer failed"), "{out}");
    let out = s.dig(&[Z, "IXFR=0"]);
    assert!(!out.contains("SOA\tns.dns"), "no records on IXFR: {out}");
    let out = s.dig(&["version.bind", "CH", "TXT"]);
    assert_eq!(
        common::server::status(&out).as_deref(),
        Some("REFUSED"),
        "{out}"
    );
}

#[test]
fn mixed_case_questions_are_echoed_byte_for_byte() {
    let dir = TempDir::new("0x20");
    let s = server(&dir);
    let name = "A.PrOdUcTiOn.ReDiS.SkYdNs.LoCaL.";
    for _ in 0..20 {
        let m = common::server::udp_query(
            s.addr(),
            name,
            hickory_proto::rr::RecordType::A,
            std::time::Duration::from_secs(2),
        )
        .expect("answer");
        assert_eq!(m.queries[0].name().to_ascii(), name);
        assert_eq!(m.answers.len(), 1);
        assert_eq!(m.answers[0].name.to_ascii(), name);
    }
}
