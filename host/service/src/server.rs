//! Listening: the routes, TLS when configured, and an accept loop with bounded handshakes and
//! header reads (a slow client holds its own connection, never the loop) that stops gracefully.

use crate::{App, ServeError, api, console, intake};
use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// How long a client may take to finish the TLS handshake, or to send a request's headers.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open connections get to finish once the service stops.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Binds the listen address, ready to speak TLS when configured, and says where on stdout (a
/// port of 0 is chosen by the system). A certificate that cannot be used stops the start.
pub(crate) async fn bind(app: &App) -> Result<(TcpListener, Option<TlsAcceptor>), ServeError> {
    let settings = app.settings();
    let serve = &settings.serve;
    let tls = match &serve.tls {
        None => None,
        Some(tls) => Some(acceptor(&tls.cert, &tls.key).map_err(ServeError::Start)?),
    };
    let listener = TcpListener::bind(serve.listen)
        .await
        .map_err(|error| ServeError::Start(format!("cannot listen on {}: {error}", serve.listen)))?;
    let address = listener
        .local_addr()
        .map_err(|error| ServeError::Start(error.to_string()))?;
    let scheme = if serve.tls.is_some() { "https" } else { "http" };
    // The line a supervisor or a test waits for; flushed, as stdout may be a pipe.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {scheme}://{address}");
    let _ = stdout.flush();
    Ok((listener, tls))
}

pub(crate) fn routes(app: Arc<App>) -> Router {
    let limit = app.settings().serve.body_limit;
    Router::new()
        .route("/v1/sources/{source}/alerts", post(intake::accept))
        .route("/v1/alerts/{id}", get(api::report))
        .route("/v1/approvals", get(api::approvals))
        .route("/v1/approvals/{id}/approve", post(api::approve))
        .route("/v1/approvals/{id}/deny", post(api::deny))
        .route("/v1/actions", get(api::actions))
        .route("/v1/actions/{id}/undo", post(api::undo))
        .route("/v1/audit", get(api::audit))
        .route("/v1/breaker", get(api::breaker))
        .route("/v1/breaker/reset", post(api::reset))
        .route("/healthz", get(|| async { StatusCode::OK }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .merge(console::routes())
        // Both: the layer refuses a declared length unread, the limit a chunked body as it grows.
        .layer(DefaultBodyLimit::max(limit))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .with_state(app)
}

async fn ready(State(app): State<Arc<App>>) -> StatusCode {
    if app.draining.load(Ordering::SeqCst) || app.queue.depth().is_err() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

async fn metrics(State(app): State<Arc<App>>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match app.metrics.render(&app.store) {
        Ok(text) => (
            [("content-type", "text/plain; version=0.0.4; charset=utf-8")],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot render the metrics");
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
    }
}

/// Accepts connections until `stop`, then lets open ones finish for a while.
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let router = routes(app);
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The timer first: without it the header timeout cannot be armed.
    http.timer(TokioTimer::new()).header_read_timeout(CLIENT_TIMEOUT);
    loop {
        let (tcp, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                // Out of file descriptors, most likely: wait for some to close.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let service = router.clone().map_request(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(remote));
            request
        });
        let service = TowerToHyperService::new(service);
        let (http, watcher, tls) = (http.clone(), graceful.watcher(), tls.clone());
        tokio::spawn(async move {
            match tls {
                None => {
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(tcp), service))
                        .await;
                }
                Some(acceptor) => {
                    let Ok(Ok(stream)) = tokio::time::timeout(CLIENT_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(CLOSE_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open at the close timeout were cut");
    }
}

fn acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|error| format!("cannot read the certificate {}: {error}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| format!("cannot read the key {}: {error}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| error.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|error| format!("the certificate and key do not make a TLS identity: {error}"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
