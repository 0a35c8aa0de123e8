use super::{MAX_NAME, MAX_TEXT, bounded};
use crate::capability::broker::{not_configured, to_action_error};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::siem;
use palisade_abi::bindings::types::ActionError;
use palisade_connectors::siem::Query;

impl siem::Host for Broker {
    async fn search(
        &mut self,
        query: siem::Query,
    ) -> wasmtime::Result<Result<Vec<siem::Event>, ActionError>> {
        let operation = ops::SIEM_SEARCH;
        let arguments = query.query.len()
            + query.earliest.as_ref().map_or(0, String::len)
            + query.latest.as_ref().map_or(0, String::len);
        let cx = match self.admit(operation, arguments)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        let times = [&query.earliest, &query.latest];
        if let Err(error) = bounded(&query.query, MAX_TEXT, "the query").and(
            times
                .into_iter()
                .flatten()
                .try_for_each(|time| bounded(time, MAX_NAME, "a time bound")),
        ) {
            return Ok(Err(error));
        }
        let Some(siem) = self.plugin.connectors.siem.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let query = Query {
            query: query.query,
            earliest: query.earliest,
            latest: query.latest,
            limit: query.limit,
        };
        let result = siem
            .search(&cx, &query)
            .await
            .map(|events| {
                events
                    .into_iter()
                    .map(|event| siem::Event {
                        timestamp: event.timestamp,
                        raw: event.raw.to_string(),
                    })
                    .collect()
            })
            .map_err(to_action_error);
        self.audit_answer(operation, &query.query, &result);
        Ok(result)
    }
}
