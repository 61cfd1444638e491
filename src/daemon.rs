//! Start-up order and the main loop: settings, sockets, the store, the servers, signals.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::config::cli::{Cli, Command};
use crate::config::{self, Layer, RuntimeConfig, StartupConfig, StoreConfig};
use crate::net::tcp::TcpLimits;
use crate::net::{tcp, udp, Handler};
use crate::store::etcd::{self, Connector, EtcdStore};
use crate::store::{file, StoreState};
use crate::sys::{interfaces, logging};

/// How long `skydns check-config` waits for etcd.
const CHECK_CONFIG_TIMEOUT: Duration = Duration::from_secs(5);

/// How long in-flight queries get to finish at shutdown.
const DRAIN_TIME: Duration = Duration::from_secs(2);

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
        let key = format!("/{prefix}/config");
        let (store_layer, unknown) = config::read_store_config(&key, raw)?;
        for k in unknown {
            tracing::warn!(key = %k, "ignoring unknown key in {key}");
        }
        layer = layer.merged(store_layer);
    }
    Ok(config::validate(&layer, &interfaces::host_facts())?)
}

/// Runs skydns; returns the process exit code.
pub fn run(cli: Cli) -> Result<i32> {
    let base = base_layer(&cli)?;
    let (startup, _) = resolve_config(&base, "skydns", None)?;
    logging::init(&startup.log_level);
    if matches!(cli.command, Some(Command::CheckConfig)) {
        return check_config(&base, &startup);
    }
    let sockets = bind(&startup.addrs)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(base, startup, sockets))
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
    resolve_config(base, &startup.path_prefix, store_value.as_deref())?;
    println!("configuration is valid");
    Ok(0)
}

/// Bound sockets, before any thread starts.
pub struct Sockets {
    pub udp: Vec<UdpSocket>,
    pub tcp: Vec<TcpListener>,
}

fn bind(addrs: &[SocketAddr]) -> Result<Sockets> {
    let mut sockets = Sockets {
        udp: Vec::new(),
        tcp: Vec::new(),
    };
    for addr in addrs {
        let udp = UdpSocket::bind(addr).with_context(|| format!("cannot bind UDP {addr}"))?;
        // Port 0 asks for any port: TCP then takes the port UDP got.
        let tcp_addr = udp.local_addr()?;
        let tcp =
            TcpListener::bind(tcp_addr).with_context(|| format!("cannot bind TCP {tcp_addr}"))?;
        sockets.udp.push(udp);
        sockets.tcp.push(tcp);
    }
    Ok(sockets)
}

async fn serve(base: Layer, startup: StartupConfig, sockets: Sockets) -> Result<i32> {
    let store = StoreState::new();
    let (_, runtime_cfg) = resolve_config(&base, &startup.path_prefix, None)?;
    let runtime = Arc::new(ArcSwap::from_pointee(runtime_cfg));
    let (startup, store_task) = start_store(startup, &base, store.clone(), runtime.clone())?;
    let handler = Arc::new(Handler::new(store.clone(), runtime.clone()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let limits = TcpLimits {
        idle_timeout: startup.tcp_idle_timeout,
        read_timeout: Duration::from_secs(2),
        max_connections: startup.tcp_max_connections,
    };
    let mut tasks = Vec::new();
    for socket in sockets.udp {
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        let socket = tokio::net::UdpSocket::from_std(socket)?;
        tracing::info!(domain = %runtime.load().domain, "ready for queries on udp://{local}");
        tasks.push(tokio::spawn(udp::serve(
            socket,
            handler.clone(),
            stop_rx.clone(),
        )));
    }
    for listener in sockets.tcp {
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        tracing::info!(domain = %runtime.load().domain, "ready for queries on tcp://{local}");
        tasks.push(tokio::spawn(tcp::serve(
            listener,
            handler.clone(),
            limits,
            stop_rx.clone(),
        )));
    }
    tokio::select! {
        stop = wait_for_stop() => stop?,
        ended = store_task => {
            ended.context("the store task failed")??;
            return Err(anyhow!("the store task ended"));
        }
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(DRAIN_TIME, futures_util::future::join_all(tasks)).await;
    Ok(0)
}

/// The background task of a store; it ends only with an error that must stop skydns.
type StoreTask = tokio::task::JoinHandle<Result<()>>;

/// Loads the store's first snapshot and keeps it current in a background task. The file
/// store loads before this returns; the etcd store loads in the task (queries get SERVFAIL
/// until then) and applies its `/<prefix>/config` before its first snapshot is published. The
/// task ends only with an error that must stop skydns. Returns the start-up settings with the
/// store's config applied when it was read here (file store).
fn start_store(
    startup: StartupConfig,
    base: &Layer,
    store: Arc<StoreState>,
    runtime: Arc<ArcSwap<RuntimeConfig>>,
) -> Result<(StartupConfig, StoreTask)> {
    let prefix = startup.path_prefix.clone();
    match &startup.store {
        StoreConfig::File(path) => {
            file::load_into(path, &prefix, &store)?;
            let store_value = store.config_value();
            let (startup, runtime_cfg) =
                resolve_config(base, &prefix, store_value.as_deref().map(|v| v.as_slice()))?;
            runtime.store(Arc::new(runtime_cfg));
            let path = path.clone();
            let task = tokio::spawn(async move {
                file::watch(path, prefix, store).await;
                Ok(())
            });
            Ok((startup, task))
        }
        StoreConfig::Etcd(cfg) => {
            let connector = Connector::new(cfg)?;
            tracing::info!(endpoints = ?connector.endpoints(), "loading /{prefix}/ from etcd");
            let base = base.clone();
            let accept_first = move |value: Option<&[u8]>| {
                let (_, runtime_cfg) = resolve_config(&base, &prefix, value)?;
                runtime.store(Arc::new(runtime_cfg));
                Ok::<(), anyhow::Error>(())
            };
            let etcd = EtcdStore::new(connector, &startup.path_prefix);
            let task = tokio::spawn(async move { Err(etcd.run(store, accept_first).await) });
            Ok((startup, task))
        }
    }
}

async fn wait_for_stop() -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
    tokio::select! {
        _ = term.recv() => {},
        _ = int.recv() => {},
    }
    Ok(())
}
