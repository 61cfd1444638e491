//! DNSSEC end to end: keys made by `dnssec-keygen`, the real binary signing online, and real
//! validators judging the answers: `delv` (BIND) and `drill -S` (ldns) with the key as trust
//! anchor, and `unbound` as a validating resolver with skydns as a stub zone (AD on answers).
//! A wrong trust anchor is the negative control every validator must reject.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

use common::dnssec::{keygen, Key};
use common::etcd::Etcd;
use common::server::{answer_lines, dig, flags, free_port, status, wait_until, Skydns, TempDir};

const FIXTURE: &str = r#"{
  "/skydns/config": {"domain": "skydns.local.", "ttl": 3600, "min_ttl": 60},
  "/skydns/local/skydns/dns/ns/ns1": {"host": "127.0.0.1"},
  "/skydns/local/skydns/east/production/rails/1": {"host": "10.0.0.1", "port": 8080},
  "/skydns/local/skydns/east/production/rails/2": {"host": "10.0.0.2", "port": 8080},
  "/skydns/local/skydns/east/staging/web/6": {"host": "2003::8:1", "port": 80},
  "/skydns/local/skydns/txt/info": {"text": "hello dnssec", "ttl": 300},
  "/skydns/local/skydns/mail/mx1": {"host": "10.0.3.1", "mail": true},
  "/skydns/local/skydns/alias/www": {"host": "rails.production.east.skydns.local"},
  "/skydns/local/skydns/alias/web": {"host": "www.alias.skydns.local"},
  "/skydns/local/skydns/ent/deep/leaf": {"text": "only text below"}
}"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Positive,
    NxDomain,
    NoData,
}

/// Every case of the issue: A, AAAA, SRV with glue, TXT, MX, CNAME chain, wildcard query,
/// apex SOA/NS/DNSKEY/NSEC3PARAM, NXDOMAIN (apex and deeper encloser), NODATA, and an empty
/// non-terminal.
const CASES: &[(&str, &str, Expect)] = &[
    ("rails.production.east.skydns.local", "A", Expect::Positive),
    ("web.staging.east.skydns.local", "AAAA", Expect::Positive),
    (
        "rails.production.east.skydns.local",
        "SRV",
        Expect::Positive,
    ),
    ("info.txt.skydns.local", "TXT", Expect::Positive),
    ("mail.skydns.local", "MX", Expect::Positive),
    ("web.alias.skydns.local", "A", Expect::Positive),
    ("*.production.east.skydns.local", "A", Expect::Positive),
    ("skydns.local", "SOA", Expect::Positive),
    ("skydns.local", "NS", Expect::Positive),
    ("skydns.local", "DNSKEY", Expect::Positive),
    ("skydns.local", "NSEC3PARAM", Expect::Positive),
    ("nothere.skydns.local", "A", Expect::NxDomain),
    ("a.b.production.east.skydns.local", "AAAA", Expect::NxDomain),
    ("info.txt.skydns.local", "A", Expect::NoData),
    ("deep.ent.skydns.local", "A", Expect::NoData),
    ("*.production.east.skydns.local", "MX", Expect::NoData),
];

/// Runs a validator with a hard time bound.
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("20")
        .arg(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text
}

/// The validators, all trusting one key.
struct Validators {
    skydns_port: u16,
    delv_anchor: PathBuf,
    drill_key: PathBuf,
    unbound: Option<Unbound>,
}

impl Validators {
    fn new(dir: &Path, skydns_port: u16, anchor: &Key, with_unbound: bool) -> Validators {
        Validators {
            skydns_port,
            delv_anchor: anchor.delv_anchor(dir),
            drill_key: anchor.public.clone(),
            unbound: with_unbound.then(|| Unbound::start(dir, skydns_port, anchor)),
        }
    }

    fn delv(&self, name: &str, qtype: &str) -> String {
        let port = self.skydns_port.to_string();
        let anchor = self.delv_anchor.display().to_string();
        run(
            "delv",
            &[
                "@127.0.0.1",
                "-p",
                &port,
                "-a",
                &anchor,
                "+root=skydns.local",
                name,
                qtype,
            ],
        )
    }

    /// `drill -S` over UDP; again over TCP when the UDP answer is truncated (drill's chase does
    /// not retry over TCP by itself, as resolvers do; big RSA denials exceed 1232 bytes).
    fn drill(&self, name: &str, qtype: &str) -> String {
        let port = self.skydns_port.to_string();
        let key = self.drill_key.display().to_string();
        let args = ["-S", "-k", &key, "-p", &port, "@127.0.0.1", name, qtype];
        let out = run("drill", &args);
        let udp = dig(
            self.skydns_port,
            &["+dnssec", "+bufsize=4096", "+ignore", name, qtype],
        );
        if !flags(&udp).contains(&"tc".to_owned()) {
            return out;
        }
        let mut tcp = vec!["-t"];
        tcp.extend(args);
        run("drill", &tcp)
    }

    /// Asserts that every validator accepts the answer for `name`/`qtype` as `expect`.
    fn accepts(&self, name: &str, qtype: &str, expect: Expect) {
        let out = self.delv(name, qtype);
        let wanted = match expect {
            Expect::Positive => "; fully validated",
            Expect::NxDomain => "ncache nxdomain",
            Expect::NoData => "ncache nxrrset",
        };
        assert!(
            out.contains(wanted),
            "delv {name} {qtype}: want {wanted}\n{out}"
        );
        if expect != Expect::Positive {
            assert!(
                out.contains("; negative response, fully validated"),
                "delv {name} {qtype}: negative answer not validated\n{out}"
            );
        }
        let out = self.drill(name, qtype);
        assert!(
            out.contains(";; Chase successful"),
            "drill -S {name} {qtype}:\n{out}"
        );
        if let Some(unbound) = &self.unbound {
            let out = unbound.query(name, qtype);
            let rcode = if expect == Expect::NxDomain {
                "NXDOMAIN"
            } else {
                "NOERROR"
            };
            assert_eq!(
                status(&out).as_deref(),
                Some(rcode),
                "unbound {name} {qtype}:\n{out}"
            );
            assert!(
                flags(&out).contains(&"ad".to_owned()),
                "unbound {name} {qtype}: no AD\n{out}"
            );
        }
    }

    /// Asserts that every validator rejects the answer.
    fn rejects(&self, name: &str, qtype: &str) {
        let out = self.delv(name, qtype);
        assert!(
            !out.contains("fully validated"),
            "delv accepted {name} {qtype}:\n{out}"
        );
        let out = self.drill(name, qtype);
        assert!(
            !out.contains("Chase successful"),
            "drill accepted {name} {qtype}:\n{out}"
        );
        if let Some(unbound) = &self.unbound {
            let out = unbound.query(name, qtype);
            assert_eq!(
                status(&out).as_deref(),
                Some("SERVFAIL"),
                "unbound {name}:\n{out}"
            );
        }
    }
}

/// A validating unbound on a loopback port, with skydns.local as a stub zone.
struct Unbound {
    child: Child,
    port: u16,
}

impl Unbound {
    fn start(dir: &Path, skydns_port: u16, anchor: &Key) -> Unbound {
        let port = free_port();
        let conf = dir.join(format!("unbound-{port}.conf"));
        let text = format!(
            "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n  \
             do-not-query-localhost: no\n  use-syslog: no\n  logfile: \"\"\n  username: \"\"\n  \
             chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"\"\n  num-threads: 1\n  \
             verbosity: 1\n  val-log-level: 2\n  module-config: \"validator iterator\"\n  \
             trust-anchor: \"{anchor}\"\n  access-control: 127.0.0.0/8 allow\n\
             stub-zone:\n  name: \"skydns.local.\"\n  stub-addr: 127.0.0.1@{skydns_port}\n\
             remote-control:\n  control-enable: no\n",
            dir = dir.display(),
            anchor = anchor.dnskey_line(),
        );
        std::fs::write(&conf, text).unwrap();
        let log = std::fs::File::create(dir.join(format!("unbound-{port}.log"))).unwrap();
        let child = Command::new("unbound")
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start unbound (package unbound)");
        let unbound = Unbound { child, port };
        assert!(
            wait_until(Duration::from_secs(15), || {
                status(&dig(port, &["version.server", "CH", "TXT"])).is_some()
            }),
            "unbound did not start"
        );
        unbound
    }

    fn query(&self, name: &str, qtype: &str) -> String {
        dig(self.port, &["+dnssec", name, qtype])
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// skydns serving the fixture and signing with `key`.
fn start_signing(dir: &TempDir, key: &Key) -> (Skydns, PathBuf) {
    let file = dir.path().join("services.json");
    std::fs::write(&file, FIXTURE).unwrap();
    let file_arg = format!("--file={}", file.display());
    let key_arg = format!("--dnssec={}", key.basename.display());
    let s = Skydns::start(&[&file_arg, "--no-rec", &key_arg], dir.path());
    (s, file)
}

fn validate_every_case(algorithm: &str, with_unbound: bool) {
    validate(algorithm, CASES, with_unbound);
}

fn validate(algorithm: &str, cases: &[(&str, &str, Expect)], with_unbound: bool) {
    let dir = TempDir::new(&format!("dnssec-{algorithm}"));
    let key = keygen(dir.path(), algorithm, "skydns.local");
    let (s, _) = start_signing(&dir, &key);
    let validators = Validators::new(dir.path(), s.port, &key, with_unbound);
    for (name, qtype, expect) in cases {
        validators.accepts(name, qtype, *expect);
    }
}

#[test]
fn ecdsa_p256_answers_validate_in_delv_drill_and_unbound() {
    validate_every_case("ECDSAP256SHA256", true);
}

#[test]
fn rsasha256_answers_validate_in_delv_drill_and_unbound() {
    validate_every_case("RSASHA256", true);
}

#[test]
fn ed25519_answers_validate_in_delv_and_drill() {
    validate_every_case("ED25519", false);
}

#[test]
fn ecdsa_p384_and_rsasha512_answers_validate_in_delv_and_drill() {
    let cases = [
        (
            "rails.production.east.skydns.local",
            "SRV",
            Expect::Positive,
        ),
        ("nothere.skydns.local", "A", Expect::NxDomain),
        ("deep.ent.skydns.local", "A", Expect::NoData),
    ];
    validate("ECDSAP384SHA384", &cases, false);
    validate("RSASHA512", &cases, false);
}

#[test]
fn a_wrong_trust_anchor_is_rejected_by_every_validator() {
    let dir = TempDir::new("dnssec-wrong-anchor");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let other = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let (s, _) = start_signing(&dir, &key);
    let validators = Validators::new(dir.path(), s.port, &other, true);
    validators.rejects("rails.production.east.skydns.local", "A");
    validators.rejects("nothere.skydns.local", "A");
}

#[test]
fn signed_replies_carry_the_right_records_ttls_and_flags() {
    let dir = TempDir::new("dnssec-fields");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let (s, _) = start_signing(&dir, &key);
    let tag = key
        .basename
        .display()
        .to_string()
        .rsplit('+')
        .next()
        .unwrap()
        .trim_start_matches('0')
        .to_owned();

    // RRSIG TTL and original TTL equal the RRset TTL; signer is the zone; AD stays clear.
    let out = s.dig(&["+dnssec", "+norec", "info.txt.skydns.local", "TXT"]);
    assert!(!flags(&out).contains(&"ad".to_owned()), "{out}");
    let answers = answer_lines(&s.dig(&[
        "+dnssec",
        "+noall",
        "+answer",
        "info.txt.skydns.local",
        "TXT",
    ]));
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        answers[0].starts_with("info.txt.skydns.local. 300 IN RRSIG TXT 13 4 300 "),
        "{answers:?}"
    );
    assert!(
        answers[0].contains(&format!(" {tag} skydns.local. ")),
        "{answers:?}"
    );

    // The wildcard owner's RRSIG does not count the `*` label.
    let answers = answer_lines(&s.dig(&[
        "+dnssec",
        "+noall",
        "+answer",
        "*.production.east.skydns.local",
        "A",
    ]));
    assert!(
        answers.iter().any(|l| l.contains(" RRSIG A 13 4 3600 ")),
        "{answers:?}"
    );

    // SRV glue is signed in the additional section.
    let out = s.dig(&[
        "+dnssec",
        "+noall",
        "+additional",
        "rails.production.east.skydns.local",
        "SRV",
    ]);
    assert!(
        out.contains("RRSIG\tA 13 6 3600") || out.contains("RRSIG A 13 6 3600"),
        "{out}"
    );

    // NXDOMAIN: signed SOA and three NSEC3 with RFC 9276 parameters and the negative TTL.
    let out = s.dig(&[
        "+dnssec",
        "+noall",
        "+authority",
        "nothere.skydns.local",
        "A",
    ]);
    let lines = answer_lines(&out);
    let nsec3: Vec<_> = lines.iter().filter(|l| l.contains(" IN NSEC3 ")).collect();
    assert_eq!(nsec3.len(), 3, "{out}");
    assert!(
        nsec3.iter().all(|l| l.contains(" 60 IN NSEC3 1 0 0 - ")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.contains("RRSIG SOA 13 2 60 ")),
        "{out}"
    );

    // NSEC3PARAM at the apex; DNSKEY without DO comes without signatures.
    let answers = answer_lines(&s.dig(&["+noall", "+answer", "skydns.local", "NSEC3PARAM"]));
    assert_eq!(answers, vec!["skydns.local. 3600 IN NSEC3PARAM 1 0 0 -"]);
    let answers = answer_lines(&s.dig(&["+noall", "+answer", "skydns.local", "DNSKEY"]));
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(
        answers[0].starts_with("skydns.local. 3600 IN DNSKEY 256 3 13 "),
        "{answers:?}"
    );

    // Without DO: no RRSIG and no NSEC3.
    let out = s.dig(&["nothere.skydns.local", "A"]);
    assert!(!out.contains("NSEC3") && !out.contains("RRSIG"), "{out}");
}

#[test]
fn a_changed_record_is_answered_with_a_signature_that_validates() {
    let dir = TempDir::new("dnssec-change");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let (s, file) = start_signing(&dir, &key);
    let validators = Validators::new(dir.path(), s.port, &key, false);
    validators.accepts("rails.production.east.skydns.local", "A", Expect::Positive);
    validators.accepts("info.txt.skydns.local", "TXT", Expect::Positive);
    let changed = FIXTURE
        .replace("\"10.0.0.1\"", "\"10.0.0.99\"")
        .replace("hello dnssec", "changed text");
    std::fs::write(&file, changed).unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        s.dig(&["+short", "info.txt.skydns.local", "TXT"])
            .contains("changed text")
            && s.dig(&["+short", "rails.production.east.skydns.local", "A"])
                .contains("10.0.0.99")
    }));
    let out = validators.delv("rails.production.east.skydns.local", "A");
    assert!(
        out.contains("; fully validated") && out.contains("10.0.0.99"),
        "{out}"
    );
    let out = validators.delv("info.txt.skydns.local", "TXT");
    assert!(
        out.contains("; fully validated") && out.contains("changed text"),
        "{out}"
    );
}

/// (TTL, original TTL, signature) of the RRSIG in a `dig +dnssec +noall +answer` output.
fn rrsig_fields(out: &str) -> Option<(u32, u32, String)> {
    let line = answer_lines(out)
        .into_iter()
        .find(|l| l.contains(" RRSIG "))?;
    let f: Vec<&str> = line.split_whitespace().collect();
    // owner TTL IN RRSIG type alg labels original-TTL expiration inception tag signer sig...
    Some((f[1].parse().ok()?, f[7].parse().ok()?, f[13..].concat()))
}

#[test]
fn leased_records_reuse_their_signature_while_the_ttl_counts_down() {
    let dir = TempDir::new("dnssec-lease");
    let key = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let etcd = Etcd::start();
    // The record TTL is min(service ttl 300, lease time left): it counts down from 120.
    let lease = etcd.lease(120);
    etcd.put_with_lease(
        "/skydns/local/skydns/leased/x",
        r#"{"host": "10.0.7.1", "ttl": 300}"#,
        &lease,
    );
    let machines = format!("--machines={}", etcd.endpoint());
    let key_arg = format!("--dnssec={}", key.basename.display());
    let s = Skydns::start(&[&machines, "--no-rec", &key_arg], dir.path());
    let ask = || {
        let out = s.dig(&["+dnssec", "+noall", "+answer", "leased.skydns.local", "A"]);
        rrsig_fields(&out).unwrap_or_else(|| panic!("no RRSIG:\n{out}"))
    };
    let (ttl, original, signature) = ask();
    assert!(ttl <= 120 && original == ttl, "{ttl} {original}");
    std::thread::sleep(Duration::from_millis(2200));
    let (later_ttl, later_original, later_signature) = ask();
    assert!(later_ttl < ttl, "TTL {ttl} then {later_ttl}");
    assert_eq!(
        later_original, original,
        "the original TTL of the first signature"
    );
    // ECDSA signatures are randomized: an equal one is the cached one.
    assert_eq!(
        later_signature, signature,
        "one signature while the TTL counts down"
    );
    let validators = Validators::new(dir.path(), s.port, &key, false);
    validators.accepts("leased.skydns.local", "A", Expect::Positive);
}

/// Starts skydns with `--dnssec basename` and returns its output once it exits (it must).
fn failed_start(dir: &TempDir, basename: &Path) -> String {
    let file = dir.path().join("services.json");
    std::fs::write(&file, FIXTURE).unwrap();
    let out = Command::new("timeout")
        .arg("15")
        .arg(env!("CARGO_BIN_EXE_skydns"))
        .arg(format!("--addr=127.0.0.1:{}", free_port()))
        .arg(format!("--file={}", file.display()))
        .arg("--no-rec")
        .arg(format!("--dnssec={}", basename.display()))
        .env_remove("RUST_LOG")
        .env("PROMETHEUS_PORT", "")
        .output()
        .unwrap();
    let code = out.status.code();
    assert!(
        code.is_some_and(|c| c != 0 && c != 124),
        "skydns did not refuse the key: {out:?}"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unusable_keys_stop_start_up_with_a_clear_message() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("dnssec-bad-keys");
    let private = |k: &Key| PathBuf::from(format!("{}.private", k.basename.display()));

    let foreign = keygen(dir.path(), "ECDSAP256SHA256", "example.org");
    let err = failed_start(&dir, &foreign.basename);
    assert!(
        err.contains("for zone example.org., but the domain is skydns.local."),
        "{err}"
    );

    let sha1 = keygen(dir.path(), "RSASHA1", "skydns.local");
    let err = failed_start(&dir, &sha1.basename);
    assert!(
        err.contains("RSASHA1") && err.contains("not supported"),
        "{err}"
    );

    let open = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    std::fs::set_permissions(private(&open), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = failed_start(&dir, &open.basename);
    assert!(
        err.contains("readable by group or others (mode 0644)"),
        "{err}"
    );
    let check = Command::new(env!("CARGO_BIN_EXE_skydns"))
        .arg(format!(
            "--file={}",
            dir.path().join("services.json").display()
        ))
        .arg(format!("--dnssec={}", open.basename.display()))
        .arg("check-config")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(
        !check.status.success() && err.contains("mode 0644"),
        "check-config: {err}"
    );

    let broken = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    std::fs::write(private(&broken), "PrivateKey: not a key\n").unwrap();
    let err = failed_start(&dir, &broken.basename);
    assert!(
        err.contains("malformed") && err.contains(".private"),
        "{err}"
    );

    let err = failed_start(&dir, &dir.path().join("Kmissing"));
    assert!(
        err.contains("Kmissing.key") && err.contains("cannot be read"),
        "{err}"
    );
}

/// The effective user id of a running process.
fn process_uid(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
        .expect("Uid line")
}

#[test]
fn a_new_key_is_picked_up_on_sighup_without_failed_queries() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    let dir = TempDir::new("dnssec-rekey");
    let old = keygen(dir.path(), "ECDSAP256SHA256", "skydns.local");
    let (s, file) = start_signing(&dir, &old);
    let new = keygen(dir.path(), "ED25519", "skydns.local");
    // The daemon dropped root: give it the new key as its own (mode 0600 stays).
    let uid = process_uid(s.child.id());
    for ext in ["key", "private"] {
        let path = format!("{}.{ext}", new.basename.display());
        let out = Command::new("chown").arg(&uid).arg(&path).output().unwrap();
        assert!(out.status.success(), "chown {path}: {out:?}");
    }
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let load = {
        let (stop, failures, sent, port) = (stop.clone(), failures.clone(), sent.clone(), s.port);
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(1, Ordering::Relaxed);
                let out = dig(
                    port,
                    &["+dnssec", "rails.production.east.skydns.local", "A"],
                );
                if status(&out).as_deref() != Some("NOERROR") || !out.contains("RRSIG") {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    let config = format!(
        r#""/skydns/config": {{"domain": "skydns.local.", "ttl": 3600, "min_ttl": 60, "dnssec": "{}"}}"#,
        new.basename.display()
    );
    let fixture = FIXTURE.replace(
        r#""/skydns/config": {"domain": "skydns.local.", "ttl": 3600, "min_ttl": 60}"#,
        &config,
    );
    assert_ne!(fixture, FIXTURE);
    std::fs::write(&file, fixture).unwrap();
    std::thread::sleep(Duration::from_millis(1200)); // the file store polls every 500 ms
    let old_validators = Validators::new(dir.path(), s.port, &old, false);
    old_validators.accepts("rails.production.east.skydns.local", "A", Expect::Positive);

    let hup = Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .output()
        .unwrap();
    assert!(hup.status.success());
    let new_validators = Validators::new(dir.path(), s.port, &new, false);
    assert!(
        wait_until(Duration::from_secs(10), || {
            new_validators
                .delv("rails.production.east.skydns.local", "A")
                .contains("; fully validated")
        }),
        "the new key is not in use:\n{}",
        s.log_text()
    );
    let out = old_validators.delv("rails.production.east.skydns.local", "A");
    assert!(
        !out.contains("; fully validated"),
        "old anchor must fail now: {out}"
    );
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert!(sent.load(Ordering::Relaxed) > 10);
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "queries failed during the key change"
    );
}

/// One DNSSEC query over UDP: the reply, if one came within a second.
fn do_query(sock: &std::net::UdpSocket, port: u16, name: &str, id: u16) -> Option<Message> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(Name::from_ascii(name).ok()?, RecordType::A));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true);
    edns.set_max_payload(1232);
    m.edns = Some(edns);
    sock.send_to(&m.to_vec().ok()?, ("127.0.0.1", port)).ok()?;
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let reply = Message::from_vec(&buf[..n]).ok()?;
        if reply.metadata.id == id {
            return Some(reply);
        }
    }
}

#[test]
fn a_reload_that_changes_domain_and_key_together_never_mixes_them() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let dir = TempDir::new("dnssec-swap");
    let keys = ["a.test", "b.test"].map(|zone| keygen(dir.path(), "ECDSAP256SHA256", zone));
    let tag = |key: &Key| -> u16 {
        let name = key
            .basename
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        name.rsplit('+').next().unwrap().parse().unwrap()
    };
    let tags = [tag(&keys[0]), tag(&keys[1])];
    let store = dir.path().join("store.json");
    let write = |zone: usize| {
        let (domain, key) = (["a.test.", "b.test."][zone], &keys[zone].basename);
        let text = format!(
            r#"{{"/skydns/config": {{"domain": "{domain}", "dnssec": "{}"}},
                "/skydns/test/a/web/1": {{"host": "10.0.0.1"}},
                "/skydns/test/b/web/1": {{"host": "10.0.0.2"}}}}"#,
            key.display()
        );
        std::fs::write(&store, text).unwrap();
    };
    write(0);
    // The daemon drops root to `nobody` and reads the keys the store names as that user.
    for key in &keys {
        for ext in ["key", "private"] {
            let path = format!("{}.{ext}", key.basename.display());
            assert!(Command::new("chown")
                .args(["nobody", &path])
                .status()
                .unwrap()
                .success());
        }
    }
    std::fs::set_permissions(&dir.0, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = Skydns::start(
        &[
            &format!("--file={}", store.display()),
            "--no-rec",
            "--user=nobody",
        ],
        dir.path(),
    );
    for zone in [1, 0] {
        write(zone);
        std::thread::sleep(Duration::from_millis(700));
        signal_hup(&s);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let wrong = Arc::new(Mutex::new(Vec::new()));
    let signed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..2)
        .map(|client| {
            let (stop, wrong, signed, port) = (stop.clone(), wrong.clone(), signed.clone(), s.port);
            std::thread::spawn(move || {
                let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
                let mut id = 0u16;
                while !stop.load(Ordering::Relaxed) {
                    let zone = usize::from(id % 2 == 1);
                    let name = ["web.a.test.", "web.b.test."][zone];
                    id = id.wrapping_add(1);
                    let Some(reply) = do_query(&sock, port, name, id) else {
                        continue;
                    };
                    if reply.metadata.response_code == ResponseCode::Refused {
                        continue; // not our zone at this moment
                    }
                    let sigs: Vec<(String, u16)> = reply
                        .answers
                        .iter()
                        .filter_map(|r| match &r.data {
                            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                                Some((sig.input().signer_name.to_ascii(), sig.input().key_tag))
                            }
                            _ => None,
                        })
                        .collect();
                    let zone_name = ["a.test.", "b.test."][zone];
                    if sigs == [(zone_name.to_owned(), tags[zone])] {
                        signed.fetch_add(1, Ordering::Relaxed);
                    } else {
                        wrong.lock().unwrap().push(format!(
                            "client {client}: {name} -> {} with signatures {sigs:?}",
                            reply.metadata.response_code
                        ));
                    }
                }
            })
        })
        .collect();
    for round in 0..12 {
        write((round + 1) % 2);
        std::thread::sleep(Duration::from_millis(600)); // the file store polls every 500 ms
        signal_hup(&s);
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let wrong = wrong.lock().unwrap();
    assert!(
        wrong.is_empty(),
        "{} answers unsigned or signed with the other zone's key, e.g. {:?}\n{}",
        wrong.len(),
        &wrong[..wrong.len().min(5)],
        s.log_text()
    );
    assert!(
        signed.load(Ordering::Relaxed) > 100,
        "too few signed answers"
    );
    let applied = s.log_text().matches("applied").count();
    assert!(
        applied >= 12,
        "only {applied} reloads applied:\n{}",
        s.log_text()
    );
}

fn signal_hup(s: &Skydns) {
    let hup = Command::new("kill")
        .args(["-HUP", &s.child.id().to_string()])
        .output()
        .unwrap();
    assert!(hup.status.success());
}
