//! `service put --lease`: the service is registered with an etcd lease and lives as long as
//! `skydnsctl` does. The lease is renewed every third of its TTL; SIGTERM or SIGINT revoke it
//! (the record goes at once); a `skydnsctl` killed hard stops renewing and etcd deletes the
//! key when the lease runs out. If etcd forgets the lease meanwhile (it was unreachable for
//! longer than the TTL), the service is registered again under a new lease as soon as etcd
//! answers. SIGHUP is ignored.

use std::time::Duration;

use anyhow::{Context, Result};

use super::etcd::{EtcdCtl, KeepAliveEnd, Lease};
use crate::config::settings::Seconds;
use crate::store::etcd::backoff::Backoff;
use crate::sys::signals::{SignalRequests, Wanted};

/// A lease TTL on the command line: a duration (`30s`, `1m`) or seconds, at most a day.
pub type LeaseTtl = Seconds<86_400>;

/// How long revoking the lease may take at the end.
const REVOKE_TIMEOUT: Duration = Duration::from_secs(5);

/// What `hold` registers.
pub struct Registration<'a> {
    /// The name, for messages.
    pub name: &'a str,
    /// The key.
    pub key: &'a str,
    /// The service value.
    pub value: &'a [u8],
    /// The TTL asked for, in whole seconds.
    pub ttl: i64,
}

/// The TTL in whole seconds, rounded up (etcd counts leases in seconds).
pub fn whole_seconds(ttl: LeaseTtl) -> i64 {
    let d = ttl.0;
    i64::try_from(d.as_secs() + u64::from(d.subsec_nanos() > 0)).unwrap_or(i64::MAX)
}

/// Registers, prints one line, keeps the registration alive until SIGTERM or SIGINT, then
/// revokes the lease. Returns the exit code: 0 when the lease was revoked, 1 when it could
/// not be (the key then goes when the lease runs out).
pub async fn hold(etcd: &mut EtcdCtl, reg: &Registration<'_>) -> Result<i32> {
    let mut signals = SignalRequests::new().context("cannot watch signals")?;
    let mut lease = etcd
        .put_leased(reg.key, reg.value, reg.ttl)
        .await
        .with_context(|| format!("cannot register {}", reg.name))?;
    announce(reg, lease);
    loop {
        tokio::select! {
            wanted = signals.next() => if wanted == Wanted::Stop { break },
            () = keep(etcd, reg, &mut lease) => {}
        }
    }
    match tokio::time::timeout(REVOKE_TIMEOUT, etcd.revoke(lease.id)).await {
        Ok(Ok(())) => {
            println!("removed {} (lease {:x} revoked)", reg.name, lease.id);
            Ok(0)
        }
        outcome => {
            let why = match outcome {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {REVOKE_TIMEOUT:?}"),
            };
            eprintln!(
                "skydnsctl: cannot revoke lease {:x} ({why}); {} goes when it runs out (within {}s)",
                lease.id, reg.key, lease.ttl
            );
            Ok(1)
        }
    }
}

/// The line printed once the service is registered.
fn announce(reg: &Registration<'_>, lease: Lease) {
    println!(
        "registered {} at {} with lease {:x} (TTL {}s), kept alive until skydnsctl stops",
        reg.name, reg.key, lease.id, lease.ttl
    );
}

/// Renews the lease forever: after a failure, again after a backoff; after the lease is
/// gone, registers again under a new one.
async fn keep(etcd: &mut EtcdCtl, reg: &Registration<'_>, lease: &mut Lease) {
    let mut backoff = Backoff::default();
    loop {
        let every = renewal_interval(lease.ttl);
        match etcd.keep_alive(lease.id, every).await {
            KeepAliveEnd::Expired => {
                eprintln!(
                    "skydnsctl: lease {:x} is gone; registering {} again",
                    lease.id, reg.name
                );
                match etcd.put_leased(reg.key, reg.value, reg.ttl).await {
                    Ok(new) => {
                        *lease = new;
                        backoff.reset();
                        announce(reg, new);
                        continue;
                    }
                    Err(e) => eprintln!("skydnsctl: cannot register {}: {e}", reg.name),
                }
            }
            KeepAliveEnd::Failed { renewed, error } => {
                if renewed {
                    backoff.reset();
                }
                eprintln!("skydnsctl: cannot renew lease {:x}: {error}", lease.id);
            }
        }
        tokio::time::sleep(backoff.next_delay(&mut rand::rng())).await;
    }
}

/// A third of the TTL (at least 100 ms).
fn renewal_interval(ttl: i64) -> Duration {
    let ttl = Duration::from_secs(u64::try_from(ttl).unwrap_or(1));
    (ttl / 3).max(Duration::from_millis(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_round_up_to_seconds_and_renew_at_a_third() {
        let ttl = |s: &str| whole_seconds(s.parse::<LeaseTtl>().unwrap());
        assert_eq!(ttl("10s"), 10);
        assert_eq!(ttl("1500ms"), 2);
        assert_eq!(ttl("1m"), 60);
        assert_eq!(ttl("30"), 30);
        assert!("0s".parse::<LeaseTtl>().is_err());
        assert!("2d".parse::<LeaseTtl>().is_err());
        assert_eq!(renewal_interval(9), Duration::from_secs(3));
    }
}
