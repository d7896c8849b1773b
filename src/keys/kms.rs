//! Data keys from AWS KMS through aws-sdk-kms, and the sorting of its errors into permanent and
//! transient.

use super::{DataKeySource, KeyContext, KeyError};
use crate::esdk::WrappingKey;

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
    use crate::keys::KeyErrorKind;

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
