//! Start-up order and the main loop. As root or under systemd:
//! 1. parse flags and environment, set up logging;
//! 2. take the systemd sockets (`LISTEN_FDS`) or bind the configured addresses;
//! 3. read the files that need privileges;
//! 4. drop privileges when root (before any thread exists);
//! 5. start the runtime, serve (SERVFAIL until loaded), load the first snapshot from the store
//!    (STATUS= while waiting) and apply `/<prefix>/config`;
//! 6. READY=1; then reload on SIGHUP, ping the watchdog, and stop gracefully on SIGTERM/SIGINT.

mod reload;
mod watchdog;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::cli::{Cli, Command};
use crate::config::{self, Layer, LogTarget, RuntimeConfig, StartupConfig, StoreConfig};
use crate::dnssec::{self, Signer};
use crate::net::tcp::TcpLimits;
use crate::net::{tcp, udp, Handler};
use crate::store::etcd::{self, Connector, EtcdStore};
use crate::store::{self, file, StoreState};
use crate::sys::listen::{self, Sockets};
use crate::sys::logging::{self, LogControl};
use crate::sys::privileges::{self, Dropped};
use crate::sys::signals::{Request, SignalRequests};
use crate::sys::{interfaces, notify};
use reload::Reloader;

/// How long `skydns check-config` waits for etcd.
const CHECK_CONFIG_TIMEOUT: Duration = Duration::from_secs(5);

/// How long in-flight queries get to finish at shutdown.
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Socket-activated, how long queued queries wait for the first snapshot before the ones
/// that keep coming are answered SERVFAIL.
const ACTIVATION_GRACE: Duration = Duration::from_secs(3);

/// How often STATUS= is refreshed while waiting for the first snapshot.
const WAIT_STATUS_INTERVAL: Duration = Duration::from_secs(5);

/// Settings from the config file, the environment and the flags (everything but the store).
pub fn base_layer(cli: &Cli) -> Result<Layer> {
    let file = match &cli.config {
        Some(path) => config::read_file(path)?,
        None => Layer::default(),
    };
    Ok(file.merged(cli.layer()?))
}

/// Validates `base` with the store's `/<prefix>/config` value on top.
pub fn resolve_config(
    base: &Layer,
    prefix: &str,
    store_value: Option<&[u8]>,
) -> Result<(StartupConfig, RuntimeConfig)> {
    let mut layer = base.clone();
    if let Some(raw) = store_value {
        let key = store::config_key(prefix);
        let (store_layer, unknown) = config::read_store_config(&key, raw)?;
        for k in unknown {
            tracing::warn!(key = %k, "ignoring unknown key in {key}");
        }
        layer = layer.merged(store_layer);
    }
    Ok(config::validate(&layer, &interfaces::host_facts())?)
}

/// Runs skydns; returns the process exit code. Single-threaded until privileges are dropped.
pub fn run(cli: Cli) -> Result<i32> {
    let base = base_layer(&cli)?;
    let (startup, runtime_cfg) = resolve_config(&base, "skydns", None)?;
    if matches!(cli.command, Some(Command::CheckConfig)) {
        logging::init(LogTarget::Stderr, &startup.log_level, false, None)?;
        return check_config(&base, &startup);
    }
    let log = logging::init(
        startup.log,
        &startup.log_level,
        runtime_cfg.query_log,
        cli.syslog_socket.as_deref(),
    )?;
    let to_syslog = log.to_syslog();
    let result = run_service(cli, startup, runtime_cfg, log);
    if let (Err(e), true) = (&result, to_syslog) {
        // main reports it on stderr too, which nobody may read when running as a service.
        tracing::error!("{}", crate::sys::report::error_line(e));
    }
    result
}

/// Steps 2 to 6 of the start-up order, then serving until stopped.
fn run_service(
    cli: Cli,
    startup: StartupConfig,
    runtime_cfg: RuntimeConfig,
    log: LogControl,
) -> Result<i32> {
    let sockets = take_sockets(&startup)?;
    // Files that need root (key material) are read here, between the sockets and the drop. A
    // key named only in `/<prefix>/config` is read after the store loads, as the service user.
    let signer = Arc::new(ArcSwapOption::new(dnssec::load_signer(&runtime_cfg)?));
    let store_source = StoreSource::prepare(&startup)?;
    report_identity(privileges::drop_privileges(
        startup.user.as_deref(),
        startup.group.as_deref(),
    )?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let code = runtime.block_on(serve(
        cli,
        startup,
        runtime_cfg,
        sockets,
        store_source,
        signer,
        log,
    ));
    runtime.shutdown_timeout(Duration::from_millis(200));
    code
}

fn check_config(base: &Layer, startup: &StartupConfig) -> Result<i32> {
    let store_value = match &startup.store {
        StoreConfig::File(path) => file::load(path, &startup.path_prefix)?.config_value,
        StoreConfig::Etcd(cfg) => {
            let connector = Connector::new(cfg)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime
                .block_on(etcd::read_config_value(
                    &connector,
                    &startup.path_prefix,
                    CHECK_CONFIG_TIMEOUT,
                ))
                .context("cannot read the configuration from etcd")?
        }
    };
    let (_, runtime) = resolve_config(base, &startup.path_prefix, store_value.as_deref())?;
    dnssec::load_signer(&runtime)?;
    println!("configuration is valid");
    Ok(0)
}

/// The sockets systemd passed, or the configured addresses bound.
fn take_sockets(startup: &StartupConfig) -> Result<Sockets> {
    let sockets = listen::acquire(startup.systemd, &startup.addrs)?;
    interfaces::remember_own_sockets(sockets.local_addrs());
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
            tracing::info!(uid, "not started as root: no privileges to drop")
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
    first_runtime: RuntimeConfig,
    sockets: Sockets,
    store_source: StoreSource,
    signer: Arc<ArcSwapOption<Signer>>,
    log: LogControl,
) -> Result<i32> {
    let mut signals = SignalRequests::new().context("cannot watch signals")?;
    let store = StoreState::new();
    let runtime = Arc::new(ArcSwap::from_pointee(first_runtime));

    notify::status("waiting for the first snapshot from the store");
    // Not socket-activated: answer SERVFAIL at once while the store loads. Socket-activated,
    // the kernel queues queries on systemd's sockets while we start: give the store a moment
    // first, so the query that started us (and those sent during a restart) get real answers.
    let mut loading = if sockets.activated {
        None
    } else {
        Some(LoadingServers::start(&sockets, &runtime, &startup)?)
    };
    let mut store_task = start_store(store_source, store.clone()).await?;
    if loading.is_none()
        && tokio::time::timeout(ACTIVATION_GRACE, store.wait_loaded())
            .await
            .is_err()
    {
        loading = Some(LoadingServers::start(&sockets, &runtime, &startup)?);
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
        runtime.clone(),
        signer.clone(),
        store.clone(),
        log,
    );
    reloader.apply_first()?;
    let handler = Arc::new(Handler::new(store.clone(), runtime).with_signer(signer));
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
            request = signals.next() => match request {
                Request::Reload => reloader.reload(),
                Request::Stop => break,
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
    };
    let mut tasks = Vec::new();
    for socket in sockets.udp {
        socket.set_nonblocking(true)?;
        let socket = tokio::net::UdpSocket::from_std(socket)?;
        tasks.push(tokio::spawn(udp::serve(
            socket,
            handler.clone(),
            stop.clone(),
        )));
    }
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

/// A store ready to start: its files that may need privileges (etcd TLS certificates and
/// keys) are already read, so it can start after the privilege drop.
enum StoreSource {
    File { path: PathBuf, prefix: String },
    Etcd(Box<EtcdStore>),
}

impl StoreSource {
    fn prepare(startup: &StartupConfig) -> Result<Self> {
        let prefix = startup.path_prefix.clone();
        Ok(match &startup.store {
            StoreConfig::File(path) => StoreSource::File {
                path: path.clone(),
                prefix,
            },
            StoreConfig::Etcd(cfg) => {
                let connector = Connector::new(cfg)?;
                tracing::info!(endpoints = ?connector.endpoints(), "loading /{prefix}/ from etcd");
                StoreSource::Etcd(Box::new(EtcdStore::new(connector, &prefix)))
            }
        })
    }
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
        runtime: &Arc<ArcSwap<RuntimeConfig>>,
        startup: &StartupConfig,
    ) -> Result<Self> {
        let handler = Arc::new(Handler::new(StoreState::new(), runtime.clone()));
        let (stop, stop_rx) = watch::channel(false);
        let servers = start_servers(sockets.try_clone()?, &handler, startup, &stop_rx)?;
        Ok(LoadingServers {
            stop,
            servers,
            handler,
        })
    }
}

/// Starts the store's task, which keeps `store` current. The file store loads its first
/// snapshot before this returns (off the query threads; an unreadable file stops start-up);
/// the etcd store in the task (queries get SERVFAIL until then).
async fn start_store(source: StoreSource, store: Arc<StoreState>) -> Result<JoinHandle<()>> {
    match source {
        StoreSource::File { path, prefix } => {
            let (p, pre, st) = (path.clone(), prefix.clone(), store.clone());
            tokio::task::spawn_blocking(move || file::load_into(&p, &pre, &st))
                .await
                .context("the file store reader failed")??;
            Ok(tokio::spawn(file::watch(path, prefix, store)))
        }
        StoreSource::Etcd(etcd) => Ok(tokio::spawn(etcd.run(store))),
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
            request = signals.next() => match request {
                Request::Stop => return false,
                Request::Reload => tracing::info!("reload ignored: no snapshot loaded yet"),
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
