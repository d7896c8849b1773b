//! Data keys from AWS KMS through aws-sdk-kms, and the sorting of its errors into permanent and
//! transient.

use super::{DataKeySource, KeyContext, KeyError};
use crate::esdk::WrappingKey;

/// Data keys from AWS KMS through aws-sdk-kms. The endpoint, region and credentials come from
/// the standard AWS configuration chain; `AWS_ENDPOINT_URL_KMS` points it at an emulator.
///
/// The SDK's own retries are disabled: retries, their backoff and the attempt timeout belong to
/// one layer, [`super::retry`], which knows the invocation's deadline and sorts errors the same
/// way the handler does. One `decrypt_data_key` is one HTTP request.
#[derive(Clone, Debug)]
pub struct KmsDataKeys {
    client: aws_sdk_kms::Client,
}

impl KmsDataKeys {
    /// Loads the AWS configuration from the environment (see [`KmsDataKeys::from_sdk_config`]).
    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        KmsDataKeys::from_sdk_config(&config)
    }

    /// A client for `config` with the SDK's retries off (one attempt per call). Its connect
    /// timeout is the SDK's default; the attempt timeout is [`super::RetryPolicy`]'s.
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        KmsDataKeys::from_kms_config(aws_sdk_kms::config::Builder::from(config))
    }

    /// A client from a KMS client configuration (e.g. with its own endpoint), with the SDK's
    /// retries turned off as in [`KmsDataKeys::from_sdk_config`].
    pub fn from_kms_config(config: aws_sdk_kms::config::Builder) -> Self {
        let config = config
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .build();
        KmsDataKeys {
            client: aws_sdk_kms::Client::from_conf(config),
        }
    }

    /// Wraps a client as configured by the caller (its own retry settings apply on top).
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
    use aws_sdk_kms::error::{DisplayErrorContext, SdkError};
    match &err {
        SdkError::TimeoutError(_) => KeyError::transient("kms_timeout", "KMS did not answer in time"),
        SdkError::DispatchFailure(f) if f.is_timeout() => {
            KeyError::transient("kms_timeout", format!("{}", DisplayErrorContext(&err)))
        }
        SdkError::DispatchFailure(_) => {
            KeyError::transient("kms_unreachable", format!("{}", DisplayErrorContext(&err)))
        }
        SdkError::ResponseError(_) => {
            KeyError::transient("kms_bad_response", format!("{}", DisplayErrorContext(&err)))
        }
        // A 2xx the SDK could not read (not JSON, no plaintext field) surfaces as a service
        // error without a code: an unreadable response, not a refusal.
        SdkError::ServiceError(se) if se.raw().status().is_success() => {
            KeyError::transient("kms_bad_response", format!("{}", DisplayErrorContext(&err)))
        }
        SdkError::ServiceError(se) => {
            let code = se.err().code().filter(|c| !c.is_empty());
            let message = se.err().message().unwrap_or_default();
            let status = se.raw().status().as_u16();
            let detail = format!(
                "HTTP {status} {}: {message}",
                code.unwrap_or("without a KMS error code")
            );
            classify_service_code(code, Some(status), detail)
        }
        _ => KeyError::permanent(
            "kms_request_failed",
            format!("{}", aws_sdk_kms::error::DisplayErrorContext(&err)),
        ),
    }
}

/// Sorts a KMS error code (and HTTP status) into permanent and transient. An HTTP error
/// without a KMS error code did not come from KMS deciding about the key (a proxy, a load
/// balancer, an outage page): transient, whatever its status.
pub fn classify_service_code(code: Option<&str>, status: Option<u16>, detail: String) -> KeyError {
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return KeyError::transient("kms_http_error", detail);
    };
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
        let kind = |code, status| classify_service_code(Some(code), status, String::new()).kind;
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

    #[test]
    fn http_errors_without_a_kms_code_are_transient_at_any_status() {
        for status in [400, 403, 404, 429, 500, 502, 503] {
            for code in [None, Some("")] {
                let e = classify_service_code(code, Some(status), String::new());
                assert_eq!(
                    (e.kind, e.label),
                    (KeyErrorKind::Transient, "kms_http_error"),
                    "{status}"
                );
            }
        }
    }
}
