//! The systemd watchdog: every half `WATCHDOG_USEC`, ask the answering path for the apex SOA
//! (through the same [`Handler`] the sockets use) and ping only when a NOERROR answer comes
//! back, so a wedged server stops pinging and systemd restarts it.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType};

use crate::core::Transport;
use crate::net::Handler;
use crate::sys::notify;

/// Pings the watchdog every `interval` while self-queries succeed.
pub(super) async fn run(handler: Arc<Handler>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    let mut failing = false;
    loop {
        ticker.tick().await;
        match tokio::time::timeout(interval, self_query(&handler)).await {
            Ok(Ok(())) => {
                notify::watchdog();
                if failing {
                    tracing::info!("watchdog self-query answered again");
                }
                failing = false;
            }
            Ok(Err(why)) if !failing => {
                tracing::error!("watchdog self-query failed, not pinging: {why}");
                failing = true;
            }
            Err(_) if !failing => {
                tracing::error!("watchdog self-query got no answer in {interval:?}, not pinging");
                failing = true;
            }
            _ => {}
        }
    }
}

/// Asks for the SOA of our domain; Ok when it is answered with NOERROR and a record.
async fn self_query(handler: &Handler) -> Result<(), String> {
    let domain = handler.serving.load().cfg.domain.clone();
    let name = Name::from_ascii(&domain).map_err(|e| format!("domain {domain}: {e}"))?;
    let mut query = Message::query();
    query.metadata.id = rand::random();
    query.add_query(Query::query(name, RecordType::SOA));
    let bytes = query.to_vec().map_err(|e| e.to_string())?;
    let peer = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let reply = handler
        .handle(&bytes, Transport::Udp, peer)
        .await
        .ok_or("the query was dropped")?;
    let reply = Message::from_vec(&reply).map_err(|e| format!("unreadable reply: {e}"))?;
    match reply.metadata.response_code {
        ResponseCode::NoError if !reply.answers.is_empty() => Ok(()),
        ResponseCode::NoError => Err("empty answer".into()),
        rcode => Err(format!("answered {rcode}")),
    }
}

#[cfg(test)]
mod tests {
    use arc_swap::ArcSwap;

    use super::*;
    use crate::config::RuntimeConfig;
    use crate::core::Snapshot;
    use crate::net::serving::Serving;
    use crate::store::StoreState;

    #[tokio::test]
    async fn self_query_fails_until_the_store_is_loaded() {
        let store = StoreState::new();
        let serving = Arc::new(ArcSwap::from_pointee(Serving::unsigned(
            RuntimeConfig::default(),
        )));
        let handler = Handler::new(store.clone(), serving, None);
        let before = self_query(&handler).await;
        assert!(
            before.as_ref().is_err_and(|e| e.starts_with("answered")),
            "{before:?}"
        );
        store.publish(Snapshot::empty(), None, &[]);
        assert_eq!(self_query(&handler).await, Ok(()));
    }
}
