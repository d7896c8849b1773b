//! Configuration from environment variables, validated once at start.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `DASP_RESOURCE_ID` | database resource id (`cluster-…` or `db-…`) for the KMS encryption context; overrides the id in the Kinesis stream name | from `sourceKinesisStreamArn` |
//! | `DASP_EXCLUDED_USERS` | comma list of database users whose events are dropped (case-insensitive) | none |
//! | `DASP_MAX_INFLATED_BYTES` | cap on one record's gunzipped payload | 67108864 |
//! | `DASP_RESPONSE_BUDGET_BYTES` | cap on the serialized Firehose response (≤ 6291556) | 6000000 |
//! | `DASP_KMS_CONCURRENCY` | distinct data keys decrypted at once | 8 |
//! | `DASP_KMS_CACHE_SIZE` | decrypted data keys kept between invocations | 1024 |
//! | `DASP_KMS_ATTEMPT_TIMEOUT_MS` | longest one KMS Decrypt attempt may take (then a transient timeout) | 3000 |
//! | `DASP_KMS_RETRY_BUDGET_MS` | longest an invocation retries one data key's transient KMS faults (the Lambda also stops 3 s before its deadline) | 20000 |

use crate::keys::{KeyContext, RetryPolicy};
use crate::limits::{self, Limits};
use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::time::Duration;

/// Every variable [`Config::from_env`] reads.
pub const VARIABLES: &[&str] = &[
    "DASP_RESOURCE_ID",
    "DASP_EXCLUDED_USERS",
    "DASP_MAX_INFLATED_BYTES",
    "DASP_RESPONSE_BUDGET_BYTES",
    "DASP_KMS_CONCURRENCY",
    "DASP_KMS_CACHE_SIZE",
    "DASP_KMS_ATTEMPT_TIMEOUT_MS",
    "DASP_KMS_RETRY_BUDGET_MS",
];

/// A configuration problem, with the variable's name and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name}={value:?}: {hint}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub hint: &'static str,
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub resource_id: Option<String>,
    /// Lower-case user names.
    pub excluded_users: BTreeSet<String>,
    pub limits: Limits,
    pub kms_concurrency: NonZeroUsize,
    pub kms_cache_size: NonZeroUsize,
    /// Timeouts and retries of KMS Decrypt (`DASP_KMS_ATTEMPT_TIMEOUT_MS`,
    /// `DASP_KMS_RETRY_BUDGET_MS`; the backoff is fixed in `limits.rs`).
    pub kms_retry: RetryPolicy,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            resource_id: None,
            excluded_users: BTreeSet::new(),
            limits: Limits::default(),
            kms_concurrency: NonZeroUsize::new(limits::DEFAULT_KMS_CONCURRENCY).unwrap_or(NonZeroUsize::MIN),
            kms_cache_size: NonZeroUsize::new(limits::DEFAULT_KMS_CACHE_SIZE).unwrap_or(NonZeroUsize::MIN),
            kms_retry: RetryPolicy::default(),
        }
    }
}

fn millis(ms: usize) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup` (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut config = Config::default();
        if let Some(id) = get("DASP_RESOURCE_ID") {
            if KeyContext::for_resource(&id).is_none() {
                return Err(ConfigError {
                    name: "DASP_RESOURCE_ID",
                    value: id,
                    hint: "expected the DbClusterResourceId (cluster-…) or DbiResourceId (db-…) of the database",
                });
            }
            config.resource_id = Some(id);
        }
        if let Some(users) = get("DASP_EXCLUDED_USERS") {
            config.excluded_users = users
                .split(',')
                .map(|u| u.trim().to_lowercase())
                .filter(|u| !u.is_empty())
                .collect();
        }
        let number = |name: &'static str, min: usize, max: usize, hint: &'static str| match get(name) {
            None => Ok(None),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
                _ => Err(ConfigError { name, value: v, hint }),
            },
        };
        if let Some(n) = number(
            "DASP_MAX_INFLATED_BYTES",
            1024,
            1 << 30,
            "expected a byte count from 1024 to 1073741824",
        )? {
            config.limits.max_inflated_bytes = n;
        }
        if let Some(n) = number(
            "DASP_RESPONSE_BUDGET_BYTES",
            65_536,
            limits::FIREHOSE_RESPONSE_LIMIT,
            "expected a byte count from 65536 to 6291556 (Firehose's response limit)",
        )? {
            config.limits.response_budget_bytes = n;
        }
        if let Some(n) = number("DASP_KMS_CONCURRENCY", 1, 64, "expected a number from 1 to 64")? {
            config.kms_concurrency = NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        }
        if let Some(n) = number(
            "DASP_KMS_CACHE_SIZE",
            1,
            100_000,
            "expected a number from 1 to 100000",
        )? {
            config.kms_cache_size = NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN);
        }
        if let Some(ms) = number(
            "DASP_KMS_ATTEMPT_TIMEOUT_MS",
            100,
            60_000,
            "expected milliseconds from 100 to 60000",
        )? {
            config.kms_retry.attempt_timeout = millis(ms);
        }
        if let Some(ms) = number(
            "DASP_KMS_RETRY_BUDGET_MS",
            0,
            900_000,
            "expected milliseconds from 0 (no retries) to 900000",
        )? {
            config.kms_retry.budget = millis(ms);
        }
        Ok(config)
    }

    pub fn is_excluded(&self, user: Option<&str>) -> bool {
        match user {
            Some(u) if !self.excluded_users.is_empty() => self.excluded_users.contains(&u.to_lowercase()),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_when_nothing_is_set_are_the_documented_ones() {
        // The values of the README's configuration table, written out: not `Config::default()`,
        // which would compare the code with itself.
        let c = from(&[("DASP_EXCLUDED_USERS", " , ")]).unwrap();
        assert_eq!(c.resource_id, None);
        assert!(c.excluded_users.is_empty());
        assert_eq!(c.limits.max_inflated_bytes, 67_108_864);
        assert_eq!(c.limits.response_budget_bytes, 6_000_000);
        assert_eq!(c.kms_concurrency.get(), 8);
        assert_eq!(c.kms_cache_size.get(), 1024);
        assert_eq!(c.kms_retry.attempt_timeout, Duration::from_millis(3000));
        assert_eq!(c.kms_retry.budget, Duration::from_millis(20_000));
    }

    #[test]
    fn parses_every_variable() {
        let c = from(&[
            ("DASP_RESOURCE_ID", "db-ABC"),
            ("DASP_EXCLUDED_USERS", " rdsadmin, RDSSEC ,,"),
            ("DASP_MAX_INFLATED_BYTES", "2048"),
            ("DASP_RESPONSE_BUDGET_BYTES", "100000"),
            ("DASP_KMS_CONCURRENCY", "3"),
            ("DASP_KMS_CACHE_SIZE", "5"),
            ("DASP_KMS_ATTEMPT_TIMEOUT_MS", "250"),
            ("DASP_KMS_RETRY_BUDGET_MS", "0"),
        ])
        .unwrap();
        assert_eq!(c.resource_id.as_deref(), Some("db-ABC"));
        assert!(c.is_excluded(Some("RdsAdmin")) && c.is_excluded(Some("rdssec")));
        assert!(!c.is_excluded(Some("app")) && !c.is_excluded(None));
        assert_eq!(c.limits.max_inflated_bytes, 2048);
        assert_eq!(c.limits.response_budget_bytes, 100_000);
        assert_eq!((c.kms_concurrency.get(), c.kms_cache_size.get()), (3, 5));
        assert_eq!(c.kms_retry.attempt_timeout, Duration::from_millis(250));
        assert_eq!(c.kms_retry.budget, Duration::ZERO);
    }

    #[test]
    fn variables_lists_every_variable_read() {
        let read = std::cell::RefCell::new(Vec::new());
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().push(name.to_string());
            None
        });
        let mut read = read.into_inner();
        read.sort();
        let mut listed: Vec<&str> = VARIABLES.to_vec();
        listed.sort_unstable();
        assert_eq!(read, listed);
    }

    #[test]
    fn rejects_budget_above_the_firehose_limit_naming_the_variable() {
        let err = from(&[("DASP_RESPONSE_BUDGET_BYTES", "7000000")]).unwrap_err();
        assert_eq!(err.name, "DASP_RESPONSE_BUDGET_BYTES");
        assert!(err.to_string().contains("6291556"));
    }

    #[test]
    fn rejects_malformed_numbers_and_resource_ids() {
        assert_eq!(
            from(&[("DASP_KMS_CONCURRENCY", "0")]).unwrap_err().name,
            "DASP_KMS_CONCURRENCY"
        );
        assert_eq!(
            from(&[("DASP_KMS_CACHE_SIZE", "ten")]).unwrap_err().name,
            "DASP_KMS_CACHE_SIZE"
        );
        assert_eq!(
            from(&[("DASP_KMS_ATTEMPT_TIMEOUT_MS", "50")]).unwrap_err().name,
            "DASP_KMS_ATTEMPT_TIMEOUT_MS"
        );
        assert_eq!(
            from(&[("DASP_KMS_RETRY_BUDGET_MS", "-1")]).unwrap_err().name,
            "DASP_KMS_RETRY_BUDGET_MS"
        );
        assert_eq!(
            from(&[("DASP_RESOURCE_ID", "my-db")]).unwrap_err().name,
            "DASP_RESOURCE_ID"
        );
    }
}
