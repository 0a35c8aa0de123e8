use crate::capability::{Broker, Operation, ops};
use palisade_abi::bindings::palisade::action::kv;
use palisade_abi::bindings::types::ActionError;
use palisade_store::KvError;

fn to_error(error: KvError) -> ActionError {
    match error {
        KvError::Invalid(message) => ActionError::InvalidInput(message),
        KvError::NotAnInteger(_) => ActionError::InvalidInput(error.to_string()),
        KvError::QuotaExceeded(message) => ActionError::LimitExceeded(message),
        KvError::Store(_) => ActionError::Failed(error.to_string()),
    }
}

impl Broker {
    /// Runs a state-store call. It is done in place: the statements are prepared and the
    /// rows small, so a call takes microseconds, less than a hop to a blocking thread.
    fn with_kv<T>(
        &mut self,
        operation: Operation,
        key: &str,
        value_bytes: usize,
        call: impl FnOnce(&palisade_store::KvStore, &str, &str) -> Result<T, KvError>,
    ) -> wasmtime::Result<Result<T, ActionError>> {
        if let Err(denied) = self.admit(operation, key.len() + value_bytes)? {
            return Ok(Err(denied));
        }
        let Some(store) = self.plugin.store.as_ref().map(|store| store.kv()) else {
            return Ok(Err(ActionError::Failed("no state store is open".into())));
        };
        let result = call(&store, &self.plugin.name, key).map_err(to_error);
        // The key, never the value: plugin state is the plugin's business.
        self.audit_answer(operation, key, &result);
        Ok(result)
    }
}

impl kv::Host for Broker {
    async fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, ActionError>> {
        self.with_kv(ops::KV_GET, &key, 0, |store, plugin, key| store.get(plugin, key))
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<(), ActionError>> {
        let quota = self.plugin.limits.kv;
        self.with_kv(ops::KV_SET, &key, value.len(), |store, plugin, key| {
            store.set(plugin, key, &value, ttl_seconds, quota)
        })
    }

    async fn delete(&mut self, key: String) -> wasmtime::Result<Result<(), ActionError>> {
        self.with_kv(ops::KV_DELETE, &key, 0, |store, plugin, key| {
            store.delete(plugin, key)
        })
    }

    async fn increment(
        &mut self,
        key: String,
        delta: i64,
        ttl_seconds: Option<u32>,
    ) -> wasmtime::Result<Result<i64, ActionError>> {
        let quota = self.plugin.limits.kv;
        self.with_kv(ops::KV_INCREMENT, &key, 8, |store, plugin, key| {
            store.increment(plugin, key, delta, ttl_seconds, quota)
        })
    }
}
