//! The Lambda: glue only. Logging, configuration, the KMS client, then the shared handler.

use das_partitioner::config::Config;
use das_partitioner::handler::Handler;
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::KmsDataKeys;
use das_partitioner::output::response::ResponseWriter;
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
        // Each record's response entry is written into the body as soon as its outcome is
        // final, and its lines freed: the output held at once is one chunk's plus the body,
        // not every record's lines and then the body as well. The same writer and handler path
        // as `dasp transform`. The body is never larger than the response budget: reserved
        // whole, it is never copied to grow, and only the pages written are touched. (It is
        // still copied from the writer's 64 KiB buffer, by `from_string` when it shrinks to
        // fit, and by the runtime into its request: memory copies, a fraction of a
        // millisecond per MB.)
        let budget = handler.config().limits.response_budget_bytes;
        let mut body = ResponseWriter::new(Vec::with_capacity(budget));
        let invocation = handler
            .handle_into(
                &payload,
                now,
                Some(std::time::Duration::from_millis(remaining)),
                &mut body.sink(&payload),
            )
            .await
            .inspect_err(|e| tracing::error!(error = %e, "invocation failed"))?;
        let body = String::from_utf8(body.finish()?)?;
        // One CloudWatch Embedded Metric Format line per invocation.
        println!("{}", invocation.metrics.to_emf(now.timestamp_millis()));
        // The runtime sends it as it is. `from_string` parses the body once more to check it
        // (the only safe way to hand serde_json prebuilt JSON); that costs about what
        // serializing the response through serde did, and less at fifty events a record
        // (BENCHMARKS.md).
        Ok::<_, Error>(RawValue::from_string(body)?)
    }))
    .await
}
