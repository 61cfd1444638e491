//! The TCP server (RFC 7766): length-prefixed messages, several per connection answered in
//! order, an idle timeout between messages, a read timeout within one, a bound on concurrent
//! connections beyond which new ones are accepted and closed at once, and a bound per client
//! address (see [`super::tcp_clients`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::time::timeout;

use super::tcp_clients::{Clients, Slot};
use super::Handler;
use crate::core::Transport;

/// Limits of the TCP server.
#[derive(Debug, Clone, Copy)]
pub struct TcpLimits {
    /// Close a connection with no new query for this long.
    pub idle_timeout: Duration,
    /// Time allowed to receive one whole message once its first byte arrived.
    pub read_timeout: Duration,
    /// Connections served at once; further ones are accepted and closed at once.
    pub max_connections: usize,
    /// Connections of one client address at once.
    pub max_per_client: usize,
}

/// Serves `listener` until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    handler: Arc<Handler>,
    limits: TcpLimits,
    mut shutdown: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let clients = Clients::new(limits.max_per_client);
    loop {
        // At shutdown, connections not yet accepted stay queued on the socket: socket-activated,
        // systemd keeps it open and the next process answers them.
        let (stream, peer) = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(client) = clients.admit(peer.ip(), Instant::now()) else {
            drop(stream);
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let handler = handler.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, handler, limits, &client, shutdown).await;
            drop(slot);
            drop(client);
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<Handler>,
    limits: TcpLimits,
    client: &Slot,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // A connection accepted before shutdown has its first query answered even during the stop
    // (its client sent it, or is about to): closing it unread would reset it. Only connections
    // idle after an answer are closed at shutdown.
    let mut answered = false;
    loop {
        if answered && *shutdown.borrow() {
            return;
        }
        let mut len = [0u8; 2];
        // Idle between queries: close on the idle timeout, at shutdown, or when a newer
        // connection of the same client needs the room.
        client.set_idle(Some(Instant::now()));
        // A query already waiting is read before a close or the shutdown is heeded: a
        // connection closed for a newer one of its client (a burst of connections queued
        // during a restart is accepted faster than it is read) answers it first instead of
        // being reset with it unread.
        tokio::select! {
            biased;
            first = timeout(limits.idle_timeout, stream.read_u8()) => match first {
                Ok(Ok(first)) => len[0] = first,
                _ => return,
            },
            () = client.close.notified() => return,
            _ = shutdown.changed(), if answered => return,
        }
        client.set_idle(None);
        let message = timeout(limits.read_timeout, async {
            len[1] = stream.read_u8().await?;
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            stream.read_exact(&mut body).await?;
            Ok::<_, std::io::Error>(body)
        })
        .await;
        let Ok(Ok(query)) = message else { return };
        answered = true;
        let Some(reply) = handler.handle(&query, Transport::Tcp, peer).await else {
            continue;
        };
        let Ok(reply_len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&reply_len.to_be_bytes());
        framed.extend_from_slice(&reply);
        if timeout(limits.read_timeout, stream.write_all(&framed))
            .await
            .is_err()
        {
            return;
        }
    }
}
