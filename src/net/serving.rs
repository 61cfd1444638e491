//! Everything a query reads from the configuration, as one value: the run-time settings (ACL,
//! upstreams, sizes), the DNSSEC signer that goes with them (with its signature cache) and the
//! cache of forwarded answers made for them. A reload builds a new one and publishes it with
//! one atomic store; a query loads it once and uses that value to its end, so it never sees
//! the new domain with the old key, or the reverse.

use std::sync::Arc;

use arc_swap::ArcSwap;

use super::cache::ForwardCache;
use crate::config::RuntimeConfig;
use crate::dnssec::Signer;

/// The configuration one query is answered with.
#[derive(Debug)]
pub struct Serving {
    /// The run-time settings.
    pub cfg: RuntimeConfig,
    /// The signer for `cfg.domain`, when a key is configured.
    pub signer: Option<Arc<Signer>>,
    /// The cache of forwarded answers, when `rcache` is on.
    pub forward_cache: Option<Arc<ForwardCache>>,
}

impl Serving {
    /// The value for `cfg` and `signer`; the forward cache of `previous` is kept when its
    /// settings did not change (a reload keeps what it holds).
    pub fn new(
        cfg: RuntimeConfig,
        signer: Option<Arc<Signer>>,
        previous: Option<&Serving>,
    ) -> Self {
        let size = cfg.settings.rcache_size.0;
        let kept = previous
            .and_then(|p| p.forward_cache.clone())
            .filter(|c| c.is_for(cfg.rcache, size, cfg.rcache_ttl));
        let forward_cache =
            kept.or_else(|| ForwardCache::new(cfg.rcache, size, cfg.rcache_ttl).map(Arc::new));
        Serving {
            cfg,
            signer,
            forward_cache,
        }
    }

    /// Settings without a signer.
    pub fn unsigned(cfg: RuntimeConfig) -> Self {
        Serving::new(cfg, None, None)
    }
}

/// The published value, swapped as a whole.
pub type ServingCell = ArcSwap<Serving>;
