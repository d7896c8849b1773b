//! Data keys: the one trait the handler needs from KMS, its aws-sdk-kms implementation, and a
//! bounded cache that decrypts distinct keys concurrently.
//!
//! DAS wraps each record's data key with KMS under an encryption context naming the database:
//! `aws:rds:dbc-id` = `cluster-…` (Aurora) or `aws:rds:db-id` = `db-…` (RDS instances); see
//! ../shared/design/das-records.md §2. Real streams reuse one `key` across many records, so
//! results are cached by (context, ciphertext).

use crate::esdk::WrappingKey;
use futures::StreamExt as _;
use lru::LruCache;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// The KMS encryption context of one database's data keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyContext {
    /// `aws:rds:dbc-id` or `aws:rds:db-id`.
    pub key: &'static str,
    /// The resource id, `cluster-…` or `db-…`.
    pub resource_id: String,
}

impl KeyContext {
    /// The context for a DAS resource id; `None` unless it starts with `cluster-` or `db-`.
    pub fn for_resource(resource_id: &str) -> Option<KeyContext> {
        let key = if resource_id.starts_with("cluster-") {
            "aws:rds:dbc-id"
        } else if resource_id.starts_with("db-") {
            "aws:rds:db-id"
        } else {
            return None;
        };
        Some(KeyContext {
            key,
            resource_id: resource_id.to_string(),
        })
    }
}

/// The resource id in a DAS Kinesis stream ARN (`…:stream/aws-rds-das-<id>`).
pub fn resource_id_from_stream_arn(arn: &str) -> Option<&str> {
    let name = arn.rsplit_once(":stream/").map_or(arn, |(_, name)| name);
    name.strip_prefix("aws-rds-das-")
        .filter(|id| KeyContext::for_resource(id).is_some())
}

/// Whether retrying later may help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyErrorKind {
    /// The key will never decrypt (wrong context, access denied, key deleted or disabled…).
    Permanent,
    /// Throttling, KMS 5xx, timeouts, network: worth a retry of the batch.
    Transient,
}

/// A failed data-key decryption. `detail` is what KMS said; it never holds key material.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{label}: {detail}")]
pub struct KeyError {
    pub kind: KeyErrorKind,
    /// Stable label for logs and metrics.
    pub label: &'static str,
    pub detail: String,
}

impl KeyError {
    pub fn permanent(label: &'static str, detail: impl Into<String>) -> Self {
        KeyError {
            kind: KeyErrorKind::Permanent,
            label,
            detail: detail.into(),
        }
    }

    pub fn transient(label: &'static str, detail: impl Into<String>) -> Self {
        KeyError {
            kind: KeyErrorKind::Transient,
            label,
            detail: detail.into(),
        }
    }
}

/// Decrypts a data key under an encryption context.
pub trait DataKeySource: Send + Sync {
    fn decrypt_data_key(
        &self,
        context: &KeyContext,
        blob: &[u8],
    ) -> impl Future<Output = Result<WrappingKey, KeyError>> + Send;
}

/// The cache key: context and KMS ciphertext.
pub type KeyRequest = (KeyContext, Vec<u8>);

/// What one [`DataKeyCache::resolve`] did.
#[derive(Debug, Default)]
pub struct Resolved {
    pub keys: HashMap<KeyRequest, Result<Arc<WrappingKey>, KeyError>>,
    /// KMS Decrypt calls made.
    pub kms_calls: usize,
    /// Distinct keys served from the cache.
    pub cache_hits: usize,
}

/// A bounded LRU of decrypted data keys, shared across invocations. Failures are not cached.
pub struct DataKeyCache {
    entries: Mutex<LruCache<KeyRequest, Arc<WrappingKey>>>,
    concurrency: usize,
}

impl DataKeyCache {
    pub fn new(capacity: NonZeroUsize, concurrency: NonZeroUsize) -> Self {
        DataKeyCache {
            entries: Mutex::new(LruCache::new(capacity)),
            concurrency: concurrency.get(),
        }
    }

    fn lookup(&self, request: &KeyRequest) -> Option<Arc<WrappingKey>> {
        self.entries.lock().ok()?.get(request).cloned()
    }

    fn store(&self, request: KeyRequest, key: Arc<WrappingKey>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(request, key);
        }
    }

    /// Resolves every distinct request: from the cache, else through `source`, at most
    /// `concurrency` at a time.
    pub async fn resolve<S: DataKeySource>(
        &self,
        source: &S,
        requests: impl IntoIterator<Item = KeyRequest>,
    ) -> Resolved {
        let mut resolved = Resolved::default();
        let mut missing = Vec::new();
        for request in requests {
            if resolved.keys.contains_key(&request) || missing.contains(&request) {
                continue;
            }
            match self.lookup(&request) {
                Some(key) => {
                    resolved.cache_hits += 1;
                    resolved.keys.insert(request, Ok(key));
                }
                None => missing.push(request),
            }
        }
        resolved.kms_calls = missing.len();
        let mut fetched = futures::stream::iter(missing)
            .map(|request| async move {
                let result = source
                    .decrypt_data_key(&request.0, &request.1)
                    .await
                    .map(Arc::new);
                (request, result)
            })
            .buffer_unordered(self.concurrency);
        while let Some((request, result)) = fetched.next().await {
            if let Ok(key) = &result {
                self.store(request.clone(), Arc::clone(key));
            }
            resolved.keys.insert(request, result);
        }
        resolved
    }
}

/// Data keys from AWS KMS through aws-sdk-kms. The endpoint, region and credentials come from
/// the standard AWS configuration chain; `AWS_ENDPOINT_URL_KMS` points it at an emulator.
#[derive(Clone, Debug)]
pub struct KmsDataKeys {
    client: aws_sdk_kms::Client,
}

impl KmsDataKeys {
    /// Loads the AWS configuration from the environment, with bounded timeouts and retries.
    pub async fn from_env() -> Self {
        use aws_config::retry::RetryConfig;
        use aws_config::timeout::TimeoutConfig;
        use std::time::Duration;
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(RetryConfig::standard().with_max_attempts(4))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .operation_timeout(Duration::from_secs(20))
                    .build(),
            )
            .load()
            .await;
        KmsDataKeys {
            client: aws_sdk_kms::Client::new(&config),
        }
    }

    pub fn new(client: aws_sdk_kms::Client) -> Self {
        KmsDataKeys { client }
    }
}

impl DataKeySource for KmsDataKeys {
    async fn decrypt_data_key(&self, context: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
        let output = self
            .client
            .decrypt()
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob))
            .encryption_context(context.key, &context.resource_id)
            .send()
            .await
            .map_err(classify_sdk_error)?;
        let plaintext = output
            .plaintext
            .ok_or_else(|| KeyError::permanent("kms_no_plaintext", "KMS returned no plaintext"))?;
        WrappingKey::new(plaintext.into_inner())
            .map_err(|_| KeyError::permanent("kms_bad_key_length", "KMS plaintext is not an AES key"))
    }
}

fn classify_sdk_error<E>(
    err: aws_sdk_kms::error::SdkError<E, aws_sdk_kms::config::http::HttpResponse>,
) -> KeyError
where
    E: aws_sdk_kms::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_kms::error::SdkError;
    match &err {
        SdkError::TimeoutError(_) => KeyError::transient("kms_timeout", "KMS did not answer in time"),
        SdkError::DispatchFailure(f) => KeyError::transient("kms_unreachable", format!("{f:?}")),
        SdkError::ResponseError(_) => KeyError::transient("kms_bad_response", "unreadable KMS response"),
        SdkError::ServiceError(se) => {
            let code = se.err().code().unwrap_or("Unknown");
            let message = se.err().message().unwrap_or_default();
            let detail = format!("{code}: {message}");
            let status = Some(se.raw().status().as_u16());
            classify_service_code(code, status, detail)
        }
        _ => KeyError::permanent(
            "kms_request_failed",
            format!("{}", aws_sdk_kms::error::DisplayErrorContext(&err)),
        ),
    }
}

/// Sorts a KMS error code (and HTTP status) into permanent and transient.
pub fn classify_service_code(code: &str, status: Option<u16>, detail: String) -> KeyError {
    match code {
        "InvalidCiphertextException" | "IncorrectKeyException" => {
            KeyError::permanent("kms_invalid_ciphertext", detail)
        }
        "AccessDeniedException" | "AccessDenied" => KeyError::permanent("kms_access_denied", detail),
        "NotFoundException" => KeyError::permanent("kms_key_not_found", detail),
        "DisabledException" => KeyError::permanent("kms_key_disabled", detail),
        "KMSInvalidStateException" => KeyError::permanent("kms_key_invalid_state", detail),
        "InvalidKeyUsageException" | "InvalidGrantTokenException" => {
            KeyError::permanent("kms_key_unusable", detail)
        }
        "ThrottlingException" | "LimitExceededException" | "RequestLimitExceeded" => {
            KeyError::transient("kms_throttled", detail)
        }
        "KMSInternalException" | "DependencyTimeoutException" | "KeyUnavailableException" => {
            KeyError::transient("kms_unavailable", detail)
        }
        _ if status.is_some_and(|s| s >= 500) => KeyError::transient("kms_unavailable", detail),
        _ => KeyError::permanent("kms_rejected", detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A hand-written fake: blob bytes are the key, prefixed by the resource id it belongs to.
    struct FakeKeys {
        calls: AtomicUsize,
    }

    impl DataKeySource for FakeKeys {
        async fn decrypt_data_key(&self, context: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            match blob.strip_prefix(context.resource_id.as_bytes()) {
                Some(key) => WrappingKey::new(key.to_vec()).map_err(|_| KeyError::permanent("len", "")),
                None => Err(KeyError::permanent("kms_invalid_ciphertext", "wrong context")),
            }
        }
    }

    fn request(id: &str, key_byte: u8) -> KeyRequest {
        let mut blob = id.as_bytes().to_vec();
        blob.extend([key_byte; 32]);
        (KeyContext::for_resource(id).unwrap(), blob)
    }

    fn cache(capacity: usize) -> DataKeyCache {
        DataKeyCache::new(
            NonZeroUsize::new(capacity).unwrap(),
            NonZeroUsize::new(2).unwrap(),
        )
    }

    #[test]
    fn maps_resource_ids_to_encryption_context_keys() {
        assert_eq!(
            KeyContext::for_resource("cluster-ABC").unwrap().key,
            "aws:rds:dbc-id"
        );
        assert_eq!(KeyContext::for_resource("db-XYZ").unwrap().key, "aws:rds:db-id");
        assert!(KeyContext::for_resource("mydb").is_none());
    }

    #[test]
    fn reads_resource_id_from_stream_arn() {
        let arn = "arn:aws:kinesis:us-east-1:123456789012:stream/aws-rds-das-cluster-ABCDEF";
        assert_eq!(resource_id_from_stream_arn(arn), Some("cluster-ABCDEF"));
        assert_eq!(
            resource_id_from_stream_arn("arn:aws:kinesis:r:1:stream/other"),
            None
        );
        assert_eq!(resource_id_from_stream_arn("aws-rds-das-db-1"), Some("db-1"));
    }

    #[tokio::test]
    async fn decrypts_each_distinct_key_once_and_caches_it() {
        let source = FakeKeys {
            calls: AtomicUsize::new(0),
        };
        let cache = cache(8);
        let first = cache
            .resolve(
                &source,
                [request("db-1", 1), request("db-1", 1), request("db-1", 2)],
            )
            .await;
        assert_eq!((first.kms_calls, first.cache_hits), (2, 0));
        let second = cache
            .resolve(&source, [request("db-1", 1), request("db-1", 3)])
            .await;
        assert_eq!((second.kms_calls, second.cache_hits), (1, 1));
        assert_eq!(source.calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn does_not_cache_failures_and_evicts_least_recent() {
        let source = FakeKeys {
            calls: AtomicUsize::new(0),
        };
        let cache = cache(1);
        let (ctx, blob) = request("db-1", 1);
        let wrong = (KeyContext::for_resource("db-2").unwrap(), blob.clone());
        let r = cache.resolve(&source, [wrong.clone()]).await;
        assert_eq!(
            r.keys[&wrong].as_ref().unwrap_err().label,
            "kms_invalid_ciphertext"
        );
        assert_eq!(cache.resolve(&source, [wrong]).await.kms_calls, 1);
        cache.resolve(&source, [(ctx.clone(), blob.clone())]).await;
        cache.resolve(&source, [request("db-1", 2)]).await;
        assert_eq!(
            cache.resolve(&source, [(ctx, blob)]).await.kms_calls,
            1,
            "capacity 1 must evict"
        );
    }

    #[test]
    fn sorts_kms_errors_into_permanent_and_transient() {
        let kind = |code, status| classify_service_code(code, status, String::new()).kind;
        assert_eq!(
            kind("InvalidCiphertextException", Some(400)),
            KeyErrorKind::Permanent
        );
        assert_eq!(kind("AccessDeniedException", Some(400)), KeyErrorKind::Permanent);
        assert_eq!(kind("DisabledException", Some(400)), KeyErrorKind::Permanent);
        assert_eq!(kind("ThrottlingException", Some(400)), KeyErrorKind::Transient);
        assert_eq!(kind("KMSInternalException", Some(500)), KeyErrorKind::Transient);
        assert_eq!(kind("SomethingNew", Some(503)), KeyErrorKind::Transient);
        assert_eq!(kind("SomethingNew", Some(400)), KeyErrorKind::Permanent);
    }
}
