//! `skydnsctl service put|rm|ls`.

use anyhow::Result;

use super::error::{Failure, UsageError};
use super::lease::{self, Registration};
use super::listing::{self, Found};
use super::name::ServiceName;
use super::record::Fields;
use super::store::Store;
use crate::store::config_key;

/// `service put`: checks the name and the fields, then writes the key (with `lease`, holds it
/// until stopped). Returns the exit code.
pub async fn put(
    store: &mut Store,
    name: &str,
    fields: &Fields,
    lease: Option<lease::LeaseTtl>,
) -> Result<i32> {
    if lease.is_some() && matches!(store, Store::File(_)) {
        return Err(UsageError::LeaseWithFile.into());
    }
    let service = ServiceName::parse(name).map_err(UsageError::from)?;
    let key = service.key(store.prefix());
    if key == config_key(store.prefix()) {
        return Err(UsageError::SettingsKey {
            name: name.to_owned(),
            key,
        }
        .into());
    }
    let value = fields.to_value()?;
    match (store, lease) {
        (Store::Etcd(etcd), Some(ttl)) => {
            let reg = Registration {
                name: &service.fqdn(),
                key: &key,
                value: &value,
                ttl: lease::whole_seconds(ttl),
            };
            lease::hold(etcd, &reg).await
        }
        (store, _) => {
            store.put(&key, &value).await?;
            println!("{key} = {}", String::from_utf8_lossy(&value));
            Ok(0)
        }
    }
}

/// The services at and below `name`, read from the store.
async fn subtree(store: &mut Store, name: &ServiceName) -> Result<(Vec<Found>, Vec<Found>)> {
    let stored = store.list().await?;
    Ok(listing::at_and_below(
        name,
        listing::services(store.prefix(), stored),
    ))
}

/// `service rm`: removes the key of `name` and, with `recursive`, every key below it.
pub async fn rm(store: &mut Store, name: &str, recursive: bool) -> Result<i32> {
    let service = ServiceName::parse(name).map_err(UsageError::from)?;
    let (at, below) = subtree(store, &service).await?;
    let fqdn = service.fqdn();
    if at.is_empty() && below.is_empty() {
        return Err(Failure::NothingAt { name: fqdn }.into());
    }
    if at.is_empty() && !recursive {
        return Err(Failure::OnlyBelow {
            name: fqdn,
            below: below.len(),
        }
        .into());
    }
    let chosen = if recursive {
        at.into_iter().chain(below).collect()
    } else {
        at
    };
    let keys: Vec<String> = chosen.into_iter().map(|f| f.stored.key).collect();
    let removed = store.delete(&keys).await?;
    match keys.as_slice() {
        [key] if removed == 1 => println!("removed {key}"),
        _ => println!("removed {removed} keys at and below {fqdn}"),
    }
    Ok(0)
}

/// `service ls`: a table, or JSON, of the services at and below `name` (all without it).
pub async fn ls(store: &mut Store, name: Option<&str>, json: bool) -> Result<i32> {
    let found = match name {
        None => {
            let stored = store.list().await?;
            listing::services(store.prefix(), stored)
        }
        Some(name) => {
            let service = ServiceName::parse(name).map_err(UsageError::from)?;
            let (mut at, below) = subtree(store, &service).await?;
            if at.is_empty() && below.is_empty() {
                return Err(Failure::NothingAt {
                    name: service.fqdn(),
                }
                .into());
            }
            at.extend(below);
            at
        }
    };
    if json {
        print!("{}", listing::json(&found));
    } else if !found.is_empty() {
        print!("{}", listing::table(&found));
    }
    Ok(0)
}
