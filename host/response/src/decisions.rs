//! What people decide after automation has acted or held: approve or deny a held operation,
//! undo an executed one, reset the circuit breaker. Each re-checks what the current config
//! allows, acts at most once, and records to the store and the audit here; the CLI (and a
//! service, and a console) only call these and show the result.

use super::{bind_for_approval, record_executed, shown_target};
use crate::held::Held;
use palisade_connectors::{ActionRequest, CallContext, CapabilitySet, ConnectorError};
use palisade_core::capability::Grants;
use palisade_policy::Policy;
use palisade_store::{
    Approval, ApprovalError, AuditEvent, AuditKind, Evidence, Store, UndoError, Verdict, VerdictError,
};
use serde_json::json;

/// A held operation that was approved and carried out (or tried).
pub struct Approved {
    pub approval: Approval,
    /// The id of the execution, in the audit and for undo.
    pub action_id: String,
    /// The target as people see it: the name asked for and the record it resolved to.
    pub target: String,
    /// The vendor's reference, or why the connector failed (the approval is then spent).
    pub result: Result<Option<String>, ConnectorError>,
}

/// Why a held operation was not carried out; it stays as it was unless said otherwise.
#[derive(Debug, thiserror::Error)]
pub enum ApproveError {
    #[error("no held operation {0}")]
    NotFound(String),
    #[error("held operation {id} is unreadable: {reason}")]
    Unreadable { id: String, reason: String },
    #[error("{0}")]
    Config(String),
    #[error(
        "plugin {plugin} is no longer granted {operation}; held operation {id} cannot be executed (deny it instead)"
    )]
    NoLongerGranted {
        id: String,
        plugin: String,
        operation: String,
    },
    #[error("held operation {id} cannot be executed: {reason} (deny it instead)")]
    CannotBind { id: String, reason: String },
    #[error(transparent)]
    Decision(#[from] ApprovalError),
}

/// Executes a held operation through its plugin's connector, exactly once. Everything that
/// can be checked is checked before the approval is taken, so a misconfiguration does not use
/// it up: the operation's grant (an approval vouches for the operation, not for a plugin whose
/// grant was withdrawn), and its target's record (bound now if it could not be resolved when
/// held, and not acted on if that record turns out protected).
pub async fn approve(
    plugins: &impl Plugins,
    store: &Store,
    id: &str,
    by: &str,
) -> Result<Approved, ApproveError> {
    let pending = store
        .approvals()
        .get(id)
        .map_err(ApprovalError::from)?
        .ok_or_else(|| ApproveError::NotFound(id.to_owned()))?;
    let mut held = Held::parse(&pending.request).map_err(|reason| ApproveError::Unreadable {
        id: id.to_owned(),
        reason,
    })?;
    let plugin = plugins.bound(&pending.plugin).map_err(ApproveError::Config)?;
    if !plugin.grants.allows(held.operation()) {
        return Err(ApproveError::NoLongerGranted {
            id: id.to_owned(),
            plugin: pending.plugin,
            operation: held.operation().to_string(),
        });
    }
    let connectors = plugin.connectors;
    if let Held::Action(request) = &mut held {
        let lookup = CallContext::new(&pending.plugin, &pending.alert_id);
        bind_for_approval(request, &connectors, &lookup, plugin.policy)
            .await
            .map_err(|reason| ApproveError::CannotBind {
                id: id.to_owned(),
                reason,
            })?;
    }
    let approval = store.approvals().claim(id, by)?;
    // A person vouched for acting on the alert: evidence that it was true.
    count_as_evidence(
        store,
        &approval,
        Verdict::TruePositive,
        Evidence::Approval,
        by,
        None,
    );
    let cx = CallContext::new(&approval.plugin, &approval.alert_id);
    let result = held.execute(&connectors, &cx).await;
    let (executed, note) = match &result {
        Ok(reference) => (true, reference.clone().unwrap_or_default()),
        Err(error) => (false, error.to_string()),
    };
    if let Err(error) =
        store
            .approvals()
            .finish(id, executed, executed.then_some(cx.action_id.as_str()), &note)
    {
        tracing::error!(approval = id, %error, "cannot record the outcome of the approval");
    }
    if let (Ok(reference), Held::Action(request)) = (&result, &held)
        && let Err(error) = record_executed(store, &cx, request, reference.clone(), &connectors)
    {
        tracing::error!(action = %cx.action_id, %error, "cannot record the action for undo");
    }
    let decision = if executed {
        "approved-executed"
    } else {
        "approved-failed"
    };
    audit_decision(
        store,
        &approval,
        decision,
        json!({"approval_id": id, "by": by, "action_id": cx.action_id,
               "resolved": match &held { Held::Action(request) => json!(request.resolved()), _ => json!(null) },
               "result": note}),
    );
    let target = match &held {
        Held::Action(request) => shown_target(request),
        _ => approval.target.clone(),
    };
    Ok(Approved {
        approval,
        target,
        action_id: cx.action_id,
        result,
    })
}

/// Refuses a held operation; nothing is executed.
pub fn deny(store: &Store, id: &str, by: &str, reason: &str) -> Result<Approval, ApprovalError> {
    let approval = store.approvals().deny(id, by, reason)?;
    // A denial says the alert was false only when its reason says so.
    if says_false_positive(reason) {
        count_as_evidence(
            store,
            &approval,
            Verdict::FalsePositive,
            Evidence::Denial,
            by,
            Some(reason),
        );
    }
    audit_decision(
        store,
        &approval,
        "denied",
        json!({"approval_id": id, "by": by, "reason": reason}),
    );
    Ok(approval)
}

/// A person's decision on a held operation, in the audit.
fn audit_decision(store: &Store, approval: &Approval, decision: &str, detail: serde_json::Value) {
    store.audit().log(AuditEvent {
        kind: AuditKind::Approval,
        alert_id: Some(&approval.alert_id),
        plugin: Some(&approval.plugin),
        operation: Some(approval.operation.clone()),
        target: Some(&approval.target),
        decision,
        detail,
    });
}

/// A decision on a held operation as evidence of whether its alert was true; an analyst's
/// own verdict still wins (see `store::verdicts`). Losing it must not undo the decision.
fn count_as_evidence(
    store: &Store,
    approval: &Approval,
    verdict: Verdict,
    evidence: Evidence,
    by: &str,
    note: Option<&str>,
) {
    if let Err(error) = store
        .verdicts()
        .record(&approval.alert_id, verdict, evidence, by, note)
    {
        tracing::warn!(alert = %approval.alert_id, %error, "the decision does not count toward the rule's precision");
    }
}

/// Whether a denial's reason calls the alert a false positive.
fn says_false_positive(reason: &str) -> bool {
    let reason = reason.to_lowercase().replace(['-', '_'], " ");
    reason.contains("false positive")
        || reason
            .split(|c: char| !c.is_alphanumeric())
            .any(|word| word == "fp")
}

/// An analyst's verdict on an alert, which counts toward its rule's precision; a later one
/// replaces it. Audited.
pub fn feedback(
    store: &Store,
    alert_id: &str,
    verdict: Verdict,
    by: &str,
    note: Option<&str>,
) -> Result<(), VerdictError> {
    store
        .verdicts()
        .record(alert_id, verdict, Evidence::Analyst, by, note)?;
    store.audit().log(AuditEvent {
        kind: AuditKind::Feedback,
        alert_id: Some(alert_id),
        decision: verdict.as_str(),
        detail: json!({"by": by, "note": note}),
        ..AuditEvent::default()
    });
    Ok(())
}

/// An executed operation reversed by its compensating operation.
pub struct Undone {
    pub compensation: ActionRequest,
    /// The id of the compensating execution.
    pub action_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum UndoFailure {
    #[error("no executed action {0}")]
    NotFound(String),
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Undo(#[from] UndoError),
    #[error("the compensating operation of {0} is unreadable")]
    Unreadable(String),
    /// The undo was released and can be tried again.
    #[error("the compensating operation failed (the undo can be retried): {0}")]
    Connector(ConnectorError),
}

/// Reverses an executed operation, once: it is claimed first, so two people undoing it at
/// once undo it once; a compensation that fails releases it to be tried again.
pub async fn undo(
    plugins: &impl Plugins,
    store: &Store,
    action_id: &str,
    by: &str,
) -> Result<Undone, UndoFailure> {
    let action = store
        .actions()
        .get(action_id)
        .map_err(UndoError::from)?
        .ok_or_else(|| UndoFailure::NotFound(action_id.to_owned()))?;
    let connectors = plugins
        .bound(&action.plugin)
        .map_err(UndoFailure::Config)?
        .connectors;
    let action = store.actions().claim_undo(action_id, by)?;
    let Some(compensation) = action
        .compensation
        .clone()
        .and_then(|value| serde_json::from_value::<ActionRequest>(value).ok())
    else {
        let _ = store.actions().release(action_id);
        return Err(UndoFailure::Unreadable(action_id.to_owned()));
    };
    let cx = CallContext::new(&action.plugin, &action.alert_id);
    let result = compensation.execute(&connectors, &cx).await;
    store.audit().log(AuditEvent {
        kind: AuditKind::Undo,
        alert_id: Some(&action.alert_id),
        plugin: Some(&action.plugin),
        operation: Some(compensation.operation().to_string()),
        target: Some(compensation.target()),
        decision: if result.is_ok() { "undone" } else { "undo-failed" },
        detail: json!({
            "undoes": action_id,
            "by": by,
            "action_id": cx.action_id,
            "error": result.as_ref().err().map(ToString::to_string),
        }),
    });
    match result {
        Ok(_) => Ok(Undone {
            compensation,
            action_id: cx.action_id,
        }),
        Err(error) => {
            let _ = store.actions().release(action_id);
            Err(UndoFailure::Connector(error))
        }
    }
}

/// Resets the breaker (one plugin's, or all) so automation may act again; returns the trips
/// cleared.
pub fn reset_breaker(store: &Store, plugin: Option<&str>, by: &str) -> Result<usize, rusqlite::Error> {
    let cleared = store.breaker().reset(plugin)?;
    store.audit().log(AuditEvent {
        kind: AuditKind::Breaker,
        plugin,
        decision: "reset",
        detail: json!({"by": by, "cleared": cleared}),
        ..AuditEvent::default()
    });
    Ok(cleared)
}

/// Lifts the containment whose time is up (blocks for a set time on backends that cannot
/// lift them), each through [`undo`] as `lapse`: claimed once, audited, its compensation sent
/// through the plugin's connector. A failure is left scheduled, to be tried at the next call.
pub async fn lapse_due(plugins: &impl Plugins, store: &Store) -> Vec<(String, Result<Undone, UndoFailure>)> {
    let due = match store.actions().lapsing(Some(palisade_core::clock::now())) {
        Ok(due) => due,
        Err(error) => {
            tracing::error!(%error, "cannot read the containment due to lapse");
            return Vec::new();
        }
    };
    let mut lapsed = Vec::with_capacity(due.len());
    for (action, _) in due {
        let result = undo(plugins, store, &action.action_id, "lapse").await;
        if let Err(error) = &result {
            tracing::warn!(action = %action.action_id, %error, "containment due to lapse was not lifted");
        }
        lapsed.push((action.action_id, result));
    }
    lapsed
}

/// What a person's decision re-checks in the config in force now: a plugin's connectors,
/// grants and policy. The config implements it, so a service that reloads its config decides
/// on the new one.
pub trait Plugins {
    /// The plugin as configured now, or why it cannot act (gone from the config, its
    /// connectors cannot be built).
    fn bound(&self, plugin: &str) -> Result<Bound<'_>, String>;
}

/// A plugin as the config binds it now.
pub struct Bound<'a> {
    pub connectors: CapabilitySet,
    pub grants: &'a Grants,
    pub policy: &'a Policy,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_counts_as_a_false_positive_only_when_its_reason_says_so() {
        for reason in ["False positive: pen test", "false-positive", "FP, known scanner"] {
            assert!(says_false_positive(reason), "{reason}");
        }
        for reason in [
            "the CEO is travelling",
            "positive it is real, but not now",
            "fpga lab",
        ] {
            assert!(!says_false_positive(reason), "{reason}");
        }
    }
}
