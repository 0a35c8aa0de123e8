//! Host bindings for the `palisade:action@0.1.0` world.

wasmtime::component::bindgen!({
    path: "../../wit/v0.1.0",
    world: "action",
    // Every host call may end the invocation (host-call budget), and connectors are async.
    imports: { default: async | trappable },
    exports: { default: async },
    // wasi:http, and the WASI it uses, are wasmtime's: linked with the wasi context and the
    // `http` capability (see `palisade_runtime::engine`).
    with: {
        "wasi:http": wasmtime_wasi_http::p2::bindings::http,
        "wasi:io": wasmtime_wasi::p2::bindings::io,
        "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
    },
});

pub use self::palisade::action::types;

mod convert;

pub use convert::{entity_size, outcome_size};
