//! Data for `scripts/bench-compare.sh` (a benchmark, not a test), from the generator the
//! differential test uses (`tests/common/generator.rs`).
//!
//! ```text
//! bench_data write DIR N [SEED]      services.json (file store), skydns.local.zone (Knot) and
//!                                    one query file per workload (dnsperf format) in DIR
//! bench_data load ENDPOINT N [SEED]  puts the same keys into etcd at ENDPOINT (transactions
//!                                    of 128 puts, etcd's default limit)
//! ```

#[path = "../tests/common/generator.rs"]
mod generator;

use std::path::Path;
use std::time::Instant;

use generator::{Rng, Workload};

/// Questions per query file; dnsperf goes round the file as long as a run lasts.
const QUERIES_PER_FILE: usize = 20_000;
/// RRsets larger than this are left out of the zone (only huge ancestors such as the apex of
/// 100,000 services; no workload asks them).
const MAX_RRSET: usize = 1000;
/// etcd's default `--max-txn-ops`.
const TXN_OPS: usize = 128;

const WORKLOADS: [(&str, Workload); 6] = [
    ("a", Workload::A),
    ("srv", Workload::Srv),
    ("wildcard", Workload::Wildcard),
    ("nxdomain", Workload::NxDomain),
    ("mixed", Workload::Mixed),
    ("srv100", Workload::Srv100),
];

fn usage() -> ! {
    eprintln!("usage: bench_data write DIR N [SEED] | bench_data load ENDPOINT N [SEED]");
    std::process::exit(2);
}

fn write(dir: &Path, data: &generator::Data, seed: u64) -> std::io::Result<()> {
    std::fs::write(dir.join("services.json"), data.file_store_json())?;
    let zone = data.zone(1, MAX_RRSET);
    std::fs::write(dir.join("skydns.local.zone"), &zone.text)?;
    let mut rng = Rng::new(seed ^ 0x9e37);
    for (file, workload) in WORKLOADS {
        let lines: Vec<String> = data
            .workload(workload, QUERIES_PER_FILE, &mut rng)
            .into_iter()
            .map(|(name, qtype)| format!("{name} {qtype}\n"))
            .collect();
        std::fs::write(dir.join(format!("q-{file}")), lines.concat())?;
    }
    println!(
        "{} services ({} core), zone: {} records, {} large RRsets left out",
        data.services.len() + data.reverse.len(),
        data.core,
        zone.records,
        zone.omitted
    );
    Ok(())
}

fn load(endpoint: &str, data: &generator::Data) -> Result<(), etcd_client::Error> {
    let items = data.etcd_items();
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(etcd_client::Error::IoError)?;
    rt.block_on(async {
        let mut client = etcd_client::Client::connect([endpoint], None).await?;
        for chunk in items.chunks(TXN_OPS) {
            let ops: Vec<etcd_client::TxnOp> = chunk
                .iter()
                .map(|(k, v)| etcd_client::TxnOp::put(k.as_str(), v.as_str(), None))
                .collect();
            client.txn(etcd_client::Txn::new().and_then(ops)).await?;
        }
        Ok::<(), etcd_client::Error>(())
    })?;
    println!(
        "{} keys put into etcd in {:.2} s",
        items.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        usage();
    }
    let Ok(n) = args[3].parse::<usize>() else {
        usage()
    };
    let seed = match args.get(4) {
        Some(s) => s.parse().unwrap_or_else(|_| usage()),
        None => 1,
    };
    let data = generator::generate(n, seed);
    let result = match args[1].as_str() {
        "write" => write(Path::new(&args[2]), &data, seed).map_err(|e| e.to_string()),
        "load" => load(&args[2], &data).map_err(|e| e.to_string()),
        _ => usage(),
    };
    if let Err(e) = result {
        eprintln!("bench_data: {e}");
        std::process::exit(1);
    }
}
