//! A bounded LRU of decrypted data keys, shared across invocations, that resolves an
//! invocation's distinct keys concurrently.

use super::{DataKeySource, KeyContext, KeyError};
use crate::esdk::WrappingKey;
use futures::StreamExt as _;
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

/// What one [`DataKeyCache::resolve`] did: every distinct KMS blob of the invocation, with its
/// key or why it has none. Looked up by the blob (`&[u8]`), without copying it.
#[derive(Debug, Default)]
pub struct Resolved {
    pub keys: HashMap<Vec<u8>, Result<Arc<WrappingKey>, KeyError>>,
    /// KMS Decrypt calls made.
    pub kms_calls: usize,
    /// Distinct keys served from the cache.
    pub cache_hits: usize,
}

impl Resolved {
    /// The outcome for one blob; `None` when the blob was never asked for.
    pub fn get(&self, blob: &[u8]) -> Option<&Result<Arc<WrappingKey>, KeyError>> {
        self.keys.get(blob)
    }
}

/// A cache entry's key: the encryption context and the KMS ciphertext.
type CacheKey = (KeyContext, Vec<u8>);

/// A bounded LRU of decrypted data keys keyed by (context, ciphertext). Failures are not cached.
pub struct DataKeyCache {
    entries: Mutex<LruCache<CacheKey, Arc<WrappingKey>>>,
    concurrency: usize,
}

impl DataKeyCache {
    pub fn new(capacity: NonZeroUsize, concurrency: NonZeroUsize) -> Self {
        DataKeyCache {
            entries: Mutex::new(LruCache::new(capacity)),
            concurrency: concurrency.get(),
        }
    }

    /// Keys currently cached.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, request: &CacheKey) -> Option<Arc<WrappingKey>> {
        self.entries.lock().ok()?.get(request).cloned()
    }

    fn store(&self, request: CacheKey, key: Arc<WrappingKey>) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.put(request, key);
        }
    }

    /// Resolves every distinct blob under `context`: from the cache, else through `source`, at
    /// most `concurrency` at a time. Each blob is copied once per invocation, not per record.
    pub async fn resolve<'b, S: DataKeySource>(
        &self,
        source: &S,
        context: &KeyContext,
        blobs: impl IntoIterator<Item = &'b [u8]>,
    ) -> Resolved {
        let mut resolved = Resolved::default();
        let mut missing = Vec::new();
        let distinct: HashSet<&[u8]> = blobs.into_iter().collect();
        for blob in distinct {
            let request = (context.clone(), blob.to_vec());
            match self.lookup(&request) {
                Some(key) => {
                    resolved.cache_hits += 1;
                    resolved.keys.insert(request.1, Ok(key));
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
            resolved.keys.insert(request.1, result);
        }
        resolved
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

    fn fake() -> FakeKeys {
        FakeKeys {
            calls: AtomicUsize::new(0),
        }
    }

    fn blob(id: &str, key_byte: u8) -> Vec<u8> {
        let mut blob = id.as_bytes().to_vec();
        blob.extend([key_byte; 32]);
        blob
    }

    fn ctx(id: &str) -> KeyContext {
        KeyContext::for_resource(id).unwrap()
    }

    fn cache(capacity: usize) -> DataKeyCache {
        DataKeyCache::new(
            NonZeroUsize::new(capacity).unwrap(),
            NonZeroUsize::new(2).unwrap(),
        )
    }

    #[tokio::test]
    async fn decrypts_each_distinct_key_once_and_caches_it() {
        let source = fake();
        let cache = cache(8);
        let (b1, b2, b3) = (blob("db-1", 1), blob("db-1", 2), blob("db-1", 3));
        let first = cache
            .resolve(&source, &ctx("db-1"), [&b1[..], &b1[..], &b2[..]])
            .await;
        assert_eq!((first.kms_calls, first.cache_hits), (2, 0));
        assert!(first.get(&b1).unwrap().as_ref().unwrap().ct_eq(&[1; 32]));
        let second = cache.resolve(&source, &ctx("db-1"), [&b1[..], &b3[..]]).await;
        assert_eq!((second.kms_calls, second.cache_hits), (1, 1));
        assert_eq!(source.calls.load(Ordering::SeqCst), 3);
        assert_eq!(cache.len(), 3);
    }

    #[tokio::test]
    async fn keys_the_cache_by_context_as_well_as_blob() {
        let source = fake();
        let cache = cache(8);
        let b = blob("db-1", 1);
        cache.resolve(&source, &ctx("db-1"), [&b[..]]).await;
        let other = cache.resolve(&source, &ctx("db-2"), [&b[..]]).await;
        assert_eq!(other.cache_hits, 0, "a key cached under db-1 must not serve db-2");
        assert_eq!(
            other.get(&b).unwrap().as_ref().unwrap_err().label,
            "kms_invalid_ciphertext"
        );
    }

    #[tokio::test]
    async fn does_not_cache_failures_and_evicts_least_recent() {
        let source = fake();
        let cache = cache(1);
        let b = blob("db-1", 1);
        let r = cache.resolve(&source, &ctx("db-2"), [&b[..]]).await;
        assert_eq!(
            r.get(&b).unwrap().as_ref().unwrap_err().label,
            "kms_invalid_ciphertext"
        );
        assert_eq!(cache.resolve(&source, &ctx("db-2"), [&b[..]]).await.kms_calls, 1);
        cache.resolve(&source, &ctx("db-1"), [&b[..]]).await;
        cache.resolve(&source, &ctx("db-1"), [&blob("db-1", 2)[..]]).await;
        assert_eq!(
            cache.resolve(&source, &ctx("db-1"), [&b[..]]).await.kms_calls,
            1,
            "capacity 1 must evict"
        );
        assert_eq!(cache.len(), 1);
    }
}
