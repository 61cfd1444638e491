//! DNSSEC keys for tests, made by BIND's `dnssec-keygen` (Debian package bind9-utils).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A key made by `dnssec-keygen` in `dir`: its basename and `.key` file.
pub(crate) struct Key {
    pub basename: PathBuf,
    pub public: PathBuf,
}

pub(crate) fn keygen(dir: &Path, algorithm: &str, zone: &str) -> Key {
    let out = Command::new("dnssec-keygen")
        .args(["-q", "-K"])
        .arg(dir)
        .args(["-a", algorithm, "-n", "ZONE", zone])
        .output()
        .expect("run dnssec-keygen (package bind9-utils)");
    assert!(
        out.status.success(),
        "dnssec-keygen -a {algorithm}: {out:?}"
    );
    let name = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let basename = dir.join(&name);
    let public = dir.join(format!("{name}.key"));
    Key { basename, public }
}

impl Key {
    /// The DNSKEY RR of the `.key` file (comments left out).
    pub(crate) fn dnskey_line(&self) -> String {
        std::fs::read_to_string(&self.public)
            .unwrap()
            .lines()
            .find(|l| !l.starts_with(';') && l.contains("DNSKEY"))
            .expect("DNSKEY line")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A `delv -a` file trusting this key for skydns.local.
    pub(crate) fn delv_anchor(&self, dir: &Path) -> PathBuf {
        let line = self.dnskey_line();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let at = fields.iter().position(|f| *f == "DNSKEY").unwrap();
        let text = format!(
            "trust-anchors {{\n  skydns.local. static-key {} {} {} \"{}\";\n}};\n",
            fields[at + 1],
            fields[at + 2],
            fields[at + 3],
            fields[at + 4..].concat()
        );
        let path = dir.join(format!(
            "{}.anchor",
            self.basename.file_name().unwrap().to_string_lossy()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }
}
