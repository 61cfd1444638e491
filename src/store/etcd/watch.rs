//! One session's watch loop: a Watch on the prefix from the revision after the last applied
//! one; every response (and whatever else is already waiting) becomes one new snapshot. A
//! silent connection is found by asking for progress after a second without news and giving
//! up when that goes unanswered; due lease deadlines are refreshed on the same tick.

use std::time::{Duration, Instant};

use etcd_client::{Client, WatchOptions, WatchResponse};
use futures_util::FutureExt;

use super::load::{prefix_range, MAX_MESSAGE};
use super::mirror::Mirror;
use super::{publish, Session, SyncError};
use crate::store::StoreState;

/// After this long without a message, etcd is asked for progress.
const QUIET: Duration = Duration::from_secs(1);
/// A progress request unanswered for this long ends the session.
const PROGRESS_TIMEOUT: Duration = Duration::from_secs(3);
/// Watch responses merged into one snapshot at most.
const MAX_BATCH: usize = 1000;

/// Follows the prefix until the session fails.
pub async fn follow(
    client: &Client,
    prefix: &str,
    mirror: &mut Mirror,
    state: &StoreState,
) -> Session {
    let (start, end) = prefix_range(prefix);
    let options = WatchOptions::new()
        .with_range(end)
        .with_start_revision(mirror.revision() + 1)
        .with_progress_notify();
    let mut watch_client = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
    let mut stream = match super::rpc("watch", watch_client.watch(start, Some(options))).await {
        Ok(s) => s,
        Err(e) => return Session::Failed(e),
    };
    let mut synced = false;
    let mut last_heard = Instant::now();
    let mut probe_sent: Option<Instant> = None;
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let error = loop {
        tokio::select! {
            message = stream.message() => {
                let first = match message {
                    Ok(Some(m)) => m,
                    Ok(None) => break SyncError::Closed,
                    Err(e) => break e.into(),
                };
                last_heard = Instant::now();
                probe_sent = None;
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match stream.message().now_or_never() {
                        Some(Ok(Some(m))) => batch.push(m),
                        _ => break,
                    }
                }
                match handle(client, mirror, state, batch).await {
                    Ok(created) => {
                        if created && !synced {
                            synced = true;
                            state.mark_synced();
                        }
                    }
                    Err(e) => break e,
                }
            }
            _ = ticker.tick() => {
                if let Some(sent) = probe_sent {
                    if sent.elapsed() > PROGRESS_TIMEOUT {
                        break SyncError::Silent(PROGRESS_TIMEOUT);
                    }
                } else if last_heard.elapsed() >= QUIET {
                    if let Err(e) = stream.request_progress().await {
                        break e.into();
                    }
                    probe_sent = Some(Instant::now());
                }
                let base = state.snapshot();
                match mirror.refresh_leases(client, &base, Instant::now()).await {
                    Ok(Some(update)) => publish(state, update),
                    Ok(None) => {}
                    Err(e) => break e,
                }
            }
        }
    };
    if synced {
        Session::Synced(error)
    } else {
        Session::Failed(error)
    }
}

/// Applies a batch of watch responses; true when the watch was (or is) created.
async fn handle(
    client: &Client,
    mirror: &mut Mirror,
    state: &StoreState,
    batch: Vec<WatchResponse>,
) -> Result<bool, SyncError> {
    let mut created = false;
    let mut events = Vec::new();
    // Progress notices move the revision only once the events before them are applied: if
    // applying fails, the next watch must start before those events, not after.
    let mut progress = None;
    for resp in batch {
        if resp.canceled() {
            if resp.compact_revision() > 0 {
                return Err(SyncError::Compacted {
                    revision: mirror.revision() + 1,
                    compacted: resp.compact_revision(),
                });
            }
            return Err(SyncError::Canceled(resp.cancel_reason().to_owned()));
        }
        created |= resp.created();
        if resp.events().is_empty() {
            if !resp.created() {
                if let Some(header) = resp.header() {
                    progress = progress.max(Some(header.revision()));
                }
            }
            continue;
        }
        events.extend(resp.events().iter().cloned());
    }
    if !events.is_empty() {
        let base = state.snapshot();
        let update = mirror.apply(client, &base, &events).await?;
        publish(state, update);
        state.note_watch_events(events.len());
    }
    if let Some(revision) = progress {
        mirror.progress(revision);
    }
    Ok(created)
}
