//! Shared test support: the golden battery runner and the real-binary harness.

#![allow(dead_code)]

pub mod dnssec;
pub mod etcd;
pub mod golden;
pub mod server;
pub mod upstream;
