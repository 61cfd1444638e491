//! Shared test support: the golden battery runner, the real-binary harness, the reference
//! servers (etcd, Knot, upstreams) and the synthetic data of the Knot comparison.

#![allow(dead_code)]

pub mod dnssec;
pub mod etcd;
pub mod generator;
pub mod golden;
pub mod knot;
pub mod server;
pub mod upstream;
