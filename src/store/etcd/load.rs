//! The initial load: every key under `/<prefix>/` read at one revision R, in pages (a large
//! prefix does not need one huge message). The deadlines of the leases the keys carry are
//! asked for by the mirror (`mirror.rs`).

use etcd_client::{Client, GetOptions, KeyValue};

use super::{rpc, SyncError};

/// Keys per Range page.
const PAGE: i64 = 5000;
/// Largest message accepted from etcd (a page of big values, or a watch response of a big
/// transaction).
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// One key as loaded.
#[derive(Debug)]
pub struct Item {
    /// The full key, prefix included.
    pub key: String,
    /// The value exactly as stored.
    pub value: Vec<u8>,
    /// The ID of the key's lease; 0 when it has none.
    pub lease: i64,
}

/// The whole prefix at one revision.
#[derive(Debug)]
pub struct Loaded {
    /// The etcd revision every page was read at.
    pub revision: i64,
    /// Every UTF-8 key under the prefix, in key order.
    pub items: Vec<Item>,
}

/// The key range `[start, end)` of everything under `/<prefix>/`.
pub fn prefix_range(prefix: &str) -> (String, String) {
    (format!("/{prefix}/"), format!("/{prefix}0"))
}

/// A key as text; etcd keys are bytes, ours are UTF-8 (others are skipped with a warning).
pub fn key_text(kv: &KeyValue) -> Option<String> {
    match std::str::from_utf8(kv.key()) {
        Ok(k) => Some(k.to_owned()),
        Err(_) => {
            tracing::warn!(key = %String::from_utf8_lossy(kv.key()), "skipping a key that is not UTF-8");
            None
        }
    }
}

/// Reads every key under the prefix at one revision.
pub async fn load(client: &Client, prefix: &str) -> Result<Loaded, SyncError> {
    let mut kv = client.kv_client().max_decoding_message_size(MAX_MESSAGE);
    let (start, end) = prefix_range(prefix);
    let mut from = start.into_bytes();
    let mut revision = 0;
    let mut items = Vec::new();
    loop {
        let mut options = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
        if revision != 0 {
            options = options.with_revision(revision);
        }
        let mut resp = rpc("range", kv.get(from.clone(), Some(options))).await?;
        if revision == 0 {
            revision = resp
                .header()
                .map(etcd_client::ResponseHeader::revision)
                .unwrap_or(0);
        }
        let more = resp.more();
        let kvs = resp.take_kvs();
        let Some(last) = kvs.last() else {
            break;
        };
        from = last.key().to_vec();
        from.push(0);
        items.extend(kvs.into_iter().filter_map(|kv| {
            let key = key_text(&kv)?;
            let lease = kv.lease();
            let (_, value) = kv.into_key_value();
            Some(Item { key, value, lease })
        }));
        if !more {
            break;
        }
    }
    Ok(Loaded { revision, items })
}
