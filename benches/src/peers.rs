//! One-time set-up of the peers' process-global state.
//!
//! * `metrics` needs a global recorder: metrics-exporter-prometheus, installed once, without its
//!   HTTP listener. Its histograms keep raw samples until upkeep drains them, so benches call
//!   [`metrics_upkeep`] outside the timed region after each batch.
//! * OpenTelemetry needs a meter provider with a reader, or instruments are no-ops: an
//!   `SdkMeterProvider` with a `ManualReader` (cumulative, never collected during the benches).
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::{ManualReader, SdkMeterProvider};

static METRICS: OnceLock<PrometheusHandle> = OnceLock::new();
static OTEL: OnceLock<SdkMeterProvider> = OnceLock::new();

/// Installs (once) the Prometheus recorder behind the `metrics` macros; returns its handle.
pub fn metrics_recorder() -> &'static PrometheusHandle {
    METRICS.get_or_init(|| {
        PrometheusBuilder::new()
            .install_recorder()
            .expect("no other global metrics recorder in the bench process")
    })
}

/// Drains the exporter's raw histogram samples (untimed, between batches).
pub fn metrics_upkeep() {
    metrics_recorder().run_upkeep();
}

/// A meter from the process' SDK meter provider (built once, with a manual reader).
pub fn otel_meter() -> Meter {
    OTEL.get_or_init(|| {
        SdkMeterProvider::builder()
            .with_reader(ManualReader::builder().build())
            .build()
    })
    .meter("tachymeter-benches")
}

/// The two attributes of the "with attributes" OpenTelemetry cases, built once outside the loop
/// (the cheaper of the two common idioms).
#[must_use]
pub fn otel_attrs() -> [KeyValue; 2] {
    [
        KeyValue::new("method", "GET"),
        KeyValue::new("status", "200"),
    ]
}

/// prometheus (tikv) histogram options for the shared latency buckets.
#[must_use]
pub fn prometheus_histogram(name: &str) -> prometheus::Histogram {
    let opts = prometheus::HistogramOpts::new(name, "bench latency (seconds)")
        .buckets(crate::data::bucket_bounds_secs());
    prometheus::Histogram::with_opts(opts).expect("valid histogram options")
}

/// prometheus-client histogram with the shared latency buckets.
#[must_use]
pub fn prometheus_client_histogram() -> prometheus_client::metrics::histogram::Histogram {
    prometheus_client::metrics::histogram::Histogram::new(crate::data::bucket_bounds_secs())
}

/// hdrhistogram covering 1 ns ..= 1 h with 2 significant digits (≤ 1 % error, like tachymeter's
/// default schema's ≤ 0.55 %).
#[must_use]
pub fn hdr() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000_000, 2).expect("valid hdr bounds")
}
