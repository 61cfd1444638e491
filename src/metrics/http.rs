//! The HTTP/1.1 listener for the metrics path (`/metrics` by default), `/health` and
//! `/ready` (hyper). It faces the network, so everything is bounded: at most
//! [`MAX_CONNECTIONS`] at once (more are accepted and closed at once), [`MAX_REQUEST`] bytes
//! of request head, [`HEADER_TIME`] to send it, [`CONNECTION_TIME`] for the whole exchange,
//! and one request per connection. Only GET and HEAD are served; a request body is never read.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use prometheus_client::registry::Registry;
use thiserror::Error;
use tokio::sync::Semaphore;

use super::exposition::{self, Scrape};
use super::health::{readiness, StoreView};
use crate::net::serving::ServingCell;
use crate::store::StoreState;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 16;

/// Bytes of request line and headers at most (hyper's smallest buffer).
pub const MAX_REQUEST: usize = 8192;

/// Headers in a request at most.
const MAX_HEADERS: usize = 32;

/// Time a client has to send the request head.
pub const HEADER_TIME: Duration = Duration::from_secs(5);

/// Time one connection may last, request and response together.
pub const CONNECTION_TIME: Duration = Duration::from_secs(10);

/// The media type of the Prometheus text format.
const METRICS_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Why the listener cannot start.
#[derive(Debug, Error)]
pub enum HttpError {
    /// The address cannot be bound.
    #[error("cannot listen for metrics on {addr} (metrics_addr; an empty value turns the listener off): {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Binds the listener's socket (before privileges are dropped, like the DNS sockets).
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, HttpError> {
    let bind = || {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(listener)
    };
    bind().map_err(|source| HttpError::Bind { addr, source })
}

/// What the listener serves.
pub struct Site {
    /// The path of the metrics.
    metrics_path: String,
    registry: Registry,
    scrape: Arc<Scrape>,
    store: Arc<StoreState>,
    serving: Arc<ServingCell>,
    /// True for etcd: a stale store stops being ready after `ready_stale_after`.
    stale_matters: bool,
}

impl Site {
    /// The metrics of `scrape` at `metrics_path` with names starting `prefix`, and the
    /// readiness of `store` with the bound in the configuration of `serving`
    /// (`stale_matters`: an etcd store).
    pub fn new(
        metrics_path: String,
        scrape: Arc<Scrape>,
        prefix: &str,
        store: Arc<StoreState>,
        serving: Arc<ServingCell>,
        stale_matters: bool,
    ) -> Self {
        Site {
            metrics_path,
            registry: scrape.registry(prefix),
            scrape,
            store,
            serving,
            stale_matters,
        }
    }

    /// The response to `method` on `path`.
    pub fn respond(&self, method: &Method, path: &str) -> Response<Full<Bytes>> {
        if method != Method::GET && method != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match path {
            "/health" => text(StatusCode::OK, "OK\n"),
            "/ready" => {
                let store = StoreView {
                    answering: self.scrape.answering(),
                    state: self.store.sync_state(),
                    stale_for: self.store.stale_for(),
                };
                let limit = self
                    .stale_matters
                    .then(|| self.serving.load().cfg.settings.ready_stale_after.0);
                match readiness(store, limit) {
                    Ok(()) => text(StatusCode::OK, "OK\n"),
                    Err(why) => text(StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
                }
            }
            p if p == self.metrics_path => match exposition::render(&self.registry) {
                Ok(body) => {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(METRICS_TYPE));
                    response
                }
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the metrics could not be written\n",
                ),
            },
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

/// A plain-text response.
fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Serves `listener` (bound with [`bind`]) until the runtime stops.
pub async fn serve(listener: std::net::TcpListener, site: Arc<Site>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve the metrics listener");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIME)
        .max_buf_size(MAX_REQUEST)
        .max_headers(MAX_HEADERS)
        .keep_alive(false);
    let http = Arc::new(http);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::debug!(error = %e, "metrics listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let (site, http) = (site.clone(), http.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let response = site.respond(request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http.serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_TIME, connection).await {
                Ok(Err(e)) => tracing::debug!(error = %e, "metrics listener: bad request"),
                Err(_) => tracing::debug!("metrics listener: connection timed out"),
                Ok(Ok(())) => {}
            }
            drop(slot);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RuntimeConfig;
    use crate::core::Snapshot;
    use crate::metrics::Metrics;
    use crate::net::serving::Serving;
    use crate::net::Handler;

    #[test]
    fn paths_methods_and_readiness() {
        let store = StoreState::new();
        let serving = Arc::new(ServingCell::from_pointee(Serving::unsigned(
            RuntimeConfig::default(),
        )));
        let scrape = Arc::new(Scrape::new(
            Arc::new(Metrics::default()),
            store.clone(),
            serving.clone(),
        ));
        let site = Site::new(
            "/metrics".to_owned(),
            scrape.clone(),
            "skydns",
            store.clone(),
            serving.clone(),
            true,
        );
        let get = |path| site.respond(&Method::GET, path).status();
        assert_eq!(get("/health"), StatusCode::OK);
        assert_eq!(get("/ready"), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(get("/metrics"), StatusCode::OK);
        assert_eq!(get("/metrics/x"), StatusCode::NOT_FOUND);
        assert_eq!(get("/"), StatusCode::NOT_FOUND);
        let post = site.respond(&Method::POST, "/metrics");
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(post.headers()[ALLOW], "GET, HEAD");
        assert_eq!(
            site.respond(&Method::HEAD, "/health").status(),
            StatusCode::OK
        );
        store.publish(Snapshot::empty(), None, &[]);
        assert_eq!(
            get("/ready"),
            StatusCode::SERVICE_UNAVAILABLE,
            "loaded, not served yet"
        );
        scrape.serving_with(Arc::new(Handler::new(store.clone(), serving, None)));
        assert_eq!(get("/ready"), StatusCode::OK);
        let metrics = site.respond(&Method::GET, "/metrics");
        assert_eq!(metrics.headers()[CONTENT_TYPE], METRICS_TYPE);
    }
}
