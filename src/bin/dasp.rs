//! `dasp`: the command-line companion of the Lambda.
//!
//! - `dasp inspect [FILE|-] [--json]`: what a record, event or message is, without any key.
//! - `dasp transform --event FILE|- [--out FILE] [--s3-layout DIR] [--print] [--data-keys FILE]`:
//!   the Lambda's own handler on a Firehose invocation event, with the same configuration
//!   variables and the real KMS client (or, for test data, keys from a file).
//! - `dasp tail --stream NAME | --resource-id ID`: a live DAS stream's events, decrypted by the
//!   same handler, one line each.
//! - `dasp capture --stream NAME | --resource-id ID --out FILE`: a Firehose invocation event made
//!   of a stream's records, for `dasp transform`.
//! - `dasp replay --errors DIR|s3://… (--s3-layout DIR | --to s3://…)`: processing-failed
//!   records through the same handler again, recovered events in the archive layout.
//!
//! CLI wording lives here: the handler's errors speak to Firehose, these to a person.

use clap::{ArgAction, Parser, Subcommand};
use das_partitioner::cli::data_keys::FileDataKeys;
use das_partitioner::cli::inspect::{self, Inspected, Item};
use das_partitioner::cli::kinesis::{self, KinesisRecord, ShardReader, Shown, StartPosition, TailStats};
use das_partitioner::cli::{preflight, s3_layout, summary};
use das_partitioner::config::Config;
use das_partitioner::handler::{Handler, InvocationError};
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::{DataKeySource, KmsDataKeys};
use das_partitioner::output::Outcome;
use das_partitioner::output::response::ResponseWriter;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("DASP_GIT_COMMIT"),
    ")"
);

const INSPECT_HELP: &str = "\
Input shapes (detected, in any file or on standard input):
  a Firehose invocation event ({\"records\":[{\"recordId\",\"data\"}…]}), Kinesis get-records output
  ({\"Records\":[{\"Data\"}…]}), either one's records one JSON object per line, one DAS envelope
  ({\"type\",\"version\",\"databaseActivityEvents\",\"key\"}), a base64 ESDK message, a binary one.
  Records are read one by one: an unreadable record is reported with the reason, the others are
  still shown.

Environment:
  RUST_LOG   log filter (overrides -v); no AWS access and no key are needed

Exit codes:
  0  everything was read
  1  some records of an event could not be read (each is named with the reason)
  2  the input could not be read at all (one line says why)

Example:
  aws kinesis get-records --shard-iterator \"$IT\" > records.json && dasp inspect records.json";

const TRANSFORM_HELP: &str = "\
Environment:
  (the DASP_* settings are the Lambda's own)
  DASP_RESOURCE_ID            database resource id (cluster-… Aurora, db-… RDS): the KMS encryption
                              context; default: from the event's aws-rds-das-<id> stream ARN
  DASP_EXCLUDED_USERS         comma list of database users whose events are dropped
  DASP_MAX_INFLATED_BYTES     cap on one record's gunzipped payload (default 67108864)
  DASP_RESPONSE_BUDGET_BYTES  cap on the response, at most 6291556 (default 6000000)
  DASP_KMS_CONCURRENCY        distinct data keys decrypted at once (default 8)
  DASP_KMS_CACHE_SIZE         decrypted data keys kept (default 1024)
  DASP_KMS_ATTEMPT_TIMEOUT_MS longest one KMS Decrypt attempt (default 3000)
  DASP_KMS_RETRY_BUDGET_MS    how long one data key's transient KMS faults are retried
                              (default 20000; 0: no retries)
  AWS_REGION                  KMS region (or AWS_DEFAULT_REGION, or the profile's region)
  AWS_PROFILE                 profile of ~/.aws/config or ~/.aws/credentials to use
  AWS_ENDPOINT_URL_KMS        KMS endpoint, e.g. an emulator (http:// or https://)
  RUST_LOG                    log filter (overrides -v)
  Unknown DASP_* variables are warned about. The AWS configuration is checked before any work
  (not with --data-keys, which calls no KMS).

Output:
  the Firehose response JSON on standard output (or --out), or with --print the decrypted
  JSON lines; one summary line on standard error: records Ok/Dropped/ProcessingFailed, events
  per class, heartbeats and excluded events dropped, KMS calls.

Exit codes:
  0  the invocation ran (single records may still be ProcessingFailed: see the summary)
  1  the invocation failed as a whole (KMS unreachable for every record, no resource id), or
     writing an output failed; nothing was written
  2  bad arguments, configuration, AWS setup or input (one line names the fix)

Example:
  AWS_PROFILE=prod AWS_REGION=eu-west-1 DASP_EXCLUDED_USERS=rdsadmin \\
    dasp transform --event event.json --out response.json --s3-layout out/s3";

const TAIL_HELP: &str = "\
Reading:
  every shard of the stream (ListShards), from --from (LATEST: what arrives from now on), polled
  every 200 ms at most; a shard that is split or merged is followed into its children once all
  its parents are read; Kinesis throttling backs off. Each GetRecords batch goes through the
  Lambda's own handler, as the Firehose invocation it would be.

Output:
  one line per event: --format text: time, class, user, database, SQL or command (cut to the
  terminal width, COLUMNS); --format json: the exact line the Lambda delivers. Heartbeats are
  counted, not printed. A record that cannot be decrypted prints one line on standard error
  (shard/sequence number and error label, never its content). On exit (--count reached,
  Ctrl-C, every shard closed) one summary line on standard error: records, events per class,
  printed, heartbeats, failed records per error label.

Environment:
  the DASP_* settings of `dasp transform` (DASP_EXCLUDED_USERS drops events here too)
  AWS_REGION, AWS_PROFILE     the stream's region and the credentials (Kinesis and KMS)
  AWS_ENDPOINT_URL_KINESIS    Kinesis endpoint, e.g. an emulator (http:// or https://)
  AWS_ENDPOINT_URL_KMS        KMS endpoint
  COLUMNS                     width of --format text lines (default 160)
  RUST_LOG                    log filter (overrides -v)

Exit codes:
  0  stopped by --count, Ctrl-C or the end of every shard
  1  reading the stream failed (one line says why); the summary is still printed
  2  bad arguments, configuration or AWS setup (one line names the fix)

Example:
  AWS_PROFILE=prod AWS_REGION=eu-west-1 dasp tail --resource-id cluster-ABCDEFGHIJ --class DDL,DML";

const CAPTURE_HELP: &str = "\
Output:
  --out FILE: one Firehose transformation invocation event, the JSON Firehose sends the Lambda
  for a Kinesis source (invocationId, a placeholder deliveryStreamArn, region,
  sourceKinesisStreamArn, records with recordId, approximateArrivalTimestamp, data,
  kinesisRecordMetadata), made of the stream's records as read; `dasp transform --event FILE`
  runs the handler on it. Capture stops at --records records, below the 6,291,456-byte Lambda
  request limit, or (unless --from LATEST) once every shard is read to its tip; Ctrl-C writes
  what was read. Folders are created. The records stay encrypted: no key is needed.

Environment:
  AWS_REGION, AWS_PROFILE     the stream's region and the credentials
  AWS_ENDPOINT_URL_KINESIS    Kinesis endpoint, e.g. an emulator (http:// or https://)
  RUST_LOG                    log filter (overrides -v)

Exit codes:
  0  the event was written (one line on standard error says how many records)
  1  reading the stream or writing the file failed; nothing was written
  2  bad arguments or AWS setup (one line names the fix)

Example:
  dasp capture --resource-id cluster-ABCDEFGHIJ --from 2026-11-25T16:00:00Z --records 50 \\
    --out events/incident.json && dasp transform --event events/incident.json --print";

const REPLAY_HELP: &str = "\
What is replayed:
  every object under --errors (a folder, one file, or an S3 prefix): Firehose's processing-failed
  objects, JSON lines with rawData (the original record), gzip or plain. Each entry is run again
  through the Lambda's handler (with the DASP_* settings below), keeping its original arrival
  time so that its events land in the partitions they belong to.

Event ids:
  a processing-failed entry does not carry the Kinesis sequence number the original eventIds are
  made of: a replayed record's eventIds are replay-<object tag>-<line>-<event index>, the tag
  being a hash of the error object's name. Replaying the same objects again gives the same ids
  and the same output object names: the objects are replaced, not duplicated.

Environment:
  DASP_RESOURCE_ID            database resource id, if --resource-id is not given; default: a
                              resource_id=<id>, aws-rds-das-<id> or <id> part of the --errors path
  DASP_EXCLUDED_USERS, DASP_MAX_INFLATED_BYTES, DASP_RESPONSE_BUDGET_BYTES, DASP_KMS_*
                              as for `dasp transform`
  AWS_REGION, AWS_PROFILE     KMS and S3 region and credentials
  AWS_ENDPOINT_URL_KMS        KMS endpoint, e.g. an emulator
  AWS_ENDPOINT_URL_S3         S3 endpoint, e.g. an emulator (path-style addressing is used)
  RUST_LOG                    log filter (overrides -v)

Output:
  the recovered events under --s3-layout or --to, in the archive layout (das/activity_class=…/);
  on standard output one line per entry that was not recovered: <object>:<line>: <error label>;
  a progress line on standard error when it is a terminal, then one summary line.

Exit codes:
  0  every entry was recovered (Ok or Dropped)
  1  some entries failed again or could not be read (each is listed), or KMS was unavailable,
     or an output could not be written
  2  bad arguments, configuration, AWS setup or input

Example:
  dasp replay --errors s3://archive-bucket/das-errors/processing-failed/2026/11/25/ \\
    --to s3://archive-bucket --resource-id cluster-ABCDEFGHIJKLMNOPQRSTUVWXY1";

#[derive(Parser)]
#[command(
    name = "dasp",
    version = VERSION,
    about = "Decrypt, classify and partition Database Activity Streams records",
    long_about = "Decrypt, classify and partition Amazon RDS/Aurora Database Activity Streams \
                  records with the Lambda's own code, on your machine. `dasp help <command>` \
                  (or `<command> --help`) lists each command's environment, exit codes and an \
                  example."
)]
struct Cli {
    /// More log output: -v adds the AWS SDK's warnings and the SDK detail of KMS errors, -vv
    /// debug, -vvv everything.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show what a record, event or message is (envelope, ESDK header), without any key.
    #[command(after_long_help = INSPECT_HELP)]
    Inspect {
        /// Input file; `-` or nothing reads standard input.
        input: Option<PathBuf>,
        /// Print JSON (one object; one line per record for an event) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the Lambda handler on a Firehose invocation event and write the Firehose response.
    #[command(after_long_help = TRANSFORM_HELP)]
    Transform {
        /// The Firehose invocation event (JSON); `-` reads standard input.
        #[arg(long, value_name = "FILE")]
        event: PathBuf,
        /// Where to write the response JSON (default: standard output); folders are created.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write what Firehose would deliver to S3 under this folder (created if needed);
        /// object names derive from the invocation, so a re-run replaces its objects.
        #[arg(long, value_name = "DIR")]
        s3_layout: Option<PathBuf>,
        /// Write the decrypted JSON lines (what the Lambda returns in `data`, decoded) to standard
        /// output instead of the response; the response still goes to --out if given.
        #[arg(long)]
        print: bool,
        /// TESTING AID, for test data only: take data keys from this JSON file instead of KMS
        /// (the generator's keys.json: [{"blob": base64 ciphertext, "plaintext": base64 key}]).
        /// Real DAS data keys come from KMS alone.
        #[arg(long, value_name = "FILE")]
        data_keys: Option<PathBuf>,
    },
    /// Print a live DAS Kinesis stream's events, decrypted and classified by the handler.
    #[command(after_long_help = TAIL_HELP)]
    Tail {
        #[command(flatten)]
        stream: StreamArgs,
        /// Where to start in every shard: LATEST, TRIM_HORIZON (the oldest record kept) or an
        /// RFC 3339 time.
        #[arg(long, value_name = "POSITION", default_value = "LATEST")]
        from: StartPosition,
        /// `text` (columns for a person) or `json` (the exact output lines).
        #[arg(long, value_enum, default_value_t = TailFormat::Text)]
        format: TailFormat,
        /// Only these classes (comma list: DDL, DML, READ, CONNECT, DISCONNECT, ERROR,
        /// AUTH_FAILURE, OTHER; any case).
        #[arg(long, value_name = "LIST")]
        class: Option<String>,
        /// Only events of this database user (dbUserName, exact).
        #[arg(long, value_name = "NAME")]
        user: Option<String>,
        /// Stop after printing N events.
        #[arg(long, value_name = "N")]
        count: Option<usize>,
        /// TESTING AID, for test data only: data keys from this JSON file instead of KMS (as
        /// `dasp transform --data-keys`).
        #[arg(long, value_name = "FILE")]
        data_keys: Option<PathBuf>,
    },
    /// Save a DAS stream's records as a Firehose invocation event, for `dasp transform`.
    #[command(after_long_help = CAPTURE_HELP)]
    Capture {
        #[command(flatten)]
        stream: StreamArgs,
        /// Where to write the event (JSON); folders are created.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Records to capture at most.
        #[arg(long, value_name = "N", default_value_t = 500)]
        records: usize,
        /// Where to start in every shard: TRIM_HORIZON (the oldest record kept), LATEST (wait
        /// for new records) or an RFC 3339 time.
        #[arg(long, value_name = "POSITION", default_value = "TRIM_HORIZON")]
        from: StartPosition,
    },
    /// Replay Firehose processing-failed records through the handler and write the recovered
    /// events in the archive layout.
    #[command(after_long_help = REPLAY_HELP)]
    Replay {
        /// The processing-failed objects: a folder, a file or s3://BUCKET/PREFIX.
        #[arg(long, value_name = "DIR|s3://BUCKET/PREFIX")]
        errors: String,
        /// Write the recovered events under this folder, as `transform --s3-layout` does.
        #[arg(
            long,
            value_name = "DIR",
            conflicts_with = "to",
            required_unless_present = "to"
        )]
        s3_layout: Option<PathBuf>,
        /// Write the recovered events under this S3 prefix (the archive bucket's root, usually).
        #[arg(long, value_name = "s3://BUCKET/PREFIX")]
        to: Option<String>,
        /// The database resource id (cluster-… or db-…): the KMS encryption context.
        #[arg(long, value_name = "ID")]
        resource_id: Option<String>,
        /// TESTING AID, for test data only: data keys from this JSON file instead of KMS (as for
        /// `transform`).
        #[arg(long, value_name = "FILE")]
        data_keys: Option<PathBuf>,
    },
}

/// The stream of `tail` and `capture`.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct StreamArgs {
    /// The DAS stream: its name (aws-rds-das-<resource id>) or ARN.
    #[arg(long, value_name = "NAME")]
    stream: Option<String>,
    /// The database resource id (cluster-… Aurora, db-… RDS): the stream aws-rds-das-<id>.
    #[arg(long, value_name = "ID")]
    resource_id: Option<String>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum TailFormat {
    Text,
    Json,
}

/// `dasp install-assets`, outside the documented command tree (so that neither the pages nor the
/// completions it writes mention it): writes the man pages and the bash, zsh and fish
/// completions, for `make install`.
#[derive(Parser)]
#[command(name = "dasp install-assets")]
struct InstallAssets {
    /// Folder for dasp.1 and one page per command.
    #[arg(long, value_name = "DIR")]
    man_dir: PathBuf,
    /// Folder for dasp.bash, _dasp (zsh) and dasp.fish.
    #[arg(long, value_name = "DIR")]
    completions_dir: PathBuf,
}

/// The man pages and shell completions, from the same clap definitions as `--help`.
fn run_install_assets(man_dir: &Path, completions_dir: &Path) -> Result<(), Failure> {
    use clap::CommandFactory;
    use clap_complete::Shell;
    prepare_folder(man_dir, "--man-dir")?;
    prepare_folder(completions_dir, "--completions-dir")?;
    clap_mangen::generate_to(Cli::command(), man_dir).map_err(|e| {
        fail(
            1,
            format!("cannot write the man pages in {}: {e}", man_dir.display()),
        )
    })?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "dasp", completions_dir).map_err(|e| {
            fail(
                1,
                format!(
                    "cannot write the {shell} completions in {}: {e}",
                    completions_dir.display()
                ),
            )
        })?;
    }
    Ok(())
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

fn read_input(path: Option<&Path>, what: &str) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::new();
    match path {
        None => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) if p == Path::new("-") => std::io::stdin().read_to_end(&mut buf).map(|_| buf),
        Some(p) => std::fs::read(p),
    }
    .map_err(|e| match path.filter(|p| *p != Path::new("-")) {
        Some(p) => fail(2, format!("cannot read {what} {}: {e}", p.display())),
        None => fail(2, format!("cannot read {what} from standard input: {e}")),
    })
}

fn run_inspect(input: Option<&Path>, json: bool) -> Result<(), Failure> {
    let bytes = read_input(input, "input")?;
    let items = inspect::inspect(&bytes);
    // One message, or one envelope: the input as a whole.
    if let [Item { name: None, result }] = items.as_slice() {
        let info = result.as_ref().map_err(|e| fail(2, e))?;
        let text = if json {
            serde_json::to_string(info).map_err(|e| fail(1, e))?
        } else {
            describe_text(info)
        };
        println!("{text}");
        return Ok(());
    }
    let mut stdout = std::io::stdout().lock();
    let mut unreadable = 0;
    for item in &items {
        let name = item.name.as_deref().unwrap_or("input");
        let line = match (&item.result, json) {
            (Ok(info), true) => {
                let mut value = serde_json::to_value(info).map_err(|e| fail(1, e))?;
                if let Some(object) = value.as_object_mut() {
                    object.insert("record".to_string(), name.into());
                }
                value.to_string()
            }
            (Ok(info), false) => format!("{name}: {}", describe_short(info)),
            (Err(e), true) => serde_json::json!({"record": name, "error": e.to_string()}).to_string(),
            (Err(e), false) => format!("{name}: cannot read: {e}"),
        };
        if item.result.is_err() {
            unreadable += 1;
        }
        writeln!(stdout, "{line}").map_err(|e| fail(1, e))?;
    }
    let total = items.len();
    eprintln!(
        "dasp: {}: {} read, {} unreadable",
        summary::count(total, "record", "records"),
        total - unreadable,
        unreadable
    );
    match unreadable {
        0 => Ok(()),
        n if n == total => Err(fail(2, "no record could be read")),
        _ => Err(Failure {
            code: 1,
            message: String::new(),
        }),
    }
}

fn describe_text(info: &Inspected) -> String {
    let m = &info.message;
    let keys: Vec<String> = m
        .encrypted_data_keys
        .iter()
        .map(|k| format!("{}/{}", k.provider_id, k.key_name))
        .collect();
    let mut text = String::new();
    if let Some(envelope) = &info.envelope {
        text.push_str(&format!(
            "envelope type:     {}\nenvelope version:  {}\n",
            envelope.envelope_type,
            envelope.envelope_version.as_deref().unwrap_or("(none)")
        ));
    }
    text.push_str(&format!(
        "message version:   {}\nalgorithm suite:   {} {}\nsigned:            {}\ncontent type:      {}\nframe length:      {}\nframes:            {}\ncontext keys:      {}\nencrypted keys:    {}",
        m.message_version,
        m.suite_id,
        m.suite_name,
        m.signed,
        m.content_type,
        m.frame_length,
        m.frames,
        m.encryption_context_keys.join(", "),
        keys.join(", ")
    ));
    text
}

fn describe_short(info: &Inspected) -> String {
    let m = &info.message;
    let envelope = match &info.envelope {
        Some(e) => format!(
            "{} {}; ",
            e.envelope_type,
            e.envelope_version.as_deref().unwrap_or("(no version)")
        ),
        None => String::new(),
    };
    let keys: Vec<String> = m
        .encrypted_data_keys
        .iter()
        .map(|k| format!("{}/{}", k.provider_id, k.key_name))
        .collect();
    format!(
        "{envelope}ESDK v{} suite {} ({}), {} {} × {}, {}, keys {}",
        m.message_version,
        m.suite_id,
        if m.signed { "signed" } else { "unsigned" },
        m.content_type,
        m.frame_length,
        summary::count(m.frames, "frame", "frames"),
        m.suite_name,
        keys.join(", ")
    )
}

struct TransformArgs<'a> {
    event: &'a Path,
    out: Option<&'a Path>,
    s3_layout: Option<&'a Path>,
    print: bool,
    data_keys: Option<&'a Path>,
    verbose: u8,
}

/// Creates `dir` if needed and checks a file can be written in it.
fn prepare_folder(dir: &Path, flag: &str) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(2, format!("{flag}: cannot create folder {}: {e}", dir.display())))?;
    let probe = dir.join(format!(".dasp-write-check-{}", std::process::id()));
    std::fs::File::create(&probe).map_err(|e| {
        fail(
            2,
            format!("{flag}: cannot write in folder {}: {e}", dir.display()),
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn aws_files() -> preflight::AwsFiles {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
            .and_then(|p| std::fs::read_to_string(p).ok())
    };
    let sys = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    preflight::AwsFiles {
        config: file("AWS_CONFIG_FILE", "config"),
        credentials: file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
        on_ec2: sys("/sys/hypervisor/uuid")
            .to_ascii_lowercase()
            .starts_with("ec2")
            || sys("/sys/class/dmi/id/sys_vendor").contains("Amazon EC2")
            || sys("/sys/class/dmi/id/board_asset_tag").starts_with("i-"),
    }
}

async fn run_transform(args: &TransformArgs<'_>) -> Result<(), Failure> {
    for warning in preflight::unknown_variables(
        std::env::vars()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    ) {
        eprintln!("dasp: warning: {warning}");
    }
    let config = Config::from_env().map_err(|e| fail(2, e))?;
    let bytes = read_input(Some(args.event), "event file")?;
    // The records' data borrows from the file's bytes: the largest part of the event is not
    // copied.
    let event = FirehoseEvent::from_json(&bytes).map_err(|e| {
        fail(
            2,
            format!("{} is not a Firehose invocation event: {e}", args.event.display()),
        )
    })?;
    if let Some(out) = args.out {
        if out.is_dir() {
            return Err(fail(
                2,
                format!("--out {} is a folder: give a file name", out.display()),
            ));
        }
        let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
        prepare_folder(parent.unwrap_or(Path::new(".")), "--out")?;
    }
    if let Some(dir) = args.s3_layout {
        prepare_folder(dir, "--s3-layout")?;
    }
    match args.data_keys {
        Some(path) => {
            let text = read_input(Some(path), "data-keys file")?;
            let source = FileDataKeys::from_json(&text)
                .map_err(|e| fail(2, format!("--data-keys {}: {e}", path.display())))?;
            transform(Handler::new(config, source), &event, args).await
        }
        None => {
            preflight::check_aws(|n| std::env::var(n).ok(), &aws_files()).map_err(|e| fail(2, e))?;
            transform(Handler::new(config, KmsDataKeys::from_env().await), &event, args).await
        }
    }
}

/// The invocation-level error, in the CLI's words (the handler's speak to Firehose).
fn invocation_failure(error: &InvocationError, verbose: u8) -> Failure {
    match error {
        InvocationError::KmsUnavailable {
            label,
            detail,
            records,
            total_records,
            ..
        } => {
            // The SDK reports credentials it could not load (an expired SSO session, a failing
            // credential_process) as a dispatch failure: say that, not "unreachable".
            let credentials = ["CredentialsNotLoaded", "ProviderError", "credentials"]
                .iter()
                .any(|needle| detail.contains(needle));
            let what = match *label {
                "kms_throttled" => "KMS kept throttling a data-key request after the retries",
                "kms_timeout" => "KMS did not answer a data-key request in time, retries included",
                _ if credentials => {
                    "the AWS credentials could not be loaded (an expired SSO session? `aws sso login`), so KMS decrypted no data key"
                }
                _ => "KMS stayed unreachable for a data key after the retries",
            };
            let what = format!("{what}: {records} of {total_records} records need it");
            let endpoint = std::env::var("AWS_ENDPOINT_URL_KMS")
                .map(|url| format!(", endpoint {url}"))
                .unwrap_or_default();
            let why = if verbose > 0 {
                format!("{label}{endpoint}: {detail}")
            } else {
                format!("{label}{endpoint}; -v shows the SDK's detail")
            };
            fail(1, format!("{what} ({why}); nothing was written"))
        }
        InvocationError::NoResourceId { .. } => fail(1, format!("{error}; nothing was written")),
    }
}

async fn transform<S: DataKeySource>(
    handler: Handler<S>,
    event: &FirehoseEvent<'_>,
    args: &TransformArgs<'_>,
) -> Result<(), Failure> {
    let now = chrono::Utc::now();
    if !args.print && args.s3_layout.is_none() {
        return transform_streaming(handler, event, args, now).await;
    }
    let invocation = handler
        .handle(event, now)
        .await
        .map_err(|e| invocation_failure(&e, args.verbose))?;

    if let Some(dir) = args.s3_layout {
        for (key, data) in s3_layout::objects(event, &invocation.outcomes, now) {
            let path = dir.join(key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail(1, format!("cannot create folder {}: {e}", parent.display())))?;
            }
            std::fs::write(&path, data)
                .map_err(|e| fail(1, format!("cannot write {}: {e}", path.display())))?;
        }
    }
    let mut stdout = std::io::stdout().lock();
    if args.print {
        for outcome in &invocation.outcomes {
            if let Outcome::Ok { data, .. } = outcome {
                stdout.write_all(data).map_err(|e| fail(1, e))?;
            }
        }
    }
    let metrics = invocation.metrics.clone();
    if args.out.is_some() || !args.print {
        // Byte for byte what the Lambda returns (the same writer), written once every record is
        // done, since the lines were held for --print or --s3-layout.
        let response = invocation.into_response(event);
        let mut out = Output::new(args.out);
        response
            .write_json(&mut out)
            .and_then(|()| out.end())
            .map_err(|e| write_failure(args.out, e))?;
    }
    stdout.flush().map_err(|e| fail(1, e))?;
    eprintln!("dasp: {}", summary::line(&metrics));
    Ok(())
}

/// The response alone (no --print, no --s3-layout): each record's entry is written as soon as
/// its outcome is final, and its lines freed, instead of holding every record's lines until
/// the end. The bytes are the same.
async fn transform_streaming<S: DataKeySource>(
    handler: Handler<S>,
    event: &FirehoseEvent<'_>,
    args: &TransformArgs<'_>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Failure> {
    let mut writer = ResponseWriter::new(Output::new(args.out));
    let invocation = handler
        .handle_into(event, now, None, &mut writer.sink(event))
        .await
        .map_err(|e| invocation_failure(&e, args.verbose))?;
    writer
        .finish()
        .and_then(|mut out| out.end())
        .map_err(|e| write_failure(args.out, e))?;
    eprintln!("dasp: {}", summary::line(&invocation.metrics));
    Ok(())
}

/// Where `dasp transform` writes the response: standard output (a newline after it), or the
/// --out file (the JSON alone), created when its first bytes are written, so that an
/// invocation that fails (KMS unavailable, no resource id) leaves no file behind and an
/// existing one untouched. Once records are done the file is written as the response is made:
/// a run interrupted then leaves it partial, and a run again rewrites it.
enum Output<'p> {
    Stdout(std::io::Stdout),
    File {
        path: &'p Path,
        file: Option<std::fs::File>,
    },
}

impl<'p> Output<'p> {
    fn new(path: Option<&'p Path>) -> Self {
        match path {
            Some(path) => Output::File { path, file: None },
            None => Output::Stdout(std::io::stdout()),
        }
    }

    /// After the response: the newline on standard output, and everything flushed.
    fn end(&mut self) -> std::io::Result<()> {
        if let Output::Stdout(stdout) = self {
            stdout.write_all(b"\n")?;
        }
        self.flush()
    }
}

/// A write of the response that failed, naming the --out file if there is one.
fn write_failure(out: Option<&Path>, e: std::io::Error) -> Failure {
    match out {
        None => fail(1, e),
        Some(path) => fail(1, format!("cannot write {}: {e}", path.display())),
    }
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Output::Stdout(stdout) => stdout.write(buf),
            Output::File { file: Some(file), .. } => file.write(buf),
            Output::File { path, file } => file.insert(std::fs::File::create(path)?).write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Output::Stdout(stdout) => stdout.flush(),
            Output::File { file: Some(file), .. } => file.flush(),
            Output::File { file: None, .. } => Ok(()),
        }
    }
}

/// The warning about unknown DASP_* variables, once each.
fn warn_unknown_variables() {
    for warning in preflight::unknown_variables(
        std::env::vars()
            .map(|(k, _)| k)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
    ) {
        eprintln!("dasp: warning: {warning}");
    }
}

fn stream_of(args: &StreamArgs) -> Result<String, Failure> {
    kinesis::stream_name(args.stream.as_deref(), args.resource_id.as_deref()).map_err(|e| fail(2, e))
}

fn check_kinesis_setup() -> Result<(), Failure> {
    if let Ok(url) = std::env::var("AWS_ENDPOINT_URL_KINESIS")
        && !url.trim().is_empty()
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(fail(
            2,
            format!("AWS_ENDPOINT_URL_KINESIS {url:?} needs a scheme: http:// or https://"),
        ));
    }
    preflight::check_aws(|n| std::env::var(n).ok(), &aws_files()).map_err(|e| fail(2, e))
}

struct TailArgs<'a> {
    stream: &'a StreamArgs,
    from: StartPosition,
    format: TailFormat,
    class: Option<&'a str>,
    user: Option<&'a str>,
    count: Option<usize>,
    data_keys: Option<&'a Path>,
}

async fn run_tail(args: &TailArgs<'_>) -> Result<(), Failure> {
    warn_unknown_variables();
    let config = Config::from_env().map_err(|e| fail(2, e))?;
    let name = stream_of(args.stream)?;
    if kinesis::resource_id_of(&name).is_none() && config.resource_id.is_none() {
        return Err(fail(
            2,
            format!(
                "the stream {name} is not named aws-rds-das-<resource id>: set DASP_RESOURCE_ID to the database's cluster-… or db-… resource id"
            ),
        ));
    }
    let filter = kinesis::Filter {
        classes: args
            .class
            .map(kinesis::parse_classes)
            .transpose()
            .map_err(|e| fail(2, e))?,
        user: args.user.map(String::from),
    };
    check_kinesis_setup()?;
    match args.data_keys {
        Some(path) => {
            let text = read_input(Some(path), "data-keys file")?;
            let source = FileDataKeys::from_json(&text)
                .map_err(|e| fail(2, format!("--data-keys {}: {e}", path.display())))?;
            tail(Handler::new(config, source), &name, &filter, args).await
        }
        None => {
            tail(
                Handler::new(config, KmsDataKeys::from_env().await),
                &name,
                &filter,
                args,
            )
            .await
        }
    }
}

/// Runs until --count, Ctrl-C, the end of every shard or a read error; the summary is printed
/// in every case.
async fn tail<S: DataKeySource>(
    handler: Handler<S>,
    name: &str,
    filter: &kinesis::Filter,
    args: &TailArgs<'_>,
) -> Result<(), Failure> {
    let mut stats = TailStats::default();
    let result = tokio::select! {
        r = tail_loop(&handler, name, filter, args, &mut stats) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    eprintln!("dasp: {}", stats.line());
    result
}

async fn tail_loop<S: DataKeySource>(
    handler: &Handler<S>,
    name: &str,
    filter: &kinesis::Filter,
    args: &TailArgs<'_>,
    stats: &mut TailStats,
) -> Result<(), Failure> {
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .unwrap_or(160);
    if args.count == Some(0) {
        return Ok(());
    }
    let mut reader = ShardReader::open(name, args.from).await.map_err(|e| fail(1, e))?;
    eprintln!(
        "dasp: reading {} of {name} from {}",
        summary::count(reader.shards_read(), "shard", "shards"),
        args.from
    );
    let mut stdout = std::io::stdout();
    while let Some(batch) = reader.next_batch().await.map_err(|e| fail(1, e))? {
        if batch.records.is_empty() {
            continue;
        }
        stats.records += batch.records.len();
        let event = kinesis::firehose_event(&reader.region, &reader.stream_arn, &batch.records)
            .map_err(|e| fail(1, e))?;
        let invocation = match handler.handle(&event, chrono::Utc::now()).await {
            Ok(invocation) => invocation,
            Err(e) => {
                let label = match &e {
                    InvocationError::KmsUnavailable { label, .. } => *label,
                    InvocationError::NoResourceId { .. } => "no_resource_id",
                };
                eprintln!(
                    "dasp: {} of shard {} not decrypted: {label}",
                    summary::count(batch.records.len(), "record", "records"),
                    batch.shard_id
                );
                stats.fail(label, batch.records.len());
                continue;
            }
        };
        stats.add_metrics(&invocation.metrics);
        let mut out = Vec::new();
        let mut done = false;
        for (record, outcome) in batch.records.iter().zip(&invocation.outcomes) {
            match outcome {
                Outcome::Ok { data, .. } => {
                    for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                        let Some(shown) = Shown::of_line(line) else {
                            continue;
                        };
                        if done || !filter.accepts(&shown) {
                            continue;
                        }
                        match args.format {
                            TailFormat::Json => out.extend_from_slice(line),
                            TailFormat::Text => {
                                out.extend_from_slice(kinesis::text_line(&shown, width).as_bytes())
                            }
                        }
                        out.push(b'\n');
                        stats.printed += 1;
                        done = args.count.is_some_and(|n| stats.printed >= n);
                    }
                }
                Outcome::Failed(e) => {
                    eprintln!("dasp: record {} failed: {}", record.label(), e.label());
                    stats.fail(e.label(), 1);
                }
                Outcome::Dropped { .. } => {}
            }
        }
        stdout
            .write_all(&out)
            .and_then(|()| stdout.flush())
            .map_err(|e| fail(1, e))?;
        if done {
            break;
        }
    }
    Ok(())
}

/// What `capture` has read so far.
#[derive(Default)]
struct Captured {
    records: Vec<KinesisRecord>,
    region: String,
    stream_arn: String,
}

async fn run_capture(
    stream: &StreamArgs,
    out: &Path,
    max: usize,
    from: StartPosition,
) -> Result<(), Failure> {
    let name = stream_of(stream)?;
    if max == 0 {
        return Err(fail(2, "--records: give at least 1"));
    }
    if out.is_dir() {
        return Err(fail(
            2,
            format!("--out {} is a folder: give a file name", out.display()),
        ));
    }
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty());
    prepare_folder(parent.unwrap_or(Path::new(".")), "--out")?;
    check_kinesis_setup()?;
    let mut captured = Captured::default();
    let result = tokio::select! {
        r = capture_loop(&name, max, from, &mut captured) => r,
        _ = tokio::signal::ctrl_c() => Ok(()),
    };
    result?;
    if captured.records.is_empty() {
        return Err(fail(
            1,
            format!("no record read from {name}; nothing was written"),
        ));
    }
    let event = kinesis::invocation(
        &uuid::Uuid::new_v4().to_string(),
        &captured.region,
        &captured.stream_arn,
        &captured.records,
    );
    let text = serde_json::to_vec_pretty(&event).map_err(|e| fail(1, e))?;
    std::fs::write(out, text).map_err(|e| fail(1, format!("cannot write {}: {e}", out.display())))?;
    eprintln!(
        "dasp: {} of {name} written to {}",
        summary::count(captured.records.len(), "record", "records"),
        out.display()
    );
    Ok(())
}

async fn capture_loop(
    name: &str,
    max: usize,
    from: StartPosition,
    captured: &mut Captured,
) -> Result<(), Failure> {
    let mut reader = ShardReader::open(name, from).await.map_err(|e| fail(1, e))?;
    captured.region = reader.region.clone();
    captured.stream_arn = reader.stream_arn.clone();
    // The invocation's own fields, with room to spare.
    let mut bytes = 1024usize;
    while let Some(batch) = reader.next_batch().await.map_err(|e| fail(1, e))? {
        for record in batch.records {
            bytes = bytes.saturating_add(record.invocation_len());
            if captured.records.len() >= max || bytes > kinesis::LAMBDA_REQUEST_LIMIT {
                return Ok(());
            }
            captured.records.push(record);
        }
        if captured.records.len() >= max || (from != StartPosition::Latest && reader.caught_up()) {
            return Ok(());
        }
    }
    Ok(())
}

/// `tail` prints its own line per failed record: without -v or RUST_LOG, the handler's warning
/// about the same record is left out.
fn tail_log_filter(
    command: &Command,
    filter: tracing_subscriber::EnvFilter,
    verbose: u8,
) -> tracing_subscriber::EnvFilter {
    let quiet = matches!(command, Command::Tail { .. })
        && verbose == 0
        && std::env::var_os(tracing_subscriber::EnvFilter::DEFAULT_ENV).is_none();
    match "das_partitioner::handler=error".parse() {
        Ok(directive) if quiet => filter.add_directive(directive),
        _ => filter,
    }
}

struct ReplayArgs<'a> {
    errors: &'a str,
    s3_layout: Option<&'a Path>,
    to: Option<&'a str>,
    resource_id: Option<&'a str>,
    data_keys: Option<&'a Path>,
    verbose: u8,
}

async fn run_replay(args: &ReplayArgs<'_>) -> Result<(), Failure> {
    use das_partitioner::cli::failed_records;
    use das_partitioner::cli::replay::{Location, S3Store};
    warn_unknown_variables();
    let mut config = Config::from_env().map_err(|e| fail(2, e))?;
    let source = Location::parse(args.errors).map_err(|e| fail(2, format!("--errors {e}")))?;
    let dest = match (args.s3_layout, args.to) {
        (Some(dir), _) => {
            prepare_folder(dir, "--s3-layout")?;
            Location::Dir(dir.to_path_buf())
        }
        (None, Some(to)) => match Location::parse(to).map_err(|e| fail(2, format!("--to {e}")))? {
            Location::Dir(_) => {
                return Err(fail(
                    2,
                    format!("--to {to}: give s3://BUCKET/PREFIX (or --s3-layout DIR)"),
                ));
            }
            s3 => s3,
        },
        (None, None) => return Err(fail(2, "give --s3-layout DIR or --to s3://BUCKET/PREFIX")),
    };
    if let Location::Dir(dir) = &source
        && !dir.exists()
    {
        return Err(fail(
            2,
            format!("--errors {}: no such file or folder", dir.display()),
        ));
    }
    if let Some(id) = args.resource_id {
        if das_partitioner::keys::KeyContext::for_resource(id).is_none() {
            return Err(fail(
                2,
                format!("--resource-id {id}: expected cluster-… (Aurora) or db-… (RDS)"),
            ));
        }
        config.resource_id = Some(id.to_string());
    }
    if config.resource_id.is_none() {
        config.resource_id = failed_records::resource_id_from_path(args.errors);
    }
    if config.resource_id.is_none() {
        return Err(fail(
            2,
            "no database resource id: give --resource-id cluster-… or db-… (or set DASP_RESOURCE_ID); processing-failed entries do not name it",
        ));
    }
    let needs_aws = args.data_keys.is_none() || source.is_s3() || dest.is_s3();
    if needs_aws {
        preflight::check_aws(|n| std::env::var(n).ok(), &aws_files()).map_err(|e| fail(2, e))?;
    }
    let s3 = if source.is_s3() || dest.is_s3() {
        Some(S3Store::from_env().await)
    } else {
        None
    };
    match args.data_keys {
        Some(path) => {
            // The file holds key material: wiped once parsed.
            let text = zeroize::Zeroizing::new(read_input(Some(path), "data-keys file")?);
            let keys = FileDataKeys::from_json(&text)
                .map_err(|e| fail(2, format!("--data-keys {}: {e}", path.display())))?;
            replay(&Handler::new(config, keys), &source, &dest, s3.as_ref(), args).await
        }
        None => {
            let keys = KmsDataKeys::from_env().await;
            replay(&Handler::new(config, keys), &source, &dest, s3.as_ref(), args).await
        }
    }
}

async fn replay<S: DataKeySource>(
    handler: &Handler<S>,
    source: &das_partitioner::cli::replay::Location,
    dest: &das_partitioner::cli::replay::Location,
    s3: Option<&das_partitioner::cli::replay::S3Store>,
    args: &ReplayArgs<'_>,
) -> Result<(), Failure> {
    use das_partitioner::cli::replay::{self, ReplayError};
    let terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let progress = |done: usize, total: usize| {
        if terminal {
            eprint!("\rdasp: replay: {done}/{total} error objects");
            if done == total {
                eprintln!();
            }
        }
    };
    let report = replay::replay(handler, source, dest, s3, progress)
        .await
        .map_err(|e| match e {
            ReplayError::Invocation(error) => {
                let failure = invocation_failure(&error, args.verbose);
                let message = failure.message.replace(
                    "nothing was written",
                    "replay stopped; run it again once KMS answers (what it wrote is replaced, not duplicated)",
                );
                fail(failure.code, message)
            }
            ReplayError::Io(message) => fail(1, message),
        })?;
    let mut stdout = std::io::stdout().lock();
    for entry in &report.not_recovered {
        let line = entry.line.map(|l| format!(":{l}")).unwrap_or_default();
        writeln!(stdout, "{}{line}: {}", entry.object, entry.label).map_err(|e| fail(1, e))?;
    }
    stdout.flush().map_err(|e| fail(1, e))?;
    eprintln!(
        "dasp: {} in {}: {} recovered ({}), {} dropped, {} not recovered; {} written; {}",
        summary::count(report.entries, "entry", "entries"),
        summary::count(report.objects, "error object", "error objects"),
        report.recovered,
        summary::count(report.events, "event", "events"),
        report.dropped,
        report.not_recovered.len(),
        summary::count(report.objects_written, "object", "objects"),
        summary::count(report.kms_calls, "KMS call", "KMS calls"),
    );
    if report.not_recovered.is_empty() {
        Ok(())
    } else {
        Err(fail(1, String::new()))
    }
}

/// The log filter: RUST_LOG if set; otherwise warnings of our own code only (the AWS SDK's
/// retries and IMDS probes are noise to a person), more with each -v.
fn log_filter(verbose: u8) -> tracing_subscriber::EnvFilter {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        return filter;
    }
    tracing_subscriber::EnvFilter::new(match verbose {
        0 => "off,das_partitioner=warn,dasp=warn",
        1 => "warn,das_partitioner=info,dasp=info",
        2 => "info,das_partitioner=debug,dasp=debug",
        _ => "trace",
    })
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "install-assets") {
        let assets = InstallAssets::parse_from(args.iter().skip(1));
        return exit(run_install_assets(&assets.man_dir, &assets.completions_dir));
    }
    let cli = Cli::parse_from(args);
    // The worker threads, for the commands that transform records; the others start none.
    let transforms = matches!(
        cli.command,
        Command::Transform { .. } | Command::Tail { .. } | Command::Replay { .. }
    );
    if transforms && let Err(e) = das_partitioner::workers::init_global_pool() {
        eprintln!("dasp: error: cannot start the worker threads: {e}");
        return ExitCode::FAILURE;
    }
    // A person reads these lines: times and module paths only once they asked for detail.
    let detailed = cli.verbose > 0;
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(detailed)
        .with_env_filter(tail_log_filter(
            &cli.command,
            log_filter(cli.verbose),
            cli.verbose,
        ));
    if detailed {
        subscriber.init();
    } else {
        subscriber.without_time().init();
    }
    let result = match &cli.command {
        Command::Inspect { input, json } => run_inspect(input.as_deref(), *json),
        Command::Transform {
            event,
            out,
            s3_layout,
            print,
            data_keys,
        } => {
            let args = TransformArgs {
                event,
                out: out.as_deref(),
                s3_layout: s3_layout.as_deref(),
                print: *print,
                data_keys: data_keys.as_deref(),
                verbose: cli.verbose,
            };
            block_on(run_transform(&args))
        }
        Command::Tail {
            stream,
            from,
            format,
            class,
            user,
            count,
            data_keys,
        } => {
            let args = TailArgs {
                stream,
                from: *from,
                format: *format,
                class: class.as_deref(),
                user: user.as_deref(),
                count: *count,
                data_keys: data_keys.as_deref(),
            };
            block_on(run_tail(&args))
        }
        Command::Capture {
            stream,
            out,
            records,
            from,
        } => block_on(run_capture(stream, out, *records, *from)),
        Command::Replay {
            errors,
            s3_layout,
            to,
            resource_id,
            data_keys,
        } => {
            let args = ReplayArgs {
                errors,
                s3_layout: s3_layout.as_deref(),
                to: to.as_deref(),
                resource_id: resource_id.as_deref(),
                data_keys: data_keys.as_deref(),
                verbose: cli.verbose,
            };
            block_on(run_replay(&args))
        }
    };
    exit(result)
}

/// Runs one command's future on a fresh tokio runtime.
fn block_on(command: impl std::future::Future<Output = Result<(), Failure>>) -> Result<(), Failure> {
    match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(command),
        Err(e) => Err(fail(1, e)),
    }
}

fn exit(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `dasp … | head`: the reader has what it wanted.
        Err(f) if f.message.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("dasp: error: {}", f.message.replace('\n', " "));
            }
            ExitCode::from(f.code)
        }
    }
}
