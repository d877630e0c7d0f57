//! JSON logs through `tracing`; `RUST_LOG` filters (default `info`). Release builds have no debug
//! or trace events at all (`release_max_level_info` in the workspace's Cargo.toml).
//!
//! The crates that see raw requests and responses (the Lambda runtime logs whole events at
//! `trace`, the HTTP and SDK stacks headers and bodies) stay at `info` whatever `RUST_LOG` says:
//! a debugging session must never put passwords, tokens or `Authorization` headers in the logs.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::Directive;

/// Targets held at `info` however verbose `RUST_LOG` is.
pub const PINNED_AT_INFO: [&str; 10] = [
    "lambda_runtime",
    "lambda_runtime_api_client",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_http_client",
    "aws_sdk_dynamodb",
    "hyper",
    "hyper_util",
    "h2",
    "tower_http",
];

/// The filter for a `RUST_LOG` value (`None`: `info`), with [`PINNED_AT_INFO`] applied last so
/// it wins over any directive for the same targets.
pub fn filter(rust_log: Option<&str>) -> EnvFilter {
    let filter = EnvFilter::try_new(rust_log.unwrap_or("info")).unwrap_or_else(|_| EnvFilter::new("info"));
    PINNED_AT_INFO.iter().fold(filter, |filter, target| {
        filter.add_directive(format!("{target}=info").parse::<Directive>().expect("a valid directive"))
    })
}

pub fn init() {
    let rust_log = std::env::var("RUST_LOG").ok();
    // `try_init`: a second call (tests, dev server) is harmless.
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter(rust_log.as_deref()))
        .with_current_span(true)
        .with_span_list(false)
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_pins_win_over_rust_log() {
        let filter = super::filter(Some("lambda_runtime=trace,hyper=debug,rota=trace")).to_string();
        assert!(filter.contains("lambda_runtime=info") && !filter.contains("lambda_runtime=trace"), "{filter}");
        assert!(filter.contains("hyper=info") && !filter.contains("hyper=debug"), "{filter}");
        assert!(filter.contains("rota=trace"), "{filter}");
    }
}
