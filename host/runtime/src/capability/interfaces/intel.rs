use super::{MAX_NAME, bounded};
use crate::capability::broker::{not_configured, to_action_error};
use crate::capability::{Broker, ops};
use palisade_abi::bindings::palisade::action::intel;
use palisade_abi::bindings::types::ActionError;
use palisade_connectors::intel::{Indicator, Reputation};

impl intel::Host for Broker {
    async fn lookup(
        &mut self,
        indicator: intel::Indicator,
    ) -> wasmtime::Result<Result<intel::Report, ActionError>> {
        let operation = ops::INTEL_LOOKUP;
        let arguments = match &indicator {
            intel::Indicator::Ip(value)
            | intel::Indicator::Domain(value)
            | intel::Indicator::Url(value)
            | intel::Indicator::FileHash(value) => value.len(),
        };
        let cx = match self.admit(operation, arguments)? {
            Ok(cx) => cx,
            Err(error) => return Ok(Err(error)),
        };
        let indicator = match indicator {
            intel::Indicator::Ip(value) => Indicator::Ip(value),
            intel::Indicator::Domain(value) => Indicator::Domain(value),
            intel::Indicator::Url(value) => Indicator::Url(value),
            intel::Indicator::FileHash(value) => Indicator::FileHash(value),
        };
        if let Err(error) = bounded(indicator.value(), MAX_NAME, "the indicator") {
            return Ok(Err(error));
        }
        let Some(source) = self.plugin.connectors.intel.clone() else {
            return Ok(Err(not_configured(operation)));
        };
        let result = source
            .lookup(&cx, &indicator)
            .await
            .map(|report| intel::Report {
                indicator: report.indicator,
                reputation: match report.reputation {
                    Reputation::Unknown => intel::Reputation::Unknown,
                    Reputation::Benign => intel::Reputation::Benign,
                    Reputation::Suspicious => intel::Reputation::Suspicious,
                    Reputation::Malicious => intel::Reputation::Malicious,
                },
                score: report.score.min(100),
                sources: report.sources,
                tags: report.tags,
                description: report.description,
            })
            .map_err(to_action_error);
        self.audit_answer(operation, indicator.value(), &result);
        Ok(result)
    }
}
