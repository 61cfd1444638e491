//! OS integration: logging and facts about the host.

pub mod interfaces;
pub mod logging;
