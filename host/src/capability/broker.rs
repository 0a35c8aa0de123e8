use super::grant::{Grants, Operation};
use crate::connectors::{CallContext, CapabilitySet, ConnectorError};
use crate::runtime::Limits;
use crate::runtime::bindings::types::{ActionError, ActionStatus, Receipt};
use crate::store::KvStore;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a plugin is allowed and given, shared by all its invocations.
#[derive(Clone)]
pub struct PluginContext {
    pub name: Arc<str>,
    pub grants: Arc<Grants>,
    pub connectors: CapabilitySet,
    pub settings: Arc<BTreeMap<String, String>>,
    pub kv: Option<KvStore>,
    pub limits: Limits,
}

impl PluginContext {
    /// A context that grants nothing, for `describe` and inspection.
    pub fn isolated(name: &str, limits: Limits) -> PluginContext {
        PluginContext {
            name: name.into(),
            grants: Arc::new(Grants::default()),
            connectors: CapabilitySet::default(),
            settings: Arc::default(),
            kv: None,
            limits,
        }
    }
}

/// Answers one invocation's host calls. One broker per (alert, plugin).
pub struct Broker {
    pub(super) plugin: PluginContext,
    pub(super) alert_id: String,
    destructive: u32,
    /// Set when the host-call budget ran out; the invocation is then ended with a trap.
    pub exhausted: bool,
    pub log: CallLog,
}

/// What the host did on a plugin's behalf during one invocation.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CallLog {
    pub host_calls: u32,
    /// Operations with side effects, in the order they were asked for.
    pub actions: Vec<ActionRecord>,
    /// Operations refused because they were not granted.
    pub denied: Vec<Operation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub action_id: String,
    pub operation: Operation,
    /// What it acted on: an account, host, address, ticket.
    pub target: String,
    #[serde(flatten)]
    pub result: ActionResult,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ActionResult {
    Executed {
        #[serde(skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    Failed {
        error: String,
    },
}

impl Broker {
    pub fn new(plugin: PluginContext, alert_id: &str) -> Broker {
        Broker {
            plugin,
            alert_id: alert_id.to_owned(),
            destructive: 0,
            exhausted: false,
            log: CallLog::default(),
        }
    }

    pub fn plugin_name(&self) -> &str {
        &self.plugin.name
    }

    /// Counts a host call; past the budget the invocation ends (the `Err` traps the guest).
    pub(super) fn count_call(&mut self) -> wasmtime::Result<()> {
        self.log.host_calls += 1;
        if self.log.host_calls > self.plugin.limits.host_calls {
            self.exhausted = true;
            return Err(wasmtime::format_err!(
                "host-call limit of {} reached",
                self.plugin.limits.host_calls
            ));
        }
        Ok(())
    }

    /// The gate every granted-capability call passes. `Ok(Err(_))` goes back to the plugin
    /// as an `action-error`; `Err(_)` ends the invocation.
    pub(super) fn admit(
        &mut self,
        operation: Operation,
    ) -> wasmtime::Result<Result<CallContext, ActionError>> {
        self.count_call()?;
        if !self.plugin.grants.allows(operation) {
            tracing::warn!(
                plugin = %self.plugin.name,
                alert = %self.alert_id,
                %operation,
                "denied: operation not granted to this plugin"
            );
            self.log.denied.push(operation);
            return Ok(Err(ActionError::Denied(operation.to_string())));
        }
        if operation.destructive {
            self.destructive += 1;
            if self.destructive > self.plugin.limits.destructive_operations {
                tracing::warn!(
                    plugin = %self.plugin.name,
                    alert = %self.alert_id,
                    %operation,
                    limit = self.plugin.limits.destructive_operations,
                    "refused: destructive-operation limit of this invocation reached"
                );
                return Ok(Err(ActionError::LimitExceeded(format!(
                    "at most {} destructive operations per alert",
                    self.plugin.limits.destructive_operations
                ))));
            }
        }
        Ok(Ok(CallContext {
            plugin: self.plugin.name.to_string(),
            alert_id: self.alert_id.clone(),
            action_id: new_action_id(),
        }))
    }

    /// Records the result of an operation with side effects and turns it into the plugin's answer.
    pub(super) fn record<T>(
        &mut self,
        operation: Operation,
        target: &str,
        cx: &CallContext,
        result: Result<T, ConnectorError>,
        reference: impl FnOnce(&T) -> Option<String>,
    ) -> Result<T, ActionError> {
        let record = match &result {
            Ok(value) => {
                tracing::info!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, action = %cx.action_id, "executed");
                ActionResult::Executed {
                    reference: reference(value),
                }
            }
            Err(error) => {
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, %error, "connector failed");
                ActionResult::Failed {
                    error: error.to_string(),
                }
            }
        };
        self.log.actions.push(ActionRecord {
            action_id: cx.action_id.clone(),
            operation,
            target: target.to_owned(),
            result: record,
        });
        result.map_err(to_action_error)
    }

    /// A destructive operation's receipt.
    pub(super) fn receipt(cx: &CallContext, reference: Option<String>) -> Receipt {
        Receipt {
            status: ActionStatus::Executed,
            action_id: cx.action_id.clone(),
            reference,
        }
    }
}

pub(super) fn to_action_error(error: ConnectorError) -> ActionError {
    match error {
        ConnectorError::NotFound(message) => ActionError::NotFound(message),
        ConnectorError::InvalidInput(message) => ActionError::InvalidInput(message),
        ConnectorError::Failed(message) => ActionError::ConnectorFailed(message),
    }
}

pub(super) fn not_configured(operation: Operation) -> ActionError {
    ActionError::ConnectorFailed(format!("no connector serves {}", operation.capability))
}

fn new_action_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("act-{}", &id[..16])
}
