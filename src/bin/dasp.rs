//! `dasp`: the command-line companion of the Lambda.
//!
//! - `dasp inspect [FILE|-] [--json]`: header facts of a DAS envelope or ESDK message, no key.
//! - `dasp transform --event FILE|- [--out FILE] [--s3-layout DIR]`: the Lambda's own handler
//!   on a Firehose invocation event, with the same configuration variables and real KMS client.

use clap::{Parser, Subcommand};
use das_partitioner::cli::{inspect, s3_layout};
use das_partitioner::config::Config;
use das_partitioner::handler::Handler;
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::KmsDataKeys;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "dasp",
    version,
    about = "Decrypt, classify and partition Database Activity Streams records"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the header facts of a DAS envelope (JSON), a base64 ESDK message or a binary one.
    Inspect {
        /// Input file; `-` or nothing reads standard input.
        input: Option<PathBuf>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the Lambda handler on a Firehose invocation event and write the Firehose response.
    Transform {
        /// The Firehose invocation event (JSON); `-` reads standard input.
        #[arg(long)]
        event: PathBuf,
        /// Where to write the response JSON (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write what Firehose would deliver to S3 under this directory.
        #[arg(long)]
        s3_layout: Option<PathBuf>,
    },
}

/// A failure with the exit code to report it with.
struct Failure {
    code: u8,
    message: String,
}

fn fail(code: u8, message: impl std::fmt::Display) -> Failure {
    Failure {
        code,
        message: message.to_string(),
    }
}

fn read_input(path: Option<&Path>) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) if p == Path::new("-") => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) => std::fs::read(p),
    }
    .map_err(|e| fail(2, format!("cannot read input: {e}")))
}

fn run_inspect(input: Option<&Path>, json: bool) -> Result<(), Failure> {
    let bytes = read_input(input)?;
    let message = inspect::message_bytes(&bytes).map_err(|e| fail(2, e))?;
    let info = inspect::describe(&message).map_err(|e| fail(2, e))?;
    let text = if json {
        serde_json::to_string(&info).map_err(|e| fail(1, e))?
    } else {
        let keys: Vec<String> = info
            .encrypted_data_keys
            .iter()
            .map(|k| format!("{}/{}", k.provider_id, k.key_name))
            .collect();
        format!(
            "message version:   {}\nalgorithm suite:   {} {}\nsigned:            {}\ncontent type:      {}\nframe length:      {}\nframes:            {}\ncontext keys:      {}\nencrypted keys:    {}",
            info.message_version,
            info.suite_id,
            info.suite_name,
            info.signed,
            info.content_type,
            info.frame_length,
            info.frames,
            info.encryption_context_keys.join(", "),
            keys.join(", ")
        )
    };
    println!("{text}");
    Ok(())
}

async fn run_transform(event: &Path, out: Option<&Path>, s3_layout: Option<&Path>) -> Result<(), Failure> {
    let bytes = read_input(Some(event))?;
    let event: FirehoseEvent = serde_json::from_slice(&bytes)
        .map_err(|e| fail(2, format!("not a Firehose invocation event: {e}")))?;
    let config = Config::from_env().map_err(|e| fail(2, e))?;
    let handler = Handler::new(config, KmsDataKeys::from_env().await);
    let now = chrono::Utc::now();
    let invocation = handler
        .handle(&event, now)
        .await
        .map_err(|e| fail(1, format!("invocation failed: {e}")))?;

    if let Some(dir) = s3_layout {
        for (key, data) in s3_layout::objects(&event, &invocation.outcomes, now) {
            let path = dir.join(key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| fail(1, format!("{}: {e}", parent.display())))?;
            }
            std::fs::write(&path, data).map_err(|e| fail(1, format!("{}: {e}", path.display())))?;
        }
    }
    let metrics = invocation.metrics.clone();
    let response = serde_json::to_vec_pretty(&invocation.into_response(&event)).map_err(|e| fail(1, e))?;
    match out {
        Some(path) => {
            std::fs::write(path, &response).map_err(|e| fail(1, format!("{}: {e}", path.display())))?
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&response)
                .and_then(|()| stdout.write_all(b"\n"))
                .map_err(|e| fail(1, e))?;
        }
    }
    let m = &metrics;
    eprintln!(
        "dasp: {} records: {} Ok, {} Dropped, {} ProcessingFailed; {} KMS calls, {} cache hits",
        event.records.len(),
        m.records_ok,
        m.records_dropped,
        m.records_failed,
        m.kms_calls,
        m.kms_cache_hits
    );
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let result = match &cli.command {
        Command::Inspect { input, json } => run_inspect(input.as_deref(), *json),
        Command::Transform {
            event,
            out,
            s3_layout,
        } => match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(run_transform(event, out.as_deref(), s3_layout.as_deref())),
            Err(e) => Err(fail(1, e)),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("dasp: error: {}", f.message.replace('\n', " "));
            ExitCode::from(f.code)
        }
    }
}
