//! OS integration: sockets (socket activation or binding), readiness notifications, privilege
//! drop, logging, signals and facts about the host.

pub mod allocator;
pub mod interfaces;
pub mod listen;
pub mod logging;
pub mod notify;
pub mod privileges;
pub mod rate_limited;
pub mod report;
pub mod signals;
