//! Host bindings for the `palisade:action@0.1.0` world.

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "action",
    // Every host call may end the invocation (host-call budget), and connectors are async.
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::palisade::action::types;
