//! Every metric in the Prometheus text format (0.0.4), read when scraped: the per-query and
//! per-upstream counters summed over their shards, the caches, the rate limiter and the store
//! read where they live, all written through prometheus-client's encoder under the configured
//! prefix (`skydns_` by default). Label sets never seen are left out of the labelled
//! counters and histograms, as CoreDNS's appear only once used.

use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::query::Histogram;
use super::Metrics;
use crate::net::serving::ServingCell;
use crate::net::Handler;
use crate::store::{StoreState, SyncState};

/// The `revision` of `build_info`: set by the build's environment (`SKYDNS_REVISION`).
const REVISION: &str = match option_env!("SKYDNS_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};

/// What a scrape reads: the counters and where the gauges live.
pub struct Scrape {
    metrics: Arc<Metrics>,
    store: Arc<StoreState>,
    serving: Arc<ServingCell>,
    /// The handler serving queries, once the first snapshot is loaded (it holds the answer
    /// table and the rate limiter).
    handler: ArcSwapOption<Handler>,
}

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrape")
            .field("serving", &self.handler.load().is_some())
            .finish_non_exhaustive()
    }
}

impl Scrape {
    /// A scrape of `metrics`, the store in `store` and the configuration in `serving`.
    pub fn new(metrics: Arc<Metrics>, store: Arc<StoreState>, serving: Arc<ServingCell>) -> Self {
        Scrape {
            metrics,
            store,
            serving,
            handler: ArcSwapOption::empty(),
        }
    }

    /// From now on, the answer table and the rate limiter of `handler` are read too.
    pub fn serving_with(&self, handler: Arc<Handler>) {
        self.handler.store(Some(handler));
    }

    /// True once the servers answer from the store (see [`Scrape::serving_with`]).
    pub fn answering(&self) -> bool {
        self.handler.load().is_some()
    }

    /// A registry that writes this scrape's metrics with names starting `prefix_`.
    pub fn registry(self: &Arc<Self>, prefix: &str) -> Registry {
        let mut registry = if prefix.is_empty() {
            Registry::default()
        } else {
            Registry::with_prefix(prefix)
        };
        registry.register_collector(Box::new(self.clone()));
        registry
    }
}

/// The text of every metric of `registry`.
pub fn render(registry: &Registry) -> Result<String, fmt::Error> {
    let mut text = String::with_capacity(16 * 1024);
    prometheus_client::encoding::prometheus_text::encode(&mut text, registry)?;
    Ok(text)
}

impl Collector for Scrape {
    fn encode(&self, mut out: DescriptorEncoder<'_>) -> fmt::Result {
        self.queries(&mut out)?;
        self.caches(&mut out)?;
        self.upstreams(&mut out)?;
        self.store(&mut out)?;
        let reloads = &self.metrics.reloads;
        counters(
            &mut out,
            "reload",
            "Reloads (SIGHUP) by result: applied, or failed and the running configuration kept.",
            [
                ([("result", "applied")], reloads.applied()),
                ([("result", "failed")], reloads.failed()),
            ],
        )?;
        let mut info = out.encode_descriptor(
            "build",
            "The version and source revision skydns was built from.",
            None,
            MetricType::Info,
        )?;
        info.encode_info(&[
            ("version", env!("CARGO_PKG_VERSION")),
            ("revision", REVISION),
        ])
    }
}

impl Scrape {
    fn queries(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let q = self.metrics.queries.read();
        counters(
            out,
            "dns_requests",
            "DNS requests by transport, address family (1 IPv4, 2 IPv6) and query type.",
            q.requests()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|([proto, family, qtype], n)| {
                    ([("proto", proto), ("family", family), ("type", qtype)], n)
                }),
        )?;
        counters(
            out,
            "dns_responses",
            "DNS responses sent by rcode and the path that made them (auth, forward, stub, cache, refused).",
            q.responses()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|([rcode, source], n)| ([("rcode", rcode), ("source", source)], n)),
        )?;
        counter(
            out,
            "dns_do_requests",
            "DNS requests with the DO bit (DNSSEC OK).",
            q.do_requests(),
        )?;
        counters(
            out,
            "dns_dropped",
            "DNS requests that got no reply, by reason (rate limiting is counted apart).",
            q.dropped()
                .into_iter()
                .map(|(reason, n)| ([("reason", reason)], n)),
        )?;
        histograms(
            out,
            "dns_request_size_bytes",
            "Size of DNS requests in bytes, by transport.",
            q.request_sizes()
                .into_iter()
                .map(|(proto, h)| ([("proto", proto)], h)),
        )?;
        histograms(
            out,
            "dns_response_size_bytes",
            "Size of DNS responses in bytes, by transport.",
            q.response_sizes()
                .into_iter()
                .map(|(proto, h)| ([("proto", proto)], h)),
        )?;
        histograms(
            out,
            "dns_request_duration_seconds",
            "Time from receiving a DNS request to its reply being ready, by query type.",
            q.durations()
                .into_iter()
                .map(|(qtype, h)| ([("type", qtype)], h)),
        )?;
        let handler = self.handler.load();
        let rrl = handler.as_ref().map(|h| h.rrl_counts()).unwrap_or_default();
        counter(
            out,
            "rrl_limited",
            "UDP replies held back by response rate limiting (dropped or slipped).",
            rrl.limited,
        )?;
        counter(
            out,
            "rrl_slipped",
            "UDP replies held back by response rate limiting and sent truncated instead (slip).",
            rrl.slipped,
        )
    }

    fn caches(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let serving = self.serving.load();
        let handler = self.handler.load();
        let table = handler.as_ref().map(|h| h.table_size());
        let forward = serving.forward_cache.as_ref().map(|c| (c.len(), c.bytes()));
        let signer = serving.signer.as_ref().map(|s| s.cache_counts());
        let mut entries = Vec::new();
        let mut bytes = Vec::new();
        if let Some((n, b)) = table {
            entries.push(([("cache", "answer")], n));
            bytes.push(([("cache", "answer")], b));
        }
        if let Some((n, b)) = forward {
            entries.push(([("cache", "forward")], n));
            bytes.push(([("cache", "forward")], b));
        }
        if let Some(s) = &signer {
            entries.push(([("cache", "signature")], s.entries));
        }
        gauges(out, "cache_entries", "Entries held, by cache.", entries)?;
        gauges(out, "cache_bytes", "Memory held in bytes, by cache.", bytes)?;
        let mut lookups = self.metrics.queries.read().caches();
        if let Some(s) = &signer {
            lookups.push(("signature", s.hits, s.misses));
        }
        counters(
            out,
            "cache_hits",
            "Cache look-ups that found a usable entry, by cache.",
            lookups.iter().map(|(c, hits, _)| ([("cache", *c)], *hits)),
        )?;
        counters(
            out,
            "cache_misses",
            "Cache look-ups that found none, by cache.",
            lookups
                .iter()
                .map(|(c, _, misses)| ([("cache", *c)], *misses)),
        )?;
        counters(
            out,
            "cache_requests",
            "Cache look-ups, by cache (hits and misses).",
            lookups
                .iter()
                .map(|(c, hits, misses)| ([("cache", *c)], hits.wrapping_add(*misses))),
        )?;
        counter(
            out,
            "dnssec_signatures",
            "RRSIGs computed (not taken from the signature cache) since the key was loaded.",
            signer.map_or(0, |s| s.signed),
        )
    }

    fn upstreams(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let read = self.metrics.upstreams.read();
        histograms(
            out,
            "forward_request_duration_seconds",
            "Time of exchanges with upstream servers that got a reply, by server and rcode.",
            read.iter().flat_map(|server| {
                server
                    .durations
                    .iter()
                    .map(|(rcode, h)| ([("to", server.to.as_str()), ("rcode", *rcode)], h.clone()))
            }),
        )?;
        counters(
            out,
            "forward_failures",
            "Failed exchanges with upstream servers, by server and reason (timeout, network, bad_reply, rcode).",
            read.iter().flat_map(|server| {
                server
                    .failures
                    .iter()
                    .map(|(reason, n)| ([("to", server.to.as_str()), ("reason", *reason)], *n))
            }),
        )
    }

    fn store(&self, out: &mut DescriptorEncoder<'_>) -> fmt::Result {
        let store = &self.store;
        let state = store.sync_state();
        gauges(
            out,
            "backend_sync_state",
            "The store's state: loading (no snapshot yet), synced (following its source) or stale (source lost, the last snapshot served); 1 for the current one.",
            [
                ("loading", SyncState::Loading),
                ("synced", SyncState::Synced),
                ("stale", SyncState::Stale),
            ]
            .map(|(name, s)| ([("state", name)], u64::from(s == state))),
        )?;
        gauge(
            out,
            "backend_stale_seconds",
            "How long the store has been out of touch with its source (0 while in sync).",
            &store.stale_for().map_or(0.0, |d| d.as_secs_f64()),
        )?;
        if let Some(at) = store.last_update() {
            gauge(
                out,
                "backend_last_update_timestamp_seconds",
                "When the last snapshot was published (Unix time).",
                &at.as_secs_f64(),
            )?;
        }
        let snapshot = store.snapshot();
        gauge(
            out,
            "backend_records",
            "Services in the current snapshot.",
            &u64::try_from(snapshot.len()).unwrap_or(u64::MAX),
        )?;
        gauge(
            out,
            "backend_serial",
            "SOA serial of the current snapshot (the low 32 bits of the etcd revision, or the file's modification time).",
            &u64::from(snapshot.serial()),
        )?;
        let counts = store.counts();
        counter(
            out,
            "backend_rejected_keys",
            "Service values left out of snapshots because they are malformed (each time they are read).",
            counts.rejected,
        )?;
        counter(
            out,
            "backend_watch_reconnects",
            "Sessions with etcd that ended (each followed by a new one after a backoff).",
            counts.reconnects,
        )?;
        counter(
            out,
            "backend_watch_events",
            "etcd watch events applied to the snapshot.",
            counts.watch_events,
        )
    }
}

fn counter(out: &mut DescriptorEncoder<'_>, name: &str, help: &str, value: u64) -> fmt::Result {
    out.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<NoLabelSet, u64, u64>(&value, None)
}

fn counters<L: EncodeLabelSet>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, u64)>,
) -> fmt::Result {
    let mut metric = out.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in rows {
        metric
            .encode_family(&labels)?
            .encode_counter::<NoLabelSet, u64, u64>(&value, None)?;
    }
    Ok(())
}

fn gauge<V: prometheus_client::encoding::EncodeGaugeValue>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    value: &V,
) -> fmt::Result {
    out.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(value)
}

fn gauges<L: EncodeLabelSet, V: prometheus_client::encoding::EncodeGaugeValue>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result {
    let mut metric = out.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in rows {
        metric.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

fn histograms<L: EncodeLabelSet>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, Histogram)>,
) -> fmt::Result {
    let mut metric = out.encode_descriptor(name, help, None, MetricType::Histogram)?;
    for (labels, h) in rows.into_iter().filter(|(_, h)| h.observed.count > 0) {
        let buckets: Vec<(f64, u64)> = h
            .bounds
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .zip(h.observed.counts.iter().copied())
            .collect();
        metric
            .encode_family(&labels)?
            .encode_histogram::<NoLabelSet>(h.sum, h.observed.count, &buckets, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::RuntimeConfig;
    use crate::core::{Snapshot, Transport};
    use crate::metrics::query::{Origin, Tally};
    use crate::net::serving::Serving;

    fn scrape() -> (Arc<Scrape>, Arc<StoreState>) {
        let store = StoreState::new();
        let serving = Arc::new(ServingCell::from_pointee(Serving::unsigned(
            RuntimeConfig::default(),
        )));
        let scrape = Scrape::new(Arc::new(Metrics::default()), store.clone(), serving);
        (Arc::new(scrape), store)
    }

    #[test]
    fn text_exposition_of_counters_histograms_and_the_store() {
        let (scrape, store) = scrape();
        let q = &scrape.metrics.queries;
        let tally = Tally {
            qtype: Some(1),
            rcode: 3,
            ..Tally::default()
        };
        let client = "127.0.0.1".parse().unwrap();
        let elapsed = Duration::from_micros(30);
        q.record(
            Transport::Udp,
            client,
            &[0; 33],
            Some(&[0; 90]),
            &tally,
            elapsed,
        );
        let refused = Tally {
            origin: Origin::Refused,
            rcode: 5,
            ..tally
        };
        q.record(
            Transport::Udp,
            client,
            &[0; 33],
            Some(&[0; 60]),
            &refused,
            elapsed,
        );
        scrape.metrics.reloads.note(false);
        store.publish(Snapshot::empty(), None, &[]);

        let text = render(&scrape.registry("skydns")).unwrap();
        for line in [
            "# TYPE skydns_dns_requests_total counter",
            r#"skydns_dns_requests_total{proto="udp",family="1",type="A"} 2"#,
            r#"skydns_dns_responses_total{rcode="NXDOMAIN",source="auth"} 1"#,
            r#"skydns_dns_responses_total{rcode="REFUSED",source="refused"} 1"#,
            "skydns_dns_do_requests_total 0",
            r#"skydns_dns_dropped_total{reason="malformed"} 0"#,
            "# TYPE skydns_dns_request_duration_seconds histogram",
            r#"skydns_dns_request_duration_seconds_bucket{type="A",le="2.5e-05"} 0"#,
            r#"skydns_dns_request_duration_seconds_bucket{type="A",le="5e-05"} 2"#,
            r#"skydns_dns_request_duration_seconds_bucket{type="A",le="+Inf"} 2"#,
            r#"skydns_dns_request_duration_seconds_count{type="A"} 2"#,
            r#"skydns_dns_response_size_bytes_sum{proto="udp"} 150.0"#,
            r#"skydns_dns_response_size_bytes_bucket{proto="udp",le="100"} 2"#,
            r#"skydns_reload_total{result="failed"} 1"#,
            r#"skydns_reload_total{result="applied"} 0"#,
            r#"skydns_backend_sync_state{state="synced"} 1"#,
            r#"skydns_backend_sync_state{state="loading"} 0"#,
            "skydns_backend_records 0",
            "skydns_backend_stale_seconds 0.0",
            "skydns_rrl_limited_total 0",
            r#"skydns_cache_hits_total{cache="forward"} 0"#,
            r#"skydns_build_info{version="0.1.0","#,
        ] {
            assert!(
                text.lines().any(|l| l.starts_with(line)),
                "missing `{line}` in:\n{text}"
            );
        }
        assert!(text.contains("skydns_backend_last_update_timestamp_seconds "));
        assert!(
            !text.contains(r#"type="AAAA""#),
            "label sets never seen are left out"
        );
        assert!(!text.contains("skydns_skydns_"));
    }

    #[test]
    fn the_prefix_is_namespace_and_subsystem() {
        let (scrape, _) = scrape();
        let text = render(&scrape.registry("ns_sub")).unwrap();
        assert!(
            text.contains("\nns_sub_dns_do_requests_total 0\n"),
            "{text}"
        );
        let bare = render(&scrape.registry("")).unwrap();
        assert!(bare.contains("\ndns_do_requests_total 0\n"), "{bare}");
    }
}
