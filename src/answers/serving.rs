//! Everything a query reads from the configuration, as one value: the run-time settings (ACL,
//! upstreams, caches' sizes) and the DNSSEC signer that goes with them (with its signature
//! cache). A reload builds a new one and publishes it with one atomic store; a query loads it
//! once and uses that value to its end, so it never sees the new domain with the old key, or
//! the reverse.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::RuntimeConfig;
use crate::dnssec::Signer;

/// The configuration one query is answered with.
#[derive(Debug)]
pub struct Serving {
    /// The run-time settings.
    pub cfg: RuntimeConfig,
    /// The signer for `cfg.domain`, when a key is configured.
    pub signer: Option<Arc<Signer>>,
}

impl Serving {
    /// Settings without a signer.
    pub fn unsigned(cfg: RuntimeConfig) -> Self {
        Serving { cfg, signer: None }
    }
}

/// The published value, swapped as a whole.
pub type ServingCell = ArcSwap<Serving>;
