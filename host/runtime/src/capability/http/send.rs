//! Sends one request the hook admitted: resolve on the host, check every address, connect to
//! a checked address, TLS against the original name, HTTP/1.1, a capped response body.
//!
//! Modeled on wasmtime-wasi-http's default handler, which connects by name (a second lookup a
//! rebinding DNS server could answer differently) and has no size cap.

use super::address;
use super::origin::{Scheme, Target};
use super::{HttpAudit, HttpPolicy};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

/// What finishes the connection after the response head arrived.
pub(super) type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;

trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}

/// The timeouts of one request: the guest's own, never longer than the config's.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    connect: Duration,
    first_byte: Duration,
    between_bytes: Duration,
}

impl Timeouts {
    fn new(policy: &HttpPolicy, options: Option<RequestOptions>) -> Timeouts {
        let options = options.unwrap_or_default();
        let cap = |asked: Option<Duration>| {
            asked
                .map_or(policy.timeout, |asked| asked.min(policy.timeout))
                .max(Duration::from_millis(1))
        };
        Timeouts {
            connect: cap(options.connect_timeout),
            first_byte: cap(options.first_byte_timeout),
            between_bytes: cap(options.between_bytes_timeout),
        }
    }
}

pub(super) async fn send(
    policy: Arc<HttpPolicy>,
    audit: HttpAudit,
    target: Target,
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<(http::Response<WasiBody>, Io), Error> {
    let method = request.method().clone();
    let timeouts = Timeouts::new(&policy, options);
    let deadline = Instant::now() + timeouts.connect;

    let addresses = resolve(&target, deadline).await.inspect_err(|error| {
        audit.failed(&target, &method, &error.to_string());
    })?;
    // Every address is checked, not just the one used: a name that resolves to a public and
    // a private address is refused whole.
    for address in &addresses {
        if let Err(refusal) = address::check(address.ip(), policy.allow_private) {
            let reason = match refusal {
                address::Refusal::Private(_) => format!(
                    "{} resolves to {refusal} ({}), and allow_private is off",
                    target.host,
                    address.ip()
                ),
                address::Refusal::Forbidden(_) => {
                    format!("{} resolves to {refusal} ({})", target.host, address.ip())
                }
            };
            audit.refused(&target, &method, &reason);
            return Err(Error::DestinationIpProhibited);
        }
    }

    let (stream, address) = connect(&addresses, deadline).await.inspect_err(|error| {
        audit.failed(&target, &method, &error.to_string());
    })?;
    let stream: Box<dyn Stream> = match target.scheme {
        Scheme::Http => Box::new(stream),
        Scheme::Https => {
            let name = server_name(&target)?;
            let connector = tokio_rustls::TlsConnector::from(tls_config());
            match timeout_at(deadline, connector.connect(name, stream)).await {
                Ok(Ok(tls)) => Box::new(tls),
                Ok(Err(error)) => {
                    audit.failed(&target, &method, &format!("TLS: {error}"));
                    return Err(Error::TlsProtocolError);
                }
                Err(_) => {
                    audit.failed(&target, &method, "TLS handshake timed out");
                    return Err(Error::ConnectionTimeout);
                }
            }
        }
    };
    let (mut sender, connection) = timeout_at(
        deadline,
        hyper::client::conn::http1::Builder::new().handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)??;

    // The request carries the scheme and host; on the wire it is origin-form (path and query
    // only), with the `host` header wasi:http set from the host that was checked.
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(request.uri().path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    let send = async move {
        let response = timeout(timeouts.first_byte, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)??;
        Ok::<_, Error>(response)
    };
    let mut send = pin!(send);
    let mut connection = Some(connection);
    // Drive the connection until the response head arrives.
    let response = poll_fn(|cx| match send.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => {
            let Some(io) = connection.as_mut() else {
                return Poll::Pending;
            };
            let result = ready!(Pin::new(io).poll(cx));
            connection = None;
            match result {
                Ok(()) => send.as_mut().poll(cx),
                Err(error) => Poll::Ready(Err(Error::from(error))),
            }
        }
    })
    .await
    .inspect_err(|error| audit.failed(&target, &method, &error.to_string()))?;

    let max = policy.max_response_bytes;
    let announced = response
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if let Some(length) = announced.filter(|length| *length > max) {
        audit.refused(
            &target,
            &method,
            &format!("the response announces {length} bytes; the limit is {max}"),
        );
        return Err(Error::HttpResponseBodySize(Some(length)));
    }
    audit.record(
        &target.to_string(),
        "answered",
        serde_json::json!({
            "method": method.as_str(),
            "status": response.status().as_u16(),
            "address": address.to_string(),
        }),
    );

    let response = response.map(|incoming| {
        CappedBody {
            incoming,
            between_bytes: timeouts.between_bytes,
            idle: Box::pin(tokio::time::sleep(timeouts.between_bytes)),
            read: 0,
            max,
            over: Some(Box::new(move |read| {
                audit.refused(
                    &target,
                    &method,
                    &format!("the response body passed the limit of {max} bytes ({read} read)"),
                )
            })),
            done: false,
        }
        .boxed_unsync()
    });
    let io: Io = Box::new(async move {
        match connection {
            Some(connection) => connection.await.map_err(Error::from),
            None => Ok(()),
        }
    });
    Ok((response, io))
}

/// The addresses to connect to: the literal one, or what the host's resolver answers.
async fn resolve(target: &Target, deadline: Instant) -> Result<Vec<SocketAddr>, Error> {
    if let Some(ip) = target.ip() {
        return Ok(vec![SocketAddr::new(ip, target.port)]);
    }
    let addresses: Vec<SocketAddr> = match timeout_at(
        deadline,
        tokio::net::lookup_host((target.host.as_str(), target.port)),
    )
    .await
    {
        Err(_) => return Err(Error::DnsTimeout),
        Ok(Err(_)) => Vec::new(),
        Ok(Ok(addresses)) => addresses.collect(),
    };
    if addresses.is_empty() {
        return Err(Error::DnsError {
            rcode: Some("name not resolved".into()),
            info_code: None,
        });
    }
    Ok(addresses)
}

/// Connects to the first checked address that answers.
async fn connect(addresses: &[SocketAddr], deadline: Instant) -> Result<(TcpStream, SocketAddr), Error> {
    let mut last = None;
    for address in addresses {
        match timeout_at(deadline, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok((stream, *address)),
            Ok(Err(error)) => last = Some(error),
            Err(_) => return Err(Error::ConnectionTimeout),
        }
    }
    Err(last.map_or(Error::ConnectionRefused, Error::Connect))
}

fn server_name(target: &Target) -> Result<rustls::pki_types::ServerName<'static>, Error> {
    use rustls::pki_types::ServerName;
    match target.ip() {
        Some(ip) => Ok(ServerName::from(ip)),
        None => ServerName::try_from(target.host.clone()).map_err(|_| Error::HttpRequestUriInvalid),
    }
}

/// The web PKI roots, with ring: one config for the process.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

/// The response body as the guest reads it: ended with an error once it passes `max` bytes
/// or waits longer than `between_bytes` for the next frame; never buffered by the host.
struct CappedBody {
    incoming: hyper::body::Incoming,
    between_bytes: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
    read: u64,
    max: u64,
    /// Reports the first overrun.
    over: Option<Box<dyn FnOnce(u64) + Send>>,
    done: bool,
}

impl Body for CappedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.incoming).poll_frame(cx) {
            Poll::Ready(None) => {
                this.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                this.done = true;
                Poll::Ready(Some(Err(if error.is_timeout() {
                    Error::HttpResponseTimeout
                } else {
                    Error::from(error)
                })))
            }
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.read += data.len() as u64;
                    if this.read > this.max {
                        this.done = true;
                        if let Some(report) = this.over.take() {
                            report(this.read);
                        }
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(this.read)))));
                    }
                }
                this.idle.as_mut().reset(Instant::now() + this.between_bytes);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(this.idle.as_mut().poll(cx));
                this.done = true;
                Poll::Ready(Some(Err(Error::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.incoming.size_hint()
    }
}
