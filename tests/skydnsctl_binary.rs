//! The real `skydnsctl` against a real etcd and the file store, with the real `skydns`
//! answering what it writes: put, ls (table and JSON), rm (and --recursive), leased
//! registrations that go at once on SIGTERM and within the lease after SIGKILL, bad values
//! refused with nothing written, `config get|set`, `check-config`, TLS through the daemon's
//! connector, `--help` and the completion scripts.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::etcd::{Certs, Etcd};
use common::server::{status, wait_until, Skydns, TempDir};

/// Generous bound for a change to show up (expected: milliseconds; the file store polls
/// every 500 ms).
const SOON: Duration = Duration::from_secs(10);

/// The environment variables of the store settings: cleared, so only the arguments count.
const STORE_ENV: [&str; 9] = [
    "ETCD_MACHINES",
    "ETCD_CACERT",
    "ETCD_TLSPEM",
    "ETCD_TLSKEY",
    "ETCD_USERNAME",
    "ETCD_PASSWORD",
    "SKYDNS_PATH_PREFIX",
    "SKYDNS_FILE",
    "SKYDNS_CONFIG",
];

/// What one run of skydnsctl gave.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn command(store: &[String], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skydnsctl"));
    for var in STORE_ENV {
        cmd.env_remove(var);
    }
    cmd.args(args).args(store).stdin(Stdio::null());
    cmd
}

/// Runs skydnsctl with `args` and then the store flags (they are global).
fn ctl(store: &[String], args: &[&str]) -> Run {
    let out = command(store, args).output().expect("run skydnsctl");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs skydnsctl, which must succeed; its stdout.
fn ok(store: &[String], args: &[&str]) -> String {
    let run = ctl(store, args);
    assert_eq!(run.code, Some(0), "skydnsctl {args:?}: {run:?}");
    run.stdout
}

/// Runs skydnsctl, which must fail with `code` and name every one of `words` on stderr.
fn refused(store: &[String], args: &[&str], code: i32, words: &[&str]) {
    let run = ctl(store, args);
    assert_eq!(run.code, Some(code), "skydnsctl {args:?}: {run:?}");
    for word in words {
        assert!(
            run.stderr.contains(word),
            "skydnsctl {args:?}: `{word}` not in {:?}",
            run.stderr
        );
    }
}

fn etcd_store(etcd: &Etcd) -> Vec<String> {
    vec![format!("--machines={}", etcd.endpoint())]
}

fn file_store(file: &Path) -> Vec<String> {
    vec![format!("--file={}", file.display())]
}

fn skydns(store: &[String], dir: &TempDir) -> Skydns {
    let mut args: Vec<&str> = store.iter().map(String::as_str).collect();
    args.extend(["--no-rec", "--log=stderr"]);
    Skydns::start(&args, dir.path())
}

fn nxdomain(s: &Skydns, name: &str) -> bool {
    status(&s.dig(&[name, "A"])).as_deref() == Some("NXDOMAIN")
}

/// Every key and value under `/skydns/` in etcd, as etcdctl prints them.
fn etcd_keys(etcd: &Etcd) -> Vec<String> {
    etcd.ctl(&["get", "--prefix", "/skydns/"])
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The value etcd holds at `key`, if any.
fn etcd_value(etcd: &Etcd, key: &str) -> Option<String> {
    let out = etcd.ctl(&["get", "--print-value-only", "--", key]);
    let value = out.trim_end_matches('\n');
    (!value.is_empty()).then(|| value.to_owned())
}

#[test]
fn put_ls_and_rm_against_etcd_as_skydns_answers() {
    let dir = TempDir::new("ctl-etcd");
    let etcd = Etcd::start();
    let store = etcd_store(&etcd);
    let s = skydns(&store, &dir);

    let out = ok(
        &store,
        &[
            "service",
            "put",
            "web.skydns.local",
            "--host",
            "10.20.0.1",
            "--port",
            "8080",
        ],
    );
    assert_eq!(
        out,
        "/skydns/local/skydns/web = {\"host\":\"10.20.0.1\",\"port\":8080}\n"
    );
    // Exactly what an operator would have written with etcdctl.
    assert_eq!(
        etcd_value(&etcd, "/skydns/local/skydns/web").as_deref(),
        Some(r#"{"host":"10.20.0.1","port":8080}"#)
    );
    ok(
        &store,
        &[
            "service",
            "put",
            "1.web.skydns.local.",
            "--host",
            "10.20.0.2",
            "--port",
            "8081",
            "--priority",
            "20",
            "--text",
            "hello",
        ],
    );
    assert!(wait_until(SOON, || s.a_records("web.skydns.local").len() == 2));
    let srv = s.dig(&["+short", "web.skydns.local", "SRV"]);
    assert!(
        srv.contains(" 8080 ") && srv.contains(" 8081 "),
        "SRV answer: {srv}"
    );

    let table = ok(&store, &["service", "ls"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0][..6],
        ["NAME", "HOST", "PORT", "PRIORITY", "WEIGHT", "TTL"]
    );
    assert_eq!(
        lines[1][..4],
        ["web.skydns.local.", "10.20.0.1", "8080", "-"]
    );
    assert_eq!(
        lines[2][..4],
        ["1.web.skydns.local.", "10.20.0.2", "8081", "20"]
    );
    assert_eq!(lines[2].last(), Some(&"hello"));
    assert_eq!(lines.len(), 3, "{table}");

    let json: serde_json::Value = serde_json::from_str(&ok(
        &store,
        &["service", "ls", "web.skydns.local", "--json"],
    ))
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "/skydns/local/skydns/web": {"host": "10.20.0.1", "port": 8080},
            "/skydns/local/skydns/web/1":
                {"host": "10.20.0.2", "port": 8081, "priority": 20, "text": "hello"},
        })
    );
    let one = ok(&store, &["service", "ls", "1.web.skydns.local"]);
    assert_eq!(one.lines().count(), 2, "{one}");

    assert_eq!(
        ok(&store, &["service", "rm", "1.web.skydns.local"]),
        "removed /skydns/local/skydns/web/1\n"
    );
    assert!(wait_until(SOON, || nxdomain(&s, "1.web.skydns.local")));
    assert_eq!(etcd_value(&etcd, "/skydns/local/skydns/web/1"), None);
    assert!(s.shows("web.skydns.local", "10.20.0.1"));
    refused(
        &store,
        &["service", "rm", "nothere.skydns.local"],
        1,
        &["nothere.skydns.local"],
    );
    refused(
        &store,
        &["service", "ls", "nothere.skydns.local"],
        1,
        &["nothere.skydns.local"],
    );
}

#[test]
fn rm_recursive_removes_the_subtree_and_nothing_beside_it() {
    let etcd = Etcd::start();
    let store = etcd_store(&etcd);
    for name in [
        "a.grp.skydns.local",
        "b.grp.skydns.local",
        "x.b.grp.skydns.local",
        "grpx.skydns.local",
    ] {
        ok(&store, &["service", "put", name, "--host", "10.20.2.1"]);
    }
    // No service at grp itself: without --recursive nothing is removed.
    refused(
        &store,
        &["service", "rm", "grp.skydns.local"],
        1,
        &["--recursive", "3 below"],
    );
    assert_eq!(etcd_keys(&etcd).len(), 8);
    // A name's own service goes alone without --recursive.
    ok(&store, &["service", "rm", "b.grp.skydns.local"]);
    assert_eq!(etcd_value(&etcd, "/skydns/local/skydns/grp/b"), None);
    assert!(etcd_value(&etcd, "/skydns/local/skydns/grp/b/x").is_some());
    assert_eq!(
        ok(
            &store,
            &["service", "rm", "--recursive", "grp.skydns.local"]
        ),
        "removed 2 keys at and below grp.skydns.local.\n"
    );
    assert_eq!(
        etcd_keys(&etcd),
        ["/skydns/local/skydns/grpx", r#"{"host":"10.20.2.1"}"#]
    );
}

/// A `skydnsctl service put --lease` running in the background, its stdout lines on a channel.
struct Leased {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Leased {
    fn start(store: &[String], name: &str, ip: &str, ttl: &str) -> Leased {
        let mut child = command(
            store,
            &["service", "put", name, "--host", ip, "--lease", ttl],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start skydnsctl");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut leased = Leased { child, lines };
        let first = leased.line();
        assert!(first.starts_with(&format!("registered {name}")), "{first}");
        leased
    }

    fn line(&mut self) -> String {
        self.lines
            .recv_timeout(SOON)
            .expect("a line from skydnsctl within 10 s")
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }

    fn exit_code(&mut self) -> Option<i32> {
        let exited = wait_until(SOON, || matches!(self.child.try_wait(), Ok(Some(_))));
        assert!(exited, "skydnsctl did not exit");
        self.child.wait().unwrap().code()
    }
}

impl Drop for Leased {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_leased_put_lives_while_skydnsctl_runs() {
    let dir = TempDir::new("ctl-lease");
    let etcd = Etcd::start();
    let store = etcd_store(&etcd);
    let s = skydns(&store, &dir);

    // Renewed every second: still there well past its 3 s TTL; SIGTERM removes it at once.
    let mut kept = Leased::start(&store, "kept.skydns.local.", "10.20.1.1", "3s");
    assert!(wait_until(SOON, || s.shows("kept.skydns.local", "10.20.1.1")));
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(7) {
        assert!(
            s.shows("kept.skydns.local", "10.20.1.1"),
            "the leased service went after {:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    kept.signal("-TERM");
    let stopped = Instant::now();
    assert!(wait_until(SOON, || nxdomain(&s, "kept.skydns.local")));
    assert!(
        stopped.elapsed() < Duration::from_secs(2),
        "gone only after {:?}",
        stopped.elapsed()
    );
    assert_eq!(kept.exit_code(), Some(0));
    assert!(kept.line().starts_with("removed kept.skydns.local."));
    assert_eq!(etcd_value(&etcd, "/skydns/local/skydns/kept"), None);

    // Killed hard: nothing revokes the lease; it runs out within its TTL.
    let mut killed = Leased::start(&store, "killed.skydns.local.", "10.20.1.2", "3s");
    assert!(wait_until(SOON, || s.shows("killed.skydns.local", "10.20.1.2")));
    killed.signal("-KILL");
    let at = Instant::now();
    assert_eq!(killed.exit_code(), None);
    assert!(wait_until(SOON, || nxdomain(&s, "killed.skydns.local")));
    // The TTL, plus etcd's lease checks (every 500 ms) and the watch.
    assert!(
        at.elapsed() < Duration::from_secs(5),
        "gone only after {:?}",
        at.elapsed()
    );
}

#[test]
fn bad_values_are_refused_by_name_and_nothing_is_written() {
    let etcd = Etcd::start();
    let store = etcd_store(&etcd);
    fn put<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["service", "put", "x.skydns.local"];
        args.extend_from_slice(extra);
        args
    }
    refused(
        &store,
        &put(&["--host", "10.0.0.1", "--port", "70000"]),
        2,
        &["--port", "70000"],
    );
    refused(&store, &put(&["--host", "a..b"]), 2, &["--host", "a..b"]);
    refused(
        &store,
        &put(&["--host", "10.0.0.1", "--targetstrip", "300"]),
        2,
        &["--targetstrip"],
    );
    refused(
        &store,
        &put(&["--host", "10.0.0.1", "--port", "-1"]),
        2,
        &["-1"],
    );
    refused(
        &store,
        &put(&["--host", "10.0.0.1", "--lease", "0s"]),
        2,
        &["--lease"],
    );
    refused(&store, &put(&["--port", "80"]), 2, &["--host"]);
    refused(
        &store,
        &["service", "put", "a..b.skydns.local", "--host", "10.0.0.1"],
        2,
        &["a..b.skydns.local", "empty label"],
    );
    refused(
        &store,
        &["service", "put", "a/b.local", "--host", "10.0.0.1"],
        2,
        &["`/`"],
    );
    refused(
        &store,
        &["service", "put", "config", "--host", "10.0.0.1"],
        2,
        &["/skydns/config"],
    );
    refused(
        &store,
        &["config", "set", "ttl=abc"],
        2,
        &["key `ttl`", "abc"],
    );
    refused(
        &store,
        &["config", "set", "nosuchkey=1"],
        2,
        &["key `nosuchkey`", "not a known setting"],
    );
    refused(
        &store,
        &["config", "set", "ttl=60", "nosuchkey=1"],
        2,
        &["nosuchkey"],
    );
    refused(
        &store,
        &["config", "set", "dns_addr=127.0.0.1:53"],
        2,
        &["dns_addr", "start-up"],
    );
    refused(&store, &["config", "set", "ttl"], 2, &["KEY=VALUE"]);
    assert_eq!(
        etcd_keys(&etcd),
        Vec::<String>::new(),
        "nothing was written"
    );

    // Good settings are merged in; a bad one later leaves them as they are.
    ok(&store, &["config", "set", "ttl=60", "no_rec=true"]);
    ok(&store, &["config", "set", "TTL=90"]);
    let get: serde_json::Value = serde_json::from_str(&ok(&store, &["config", "get"])).unwrap();
    assert_eq!(get, serde_json::json!({"ttl": 90, "no_rec": true}));
    refused(&store, &["config", "set", "ttl=soon"], 2, &["key `ttl`"]);
    assert_eq!(
        etcd_value(&etcd, "/skydns/config").as_deref(),
        Some(r#"{"no_rec":true,"ttl":90}"#)
    );
    assert!(ok(&store, &["check-config"]).contains("configuration is valid"));
    // Invalid settings: exit 1 and the key named, as `skydns check-config` does.
    refused(
        &store,
        &["check-config", "--domain=a..b"],
        1,
        &["key `domain`"],
    );
    let shown = ok(&store, &["check-config", "--show", "--ttl=5"]);
    assert!(shown.contains("ttl = \"90\"  # /skydns/config"), "{shown}");

    // A bad store setting names its flag; an unreachable etcd is a failure, not a usage error.
    refused(
        &[],
        &["service", "ls", "--machines", "127.0.0.1:2379"],
        2,
        &["machines"],
    );
    refused(
        &[],
        &["service", "ls", "--machines", "http://127.0.0.1:1"],
        1,
        &["etcd"],
    );
}

#[test]
fn the_file_store_works_the_same() {
    let dir = TempDir::new("ctl-file");
    let file = dir.path().join("services.json");
    std::fs::write(&file, "{}\n").unwrap();
    let store = file_store(&file);
    let s = skydns(&store, &dir);

    ok(
        &store,
        &[
            "service",
            "put",
            "web.skydns.local",
            "--host",
            "10.20.3.1",
            "--port",
            "80",
        ],
    );
    ok(
        &store,
        &["service", "put", "txt.web.skydns.local", "--text", "hello"],
    );
    assert!(wait_until(SOON, || s.shows("web.skydns.local", "10.20.3.1")));
    let txt = s.dig(&["+short", "txt.web.skydns.local", "TXT"]);
    assert_eq!(txt.trim(), "\"hello\"");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        text,
        "{\n  \"/skydns/local/skydns/web\": {\"host\":\"10.20.3.1\",\"port\":80},\n  \"/skydns/local/skydns/web/txt\": {\"text\":\"hello\"}\n}\n"
    );
    let table = ok(&store, &["service", "ls", "web.skydns.local"]);
    assert_eq!(table.lines().count(), 3, "{table}");
    // `ls --json` is a file store.
    assert_eq!(ok(&store, &["service", "ls", "--json"]), text);

    // Refused: nothing is written.
    refused(
        &store,
        &[
            "service",
            "put",
            "web.skydns.local",
            "--host",
            "10.0.0.1",
            "--lease",
            "10s",
        ],
        2,
        &["--lease", "file store"],
    );
    refused(
        &store,
        &[
            "service",
            "put",
            "web.skydns.local",
            "--host",
            "10.0.0.1",
            "--port",
            "70000",
        ],
        2,
        &["--port"],
    );
    refused(&store, &["config", "set", "ttl=abc"], 2, &["key `ttl`"]);
    refused(&store, &["config", "set", "nosuchkey=1"], 2, &["nosuchkey"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    ok(&store, &["config", "set", "ttl=30"]);
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("\"/skydns/config\": {\"ttl\":30}"));
    assert!(ok(&store, &["check-config"]).contains("configuration is valid"));
    let get: serde_json::Value = serde_json::from_str(&ok(&store, &["config", "get"])).unwrap();
    assert_eq!(get, serde_json::json!({"ttl": 30}));

    ok(&store, &["service", "rm", "-r", "web.skydns.local"]);
    assert!(wait_until(SOON, || nxdomain(&s, "web.skydns.local")));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\n  \"/skydns/config\": {\"ttl\":30}\n}\n"
    );
    // No temporary file is left beside the store.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("services"))
        .collect();
    assert_eq!(names, ["services.json"]);
}

#[test]
fn tls_and_permissions_through_the_daemons_connector() {
    let dir = TempDir::new("ctl-tls");
    let certs = Certs::generate(dir.path());
    let etcd = Etcd::start_tls(&certs);
    let with = |cert: &Path, key: &Path| {
        vec![
            format!("--machines={}", etcd.endpoint()),
            format!("--ca-cert={}", certs.ca.display()),
            format!("--tls-pem={}", cert.display()),
            format!("--tls-key={}", key.display()),
        ]
    };
    let root = with(&certs.root_cert, &certs.root_key);
    ok(
        &root,
        &[
            "service",
            "put",
            "secure.skydns.local",
            "--host",
            "10.20.4.1",
        ],
    );
    assert!(ok(&root, &["service", "ls"]).contains("secure.skydns.local."));
    // The daemon's read-only user may list but not write.
    let reader = with(&certs.client_cert, &certs.client_key);
    assert!(ok(&reader, &["service", "ls"]).contains("10.20.4.1"));
    refused(
        &reader,
        &[
            "service",
            "put",
            "other.skydns.local",
            "--host",
            "10.20.4.2",
        ],
        1,
        &["permission denied"],
    );
    // TLS with a plain endpoint is refused, as by the daemon.
    let mut plain = reader.clone();
    plain[0] = format!("--machines=http://127.0.0.1:{}", etcd.client_port);
    refused(&plain, &["service", "ls"], 1, &["refusing plain text"]);
}

#[test]
fn help_for_every_subcommand_and_completion_scripts() {
    for (args, words) in [
        (
            &["--help"][..],
            &[
                "service",
                "config",
                "check-config",
                "--machines",
                "--file",
                "ETCD_MACHINES",
            ][..],
        ),
        (&["service", "--help"], &["put", "rm", "ls"]),
        (
            &["service", "put", "--help"],
            &[
                "--host",
                "--port",
                "--priority",
                "--weight",
                "--ttl",
                "--text",
                "--mail",
                "--group",
                "--targetstrip",
                "--lease",
                "--path-prefix",
            ],
        ),
        (&["service", "rm", "--help"], &["--recursive"]),
        (&["service", "ls", "--help"], &["--json"]),
        (&["config", "--help"], &["get", "set"]),
        (&["config", "set", "--help"], &["KEY=VALUE"]),
        (&["config", "get", "--help"], &["--config"]),
        (
            &["check-config", "--help"],
            &["--show", "--domain", "--machines"],
        ),
    ] {
        let out = ok(&[], args);
        for word in words {
            assert!(
                out.contains(word),
                "{word} missing from skydnsctl {args:?}:\n{out}"
            );
        }
    }
    assert!(ok(&[], &["--version"]).starts_with("skydnsctl "));
    let bash = ok(&[], &["completions", "bash"]);
    assert!(
        bash.contains("complete -F _skydnsctl") && bash.contains("--targetstrip"),
        "{bash}"
    );
    let zsh = ok(&[], &["completions", "zsh"]);
    assert!(
        zsh.starts_with("#compdef skydnsctl") && zsh.contains("--lease"),
        "{zsh}"
    );
    // A usage error exits 2, as clap's own do.
    assert_eq!(ctl(&[], &[]).code, Some(2));
    assert_eq!(ctl(&[], &["service", "frobnicate"]).code, Some(2));
}
