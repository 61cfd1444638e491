//! A real Knot DNS (`knotd`, Debian's `knot`) as the reference server: it serves the zones it
//! is given on a free loopback port, with its configuration, run directory, key storage and
//! zone files in a temporary directory, and is killed on drop.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

use super::server::{free_port, udp_query, wait_until, TempDir};

/// A running knotd.
pub(crate) struct Knot {
    child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: TempDir,
}

impl Knot {
    /// Starts knotd serving `zones` (origin, master-file text) and waits until every zone is
    /// loaded (its SOA answered authoritatively).
    pub(crate) fn start(zones: &[(&str, &str)]) -> Knot {
        let dir = TempDir::new("knot");
        let port = free_port();
        let root = dir.path().display().to_string();
        let mut conf = format!(
            "server:\n    rundir: \"{root}\"\n    listen: 127.0.0.1@{port}\n\
             log:\n  - target: stderr\n    any: info\n\
             database:\n    storage: \"{root}\"\n\
             template:\n  - id: default\n    storage: \"{root}\"\n    zonefile-sync: -1\n    \
             journal-content: none\n\
             zone:\n"
        );
        for (i, (origin, text)) in zones.iter().enumerate() {
            let file = dir.path().join(format!("zone{i}"));
            std::fs::write(&file, text).unwrap();
            conf.push_str(&format!(
                "  - domain: \"{origin}\"\n    file: \"{}\"\n",
                file.display()
            ));
        }
        let conf_path = dir.path().join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = dir.path().join("knotd.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .expect("start knotd (package knot)");
        let mut knot = Knot {
            child,
            port,
            log,
            _dir: dir,
        };
        for (origin, _) in zones {
            let loaded = wait_until(Duration::from_secs(20), || {
                if let Ok(Some(status)) = knot.child.try_wait() {
                    panic!("knotd exited with {status}:\n{}", knot.log_text());
                }
                udp_query(
                    knot.addr(),
                    origin,
                    RecordType::SOA,
                    Duration::from_millis(200),
                )
                .is_some_and(|m| {
                    m.metadata.authoritative && m.metadata.response_code == ResponseCode::NoError
                })
            });
            assert!(loaded, "knotd did not load {origin}:\n{}", knot.log_text());
        }
        knot
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
