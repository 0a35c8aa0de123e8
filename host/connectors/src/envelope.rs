use super::CallContext;
use serde::Serialize;

/// How an operation is written down by the generic backends: the JSON a webhook receives
/// and a line of the embedded outbox.
#[derive(Debug, Serialize)]
pub struct Envelope<'a, R: Serialize> {
    pub capability: &'a str,
    pub operation: &'a str,
    pub plugin: &'a str,
    pub alert_id: &'a str,
    pub action_id: &'a str,
    pub request: &'a R,
}

impl<'a, R: Serialize> Envelope<'a, R> {
    pub fn new(cx: &'a CallContext, capability: &'a str, operation: &'a str, request: &'a R) -> Self {
        Envelope {
            capability,
            operation,
            plugin: &cx.plugin,
            alert_id: &cx.alert_id,
            action_id: &cx.action_id,
            request,
        }
    }
}
