//! Response rate limiting and DNS cookies over the wire against the real binary
//! (reliability.md T6): dig learns a server cookie and has it accepted; with `--rrl 200` a
//! flood of DNSKEY queries with DO from 127.0.0.1 gets out no more than twice the bytes it
//! sent, some of it as truncated "slips", while 127.0.0.2 keeps getting every answer; a
//! client with a valid server cookie is not limited; without `--rrl` everything is answered.
//! Every packet stays on loopback (`--no-rec`); each flood lasts a few seconds at most.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use hickory_proto::rr::RecordType;

use common::dnssec::keygen;
use common::flood::{flood, learn_cookie, Ask};
use common::server::{status, Skydns, TempDir};

const STORE: &str = r#"{
  "/skydns/local/skydns/east/production/rails/1": {"host": "10.0.0.1", "port": 8080},
  "/skydns/local/skydns/txt/motd": {"text": "hello from skydns"}
}"#;

/// The flooding client.
const FLOODER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1));

/// Another client (of the same /24: what it asks must not share the flood's bucket).
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// skydns on the test store with a fresh ECDSA key and `extra` flags.
fn signed_server(dir: &TempDir, extra: &[&str]) -> Skydns {
    let file = dir.path().join("s.json");
    std::fs::write(&file, STORE).unwrap();
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let mut args = vec![
        format!("--file={}", file.display()),
        "--no-rec".to_owned(),
        format!("--dnssec={}", key.basename.display()),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Skydns::start(&args, dir.path())
}

fn dnskey() -> Ask {
    Ask::new("skydns.local.", RecordType::DNSKEY, true)
}

/// The cookie dig printed (hex) and whether it called it good.
fn dig_cookie(out: &str) -> Option<(String, bool)> {
    let line = out.lines().find_map(|l| l.strip_prefix("; COOKIE: "))?;
    let mut words = line.split_whitespace();
    let hex = words.next()?.to_ascii_lowercase();
    Some((hex, words.next() == Some("(good)")))
}

#[test]
fn dig_learns_a_server_cookie_and_has_it_accepted() {
    let dir = TempDir::new("cookies");
    let s = signed_server(&dir, &[]);
    let first = s.dig(&["+cookie", "skydns.local", "SOA"]);
    let (cookie, good) = dig_cookie(&first).unwrap_or_else(|| panic!("no COOKIE:\n{first}"));
    assert!(good, "{first}");
    assert_eq!(
        cookie.len(),
        48,
        "client and RFC 9018 server cookie: {cookie}"
    );
    assert_eq!(
        &cookie[16..24],
        "01000000",
        "version 1, reserved 0: {cookie}"
    );
    // Sent back: valid, so returned as it is (a fresh one is made only after half an hour).
    let second = s.dig(&[&format!("+cookie={cookie}"), "skydns.local", "SOA"]);
    assert_eq!(status(&second).as_deref(), Some("NOERROR"), "{second}");
    assert_eq!(
        dig_cookie(&second),
        Some((cookie.clone(), true)),
        "{second}"
    );
    // A server cookie that is not ours: answered normally, with a new one.
    let mut forged = cookie.clone();
    forged.replace_range(40.., "0000000000000000");
    let third = s.dig(&[&format!("+cookie={forged}"), "skydns.local", "SOA"]);
    assert_eq!(status(&third).as_deref(), Some("NOERROR"), "{third}");
    let (renewed, good) = dig_cookie(&third).unwrap();
    assert!(
        good && renewed != forged && renewed[..16] == forged[..16],
        "{third}"
    );
    // A malformed cookie is FORMERR; a query without a question asks for a cookie alone.
    let short = s.dig(&["+cookie=0102", "skydns.local", "SOA"]);
    assert_eq!(status(&short).as_deref(), Some("FORMERR"), "{short}");
    let probe = s.dig(&["+header-only", "+cookie"]);
    assert_eq!(status(&probe).as_deref(), Some("NOERROR"), "{probe}");
    assert!(dig_cookie(&probe).is_some_and(|(_, good)| good), "{probe}");
    // Over TCP as well.
    let tcp = s.dig(&["+tcp", &format!("+cookie={cookie}"), "skydns.local", "SOA"]);
    assert_eq!(dig_cookie(&tcp), Some((cookie, true)), "{tcp}");
}

#[test]
fn rrl_caps_amplification_and_spares_the_other_traffic() {
    let dir = TempDir::new("rrl");
    let s = signed_server(&dir, &["--rrl=200"]);
    let addr = s.addr();
    let service = Ask::new(
        "1.rails.production.east.skydns.local.",
        RecordType::SRV,
        false,
    );
    let (attack, other) = std::thread::scope(|scope| {
        let other = scope.spawn(|| flood(addr, OTHER, &service, 10, Duration::from_secs(4)));
        let attack = flood(addr, FLOODER, &dnskey(), 1000, Duration::from_secs(4));
        (attack, other.join().unwrap())
    });
    eprintln!("flood: {attack:?}, ratio {:.2}", attack.ratio());
    eprintln!("other client: {other:?}");
    assert!(attack.sent >= 3900, "{attack:?}");
    assert!(
        attack.ratio() <= 2.0,
        "{attack:?}: ratio {:.2}",
        attack.ratio()
    );
    assert!(attack.truncated > 0, "no slips: {attack:?}");
    assert!(
        attack.answered <= 200 + 4 * 200 + 50,
        "200/s and a burst of 200: {attack:?}"
    );
    assert_eq!(other.answered, other.sent, "{other:?}");
    // Once the flood is over, the flood's own question from the other address: answered.
    let after = flood(addr, OTHER, &dnskey(), 10, Duration::from_secs(1));
    assert_eq!(after.answered, after.sent, "{after:?}");
    // A client sending a valid server cookie is not limited, from the flooded address too.
    let cookie = learn_cookie(addr, FLOODER, &dnskey()).expect("a cookie");
    let vouched = Ask {
        cookie: Some(cookie),
        ..dnskey()
    };
    let proven = flood(addr, FLOODER, &vouched, 1000, Duration::from_secs(1));
    eprintln!("with a server cookie: {proven:?}");
    assert_eq!(proven.answered, proven.sent, "{proven:?}");
}

#[test]
fn rrl_is_off_by_default() {
    let dir = TempDir::new("rrl-off");
    let s = signed_server(&dir, &[]);
    let t = flood(s.addr(), FLOODER, &dnskey(), 1000, Duration::from_secs(1));
    eprintln!("no rrl: {t:?}, ratio {:.2}", t.ratio());
    assert_eq!(t.answered, t.sent, "{t:?}");
    assert_eq!(t.truncated, 0, "{t:?}");
}
