//! Prometheus metrics, `/health` and `/ready`, on one small HTTP listener (`metrics_addr`,
//! 127.0.0.1:9153 by default). The answering path only adds to counters it is handed (the
//! query handler in `net`, the upstream exchanges, the reloader); the stores keep their own
//! state (`store::StoreState`) and the caches their sizes; everything is read and written out
//! only when scraped.
//!
//! - [`counters`]: counters sharded by thread, summed when scraped; histograms over them.
//! - [`query`]: what is counted per DNS query, under which labels.
//! - [`upstream`]: exchanges with each upstream server.
//! - [`exposition`]: every metric in the Prometheus text format.
//! - [`health`]: what `/health` and `/ready` answer.
//! - [`http`]: the listener, bounded in connections, time and request size.

pub mod counters;
pub mod exposition;
pub mod health;
pub mod http;
pub mod query;
pub mod upstream;

use std::sync::atomic::{AtomicU64, Ordering};

use query::QueryMetrics;
use upstream::UpstreamMetrics;

/// The counters the daemon adds to, shared by every thread that counts.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Per DNS query.
    pub queries: QueryMetrics,
    /// Per upstream server.
    pub upstreams: UpstreamMetrics,
    /// Reloads by result.
    pub reloads: Reloads,
}

/// Reloads by result (rare: plain atomics).
#[derive(Debug, Default)]
pub struct Reloads {
    applied: AtomicU64,
    failed: AtomicU64,
}

impl Reloads {
    /// Counts one reload: applied, or failed (the running configuration kept).
    pub fn note(&self, applied: bool) {
        let counter = if applied { &self.applied } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Reloads applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Reloads that failed.
    pub fn failed(&self) -> u64 {
        self.failed.load(Ordering::Relaxed)
    }
}
