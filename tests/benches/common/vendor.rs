//! A vendor that takes its time: an HTTP server on loopback answering every webhook request
//! after a fixed delay, as an identity provider, a firewall manager or a ticketing system does
//! across the internet. Built on hyper so that it answers any number of requests at once: the
//! slow-vendor benchmark measures Palisade, not the stub.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::time::Duration;

pub struct SlowVendor {
    url: String,
    /// Serves until the vendor is dropped.
    _runtime: tokio::runtime::Runtime,
}

impl SlowVendor {
    /// Listening on 127.0.0.1, answering each request `delay` after reading it.
    pub fn start(delay: Duration) -> SlowVendor {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the vendor's runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let url = format!("http://{}/", listener.local_addr().expect("a bound address"));
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(request, delay));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SlowVendor {
            url,
            _runtime: runtime,
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

/// What the webhook connector expects: a ticket reference for `ticket.create`, `{}` for the rest.
async fn answer(request: Request<Incoming>, delay: Duration) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = request.into_body().collect().await?.to_bytes();
    let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    tokio::time::sleep(delay).await;
    let reply = if envelope["capability"] == "ticket" && envelope["operation"] == "create" {
        json!({"id": "T-1", "url": null})
    } else {
        json!({})
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
