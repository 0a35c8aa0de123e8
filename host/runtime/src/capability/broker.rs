use super::{Grants, Operation};
use crate::Limits;
use palisade_abi::bindings::types::ActionError;
use palisade_connectors::{CallContext, CapabilitySet, ConnectorError};
use palisade_policy::Policy;
use palisade_store::{
    Approval, ApprovalStatus, AuditEvent, AuditKind, Begin, Effect, IdempotencyKey, Ledger, Outcome,
    RateCheck, Rated, Receipt as LedgerReceipt, Store,
};
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
    /// Where outbound HTTP may go, when `http` is granted.
    pub http: Option<Arc<super::http::HttpPolicy>>,
    /// State, audit, approvals and the breaker; `None` where nothing may be recorded.
    pub store: Option<Store>,
    pub limits: Limits,
    pub policy: Arc<Policy>,
    /// `palisade simulate`: no operation with side effects outside Palisade is carried out.
    pub simulate: bool,
    /// In a simulation, the real verdicts (read only) that rules' precision is measured from;
    /// `None` before any run has recorded some.
    pub measured: Option<Arc<palisade_store::ReadOnlyVerdicts>>,
    /// Exactly-once effects (`palisade serve`): every operation with an outside effect is
    /// marked started in this ledger before its connector is called and done after, so a
    /// plugin run again on its alert is answered from it instead of sending again, and an
    /// operation whose outcome is unknown (started by a run that died) goes to a person.
    /// `None`: every call goes to the connector, as `palisade run` does.
    pub ledger: Option<Ledger>,
    /// Refusals that repeat are logged once a minute (they are all audited).
    pub repeats: Arc<super::Repeats>,
}

impl PluginContext {
    /// A context that grants nothing, for `describe` and inspection.
    pub fn isolated(name: &str, limits: Limits) -> PluginContext {
        PluginContext {
            name: name.into(),
            grants: Arc::new(Grants::default()),
            connectors: CapabilitySet::default(),
            settings: Arc::default(),
            http: None,
            store: None,
            limits,
            policy: Arc::default(),
            simulate: false,
            measured: None,
            ledger: None,
            repeats: Arc::new(super::Repeats::new(name)),
        }
    }
}

/// What the gate and an approver need to know of the alert being handled.
#[derive(Debug, Clone)]
pub struct AlertContext {
    pub id: String,
    /// `None` when the alert's source stated none.
    pub confidence: Option<u8>,
    /// Its detection rule (the rule id, else the title), whose precision earns autonomy, and
    /// the rule's name as people know it.
    pub rule: String,
    pub rule_label: String,
    /// Title, source, severity, confidence and entities, stored with a held operation.
    pub summary: Arc<serde_json::Value>,
    /// Its incident, when the run groups alerts: a second `ticket.create` for it comments.
    pub incident: Option<super::incident::Incident>,
}

impl AlertContext {
    pub fn of(alert: &palisade_alert::Alert) -> AlertContext {
        AlertContext {
            id: alert.id.clone(),
            confidence: alert.confidence,
            rule: alert.rule_key().to_owned(),
            rule_label: alert.rule_label().to_owned(),
            summary: Arc::new(serde_json::json!({
                "id": alert.id,
                "title": alert.title,
                "source": alert.source_product,
                "rule": alert.rule_name.as_ref().or(alert.rule_id.as_ref()),
                "severity": alert.severity,
                "confidence": alert.confidence,
                "timestamp": alert.timestamp,
                "entities": alert.entities,
            })),
            incident: None,
        }
    }

    /// For calls made outside any alert (`describe`).
    pub fn none(label: &str) -> AlertContext {
        AlertContext {
            id: label.to_owned(),
            confidence: None,
            rule: String::new(),
            rule_label: String::new(),
            summary: Arc::new(serde_json::Value::Null),
            incident: None,
        }
    }
}

/// Answers one invocation's host calls. One broker per (alert, plugin).
pub struct Broker {
    pub(super) plugin: PluginContext,
    pub(super) alert_id: String,
    pub(super) alert: AlertContext,
    destructive: u32,
    /// Bytes of arguments handed to the host so far.
    arguments: usize,
    /// Tickets opened (or joined, for an incident) in this invocation; simulated ones too.
    pub(super) opened_tickets: Vec<String>,
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
    /// Granted operations without side effects (lookups, searches, plugin state), in order.
    pub reads: Vec<ReadRecord>,
}

/// A call without side effects and how it was answered.
#[derive(Debug, Clone, Serialize)]
pub struct ReadRecord {
    pub operation: Operation,
    /// What it asked about: an indicator, account, host, query or key.
    pub target: String,
    /// `answered`, or the error's kind: `not-found`, `connector-failed`, ...
    pub answer: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionRecord {
    pub action_id: String,
    pub operation: Operation,
    /// What it acted on: an account, host, address, ticket.
    pub target: String,
    #[serde(flatten)]
    pub result: ActionResult,
    /// When the result was known (the connector answered, the gate held it, the simulation
    /// recorded it): where an alert's time to respond ends.
    #[serde(skip)]
    pub at: std::time::Instant,
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
    /// Not carried out (dry-run or simulation); `would` is what the gate would have decided.
    Simulated {
        would: String,
    },
    /// Waiting for a person.
    Held {
        approval_id: String,
        reason: String,
    },
    Refused {
        reason: String,
    },
}

impl Broker {
    pub fn new(plugin: PluginContext, alert: AlertContext) -> Broker {
        Broker {
            plugin,
            alert_id: alert.id.clone(),
            alert,
            destructive: 0,
            arguments: 0,
            opened_tickets: Vec::new(),
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

    /// The gate every granted-capability call passes; `arguments` is the size of what the
    /// plugin hands the host, counted against the invocation's budget. `Ok(Err(_))` goes back
    /// to the plugin as an `action-error`; `Err(_)` ends the invocation.
    pub(super) fn admit(
        &mut self,
        operation: Operation,
        arguments: usize,
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
            self.audit(
                operation,
                None,
                "denied",
                serde_json::json!({"reason": "not granted"}),
            );
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
                self.audit(
                    operation,
                    None,
                    "refused",
                    serde_json::json!({"reason": "destructive-operation limit of the invocation"}),
                );
                return Ok(Err(ActionError::LimitExceeded(format!(
                    "at most {} destructive operations per alert",
                    self.plugin.limits.destructive_operations
                ))));
            }
        }
        self.arguments = self.arguments.saturating_add(arguments);
        if self.arguments > self.plugin.limits.argument_bytes {
            let reason = format!(
                "at most {} KiB of arguments per alert (limits.arguments_kib)",
                self.plugin.limits.argument_bytes >> 10
            );
            tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, %reason, "refused");
            self.audit(operation, None, "refused", serde_json::json!({"reason": reason}));
            return Ok(Err(ActionError::LimitExceeded(reason)));
        }
        Ok(Ok(CallContext::new(&self.plugin.name, &self.alert_id)))
    }

    /// Counts a notification, ticket or comment against the plugin's hourly limit. The excess,
    /// and a count the store cannot take (fail closed), is refused, recorded and audited. A
    /// simulation sends nothing and counts nothing.
    pub(super) async fn within_rate(
        &mut self,
        operation: Operation,
        kind: Rated,
        target: &str,
        cx: &CallContext,
    ) -> Result<(), ActionError> {
        let Some(store) = self.plugin.store.as_ref().filter(|_| !self.plugin.simulate) else {
            return Ok(());
        };
        let per_hour = self.plugin.limits.per_hour.of(kind);
        let reason = match store.rates().take(&self.plugin.name, kind, per_hour).await {
            Ok(RateCheck::Allowed) => return Ok(()),
            Ok(RateCheck::Exceeded { limit }) => format!(
                "{limit} {} per hour reached for this plugin (limits.{}_per_hour)",
                kind.as_str(),
                kind.as_str()
            ),
            Err(error) => format!("cannot count {} against the hourly limit: {error}", kind.as_str()),
        };
        Err(ActionError::LimitExceeded(
            self.refuse(cx, operation, target, reason),
        ))
    }

    /// Refuses an operation with side effects before it reaches a connector: logged,
    /// recorded in the invocation's report and audited. Returns the reason for the plugin.
    pub(super) fn refuse(
        &mut self,
        cx: &CallContext,
        operation: Operation,
        target: &str,
        reason: String,
    ) -> String {
        if let Some(repeats) = self.plugin.repeats.log_now(operation, &reason) {
            if repeats == 0 {
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, %reason, "refused");
            } else {
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, %reason, also_refused_since_last_logged = repeats, "refused");
            }
        }
        let refused = ActionResult::Refused {
            reason: reason.clone(),
        };
        self.push_action(cx, operation, target, refused, serde_json::Value::Null);
        reason
    }

    /// In a simulation, records an operation with side effects as not carried out.
    pub(super) fn simulated(&mut self, operation: Operation, target: &str, cx: &CallContext) -> bool {
        if self.plugin.simulate {
            let would = ActionResult::Simulated {
                would: "execute".into(),
            };
            self.push_action(cx, operation, target, would, serde_json::Value::Null);
        }
        self.plugin.simulate
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
        self.push_action(cx, operation, target, record, serde_json::Value::Null);
        result.map_err(to_action_error)
    }

    /// Keeps an operation with side effects in the invocation's record and the audit.
    pub(super) fn push_action(
        &mut self,
        cx: &CallContext,
        operation: Operation,
        target: &str,
        result: ActionResult,
        request: serde_json::Value,
    ) {
        let (decision, detail) = match &result {
            ActionResult::Executed { reference } => ("executed", serde_json::json!({"reference": reference})),
            ActionResult::Failed { error } => ("failed", serde_json::json!({"error": error})),
            ActionResult::Simulated { would } => ("simulated", serde_json::json!({"would": would})),
            ActionResult::Held { approval_id, reason } => (
                "held",
                serde_json::json!({"approval_id": approval_id, "reason": reason}),
            ),
            ActionResult::Refused { reason } => ("refused", serde_json::json!({"reason": reason})),
        };
        let mut detail = detail;
        detail["action_id"] = cx.action_id.clone().into();
        if !request.is_null() {
            detail["request"] = request;
        }
        self.audit(operation, Some(target), decision, detail);
        self.log.actions.push(ActionRecord {
            action_id: cx.action_id.clone(),
            operation,
            target: target.to_owned(),
            result,
            at: std::time::Instant::now(),
        });
    }

    /// Audits a call without side effects (a lookup, a search, plugin state).
    pub(super) fn audit_answer<T>(
        &mut self,
        operation: Operation,
        target: &str,
        result: &Result<T, ActionError>,
    ) {
        self.log.reads.push(ReadRecord {
            operation,
            target: target.to_owned(),
            answer: match result {
                Ok(_) => "answered",
                Err(ActionError::Denied(_)) => "denied",
                Err(ActionError::InvalidInput(_)) => "invalid-input",
                Err(ActionError::NotFound(_)) => "not-found",
                Err(ActionError::ConnectorFailed(_)) => "connector-failed",
                Err(ActionError::LimitExceeded(_)) => "limit-exceeded",
                Err(ActionError::Failed(_)) => "failed",
            },
        });
        match result {
            Ok(_) => self.audit(operation, Some(target), "answered", serde_json::Value::Null),
            Err(error) => self.audit(
                operation,
                Some(target),
                "failed",
                serde_json::json!({"error": crate::plugin::describe_action_error(error)}),
            ),
        }
    }

    /// Writes a host-call record to the audit, when there is a store.
    pub(super) fn audit(
        &self,
        operation: Operation,
        target: Option<&str>,
        decision: &str,
        detail: serde_json::Value,
    ) {
        if let Some(store) = &self.plugin.store {
            store.audit().log(AuditEvent {
                kind: AuditKind::HostCall,
                alert_id: Some(&self.alert_id),
                plugin: Some(&self.plugin.name),
                operation: Some(operation.to_string()),
                target,
                decision,
                detail,
            });
        }
    }
}

/// What the ledger says about an operation with an outside effect before it is sent.
pub(super) enum Once {
    /// Send it; `Some` is the key the ledger marked started, to finish (or release) after.
    Go(Option<IdempotencyKey>),
    /// Done before: answer with this receipt and do not send.
    Done(LedgerReceipt),
    /// Not sent, and already recorded and audited (held or refused): the plugin's answer.
    Stopped(ActionError),
}

impl Broker {
    /// The ledger, when effects are exactly-once; never in a simulation, which sends nothing.
    pub(super) fn ledger(&self) -> Option<&Ledger> {
        self.plugin.ledger.as_ref().filter(|_| !self.plugin.simulate)
    }

    /// The ledger's record of `operation` on `target` for this alert and plugin.
    pub(super) fn effect<'a>(
        &'a self,
        cx: &'a CallContext,
        operation: &'a str,
        target: &'a str,
    ) -> Effect<'a> {
        Effect {
            alert_id: &self.alert_id,
            plugin: &self.plugin.name,
            operation,
            target,
            action_id: &cx.action_id,
        }
    }

    /// Asks the ledger before a ticket, comment or notification is sent. `key_target` is what
    /// the operation's identity is made of, `target` what people see, `request` what a person
    /// is shown when its outcome is unknown and it is held.
    pub(super) async fn once(
        &mut self,
        cx: &CallContext,
        operation: Operation,
        target: &str,
        key_target: &str,
        request: impl FnOnce() -> serde_json::Value,
    ) -> Once {
        let Some(ledger) = self.ledger().cloned() else {
            return Once::Go(None);
        };
        let name = operation.to_string();
        let effect = self.effect(cx, &name, key_target);
        let key = effect.key();
        let reason = match ledger.begin(&effect).await {
            Ok(Begin::Fresh) => return Once::Go(Some(key)),
            Ok(Begin::Done(receipt)) => return Once::Done(receipt),
            Ok(Begin::Unknown(unfinished)) => {
                let reason = format!(
                    "{}. Check the vendor first: approving cannot send a {operation} again yet, so deny it once checked",
                    unfinished.reason()
                );
                let held = self.hold_effect(cx, operation, target, &key, request(), reason);
                return Once::Stopped(held.await);
            }
            Ok(Begin::Held { approval_id }) => {
                let reason = format!(
                    "its outcome is unknown and it already waits for a person as approval {approval_id}"
                );
                self.already_held(cx, operation, target, approval_id.clone(), reason.clone());
                return Once::Stopped(ActionError::Failed(format!(
                    "held for approval {approval_id}: {reason}"
                )));
            }
            Ok(Begin::InFlight { action_id, .. }) => in_flight(&action_id),
            Ok(Begin::Denied { approval_id, note }) => denied(&approval_id, note.as_deref()),
            Err(error) => unrecorded(&error),
        };
        Once::Stopped(ActionError::Failed(self.refuse(cx, operation, target, reason)))
    }

    /// Records in the ledger how a sent operation ended: done with what the plugin got; a
    /// refusal (the vendor answered no, so nothing happened and it may be tried again); or an
    /// outcome nobody can vouch for (a timeout, a lost connection, a 5xx, an unreadable reply).
    pub(super) fn settle<T>(
        &self,
        claim: Option<&IdempotencyKey>,
        result: &Result<T, ConnectorError>,
        receipt: impl FnOnce(&T) -> serde_json::Value,
    ) {
        let (Some(ledger), Some(key)) = (self.ledger(), claim) else {
            return;
        };
        let outcome = match result {
            Ok(value) => Outcome::Done(receipt(value)),
            Err(error @ ConnectorError::Failed(_)) => Outcome::Unknown(error.to_string()),
            Err(error) => Outcome::Refused(error.to_string()),
        };
        // Sent to the store now, so it commits no later than the alert's report: the alert
        // goes on without waiting for the commit (a synchronous one per effect held the
        // service's workers to a fraction of their rate). A failure is only logged, as it
        // would be if waited for: left started, a later run finds its outcome unknown and
        // asks a person.
        let finishing = ledger.finish(key, outcome);
        let (plugin, alert, key) = (self.plugin.name.clone(), self.alert_id.clone(), key.clone());
        tokio::spawn(async move {
            match finishing.await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::error!(%plugin, %alert, %key, "the ledger lost the operation it started")
                }
                Err(error) => {
                    tracing::error!(%plugin, %alert, %key, %error, "cannot record the outcome in the ledger")
                }
            }
        });
    }

    /// Forgets a started operation that was not sent after all (a limit stopped it).
    pub(super) async fn release(&self, claim: Option<&IdempotencyKey>) {
        if let (Some(ledger), Some(key)) = (self.ledger(), claim)
            && let Err(error) = ledger.release(key).await
        {
            tracing::error!(plugin = %self.plugin.name, alert = %self.alert_id, %key, %error, "cannot release the operation in the ledger");
        }
    }

    /// An operation answered from the ledger: recorded as the execution it was (by an earlier
    /// attempt, whose action id the plugin gets again), audited as `replayed`.
    pub(super) fn replayed(
        &mut self,
        operation: Operation,
        target: &str,
        receipt: &LedgerReceipt,
        reference: Option<String>,
    ) {
        tracing::info!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, action = %receipt.action_id, "done before: answered from the ledger, not sent again");
        self.audit(
            operation,
            Some(target),
            "replayed",
            serde_json::json!({
                "action_id": receipt.action_id,
                "reference": reference,
                "reason": "done before: answered from the exactly-once ledger, not sent again",
            }),
        );
        self.log.actions.push(ActionRecord {
            action_id: receipt.action_id.clone(),
            operation,
            target: target.to_owned(),
            result: ActionResult::Executed { reference },
            at: std::time::Instant::now(),
        });
    }

    /// An operation that already waits for a person: the plugin is told so, and no second
    /// approval is made.
    pub(super) fn already_held(
        &mut self,
        cx: &CallContext,
        operation: Operation,
        target: &str,
        approval_id: String,
        reason: String,
    ) {
        tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, approval = %approval_id, %reason, "already held for approval");
        let held = ActionResult::Held { approval_id, reason };
        self.push_action(cx, operation, target, held, serde_json::Value::Null);
    }

    /// Holds a ticket, comment or notification whose earlier attempt's outcome is unknown, for
    /// a person, and ties the ledger's entry to the approval. The plugin's answer.
    async fn hold_effect(
        &mut self,
        cx: &CallContext,
        operation: Operation,
        target: &str,
        key: &IdempotencyKey,
        request: serde_json::Value,
        reason: String,
    ) -> ActionError {
        let Some(store) = self.plugin.store.clone() else {
            return ActionError::Failed(self.refuse(cx, operation, target, reason));
        };
        let id = format!(
            "ap-{}",
            cx.action_id.strip_prefix("act-").unwrap_or(&cx.action_id)
        );
        let now = palisade_core::clock::now();
        let approval = Approval {
            id: id.clone(),
            created_at: now,
            expires_at: now + self.plugin.policy.approval_ttl.as_secs() as i64,
            plugin: self.plugin.name.to_string(),
            alert_id: self.alert_id.clone(),
            alert: (*self.alert.summary).clone(),
            operation: operation.to_string(),
            target: target.to_owned(),
            request,
            reason: reason.clone(),
            status: ApprovalStatus::Pending,
            decided_by: None,
            decided_at: None,
            decision_note: None,
            action_id: None,
        };
        if let Err(error) = store.approvals().hold(&approval) {
            let reason = format!("{reason}; and it cannot be held for a person: {error}");
            return ActionError::Failed(self.refuse(cx, operation, target, reason));
        }
        self.link_hold(key, &id).await;
        tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target, approval = %id, %reason, "held for approval");
        let held = ActionResult::Held {
            approval_id: id.clone(),
            reason: reason.clone(),
        };
        self.push_action(cx, operation, target, held, serde_json::Value::Null);
        ActionError::Failed(format!("held for approval {id}: {reason}"))
    }

    /// Ties an operation of unknown outcome to the approval a person decides it by, so a later
    /// run follows that decision rather than asking again.
    pub(super) async fn link_hold(&self, key: &IdempotencyKey, approval_id: &str) {
        if let Some(ledger) = self.ledger()
            && let Err(error) = ledger.held(key, approval_id).await
        {
            tracing::error!(plugin = %self.plugin.name, alert = %self.alert_id, %key, approval = approval_id, %error, "cannot tie the held operation to the ledger");
        }
    }
}

/// Why a duplicate of an operation being sent right now is not sent.
pub(super) fn in_flight(action_id: &str) -> String {
    format!(
        "the same operation is being sent right now (action {action_id}, started by this run and not finished): not sent twice"
    )
}

/// Why an operation a person decided on is not sent again.
pub(super) fn denied(approval_id: &str, note: Option<&str>) -> String {
    let mut reason = format!(
        "its earlier attempt's outcome was unknown and a person decided not to send it again (approval {approval_id}"
    );
    if let Some(note) = note {
        reason.push_str(": ");
        reason.push_str(note);
    }
    reason.push(')');
    reason
}

/// Why an operation the ledger cannot record is not sent (fail closed: once it is sent, a
/// restart could not tell).
pub(super) fn unrecorded(error: &dyn std::fmt::Display) -> String {
    format!("cannot record it in the exactly-once ledger, so it is not sent: {error}")
}

/// A short digest of what a message says, so two different messages to one place are two
/// operations and the same one twice is one.
pub(super) fn digest(parts: &[&str]) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(&hasher.finalize()[..8])
}

pub(super) fn to_action_error(error: ConnectorError) -> ActionError {
    match error {
        ConnectorError::NotFound(message) => ActionError::NotFound(message),
        ConnectorError::InvalidInput(message) => ActionError::InvalidInput(message),
        ConnectorError::Ambiguous(message) => ActionError::InvalidInput(format!("ambiguous: {message}")),
        ConnectorError::Unauthorized(message)
        | ConnectorError::RateLimited(message)
        | ConnectorError::Unsupported(message)
        | ConnectorError::Failed(message) => ActionError::ConnectorFailed(message),
    }
}

pub(super) fn not_configured(operation: Operation) -> ActionError {
    ActionError::ConnectorFailed(format!("no connector serves {}", operation.capability))
}
