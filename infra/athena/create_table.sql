-- das_events: the events the das-partitioner Lambda wrote through Firehose dynamic partitioning.
--
-- Layout: s3://BUCKET/das/activity_class=X/resource_id=Y/year=YYYY/month=MM/day=DD/hour=HH/<objects>
-- Objects hold JSON lines (optionally .gz): each line is one DAS event as the database emitted it,
-- plus activityClass, clusterId, instanceId, eventId and dasVersion added by the Lambda. If the
-- event had one of these keys itself, its value is kept as source_<key> (README, "What a record
-- becomes"), so each line has exactly one of each.
-- Records the Lambda rejected land under s3://BUCKET/das-errors/, outside this table.
--
-- The stack (infra/template.yaml) creates this table as the AWS::Glue::Table DasEventsTable,
-- with the placeholders filled in:
--   BUCKET        the archive bucket the first stack creates (its output ArchiveBucketName)
--   RESOURCE_IDS  that stack's ResourceId plus its TableExtraResourceIds parameter: the
--                 resource ids (cluster-... / db-...) of the databases whose stacks write into
--                 the same bucket; update TableExtraResourceIds when a database is added.
-- tests/it/infra.rs fails when this file and the template differ. Run it by hand (placeholders
-- replaced) only for a bucket no stack manages. samples/report.py reads its column lists for
-- the local demo's DuckDB view.
--
-- Columns:
-- * DAS field types differ across engines (exitCode is null, an int or a string; statementId
--   an int or a hex string; sessionId, transactionId likewise), so those are declared string:
--   the Hive JSON SerDe keeps a JSON number as its text ("0", "1045", "42P01").
-- * Names are case-insensitive: the SerDe lowercases JSON keys (Athena shows dbusername).
-- * engineNativeAuditFields (Oracle, SQL Server) has an open set of keys and value types; it is
--   not declared (the SerDe skips undeclared keys) and stays available in the objects.
-- * Partition columns repeat no data column name (activity_class vs activityClass).
--
-- Partition projection (no crawler, no MSCK REPAIR): classes are the Lambda's fixed set plus
-- MIXED (a DAS record whose events span several classes: one record maps to one prefix);
-- year is a date projection up to NOW; month/day/hour are zero-padded integers. The default
-- Hive key=value layout under LOCATION is used, so no storage.location.template is needed.
-- Filter on year/month/day in queries over large tables: without it Athena lists every
-- projected partition.
CREATE EXTERNAL TABLE IF NOT EXISTS das_events (
  logTime string,
  type string,
  class string,
  command string,
  commandText string,
  objectType string,
  objectName string,
  dbUserName string,
  databaseName string,
  exitCode string,
  errorMessage string,
  rowCount bigint,
  paramList array<string>,
  statementId string,
  substatementId bigint,
  sessionId string,
  transactionId string,
  startTime string,
  endTime string,
  clientApplication string,
  pid bigint,
  remoteHost string,
  remotePort string,
  serverHost string,
  serverType string,
  serverVersion string,
  serviceName string,
  dbProtocol string,
  netProtocol string,
  dbid string,
  activityClass string,
  clusterId string,
  instanceId string,
  eventId string,
  dasVersion string
)
PARTITIONED BY (
  activity_class string,
  resource_id string,
  year string,
  month int,
  day int,
  hour int
)
ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'
STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'
OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'
LOCATION 's3://BUCKET/das/'
TBLPROPERTIES (
  'projection.enabled' = 'true',
  'projection.activity_class.type' = 'enum',
  'projection.activity_class.values' = 'DDL,DML,READ,CONNECT,DISCONNECT,ERROR,AUTH_FAILURE,OTHER,MIXED',
  'projection.resource_id.type' = 'enum',
  'projection.resource_id.values' = 'RESOURCE_IDS',
  'projection.year.type' = 'date',
  'projection.year.format' = 'yyyy',
  'projection.year.range' = '2024,NOW',
  'projection.year.interval' = '1',
  'projection.year.interval.unit' = 'YEARS',
  'projection.month.type' = 'integer',
  'projection.month.range' = '1,12',
  'projection.month.digits' = '2',
  'projection.day.type' = 'integer',
  'projection.day.range' = '1,31',
  'projection.day.digits' = '2',
  'projection.hour.type' = 'integer',
  'projection.hour.range' = '0,23',
  'projection.hour.digits' = '2'
)
