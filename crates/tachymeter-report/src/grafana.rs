//! Grafana dashboards: being written.
