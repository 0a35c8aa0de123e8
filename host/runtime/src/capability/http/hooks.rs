//! The `wasi:http` glue: `outgoing-handler.handle` counted against the host-call budget, and
//! the request hook that admits a request (grant, allow list) before [`send`](super::send)
//! resolves, checks and connects.

use super::origin::Target;
use super::{HttpAudit, send};
use crate::capability::{Broker, HTTP};
use std::future::Future;
use wasmtime::StoreContextMut;
use wasmtime::component::{Linker, Resource, ResourceTable};
use wasmtime_wasi_http::p2::bindings::LinkOptions;
use wasmtime_wasi_http::p2::bindings::http::{outgoing_handler, types};
use wasmtime_wasi_http::p2::types::HostOutgoingRequest;
use wasmtime_wasi_http::{
    Error, RequestOptions, WasiBody, WasiHttp, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

/// What `outgoing-handler.handle` needs of a store: the broker (budget, grants, policy,
/// audit), the resource table and the wasi:http context.
pub struct HttpView<'a> {
    pub broker: &'a mut Broker,
    pub table: &'a mut ResourceTable,
    pub ctx: &'a mut WasiHttpCtx,
}

/// The `wasi:http/outgoing-handler` version this host defines; a guest importing any 0.2.x
/// is linked to it.
const OUTGOING_HANDLER: &str = "wasi:http/outgoing-handler@0.2.12";

/// Links `wasi:http/types` (building requests, reading responses) and
/// `wasi:http/outgoing-handler` (sending them, through the broker) into `linker`.
///
/// `handle` is defined here rather than by the bindings so that it is one host call against
/// the budget, ending the invocation past it, before wasi:http takes the request.
pub fn add_to_linker<T: WasiHttpView + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> HttpView<'_>,
) -> wasmtime::Result<()> {
    types::add_to_linker::<T, WasiHttp>(linker, &LinkOptions::default().into(), T::http)?;
    linker.instance(OUTGOING_HANDLER)?.func_wrap(
        "handle",
        move |mut store: StoreContextMut<'_, T>,
              (request, options): (
            Resource<HostOutgoingRequest>,
            Option<Resource<types::RequestOptions>>,
        )| {
            let HttpView { broker, table, ctx } = view(store.data_mut());
            broker.count_call()?;
            let mut http = WasiHttpCtxView {
                hooks: broker,
                table,
                ctx,
            };
            match outgoing_handler::Host::handle(&mut http, request, options) {
                Ok(response) => Ok((Ok(response),)),
                Err(error) => Ok((Err(error.downcast()?),)),
            }
        },
    )?;
    Ok(())
}

type Sent = Box<
    dyn Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for Broker {
    /// What a body holds in the host before it is sent counts against the plugin's host
    /// resources ([`Limits::host_resources`](crate::Limits::host_resources)).
    fn p2_outgoing_body_chunk_size(&mut self) -> usize {
        crate::limits::HTTP_BODY_CHUNK
    }

    fn p2_outgoing_body_buffer_chunks(&mut self) -> usize {
        1
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_done: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Sent {
        match self.admit_http(&request) {
            Ok((policy, target, audit)) => Box::new(send::send(policy, audit, target, request, options)),
            Err(code) => Box::new(async move { Err(code) }),
        }
    }
}

impl Broker {
    /// The checks that need no network: the grant, the URI, the allow list, and in a
    /// simulation only methods without side effects.
    fn admit_http(
        &mut self,
        request: &http::Request<WasiBody>,
    ) -> Result<(std::sync::Arc<super::HttpPolicy>, Target, HttpAudit), Error> {
        let method = request.method();
        let target = Target::of(request.uri());
        let shown = target
            .as_ref()
            .map_or_else(|_| "(invalid URI)".to_owned(), ToString::to_string);
        if !self.plugin.grants.allows(HTTP) {
            tracing::warn!(
                plugin = %self.plugin.name,
                alert = %self.alert_id,
                operation = %HTTP,
                target = %shown,
                "denied: operation not granted to this plugin"
            );
            self.log.denied.push(HTTP);
            self.audit(
                HTTP,
                Some(&shown),
                "denied",
                serde_json::json!({"reason": "not granted", "method": method.as_str()}),
            );
            return Err(Error::HttpRequestDenied);
        }
        let audit = HttpAudit {
            store: self.plugin.store.clone(),
            plugin: self.plugin.name.clone(),
            alert_id: self.alert_id.as_str().into(),
        };
        let target = match target {
            Ok(target) => target,
            Err(why) => {
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, reason = why, "http: request refused");
                self.audit(
                    HTTP,
                    None,
                    "refused",
                    serde_json::json!({"reason": why, "method": method.as_str()}),
                );
                return Err(Error::HttpRequestUriInvalid);
            }
        };
        let Some(policy) = self.plugin.http.clone() else {
            // The config refuses `http` without an allow list; this is the fail-closed answer.
            audit.refused(&target, method, "no allow list is configured");
            return Err(Error::HttpRequestDenied);
        };
        if !policy.allows(&target) {
            audit.refused(&target, method, "not on the plugin's allow list");
            return Err(Error::HttpRequestDenied);
        }
        if self.plugin.simulate && !method.is_safe() {
            audit.refused(
                &target,
                method,
                "simulation: only GET, HEAD, OPTIONS and TRACE requests are sent",
            );
            return Err(Error::HttpRequestDenied);
        }
        Ok((policy, target, audit))
    }
}
