//! Shared test support: the golden battery runner, the real-binary harness, the reference
//! servers (etcd, Knot, upstreams) and the synthetic data of the Knot comparison.

#![allow(dead_code)]

pub(crate) mod dnssec;
pub(crate) mod etcd;
pub(crate) mod generator;
pub(crate) mod golden;
pub(crate) mod knot;
pub(crate) mod server;
pub(crate) mod upstream;
