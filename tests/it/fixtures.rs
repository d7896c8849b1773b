//! Loading the ESDK fixtures made by tests/fixtures/esdk/make_fixtures.py.

use base64::Engine as _;
use das_partitioner::esdk::WrappingKey;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Case {
    pub name: String,
    pub suite_id: u16,
    pub message_version: u8,
    pub frame_length: u32,
    pub frames: usize,
    pub signed: bool,
    pub encryption_context: BTreeMap<String, String>,
    pub wrapping_key: String,
    pub message: String,
    pub plaintext: String,
    pub kind: String,
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esdk")
}

pub fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(dir().join("cases.json")).unwrap();
    let cases: Vec<Case> = serde_json::from_str(&text).unwrap();
    assert!(cases.len() >= 30, "fixture manifest looks incomplete");
    cases
}

pub fn case(name: &str) -> Case {
    cases()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

impl Case {
    pub fn message_bytes(&self) -> Vec<u8> {
        std::fs::read(dir().join(&self.message)).unwrap()
    }

    pub fn plaintext_bytes(&self) -> Vec<u8> {
        std::fs::read(dir().join(&self.plaintext)).unwrap()
    }

    pub fn key_bytes(&self) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.wrapping_key)
            .unwrap()
    }

    pub fn key(&self) -> WrappingKey {
        WrappingKey::new(self.key_bytes()).unwrap()
    }
}
