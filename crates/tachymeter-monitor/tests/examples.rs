//! Every example runs (as a module of this test) to completion.

#[path = "../examples/inference.rs"]
mod inference;

#[test]
fn inference_example_runs() {
    inference::main();
}

#[path = "../examples/endpoints.rs"]
mod endpoints;

#[test]
fn endpoints_example_runs() {
    endpoints::main();
}

#[path = "../examples/serialization.rs"]
mod serialization;

#[test]
fn serialization_example_runs() {
    serialization::main();
}

#[path = "../examples/database.rs"]
mod database;

#[test]
fn database_example_runs() {
    database::main();
}

#[path = "../examples/operations.rs"]
mod operations;

#[test]
fn operations_example_runs() {
    operations::main();
}

#[path = "../examples/custom_metrics.rs"]
mod custom_metrics;

#[test]
fn custom_metrics_example_runs() {
    custom_metrics::main();
}

#[path = "../examples/profiling.rs"]
mod profiling;

#[test]
fn profiling_example_runs() {
    profiling::main();
}

#[path = "../examples/alerts.rs"]
mod alerts;

#[test]
fn alerts_example_runs() {
    alerts::main();
}

#[cfg(feature = "resources")]
#[path = "../examples/resources.rs"]
mod resources;

#[cfg(feature = "resources")]
#[test]
fn resources_example_runs() {
    resources::main();
}
