//! Identical forwarded queries in flight at the same time share one upstream exchange: the
//! first one asks the upstreams, the others wait for its reply instead of sending the same
//! question again. A burst of clients asking one name (a fleet starting up, a popular name
//! expiring from caches) costs the upstreams one query. Queries are identical when their
//! [`ForwardKey`]s are.
//!
//! Waiting is bounded by the asker's exchange, which is bounded itself; should the asker go
//! away without an answer (its task cancelled), the waiters are told and join again. What an
//! exchange lands (`T`: a reply or why there is none) is up to the forwarder.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

use super::forward_key::ForwardKey;

/// The exchanges in flight, by question, each landing a `T`.
pub struct InFlight<T> {
    flights: Mutex<HashMap<ForwardKey, watch::Receiver<Option<T>>>>,
}

/// What a query does: ask the upstreams itself, or wait for the query that already does.
pub enum Turn<'a, T> {
    /// None was in flight: ask the upstreams and land the result with the flight.
    Ask(Flight<'a, T>),
    /// An identical query is asking: pass this to [`wait`] for its result.
    Wait(watch::Receiver<Option<T>>),
}

/// The duty to ask: land the result for the waiters. Dropping it unlanded tells them to join
/// again; either way the question is no longer in flight.
pub struct Flight<'a, T> {
    owner: &'a InFlight<T>,
    key: ForwardKey,
    result: watch::Sender<Option<T>>,
}

impl<T> Default for InFlight<T> {
    fn default() -> Self {
        InFlight {
            flights: Mutex::new(HashMap::new()),
        }
    }
}

impl<T: Clone> InFlight<T> {
    /// Joins the exchange for `key`, starting it when there is none.
    pub fn join(&self, key: &ForwardKey) -> Turn<'_, T> {
        let mut flights = self
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(waiting) = flights.get(key) {
            return Turn::Wait(waiting.clone());
        }
        let (result, waiting) = watch::channel(None);
        flights.insert(key.clone(), waiting);
        Turn::Ask(Flight {
            owner: self,
            key: key.clone(),
            result,
        })
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_empty()
    }
}

impl<T: Clone> Flight<'_, T> {
    /// Hands `landed` to every query waiting for it.
    pub fn land(self, landed: &T) {
        self.result.send_replace(Some(landed.clone()));
    }
}

impl<T> Drop for Flight<'_, T> {
    fn drop(&mut self) {
        let mut flights = self
            .owner
            .flights
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        flights.remove(&self.key);
    }
}

/// Waits for the asker's result; `None` when it went away without one.
pub async fn wait<T: Clone>(mut waiting: watch::Receiver<Option<T>>) -> Option<T> {
    let slot = waiting.wait_for(Option::is_some).await.ok()?;
    slot.clone()
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::Message;

    use super::*;
    use crate::net::forward_key::tests::{request, UP};

    fn key(name: &str) -> ForwardKey {
        ForwardKey::of(&request(name, 1, false), UP)
    }

    #[tokio::test]
    async fn the_second_query_waits_for_the_first_ones_reply() {
        let inflight = InFlight::<Message>::default();
        let Turn::Ask(flight) = inflight.join(&key("a.example.org.")) else {
            panic!("the first query asks")
        };
        let Turn::Wait(waiting) = inflight.join(&key("A.example.org.")) else {
            panic!("the same question waits")
        };
        assert!(matches!(
            inflight.join(&key("b.example.org.")),
            Turn::Ask(_)
        ));
        let waiter = tokio::spawn(wait(waiting));
        let mut reply = Message::query();
        reply.metadata.id = 77;
        flight.land(&reply);
        let got = waiter.await.unwrap();
        assert_eq!(got.map(|m| m.metadata.id), Some(77));
        assert!(inflight.is_empty(), "landed flights are gone");
    }

    #[tokio::test]
    async fn waiters_hear_when_the_asker_goes_away() {
        let inflight = InFlight::<Message>::default();
        let flight = inflight.join(&key("c.example.org."));
        let Turn::Wait(waiting) = inflight.join(&key("c.example.org.")) else {
            panic!("the same question waits")
        };
        drop(flight);
        assert!(wait(waiting).await.is_none());
        assert!(matches!(
            inflight.join(&key("c.example.org.")),
            Turn::Ask(_)
        ));
    }
}
