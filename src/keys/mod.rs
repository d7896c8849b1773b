//! Data keys: the one trait the handler needs from KMS ([`DataKeySource`]), the encryption
//! context DAS uses, a bounded cache that decrypts distinct keys concurrently ([`cache`]), the
//! one retry layer for transient KMS faults ([`retry`]), and the aws-sdk-kms implementation
//! ([`kms`]).
//!
//! DAS wraps each record's data key with KMS under an encryption context naming the database:
//! `aws:rds:dbc-id` = `cluster-…` (Aurora) or `aws:rds:db-id` = `db-…` (RDS instances); see
//! ../shared/design/das-records.md §2. Real streams reuse one `key` across many records, so
//! results are cached by (context, ciphertext).

pub mod cache;
#[cfg(feature = "aws")]
pub mod kms;
pub mod retry;

pub use cache::{DataKeyCache, Resolved};
#[cfg(feature = "aws")]
pub use kms::KmsDataKeys;
pub use retry::RetryPolicy;

use crate::esdk::WrappingKey;

/// Aurora clusters' encryption context key (resource ids `cluster-…`).
pub const AURORA_CONTEXT_KEY: &str = "aws:rds:dbc-id";
/// RDS instances' encryption context key (resource ids `db-…`).
pub const RDS_CONTEXT_KEY: &str = "aws:rds:db-id";

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
            AURORA_CONTEXT_KEY
        } else if resource_id.starts_with("db-") {
            RDS_CONTEXT_KEY
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

/// A short, stable name for a KMS ciphertext blob in logs and errors: `sha256:` and the first
/// 8 bytes of its SHA-256, in hex. The blob is ciphertext; its hash reveals nothing of the key.
pub fn blob_fingerprint(blob: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, blob);
    let hex: String = digest
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Whether retrying later may help.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyErrorKind {
    /// The key will never decrypt (wrong context, access denied, key deleted or disabled…).
    Permanent,
    /// Throttling, KMS 5xx, timeouts, network, an HTTP error without a KMS error code: retried
    /// ([`retry`]); still failing after the retries, it fails the whole invocation, so that
    /// Firehose retries the batch.
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn fingerprints_a_blob_by_its_sha256() {
        // SHA-256("abc") = ba7816bf8f01cfea…
        assert_eq!(blob_fingerprint(b"abc"), "sha256:ba7816bf8f01cfea");
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
}
