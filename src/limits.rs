//! Every cap in one place.
//!
//! Fixed caps are constants: they bound what an untrusted record may make us parse or allocate.
//! The few a deployment may want to tune live in [`Limits`], which the Lambda and the CLI fill
//! from the environment (see `config.rs`) and everything else receives by reference.

use std::time::Duration;

/// Largest base64 text accepted for one Firehose record's `data` (Firehose caps a record at
/// 1,000 KiB; Kinesis at 1 MiB). Anything larger is not a DAS record.
pub const MAX_RECORD_DATA_BASE64: usize = 2 * 1024 * 1024;

/// Largest ESDK message (after base64) accepted inside one envelope.
pub const MAX_ESDK_MESSAGE_BYTES: usize = 1536 * 1024;

/// Largest KMS ciphertext blob (`key`) accepted in an envelope. KMS blobs are a few hundred bytes.
pub const MAX_KMS_BLOB_BYTES: usize = 6 * 1024;

/// Most encrypted data keys accepted in one ESDK header. DAS writes exactly one; the ESDK
/// specification lets decryptors cap this.
pub const MAX_ENCRYPTED_DATA_KEYS: usize = 16;

/// Most encryption context pairs accepted in one ESDK header. DAS writes none, or one
/// (`aws-crypto-public-key`) for signed suites; the count is checked before any pair is read.
pub const MAX_ENCRYPTION_CONTEXT_PAIRS: usize = 16;

/// Longest file name or comment in a gzip member header, before its terminating zero (DAS
/// writes neither; flate2's streaming reader stops at the same length, and ours must agree).
pub const MAX_GZIP_HEADER_TEXT_BYTES: usize = 65_535;

/// Most events accepted in one decrypted DAS record.
pub const MAX_EVENTS_PER_RECORD: usize = 100_000;

/// Largest inflated payload read in one pass (src/decode/payload.rs), and most events in it:
/// the one pass holds every event's view (about 570 bytes each, plus copies of escaped
/// strings) until the record's lines are written, where two passes hold one at a time. Larger
/// payloads are read in two passes, so what a record holds stays bounded by these caps.
pub const MAX_ONE_PASS_PAYLOAD_BYTES: usize = 1 << 20;
/// See [`MAX_ONE_PASS_PAYLOAD_BYTES`].
pub const MAX_ONE_PASS_EVENTS: usize = 1_000;

/// Deepest JSON nesting accepted in one event, the event object itself counting as 1. DAS
/// events nest three levels deep; readers of the output stop earlier than the JSON grammar does
/// (serde_json at 128 levels by default, jq 1.6 at 256, Python at its recursion limit), so a
/// deeper event fails its record (`event_too_deep`) instead of becoming a line nobody can read.
pub const MAX_JSON_DEPTH: usize = 100;

/// Longest payload `clusterId` or `instanceId` accepted (each is repeated in every line of the
/// record; DAS writes `cluster-…`/`db-…` ids of a few dozen characters).
pub const MAX_PAYLOAD_ID_CHARS: usize = 256;

/// Longest event-id prefix taken from a Firehose record (`<sequenceNumber>-<subsequenceNumber>`,
/// else the recordId; both a few dozen characters): it is repeated in every line of the record.
pub const MAX_EVENT_ID_PREFIX_CHARS: usize = 256;

/// Longest DAS envelope `version` accepted (it is copied into every line as `dasVersion`; DAS
/// writes `1.0` … `1.4`). Allowed characters: `[A-Za-z0-9._-]`.
pub const MAX_DAS_VERSION_CHARS: usize = 16;

/// Years an event or arrival time may have to choose a record's partition hour. An event time
/// outside them is ignored (the arrival time is used), and an arrival time outside them gives way
/// to the invocation's clock: partition values stay four-digit, non-negative years.
pub const PARTITION_YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Records transformed at once per worker thread before they are admitted into the response
/// budget, in input order: a chunk ends at this many records or at
/// [`INPUT_BYTES_IN_FLIGHT_PER_THREAD`] of input per thread, whichever comes first. Chunks are
/// large because a worker that went idle can take a millisecond to wake on a virtual CPU: with
/// small chunks of small records the first worker finished each chunk alone. The output a chunk
/// holds is bounded by the budget whatever its size (src/handler.rs).
pub const RECORDS_IN_FLIGHT_PER_THREAD: usize = 256;

/// Input (base64 `data`) per worker thread in one chunk; see [`RECORDS_IN_FLIGHT_PER_THREAD`].
/// A chunk's lines are held until it is admitted; the Lambda and `dasp transform` then write
/// them out and free them (`Handler::handle_into`), and the next chunk reuses their memory. At
/// fifty events a record the lines are about ten times the input, so a chunk of 128 KB a thread
/// holds about 1.3 MB of lines where one of 512 KB held 5 MB, each page touched for the first
/// time at a page fault's cost (BENCHMARKS.md). This cap now ends a chunk
/// before [`RECORDS_IN_FLIGHT_PER_THREAD`] does unless records are under 512 bytes: about 70
/// one-event records a thread, still long enough for both workers to be busy.
pub const INPUT_BYTES_IN_FLIGHT_PER_THREAD: usize = 128 * 1024;

/// Most characters of one partition-key value (S3 keys are limited to 1,024 bytes in total).
pub const MAX_PARTITION_VALUE_CHARS: usize = 128;

/// Firehose rejects a Lambda response larger than this (bytes), failing the whole batch.
pub const FIREHOSE_RESPONSE_LIMIT: usize = 6_291_556;

/// Default inflated-size cap for one record's gzip payload.
pub const DEFAULT_MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// Default response budget: comfortably below [`FIREHOSE_RESPONSE_LIMIT`], leaving room for
/// the runtime's framing.
pub const DEFAULT_RESPONSE_BUDGET_BYTES: usize = 6_000_000;

/// Default number of distinct data keys decrypted at once through KMS.
pub const DEFAULT_KMS_CONCURRENCY: usize = 8;

/// Default number of decrypted data keys kept between invocations.
pub const DEFAULT_KMS_CACHE_SIZE: usize = 1024;

/// Default time one KMS Decrypt attempt may take before it counts as a transient timeout
/// (`DASP_KMS_ATTEMPT_TIMEOUT_MS`). KMS answers in tens of milliseconds.
pub const DEFAULT_KMS_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);

/// Default total time an invocation may spend on one data key's KMS attempts and the waits
/// between them (`DASP_KMS_RETRY_BUDGET_MS`). The Lambda is bounded by its own deadline too.
pub const DEFAULT_KMS_RETRY_BUDGET: Duration = Duration::from_secs(20);

/// Time kept back from the Lambda's deadline for everything after the keys: transforming the
/// records and answering (a 0.3 MB batch takes well under a second).
pub const KMS_DEADLINE_RESERVE: Duration = Duration::from_secs(3);

/// Exponential backoff between KMS attempts: the ceiling of the n-th wait (n ≥ 1) is
/// `KMS_RETRY_BASE_DELAY · 2^(n-1)`, at most [`KMS_RETRY_MAX_DELAY`]; the wait is drawn
/// uniformly below the ceiling ("full jitter").
pub const KMS_RETRY_BASE_DELAY: Duration = Duration::from_millis(100);

/// Largest wait between two KMS attempts for one key.
pub const KMS_RETRY_MAX_DELAY: Duration = Duration::from_secs(2);

/// Most KMS Decrypt attempts for one data key in one invocation, whatever time is left.
pub const MAX_KMS_ATTEMPTS: u32 = 10;

/// Tunable caps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest inflated (gunzipped) payload of one record, in bytes.
    pub max_inflated_bytes: usize,
    /// Largest serialized Firehose response, in bytes; must stay below
    /// [`FIREHOSE_RESPONSE_LIMIT`].
    pub response_budget_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_inflated_bytes: DEFAULT_MAX_INFLATED_BYTES,
            response_budget_bytes: DEFAULT_RESPONSE_BUDGET_BYTES,
        }
    }
}

/// `dasp replay`: cap on one processing-failed object, as stored and once gunzipped (Firehose
/// buffers at most 128 MiB per S3 object).
pub const MAX_ERROR_OBJECT_BYTES: usize = 256 * 1024 * 1024;

/// `dasp replay`: base64 record data given to the handler in one invocation, like Firehose's
/// processor buffer (BufferSizeInMBs, default 1 MB).
pub const REPLAY_BATCH_BASE64_BYTES: usize = 1024 * 1024;
