//! aws-sdk-kms against a real KMS emulator (moto's server), as DAS uses KMS.
//!
//! The `#[ignore]`d tests need the emulator: `make test-kms` starts it on a loopback port
//! (scripts/with-moto.sh), runs them with `--ignored`, and stops it. Run alone, they fail
//! loudly instead of passing vacuously.

use aws_sdk_kms::types::DataKeySpec;
use das_partitioner::keys::{DataKeySource, KeyContext, KeyErrorKind, KmsDataKeys};

fn emulator() -> (String, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_KMS")
        .expect("AWS_ENDPOINT_URL_KMS unset: run through scripts/with-moto.sh (make test-kms)");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "refusing a non-loopback endpoint {endpoint}"
    );
    let key_id = std::env::var("MOTO_KMS_KEY_ID").expect("MOTO_KMS_KEY_ID unset");
    (endpoint, key_id)
}

/// GenerateDataKey under `context`, as RDS does when it starts an activity stream.
async fn generate(key_id: &str, context: &KeyContext) -> (Vec<u8>, Vec<u8>) {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let out = aws_sdk_kms::Client::new(&config)
        .generate_data_key()
        .key_id(key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context(context.key, &context.resource_id)
        .send()
        .await
        .unwrap();
    (
        out.plaintext.unwrap().into_inner(),
        out.ciphertext_blob.unwrap().into_inner(),
    )
}

/// A data key generated under `resource_id`'s context, as RDS does, decrypts through
/// `KmsDataKeys` to the same plaintext; the context key is the one DAS uses for that resource.
async fn assert_decrypts_under(resource_id: &str, context_key: &str) {
    let (_, key_id) = emulator();
    let context = KeyContext::for_resource(resource_id).unwrap();
    assert_eq!(context.key, context_key);
    let (plaintext, blob) = generate(&key_id, &context).await;
    let key = KmsDataKeys::from_env()
        .await
        .decrypt_data_key(&context, &blob)
        .await
        .unwrap();
    assert!(key.ct_eq(&plaintext));
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn decrypts_aurora_data_key_under_cluster_context() {
    assert_decrypts_under("cluster-ABCDEFGHIJ", "aws:rds:dbc-id").await;
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn decrypts_rds_instance_data_key_under_db_context() {
    assert_decrypts_under("db-KLMNOPQRST", "aws:rds:db-id").await;
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn rejects_wrong_context_as_permanent_error() {
    let (_, key_id) = emulator();
    let context = KeyContext::for_resource("cluster-RIGHT").unwrap();
    let (_, blob) = generate(&key_id, &context).await;
    let source = KmsDataKeys::from_env().await;
    for wrong in ["cluster-WRONG", "db-RIGHT"] {
        let err = source
            .decrypt_data_key(&KeyContext::for_resource(wrong).unwrap(), &blob)
            .await
            .unwrap_err();
        assert_eq!(err.kind, KeyErrorKind::Permanent, "{wrong}: {err}");
        assert_eq!(err.label, "kms_invalid_ciphertext", "{wrong}: {err}");
    }
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn rejects_garbage_ciphertext_as_permanent_error() {
    emulator();
    let context = KeyContext::for_resource("cluster-X").unwrap();
    let err = KmsDataKeys::from_env()
        .await
        .decrypt_data_key(&context, &[7u8; 150])
        .await
        .unwrap_err();
    assert_eq!(err.kind, KeyErrorKind::Permanent, "{err}");
}

#[tokio::test]
async fn reports_unreachable_kms_as_transient() {
    // A loopback port nothing listens on: connection refused at once, retried, then given up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let source = KmsDataKeys::new(aws_sdk_kms::Client::from_conf(config));
    let context = KeyContext::for_resource("cluster-X").unwrap();
    let err = source.decrypt_data_key(&context, &[1u8; 100]).await.unwrap_err();
    assert_eq!(err.kind, KeyErrorKind::Transient, "{err}");
    assert_eq!(err.label, "kms_unreachable");
}
