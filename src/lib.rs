//! skydns: DNS service discovery on etcd, the successor of SkyDNS 2.
//!
//! # Layout
//! - [`core`]: the pure answering core, `(query, snapshot, config) -> outcome`.
//! - [`dnssec`]: pure online signing: BIND key files, RRSIGs, NSEC3 white lies, signature
//!   cache.
//! - [`answers`]: replies compiled once per snapshot and configuration, rendered per asker.
//! - [`config`]: flags, environment, config file and `/<prefix>/config`; validation.
//! - [`store`]: backends that publish snapshots (embedded file store, etcd v3).
//! - [`net`]: UDP/TCP servers over given sockets and the query handler between them and the
//!   core.
//! - [`metrics`]: Prometheus metrics, `/health` and `/ready` on one small HTTP listener.
//! - [`sys`]: OS integration (logging).
//! - [`daemon`]: start-up order and the main loop.
//! - [`ctl`]: `skydnsctl`, the operator's command line for services and settings in the store.

pub mod answers;
pub mod config;
pub mod core;
pub mod ctl;
pub mod daemon;
pub mod dnssec;
pub mod metrics;
pub mod net;
pub mod store;
pub mod sys;
