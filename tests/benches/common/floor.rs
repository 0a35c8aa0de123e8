//! The floor: the least a host can do to run a plugin's `handle` in a fresh instance. Its own
//! bindings of `palisade:action@0.1.0`, host functions that answer at once, WASI 0.2 linked with
//! a default context, the default engine configuration, and none of Palisade's machinery
//! (grants, audit, limits, output capture, pooling, epochs).
//!
//! Both flavours: [`AsyncFloor`] (async host functions and `call_async`, as Palisade does, so the
//! fair comparison) and [`SyncFloor`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

pub mod asynchronous {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "action",
        imports: { default: async },
        exports: { default: async },
    });
}

pub mod synchronous {
    wasmtime::component::bindgen!({
        path: "../wit/v0.1.0",
        world: "action",
        // One set of data types for both flavours.
        with: { "palisade:action/types": super::asynchronous::palisade::action::types },
    });
}

/// Links the `palisade:action` interfaces one by one: the world's `add_to_linker` would also
/// link `wasi:http`, which [`AsyncFloor`] links by itself (and [`SyncFloor`] not at all).
macro_rules! link_palisade {
    ($flavour:ident, $linker:expr) => {{
        use $flavour::palisade::action::*;
        fn state(state: &mut FloorState) -> &mut FloorState {
            state
        }
        let linker = $linker;
        log::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        config::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        kv::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        intel::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        siem::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        ticket::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        identity::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        endpoint::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        network::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        notify::add_to_linker::<FloorState, HasSelf<FloorState>>(linker, state)?;
        Ok::<(), wasmtime::Error>(())
    }};
}

use asynchronous::palisade::action::types as wit;
pub use asynchronous::palisade::action::types::{Alert, Outcome};

/// What a floor store holds: WASI's and wasi:http's contexts and the plugin's settings.
pub struct FloorState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    hooks: NoRequests,
    table: ResourceTable,
    settings: Arc<BTreeMap<String, String>>,
}

impl FloorState {
    fn new(settings: &Arc<BTreeMap<String, String>>) -> FloorState {
        FloorState {
            wasi: WasiCtx::builder().build(),
            http: WasiHttpCtx::new(),
            hooks: NoRequests,
            table: ResourceTable::new(),
            settings: settings.clone(),
        }
    }
}

/// wasi:http's hooks: the default ones, but no plugin the floor runs sends a request.
struct NoRequests;

impl WasiHttpHooks for NoRequests {
    fn send_request(
        &mut self,
        _request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), HttpError>> + Send>,
    ) -> Box<
        dyn Future<
                Output = Result<
                    (
                        http::Response<WasiBody>,
                        Box<dyn Future<Output = Result<(), HttpError>> + Send>,
                    ),
                    HttpError,
                >,
            > + Send,
    > {
        unreachable!("the floor's plugins send no HTTP request")
    }
}

impl WasiHttpView for FloorState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            hooks: &mut self.hooks,
            table: &mut self.table,
            ctx: &mut self.http,
        }
    }
}

impl WasiView for FloorState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn receipt() -> wit::Receipt {
    wit::Receipt {
        status: wit::ActionStatus::Executed,
        action_id: "act-floor".into(),
        reference: None,
    }
}

/// Host functions that answer at once: settings from a map, a constant for `kv.get`,
/// `not-found` for lookups, `executed` for operations. `$asyncness` is `async` or nothing.
macro_rules! trivial_host {
    ($($asyncness:tt)?) => {
        use super::{FloorState, receipt};
        use palisade::action::{config, endpoint, identity, intel, kv, log, network, notify, siem, ticket, types};
        use types::ActionError;

        impl log::Host for FloorState {
            $($asyncness)? fn log(&mut self, _level: log::Level, _message: String) {}
        }

        impl config::Host for FloorState {
            $($asyncness)? fn get(&mut self, key: String) -> Option<String> {
                self.settings.get(&key).cloned()
            }
        }

        impl kv::Host for FloorState {
            $($asyncness)? fn get(&mut self, _key: String) -> Result<Option<Vec<u8>>, ActionError> {
                Ok(Some(b"value".to_vec()))
            }
            $($asyncness)? fn set(&mut self, _key: String, _value: Vec<u8>, _ttl: Option<u32>) -> Result<(), ActionError> {
                Ok(())
            }
            $($asyncness)? fn delete(&mut self, _key: String) -> Result<(), ActionError> {
                Ok(())
            }
            $($asyncness)? fn increment(&mut self, _key: String, delta: i64, _ttl: Option<u32>) -> Result<i64, ActionError> {
                Ok(delta)
            }
        }

        impl intel::Host for FloorState {
            $($asyncness)? fn lookup(&mut self, _indicator: intel::Indicator) -> Result<intel::Report, ActionError> {
                Err(ActionError::NotFound("unknown".into()))
            }
        }

        impl siem::Host for FloorState {
            $($asyncness)? fn search(&mut self, _query: siem::Query) -> Result<Vec<siem::Event>, ActionError> {
                Ok(Vec::new())
            }
        }

        impl ticket::Host for FloorState {
            $($asyncness)? fn create(&mut self, _ticket: ticket::NewTicket) -> Result<ticket::TicketRef, ActionError> {
                Ok(ticket::TicketRef { id: "T-1".into(), url: None })
            }
            $($asyncness)? fn comment(&mut self, _id: String, _body: String) -> Result<(), ActionError> {
                Ok(())
            }
        }

        impl identity::Host for FloorState {
            $($asyncness)? fn lookup_user(&mut self, name: String) -> Result<identity::UserProfile, ActionError> {
                Err(ActionError::NotFound(name))
            }
            $($asyncness)? fn disable_user(&mut self, _name: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn enable_user(&mut self, _name: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn revoke_sessions(&mut self, _name: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn reset_password(&mut self, _name: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
        }

        impl endpoint::Host for FloorState {
            $($asyncness)? fn lookup_host(&mut self, hostname: String) -> Result<endpoint::HostInfo, ActionError> {
                Err(ActionError::NotFound(hostname))
            }
            $($asyncness)? fn isolate_host(&mut self, _hostname: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn release_host(&mut self, _hostname: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn kill_process(&mut self, _hostname: String, _pid: u32, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn quarantine_file(&mut self, _hostname: String, _sha256: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
        }

        impl network::Host for FloorState {
            $($asyncness)? fn block_ip(&mut self, _address: String, _duration: Option<u32>, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn unblock_ip(&mut self, _address: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn block_domain(&mut self, _domain: String, _duration: Option<u32>, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
            $($asyncness)? fn unblock_domain(&mut self, _domain: String, _reason: String) -> Result<types::Receipt, ActionError> {
                Ok(receipt())
            }
        }

        impl notify::Host for FloorState {
            $($asyncness)? fn send(&mut self, _message: notify::Message) -> Result<(), ActionError> {
                Ok(())
            }
        }
    };
}

mod async_host {
    use super::asynchronous::palisade;
    trivial_host!(async);

    // The data types are shared (see `synchronous`), so is their (empty) host trait.
    impl types::Host for FloorState {}
}

mod sync_host {
    use super::synchronous::palisade;
    trivial_host!();
}

/// The default engine configuration or, with `pooling`, the default one with instances from a
/// pool sized as Palisade sizes its own (16 slots of 64 MiB), to tell the allocator's share from
/// the rest. `FLOOR_KEEP_RESIDENT_KIB`, when set, is the pool's `linear_memory_keep_resident`
/// (an experiment: how a returned instance's memory is reset, memset or madvise).
fn engine(pooling: bool) -> Engine {
    let mut config = Config::new();
    config.wasm_component_model(true);
    if pooling {
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(16)
            .total_core_instances(16 * 16)
            .total_memories(16 * 4)
            .total_tables(16 * 16)
            .total_stacks(16)
            .max_memory_size(64 << 20)
            .table_elements(100_000);
        if let Some(kib) = std::env::var("FLOOR_KEEP_RESIDENT_KIB")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
        {
            pool.linear_memory_keep_resident(kib << 10)
                .table_keep_resident(64 << 10);
        }
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    Engine::new(&config).expect("a valid engine configuration")
}

/// Async host functions, `instantiate_async` and `call_handle` awaited: how Palisade calls.
pub struct AsyncFloor {
    engine: Engine,
    pre: asynchronous::ActionPre<FloorState>,
    settings: Arc<BTreeMap<String, String>>,
}

impl AsyncFloor {
    /// Compiles and links the component once, with the default engine configuration.
    pub fn new(wasm: &Path, settings: BTreeMap<String, String>) -> AsyncFloor {
        AsyncFloor::with_engine(engine(false), wasm, settings)
    }

    /// The same with instances from a pool (see [`engine`]).
    pub fn pooling(wasm: &Path, settings: BTreeMap<String, String>) -> AsyncFloor {
        AsyncFloor::with_engine(engine(true), wasm, settings)
    }

    /// [`AsyncFloor::new`], with the compiled component kept in `cache`, so that a 12-18 MB
    /// Python or JavaScript component is compiled once, not on every run. The timed part (a
    /// fresh store and instance, then `handle`) is the same either way.
    pub fn cached(wasm: &Path, settings: BTreeMap<String, String>, cache: &Path) -> AsyncFloor {
        let engine = engine(false);
        let component = cached_component(&engine, wasm, cache);
        AsyncFloor::with_component(engine, &component, settings)
    }

    fn with_engine(engine: Engine, wasm: &Path, settings: BTreeMap<String, String>) -> AsyncFloor {
        let component = Component::from_file(&engine, wasm).expect("compile the component");
        AsyncFloor::with_component(engine, &component, settings)
    }

    fn with_component(
        engine: Engine,
        component: &Component,
        settings: BTreeMap<String, String>,
    ) -> AsyncFloor {
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
        (|| link_palisade!(asynchronous, &mut linker))().expect("link the host interfaces");
        // wasi:http, which componentize-py and componentize-js components import whether or
        // not they send a request, as Palisade links it.
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).expect("link wasi:http");
        let pre = asynchronous::ActionPre::new(linker.instantiate_pre(component).expect("pre-link"))
            .expect("the component is an action");
        AsyncFloor {
            engine,
            pre,
            settings: Arc::new(settings),
        }
    }

    /// A fresh store and instance, then `handle`.
    pub async fn handle(&self, alert: &Alert) -> Result<Outcome, wit::ActionError> {
        let mut store = Store::new(&self.engine, FloorState::new(&self.settings));
        let action = self.pre.instantiate_async(&mut store).await.expect("instantiate");
        action
            .call_handle(&mut store, alert)
            .await
            .expect("handle does not trap")
    }
}

/// `wasm` compiled for `engine`, from `cache` when an earlier run left it there, else compiled
/// and stored: Palisade's compiled-code cache, used here only to skip setup, never timed.
fn cached_component(engine: &Engine, wasm: &Path, cache: &Path) -> Component {
    let bytes = std::fs::read(wasm).unwrap_or_else(|e| panic!("read {}: {e}", wasm.display()));
    palisade_runtime::CompiledCache::open(cache, engine)
        .and_then(|cache| cache.load_or_compile(engine, &palisade_runtime::Hashed::new(&bytes)))
        .map(|(component, _)| component)
        .unwrap_or_else(|e| panic!("compile {}: {e:#}", wasm.display()))
}

/// Sync host functions, `instantiate` and `call_handle` on the calling thread.
pub struct SyncFloor {
    engine: Engine,
    pre: synchronous::ActionPre<FloorState>,
    settings: Arc<BTreeMap<String, String>>,
}

impl SyncFloor {
    pub fn new(wasm: &Path, settings: BTreeMap<String, String>) -> SyncFloor {
        let engine = engine(false);
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("link WASI");
        (|| link_palisade!(synchronous, &mut linker))().expect("link the host interfaces");
        let component = Component::from_file(&engine, wasm).expect("compile the component");
        let pre = synchronous::ActionPre::new(linker.instantiate_pre(&component).expect("pre-link"))
            .expect("the component is an action");
        SyncFloor {
            engine,
            pre,
            settings: Arc::new(settings),
        }
    }

    pub fn handle(&self, alert: &Alert) -> Result<Outcome, wit::ActionError> {
        let mut store = Store::new(&self.engine, FloorState::new(&self.settings));
        let action = self.pre.instantiate(&mut store).expect("instantiate");
        action
            .call_handle(&mut store, alert)
            .expect("handle does not trap")
    }
}

/// The floor's copy of an alert Palisade parsed.
pub fn alert(alert: &palisade_alert::Alert) -> Alert {
    use palisade_alert as host;
    let entity = |entity: &host::Entity| match entity.clone() {
        host::Entity::User {
            name,
            domain,
            email,
            id,
            display_name,
            sign_in,
        } => wit::Entity::User(wit::User {
            name,
            domain,
            email,
            id,
            display_name,
            sign_in: sign_in.map(|s| match s {
                host::SignInResult::Success => wit::SignInResult::Success,
                host::SignInResult::Failure => wit::SignInResult::Failure,
            }),
        }),
        host::Entity::Host {
            hostname,
            fqdn,
            id,
            os,
            ip_addresses,
        } => wit::Entity::Host(wit::Device {
            hostname,
            fqdn,
            id,
            os,
            ip_addresses,
        }),
        host::Entity::Ip { address, direction } => wit::Entity::Ip(wit::Ip {
            address: address.to_string(),
            direction: direction.map(|d| match d {
                host::Direction::Source => wit::Direction::Source,
                host::Direction::Destination => wit::Direction::Destination,
            }),
        }),
        host::Entity::Domain { name } => wit::Entity::Domain(name),
        host::Entity::Url { url } => wit::Entity::Url(url),
        other => panic!("the floor's alerts carry no {}", other.label()),
    };
    wit::Alert {
        id: alert.id.clone(),
        title: alert.title.clone(),
        source_product: alert.source_product.clone(),
        rule_id: alert.rule_id.clone(),
        rule_name: alert.rule_name.clone(),
        category: alert.category.clone(),
        severity: match alert.severity {
            host::Severity::Informational => wit::Severity::Informational,
            host::Severity::Low => wit::Severity::Low,
            host::Severity::Medium => wit::Severity::Medium,
            host::Severity::High => wit::Severity::High,
            host::Severity::Critical => wit::Severity::Critical,
        },
        confidence: alert.confidence.unwrap_or(0),
        timestamp: alert.timestamp.clone(),
        entities: alert.entities.iter().map(entity).collect(),
        tags: alert.tags.clone(),
        annotations: alert
            .annotations
            .iter()
            .map(|a| wit::Annotation {
                source: a.source.clone(),
                key: a.key.clone(),
                value: a.value.clone(),
            })
            .collect(),
        verdict: alert.verdict.map(|v| match v {
            host::Verdict::Benign => wit::Verdict::Benign,
            host::Verdict::Suspicious => wit::Verdict::Suspicious,
            host::Verdict::Malicious => wit::Verdict::Malicious,
        }),
        risk_score: alert.risk_score,
        raw: alert.raw.clone(),
    }
}
