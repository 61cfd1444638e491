//! The golden battery: cases in presentation format (`tests/golden/*.golden`) run through the
//! core against a snapshot. The same runner serves every store: the file-store test builds the
//! snapshot from `tests/golden/fixture.json`, the etcd test from the same keys put into a real
//! etcd.
//!
//! Case format (one case per `=== title` block):
//! ```text
//! === title
//! query: NAME TYPE [+do] [+tcp] [+noedns] [+bufsize=N] [+edns=V] [+from=IP] [+class=CH] [+id=N]
//! config: key=value ...            (settings on top of the fixture's /skydns/config)
//! upstream: NAME TYPE VALUE        (an upstream answer record for an external look-up: an
//!                                  IP, CNAME=TARGET, VALUE@OWNER for another owner, "fail")
//! outcome: forward | drop | stub IP:PORT,... | need NAME TYPE,...   (instead of a reply)
//! rcode: NOERROR
//! flags: qr aa rd                  (exactly these header flags)
//! answer: / authority: / additional:   followed by records, one per line, any order;
//!                                  `SERIAL` stands for the snapshot's SOA serial
//! count: answer=N additional=N     (only counts, for big or random answers)
//! maxsize: N                       (the encoded reply is at most N bytes)
//! ede: N | none                    (the Extended DNS Error code in the OPT record, or none)
//! ```

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::Instant;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

use skydns::answers::{asker_of, compile_reply};
use skydns::config::{self, HostFacts, RuntimeConfig};
use skydns::core::{ExternalQuery, Externals, Outcome, Request, Snapshot, Transport};

/// One parsed case.
#[derive(Debug, Default, Clone)]
pub(crate) struct Case {
    pub title: String,
    pub query: String,
    pub config: Vec<(String, String)>,
    pub upstream: Vec<String>,
    pub outcome: Option<String>,
    pub rcode: Option<String>,
    pub flags: Option<String>,
    pub sections: BTreeMap<String, Vec<String>>,
    pub counts: Vec<(String, usize)>,
    pub maxsize: Option<usize>,
    pub ede: Option<String>,
}

/// Parses a `.golden` file.
pub(crate) fn parse_cases(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    let mut section: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(title) = line.strip_prefix("=== ") {
            cases.extend(current.take());
            current = Some(Case {
                title: title.to_owned(),
                ..Case::default()
            });
            section = None;
            continue;
        }
        let case = current.as_mut().expect("a line before the first === title");
        if let Some((key, value)) = line.split_once(':') {
            let value = value.trim();
            let known = matches!(
                key,
                "query"
                    | "config"
                    | "upstream"
                    | "outcome"
                    | "rcode"
                    | "flags"
                    | "answer"
                    | "authority"
                    | "additional"
                    | "count"
                    | "maxsize"
                    | "ede"
            );
            if known {
                section = None;
                match key {
                    "query" => case.query = value.to_owned(),
                    "config" => {
                        for kv in value.split_whitespace() {
                            let (k, v) = kv.split_once('=').expect("config key=value");
                            case.config.push((k.to_owned(), v.to_owned()));
                        }
                    }
                    "upstream" => case.upstream.push(value.to_owned()),
                    "outcome" => case.outcome = Some(value.to_owned()),
                    "rcode" => case.rcode = Some(value.to_owned()),
                    "flags" => case.flags = Some(value.to_owned()),
                    "count" => {
                        for kv in value.split_whitespace() {
                            let (k, v) = kv.split_once('=').expect("count section=N");
                            case.counts
                                .push((k.to_owned(), v.parse().expect("count number")));
                        }
                    }
                    "maxsize" => case.maxsize = Some(value.parse().expect("maxsize number")),
                    "ede" => case.ede = Some(value.to_owned()),
                    sec => {
                        case.sections.entry(sec.to_owned()).or_default();
                        section = Some(sec.to_owned());
                    }
                }
                continue;
            }
        }
        let sec = section
            .as_ref()
            .unwrap_or_else(|| panic!("{}: unexpected line {line:?}", case.title));
        case.sections
            .get_mut(sec)
            .expect("section exists")
            .push(normalize(line));
    }
    cases.extend(current);
    cases
}

fn normalize(record: &str) -> String {
    record.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The runtime config of a case: the store's `/skydns/config` with the case's overrides.
pub(crate) fn case_config(store_config: Option<&[u8]>, case: &Case) -> RuntimeConfig {
    let mut map = match store_config {
        Some(raw) => match serde_json::from_slice(raw).unwrap() {
            serde_json::Value::Object(map) => map,
            other => panic!("/skydns/config is not an object: {other}"),
        },
        None => serde_json::Map::new(),
    };
    for (k, v) in &case.config {
        let value = serde_json::from_str(v).unwrap_or_else(|_| {
            if v.contains(',') || k == "nameservers" || k == "forward_allow" {
                serde_json::Value::Array(
                    v.split(',')
                        .map(|s| serde_json::Value::String(s.into()))
                        .collect(),
                )
            } else {
                serde_json::Value::String(v.clone())
            }
        });
        map.insert(k.clone(), value);
    }
    let raw = serde_json::Value::Object(map).to_string();
    let command_line = config::CommandLine::default();
    let sources = config::Sources {
        command_line: &command_line,
        file: None,
        store: Some(("/skydns/config", raw.as_bytes())),
    };
    let loaded = config::load(&sources, &HostFacts::default()).unwrap();
    assert!(
        loaded.ignored.is_empty(),
        "case {}: keys not used: {:?}",
        case.title,
        loaded.ignored
    );
    loaded.runtime
}

/// Builds the request of a `query:` line.
pub(crate) fn build_request(query: &str) -> Request {
    let mut words = query.split_whitespace();
    let name = Name::from_ascii(words.next().expect("query name")).unwrap();
    let qtype_text = words.next().expect("query type");
    let qtype = match qtype_text.strip_prefix("TYPE") {
        Some(n) => RecordType::from(n.parse::<u16>().unwrap()),
        None => qtype_text.parse().unwrap(),
    };
    let mut msg = Message::query();
    msg.metadata.id = 4242;
    msg.metadata.recursion_desired = true;
    let mut edns = Some(Edns::new());
    let mut transport = Transport::Udp;
    let mut client: IpAddr = "127.0.0.1".parse().unwrap();
    let mut class = DNSClass::IN;
    for opt in words {
        match opt.split_once('=') {
            None if opt == "+do" => {
                edns.get_or_insert_with(Edns::new).set_dnssec_ok(true);
            }
            None if opt == "+tcp" => transport = Transport::Tcp,
            None if opt == "+noedns" => edns = None,
            None if opt == "+nord" => msg.metadata.recursion_desired = false,
            Some(("+bufsize", n)) => {
                edns.get_or_insert_with(Edns::new)
                    .set_max_payload(n.parse().unwrap());
            }
            Some(("+edns", v)) => {
                edns.get_or_insert_with(Edns::new)
                    .set_version(v.parse().unwrap());
            }
            Some(("+from", ip)) => client = ip.parse().unwrap(),
            Some(("+class", c)) => class = c.parse().unwrap(),
            Some(("+id", id)) => msg.metadata.id = id.parse().unwrap(),
            _ => panic!("unknown query option {opt}"),
        }
    }
    if let Some(e) = edns.as_mut() {
        if e.max_payload() < 512 {
            e.set_max_payload(1232);
        }
    }
    let mut q = Query::query(name, qtype);
    q.set_query_class(class);
    msg.add_query(q);
    msg.edns = edns;
    let bytes = msg.to_vec().unwrap();
    let msg = Message::from_vec(&bytes).unwrap();
    Request::new(msg, transport, client)
}

fn externals(case: &Case) -> Externals {
    let mut ext = Externals::none();
    ext.complete = !case.upstream.iter().any(|l| l.ends_with(" pending"));
    let mut grouped: BTreeMap<(String, String), Option<Vec<Record>>> = BTreeMap::new();
    for line in &case.upstream {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (name, qtype, value) = (parts[0], parts[1], parts[2]);
        let key = (name.to_owned(), qtype.to_owned());
        if value == "pending" {
            continue;
        }
        if value == "fail" {
            grouped.insert(key, None);
            continue;
        }
        // `VALUE@OWNER` makes a record owned by another name than the one asked.
        let (value, owner) = match value.split_once('@') {
            Some((v, o)) => (v, Name::from_ascii(o).unwrap()),
            None => (value, Name::from_ascii(name).unwrap()),
        };
        let data = if let Some(target) = value.strip_prefix("CNAME=") {
            RData::CNAME(CNAME(Name::from_ascii(target).unwrap()))
        } else {
            match value.parse::<IpAddr>().unwrap() {
                IpAddr::V4(v4) => RData::A(A(v4)),
                IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
            }
        };
        grouped
            .entry(key)
            .or_insert_with(|| Some(Vec::new()))
            .as_mut()
            .expect("not failed")
            .push(Record::from_rdata(owner, 300, data));
    }
    for ((name, qtype), records) in grouped {
        ext.insert(
            ExternalQuery {
                name,
                qtype: qtype.parse().unwrap(),
            },
            records,
        );
    }
    ext
}

fn rcode_name(code: u16) -> String {
    match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        16 => "BADVERS",
        _ => return code.to_string(),
    }
    .to_owned()
}

/// The INFO-CODE of the Extended DNS Error option, or `none`.
fn ede_of(m: &Message) -> String {
    let option = m
        .edns
        .as_ref()
        .and_then(|e| e.option(EdnsCode::from(skydns::core::ede::OPTION_CODE)));
    match option {
        Some(EdnsOption::Unknown(_, data)) if data.len() >= 2 => {
            u16::from_be_bytes([data[0], data[1]]).to_string()
        }
        Some(other) => format!("{other:?}"),
        None => "none".to_owned(),
    }
}

fn flags_of(m: &Message) -> String {
    let md = &m.metadata;
    let mut f = vec!["qr"];
    for (on, name) in [
        (md.authoritative, "aa"),
        (md.truncation, "tc"),
        (md.recursion_desired, "rd"),
        (md.recursion_available, "ra"),
        (md.authentic_data, "ad"),
        (md.checking_disabled, "cd"),
    ] {
        if on {
            f.push(name);
        }
    }
    f.join(" ")
}

/// A record in presentation format, with character-strings quoted as in zone files.
pub(crate) fn present_record(r: &Record) -> String {
    let quote = |b: &[u8]| format!("\"{}\"", String::from_utf8_lossy(b));
    let rdata = match &r.data {
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| quote(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::HINFO(h) => format!("{} {}", quote(&h.cpu), quote(&h.os)),
        other => other.to_string(),
    };
    format!(
        "{} {} {} {} {rdata}",
        r.name,
        r.ttl,
        r.dns_class,
        r.record_type()
    )
}

fn present(records: &[Record], serial: u32) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .map(|r| normalize(&present_record(r)).replace(&format!(" {serial} "), " SERIAL "))
        .collect();
    out.sort();
    out
}

/// Runs one case against `snap`; returns a description of every mismatch.
pub(crate) fn run_case(case: &Case, snap: &Snapshot, store_config: Option<&[u8]>) -> Vec<String> {
    let cfg = case_config(store_config, case);
    let req = build_request(&case.query);
    let lowered = req.lowercased();
    let ext = externals(case);
    let now = Instant::now();
    let outcome = skydns::core::decide(&lowered, snap, &cfg, &ext, now);
    let mut errors = Vec::new();
    let reply = match (outcome, &case.outcome) {
        (Outcome::Reply(reply), None) => reply,
        (Outcome::Forward, Some(o)) if o == "forward" => return errors,
        (Outcome::Drop, Some(o)) if o == "drop" => return errors,
        (Outcome::Stub { servers }, Some(o)) if o.starts_with("stub ") => {
            let got: Vec<String> = servers
                .iter()
                .map(std::string::ToString::to_string)
                .collect();
            if got.join(",") != o["stub ".len()..] {
                errors.push(format!("stub servers {got:?}, expected {o}"));
            }
            return errors;
        }
        (Outcome::NeedExternal(needs), Some(o)) if o.starts_with("need ") => {
            let got: Vec<String> = needs
                .iter()
                .map(|n| format!("{} {}", n.name, n.qtype))
                .collect();
            if got.join(",") != o["need ".len()..] {
                errors.push(format!("needs {got:?}, expected {o}"));
            }
            return errors;
        }
        (other, expected) => {
            errors.push(format!("outcome {other:?}, expected {expected:?}"));
            return errors;
        }
    };
    let mut question = Vec::new();
    let asker = asker_of(&req, cfg.edns_payload, &mut question);
    let compiled = compile_reply(&lowered, reply, &cfg, None, &asker, now, 1_800_000_000)
        .expect("the reply compiles");
    let mut bytes = Vec::new();
    assert!(compiled.render(&asker, cfg.edns_payload, 0, &mut bytes));
    if let Some(max) = case.maxsize {
        if bytes.len() > max {
            errors.push(format!("reply is {} bytes, more than {max}", bytes.len()));
        }
    }
    let m = Message::from_vec(&bytes).expect("our reply decodes");
    if m.metadata.id != req.message.metadata.id {
        errors.push("reply ID differs from query ID".into());
    }
    if m.queries.first().map(|q| q.name().to_ascii()) != Some(req.qname().to_ascii()) {
        errors.push("question not echoed byte for byte".into());
    }
    let rcode = rcode_name(u16::from(m.metadata.response_code));
    if let Some(want) = &case.rcode {
        if &rcode != want {
            errors.push(format!("rcode {rcode}, expected {want}"));
        }
    }
    if let Some(want) = &case.ede {
        let got = ede_of(&m);
        if &got != want {
            errors.push(format!("extended error {got}, expected {want}"));
        }
    }
    if let Some(want) = &case.flags {
        let got = flags_of(&m);
        if &got != want {
            errors.push(format!("flags `{got}`, expected `{want}`"));
        }
    }
    let serial = snap.serial();
    for (name, records) in [
        ("answer", &m.answers),
        ("authority", &m.authorities),
        ("additional", &m.additionals),
    ] {
        if let Some(want) = case.sections.get(name) {
            let mut want = want.clone();
            want.sort();
            let got = present(records, serial);
            if got != want {
                errors.push(format!(
                    "{name} section:\n  got      {got:#?}\n  expected {want:#?}"
                ));
            }
        }
        if let Some((_, n)) = case.counts.iter().find(|(s, _)| s == name) {
            if records.len() != *n {
                errors.push(format!(
                    "{name} has {} records, expected {n}",
                    records.len()
                ));
            }
        }
    }
    errors
}

/// Runs every case of every `.golden` file in `dir`; panics listing all failures.
pub(crate) fn run_dir(dir: &Path, snap: &Snapshot, store_config: Option<&[u8]>) -> usize {
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for case in parse_cases(&text) {
            count += 1;
            for e in run_case(&case, snap, store_config) {
                failures.push(format!(
                    "{} / {}: {e}",
                    file.file_name().unwrap().to_string_lossy(),
                    case.title
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}
