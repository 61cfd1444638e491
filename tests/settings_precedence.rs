//! Every setting of the table walked through every source it has, against the real binary:
//! the TOML file, then its environment variable (when it has one), then its flag, then
//! `/<prefix>/config` in the store. After each step `skydns check-config --show` must report
//! the value of the newest source and name that source; start-up settings in the store are
//! ignored and keep the flag's value.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::dnssec::keygen;
use common::server::TempDir;
use skydns::config::settings::RuntimeSettings;
use skydns::config::sources::all_specs;
use skydns::config::table::{Spec, Table};

/// Four valid, distinct values per setting: for the file, the environment, the flag and the
/// store. Keys the DNSSEC key depends on (domain, dnssec) share the file and environment
/// value, so the key always matches the domain whichever source wins.
fn samples(key: &str, dir: &Path, keys: &[String; 3]) -> [String; 4] {
    let n = |base: u32| [1, 2, 3, 4].map(|i| (base + i).to_string());
    let s = |f: &dyn Fn(u32) -> String| [1, 2, 3, 4].map(f);
    match key {
        "dns_addr" => s(&|i| format!("127.0.0.1:{}", 5300 + i)),
        "systemd" | "round_robin" | "ns_rotate" | "no_rec" | "stubzones" | "query_log" => {
            s(&|i| (i % 2 == 1).to_string())
        }
        "machines" => s(&|i| format!("http://127.0.0.1:{}", 2300 + i)),
        "tls_key" | "tls_pem" | "ca_cert" => s(&|i| format!("/nonexistent/{key}{i}")),
        "username" | "password" | "user" | "group" => s(&|i| format!("{key}{i}")),
        "path_prefix" => s(&|i| format!("prefix{i}")),
        "file" => s(&|i| dir.join(format!("store{i}.json")).display().to_string()),
        "log" => s(&|i| if i % 2 == 1 { "stderr" } else { "syslog" }.to_owned()),
        "tcp_idle_timeout" => s(&|i| format!("{}s", 10 + i)),
        "read_timeout" => s(&|i| format!("{}s", 2 + i)),
        "tcp_max_connections" | "tcp_max_per_client" | "scache" => n(100),
        "priority" | "rcache" => n(10),
        "ttl" => n(300),
        "min_ttl" | "rcache_ttl" => n(30),
        "ndots" => n(2),
        "edns_payload" => n(1200),
        "domain" => ["a.test.", "a.test.", "c.test.", "d.test."].map(str::to_owned),
        "dnssec" => [&keys[0], &keys[0], &keys[1], &keys[2]].map(std::clone::Clone::clone),
        "hostmaster" => s(&|i| format!("ops{i}.example.")),
        "local" => s(&|i| format!("local{i}.example.")),
        "nameservers" => s(&|i| format!("127.0.0.1:{}", 5400 + i)),
        "forward_allow" => s(&|i| format!("10.{i}.0.0/16")),
        "log_level" => ["debug", "warn", "error", "trace"].map(str::to_owned),
        "answer_cache" | "rcache_size" => ["1MiB", "2MiB", "3MiB", "5MiB"].map(str::to_owned),
        "rrl" => n(100),
        "rrl_slip" => n(0),
        "rrl_exempt" => s(&|i| format!("192.0.{i}.0/24")),
        "metrics_addr" => s(&|i| format!("127.0.0.1:{}", 9200 + i)),
        "metrics_path" => s(&|i| format!("/metrics{i}")),
        "metrics_namespace" | "metrics_subsystem" => s(&|i| format!("{key}{i}")),
        "ready_stale_after" => s(&|i| format!("{}s", 20 + i)),
        other => panic!("no sample values for the setting `{other}`: add them to this test"),
    }
}

/// A TOML or JSON literal for a sample: numbers and booleans typed, the rest strings.
fn literal(value: &str) -> String {
    if value.parse::<u64>().is_ok() || value == "true" || value == "false" {
        value.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// `key -> (value, source)` as `skydns check-config --show` prints them.
fn show(toml: &Path, env: &[(&str, &str)], flags: &[String]) -> BTreeMap<String, (String, String)> {
    let out = Command::new(env!("CARGO_BIN_EXE_skydns"))
        .env_clear()
        .envs(env.iter().copied())
        .arg(format!("--config={}", toml.display()))
        .args(flags)
        .args(["check-config", "--show"])
        .output()
        .expect("run skydns");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "check-config failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .filter_map(|line| {
            let (key, rest) = line.split_once(" = ")?;
            let (value, source) = rest.split_once("  # ")?;
            let value: String = serde_json::from_str(value).ok()?;
            Some((key.to_owned(), (value, source.to_owned())))
        })
        .collect()
}

#[test]
fn every_setting_takes_its_value_from_the_newest_source() {
    let dir = TempDir::new("precedence");
    let keys = ["a.test", "c.test", "d.test"].map(|zone| {
        keygen(dir.path(), "ECDSAP256SHA256", zone)
            .basename
            .display()
            .to_string()
    });
    let specs: Vec<&Spec> = all_specs().collect();
    let sample: BTreeMap<&str, [String; 4]> = specs
        .iter()
        .map(|s| (s.key, samples(s.key, dir.path(), &keys)))
        .collect();
    let value = |key: &str, layer: usize| sample[key][layer].clone();

    let toml = dir.path().join("skydns.toml");
    let file_text: String = specs
        .iter()
        .map(|s| format!("{} = {}\n", s.key, literal(&value(s.key, 0))))
        .collect();
    std::fs::write(&toml, file_text).unwrap();
    // The store's settings sit under the prefix the flags give; start-up settings there are
    // ignored. Until the last step every store file is empty.
    let store_prefix = value("path_prefix", 2);
    let store_config: serde_json::Map<String, serde_json::Value> = specs
        .iter()
        .map(|s| {
            let v = serde_json::from_str(&literal(&value(s.key, 3))).unwrap();
            (s.key.to_owned(), v)
        })
        .collect();
    for i in 0..4 {
        std::fs::write(value("file", i), "{}").unwrap();
    }

    let env_values: Vec<(&str, String)> = specs
        .iter()
        .filter_map(|s| Some((s.env?, value(s.key, 1))))
        .collect();
    let env: Vec<(&str, &str)> = env_values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let flags: Vec<String> = specs
        .iter()
        .map(|s| format!("--{}={}", s.flag, value(s.key, 2)))
        .collect();

    let toml_name = toml.display().to_string();
    let check = |step: &str,
                 got: &BTreeMap<String, (String, String)>,
                 want: &dyn Fn(&Spec) -> (usize, String)| {
        for spec in &specs {
            let (layer, source) = want(spec);
            let expected_value = if spec.shape.secret {
                "(hidden)".to_owned()
            } else {
                value(spec.key, layer)
            };
            let shown = got
                .get(spec.key)
                .unwrap_or_else(|| panic!("{step}: `{}` not shown", spec.key));
            assert_eq!(
                shown,
                &(expected_value, source),
                "{step}: setting `{}`",
                spec.key
            );
        }
    };

    let got = show(&toml, &[], &[]);
    check("file", &got, &|_| (0, toml_name.clone()));

    let got = show(&toml, &env, &[]);
    check("environment", &got, &|s| match s.env {
        Some(_) => (1, "environment".to_owned()),
        None => (0, toml_name.clone()),
    });

    let got = show(&toml, &env, &flags);
    check("flags", &got, &|_| (2, "command line".to_owned()));

    let store = serde_json::json!({ format!("/{store_prefix}/config"): store_config });
    std::fs::write(value("file", 2), store.to_string()).unwrap();
    let got = show(&toml, &env, &flags);
    let runtime: Vec<&str> = RuntimeSettings::SPECS.iter().map(|s| s.key).collect();
    check("store", &got, &|s| {
        if runtime.contains(&s.key) {
            (3, format!("/{store_prefix}/config"))
        } else {
            (2, "command line".to_owned())
        }
    });
}

#[test]
fn the_man_page_names_every_setting_and_flag() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/skydns.8.scd"
    ))
    .expect("packaging/skydns.8.scd");
    let page = page.replace('\\', "");
    let missing: Vec<String> = all_specs()
        .flat_map(|s| [format!("*{}*", s.key), format!("*--{}*", s.flag)])
        .filter(|word| !page.contains(word.as_str()))
        .collect();
    assert!(missing.is_empty(), "skydns(8) does not mention {missing:?}");
}
