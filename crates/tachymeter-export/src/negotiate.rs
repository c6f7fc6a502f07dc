//! Choosing the `/metrics` format from an `Accept` header.

use crate::proto::PROTOBUF_CONTENT_TYPE;
use crate::text::{OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE};

/// A scrape format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScrapeFormat {
    /// Prometheus text 0.0.4 (the default).
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
    /// Length-delimited `io.prometheus.client.MetricFamily` protobuf with native histograms.
    Protobuf,
}

impl ScrapeFormat {
    /// The response `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            ScrapeFormat::Text => TEXT_CONTENT_TYPE,
            ScrapeFormat::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            ScrapeFormat::Protobuf => PROTOBUF_CONTENT_TYPE,
        }
    }

    /// Picks the format an `Accept` header prefers: the highest `q` among the media ranges we
    /// can serve, earlier ranges winning ties. `text/plain`, `text/*` and `*/*` mean text 0.0.4;
    /// protobuf needs `proto=io.prometheus.client.MetricFamily` and `encoding=delimited`;
    /// anything unknown, malformed or `q=0` is ignored, and with nothing left the answer is
    /// text 0.0.4 (as Prometheus client libraries do; we never answer 406).
    pub fn from_accept(accept: Option<&str>) -> ScrapeFormat {
        let Some(accept) = accept else {
            return ScrapeFormat::Text;
        };
        let mut best: Option<(f64, ScrapeFormat)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0;
            let mut proto = None;
            let mut encoding = None;
            let mut version = None;
            for param in parts {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                let value = value.trim().trim_matches('"');
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => {
                        q = value
                            .parse::<f64>()
                            .ok()
                            .filter(|q| (0.0..=1.0).contains(q))
                            .unwrap_or(0.0)
                    }
                    "proto" => proto = Some(value.to_owned()),
                    "encoding" => encoding = Some(value.to_ascii_lowercase()),
                    "version" => version = Some(value.to_owned()),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/vnd.google.protobuf"
                    if proto.as_deref() == Some("io.prometheus.client.MetricFamily")
                        && encoding.as_deref() == Some("delimited") =>
                {
                    ScrapeFormat::Protobuf
                }
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0") | Some("0.0.1")) =>
                {
                    ScrapeFormat::OpenMetrics
                }
                "text/plain" if matches!(version.as_deref(), None | Some("0.0.4")) => {
                    ScrapeFormat::Text
                }
                "text/*" | "*/*" => ScrapeFormat::Text,
                _ => continue,
            };
            if q > 0.0 && !matches!(best, Some((best_q, _)) if q <= best_q) {
                best = Some((q, format));
            }
        }
        best.map_or(ScrapeFormat::Text, |(_, format)| format)
    }
}

#[cfg(test)]
mod tests {
    use super::ScrapeFormat::{self, *};

    #[test]
    fn prometheus_scraper_headers() {
        // Prometheus 2.x default (no native histograms): OpenMetrics first.
        let default = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(ScrapeFormat::from_accept(Some(default)), OpenMetrics);
        // With --enable-feature=native-histograms: protobuf first.
        let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(ScrapeFormat::from_accept(Some(native)), Protobuf);
    }

    #[test]
    fn q_values_and_fallbacks() {
        assert_eq!(ScrapeFormat::from_accept(None), Text);
        assert_eq!(ScrapeFormat::from_accept(Some("")), Text);
        assert_eq!(ScrapeFormat::from_accept(Some("image/png")), Text);
        assert_eq!(ScrapeFormat::from_accept(Some("*/*")), Text);
        assert_eq!(
            ScrapeFormat::from_accept(Some(
                "text/plain;q=0.9, application/openmetrics-text; version=1.0.0 ;q=0.95"
            )),
            OpenMetrics
        );
        assert_eq!(
            ScrapeFormat::from_accept(Some(
                "application/openmetrics-text;q=0.5,text/plain;version=0.0.4;q=0.5"
            )),
            OpenMetrics,
            "ties go to the earlier range"
        );
        assert_eq!(
            ScrapeFormat::from_accept(Some("application/openmetrics-text;q=0")),
            Text
        );
        assert_eq!(
            ScrapeFormat::from_accept(Some("application/openmetrics-text;version=2.0.0")),
            Text
        );
        // Protobuf without the delimited encoding is not something we can produce.
        assert_eq!(
            ScrapeFormat::from_accept(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text")),
            Text
        );
        assert_eq!(ScrapeFormat::from_accept(Some(";;;,,=;q=abc")), Text);
    }
}
