//! Prometheus metrics (`GET /metrics`, text exposition format): requests by action and outcome,
//! and a latency histogram by action. Label values are bounded: the action label is a known
//! action name or `unknown`, the outcome `Success` or an error code from the fixed code table.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
}

type HistogramFamily = Family<ActionLabels, Histogram, fn() -> Histogram>;

/// The service's metrics registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
}

fn latency_histogram() -> Histogram {
    // 50 µs .. ~1.6 s
    Histogram::new(exponential_buckets(0.000_05, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with rambridge's metrics registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("rambridge");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "API requests by action and outcome (Success or the error code)",
            requests.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "request_duration_seconds",
            "API request latency by action",
            latency.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
        }
    }

    /// Records one finished request.
    pub fn observe(&self, action: &str, outcome: &str, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels {
                action: action.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&ActionLabels {
                action: action.to_string(),
            })
            .observe(seconds);
    }

    /// Renders the text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::new();
        m.observe("GetCallerIdentity", "Success", 0.001);
        m.observe("GetCallerIdentity", "SignatureDoesNotMatch", 0.002);
        let text = m.render();
        assert!(
            text.contains(
                "rambridge_requests_total{action=\"GetCallerIdentity\",outcome=\"Success\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "rambridge_request_duration_seconds_count{action=\"GetCallerIdentity\"} 2"
            ),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
