//! Start-up order and the main loop: settings, sockets, the store, the servers, signals.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use arc_swap::{ArcSwap, ArcSwapOption};
use tokio::sync::watch;

use crate::config::cli::{Cli, Command};
use crate::config::{self, Layer, RuntimeConfig, StartupConfig, StoreConfig};
use crate::dnssec;
use crate::net::tcp::TcpLimits;
use crate::net::{tcp, udp, Handler};
use crate::store::{file, StoreState};
use crate::sys::{interfaces, logging};

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
        StoreConfig::Etcd(_) => None,
    };
    let (_, runtime) = resolve_config(base, &startup.path_prefix, store_value.as_deref())?;
    dnssec::load_signer(&runtime)?;
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
    let _store_task = start_store(&startup, store.clone())?;
    let (startup, runtime_cfg) = resolve_config(
        &base,
        &startup.path_prefix,
        store.config_value().as_deref().map(|v| v.as_slice()),
    )?;
    let signer = Arc::new(ArcSwapOption::new(dnssec::load_signer(&runtime_cfg)?));
    if let Some(s) = signer.load().as_ref() {
        let key = s.key();
        tracing::info!(zone = %key.zone, key_tag = key.key_tag, algorithm = %key.algorithm, scache = runtime_cfg.scache, "signing with DNSSEC key");
    }
    let runtime = Arc::new(ArcSwap::from_pointee(runtime_cfg));
    let handler = Arc::new(Handler::new(store.clone(), runtime.clone()).with_signer(signer));
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
    wait_for_stop().await?;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(DRAIN_TIME, futures_util::future::join_all(tasks)).await;
    Ok(0)
}

/// Loads the store's first snapshot and keeps it current in a background task.
fn start_store(
    startup: &StartupConfig,
    store: Arc<StoreState>,
) -> Result<tokio::task::JoinHandle<()>> {
    match &startup.store {
        StoreConfig::File(path) => {
            file::load_into(path, &startup.path_prefix, &store)?;
            Ok(tokio::spawn(file::watch(
                path.clone(),
                startup.path_prefix.clone(),
                store,
            )))
        }
        StoreConfig::Etcd(_) => bail!(
            "the etcd store is not available in this build; use --file {}",
            Path::new("PATH").display()
        ),
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
