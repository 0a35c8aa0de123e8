//! What the response lifecycle writes: executed operations with their compensation (for
//! undo), and operations held for a person.

use palisade_connectors::network::NetworkAction;
use palisade_connectors::{ActionRequest, CallContext, CapabilitySet};
use palisade_store::{ActionRow, Approval, ApprovalStatus, RecordError, Store};
use std::time::Duration;

/// The record of an executed destructive operation, with the operation that reverses it;
/// the same whether a plugin's call or an approval executed it.
pub fn executed_action(cx: &CallContext, request: &ActionRequest, reference: Option<String>) -> ActionRow {
    ActionRow {
        action_id: cx.action_id.clone(),
        at: palisade_core::clock::now(),
        plugin: cx.plugin.clone(),
        alert_id: cx.alert_id.clone(),
        operation: request.operation().to_string(),
        target: request.target().to_owned(),
        request: serde_json::to_value(request).unwrap_or_default(),
        reference,
        compensation: request.compensation().and_then(|c| serde_json::to_value(c).ok()),
        undone_at: None,
        undone_by: None,
    }
}

/// Keeps an executed operation with its compensation, for undo; a block for a set time on a
/// backend that cannot lift it is scheduled to lapse (the host undoes it when due).
pub fn record_executed(
    store: &Store,
    cx: &CallContext,
    request: &ActionRequest,
    reference: Option<String>,
    connectors: &CapabilitySet,
) -> Result<(), RecordError> {
    store.actions().record(executed_action(cx, request, reference))?;
    if let Some(due_at) = lapses_at(request, connectors)
        && let Err(error) = store.actions().lapse_at(&cx.action_id, due_at)
    {
        tracing::error!(action = %cx.action_id, %error, "cannot schedule the block's end: undo it by hand when due");
    }
    Ok(())
}

/// When the host must lift a block `request` asked for a set time, if it must.
fn lapses_at(request: &ActionRequest, connectors: &CapabilitySet) -> Option<i64> {
    let ActionRequest::Network {
        action: NetworkAction::BlockIp | NetworkAction::BlockDomain,
        duration_seconds: Some(seconds),
        ..
    } = request
    else {
        return None;
    };
    let network = connectors.network.as_ref()?;
    (!network.expires_blocks()).then(|| palisade_core::clock::now() + i64::from(*seconds))
}

/// An operation to hold for a person.
pub struct Hold<'a> {
    pub cx: &'a CallContext,
    /// The alert's summary an approver judges by.
    pub alert: &'a serde_json::Value,
    pub request: &'a ActionRequest,
    /// The target as people see it.
    pub target: &'a str,
    pub reason: &'a str,
    /// How long it may wait for a decision.
    pub ttl: Duration,
}

/// Holds an operation for approval; returns the approval's id, derived from the action id.
pub fn hold(store: &Store, hold: Hold<'_>) -> Result<String, rusqlite::Error> {
    let id = format!(
        "ap-{}",
        hold.cx
            .action_id
            .strip_prefix("act-")
            .unwrap_or(&hold.cx.action_id)
    );
    let now = palisade_core::clock::now();
    store.approvals().hold(&Approval {
        id: id.clone(),
        created_at: now,
        expires_at: now + hold.ttl.as_secs() as i64,
        plugin: hold.cx.plugin.clone(),
        alert_id: hold.cx.alert_id.clone(),
        alert: hold.alert.clone(),
        operation: hold.request.operation().to_string(),
        target: hold.target.to_owned(),
        request: serde_json::to_value(hold.request).unwrap_or_default(),
        reason: hold.reason.to_owned(),
        status: ApprovalStatus::Pending,
        decided_by: None,
        decided_at: None,
        decision_note: None,
        action_id: None,
    })?;
    Ok(id)
}
