//! The API's listener: every connection bounded, so no client can take the
//! port (or the process's descriptors) from the others.
//!
//! * one client address may hold `[api] max_connections_per_client` open
//!   connections (32) and all clients together `max_connections` (256):
//!   past either, the new connection is closed at once and counted;
//! * a client has `header_timeout` (10 s) to send a request's headers, and
//!   a kept-alive connection idle that long is closed (hyper starts the same
//!   timer while waiting for the next request);
//! * a request, its body included, has `request_timeout` (30 s);
//! * an error accepting (`EMFILE` when descriptors run out, a connection
//!   reset before it was accepted) is counted and waited out, and the
//!   listener keeps listening;
//! * with `[api] tls`, every connection is HTTPS (rustls); a handshake
//!   gets `header_timeout` too, and a failed one is counted.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::warn;

use crate::metrics::Metrics;
use sitewarden_model::catalog::ApiSettings;
use sitewarden_runtime::logging::LogLimiter;
use sitewarden_runtime::shutdown::Shutdown;

/// Wait after a failed accept before the next (descriptors may come back).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait for open connections to finish at shutdown.
const DRAIN: Duration = Duration::from_secs(5);

/// Open connections per client address and in all.
#[derive(Debug)]
struct Slots {
    per_client: usize,
    total: usize,
    open: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One open connection's place, given back when the connection ends.
struct Slot {
    slots: Arc<Slots>,
    client: IpAddr,
}

impl Slots {
    fn take(self: &Arc<Self>, client: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_client) = &mut *open;
        let mine = by_client.entry(client).or_default();
        if *total >= self.total || *mine >= self.per_client {
            if *mine == 0 {
                by_client.remove(&client);
            }
            return None;
        }
        *mine += 1;
        *total += 1;
        Some(Slot {
            slots: self.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .slots
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_client) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(mine) = by_client.get_mut(&self.client) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                by_client.remove(&self.client);
            }
        }
    }
}

/// Serves `router` on `listener` until shutdown, then lets open requests
/// finish (up to five seconds).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &ApiSettings,
    metrics: Arc<Metrics>,
    mut shutdown: Shutdown,
) -> std::io::Result<()> {
    let slots = Arc::new(Slots {
        per_client: settings.max_connections_per_client,
        total: settings.max_connections,
        open: Mutex::default(),
    });
    let router = router.layer(axum::middleware::from_fn_with_state(
        settings.request_timeout,
        time_limit,
    ));
    let header_timeout = settings.header_timeout;
    let tls = match &settings.tls {
        Some(tls) => Some(TlsAcceptor::from(
            sitewarden_config::server_tls(tls).map_err(std::io::Error::other)?,
        )),
        None => None,
    };
    let mut connections = JoinSet::new();
    let mut log = LogLimiter::new(Duration::from_secs(60));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.wait() => break,
        };
        // Finished connections are reaped as we go, so the set stays small.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                metrics.api_accept_errors.fetch_add(1, Relaxed);
                if log.allow().is_some() {
                    warn!(error = %e, "cannot accept an API connection; waiting and listening on");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Some(slot) = slots.take(peer.ip()) else {
            metrics.api_connections_refused.fetch_add(1, Relaxed);
            if log.allow().is_some() {
                warn!(client = %peer.ip(), "API connection refused: the client holds its share of connections");
            }
            drop(stream);
            continue;
        };
        let service = TowerToHyperService::new(router.clone());
        let stop = shutdown.clone();
        let (tls, metrics) = (tls.clone(), metrics.clone());
        connections.spawn(async move {
            let _slot = slot;
            let Some(tls) = tls else {
                return http1(stream, service, header_timeout, stop).await;
            };
            // The handshake gets the time a client has for its headers.
            match tokio::time::timeout(header_timeout, tls.accept(stream)).await {
                Ok(Ok(stream)) => http1(stream, service, header_timeout, stop).await,
                _ => {
                    metrics.api_tls_failures.fetch_add(1, Relaxed);
                }
            }
        });
    }
    let _ = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Serves HTTP/1.1 on one connection until it ends, or lets its request
/// finish at shutdown.
async fn http1<S>(
    stream: S,
    service: TowerToHyperService<Router>,
    header_timeout: Duration,
    mut stop: Shutdown,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stop.wait() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Answers 408 to a request (body included) that takes longer than its limit.
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => super::error::ApiError::timeout("the request took too long; send it again")
            .into_response(),
    }
}
