//! Networking around the core: UDP and TCP servers over sockets they are given, and the query
//! handler that connects them to the core and the store.

pub mod handler;
pub mod tcp;
pub mod udp;

pub use handler::Handler;
