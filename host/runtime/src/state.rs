//! What a store holds for one invocation.

use super::limits::LimitKind;
use crate::capability::Broker;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct State {
    pub wasi: WasiCtx,
    pub http: WasiHttpCtx,
    pub table: ResourceTable,
    pub broker: Broker,
    pub memory: MemoryLimiter,
    /// The limit that ended the invocation, if one did.
    pub limit_hit: Option<LimitKind>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `wasi:http/types`; requests are sent by the broker, which is the hooks.
impl WasiHttpView for State {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.broker,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl State {
    /// `wasi:http/outgoing-handler`, through the broker's budget and checks.
    pub fn http_view(&mut self) -> crate::capability::http::HttpView<'_> {
        crate::capability::http::HttpView {
            broker: &mut self.broker,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

/// Caps the instance's linear memory (all memories together) and its tables. Growing past
/// the cap traps at once, with the cause recorded, rather than handing the guest a failure it
/// may not check.
pub struct MemoryLimiter {
    pub max_bytes: usize,
    used: usize,
    pub exceeded: bool,
}

/// Table elements per instance; generous for interpreters, far from exhausting the host.
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

impl MemoryLimiter {
    pub fn new(max_bytes: usize) -> MemoryLimiter {
        MemoryLimiter {
            max_bytes,
            used: 0,
            exceeded: false,
        }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let after = self.used - current.min(self.used) + desired;
        if after > self.max_bytes {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "memory limit of {} MiB reached",
                self.max_bytes >> 20
            ));
        }
        self.used = after;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            self.exceeded = true;
            return Err(wasmtime::format_err!(
                "table limit of {MAX_TABLE_ELEMENTS} elements reached"
            ));
        }
        Ok(true)
    }
}
