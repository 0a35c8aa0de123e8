use super::{Indicator, IntelSource, Report};
use crate::webhook::WebhookClient;
use crate::{CallContext, ConnectorError};
use std::sync::Arc;

pub struct WebhookIntel(pub Arc<WebhookClient>);

#[async_trait::async_trait]
impl IntelSource for WebhookIntel {
    async fn lookup(&self, cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        let report: Report = self.0.call(cx, "intel", "lookup", indicator).await?;
        if report.score > 100 {
            return Err(ConnectorError::Failed(format!(
                "intel score {} is above 100",
                report.score
            )));
        }
        Ok(report)
    }
}
