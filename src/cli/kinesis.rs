//! `dasp tail` and `dasp capture`: reading a live DAS Kinesis stream.
//!
//! The pure parts (stream name, start position, the Firehose invocation built from Kinesis
//! records, which shards to read next, the text line, the filters, the summary) are plain
//! functions; [`ShardReader`] is the thin IO shell around aws-sdk-kinesis. Records are decrypted
//! by the Lambda's own handler: a GetRecords batch becomes the Firehose invocation Firehose would
//! send for it (a Kinesis record's data is exactly Firehose's base64 `data`).

use crate::classify::ActivityClass;
use crate::ingest::FirehoseEvent;
use crate::keys::{KeyContext, resource_id_from_stream_arn};
use crate::output::EventStats;
use crate::output::metrics::Metrics;
use aws_sdk_kinesis::types::ShardIteratorType;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Deserialize as _;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;
use tokio::time::Instant;

/// DAS names its stream `aws-rds-das-<resource id>`.
pub const STREAM_PREFIX: &str = "aws-rds-das-";

/// Kinesis allows 5 GetRecords calls per second per shard: one every 200 ms at most.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// First wait after ProvisionedThroughputExceeded on a shard; doubled up to [`MAX_BACKOFF`].
pub const THROTTLE_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The shard list is read again this often (splits and merges of open shards).
pub const RELIST_INTERVAL: Duration = Duration::from_secs(10);

/// Records asked per GetRecords call.
pub const GET_RECORDS_LIMIT: i32 = 1000;

/// A synchronous Lambda request is at most 6,291,456 bytes: a captured invocation stays below.
pub const LAMBDA_REQUEST_LIMIT: usize = 6_291_456;

/// The placeholder delivery stream of a captured invocation: no Firehose sent it.
pub const CAPTURE_DELIVERY_STREAM_ARN: &str =
    "arn:aws:firehose:REGION:000000000000:deliverystream/dasp-capture-placeholder";

/// The stream to read: `--stream NAME|ARN` or `--resource-id ID` (exactly one).
pub fn stream_name(stream: Option<&str>, resource_id: Option<&str>) -> Result<String, String> {
    match (stream.map(str::trim), resource_id.map(str::trim)) {
        (Some(_), Some(_)) => Err("give --stream or --resource-id, not both".to_string()),
        (None, None) => Err(
            "give the stream: --stream aws-rds-das-<resource id> or --resource-id <cluster-… or db-…>"
                .to_string(),
        ),
        (Some(s), None) => {
            let name = s.rsplit_once(":stream/").map_or(s, |(_, name)| name);
            let valid = !name.is_empty()
                && name.len() <= 128
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
            if valid {
                Ok(name.to_string())
            } else {
                Err(format!(
                    "--stream {s:?} is not a Kinesis stream name (letters, digits, _ . -, at most 128)"
                ))
            }
        }
        (None, Some(id)) => match KeyContext::for_resource(id) {
            Some(_) => Ok(format!("{STREAM_PREFIX}{id}")),
            None => Err(format!(
                "--resource-id {id:?} is not a database resource id (cluster-… for Aurora, db-… for RDS)"
            )),
        },
    }
}

/// The resource id a stream name carries, if it is a DAS stream's.
pub fn resource_id_of(stream_name: &str) -> Option<&str> {
    resource_id_from_stream_arn(stream_name)
}

/// Where reading starts in every shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartPosition {
    Latest,
    TrimHorizon,
    At(DateTime<Utc>),
}

impl std::str::FromStr for StartPosition {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("LATEST") {
            Ok(StartPosition::Latest)
        } else if s.eq_ignore_ascii_case("TRIM_HORIZON") {
            Ok(StartPosition::TrimHorizon)
        } else {
            DateTime::parse_from_rfc3339(s)
                .map(|t| StartPosition::At(t.with_timezone(&Utc)))
                .map_err(|_| {
                    format!(
                        "{s:?} is not LATEST, TRIM_HORIZON or an RFC 3339 time (e.g. 2026-11-25T16:00:00Z)"
                    )
                })
        }
    }
}

impl std::fmt::Display for StartPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartPosition::Latest => f.write_str("LATEST"),
            StartPosition::TrimHorizon => f.write_str("TRIM_HORIZON"),
            StartPosition::At(t) => write!(f, "{}", t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        }
    }
}

/// One Kinesis record, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KinesisRecord {
    pub shard_id: String,
    pub sequence_number: String,
    pub partition_key: String,
    /// Approximate arrival time, milliseconds since the epoch.
    pub arrival_ms: Option<i64>,
    pub data: Vec<u8>,
}

impl KinesisRecord {
    /// `<shard>/<sequence number>`: names a record in messages (never its content).
    pub fn label(&self) -> String {
        format!("{}/{}", self.shard_id, self.sequence_number)
    }

    /// Bytes this record takes in an invocation (base64 data and metadata, roughly).
    pub fn invocation_len(&self) -> usize {
        self.data.len().div_ceil(3) * 4 + 2 * self.sequence_number.len() + self.partition_key.len() + 256
    }

    /// The record as Firehose puts it in a transformation invocation from a Kinesis source.
    /// The record id is opaque to the Lambda; the sequence number with its shard keeps it unique.
    pub fn firehose_record(&self) -> Value {
        json!({
            "recordId": format!("{}-{}", self.sequence_number, self.shard_id),
            "approximateArrivalTimestamp": self.arrival_ms,
            "data": base64::engine::general_purpose::STANDARD.encode(&self.data),
            "kinesisRecordMetadata": {
                "sequenceNumber": self.sequence_number,
                "subsequenceNumber": 0,
                "partitionKey": self.partition_key,
                "shardId": self.shard_id,
                "approximateArrivalTimestamp": self.arrival_ms,
            }
        })
    }
}

/// The Firehose transformation invocation for `records` of the stream `stream_arn`
/// (../shared/design/firehose.md), with the placeholder delivery stream.
pub fn invocation(invocation_id: &str, region: &str, stream_arn: &str, records: &[KinesisRecord]) -> Value {
    json!({
        "invocationId": invocation_id,
        "deliveryStreamArn": CAPTURE_DELIVERY_STREAM_ARN.replace("REGION", region),
        "region": region,
        "sourceKinesisStreamArn": stream_arn,
        "records": records.iter().map(KinesisRecord::firehose_record).collect::<Vec<_>>(),
    })
}

/// The same invocation, as the handler reads it.
pub fn firehose_event(
    region: &str,
    stream_arn: &str,
    records: &[KinesisRecord],
) -> Result<FirehoseEvent<'static>, String> {
    let event = invocation("dasp-tail", region, stream_arn, records);
    FirehoseEvent::deserialize(&event)
        .map(FirehoseEvent::into_owned)
        .map_err(|e| e.to_string())
}

/// A shard as ListShards describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardInfo {
    pub id: String,
    pub parents: Vec<String>,
    /// Closed: it has an ending sequence number (split, merged or shrunk away).
    pub closed: bool,
}

/// Shards to start reading now: not started yet, and every parent still listed has been read to
/// its end (so a child's records come after its parents'). `open_only` (reading from LATEST,
/// first listing): closed shards hold no new records and are skipped.
pub fn shards_to_start(
    shards: &[ShardInfo],
    started: &HashSet<String>,
    finished: &HashSet<String>,
    open_only: bool,
) -> Vec<String> {
    let listed: HashSet<&str> = shards.iter().map(|s| s.id.as_str()).collect();
    shards
        .iter()
        .filter(|s| !started.contains(&s.id))
        .filter(|s| !open_only || !s.closed)
        .filter(|s| {
            open_only
                || s.parents
                    .iter()
                    .all(|p| !listed.contains(p.as_str()) || finished.contains(p))
        })
        .map(|s| s.id.clone())
        .collect()
}

/// `--class DDL,DML,…`: class names, case-insensitive.
pub fn parse_classes(list: &str) -> Result<Vec<ActivityClass>, String> {
    let mut classes = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match ActivityClass::from_name(name) {
            Some(c) if !classes.contains(&c) => classes.push(c),
            Some(_) => {}
            None => {
                let names: Vec<&str> = ActivityClass::ALL.iter().map(|c| c.as_str()).collect();
                return Err(format!(
                    "--class: unknown class {name:?}; classes: {}",
                    names.join(", ")
                ));
            }
        }
    }
    if classes.is_empty() {
        return Err("--class: give at least one class".to_string());
    }
    Ok(classes)
}

/// The events to print: by class and database user (exact name).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub classes: Option<Vec<ActivityClass>>,
    pub user: Option<String>,
}

/// The fields of one output line that `tail` shows and filters on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shown {
    pub time: String,
    pub class: String,
    pub user: String,
    pub database: String,
    pub command: String,
}

fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

impl Shown {
    /// The fields of one output line (a JSON object); None if it is not one.
    pub fn of_line(line: &[u8]) -> Option<Shown> {
        let value: Value = serde_json::from_slice(line).ok()?;
        let o = value.as_object()?;
        let time = [o.get("logTime"), o.get("startTime")]
            .into_iter()
            .map(text_of)
            .find(|t| !t.trim().is_empty())
            .unwrap_or_default();
        let sql = text_of(o.get("commandText"));
        let command = if sql.trim().is_empty() {
            text_of(o.get("command"))
        } else {
            sql
        };
        Some(Shown {
            time,
            class: text_of(o.get("activityClass")),
            user: text_of(o.get("dbUserName")),
            database: text_of(o.get("databaseName")),
            command,
        })
    }
}

impl Filter {
    pub fn accepts(&self, shown: &Shown) -> bool {
        let class_ok = self.classes.as_ref().is_none_or(|classes| {
            ActivityClass::from_name(&shown.class).is_some_and(|c| classes.contains(&c))
        });
        class_ok && self.user.as_ref().is_none_or(|u| *u == shown.user)
    }
}

/// `text` on one line: control characters and runs of whitespace become one space, and at most
/// `width` characters (the last one `…` when cut).
pub fn one_line(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut chars = 0usize;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
            continue;
        }
        if space && chars > 0 {
            out.push(' ');
            chars += 1;
            space = false;
        }
        out.push(c);
        chars += 1;
        if chars > width {
            break;
        }
    }
    if chars > width {
        let keep: String = out.chars().take(width.saturating_sub(1)).collect();
        return format!("{keep}…");
    }
    out
}

/// The `--format text` line: time, class, user, database, command or SQL, within `width`
/// characters (at least room for a short command).
pub fn text_line(shown: &Shown, width: usize) -> String {
    let head = format!(
        "{:<29} {:<12} {:<16} {:<16} ",
        one_line(&shown.time, 29),
        one_line(&shown.class, 12),
        one_line(&shown.user, 16),
        one_line(&shown.database, 16)
    );
    let room = width.saturating_sub(head.chars().count()).max(20);
    format!("{head}{}", one_line(&shown.command, room))
}

/// What `tail` saw, for its summary.
#[derive(Clone, Debug, Default)]
pub struct TailStats {
    pub records: usize,
    pub events: EventStats,
    pub printed: usize,
    /// Failed records by error label.
    pub failed: BTreeMap<String, usize>,
}

impl TailStats {
    pub fn add_metrics(&mut self, m: &Metrics) {
        self.events.add(&m.events);
    }

    pub fn fail(&mut self, label: &str, n: usize) {
        *self.failed.entry(label.to_string()).or_default() += n;
    }

    /// E.g. `12 records; 30 events: 4 DDL, 26 DML; 20 printed; 3 heartbeats; 1 record failed
    /// (esdk_bad_tag 1)`.
    pub fn line(&self) -> String {
        use super::summary::count;
        let classes: Vec<String> = ActivityClass::ALL
            .into_iter()
            .filter(|c| self.events.of(*c) > 0)
            .map(|c| format!("{} {}", self.events.of(c), c.as_str()))
            .collect();
        let events = if classes.is_empty() {
            "no events".to_string()
        } else {
            format!(
                "{}: {}",
                count(self.events.events(), "event", "events"),
                classes.join(", ")
            )
        };
        let failed_n: usize = self.failed.values().sum();
        let failed = if failed_n == 0 {
            "0 records failed".to_string()
        } else {
            let why: Vec<String> = self.failed.iter().map(|(l, n)| format!("{l} {n}")).collect();
            format!(
                "{} failed ({})",
                count(failed_n, "record", "records"),
                why.join(", ")
            )
        };
        format!(
            "{}; {events}; {} printed; {}; {failed}",
            count(self.records, "record", "records"),
            self.printed,
            count(self.events.heartbeats, "heartbeat", "heartbeats"),
        )
    }
}

/// A batch of records of one shard.
#[derive(Debug)]
pub struct Batch {
    pub shard_id: String,
    pub records: Vec<KinesisRecord>,
    /// Kinesis's MillisBehindLatest: 0 at the tip of the shard.
    pub millis_behind: Option<i64>,
}

/// Reading failed for a reason outside the records.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ReadError(pub String);

fn sdk_error<E: std::error::Error + 'static>(
    what: &str,
    e: &aws_sdk_kinesis::error::SdkError<E>,
) -> ReadError {
    let detail = match e.as_service_error() {
        Some(service) => service.to_string(),
        None => aws_sdk_kinesis::error::DisplayErrorContext(e).to_string(),
    };
    ReadError(format!("Kinesis {what}: {detail}"))
}

struct ShardState {
    iterator: Option<String>,
    last_sequence: Option<String>,
    next_poll: Instant,
    backoff: Duration,
}

/// Reads every shard of a stream, following splits and merges: the IO shell.
pub struct ShardReader {
    client: aws_sdk_kinesis::Client,
    pub stream_name: String,
    pub stream_arn: String,
    pub region: String,
    from: StartPosition,
    shards: Vec<ShardInfo>,
    active: HashMap<String, ShardState>,
    started: HashSet<String>,
    finished: HashSet<String>,
    listed_at: Instant,
    /// Shards whose last poll found them at their tip with nothing new.
    at_tip: HashSet<String>,
}

impl ShardReader {
    /// Connects (the SDK's usual configuration; AWS_ENDPOINT_URL_KINESIS for an emulator), finds
    /// the stream and lists its shards.
    pub async fn open(stream_name: &str, from: StartPosition) -> Result<ShardReader, ReadError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let region = config.region().map(ToString::to_string).unwrap_or_default();
        let client = aws_sdk_kinesis::Client::new(&config);
        let summary = client
            .describe_stream_summary()
            .stream_name(stream_name)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("stream {stream_name}"), &e))?;
        let stream_arn = summary
            .stream_description_summary()
            .map(|s| s.stream_arn().to_string())
            .unwrap_or_default();
        let mut reader = ShardReader {
            client,
            stream_name: stream_name.to_string(),
            stream_arn,
            region,
            from,
            shards: Vec::new(),
            active: HashMap::new(),
            started: HashSet::new(),
            finished: HashSet::new(),
            listed_at: Instant::now(),
            at_tip: HashSet::new(),
        };
        reader.list_shards().await?;
        let open_only = from == StartPosition::Latest;
        if open_only {
            // Closed shards hold nothing newer than now: their children are read from the start.
            reader
                .finished
                .extend(reader.shards.iter().filter(|s| s.closed).map(|s| s.id.clone()));
        }
        reader.start_ready(open_only).await?;
        Ok(reader)
    }

    async fn list_shards(&mut self) -> Result<(), ReadError> {
        let mut shards = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = match &token {
                Some(t) => self.client.list_shards().next_token(t),
                None => self.client.list_shards().stream_name(&self.stream_name),
            };
            let out = request.send().await.map_err(|e| sdk_error("ListShards", &e))?;
            for s in out.shards() {
                shards.push(ShardInfo {
                    id: s.shard_id().to_string(),
                    parents: s
                        .parent_shard_id()
                        .into_iter()
                        .chain(s.adjacent_parent_shard_id())
                        .map(String::from)
                        .collect(),
                    closed: s
                        .sequence_number_range()
                        .and_then(|r| r.ending_sequence_number())
                        .is_some(),
                });
            }
            token = out.next_token().map(String::from);
            if token.is_none() {
                break;
            }
        }
        self.shards = shards;
        self.listed_at = Instant::now();
        Ok(())
    }

    async fn start_ready(&mut self, first: bool) -> Result<(), ReadError> {
        for id in shards_to_start(&self.shards, &self.started, &self.finished, first) {
            // A child shard (started after its parents ended) is read from its start.
            let position = if first {
                self.from
            } else {
                StartPosition::TrimHorizon
            };
            let iterator = self.iterator(&id, position, None).await?;
            self.started.insert(id.clone());
            self.active.insert(
                id,
                ShardState {
                    iterator,
                    last_sequence: None,
                    next_poll: Instant::now(),
                    backoff: THROTTLE_BACKOFF,
                },
            );
        }
        Ok(())
    }

    async fn iterator(
        &self,
        shard_id: &str,
        from: StartPosition,
        after: Option<&str>,
    ) -> Result<Option<String>, ReadError> {
        let mut request = self
            .client
            .get_shard_iterator()
            .stream_name(&self.stream_name)
            .shard_id(shard_id);
        request = match (after, from) {
            (Some(seq), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(seq),
            (None, StartPosition::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
            (None, StartPosition::TrimHorizon) => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            (None, StartPosition::At(t)) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(aws_sdk_kinesis::primitives::DateTime::from_millis(
                    t.timestamp_millis(),
                )),
        };
        let out = request
            .send()
            .await
            .map_err(|e| sdk_error(&format!("GetShardIterator {shard_id}"), &e))?;
        Ok(out.shard_iterator().map(String::from))
    }

    /// Shards being read now.
    pub fn shards_read(&self) -> usize {
        self.active.len()
    }

    /// True when every shard read so far was at its tip on its last poll (nothing behind).
    pub fn caught_up(&self) -> bool {
        self.active.keys().all(|id| self.at_tip.contains(id))
    }

    /// The next batch of records (possibly empty) of the next shard due for a poll; waits for
    /// it. `None` when every shard has ended (the stream was deleted or shrunk to nothing).
    pub async fn next_batch(&mut self) -> Result<Option<Batch>, ReadError> {
        loop {
            if self.listed_at.elapsed() >= RELIST_INTERVAL {
                self.list_shards().await?;
                self.start_ready(false).await?;
            }
            let Some((id, due)) = self
                .active
                .iter()
                .map(|(id, s)| (id.clone(), s.next_poll))
                .min_by_key(|(_, due)| *due)
            else {
                return Ok(None);
            };
            tokio::time::sleep_until(due).await;
            let Some(state) = self.active.get_mut(&id) else {
                continue;
            };
            let Some(iterator) = state.iterator.clone() else {
                self.end_shard(&id).await?;
                continue;
            };
            let result = self
                .client
                .get_records()
                .shard_iterator(iterator)
                .limit(GET_RECORDS_LIMIT)
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(e) => {
                    let service = e.as_service_error();
                    if service.is_some_and(|s| s.is_provisioned_throughput_exceeded_exception()) {
                        state.next_poll = Instant::now() + state.backoff;
                        state.backoff = (state.backoff * 2).min(MAX_BACKOFF);
                        continue;
                    }
                    if service.is_some_and(|s| s.is_expired_iterator_exception()) {
                        let after = state.last_sequence.clone();
                        let fresh = self.iterator(&id, self.from, after.as_deref()).await?;
                        if let Some(state) = self.active.get_mut(&id) {
                            state.iterator = fresh;
                        }
                        continue;
                    }
                    return Err(sdk_error(&format!("GetRecords {id}"), &e));
                }
            };
            state.backoff = THROTTLE_BACKOFF;
            state.next_poll = Instant::now() + POLL_INTERVAL;
            state.iterator = out.next_shard_iterator().map(String::from);
            let records: Vec<KinesisRecord> = out
                .records()
                .iter()
                .map(|r| KinesisRecord {
                    shard_id: id.clone(),
                    sequence_number: r.sequence_number().to_string(),
                    partition_key: r.partition_key().unwrap_or_default().to_string(),
                    arrival_ms: r.approximate_arrival_timestamp().and_then(|t| t.to_millis().ok()),
                    data: r.data().as_ref().to_vec(),
                })
                .collect();
            if let Some(last) = records.last() {
                state.last_sequence = Some(last.sequence_number.clone());
            }
            let millis_behind = out.millis_behind_latest();
            if records.is_empty() && millis_behind.is_none_or(|m| m == 0) {
                self.at_tip.insert(id.clone());
            } else {
                self.at_tip.remove(&id);
            }
            // A closed shard ends with a null iterator; emulators that never return one have it
            // end at its tip (a closed shard receives no more records).
            let at_tip = self.at_tip.contains(&id);
            let closed = self.shards.iter().any(|s| s.id == id && s.closed);
            if state.iterator.is_none() || (closed && at_tip) {
                self.end_shard(&id).await?;
            }
            return Ok(Some(Batch {
                shard_id: id,
                records,
                millis_behind,
            }));
        }
    }

    /// A shard was read to its end: its children may start (the list is read again for them).
    async fn end_shard(&mut self, id: &str) -> Result<(), ReadError> {
        self.active.remove(id);
        self.at_tip.remove(id);
        self.finished.insert(id.to_string());
        self.list_shards().await?;
        self.start_ready(false).await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn stream_name_from_resource_id_or_name_or_arn() {
        assert_eq!(
            stream_name(None, Some("cluster-ABC123")).unwrap(),
            "aws-rds-das-cluster-ABC123"
        );
        assert_eq!(
            stream_name(Some("aws-rds-das-db-X1"), None).unwrap(),
            "aws-rds-das-db-X1"
        );
        assert_eq!(
            stream_name(Some("arn:aws:kinesis:eu-west-1:1:stream/aws-rds-das-db-X1"), None).unwrap(),
            "aws-rds-das-db-X1"
        );
        assert!(stream_name(None, None).is_err());
        assert!(stream_name(Some("a"), Some("db-X")).is_err());
        assert!(
            stream_name(None, Some("mydb"))
                .unwrap_err()
                .contains("resource id")
        );
        assert!(stream_name(Some("bad name"), None).is_err());
        assert_eq!(resource_id_of("aws-rds-das-db-X1"), Some("db-X1"));
        assert_eq!(resource_id_of("other"), None);
    }

    #[test]
    fn parses_start_positions() {
        assert_eq!("latest".parse::<StartPosition>().unwrap(), StartPosition::Latest);
        assert_eq!(
            "TRIM_HORIZON".parse::<StartPosition>().unwrap(),
            StartPosition::TrimHorizon
        );
        let StartPosition::At(t) = "2026-11-25T16:00:00+01:00".parse::<StartPosition>().unwrap() else {
            panic!("not a time");
        };
        assert_eq!(t.to_rfc3339(), "2026-11-25T15:00:00+00:00");
        assert!("yesterday".parse::<StartPosition>().is_err());
    }

    fn record(seq: &str, data: &[u8]) -> KinesisRecord {
        KinesisRecord {
            shard_id: "shardId-000000000001".into(),
            sequence_number: seq.into(),
            partition_key: "pk".into(),
            arrival_ms: Some(1_664_028_793_294),
            data: data.to_vec(),
        }
    }

    #[test]
    fn invocation_has_the_firehose_kinesis_source_shape() {
        let arn = "arn:aws:kinesis:us-east-1:123:stream/aws-rds-das-db-X1";
        let v = invocation(
            "id-1",
            "us-east-1",
            arn,
            &[record("495", b"{}"), record("496", b"x")],
        );
        assert_eq!(v["sourceKinesisStreamArn"], arn);
        assert_eq!(v["region"], "us-east-1");
        assert!(v["deliveryStreamArn"].as_str().unwrap().contains("placeholder"));
        let r = &v["records"][0];
        assert_eq!(r["data"], "e30=");
        assert_eq!(r["approximateArrivalTimestamp"], 1_664_028_793_294_i64);
        let m = &r["kinesisRecordMetadata"];
        assert_eq!(
            (
                &m["sequenceNumber"],
                &m["subsequenceNumber"],
                &m["partitionKey"],
                &m["shardId"]
            ),
            (
                &json!("495"),
                &json!(0),
                &json!("pk"),
                &json!("shardId-000000000001")
            )
        );
        assert_ne!(v["records"][0]["recordId"], v["records"][1]["recordId"]);
        let event = firehose_event("us-east-1", arn, &[record("495", b"{}")]).unwrap();
        assert_eq!(event.records[0].event_id_prefix(), "495-0");
        assert_eq!(
            event.records[0].arrival_time().unwrap().timestamp_millis(),
            1_664_028_793_294
        );
    }

    fn shard(id: &str, parents: &[&str], closed: bool) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            closed,
        }
    }

    #[test]
    fn children_start_only_after_every_listed_parent_finished() {
        // 0 split into 2 and 3; 1 and 2 merged into 4.
        let shards = [
            shard("0", &[], true),
            shard("1", &[], true),
            shard("2", &["0"], true),
            shard("3", &["0"], false),
            shard("4", &["1", "2"], false),
        ];
        let none = HashSet::new();
        assert_eq!(shards_to_start(&shards, &none, &none, false), ["0", "1"]);
        assert_eq!(shards_to_start(&shards, &none, &none, true), ["3", "4"]);
        let started: HashSet<String> = ["0", "1"].map(String::from).into();
        let mut finished: HashSet<String> = ["0"].map(String::from).into();
        assert_eq!(shards_to_start(&shards, &started, &finished, false), ["2", "3"]);
        let started: HashSet<String> = ["0", "1", "2", "3"].map(String::from).into();
        finished.insert("2".into());
        assert!(shards_to_start(&shards, &started, &finished, false).is_empty());
        finished.insert("1".into());
        assert_eq!(shards_to_start(&shards, &started, &finished, false), ["4"]);
        // A parent past retention is no longer listed: the child starts.
        assert_eq!(
            shards_to_start(&[shard("9", &["gone"], false)], &none, &none, false),
            ["9"]
        );
    }

    #[test]
    fn parses_class_lists_case_insensitively_and_names_the_valid_ones() {
        assert_eq!(
            parse_classes("ddl, DML,auth failure").unwrap(),
            [ActivityClass::Ddl, ActivityClass::Dml, ActivityClass::AuthFailure]
        );
        let e = parse_classes("DDL,SELECT").unwrap_err();
        assert!(e.contains("\"SELECT\"") && e.contains("AUTH_FAILURE"), "{e}");
        assert!(parse_classes(" , ").is_err());
    }

    #[test]
    fn shows_and_filters_an_output_line() {
        let line = br#"{"logTime":"2026-01-01 10:04:37.566412+00","command":"QUERY","commandText":"select\n  1\tfrom t","databaseName":"shop","dbUserName":"app","activityClass":"READ","eventId":"x"}"#;
        let shown = Shown::of_line(line).unwrap();
        assert_eq!(shown.command, "select\n  1\tfrom t");
        let text = text_line(&shown, 100);
        assert!(text.starts_with("2026-01-01 10:04:37.566412+00"), "{text}");
        assert!(
            text.ends_with("READ         app              shop             select 1 from t"),
            "{text}"
        );
        let filter = |classes: Option<Vec<ActivityClass>>, user: Option<&str>| Filter {
            classes,
            user: user.map(String::from),
        };
        assert!(filter(None, None).accepts(&shown));
        assert!(filter(Some(vec![ActivityClass::Read]), Some("app")).accepts(&shown));
        assert!(!filter(Some(vec![ActivityClass::Ddl]), None).accepts(&shown));
        assert!(!filter(None, Some("App")).accepts(&shown));
        // No SQL text: the command.
        let shown = Shown::of_line(br#"{"startTime":"t","command":"CONNECT","commandText":null}"#).unwrap();
        assert_eq!((shown.time.as_str(), shown.command.as_str()), ("t", "CONNECT"));
        assert_eq!(Shown::of_line(b"not json"), None);
    }

    #[test]
    fn one_line_cuts_at_the_width_with_an_ellipsis() {
        assert_eq!(one_line("a\r\n b", 10), "a b");
        assert_eq!(one_line("abcdefgh", 5), "abcd…");
        assert_eq!(one_line("abcde", 5), "abcde");
        assert_eq!(one_line("ééééé é", 6), "ééééé…");
        assert!(text_line(&Shown::default(), 10).chars().count() <= 29 + 12 + 16 + 16 + 4 + 20);
    }

    #[test]
    fn summary_counts_classes_heartbeats_and_failures_by_label() {
        let mut s = TailStats {
            records: 3,
            printed: 2,
            ..TailStats::default()
        };
        s.events.count(ActivityClass::Ddl);
        s.events.count(ActivityClass::Ddl);
        s.events.heartbeats = 1;
        s.fail("esdk_bad_tag", 1);
        assert_eq!(
            s.line(),
            "3 records; 2 events: 2 DDL; 2 printed; 1 heartbeat; 1 record failed (esdk_bad_tag 1)"
        );
        assert_eq!(
            TailStats::default().line(),
            "0 records; no events; 0 printed; 0 heartbeats; 0 records failed"
        );
    }
}
