//! The UDP server: receives on a socket it is given and answers each datagram in its own task,
//! with a bound on queries in flight (the socket is not read while the bound is reached).

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::sync::{watch, Semaphore};

use super::Handler;
use crate::core::Transport;

/// Queries handled at once per UDP socket.
pub const MAX_IN_FLIGHT: usize = 4096;

/// Largest datagram we read.
const RECV_BUFFER: usize = 65_535;

/// Serves `socket` until `shutdown` turns true; in-flight queries finish on their own.
pub async fn serve(socket: UdpSocket, handler: Arc<Handler>, mut shutdown: watch::Receiver<bool>) {
    let socket = Arc::new(socket);
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let (len, peer) = tokio::select! {
            received = socket.recv_from(&mut buf) => match received {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "UDP receive failed");
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let query = buf[..len].to_vec();
        let socket = socket.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            if let Some(reply) = handler.handle(&query, Transport::Udp, peer).await {
                if let Err(e) = socket.send_to(&reply, peer).await {
                    tracing::debug!(error = %e, %peer, "UDP send failed");
                }
            }
            drop(permit);
        });
    }
}
