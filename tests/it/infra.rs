//! infra/template.yaml against the crate's own values and infra/athena/*.sql: the S3 prefix
//! uses exactly the partition keys the Lambda returns and is the layout `dasp transform
//! --s3-layout` writes; the Glue table's class enum is every class the classifier returns plus
//! MIXED and the table is create_table.sql; the named queries are the .sql files; the KMS
//! condition key is the encryption-context key the code sends; the DASP_* settings and their
//! defaults are the ones the code reads; the EMF alarms name metrics the Lambda emits.
//!
//! The template is parsed with CloudFormation's short tags (`!Sub`, `!If`...) as YAML tags;
//! a tiny evaluator resolves `Ref`, `Sub`, `If`, `Equals`, `Select`, `Split` with sample
//! parameter values.

// Every crate item this module compares the template with, in one place: a rename in src/ is
// a change here only.
use das_partitioner::classify::ActivityClass;
use das_partitioner::cli::s3_layout::{DATA_PREFIX, ERROR_PREFIX, objects as local_s3_objects};
use das_partitioner::config::Config;
use das_partitioner::keys::{KeyContext, resource_id_from_stream_arn};
use das_partitioner::output::metrics::{Metrics, NAMESPACE};
use das_partitioner::output::partition::{MIXED, PartitionKeys};

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use yaml_serde::Value;

const CLUSTER: &str = "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const INSTANCE: &str = "db-ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    yaml_serde::from_str(&text).unwrap()
}

/// `map[k1][k2]...`, panicking with the path when absent.
fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| {
        v.get(*k)
            .unwrap_or_else(|| panic!("template: no {k:?} in path {path:?}"))
    })
}

fn resource<'a>(t: &'a Value, name: &str) -> &'a Value {
    at(t, &["Resources", name, "Properties"])
}

fn resources_of_type<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    at(t, &["Resources"])
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
        .map(|(name, r)| (name.as_str().unwrap(), r))
        .collect()
}

/// An intrinsic function as (name, argument): `!Sub x` and `{"Fn::Sub": x}` alike; `Ref` too.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            let k = k.as_str()?;
            match k {
                "Ref" => Some(("Ref".to_string(), arg)),
                _ => k.strip_prefix("Fn::").map(|f| (f.to_string(), arg)),
            }
        }
        _ => None,
    }
}

/// Sample stack: parameter values plus pseudo parameters.
struct Stack {
    params: HashMap<String, String>,
}

impl Stack {
    fn new(template: &Value, resource_id: &str) -> Stack {
        let mut params: HashMap<String, String> = at(template, &["Parameters"])
            .as_mapping()
            .unwrap()
            .iter()
            .filter_map(|(k, p)| Some((k.as_str()?.to_string(), scalar(p.get("Default")?))))
            .collect();
        params.insert("ResourceId".into(), resource_id.into());
        params.insert(
            "DasKmsKeyArn".into(),
            "arn:aws:kms:us-east-1:123456789012:key/k".into(),
        );
        params.insert("AWS::Partition".into(), "aws".into());
        params.insert("AWS::Region".into(), "us-east-1".into());
        params.insert("AWS::AccountId".into(), "123456789012".into());
        params.insert("AWS::StackName".into(), "das-test".into());
        params.insert("ArchiveBucket".into(), "archive-bucket".into());
        params.insert(
            "FunctionRole.Arn".into(),
            "arn:aws:iam::123456789012:role/r".into(),
        );
        Stack { params }
    }

    fn condition(&self, template: &Value, name: &str) -> bool {
        self.truth(template, at(template, &["Conditions", name]))
    }

    fn truth(&self, template: &Value, v: &Value) -> bool {
        let (f, arg) = intrinsic(v).unwrap_or_else(|| panic!("not a condition: {v:?}"));
        let args = || arg.as_sequence().unwrap();
        match f.as_str() {
            "Equals" => self.string(template, &args()[0]) == self.string(template, &args()[1]),
            "Not" => !self.truth(template, &args()[0]),
            "And" => args().iter().all(|a| self.truth(template, a)),
            "Or" => args().iter().any(|a| self.truth(template, a)),
            "Condition" => self.condition(template, arg.as_str().unwrap()),
            other => panic!("unsupported condition function {other}"),
        }
    }

    /// Evaluates a value that must come out as one string.
    fn string(&self, template: &Value, v: &Value) -> String {
        match self.eval(template, v) {
            Value::String(s) => s,
            other => scalar(&other),
        }
    }

    fn eval(&self, template: &Value, v: &Value) -> Value {
        let Some((f, arg)) = intrinsic(v) else {
            return v.clone();
        };
        let seq = || arg.as_sequence().unwrap();
        match f.as_str() {
            "Ref" => Value::String(self.param(arg.as_str().unwrap())),
            "Sub" => {
                let (text, vars) = match arg {
                    Value::Sequence(s) => (s[0].as_str().unwrap(), Some(&s[1])),
                    _ => (arg.as_str().unwrap(), None),
                };
                Value::String(sub(text, |name| match vars.and_then(|m| m.get(name)) {
                    Some(local) => self.string(template, local),
                    None => self.param(name),
                }))
            }
            "If" => {
                let branch = if self.condition(template, seq()[0].as_str().unwrap()) {
                    1
                } else {
                    2
                };
                self.eval(template, &seq()[branch])
            }
            "Select" => {
                let i: usize = scalar(&seq()[0]).parse().unwrap();
                match self.eval(template, &seq()[1]) {
                    Value::Sequence(items) => items[i].clone(),
                    other => panic!("Select over {other:?}"),
                }
            }
            "Split" => {
                let delimiter = seq()[0].as_str().unwrap();
                let text = self.string(template, &seq()[1]);
                Value::Sequence(text.split(delimiter).map(|s| Value::String(s.into())).collect())
            }
            other => panic!("unsupported function {other}"),
        }
    }

    fn param(&self, name: &str) -> String {
        self.params
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("no value for {name} in the sample stack"))
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// `${Name}` substitution as Fn::Sub does it; `${!x}` is the literal `${x}`.
fn sub(text: &str, mut var: impl FnMut(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let name = &rest[start + 2..end];
        match name.strip_prefix('!') {
            Some(literal) => out.push_str(&format!("${{{literal}}}")),
            None => out.push_str(&var(name)),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Firehose's `!{namespace:name}` expressions of a prefix, in order.
fn expressions(prefix: &str) -> Vec<(String, String)> {
    prefix
        .split("!{")
        .skip(1)
        .map(|part| {
            let expr = &part[..part.find('}').unwrap()];
            let (ns, name) = expr.split_once(':').unwrap();
            (ns.to_string(), name.to_string())
        })
        .collect()
}

/// A Firehose prefix with its expressions replaced.
fn render(prefix: &str, mut value: impl FnMut(&str, &str) -> String) -> String {
    let mut out = String::new();
    let mut rest = prefix;
    while let Some(start) = rest.find("!{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let (ns, name) = rest[start + 2..end].split_once(':').unwrap();
        out.push_str(&value(ns, name));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// `!{timestamp:yyyy/MM/dd/HH}`'s Java pattern as chrono's.
fn java_time(pattern: &str, t: DateTime<Utc>) -> String {
    let strftime = pattern
        .replace("yyyy", "%Y")
        .replace("MM", "%m")
        .replace("dd", "%d")
        .replace("HH", "%H");
    t.format(&strftime).to_string()
}

fn s3_destination(t: &Value) -> &Value {
    at(
        resource(t, "DeliveryStream"),
        &["ExtendedS3DestinationConfiguration"],
    )
}

fn prefix(t: &Value) -> String {
    scalar(at(s3_destination(t), &["Prefix"]))
}

fn error_prefix(t: &Value) -> String {
    scalar(at(s3_destination(t), &["ErrorOutputPrefix"]))
}

fn sample_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-02-03T04:05:06Z")
        .unwrap()
        .into()
}

fn lambda_keys() -> HashMap<String, String> {
    PartitionKeys::new(ActivityClass::Ddl.as_str(), CLUSTER, sample_time())
        .pairs()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn table_input(t: &Value) -> &Value {
    at(resource(t, "DasEventsTable"), &["TableInput"])
}

fn projection(t: &Value, key: &str) -> String {
    scalar(at(table_input(t), &["Parameters", key]))
}

// --- the S3 layout --------------------------------------------------------------------------

#[test]
fn prefix_references_exactly_the_partition_keys_the_lambda_returns() {
    let t = template();
    let prefix = prefix(&t);
    let mut in_prefix = BTreeSet::new();
    for (ns, name) in expressions(&prefix) {
        assert_eq!(
            ns, "partitionKeyFromLambda",
            "prefix {prefix}: only Lambda keys (event time)"
        );
        assert!(in_prefix.insert(name.clone()), "prefix {prefix}: {name} twice");
    }
    let returned: BTreeSet<String> = lambda_keys().into_keys().collect();
    assert_eq!(in_prefix, returned, "S3 Prefix keys vs partition_keys()");
    // Hive layout: every level is `<key>=<value>`, so the partition column is the key's name.
    let levels: Vec<&str> = prefix.trim_end_matches('/').split('/').collect();
    assert_eq!(levels[0], DATA_PREFIX);
    for level in &levels[1..] {
        let (column, value) = level.split_once('=').unwrap();
        assert_eq!(value, format!("!{{partitionKeyFromLambda:{column}}}"));
    }
}

#[test]
fn error_prefix_is_the_local_layout_and_has_the_error_type() {
    let t = template();
    let error_prefix = error_prefix(&t);
    let kinds: Vec<(String, String)> = expressions(&error_prefix);
    assert!(
        kinds.contains(&("firehose".into(), "error-output-type".into())),
        "{error_prefix}"
    );
    assert!(
        kinds.iter().all(|(ns, _)| ns != "partitionKeyFromLambda"),
        "not allowed there"
    );
    assert!(error_prefix.starts_with(&format!("{ERROR_PREFIX}/")));
}

/// `dasp transform --s3-layout` (s3_layout::objects) writes exactly the directories the
/// template's Prefix and ErrorOutputPrefix produce for the responses of the fixture invocations.
#[tokio::test]
async fn dasp_s3_layout_is_the_layout_of_the_template_prefixes() {
    let t = template();
    let (prefix, error_prefix) = (prefix(&t), error_prefix(&t));
    let (mut ok, mut failed) = (0, 0);
    for engine in crate::handler::ENGINES {
        let event = crate::handler::event(engine);
        // The local layout dates an invocation by its earliest record arrival (so a re-run
        // replaces its objects); Firehose uses the delivery time.
        let now = event
            .records
            .iter()
            .filter_map(|r| r.arrival_time())
            .min()
            .unwrap();
        let run = crate::handler::run(engine, Config::default()).await;
        let mut want = BTreeSet::new();
        for record in crate::handler::records(&run.response) {
            let keys = &record["metadata"]["partitionKeys"];
            match record["result"].as_str() {
                Some("Ok") => {
                    ok += 1;
                    want.insert(render(&prefix, |ns, name| {
                        assert_eq!(ns, "partitionKeyFromLambda");
                        keys[name]
                            .as_str()
                            .unwrap_or_else(|| panic!("{engine}: the Lambda returned no {name}"))
                            .to_string()
                    }));
                }
                Some("ProcessingFailed") => {
                    failed += 1;
                    want.insert(render(&error_prefix, |ns, name| match (ns, name) {
                        ("firehose", "error-output-type") => "processing-failed".into(),
                        ("timestamp", pattern) => java_time(pattern, now),
                        other => panic!("unexpected {other:?}"),
                    }));
                }
                _ => {}
            }
        }
        let got: BTreeSet<String> = local_s3_objects(&event, &run.invocation.outcomes, now)
            .into_iter()
            .map(|(key, _)| {
                let dir = key.parent().unwrap().to_str().unwrap().replace('\\', "/");
                format!("{dir}/")
            })
            .collect();
        assert_eq!(
            got, want,
            "{engine}: dasp --s3-layout directories vs the template's prefixes"
        );
    }
    assert!(ok > 0 && failed > 0, "the fixtures must exercise both prefixes");
}

// --- Glue and Athena --------------------------------------------------------------------------

#[test]
fn activity_class_enum_is_every_class_plus_mixed() {
    let t = template();
    assert_eq!(projection(&t, "projection.activity_class.type"), "enum");
    let values = projection(&t, "projection.activity_class.values");
    let got: Vec<&str> = values.split(',').collect();
    let mut want: Vec<&str> = ActivityClass::ALL.iter().map(|c| c.as_str()).collect();
    want.push(MIXED);
    assert_eq!(
        got, want,
        "projection.activity_class.values vs ActivityClass::ALL + MIXED"
    );
}

#[test]
fn resource_id_is_an_enum_of_the_stacks_resource_ids() {
    let t = template();
    assert_eq!(
        projection(&t, "projection.resource_id.type"),
        "enum",
        "not injected"
    );
    let values = at(table_input(&t), &["Parameters", "projection.resource_id.values"]);
    let mut stack = Stack::new(&t, CLUSTER);
    assert_eq!(stack.string(&t, values), CLUSTER);
    stack
        .params
        .insert("TableExtraResourceIds".into(), format!("{INSTANCE},db-OTHER"));
    assert_eq!(stack.string(&t, values), format!("{CLUSTER},{INSTANCE},db-OTHER"));
}

#[test]
fn time_projections_match_the_lambdas_zero_padded_keys() {
    let t = template();
    let keys = lambda_keys();
    assert_eq!(projection(&t, "projection.year.type"), "date");
    assert_eq!(
        projection(&t, "projection.year.format"),
        "y".repeat(keys["year"].len())
    );
    for (column, range) in [("month", "1,12"), ("day", "1,31"), ("hour", "0,23")] {
        assert_eq!(projection(&t, &format!("projection.{column}.type")), "integer");
        assert_eq!(projection(&t, &format!("projection.{column}.range")), range);
        let digits = projection(&t, &format!("projection.{column}.digits"));
        assert_eq!(
            digits,
            keys[column].len().to_string(),
            "{column}: digits vs the key's width"
        );
    }
}

/// create_table.sql, parsed the way samples/report.py reads it.
struct Ddl {
    columns: Vec<(String, String)>,
    partitions: Vec<(String, String)>,
    location: String,
    serde: String,
    properties: BTreeMap<String, String>,
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let rest = &text[text.find(marker).unwrap_or_else(|| panic!("no {marker}")) + marker.len()..];
    let start = rest.find('\'').unwrap() + 1;
    &rest[start..start + rest[start..].find('\'').unwrap()]
}

fn ddl() -> Ddl {
    let sql = std::fs::read_to_string(root().join("infra/athena/create_table.sql")).unwrap();
    let body: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let block = |marker: &str| -> Vec<(String, String)> {
        let start = body.find(marker).unwrap() + marker.len();
        let open = body[start..].find('(').unwrap() + start + 1;
        let close = body[open..].find("\n)").unwrap() + open;
        body[open..close]
            .lines()
            .filter_map(|l| {
                let mut words = l.trim().trim_end_matches(',').split_whitespace();
                Some((words.next()?.to_lowercase(), words.next()?.to_lowercase()))
            })
            .collect()
    };
    let props_start = body.find("TBLPROPERTIES").unwrap();
    let properties = body[props_start..]
        .lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            let (k, v) = l.split_once(" = ")?;
            Some((k.trim_matches('\'').to_string(), v.trim_matches('\'').to_string()))
        })
        .collect();
    Ddl {
        columns: block("CREATE EXTERNAL TABLE IF NOT EXISTS das_events"),
        partitions: block("PARTITIONED BY"),
        location: quoted_after(&body, "LOCATION").to_string(),
        serde: quoted_after(&body, "ROW FORMAT SERDE").to_string(),
        properties,
    }
}

fn glue_columns(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .unwrap()
        .iter()
        .map(|c| {
            (
                scalar(at(c, &["Name"])).to_lowercase(),
                scalar(at(c, &["Type"])).to_lowercase(),
            )
        })
        .collect()
}

#[test]
fn glue_table_is_create_table_sql() {
    let t = template();
    let ddl = ddl();
    let input = table_input(&t);
    let storage = at(input, &["StorageDescriptor"]);
    assert_eq!(
        glue_columns(at(storage, &["Columns"])),
        ddl.columns,
        "data columns"
    );
    assert_eq!(
        glue_columns(at(input, &["PartitionKeys"])),
        ddl.partitions,
        "partition columns"
    );
    assert_eq!(
        scalar(at(storage, &["SerdeInfo", "SerializationLibrary"])),
        ddl.serde
    );

    // BUCKET is the archive bucket; the table covers the Lambda's data prefix.
    let stack = Stack::new(&t, CLUSTER);
    let location = stack.string(&t, at(storage, &["Location"]));
    assert_eq!(
        location,
        ddl.location.replace("BUCKET", &stack.param("ArchiveBucket"))
    );
    assert!(location.ends_with(&format!("/{DATA_PREFIX}/")), "{location}");

    // TBLPROPERTIES, RESOURCE_IDS being the stack's resource ids.
    let params = at(input, &["Parameters"]).as_mapping().unwrap();
    let mut got: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| (scalar(k), stack.string(&t, v)))
        .collect();
    got.remove("EXTERNAL");
    let want: BTreeMap<String, String> = ddl
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.replace("RESOURCE_IDS", CLUSTER)))
        .collect();
    assert_eq!(got, want, "TableInput.Parameters vs TBLPROPERTIES");
    // The partition columns are the prefix's levels, in order.
    let levels: Vec<String> = prefix(&t)
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(|l| l.split_once('=').unwrap().0.to_string())
        .collect();
    let partition_names: Vec<String> = ddl.partitions.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(levels, partition_names);
}

#[test]
fn named_queries_are_the_athena_files() {
    let t = template();
    let mut want = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("infra/athena")).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        if path.extension().is_some_and(|e| e == "sql") && stem != "create_table" {
            want.insert(
                stem,
                std::fs::read_to_string(&path).unwrap().trim_end().to_string(),
            );
        }
    }
    let got: BTreeMap<String, String> = resources_of_type(&t, "AWS::Athena::NamedQuery")
        .into_iter()
        .map(|(_, r)| {
            let p = at(r, &["Properties"]);
            (
                scalar(at(p, &["Name"])),
                scalar(at(p, &["QueryString"])).trim_end().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "run scripts/sync-athena-queries.py"
    );
    for (name, sql) in &want {
        assert!(
            got[name] == *sql,
            "{name}: template differs from the .sql file; run scripts/sync-athena-queries.py"
        );
    }
}

// --- IAM and KMS ------------------------------------------------------------------------------

fn das_key_statement(t: &Value, stack: &Stack) -> Value {
    let policies = at(resource(t, "FunctionRole"), &["Policies"])
        .as_sequence()
        .unwrap();
    let policy = policies
        .iter()
        .find(|p| scalar(at(p, &["PolicyName"])) == "das-key")
        .unwrap();
    let statements = at(policy, &["PolicyDocument", "Statement"])
        .as_sequence()
        .unwrap();
    assert_eq!(statements.len(), 1);
    stack.eval(t, &statements[0])
}

#[test]
fn kms_condition_key_is_the_context_the_code_sends() {
    let t = template();
    for id in [CLUSTER, INSTANCE] {
        let stack = Stack::new(&t, id);
        let statement = das_key_statement(&t, &stack);
        assert_eq!(scalar(at(&statement, &["Action"])), "kms:Decrypt");
        assert_eq!(
            stack.string(&t, at(&statement, &["Resource"])),
            stack.param("DasKmsKeyArn")
        );
        let conditions = at(&statement, &["Condition"]).as_mapping().unwrap();
        assert_eq!(conditions.len(), 1);
        let equals = at(&statement, &["Condition", "StringEquals"])
            .as_mapping()
            .unwrap();
        let (key, value) = equals.iter().next().unwrap();
        let context = KeyContext::for_resource(id).unwrap();
        assert_eq!(equals.len(), 1);
        assert_eq!(
            scalar(key),
            format!("kms:EncryptionContext:{}", context.key),
            "{id}"
        );
        assert_eq!(stack.string(&t, value), context.resource_id);

        // The key-policy statement the stack prints for a customer-managed key says the same.
        let output = stack.string(&t, at(&t, &["Outputs", "DasKeyPolicyStatement", "Value"]));
        let output: Json = serde_json::from_str(&output).unwrap();
        let want = serde_json::json!({ format!("kms:EncryptionContext:{}", context.key): id });
        assert_eq!(output["Condition"]["StringEquals"], want);
    }
}

#[test]
fn firehose_reads_the_das_stream_of_the_resource() {
    let t = template();
    for id in [CLUSTER, INSTANCE] {
        let stack = Stack::new(&t, id);
        let source = at(
            resource(&t, "DeliveryStream"),
            &["KinesisStreamSourceConfiguration"],
        );
        let arn = stack.string(&t, at(source, &["KinesisStreamARN"]));
        assert_eq!(resource_id_from_stream_arn(&arn), Some(id), "{arn}");
        let policies = at(resource(&t, "FirehoseRole"), &["Policies"])
            .as_sequence()
            .unwrap();
        let read = policies
            .iter()
            .find(|p| scalar(at(p, &["PolicyName"])) == "read-das-stream")
            .unwrap();
        let statement = &at(read, &["PolicyDocument", "Statement"]).as_sequence().unwrap()[0];
        assert_eq!(stack.string(&t, at(statement, &["Resource"])), arn);
    }
}

// --- Lambda settings and metrics ------------------------------------------------------------

#[test]
fn dasp_settings_are_the_variables_the_code_reads_with_its_defaults() {
    let t = template();
    let stack = Stack::new(&t, CLUSTER);
    let variables = at(resource(&t, "Function"), &["Environment", "Variables"]);
    let env: HashMap<String, String> = variables
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (scalar(k), stack.string(&t, v)))
        .collect();
    let config = Config::from_lookup(|name| env.get(name).cloned()).unwrap();
    // The parameters' defaults are the code's defaults (except the resource and the users).
    let want = Config {
        resource_id: Some(CLUSTER.to_string()),
        excluded_users: config.excluded_users.clone(),
        ..Config::default()
    };
    assert_eq!(config, want, "parameter defaults vs Config::default()");
    // The code reads every DASP_* variable the template sets: a bad value is rejected by name.
    for name in env.keys().filter(|n| n.starts_with("DASP_")) {
        if name == "DASP_EXCLUDED_USERS" {
            let mut bad = env.clone();
            bad.insert(name.clone(), "someone".into());
            let config = Config::from_lookup(|n| bad.get(n).cloned()).unwrap();
            assert!(config.is_excluded(Some("SOMEONE")), "{name} is not read");
            continue;
        }
        let mut bad = env.clone();
        bad.insert(name.clone(), "not-valid".into());
        let err = Config::from_lookup(|n| bad.get(n).cloned()).unwrap_err();
        assert_eq!(err.name, name.as_str(), "{name} is not read by Config");
    }
}

#[test]
fn emf_alarms_watch_metrics_the_lambda_emits() {
    let t = template();
    let stack = Stack::new(&t, CLUSTER);
    let metrics = Metrics {
        resource_id: CLUSTER.to_string(),
        ..Metrics::default()
    };
    let line: Json = serde_json::from_str(&metrics.to_emf(0)).unwrap();
    let directive = &line["_aws"]["CloudWatchMetrics"][0];
    let emitted_dimensions: Vec<&str> = directive["Dimensions"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap())
        .collect();
    let emitted: BTreeSet<&str> = directive["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    let mut watched = 0;
    for (name, alarm) in resources_of_type(&t, "AWS::CloudWatch::Alarm") {
        let p = at(alarm, &["Properties"]);
        if p.get("Namespace").and_then(Value::as_str) != Some(NAMESPACE) {
            continue;
        }
        watched += 1;
        let metric = scalar(at(p, &["MetricName"]));
        assert!(
            emitted.contains(metric.as_str()),
            "{name}: {metric} is not emitted"
        );
        // An alarm matches a metric only with exactly the dimension set it is emitted with.
        let dimensions = at(p, &["Dimensions"]).as_sequence().unwrap();
        let names: Vec<String> = dimensions.iter().map(|d| scalar(at(d, &["Name"]))).collect();
        assert_eq!(names, emitted_dimensions, "{name}: dimension names");
        for dimension in dimensions {
            let key = scalar(at(dimension, &["Name"]));
            let value = stack.string(&t, at(dimension, &["Value"]));
            assert_eq!(line[&key], value.as_str(), "{name}: dimension {key}");
        }
    }
    assert!(watched > 0, "no alarm on the Lambda's EMF metrics");
}
