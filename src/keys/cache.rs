//! A bounded LRU of decrypted data keys, shared across invocations, that resolves an
//! invocation's distinct keys concurrently, each with its own retries ([`super::retry`]).

use super::retry::{RetryPolicy, decrypt_with_retries};
use super::{DataKeySource, KeyContext, KeyError, KeyErrorKind};
use crate::esdk::WrappingKey;
use futures::StreamExt as _;
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// What one [`DataKeyCache::resolve`] did: the distinct KMS blobs of the invocation, with their
/// key or why they have none. Looked up by the blob (`&[u8]`), without copying it.
///
/// Once one key stays transiently unavailable after its retries the invocation is going to
/// fail, so the keys still in flight are abandoned: they are absent from `keys`, and
/// [`Resolved::transient_failure`] is set.
#[derive(Debug, Default)]
pub struct Resolved {
    pub keys: HashMap<Vec<u8>, Result<Arc<WrappingKey>, KeyError>>,
    /// KMS Decrypt attempts made, retries included.
    pub kms_calls: usize,
    /// Of those, attempts after the first for a key.
    pub kms_retries: usize,
    /// Distinct keys served from the cache.
    pub cache_hits: usize,
    /// Keys abandoned unresolved because another key was transiently unavailable.
    pub abandoned: usize,
}

impl Resolved {
    /// The outcome for one blob; `None` when the blob was never asked for.
    pub fn get(&self, blob: &[u8]) -> Option<&Result<Arc<WrappingKey>, KeyError>> {
        self.keys.get(blob)
    }

    /// The first key error that is transient (after retries), if any: the invocation must fail.
    pub fn transient_failure(&self) -> Option<(&[u8], &KeyError)> {
        self.keys.iter().find_map(|(blob, result)| match result {
            Err(e) if e.kind == KeyErrorKind::Transient => Some((blob.as_slice(), e)),
            _ => None,
        })
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
    /// most `concurrency` keys at a time, each retried under `retry` until `stop_at` (see
    /// [`RetryPolicy::stop_at`]). Stops at the first key that stays transiently unavailable.
    /// Each blob is copied once per invocation, not per record. Needs a tokio runtime.
    pub async fn resolve<'b, S: DataKeySource>(
        &self,
        source: &S,
        context: &KeyContext,
        blobs: impl IntoIterator<Item = &'b [u8]>,
        retry: &RetryPolicy,
        stop_at: Instant,
    ) -> Resolved {
        let mut resolved = Resolved::default();
        let mut missing = Vec::new();
        // DAS uses one data key for many records in a row: a blob equal to the one before is
        // not hashed again.
        let mut distinct: HashSet<&[u8]> = HashSet::new();
        let mut previous: Option<&[u8]> = None;
        for blob in blobs {
            if previous != Some(blob) {
                distinct.insert(blob);
                previous = Some(blob);
            }
        }
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
        let mut pending = missing.len();
        let mut fetched = futures::stream::iter(missing)
            .map(|request| async move {
                let attempted = decrypt_with_retries(source, retry, stop_at, &request.0, &request.1).await;
                (request, attempted)
            })
            .buffer_unordered(self.concurrency);
        while let Some((request, attempted)) = fetched.next().await {
            pending = pending.saturating_sub(1);
            let attempts = usize::try_from(attempted.attempts).unwrap_or(usize::MAX);
            resolved.kms_calls = resolved.kms_calls.saturating_add(attempts);
            resolved.kms_retries = resolved.kms_retries.saturating_add(attempts.saturating_sub(1));
            let result = attempted.result.map(Arc::new);
            if let Ok(key) = &result {
                self.store(request.clone(), Arc::clone(key));
            }
            let unavailable = matches!(&result, Err(e) if e.kind == KeyErrorKind::Transient);
            resolved.keys.insert(request.1, result);
            if unavailable {
                resolved.abandoned = pending;
                break;
            }
        }
        resolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

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

    async fn resolve<'b, S: DataKeySource>(
        cache: &DataKeyCache,
        source: &S,
        context: &KeyContext,
        blobs: impl IntoIterator<Item = &'b [u8]>,
    ) -> Resolved {
        let retry = RetryPolicy::default();
        let stop_at = retry.stop_at(Instant::now(), None);
        cache.resolve(source, context, blobs, &retry, stop_at).await
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
        // Repeats in a row and apart.
        let blobs = [&b1[..], &b1[..], &b2[..], &b1[..], &b2[..], &b2[..]];
        let first = resolve(&cache, &source, &ctx("db-1"), blobs).await;
        assert_eq!((first.kms_calls, first.cache_hits), (2, 0));
        assert!(first.get(&b1).unwrap().as_ref().unwrap().ct_eq(&[1; 32]));
        assert!(first.get(&b2).unwrap().as_ref().unwrap().ct_eq(&[2; 32]));
        let second = resolve(&cache, &source, &ctx("db-1"), [&b1[..], &b3[..]]).await;
        assert_eq!((second.kms_calls, second.cache_hits), (1, 1));
        assert_eq!(source.calls.load(Ordering::SeqCst), 3);
        assert_eq!(cache.len(), 3);
    }

    #[tokio::test]
    async fn keys_the_cache_by_context_as_well_as_blob() {
        let source = fake();
        let cache = cache(8);
        let b = blob("db-1", 1);
        resolve(&cache, &source, &ctx("db-1"), [&b[..]]).await;
        let other = resolve(&cache, &source, &ctx("db-2"), [&b[..]]).await;
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
        let r = resolve(&cache, &source, &ctx("db-2"), [&b[..]]).await;
        assert_eq!(
            r.get(&b).unwrap().as_ref().unwrap_err().label,
            "kms_invalid_ciphertext"
        );
        assert_eq!(
            resolve(&cache, &source, &ctx("db-2"), [&b[..]]).await.kms_calls,
            1
        );
        resolve(&cache, &source, &ctx("db-1"), [&b[..]]).await;
        resolve(&cache, &source, &ctx("db-1"), [&blob("db-1", 2)[..]]).await;
        assert_eq!(
            resolve(&cache, &source, &ctx("db-1"), [&b[..]]).await.kms_calls,
            1,
            "capacity 1 must evict"
        );
        assert_eq!(cache.len(), 1);
    }

    /// Blobs starting with `f` fail transiently `n` times (n = the second byte), `t` always,
    /// `h` hang; anything else decrypts. Counts calls per blob.
    struct Flaky {
        calls: Mutex<HashMap<Vec<u8>, u8>>,
    }

    impl DataKeySource for Flaky {
        async fn decrypt_data_key(&self, _: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
            let n = {
                let mut calls = self.calls.lock().unwrap();
                let n = calls.entry(blob.to_vec()).or_insert(0);
                *n += 1;
                *n
            };
            match blob {
                [b'f', fails, ..] if n <= *fails => Err(KeyError::transient("kms_throttled", "")),
                [b't', ..] => Err(KeyError::transient("kms_throttled", "")),
                [b'h', ..] => std::future::pending().await,
                _ => Ok(WrappingKey::new(vec![1; 32]).unwrap()),
            }
        }
    }

    fn flaky() -> Flaky {
        Flaky {
            calls: Mutex::new(HashMap::new()),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_each_key_on_its_own_and_caches_what_succeeded() {
        let source = flaky();
        let cache = cache(8);
        let (b1, b2) = (b"f\x02-one".to_vec(), b"ok-two".to_vec());
        let r = resolve(&cache, &source, &ctx("db-1"), [&b1[..], &b2[..]]).await;
        assert!(r.get(&b1).unwrap().is_ok() && r.get(&b2).unwrap().is_ok());
        assert!(r.transient_failure().is_none());
        assert_eq!((r.kms_calls, r.kms_retries, r.abandoned), (4, 2, 0));
        assert_eq!(source.calls.lock().unwrap()[&b1], 3);
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn abandons_the_other_keys_once_one_stays_transiently_unavailable() {
        let source = flaky();
        // Room for every key at once, and hung attempts that never time out: the throttled key
        // is the one that runs out of retries, whatever order the keys start in.
        let cache = DataKeyCache::new(NonZeroUsize::new(8).unwrap(), NonZeroUsize::new(8).unwrap());
        let retry = RetryPolicy {
            attempt_timeout: Duration::from_secs(3600),
            ..RetryPolicy::default()
        };
        let bad = b"t-bad".to_vec();
        let hung: Vec<Vec<u8>> = (0..3u8).map(|i| vec![b'h', i]).collect();
        let blobs = std::iter::once(&bad).chain(&hung).map(Vec::as_slice);
        let stop_at = retry.stop_at(Instant::now(), None);
        let r = cache.resolve(&source, &ctx("db-1"), blobs, &retry, stop_at).await;
        let (blob, error) = r.transient_failure().unwrap();
        assert_eq!((blob, error.label), (&bad[..], "kms_throttled"));
        assert_eq!(r.abandoned, 3);
        assert_eq!(cache.len(), 0);
    }
}
