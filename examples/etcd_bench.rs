//! Benchmark of the etcd store (run by `scripts/bench-etcd.sh`; not a test). For each N it
//! starts a fresh etcd on a loopback port, puts N services, starts skydns on it and reports:
//! the load time (skydns start until it answers for the last service), skydns' RSS (when
//! loaded, right after the puts, and settled a few seconds later), the cost
//! of one snapshot update at that size, and the time from an etcd put to the first DNS answer
//! that shows it (median and p99 over many puts), while dnsperf asks for the services at
//! `LOAD_QPS` queries per second when that variable is set.
//!
//! Usage: etcd_bench SKYDNS_BIN N[,N...] [PUTS]

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{Name, RData, RecordType};
use skydns::core::snapshot::Change;
use skydns::core::Snapshot;

/// How long after the puts the settled RSS is read.
const SETTLE: Duration = Duration::from_secs(3);

fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = udp.local_addr().expect("addr").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn key(i: usize) -> String {
    format!("/skydns/local/skydns/bench/s{}/svc{i}", i % 100)
}

fn ip(i: usize) -> String {
    format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
}

fn value(i: usize) -> String {
    format!(r#"{{"host":"{}","port":8080}}"#, ip(i))
}

/// The first A record of `name`, if any.
fn query_a(sock: &UdpSocket, server: SocketAddr, name: &Name, id: u16) -> Option<String> {
    let mut m = Message::query();
    m.metadata.id = id;
    m.add_query(Query::query(name.clone(), RecordType::A));
    sock.send_to(&m.to_vec().ok()?, server).ok()?;
    let mut buf = [0u8; 4096];
    loop {
        let (n, _) = sock.recv_from(&mut buf).ok()?;
        let reply = Message::from_vec(&buf[..n]).ok()?;
        if reply.metadata.id != id {
            continue;
        }
        return reply.answers.iter().find_map(|r| match &r.data {
            RData::A(a) => Some(a.0.to_string()),
            _ => None,
        });
    }
}

fn wait_for(
    sock: &UdpSocket,
    server: SocketAddr,
    name: &Name,
    want: &str,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    let mut id = 0u16;
    while Instant::now() < deadline {
        id = id.wrapping_add(1);
        if query_a(sock, server, name, id).as_deref() == Some(want) {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    false
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    // `p` is in 0..=1, so the rounded index is within 0..len.
    #[allow(clippy::cast_possible_truncation)]
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// In-process cost of one watch batch (one changed key) applied to a snapshot of `n` services.
fn update_cost(n: usize) -> Duration {
    let entries = (0..n).map(|i| (key(i), value(i).into_bytes(), None));
    let (snap, _) = Snapshot::build("skydns", 1, entries);
    let rounds = 20;
    let started = Instant::now();
    for r in 0..rounds {
        let change = Change::Put {
            key: key(r),
            value: value(r + 1).into_bytes(),
            lease_deadline: None,
        };
        let (next, _) = snap.with_changes("skydns", 2, [change]);
        std::hint::black_box(next);
    }
    started.elapsed() / u32::try_from(rounds).unwrap_or(u32::MAX)
}

fn bench(skydns: &str, n: usize, puts: usize, rt: &tokio::runtime::Runtime) {
    let dir = std::env::temp_dir().join(format!("skydns-bench-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (client_port, peer_port) = (free_port(), free_port());
    let endpoint = format!("http://127.0.0.1:{client_port}");
    let etcd_log = std::fs::File::create(dir.join("etcd.log")).expect("log");
    let _etcd = Killed(
        Command::new("etcd")
            .arg(format!("--data-dir={}", dir.join("data").display()))
            .arg(format!("--listen-client-urls={endpoint}"))
            .arg(format!("--advertise-client-urls={endpoint}"))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{peer_port}"))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{peer_port}"
            ))
            .arg(format!(
                "--initial-cluster=default=http://127.0.0.1:{peer_port}"
            ))
            .stdout(etcd_log.try_clone().expect("log"))
            .stderr(etcd_log)
            .spawn()
            .expect("start etcd"),
    );
    let mut client = rt.block_on(async {
        for _ in 0..100 {
            if let Ok(mut c) = etcd_client::Client::connect([endpoint.as_str()], None).await {
                if c.get("/", None).await.is_ok() {
                    return c;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("etcd did not come up");
    });
    rt.block_on(async {
        let items: Vec<usize> = (0..n).collect();
        for chunk in items.chunks(100) {
            let ops: Vec<etcd_client::TxnOp> = chunk
                .iter()
                .map(|&i| etcd_client::TxnOp::put(key(i), value(i), None))
                .collect();
            client
                .txn(etcd_client::Txn::new().and_then(ops))
                .await
                .expect("txn");
        }
    });

    let dns_port = free_port();
    let server = SocketAddr::from(([127, 0, 0, 1], dns_port));
    let log = std::fs::File::create(dir.join("skydns.log")).expect("log");
    let started = Instant::now();
    let skydns_proc = Killed(
        Command::new(skydns)
            .arg(format!("--addr=127.0.0.1:{dns_port}"))
            .arg(format!("--machines={endpoint}"))
            .args(["--no-rec", "--log=stderr", "--log-level=warn"])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start skydns"),
    );
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .expect("timeout");
    let last = n - 1;
    let last_name =
        Name::from_ascii(format!("svc{last}.s{}.bench.skydns.local.", last % 100)).expect("name");
    assert!(
        wait_for(
            &sock,
            server,
            &last_name,
            &ip(last),
            Duration::from_secs(300)
        ),
        "skydns did not load {n} services"
    );
    let load = started.elapsed();
    let rss = rss_kib(skydns_proc.0.id());

    // Optional load while the puts are timed: dnsperf asking for the services at LOAD_QPS.
    let load_qps: u64 = std::env::var("LOAD_QPS")
        .ok()
        .and_then(|q| q.parse().ok())
        .unwrap_or(0);
    let _dnsperf = (load_qps > 0).then(|| {
        let queries = dir.join("queries.txt");
        let names: String = (0..n)
            .step_by((n / 1000).max(1))
            .map(|i| format!("svc{i}.s{}.bench.skydns.local A\n", i % 100))
            .collect();
        std::fs::write(&queries, names).expect("query file");
        Killed(
            Command::new("dnsperf")
                .args([
                    "-s",
                    "127.0.0.1",
                    "-p",
                    &dns_port.to_string(),
                    "-c",
                    "4",
                    "-l",
                    "3600",
                ])
                .arg("-Q")
                .arg(load_qps.to_string())
                .arg("-d")
                .arg(&queries)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("start dnsperf (Debian package dnsperf)"),
        )
    });
    if load_qps > 0 {
        std::thread::sleep(Duration::from_secs(2));
    }
    let probe = Name::from_ascii("probe.bench.skydns.local.").expect("name");
    let mut lags = Vec::with_capacity(puts);
    for p in 0..puts {
        let want = ip(200_000 + p);
        let t0 = Instant::now();
        rt.block_on(client.put(
            "/skydns/local/skydns/bench/probe",
            format!(r#"{{"host":"{want}"}}"#),
            None,
        ))
        .expect("put");
        assert!(
            wait_for(&sock, server, &probe, &want, Duration::from_secs(10)),
            "put {p} not visible"
        );
        lags.push(t0.elapsed());
    }
    lags.sort();
    let rss_after = rss_kib(skydns_proc.0.id());
    // Freed memory goes back to the system within about a second (jemalloc's decay): the
    // figures above include what the load and the last snapshots just freed, this one not.
    std::thread::sleep(SETTLE);
    let rss_settled = rss_kib(skydns_proc.0.id());
    let under = if load_qps > 0 {
        format!(" under {load_qps} queries/s")
    } else {
        String::new()
    };
    println!(
        "N={n:>6}  load {:>7.0} ms  RSS {:>6.1} MiB (after puts {:>6.1} MiB, {}s later {:>6.1} MiB)  update {:>7.1} µs/batch  put->answer median {:>5.2} ms p99 {:>5.2} ms ({puts} puts{under})",
        load.as_secs_f64() * 1000.0,
        rss as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        SETTLE.as_secs(),
        rss_settled as f64 / 1024.0,
        update_cost(n).as_secs_f64() * 1e6,
        percentile(&lags, 0.5).as_secs_f64() * 1000.0,
        percentile(&lags, 0.99).as_secs_f64() * 1000.0,
    );
    drop(skydns_proc);
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: etcd_bench SKYDNS_BIN N[,N...] [PUTS]");
        std::process::exit(2);
    }
    let sizes: Vec<usize> = args[2]
        .split(',')
        .map(|s| s.parse().expect("N is a number"))
        .collect();
    let puts = args
        .get(3)
        .map_or(200, |s| s.parse().expect("PUTS is a number"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for n in sizes {
        bench(&args[1], n, puts, &rt);
    }
}
