//! Start-up order and the main loop. As root or under systemd:
//! 1. parse flags and environment, set up logging;
//! 2. take the systemd sockets (`LISTEN_FDS`) or bind the configured addresses, and bind the
//!    metrics listener;
//! 3. read the files that need privileges;
//! 4. drop privileges when root (before any thread exists);
//! 5. start the runtime, serve `/metrics`, `/health` and `/ready`, serve DNS (SERVFAIL until
//!    loaded), load the first snapshot from the store (STATUS= while waiting) and apply
//!    `/<prefix>/config`;
//! 6. READY=1; then reload on SIGHUP, ping the watchdog, and stop gracefully on SIGTERM/SIGINT.

pub mod check_config;
mod reload;
mod watchdog;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::cli::{Cli, Command};
use crate::config::{self, Loaded, LogTarget, StartupConfig, StoreConfig};
use crate::dnssec;
use crate::metrics::exposition::Scrape;
use crate::metrics::{http, Metrics};
use crate::net::serving::{Serving, ServingCell};
use crate::net::tcp::TcpLimits;
use crate::net::{tcp, udp, Handler};
use crate::store::start::StoreSource;
use crate::store::StoreState;
use crate::sys::listen::{self, Sockets};
use crate::sys::logging::{self, LogControl};
use crate::sys::privileges::{self, Dropped};
use crate::sys::signals::{SignalRequests, Wanted};
use crate::sys::{allocator, interfaces, notify};
use reload::Reloader;

/// How long in-flight queries get to finish at shutdown.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Socket-activated, how long queued queries wait for the first snapshot before the ones
/// that keep coming are answered SERVFAIL.
const ACTIVATION_GRACE: Duration = Duration::from_secs(3);

/// How often STATUS= is refreshed while waiting for the first snapshot.
const WAIT_STATUS_INTERVAL: Duration = Duration::from_secs(5);

/// Runs skydns; returns the process exit code. Single-threaded until privileges are dropped.
pub fn run(cli: Cli) -> Result<i32> {
    // The store's settings are not known yet: they are applied once it has loaded.
    let first = config::load(&cli.sources(None), &interfaces::host_facts(&[]))?;
    if let Some(Command::CheckConfig { show }) = cli.command {
        logging::init(LogTarget::Stderr, &first.runtime.log_level, false, None)?;
        return check_config::run(&cli.settings, cli.config.as_deref(), &first.startup, show);
    }
    let log = logging::init(
        first.startup.log,
        &first.runtime.log_level,
        first.runtime.query_log,
        cli.syslog_socket.as_deref(),
    )?;
    let to_syslog = log.to_syslog();
    let result = run_service(cli, first, log);
    if let (Err(e), true) = (&result, to_syslog) {
        // main reports it on stderr too, which nobody may read when running as a service.
        tracing::error!("{}", crate::sys::report::error_line(e));
    }
    result
}

/// Steps 2 to 6 of the start-up order, then serving until stopped.
fn run_service(cli: Cli, first: Loaded, log: LogControl) -> Result<i32> {
    let sockets = take_sockets(&first.startup)?;
    let metrics_listener = match &first.startup.metrics {
        Some(m) => {
            let listener = http::bind(m.addr)?;
            tracing::info!(
                "serving {} (Prometheus), /health and /ready on http://{}",
                m.path,
                m.addr
            );
            Some(listener)
        }
        None => None,
    };
    // Files that need root (key material) are read here, between the sockets and the drop. A
    // key named only in `/<prefix>/config` is read after the store loads, as the service user.
    let signer = dnssec::load_signer(&first.runtime)?;
    let store_source = StoreSource::prepare(&first.startup)?;
    report_identity(privileges::drop_privileges(
        first.startup.user.as_deref(),
        first.startup.group.as_deref(),
    )?);
    allocator::start_background_purge();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let serving = Arc::new(ArcSwap::from_pointee(Serving::new(
        first.runtime,
        signer,
        None,
    )));
    let code = runtime.block_on(serve(
        cli,
        first.startup,
        serving,
        sockets,
        metrics_listener,
        store_source,
        log,
    ));
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

/// The sockets systemd passed, or the configured addresses bound.
fn take_sockets(startup: &StartupConfig) -> Result<Sockets> {
    let sockets = listen::acquire(startup.systemd, &startup.addrs)?;
    let described = sockets.describe().join(" ");
    if sockets.activated {
        tracing::info!(
            "socket activation: serving the sockets passed by systemd; dns_addr (--addr) is not used"
        );
    }
    tracing::info!("listening on {described}");
    Ok(sockets)
}

fn report_identity(dropped: Dropped) {
    match dropped {
        Dropped::NotRoot { uid } => {
            tracing::info!(uid, "not started as root: no privileges to drop");
        }
        Dropped::To {
            user,
            uid,
            group,
            gid,
            fell_back,
        } => {
            if fell_back {
                tracing::warn!(
                    "there is no `{}` account; running as `{user}` instead (create the account or pass --user)",
                    privileges::DEFAULT_USER
                );
            }
            tracing::info!(%user, uid, %group, gid, "dropped root privileges");
        }
    }
}

/// Everything after the privilege drop: serve, load, announce readiness, react to signals.
async fn serve(
    cli: Cli,
    startup: StartupConfig,
    serving: Arc<ServingCell>,
    sockets: Sockets,
    metrics_listener: Option<std::net::TcpListener>,
    store_source: StoreSource,
    log: LogControl,
) -> Result<i32> {
    let mut signals = SignalRequests::new().context("cannot watch signals")?;
    let store = StoreState::new();
    let observed = metrics_listener.map(|l| Observed::start(l, &startup, &store, &serving));
    let metrics = observed.as_ref().map(|o| o.metrics.clone());

    notify::status("waiting for the first snapshot from the store");
    // Not socket-activated: answer SERVFAIL at once while the store loads. Socket-activated,
    // the kernel queues queries on systemd's sockets while we start: give the store a moment
    // first, so the query that started us (and those sent during a restart) get real answers.
    let mut loading = if sockets.activated {
        None
    } else {
        Some(LoadingServers::start(
            &sockets, &serving, &startup, &metrics,
        )?)
    };
    let mut store_task = store_source.start(store.clone()).await?;
    if loading.is_none()
        && tokio::time::timeout(ACTIVATION_GRACE, store.wait_loaded())
            .await
            .is_err()
    {
        loading = Some(LoadingServers::start(
            &sockets, &serving, &startup, &metrics,
        )?);
    }
    if let Some(l) = loading {
        if !wait_for_store(&store, &mut signals).await {
            return Ok(stop(l.stop, l.servers, l.handler, None).await);
        }
        halt(l.stop, l.servers).await;
    }
    let mut reloader = Reloader::new(
        cli,
        startup.clone(),
        serving.clone(),
        store.clone(),
        log,
        sockets.local_addrs(),
        metrics.clone(),
    );
    reloader.apply_first()?;
    let handler = Arc::new(Handler::new(store.clone(), serving, metrics));
    if let Some(observed) = &observed {
        observed.scrape.serving_with(handler.clone());
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let servers = start_servers(sockets, &handler, &startup, &stop_rx)?;
    notify::ready(&format!(
        "serving; {} services loaded; {}",
        store.snapshot().len(),
        reloader.status()
    ));
    tracing::info!("ready");

    let watchdog = notify::watchdog_interval()
        .map(|interval| tokio::spawn(watchdog::run(handler.clone(), interval)));
    // This runs on the thread that drives the runtime, not on a query worker: the reload's
    // blocking reads (files, interfaces) stall no query.
    loop {
        tokio::select! {
            wanted = signals.next() => match wanted {
                Wanted::Reload => reloader.reload(),
                Wanted::Stop => break,
            },
            ended = &mut store_task => {
                // The data would freeze from here on: stop, so the service manager restarts us.
                let how = match ended {
                    Err(e) if e.is_panic() => "panicked",
                    _ => "ended",
                };
                stop(stop_tx, servers, handler, watchdog).await;
                anyhow::bail!("the store task {how}; skydns stops rather than serve data that no longer follows the store");
            }
        }
    }
    Ok(stop(stop_tx, servers, handler, watchdog).await)
}

/// The metrics listener at work: the counters it shows and what its scrapes read.
struct Observed {
    metrics: Arc<Metrics>,
    scrape: Arc<Scrape>,
}

impl Observed {
    /// Serves `/metrics`, `/health` and `/ready` on `listener` (bound for `startup.metrics`).
    fn start(
        listener: std::net::TcpListener,
        startup: &StartupConfig,
        store: &Arc<StoreState>,
        serving: &Arc<ServingCell>,
    ) -> Self {
        let metrics = Arc::new(Metrics::default());
        let scrape = Arc::new(Scrape::new(metrics.clone(), store.clone(), serving.clone()));
        let (path, prefix) = startup
            .metrics
            .as_ref()
            .map(|m| (m.path.clone(), m.prefix.as_str()))
            .unwrap_or_default();
        let site = http::Site::new(
            path,
            scrape.clone(),
            prefix,
            store.clone(),
            serving.clone(),
            matches!(startup.store, StoreConfig::Etcd(_)),
        );
        tokio::spawn(http::serve(listener, Arc::new(site)));
        Observed { metrics, scrape }
    }
}

/// Spawns a server task per socket.
fn start_servers(
    sockets: Sockets,
    handler: &Arc<Handler>,
    startup: &StartupConfig,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>> {
    let limits = TcpLimits {
        idle_timeout: startup.tcp_idle_timeout,
        read_timeout: Duration::from_secs(2),
        max_connections: startup.tcp_max_connections,
        max_per_client: startup.tcp_max_per_client,
    };
    let workers = sockets.workers_per_udp_socket();
    let mut tasks = vec![udp::serve(sockets.udp, workers, handler, stop)?];
    for listener in sockets.tcp {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tasks.push(tokio::spawn(tcp::serve(
            listener,
            handler.clone(),
            limits,
            stop.clone(),
        )));
    }
    Ok(tasks)
}

/// Until the first snapshot and its `/<prefix>/config` are applied, a handler over a store
/// that never loads answers SERVFAIL on duplicates of the sockets: nothing is answered from
/// data before the settings that go with it are in force.
struct LoadingServers {
    stop: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    handler: Arc<Handler>,
}

impl LoadingServers {
    fn start(
        sockets: &Sockets,
        serving: &Arc<ServingCell>,
        startup: &StartupConfig,
        metrics: &Option<Arc<Metrics>>,
    ) -> Result<Self> {
        let handler = Arc::new(Handler::new(
            StoreState::new(),
            serving.clone(),
            metrics.clone(),
        ));
        let (stop, stop_rx) = watch::channel(false);
        let servers = start_servers(sockets.try_clone()?, &handler, startup, &stop_rx)?;
        Ok(LoadingServers {
            stop,
            servers,
            handler,
        })
    }
}

/// Waits for the first snapshot, refreshing STATUS=. False when asked to stop meanwhile.
async fn wait_for_store(store: &StoreState, signals: &mut SignalRequests) -> bool {
    let started = Instant::now();
    let mut ticker = tokio::time::interval(WAIT_STATUS_INTERVAL);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = store.wait_loaded() => return true,
            _ = ticker.tick() => {
                let status = format!(
                    "waiting for the first snapshot from the store ({} s)",
                    started.elapsed().as_secs()
                );
                tracing::warn!("{status}");
                notify::status(&status);
            }
            wanted = signals.next() => match wanted {
                Wanted::Stop => return false,
                Wanted::Reload => tracing::info!("reload ignored: no snapshot loaded yet"),
            },
        }
    }
}

/// Tells servers to stop accepting and waits (bounded) for their loops to end.
async fn halt(stop_tx: watch::Sender<bool>, servers: Vec<JoinHandle<()>>) {
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(DRAIN_TIME, futures_util::future::join_all(servers)).await;
}

/// Graceful stop: STOPPING=1, stop accepting, let queries in flight finish (bounded). Returns
/// the exit code.
async fn stop(
    stop_tx: watch::Sender<bool>,
    servers: Vec<JoinHandle<()>>,
    handler: Arc<Handler>,
    watchdog: Option<JoinHandle<()>>,
) -> i32 {
    tracing::info!("shutting down");
    notify::stopping("stopping: finishing queries in flight");
    if let Some(task) = watchdog {
        task.abort();
        let _ = task.await;
    }
    let deadline = tokio::time::Instant::now() + DRAIN_TIME;
    halt(stop_tx, servers).await;
    // Every query in flight holds a reference to the handler: wait until only ours is left.
    while Arc::strong_count(&handler) > 1 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tracing::info!("stopped");
    0
}
