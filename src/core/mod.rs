//! The answering core: pure functions from (query, snapshot, runtime config, upstream results,
//! randomness, clock) to an outcome. No sockets, no etcd, no clock reads, so every DNS behaviour
//! is unit-testable and fast.

pub mod answer;
pub mod cookie;
pub mod decide;
pub mod ede;
pub mod edns;
pub mod lookup;
pub mod outcome;
pub mod path;
pub mod request;
pub mod service;
pub mod snapshot;
pub mod tidy;
pub mod wire;
pub mod wire_name;

pub use decide::decide;
pub use outcome::{Denial, ExternalQuery, Externals, Outcome, Reply, RrsetLengths, Source};
pub use request::{Request, Transport};
pub use snapshot::Snapshot;
