use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::{Once, digest, not_configured};
use crate::capability::{ActionRecord, ActionResult};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::ticket;
use palisade_abi::bindings::types::ActionError;
use palisade_abi::entity_size;
use palisade_connectors::CallContext;
use palisade_connectors::ticket::{NewTicket, TicketRef, Ticketing};
use palisade_store::{IdempotencyKey, OpenedTicket, Rated};

/// Entities attached to one ticket; more is a plugin misbehaving.
const MAX_OBSERVABLES: usize = 1000;
/// Labels on one ticket; vendors take far fewer (Jira and TheHive a few dozen in practice).
const MAX_TAGS: usize = 100;

impl ticket::Host for Broker {
    async fn create(
        &mut self,
        new: ticket::NewTicket,
    ) -> wasmtime::Result<Result<ticket::TicketRef, ActionError>> {
        let operation = ops::TICKET_CREATE;
        let arguments = new.title.len()
            + new.description.len()
            + new.tags.iter().map(String::len).sum::<usize>()
            + new.observables.iter().map(entity_size).sum::<usize>();
        let cx = match self.admit(operation, arguments)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = bounded(&new.title, MAX_NAME, "the title").and(bounded(
            &new.description,
            MAX_TEXT,
            "the description",
        )) {
            return Ok(Err(error));
        }
        if new.tags.len() > MAX_TAGS {
            return Ok(Err(ActionError::InvalidInput(format!("at most {MAX_TAGS} tags"))));
        }
        if let Some(error) = new
            .tags
            .iter()
            .find_map(|tag| bounded(tag, MAX_NAME, "a tag").err())
        {
            return Ok(Err(error));
        }
        if new.observables.len() > MAX_OBSERVABLES {
            return Ok(Err(ActionError::InvalidInput(format!(
                "at most {MAX_OBSERVABLES} observables"
            ))));
        }
        if new
            .observables
            .iter()
            .any(|entity| entity_size(entity) > MAX_TEXT)
        {
            return Ok(Err(ActionError::InvalidInput(format!(
                "an observable is larger than {MAX_TEXT} bytes"
            ))));
        }
        let observables = match new
            .observables
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(observables) => observables,
            Err(message) => return Ok(Err(ActionError::InvalidInput(message))),
        };
        let Some(ticketing) = self.plugin.connectors.ticket.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let request = NewTicket {
            title: new.title,
            description: new.description,
            severity: new.severity.into(),
            tags: new.tags,
            observables,
        };
        // An alert of an incident whose ticket this plugin already opened adds to it. The
        // slot stays locked while the first alert opens the ticket, so a concurrent alert of
        // the same incident waits for it and then comments.
        let incident = self.alert.incident.clone();
        let slot = incident
            .as_ref()
            .map(|incident| incident.tickets.slot(&self.plugin.name, &incident.id));
        let mut opened = match &slot {
            Some(slot) => Some(slot.lock().await),
            None => None,
        };
        // Exactly-once: a ticket is this plugin's ticket of this title for this alert, however
        // it was carried out (opened, or added to the incident's ticket); its description may
        // carry enrichment that differs when the plugin runs again.
        let claim = match self.once(&cx, operation, &request.title, &request.title, || {
            serde_json::json!({"capability": "ticket", "operation": operation.to_string(), "ticket": request})
        }).await {
            Once::Go(claim) => claim,
            Once::Stopped(error) => return Ok(Err(error)),
            Once::Done(done) => {
                // Opened by this host (the ticket as the vendor answered), or by a person's
                // approval (the vendor's reference: the ticket's id).
                let reference = serde_json::from_value::<TicketRef>(done.value.clone()).ok().or_else(|| {
                    done.value["reference"].as_str().map(|id| TicketRef {
                        id: id.to_owned(),
                        url: None,
                    })
                });
                let Some(reference) = reference else {
                    // Never sent again; but what it answered cannot be given back either.
                    let reason = format!(
                        "done before (action {}), but the ledger's receipt is unreadable",
                        done.action_id
                    );
                    return Ok(Err(ActionError::Failed(
                        self.refuse(&cx, operation, &request.title, reason),
                    )));
                };
                self.replayed(operation, &request.title, &done, Some(reference.id.clone()));
                self.opened(&reference.id);
                if let Some(opened) = opened.as_deref_mut()
                    && opened.is_none()
                {
                    *opened = Some(reference.clone());
                }
                return Ok(Ok(ticket::TicketRef {
                    id: reference.id,
                    url: reference.url,
                }));
            }
        };
        if let (Some(incident), Some(Some(existing))) = (&incident, opened.as_deref()) {
            let existing = existing.clone();
            return Ok(self
                .grouped(&cx, &incident.id, existing, &request, ticketing.as_ref(), claim)
                .await);
        }
        let result = if self.simulated(operation, &request.title, &cx) {
            Ok(TicketRef {
                id: format!("SIMULATED-{}", cx.action_id),
                url: None,
            })
        } else {
            if let Err(error) = self
                .within_rate(operation, Rated::Ticket, &request.title, &cx)
                .await
            {
                self.release(claim.as_ref()).await;
                return Ok(Err(error));
            }
            let result = ticketing.create(&cx, &request).await;
            self.settle(claim.as_ref(), &result, |reference| serde_json::json!(reference));
            self.record(operation, &request.title, &cx, result, |reference| {
                Some(reference.id.clone())
            })
        };
        if let Ok(reference) = &result {
            self.opened(&reference.id);
            if let Some(opened) = opened.as_deref_mut() {
                *opened = Some(reference.clone());
            }
        }
        Ok(result.map(|reference| ticket::TicketRef {
            id: reference.id,
            url: reference.url,
        }))
    }

    async fn comment(
        &mut self,
        ticket_id: String,
        body: String,
    ) -> wasmtime::Result<Result<(), ActionError>> {
        let operation = ops::TICKET_COMMENT;
        let cx = match self.admit(operation, ticket_id.len() + body.len())? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) =
            bounded(&ticket_id, MAX_NAME, "the ticket id").and(bounded(&body, MAX_TEXT, "the comment"))
        {
            return Ok(Err(error));
        }
        let Some(ticketing) = self.plugin.connectors.ticket.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        if !self.plugin.grants.allows(ops::TICKET_COMMENT_ANY)
            && let Err(reason) = self.may_comment_on(&ticket_id).await
        {
            return Ok(Err(ActionError::Denied(
                self.refuse(&cx, operation, &ticket_id, reason),
            )));
        }
        if self.simulated(operation, &ticket_id, &cx) {
            return Ok(Ok(()));
        }
        // Exactly-once: a comment is its text on its ticket (a plugin may add several).
        let key_target = format!("{ticket_id} #{}", digest(&[&body]));
        let claim = match self.once(&cx, operation, &ticket_id, &key_target, || {
            serde_json::json!({"capability": "ticket", "operation": operation.to_string(), "ticket": ticket_id, "body": body})
        }).await {
            Once::Go(claim) => claim,
            Once::Stopped(error) => return Ok(Err(error)),
            Once::Done(done) => {
                self.replayed(operation, &ticket_id, &done, None);
                return Ok(Ok(()));
            }
        };
        if let Err(error) = self.within_rate(operation, Rated::Comment, &ticket_id, &cx).await {
            self.release(claim.as_ref()).await;
            return Ok(Err(error));
        }
        let result = ticketing.comment(&cx, &ticket_id, &body).await;
        self.settle(claim.as_ref(), &result, |_| serde_json::Value::Null);
        Ok(self.record(operation, &ticket_id, &cx, result, |_| None))
    }
}

impl Broker {
    /// Remembers a ticket opened for this alert (and its incident), so the plugin, and the
    /// plugins after it, may comment on it.
    fn opened(&mut self, ticket: &str) {
        self.opened_tickets.push(ticket.to_owned());
        let Some(store) = self.plugin.store.as_ref().filter(|_| !self.plugin.simulate) else {
            return;
        };
        let recorded = store.tickets().opened(OpenedTicket {
            ticket: ticket.to_owned(),
            alert_id: self.alert_id.clone(),
            incident: self.alert.incident.as_ref().map(|incident| incident.id.clone()),
            plugin: self.plugin.name.to_string(),
            at: palisade_core::clock::now(),
        });
        if !recorded {
            tracing::error!(plugin = %self.plugin.name, alert = %self.alert_id, ticket, "the store's writer has stopped: later comments on this ticket will be refused");
        }
    }

    /// Whether the plugin may comment on `ticket` without `ticket.comment-any`: only when it
    /// was opened for this alert or this alert's incident. `Err` says why not.
    async fn may_comment_on(&self, ticket: &str) -> Result<(), String> {
        if self.opened_tickets.iter().any(|opened| opened == ticket) {
            return Ok(());
        }
        let not_ours = || {
            format!(
                "ticket {ticket:?} was not opened for this alert or its incident \
                 (commenting on any ticket needs the grant ticket.comment-any)"
            )
        };
        let Some(store) = &self.plugin.store else {
            return Err(not_ours());
        };
        let incident = self.alert.incident.as_ref().map(|incident| incident.id.as_str());
        match store.tickets().opened_for(ticket, &self.alert_id, incident).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(not_ours()),
            Err(error) => Err(format!(
                "cannot tell whether ticket {ticket:?} was opened for this alert: {error}"
            )),
        }
    }

    /// `ticket.create` for an incident that already has this plugin's ticket: the new
    /// ticket's title and description go to that ticket as a comment, and the plugin gets the
    /// existing ticket's ref. Recorded as the `ticket.comment` it is, audited as `grouped`.
    async fn grouped(
        &mut self,
        cx: &CallContext,
        incident: &str,
        existing: TicketRef,
        request: &NewTicket,
        ticketing: &dyn Ticketing,
        claim: Option<IdempotencyKey>,
    ) -> Result<ticket::TicketRef, ActionError> {
        let comment = ops::TICKET_COMMENT;
        let body = format!("{}\n\n{}", request.title, request.description);
        if let Err(error) = self.within_rate(comment, Rated::Comment, &existing.id, cx).await {
            self.release(claim.as_ref()).await;
            return Err(error);
        }
        self.opened_tickets.push(existing.id.clone());
        let result = if self.plugin.simulate {
            ActionResult::Simulated {
                would: "execute".into(),
            }
        } else {
            let sent = ticketing.comment(cx, &existing.id, &body).await;
            // Recorded as the `ticket.create` the plugin asked for, answered by the existing ticket.
            self.settle(claim.as_ref(), &sent, |()| serde_json::json!(existing));
            match sent {
                Ok(()) => ActionResult::Executed {
                    reference: Some(existing.id.clone()),
                },
                Err(error) => ActionResult::Failed {
                    error: error.to_string(),
                },
            }
        };
        let mut detail = serde_json::json!({
            "action_id": cx.action_id,
            "asked": "ticket.create",
            "incident": incident,
            "ticket": existing.id,
            "title": request.title,
        });
        let decision = match &result {
            ActionResult::Failed { error } => {
                detail["error"] = error.clone().into();
                "failed"
            }
            ActionResult::Simulated { .. } => "simulated",
            _ => "grouped",
        };
        tracing::info!(plugin = %self.plugin.name, alert = %self.alert_id, incident, ticket = %existing.id, decision, "ticket.create grouped into the incident's ticket");
        self.audit(comment, Some(&existing.id), decision, detail);
        let answer = match &result {
            ActionResult::Failed { error } => Err(ActionError::ConnectorFailed(error.clone())),
            _ => Ok(ticket::TicketRef {
                id: existing.id.clone(),
                url: existing.url.clone(),
            }),
        };
        self.log.actions.push(ActionRecord {
            action_id: cx.action_id.clone(),
            operation: comment,
            target: existing.id,
            result,
            at: std::time::Instant::now(),
        });
        answer
    }
}
