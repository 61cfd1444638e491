//! Shared test support: the golden battery runner, the real-binary harness, the reference
//! servers (etcd, Knot, upstreams), the synthetic data of the Knot comparison, a paced UDP
//! client for rate limiting and an allocator that counts what it holds.

#![allow(dead_code)]

pub(crate) mod counting_allocator;
pub(crate) mod dnssec;
pub(crate) mod etcd;
pub(crate) mod flood;
pub(crate) mod generator;
pub(crate) mod golden;
pub(crate) mod knot;
pub(crate) mod server;
pub(crate) mod upstream;
