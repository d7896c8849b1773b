//! The Lambda: glue only. Logging, configuration, the KMS client, then the shared handler.

use das_partitioner::config::Config;
use das_partitioner::handler::Handler;
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::KmsDataKeys;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

/// mimalloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Started by hand, lambda_runtime would panic with a backtrace on the missing variable.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "das-partitioner: error: this is the Lambda binary and AWS_LAMBDA_RUNTIME_API is unset: \
             deploy it (make deploy), serve it locally with `cargo lambda watch`, or run the same \
             handler with `dasp transform --event FILE`"
        );
        return std::process::ExitCode::from(2);
    }
    if let Err(e) = das_partitioner::workers::init_global_pool() {
        eprintln!("das-partitioner: error: cannot start the worker threads: {e}");
        return std::process::ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("das-partitioner: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}

async fn run() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();

    let config = Config::from_env().inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    let handler = Handler::new(config, KmsDataKeys::from_env().await);
    let handler = &handler;

    // The event arrives as its JSON text, and the records' data borrows from it (no copy of
    // each record's base64).
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        let payload = FirehoseEvent::from_json(event.payload.get().as_bytes())
            .inspect_err(|e| tracing::error!(error = %e, "not a Firehose invocation event"))?;
        let now = chrono::Utc::now();
        // Time left before Lambda stops the invocation: KMS retries end before it.
        let deadline_ms = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
        let remaining = u64::try_from(deadline_ms.saturating_sub(now.timestamp_millis())).unwrap_or(0);
        let invocation = handler
            .handle_within(&payload, now, Some(std::time::Duration::from_millis(remaining)))
            .await
            .inspect_err(|e| tracing::error!(error = %e, "invocation failed"))?;
        // One CloudWatch Embedded Metric Format line per invocation.
        println!("{}", invocation.metrics.to_emf(now.timestamp_millis()));
        // The runtime serializes it straight into the request body: the same bytes as
        // `FirehoseResponse::write_json` (a unit test holds them equal), with no second pass
        // to validate a prebuilt string.
        Ok::<_, Error>(invocation.into_response(&payload))
    }))
    .await
}
