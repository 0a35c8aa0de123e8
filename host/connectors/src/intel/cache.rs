//! Intel answers kept for a while, to save the vendor's API quota: a burst of alerts about
//! one address asks the vendor once.

use super::{Indicator, IntelSource, Report};
use crate::{CallContext, ConnectorError};
use std::sync::Arc;
use std::time::Duration;

/// The most answers kept; beyond it the least recently used go first.
const CAPACITY: u64 = 100_000;

pub struct CachedIntel {
    source: Arc<dyn IntelSource>,
    answers: moka::future::Cache<Indicator, Report>,
}

impl CachedIntel {
    pub fn new(source: Arc<dyn IntelSource>, ttl: Duration) -> CachedIntel {
        CachedIntel {
            source,
            answers: moka::future::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ttl)
                .build(),
        }
    }
}

#[async_trait::async_trait]
impl IntelSource for CachedIntel {
    /// Concurrent lookups of one indicator share one vendor call; failures are not kept, so
    /// the next alert asks again.
    async fn lookup(&self, cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
        self.answers
            .try_get_with_by_ref(indicator, self.source.lookup(cx, indicator))
            .await
            .map_err(|error| (*error).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intel::Reputation;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting(AtomicUsize);

    #[async_trait::async_trait]
    impl IntelSource for Counting {
        async fn lookup(&self, _cx: &CallContext, indicator: &Indicator) -> Result<Report, ConnectorError> {
            let call = self.0.fetch_add(1, Ordering::SeqCst);
            if indicator.value() == "flaky" && call == 0 {
                return Err(ConnectorError::RateLimited("quota".into()));
            }
            Ok(Report {
                indicator: indicator.value().to_owned(),
                reputation: Reputation::Malicious,
                score: 90,
                sources: vec![],
                tags: vec![],
                description: None,
            })
        }
    }

    #[tokio::test]
    async fn answers_are_reused_within_the_ttl_and_failures_are_not() {
        let source = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = CachedIntel::new(source.clone(), Duration::from_millis(200));
        let cx = CallContext::new("p", "a");
        let flaky = Indicator::Ip("flaky".into());
        assert!(cache.lookup(&cx, &flaky).await.is_err());
        assert!(cache.lookup(&cx, &flaky).await.is_ok());
        assert!(cache.lookup(&cx, &flaky).await.is_ok());
        assert_eq!(
            source.0.load(Ordering::SeqCst),
            2,
            "the failure was kept or the answer was not"
        );

        let other = Indicator::Domain("flaky".into());
        cache.lookup(&cx, &other).await.unwrap();
        assert_eq!(
            source.0.load(Ordering::SeqCst),
            3,
            "a domain shared an IP's answer"
        );

        tokio::time::sleep(Duration::from_millis(300)).await;
        cache.lookup(&cx, &flaky).await.unwrap();
        assert_eq!(source.0.load(Ordering::SeqCst), 4, "an expired answer was reused");
    }
}
