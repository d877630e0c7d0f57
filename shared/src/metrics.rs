//! CloudWatch metrics in the embedded metric format (EMF): one JSON line on stdout per
//! measurement, which CloudWatch Logs turns into metrics of the `Rota` namespace — no client, no
//! API call, nothing on a request's path but a line of output. Only in Lambda (where
//! `AWS_LAMBDA_FUNCTION_NAME` is set): locally the request's log line says the same.
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>

use serde_json::{Map, Value, json};

/// The namespace of every metric Rota emits.
pub const NAMESPACE: &str = "Rota";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Milliseconds,
    Count,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Milliseconds => "Milliseconds",
            Unit::Count => "Count",
        }
    }
}

/// One EMF document at `timestamp_ms`: each of `metrics` (name, unit, value) under one set of
/// `dimensions` (name, value).
pub fn document(timestamp_ms: i64, dimensions: &[(&str, &str)], metrics: &[(&str, Unit, f64)]) -> Value {
    let mut root = Map::new();
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), json!(value));
    }
    for (name, _, value) in metrics {
        root.insert((*name).to_owned(), json!(value));
    }
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    let declared: Vec<Value> =
        metrics.iter().map(|(name, unit, _)| json!({ "Name": name, "Unit": unit.as_str() })).collect();
    root.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": [names], "Metrics": declared }],
        }),
    );
    Value::Object(root)
}

/// Emits [`document`] for now, in Lambda only.
pub fn emit(dimensions: &[(&str, &str)], metrics: &[(&str, Unit, f64)]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        println!("{}", document(chrono::Utc::now().timestamp_millis(), dimensions, metrics));
    }
}

/// `value` of `metric` under one `dimension` (e.g. notifications by status), in Lambda only.
pub fn count(metric: &str, dimension: (&str, &str), value: usize) {
    emit(&[dimension], &[(metric, Unit::Count, value as f64)]);
}

/// A unit enum's name as the API spells it (`skipped_no_credit`), for a dimension's value.
pub fn name_of(value: &impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(name)) => name,
        _ => "other".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_declares_each_metric_under_its_dimensions() {
        let document = document(
            1_700_000_000_000,
            &[("Route", "GET /shifts/{shift_id}")],
            &[("Latency", Unit::Milliseconds, 12.0), ("DynamoDBRoundTrips", Unit::Count, 2.0)],
        );
        assert_eq!(
            document,
            json!({
                "Route": "GET /shifts/{shift_id}",
                "Latency": 12.0,
                "DynamoDBRoundTrips": 2.0,
                "_aws": {
                    "Timestamp": 1_700_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Rota",
                        "Dimensions": [["Route"]],
                        "Metrics": [
                            { "Name": "Latency", "Unit": "Milliseconds" },
                            { "Name": "DynamoDBRoundTrips", "Unit": "Count" },
                        ],
                    }],
                },
            })
        );
    }
}
