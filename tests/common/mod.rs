//! Shared test support: the golden battery runner and the real-binary harness.

#![allow(dead_code)]

pub(crate) mod dnssec;
pub(crate) mod etcd;
pub(crate) mod golden;
pub(crate) mod server;
pub(crate) mod upstream;
