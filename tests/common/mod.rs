//! Shared test support: the golden battery runner, the real-binary harness, the reference
//! servers (etcd, Knot, upstreams), the synthetic data of the Knot comparison and a paced UDP
//! client for rate limiting.

#![allow(dead_code)]

pub(crate) mod dnssec;
pub(crate) mod etcd;
pub(crate) mod flood;
pub(crate) mod generator;
pub(crate) mod golden;
pub(crate) mod knot;
pub(crate) mod server;
pub(crate) mod upstream;
