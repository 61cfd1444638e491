//! A real etcd (Debian's `etcd-server`) for tests: one member or a three-member cluster on
//! free loopback ports with temporary data dirs, optionally with TLS and client certificates
//! (made with `openssl`). Keys are written with `etcdctl` (Debian's `etcd-client`) or, for many
//! keys at once, with the etcd-client crate. Processes are stopped on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::server::{free_port, wait_until, TempDir};

/// Files of a test PKI: a CA, a server certificate for 127.0.0.1 and a client certificate.
pub(crate) struct Certs {
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// CN=skydns: the read-only etcd user skydns runs as.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// CN=root: the etcd administrator the tests write with.
    pub root_cert: PathBuf,
    pub root_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a CA and a certificate signed by it (EC P-256, one day).
fn issue(dir: &Path, name: &str, ca: &str, cn: &str, ext: &str) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    let ext_file = format!("{name}.ext");
    std::fs::write(dir.join(&ext_file), ext).unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "1",
            "-extfile",
            &ext_file,
        ],
    );
}

impl Certs {
    /// Generates the PKI in `dir`; `other_ca` makes a second, unrelated CA (`other-ca.crt`).
    pub(crate) fn generate(dir: &Path) -> Certs {
        for ca in ["ca", "other-ca"] {
            openssl(
                dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-nodes",
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.crt"),
                    "-days",
                    "1",
                    "-subj",
                    &format!("/CN=skydns test {ca}"),
                ],
            );
        }
        issue(
            dir,
            "server",
            "ca",
            "etcd",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
        );
        issue(
            dir,
            "client",
            "ca",
            "skydns",
            "extendedKeyUsage=clientAuth\n",
        );
        issue(dir, "root", "ca", "root", "extendedKeyUsage=clientAuth\n");
        issue(
            dir,
            "stranger",
            "other-ca",
            "skydns",
            "extendedKeyUsage=clientAuth\n",
        );
        Certs {
            ca: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            root_cert: dir.join("root.crt"),
            root_key: dir.join("root.key"),
        }
    }
}

/// One etcd member.
pub(crate) struct Etcd {
    pub name: String,
    pub client_port: u16,
    pub peer_port: u16,
    args: Vec<String>,
    tls: Option<(PathBuf, PathBuf, PathBuf)>,
    /// `user:password` for etcdctl once password authentication is on.
    user: Option<String>,
    child: Option<Child>,
    log: PathBuf,
    _dir: TempDir,
}

impl Etcd {
    /// A single-member etcd, healthy.
    pub(crate) fn start() -> Etcd {
        Self::start_on(free_port())
    }

    /// A single-member etcd on the given client port, healthy.
    pub(crate) fn start_on(client_port: u16) -> Etcd {
        let mut e = Self::member("solo", client_port, free_port(), None);
        e.finish_args(&format!("solo=http://127.0.0.1:{}", e.peer_port));
        e.spawn();
        e.wait_healthy();
        e
    }

    /// A single-member etcd serving TLS, requiring client certificates from `certs`' CA, with
    /// authentication on: the certificate's CN is the user; `root` may do anything, `skydns`
    /// may only read `/skydns/`. etcdctl runs as root.
    pub(crate) fn start_tls(certs: &Certs) -> Etcd {
        let mut e = Self::member(
            "tls",
            free_port(),
            free_port(),
            Some((
                certs.ca.clone(),
                certs.root_cert.clone(),
                certs.root_key.clone(),
            )),
        );
        e.finish_args(&format!("tls=http://127.0.0.1:{}", e.peer_port));
        for arg in [
            "--client-cert-auth".to_owned(),
            format!("--trusted-ca-file={}", certs.ca.display()),
            format!("--cert-file={}", certs.server_cert.display()),
            format!("--key-file={}", certs.server_key.display()),
        ] {
            e.args.push(arg);
        }
        e.spawn();
        e.wait_healthy();
        e.enable_auth("--no-password", "--no-password");
        e
    }

    /// Turns authentication on with passwords: `root`/`rootpw` may do anything (etcdctl runs
    /// as root from now on), `skydns`/`skydnspw` may only read `/skydns/`.
    pub(crate) fn enable_password_auth(&mut self) {
        self.enable_auth("--new-user-password=rootpw", "--new-user-password=skydnspw");
        self.user = Some("root:rootpw".to_owned());
    }

    fn enable_auth(&self, root_password: &str, skydns_password: &str) {
        let commands: [&[&str]; 8] = [
            &["user", "add", "root", root_password],
            &["role", "add", "root"],
            &["user", "grant-role", "root", "root"],
            &["role", "add", "skydns-ro"],
            &[
                "role",
                "grant-permission",
                "skydns-ro",
                "--prefix=true",
                "read",
                "/skydns/",
            ],
            &["user", "add", "skydns", skydns_password],
            &["user", "grant-role", "skydns", "skydns-ro"],
            &["auth", "enable"],
        ];
        for cmd in commands {
            self.ctl(cmd);
        }
    }

    /// A three-member cluster on loopback, healthy.
    pub(crate) fn cluster() -> Vec<Etcd> {
        let mut members: Vec<Etcd> = (0..3)
            .map(|i| Self::member(&format!("m{i}"), free_port(), free_port(), None))
            .collect();
        let initial: Vec<String> = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer_port))
            .collect();
        for m in &mut members {
            m.finish_args(&initial.join(","));
            m.spawn();
        }
        for m in &members {
            m.wait_healthy();
        }
        members
    }

    fn member(
        name: &str,
        client_port: u16,
        peer_port: u16,
        tls: Option<(PathBuf, PathBuf, PathBuf)>,
    ) -> Etcd {
        let dir = TempDir::new(&format!("etcd-{name}"));
        let scheme = if tls.is_some() { "https" } else { "http" };
        let client_url = format!("{scheme}://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let args = vec![
            format!("--name={name}"),
            format!("--data-dir={}", dir.path().join("data").display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            "--initial-cluster-state=new".to_owned(),
            "--heartbeat-interval=50".to_owned(),
            "--election-timeout=500".to_owned(),
        ];
        Etcd {
            name: name.to_owned(),
            client_port,
            peer_port,
            args,
            tls,
            user: None,
            child: None,
            log: dir.path().join("etcd.log"),
            _dir: dir,
        }
    }

    fn finish_args(&mut self, initial_cluster: &str) {
        self.args
            .push(format!("--initial-cluster={initial_cluster}"));
        // Members of one cluster share the token: derive it from the cluster's member list.
        let token: u32 = initial_cluster.bytes().map(u32::from).sum();
        self.args.push(format!("--initial-cluster-token=t{token}"));
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new("etcd")
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start etcd (package etcd-server)");
        self.child = Some(child);
    }

    /// The client URL.
    pub(crate) fn endpoint(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the member answers a read through the cluster.
    pub(crate) fn wait_healthy(&self) {
        let ok = wait_until(Duration::from_secs(20), || {
            self.try_ctl(&["endpoint", "health"]).is_some()
        });
        assert!(ok, "etcd {} not healthy:\n{}", self.name, self.log_text());
    }

    /// `etcdctl` against this member; stdout on success.
    pub(crate) fn try_ctl(&self, args: &[&str]) -> Option<String> {
        let mut cmd = Command::new("etcdctl");
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoint()))
            .args(["--dial-timeout=1s", "--command-timeout=3s"]);
        if let Some((ca, cert, key)) = &self.tls {
            cmd.arg(format!("--cacert={}", ca.display()))
                .arg(format!("--cert={}", cert.display()))
                .arg(format!("--key={}", key.display()));
        }
        if let Some(user) = &self.user {
            cmd.arg(format!("--user={user}"));
        }
        let out = cmd
            .args(args)
            .output()
            .expect("run etcdctl (package etcd-client)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// `etcdctl`, which must succeed.
    pub(crate) fn ctl(&self, args: &[&str]) -> String {
        self.try_ctl(args)
            .unwrap_or_else(|| panic!("etcdctl {args:?} failed against {}", self.name))
    }

    pub(crate) fn put(&self, key: &str, value: &str) {
        self.ctl(&["put", "--", key, value]);
    }

    pub(crate) fn del(&self, key: &str) {
        self.ctl(&["del", "--", key]);
    }

    /// Grants a lease of `ttl` seconds; returns its ID (hex, as etcdctl prints it).
    pub(crate) fn lease(&self, ttl: u32) -> String {
        let out = self.ctl(&["lease", "grant", &ttl.to_string()]);
        // "lease 694d7d3d4b4c1b0a granted with TTL(5s)"
        out.split_whitespace().nth(1).unwrap().to_owned()
    }

    pub(crate) fn put_with_lease(&self, key: &str, value: &str, lease: &str) {
        self.ctl(&["put", &format!("--lease={lease}"), "--", key, value]);
    }

    /// The current revision of the store.
    pub(crate) fn revision(&self) -> i64 {
        let out = self.ctl(&["get", "/", "--prefix", "--limit=1", "-w", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["header"]["revision"].as_i64().unwrap()
    }

    /// Compacts the history up to the current revision.
    pub(crate) fn compact(&self) -> i64 {
        let rev = self.revision();
        self.ctl(&["compact", &rev.to_string(), "--physical"]);
        rev
    }

    /// Puts many keys at once through the etcd-client crate (plain endpoints only).
    pub(crate) fn put_many(&self, items: &[(String, String)]) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut client = etcd_client::Client::connect([self.endpoint()], None)
                .await
                .unwrap();
            for chunk in items.chunks(100) {
                let ops: Vec<etcd_client::TxnOp> = chunk
                    .iter()
                    .map(|(k, v)| etcd_client::TxnOp::put(k.as_str(), v.as_str(), None))
                    .collect();
                client
                    .txn(etcd_client::Txn::new().and_then(ops))
                    .await
                    .unwrap();
            }
        });
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("etcd running").id();
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }

    /// SIGSTOP: the process hangs with its sockets open.
    pub(crate) fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`Etcd::pause`].
    pub(crate) fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGKILL, without cleanup.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the member again on the same data dir and ports (after [`Etcd::kill`]).
    pub(crate) fn restart(&mut self) {
        self.kill();
        for a in &mut self.args {
            if a.starts_with("--initial-cluster-state") {
                *a = "--initial-cluster-state=existing".to_owned();
            }
        }
        self.spawn();
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        self.kill();
    }
}

/// Every key and value of the golden fixture, values as an operator would put them: objects
/// as JSON text, strings as they are.
pub(crate) fn fixture_items() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fixture.json");
    let text = std::fs::read_to_string(path).unwrap();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text).unwrap();
    map.into_iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, value)
        })
        .collect()
}
