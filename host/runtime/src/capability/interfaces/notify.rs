use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::{Once, digest, not_configured};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::notify;
use palisade_abi::bindings::types::ActionError;
use palisade_connectors::notify::Message;
use palisade_store::Rated;

impl notify::Host for Broker {
    async fn send(&mut self, message: notify::Message) -> wasmtime::Result<Result<(), ActionError>> {
        let operation = ops::NOTIFY_SEND;
        let arguments =
            message.title.len() + message.body.len() + message.channel.as_ref().map_or(0, String::len);
        let cx = match self.admit(operation, arguments)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        if let Err(error) = bounded(&message.title, MAX_NAME, "the title")
            .and(bounded(&message.body, MAX_TEXT, "the body"))
            .and(bounded(
                message.channel.as_deref().unwrap_or(""),
                MAX_NAME,
                "the channel",
            ))
        {
            return Ok(Err(error));
        }
        let Some(notifier) = self.plugin.connectors.notify.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let message = Message {
            channel: message.channel,
            title: message.title,
            body: message.body,
            severity: message.severity.into(),
        };
        let target = message
            .channel
            .clone()
            .unwrap_or_else(|| "default channel".into());
        if self.simulated(operation, &target, &cx) {
            return Ok(Ok(()));
        }
        // Exactly-once: a notification is its text in its channel (a plugin may send several).
        let key_target = format!("{target} #{}", digest(&[&message.title, &message.body]));
        let claim = match self.once(&cx, operation, &target, &key_target, || {
            serde_json::json!({"capability": "notify", "operation": operation.to_string(), "message": message})
        }).await {
            Once::Go(claim) => claim,
            Once::Stopped(error) => return Ok(Err(error)),
            Once::Done(done) => {
                self.replayed(operation, &target, &done, None);
                return Ok(Ok(()));
            }
        };
        if let Err(error) = self
            .within_rate(operation, Rated::Notification, &target, &cx)
            .await
        {
            self.release(claim.as_ref()).await;
            return Ok(Err(error));
        }
        let result = notifier.send(&cx, &message).await;
        self.settle(claim.as_ref(), &result, |_| serde_json::Value::Null);
        Ok(self.record(operation, &target, &cx, result, |_| None))
    }
}
