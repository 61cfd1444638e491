//! Networking around the core: UDP and TCP servers over sockets they are given, the query
//! handler that connects them to the core and the store, and upstream traffic (forwarding,
//! look-ups, the forwarded-answer cache, sharing of identical exchanges in flight), and response
//! rate limiting of UDP replies.

pub mod cache;
pub mod forward;
pub mod forward_key;
pub mod handler;
pub mod inflight;
pub mod lookup;
pub mod rrl;
pub mod serving;
pub mod tcp;
pub mod tcp_clients;
pub mod udp;
pub mod upstream;

pub use handler::Handler;
