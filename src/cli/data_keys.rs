//! `dasp transform --data-keys FILE`, a testing aid: data keys from a file instead of KMS, for
//! test data whose keys are known (the generator's `samples/das_stream.py --static-keys`). Real
//! DAS data keys only ever come from KMS.
//!
//! The file is the generator's `keys.json`, a list of
//! `{"blob": base64 KMS ciphertext, "plaintext": base64 data key, "encryptionContext": {…}}`
//! (other members ignored; without `encryptionContext` any context is accepted), or a plain
//! object mapping base64 ciphertext to base64 data key.

use crate::esdk::WrappingKey;
use crate::keys::{DataKeySource, KeyContext, KeyError};
use base64::Engine as _;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use zeroize::Zeroizing;

/// Data keys read from a file, looked up by KMS ciphertext.
pub struct FileDataKeys {
    keys: HashMap<Vec<u8>, Entry>,
}

/// Names the number of keys only: key material is never printed.
impl std::fmt::Debug for FileDataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileDataKeys({} keys)", self.keys.len())
    }
}

struct Entry {
    plaintext: Zeroizing<Vec<u8>>,
    context: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeysFile {
    List(Vec<ListEntry>),
    Map(BTreeMap<String, String>),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListEntry {
    blob: String,
    plaintext: String,
    #[serde(default)]
    encryption_context: Option<BTreeMap<String, String>>,
}

impl FileDataKeys {
    /// Parses the file's text; the error names the entry that is wrong.
    pub fn from_json(text: &[u8]) -> Result<Self, String> {
        let file: KeysFile = serde_json::from_slice(text).map_err(|_| {
            "expected a JSON list of {\"blob\", \"plaintext\"} (the generator's keys.json) or an object \
             mapping base64 ciphertext to base64 data key"
                .to_string()
        })?;
        let entries: Vec<ListEntry> = match file {
            KeysFile::List(list) => list,
            KeysFile::Map(map) => map
                .into_iter()
                .map(|(blob, plaintext)| ListEntry {
                    blob,
                    plaintext,
                    encryption_context: None,
                })
                .collect(),
        };
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut keys = HashMap::with_capacity(entries.len());
        for (
            n,
            ListEntry {
                blob,
                plaintext,
                encryption_context: context,
            },
        ) in entries.into_iter().enumerate()
        {
            let entry = n + 1;
            // The key's base64 text is key material too.
            let plaintext = Zeroizing::new(plaintext);
            let blob = b64
                .decode(blob.trim())
                .map_err(|_| format!("entry {entry}: the ciphertext blob is not base64"))?;
            let plaintext = Zeroizing::new(
                b64.decode(plaintext.trim())
                    .map_err(|_| format!("entry {entry}: the data key is not base64"))?,
            );
            if !matches!(plaintext.len(), 16 | 24 | 32) {
                return Err(format!("entry {entry}: the data key is not 16, 24 or 32 bytes"));
            }
            keys.insert(blob, Entry { plaintext, context });
        }
        if keys.is_empty() {
            return Err("the file holds no keys".to_string());
        }
        Ok(FileDataKeys { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl DataKeySource for FileDataKeys {
    async fn decrypt_data_key(&self, context: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
        // The labels KMS's own answers get, so that outcomes read the same as with KMS.
        let entry = self.keys.get(blob).ok_or_else(|| {
            KeyError::permanent(
                "kms_invalid_ciphertext",
                "the data key is not in the --data-keys file",
            )
        })?;
        if let Some(expected) = &entry.context {
            let matches = expected.len() == 1
                && expected.get(context.key).map(String::as_str) == Some(context.resource_id.as_str());
            if !matches {
                return Err(KeyError::permanent(
                    "kms_invalid_ciphertext",
                    "the --data-keys file binds this key to another encryption context",
                ));
            }
        }
        WrappingKey::new(entry.plaintext.to_vec())
            .map_err(|_| KeyError::permanent("kms_bad_key_length", "the data key is not an AES key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> KeyContext {
        KeyContext::for_resource("cluster-ABC").unwrap()
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn reads_the_generators_list_and_checks_the_encryption_context() {
        let text = format!(
            r#"[{{"resourceId":"cluster-ABC","encryptionContext":{{"aws:rds:dbc-id":"cluster-ABC"}},"blob":"YmxvYg==","plaintext":"{KEY}"}}]"#
        );
        let keys = FileDataKeys::from_json(text.as_bytes()).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(run(keys.decrypt_data_key(&context(), b"blob")).is_ok());
        let other = KeyContext::for_resource("cluster-OTHER").unwrap();
        assert_eq!(
            run(keys.decrypt_data_key(&other, b"blob")).unwrap_err().label,
            "kms_invalid_ciphertext"
        );
        assert_eq!(
            run(keys.decrypt_data_key(&context(), b"nope")).unwrap_err().label,
            "kms_invalid_ciphertext"
        );
    }

    #[test]
    fn reads_a_plain_map_of_ciphertext_to_key() {
        let keys = FileDataKeys::from_json(format!(r#"{{"YmxvYg==":"{KEY}"}}"#).as_bytes()).unwrap();
        assert!(run(keys.decrypt_data_key(&context(), b"blob")).is_ok());
    }

    #[test]
    fn rejects_malformed_files_naming_the_entry() {
        assert!(FileDataKeys::from_json(b"[1]").is_err());
        assert!(FileDataKeys::from_json(b"{}").unwrap_err().contains("no keys"));
        let err = FileDataKeys::from_json(br#"{"YmxvYg==":"c2hvcnQ="}"#).unwrap_err();
        assert!(err.starts_with("entry 1:") && err.contains("32 bytes"), "{err}");
        let err = FileDataKeys::from_json(br#"[{"blob":"!","plaintext":"x"}]"#).unwrap_err();
        assert!(err.contains("not base64"), "{err}");
    }
}
