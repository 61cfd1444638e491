//! The real binary on a real etcd, queried with dig: changes visible quickly, lease TTLs,
//! serving the last snapshot while etcd is stopped or restarted, compaction, TLS with a client
//! certificate and a read-only etcd user, fail-over in a three-member cluster, start-up without etcd, and the
//! `/skydns/config` key taking precedence (or stopping start-up when invalid).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::etcd::{Certs, Etcd};
use common::server::{answer_lines, free_port, status, wait_until, Skydns, TempDir};

/// Generous bound for a change to show up (expected: milliseconds).
const SOON: Duration = Duration::from_secs(10);

fn start(endpoints: &str, dir: &TempDir, extra: &[&str]) -> Skydns {
    with_args(endpoints, extra, |args| Skydns::start(args, dir.path()))
}

/// Like [`start`] for a skydns that cannot load (wrong credentials, no etcd yet): returns once
/// it answers at all.
fn start_unloaded(endpoints: &str, dir: &TempDir, extra: &[&str]) -> Skydns {
    with_args(endpoints, extra, |args| {
        Skydns::start_answering(args, dir.path())
    })
}

fn with_args(endpoints: &str, extra: &[&str], run: impl FnOnce(&[&str]) -> Skydns) -> Skydns {
    let machines = format!("--machines={endpoints}");
    let mut args = vec![machines.as_str(), "--no-rec", "--log=stderr"];
    args.extend_from_slice(extra);
    run(&args)
}

fn service(ip: &str) -> String {
    format!(r#"{{"host":"{ip}","port":80}}"#)
}

#[test]
fn puts_updates_and_deletes_show_up_quickly() {
    let dir = TempDir::new("etcd-changes");
    let etcd = Etcd::start();
    etcd.put("/skydns/local/skydns/web/1", &service("10.9.0.1"));
    let s = start(&etcd.endpoint(), &dir, &[]);
    assert!(wait_until(SOON, || s.shows("web.skydns.local", "10.9.0.1")));

    etcd.put("/skydns/local/skydns/web/2", &service("10.9.0.2"));
    assert!(wait_until(SOON, || s.a_records("web.skydns.local").len() == 2));

    etcd.put("/skydns/local/skydns/web/1", &service("10.9.0.11"));
    assert!(wait_until(SOON, || s.shows("1.web.skydns.local", "10.9.0.11")));

    etcd.del("/skydns/local/skydns/web/1");
    assert!(wait_until(SOON, || {
        status(&s.dig(&["1.web.skydns.local", "A"])).as_deref() == Some("NXDOMAIN")
    }));
    assert_eq!(
        s.a_records("web.skydns.local"),
        vec!["web.skydns.local. 3600 IN A 10.9.0.2"]
    );
    let soa = answer_lines(&s.dig(&["+noall", "+answer", "skydns.local", "SOA"]));
    let serial = format!(" {} ", etcd.revision());
    assert!(
        soa[0].contains(&serial),
        "SOA serial is the revision: {soa:?}"
    );
}

#[test]
fn a_leased_key_counts_down_and_goes_with_its_lease() {
    let dir = TempDir::new("etcd-lease");
    let etcd = Etcd::start();
    let s = start(&etcd.endpoint(), &dir, &[]);
    let lease = etcd.lease(6);
    etcd.put_with_lease(
        "/skydns/local/skydns/leased/x",
        &service("10.9.1.1"),
        &lease,
    );
    let ttl_of = || -> Option<u32> {
        let lines = s.a_records("leased.skydns.local");
        lines.first()?.split_whitespace().nth(1)?.parse().ok()
    };
    assert!(wait_until(SOON, || ttl_of().is_some()));
    let first = ttl_of().unwrap();
    assert!(
        first <= 6,
        "TTL {first} is at most the lease's 6 s, never the lease ID"
    );
    assert!(wait_until(Duration::from_secs(6), || ttl_of()
        .is_some_and(|t| t < first)));
    // The lease expires (etcd checks leases about every 500 ms): the key goes through the watch.
    assert!(wait_until(Duration::from_secs(15), || {
        status(&s.dig(&["leased.skydns.local", "A"])).as_deref() == Some("NXDOMAIN")
    }));
}

#[test]
fn a_kept_alive_lease_keeps_its_key() {
    let dir = TempDir::new("etcd-keepalive");
    let etcd = Etcd::start();
    let s = start(&etcd.endpoint(), &dir, &[]);
    let lease = etcd.lease(4);
    etcd.put_with_lease("/skydns/local/skydns/kept/x", &service("10.9.2.1"), &lease);
    assert!(wait_until(SOON, || s.shows("kept.skydns.local", "10.9.2.1")));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(9) {
        etcd.ctl(&["lease", "keep-alive", "--once", &lease]);
        assert!(
            s.shows("kept.skydns.local", "10.9.2.1"),
            "a kept-alive key disappeared after {:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(700));
    }
}

#[test]
fn leased_keys_are_held_while_etcd_is_stopped() {
    let dir = TempDir::new("etcd-lease-hold");
    let etcd = Etcd::start();
    let s = start(&etcd.endpoint(), &dir, &[]);
    let lease = etcd.lease(6);
    etcd.put_with_lease("/skydns/local/skydns/held/x", &service("10.9.1.9"), &lease);
    assert!(wait_until(SOON, || s.shows("held.skydns.local", "10.9.1.9")));
    etcd.pause();
    let stopped = Instant::now();
    while stopped.elapsed() < Duration::from_secs(9) {
        let lines = s.a_records("held.skydns.local");
        let ttl: u32 = lines
            .first()
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or_else(|| panic!("leased key gone after {:?}", stopped.elapsed()));
        assert!(ttl <= 6, "TTL {ttl}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // Back, etcd expires the lease that nobody kept alive: the key goes.
    etcd.resume();
    assert!(wait_until(Duration::from_secs(20), || {
        status(&s.dig(&["held.skydns.local", "A"])).as_deref() == Some("NXDOMAIN")
    }));
}

#[test]
fn serves_the_last_snapshot_while_etcd_is_stopped_or_restarted() {
    let dir = TempDir::new("etcd-outage");
    let mut etcd = Etcd::start();
    etcd.put("/skydns/local/skydns/db/1", &service("10.9.3.1"));
    let s = start(&etcd.endpoint(), &dir, &[]);
    assert!(wait_until(SOON, || s.shows("db.skydns.local", "10.9.3.1")));

    etcd.pause();
    let stopped = Instant::now();
    while stopped.elapsed() < Duration::from_secs(6) {
        assert!(
            s.shows("db.skydns.local", "10.9.3.1"),
            "no answer while etcd is stopped"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    etcd.resume();
    etcd.put("/skydns/local/skydns/db/2", &service("10.9.3.2"));
    assert!(wait_until(SOON, || s.shows("db.skydns.local", "10.9.3.2")));

    etcd.kill();
    for _ in 0..5 {
        assert!(
            s.shows("db.skydns.local", "10.9.3.1"),
            "no answer while etcd is down"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    etcd.restart();
    etcd.wait_healthy();
    etcd.put("/skydns/local/skydns/db/3", &service("10.9.3.3"));
    assert!(wait_until(Duration::from_secs(20), || s
        .shows("db.skydns.local", "10.9.3.3")));
    let log = s.log_text();
    assert!(
        log.contains("etcd unavailable; serving the last snapshot"),
        "{log}"
    );
}

#[test]
fn a_compaction_past_the_watched_revision_is_recovered_from() {
    let dir = TempDir::new("etcd-compact");
    let mut etcd = Etcd::start();
    etcd.put("/skydns/local/skydns/cache/1", &service("10.9.4.1"));
    etcd.put("/skydns/local/skydns/cache/2", &service("10.9.4.2"));
    let s = start(&etcd.endpoint(), &dir, &[]);
    assert!(wait_until(SOON, || s.a_records("cache.skydns.local").len() == 2));
    // skydns is frozen while etcd restarts and the history it would resume from is compacted.
    let pid = s.child.id().to_string();
    Command::new("kill").args(["-STOP", &pid]).status().unwrap();
    etcd.restart();
    etcd.wait_healthy();
    etcd.del("/skydns/local/skydns/cache/1");
    etcd.put("/skydns/local/skydns/cache/3", &service("10.9.4.3"));
    etcd.compact();
    Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        let lines = s.a_records("cache.skydns.local");
        lines.len() == 2 && lines.iter().any(|l| l.ends_with("10.9.4.3"))
    }));
    assert!(!s.shows("cache.skydns.local", "10.9.4.1"));
    let log = s.log_text();
    assert!(log.contains("has been compacted"), "{log}");
}

#[test]
fn tls_with_a_client_certificate() {
    let dir = TempDir::new("etcd-tls");
    let certs = Certs::generate(dir.path());
    let etcd = Etcd::start_tls(&certs);
    etcd.put("/skydns/local/skydns/secure/1", &service("10.9.5.1"));
    let (ca, pem, key) = (
        format!("--ca-cert={}", certs.ca.display()),
        format!("--tls-pem={}", certs.client_cert.display()),
        format!("--tls-key={}", certs.client_key.display()),
    );
    let s = start(&etcd.endpoint(), &dir, &[&ca, &pem, &key]);
    assert!(wait_until(SOON, || s.shows("secure.skydns.local", "10.9.5.1")));

    // A certificate from another CA is refused by etcd: skydns keeps answering SERVFAIL.
    let (spem, skey) = (
        format!("--tls-pem={}", dir.path().join("stranger.crt").display()),
        format!("--tls-key={}", dir.path().join("stranger.key").display()),
    );
    let stranger = start_unloaded(&etcd.endpoint(), &dir, &[&ca, &spem, &skey]);
    assert!(wait_until(SOON, || stranger
        .log_text()
        .contains("etcd unavailable")));
    assert_eq!(
        status(&stranger.dig(&["secure.skydns.local", "A"])).as_deref(),
        Some("SERVFAIL")
    );

    // TLS settings with a plain endpoint: refused at start-up, never plain text.
    let plain = format!("--machines=http://127.0.0.1:{}", etcd.client_port);
    let out = run_to_exit(&[&plain, &ca, &pem, &key, &free_addr()]);
    assert_eq!(out.0, Some(1));
    assert!(out.1.contains("refusing plain text"), "{}", out.1);
}

#[test]
fn user_and_password_authentication() {
    let dir = TempDir::new("etcd-auth");
    let mut etcd = Etcd::start();
    etcd.enable_password_auth();
    etcd.put("/skydns/local/skydns/auth/1", &service("10.9.9.1"));
    let s = start(
        &etcd.endpoint(),
        &dir,
        &["--username=skydns", "--password=skydnspw"],
    );
    assert!(wait_until(SOON, || s.shows("auth.skydns.local", "10.9.9.1")));
    etcd.put("/skydns/local/skydns/auth/2", &service("10.9.9.2"));
    assert!(wait_until(SOON, || s.shows("2.auth.skydns.local", "10.9.9.2")));

    let wrong = start_unloaded(
        &etcd.endpoint(),
        &dir,
        &["--username=skydns", "--password=wrong"],
    );
    assert!(wait_until(SOON, || wrong
        .log_text()
        .contains("authentication failed")));
    assert_eq!(
        status(&wrong.dig(&["auth.skydns.local", "A"])).as_deref(),
        Some("SERVFAIL")
    );
    let log = wrong.log_text();
    assert!(
        !log.contains("wrong"),
        "the password is never logged: {log}"
    );
}

#[test]
fn fails_over_to_another_cluster_member() {
    let dir = TempDir::new("etcd-cluster");
    let members = Etcd::cluster();
    let endpoints: Vec<String> = members.iter().map(Etcd::endpoint).collect();
    members[1].put("/skydns/local/skydns/ha/1", &service("10.9.6.1"));
    let s = start(&endpoints.join(","), &dir, &[]);
    assert!(wait_until(SOON, || s.shows("ha.skydns.local", "10.9.6.1")));
    // skydns talks to the first endpoint: stop that member.
    members[0].pause();
    let stopped = Instant::now();
    let mut i = 0;
    let ok = wait_until(Duration::from_secs(30), || {
        i += 1;
        let ip = format!("10.9.6.{}", 100 + i % 100);
        if members[1]
            .try_ctl(&["put", "/skydns/local/skydns/ha/2", &service(&ip)])
            .is_none()
        {
            return false;
        }
        wait_until(Duration::from_millis(500), || {
            s.shows("2.ha.skydns.local", &ip)
        })
    });
    let gap = stopped.elapsed();
    assert!(
        ok,
        "no update within 30 s after the member stopped:\n{}",
        s.log_text()
    );
    eprintln!("updates interrupted for {gap:?} after the member skydns used was stopped");
    assert!(s.shows("1.ha.skydns.local", "10.9.6.1"));
}

#[test]
fn starts_without_etcd_answering_servfail_then_loads() {
    let dir = TempDir::new("etcd-late");
    let port = free_port();
    let s = start_unloaded(&format!("http://127.0.0.1:{port}"), &dir, &[]);
    let asked = Instant::now();
    let out = s.dig(&["late.skydns.local", "A"]);
    assert_eq!(status(&out).as_deref(), Some("SERVFAIL"), "{out}");
    assert!(out.contains("EDE: 14 (Not Ready)"), "{out}");
    assert!(asked.elapsed() < Duration::from_secs(2));
    let etcd = Etcd::start_on(port);
    etcd.put("/skydns/local/skydns/late/1", &service("10.9.7.1"));
    assert!(wait_until(Duration::from_secs(20), || s
        .shows("late.skydns.local", "10.9.7.1")));
    assert!(s
        .log_text()
        .contains("answering SERVFAIL until the first load"));
}

fn free_addr() -> String {
    format!("--addr=127.0.0.1:{}", free_port())
}

/// Runs skydns until it exits (at most 20 s); exit code and stderr.
fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_skydns"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("PROMETHEUS_PORT", "")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let exited = wait_until(Duration::from_secs(20), || {
        matches!(child.try_wait(), Ok(Some(_)))
    });
    if !exited {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_config_key_in_etcd_wins_and_an_invalid_one_stops_start_up() {
    let dir = TempDir::new("etcd-config");
    let etcd = Etcd::start();
    etcd.put("/skydns/config", r#"{"domain":"example.test.","ttl":42}"#);
    etcd.put("/skydns/test/example/www", &service("10.9.8.1"));
    let s = start(&etcd.endpoint(), &dir, &["--domain=skydns.local"]);
    assert!(wait_until(SOON, || s.shows("www.example.test", "10.9.8.1")));
    assert_eq!(
        s.a_records("www.example.test"),
        vec!["www.example.test. 42 IN A 10.9.8.1"]
    );
    let machines = format!("--machines={}", etcd.endpoint());
    let check = run_to_exit(&[&machines, "check-config"]);
    assert_eq!(check.0, Some(0), "{}", check.1);

    etcd.put("/skydns/config", r#"{"ttl":"soon"}"#);
    let (code, stderr) = run_to_exit(&[&machines, "--no-rec", &free_addr()]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("/skydns/config") && stderr.contains("ttl"),
        "{stderr}"
    );
    let (code, stderr) = run_to_exit(&[&machines, "check-config"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("/skydns/config"), "{stderr}");

    let nowhere = format!("--machines=http://127.0.0.1:{}", free_port());
    let (code, stderr) = run_to_exit(&[&nowhere, "check-config"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("etcd"), "{stderr}");
}
