//! The TCP connections of each client address: at most a configured number per address. A
//! client at its limit that opens one more has its oldest idle connection closed for it (a
//! client cannot hold the server's connections with idle ones, and a well-behaved client is
//! never refused); when none of its connections is idle, the new one is refused.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// One connection as the registry knows it.
struct Conn {
    client: IpAddr,
    /// Since when it waits for a query; `None` while one is being answered.
    idle_since: Option<Instant>,
    close: Arc<Notify>,
}

/// The connections of every client.
#[derive(Default)]
struct Registry {
    conns: HashMap<u64, Conn>,
    per_client: HashMap<IpAddr, Vec<u64>>,
    next_id: u64,
}

/// Connections per client address, shared by the TCP listeners.
pub struct Clients {
    max_per_client: usize,
    registry: Mutex<Registry>,
}

/// A registered connection: says when it is idle, hears when it must close, and leaves the
/// registry when dropped.
pub struct Slot {
    clients: Arc<Clients>,
    id: u64,
    /// Notified when the connection is to be closed for a newer one of its client.
    pub close: Arc<Notify>,
}

impl Clients {
    /// At most `max_per_client` connections per client address.
    pub fn new(max_per_client: usize) -> Arc<Self> {
        Arc::new(Clients {
            max_per_client: max_per_client.max(1),
            registry: Mutex::new(Registry::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new connection of `client`: when the client is at its limit its oldest idle
    /// connection is told to close; `None` when none of them is idle (refuse the new one).
    pub fn admit(self: &Arc<Self>, client: IpAddr, now: Instant) -> Option<Slot> {
        let client = client.to_canonical();
        let mut reg = self.lock();
        let held = reg.per_client.get(&client).map_or(0, Vec::len);
        if held >= self.max_per_client {
            let oldest = reg.per_client.get(&client).and_then(|ids| {
                ids.iter()
                    .filter_map(|id| Some((*id, reg.conns.get(id)?.idle_since?)))
                    .min_by_key(|(_, since)| *since)
                    .map(|(id, _)| id)
            })?;
            if let Some(conn) = reg.conns.get(&oldest) {
                conn.close.notify_one();
            }
            reg.remove(oldest);
        }
        let id = reg.next_id;
        reg.next_id += 1;
        let close = Arc::new(Notify::new());
        reg.conns.insert(
            id,
            Conn {
                client,
                idle_since: Some(now),
                close: close.clone(),
            },
        );
        reg.per_client.entry(client).or_default().push(id);
        Some(Slot {
            clients: self.clone(),
            id,
            close,
        })
    }

    /// Connections held now.
    pub fn len(&self) -> usize {
        self.lock().conns.len()
    }

    /// True when no connection is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Registry {
    fn remove(&mut self, id: u64) {
        let Some(conn) = self.conns.remove(&id) else {
            return;
        };
        if let Some(ids) = self.per_client.get_mut(&conn.client) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.per_client.remove(&conn.client);
            }
        }
    }
}

impl Slot {
    /// Marks the connection idle (waiting for a query) from `now`, or busy (`None`).
    pub fn set_idle(&self, now: Option<Instant>) {
        if let Some(conn) = self.clients.lock().conns.get_mut(&self.id) {
            conn.idle_since = now;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.clients.lock().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_client_at_its_limit_loses_its_oldest_idle_connection() {
        let clients = Clients::new(2);
        let t0 = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = clients.admit(a, t0).unwrap();
        let second = clients.admit(a, t0 + Duration::from_secs(1)).unwrap();
        let other = clients.admit(b, t0).unwrap();
        let third = clients.admit(a, t0 + Duration::from_secs(2)).unwrap();
        assert_eq!(clients.len(), 3, "the first connection of a made room");
        assert!(!clients.lock().conns.contains_key(&first.id));
        // Both remaining connections of `a` busy: a new one is refused.
        second.set_idle(None);
        third.set_idle(None);
        assert!(clients.admit(a, t0 + Duration::from_secs(3)).is_none());
        drop(other);
        assert_eq!(clients.len(), 2);
    }
}
