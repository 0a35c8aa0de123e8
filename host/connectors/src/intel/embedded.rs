//! Indicators from a local file.
//!
//! ```json
//! {"indicators": [{"indicator": "203.0.113.7", "reputation": "malicious", "score": 95,
//!                  "sources": ["abuse-feed"], "tags": ["password-spray"]}]}
//! ```

use super::{Indicator, IntelSource, Report};
use crate::{CallContext, ConnectorError};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

pub struct IndicatorFile {
    /// Keyed by the lower-cased indicator, as domains and hashes are case-insensitive.
    reports: HashMap<String, Report>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    indicators: Vec<Report>,
}

impl IndicatorFile {
    pub fn load(path: Option<&Path>) -> anyhow::Result<IndicatorFile> {
        let indicators = match path {
            Some(path) => crate::read_json::<File>(path)?.indicators,
            None => Vec::new(),
        };
        for report in &indicators {
            anyhow::ensure!(
                report.score <= 100,
                "indicator {:?}: score {} is above 100",
                report.indicator,
                report.score
            );
        }
        Ok(IndicatorFile {
            reports: indicators
                .into_iter()
                .map(|report| (report.indicator.to_lowercase(), report))
                .collect(),
        })
    }
}

#[async_trait::async_trait]
impl IntelSource for IndicatorFile {
    async fn lookup(&self, _cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        self.reports
            .get(&indicator.value().to_lowercase())
            .cloned()
            .ok_or_else(|| {
                ConnectorError::NotFound(format!("indicator {:?} is not known", indicator.value()))
            })
    }
}
