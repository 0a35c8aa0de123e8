//! Destructive operations: the grant check, then the policy gate, then the breaker, and only
//! then the connector. Every outcome is recorded, with the compensating operation of what was
//! executed so an analyst can undo it.

use super::broker::{ActionResult, Broker};
use palisade_abi::bindings::types::{ActionError, ActionStatus, Receipt};
use palisade_connectors::notify::Message;
use palisade_connectors::{ActionRequest, CallContext};
use palisade_policy::{Decision, Mode};
use palisade_response::{Hold, record_executed, resolve_and_decide, shown_target};
use palisade_store::{Begin, BreakerCheck, BreakerLimits};

impl Broker {
    /// `valid` is the interface's check of the arguments; it is reported after the grant
    /// check, so an ungranted call is denied (and audited as such) whatever its arguments.
    pub(super) async fn destructive(
        &mut self,
        request: ActionRequest,
        valid: Result<(), ActionError>,
    ) -> wasmtime::Result<Result<Receipt, ActionError>> {
        let operation = request.operation();
        let cx = match self.admit(operation, request.argument_bytes())? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = valid {
            return Ok(Err(error));
        }
        let mut request = request;
        let mut decision = match resolve_and_decide(
            &mut request,
            &self.plugin.connectors,
            &cx,
            &self.plugin.policy,
            self.alert.confidence,
        )
        .await
        {
            Ok(decision) => decision,
            Err(unserved) => return Ok(Err(ActionError::ConnectorFailed(unserved))),
        };
        if decision == Decision::Execute
            && let Some(autonomy) = &self.plugin.policy.autonomy
        {
            decision = self.earned(autonomy, operation);
        }
        let target = shown_target(&request);
        let request_json = serde_json::to_value(&request).unwrap_or_default();

        if self.plugin.simulate || self.plugin.policy.mode == Mode::DryRun {
            let would = match &decision {
                Decision::Execute => "execute".to_owned(),
                Decision::Hold(reason) => format!("hold: {reason}"),
                Decision::Refuse(reason) => format!("refuse: {reason}"),
            };
            self.push_action(
                &cx,
                operation,
                &target,
                ActionResult::Simulated { would },
                request_json,
            );
            return Ok(Ok(receipt(&cx, ActionStatus::Simulated, None)));
        }

        // Exactly-once: what the ledger knows of this operation on this record for this alert.
        let mut claim = None;
        let mut unknown = None;
        if let Some(ledger) = self.ledger().cloned() {
            let name = operation.to_string();
            // The record acted on: the vendor's id once resolved, else the canonical target.
            let acted_on = request
                .resolved()
                .map_or_else(|| request.target().to_owned(), |resolved| resolved.id.clone());
            let effect = self.effect(&cx, &name, &acted_on);
            let key = effect.key();
            // Only an operation about to be sent is marked started; one the policy holds or
            // refuses is only looked up.
            let found = if decision == Decision::Execute {
                ledger.begin(&effect).await
            } else {
                ledger.peek(&key).map_err(|error| error.to_string())
            };
            match found {
                Ok(Begin::Fresh) => {
                    if decision == Decision::Execute {
                        claim = Some(key.clone());
                    }
                }
                Ok(Begin::Done(done)) => {
                    let reference = done
                        .value
                        .get("reference")
                        .and_then(|reference| reference.as_str())
                        .map(str::to_owned);
                    self.replayed(operation, &target, &done, reference.clone());
                    return Ok(Ok(Receipt {
                        status: ActionStatus::Executed,
                        action_id: done.action_id,
                        reference,
                    }));
                }
                Ok(Begin::Held { approval_id }) => {
                    let reason = format!(
                        "its outcome is unknown and it already waits for a person as approval {approval_id}"
                    );
                    self.already_held(&cx, operation, &target, approval_id.clone(), reason);
                    return Ok(Ok(receipt(&cx, ActionStatus::Held(approval_id), None)));
                }
                Ok(Begin::Unknown(unfinished)) => {
                    let why = format!(
                        "{}. Check the vendor first: approving sends it again, once",
                        unfinished.reason()
                    );
                    decision = match decision {
                        Decision::Refuse(reason) => Decision::Refuse(reason),
                        Decision::Hold(reason) => Decision::Hold(format!("{reason}; and {why}")),
                        Decision::Execute => Decision::Hold(why),
                    };
                    unknown = Some(key);
                }
                Ok(Begin::InFlight { action_id, .. }) => {
                    decision = Decision::Refuse(super::broker::in_flight(&action_id));
                }
                Ok(Begin::Denied { approval_id, note }) => {
                    decision = Decision::Refuse(super::broker::denied(&approval_id, note.as_deref()));
                }
                Err(error) => decision = Decision::Refuse(super::broker::unrecorded(&error)),
            }
        }

        if decision == Decision::Execute {
            decision = self.breaker_check(&cx).await;
            if decision != Decision::Execute {
                // Held by the breaker: not sent.
                self.release(claim.as_ref()).await;
            }
        }

        match decision {
            Decision::Execute => {
                let result = request.execute(&self.plugin.connectors, &cx).await;
                self.settle(
                    claim.as_ref(),
                    &result,
                    |done| serde_json::json!({"reference": done.reference}),
                );
                match result {
                    Ok(done) => {
                        self.remember(&cx, &request, done.reference.clone());
                        let record = ActionResult::Executed {
                            reference: done.reference.clone(),
                        };
                        tracing::info!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target = %target, action = %cx.action_id, "executed");
                        self.push_action(&cx, operation, &target, record, request_json);
                        Ok(Ok(receipt(&cx, ActionStatus::Executed, done.reference)))
                    }
                    Err(error) => {
                        tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, %error, "connector failed");
                        let record = ActionResult::Failed {
                            error: error.to_string(),
                        };
                        self.push_action(&cx, operation, &target, record, request_json);
                        Ok(Err(super::broker::to_action_error(error)))
                    }
                }
            }
            Decision::Hold(reason) => {
                let Some(store) = &self.plugin.store else {
                    return Ok(Err(ActionError::Failed(
                        "no store to hold the operation in".into(),
                    )));
                };
                let held = Hold {
                    cx: &cx,
                    alert: &self.alert.summary,
                    request: &request,
                    target: &target,
                    reason: &reason,
                    ttl: self.plugin.policy.approval_ttl,
                };
                let approval_id = match palisade_response::hold(store, held) {
                    Ok(id) => id,
                    Err(error) => {
                        return Ok(Err(ActionError::Failed(format!(
                            "cannot hold the operation: {error}"
                        ))));
                    }
                };
                if let Some(key) = &unknown {
                    self.link_hold(key, &approval_id).await;
                }
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target = %target, approval = %approval_id, %reason, "held for approval");
                let record = ActionResult::Held {
                    approval_id: approval_id.clone(),
                    reason,
                };
                self.push_action(&cx, operation, &target, record, request_json);
                Ok(Ok(receipt(&cx, ActionStatus::Held(approval_id), None)))
            }
            Decision::Refuse(reason) => {
                tracing::warn!(plugin = %self.plugin.name, alert = %self.alert_id, %operation, target = %target, %reason, "refused by policy");
                let record = ActionResult::Refused {
                    reason: reason.clone(),
                };
                self.push_action(&cx, operation, &target, record, request_json);
                Ok(Ok(receipt(&cx, ActionStatus::Refused(reason), None)))
            }
        }
    }

    /// Whether the alert's rule has earned this operation without a person (fail closed: a
    /// precision that cannot be measured has not).
    fn earned(
        &self,
        autonomy: &palisade_policy::Autonomy,
        operation: crate::capability::Operation,
    ) -> Decision {
        let measured = if self.plugin.simulate {
            match &self.plugin.measured {
                Some(verdicts) => verdicts.precision(&self.alert.rule, autonomy.window),
                None => Ok(palisade_store::Precision::of(0, 0)),
            }
        } else {
            let Some(store) = &self.plugin.store else {
                return Decision::Hold("no store to measure the rule's precision in".into());
            };
            store.verdicts().precision(&self.alert.rule, autonomy.window)
        };
        match measured {
            Ok(precision) => match autonomy.hold_reason(operation, &self.alert.rule_label, &precision) {
                Some(reason) => Decision::Hold(reason),
                None => Decision::Execute,
            },
            Err(error) => Decision::Hold(format!("cannot measure the rule's precision: {error}")),
        }
    }

    async fn breaker_check(&self, cx: &CallContext) -> Decision {
        let Some(store) = &self.plugin.store else {
            return Decision::Execute;
        };
        let radius = self.plugin.policy.blast_radius;
        let limits = BreakerLimits {
            window: radius.window,
            per_plugin: radius.per_plugin,
            global: radius.global,
        };
        match store.breaker().admit(&self.plugin.name, limits).await {
            Ok(BreakerCheck::Allowed) => Decision::Execute,
            Ok(BreakerCheck::Tripped { reason, tripped_now }) => {
                if tripped_now {
                    self.announce_trip(cx, &reason).await;
                }
                Decision::Hold(reason)
            }
            // Fail closed: without the count, the limit cannot be vouched for.
            Err(error) => Decision::Hold(format!("cannot check the circuit breaker: {error}")),
        }
    }

    async fn announce_trip(&self, cx: &CallContext, reason: &str) {
        tracing::error!(plugin = %self.plugin.name, alert = %self.alert_id, %reason, "circuit breaker tripped");
        if let Some(store) = &self.plugin.store {
            store.audit().log(palisade_store::AuditEvent {
                kind: palisade_store::AuditKind::Breaker,
                alert_id: Some(&self.alert_id),
                plugin: Some(&self.plugin.name),
                decision: "tripped",
                detail: serde_json::json!({"reason": reason}),
                ..Default::default()
            });
        }
        let Some(notifier) = &self.plugin.connectors.notify else {
            return;
        };
        let message = Message {
            channel: None,
            title: "Palisade circuit breaker tripped".into(),
            body: format!(
                "{reason}. Destructive operations are held for approval until an admin runs `palisade breaker reset`. \
                 Tripped by plugin {} on alert {}.",
                self.plugin.name, self.alert_id
            ),
            severity: palisade_alert::Severity::High,
        };
        if let Err(error) = notifier.send(cx, &message).await {
            tracing::error!(%error, "cannot send the circuit-breaker notification");
        }
    }

    /// Keeps an executed operation with its compensation, for `palisade undo`.
    fn remember(&self, cx: &CallContext, request: &ActionRequest, reference: Option<String>) {
        let Some(store) = &self.plugin.store else { return };
        if let Err(error) = record_executed(store, cx, request, reference, &self.plugin.connectors) {
            tracing::error!(%error, action = %cx.action_id, "cannot record the action for undo");
        }
    }
}

fn receipt(cx: &CallContext, status: ActionStatus, reference: Option<String>) -> Receipt {
    Receipt {
        status,
        action_id: cx.action_id.clone(),
        reference,
    }
}
