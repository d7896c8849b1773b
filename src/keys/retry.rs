//! Retries of transient KMS faults: the one retry layer. The SDK's own retries are off
//! (`kms.rs`), so every attempt, wait and timeout of a Decrypt is decided here, with the same
//! permanent/transient sorting the handler uses to fail an invocation.
//!
//! Each distinct data key is retried on its own (the cache runs keys concurrently, at most
//! `DASP_KMS_CONCURRENCY` at once): an attempt is bounded by the attempt timeout; between
//! attempts the wait grows exponentially with full jitter; retries stop after
//! [`MAX_KMS_ATTEMPTS`] attempts, or when the next attempt could not finish before the
//! invocation's retry deadline ([`RetryPolicy::stop_at`]: the retry budget, and in the Lambda
//! the function's deadline less [`KMS_DEADLINE_RESERVE`]). The first attempt is always made.
//! The policy itself is pure; [`decrypt_with_retries`] is the thin async loop around it.

use super::{DataKeySource, KeyContext, KeyError, KeyErrorKind};
use crate::esdk::WrappingKey;
use crate::limits::{
    DEFAULT_KMS_ATTEMPT_TIMEOUT, DEFAULT_KMS_RETRY_BUDGET, KMS_DEADLINE_RESERVE, KMS_RETRY_BASE_DELAY,
    KMS_RETRY_MAX_DELAY, MAX_KMS_ATTEMPTS,
};
use std::time::Duration;
use tokio::time::Instant;

/// How KMS Decrypt calls are timed out and retried.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Longest one attempt may take; a slower answer is a transient `kms_timeout`.
    pub attempt_timeout: Duration,
    /// Longest an invocation spends on one key's attempts and waits (the CLI's only bound).
    pub budget: Duration,
    /// Ceiling of the first wait; each further wait's ceiling doubles.
    pub base_delay: Duration,
    /// Largest ceiling of a wait.
    pub max_delay: Duration,
    /// Most attempts per key per invocation (≥ 1).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempt_timeout: DEFAULT_KMS_ATTEMPT_TIMEOUT,
            budget: DEFAULT_KMS_RETRY_BUDGET,
            base_delay: KMS_RETRY_BASE_DELAY,
            max_delay: KMS_RETRY_MAX_DELAY,
            max_attempts: MAX_KMS_ATTEMPTS,
        }
    }
}

impl RetryPolicy {
    /// The instant after which no attempt may end (the first attempt excepted): `budget` after
    /// `start`, and, when the invocation has a deadline `remaining` after `start`,
    /// [`KMS_DEADLINE_RESERVE`] before it.
    pub fn stop_at(&self, start: Instant, remaining: Option<Duration>) -> Instant {
        let span = match remaining {
            Some(remaining) => self.budget.min(remaining.saturating_sub(KMS_DEADLINE_RESERVE)),
            None => self.budget,
        };
        start.checked_add(span).unwrap_or(start)
    }

    /// The ceiling of the wait before retry `retry` (1 = the first retry).
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry.saturating_sub(1)).unwrap_or(u32::MAX);
        self.base_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// After `attempts` attempts, the last of which failed with `error` at `now`: the wait
    /// before the next attempt, or `None` to give up. `jitter` in [0, 1) scales the wait.
    pub fn next_wait(
        &self,
        attempts: u32,
        error: &KeyError,
        now: Instant,
        stop_at: Instant,
        jitter: f64,
    ) -> Option<Duration> {
        if error.kind != KeyErrorKind::Transient || attempts >= self.max_attempts {
            return None;
        }
        let wait = self.backoff_ceiling(attempts).mul_f64(jitter.clamp(0.0, 1.0));
        let end = now.checked_add(wait)?.checked_add(self.attempt_timeout)?;
        (end <= stop_at).then_some(wait)
    }
}

/// One key's outcome after its attempts.
#[derive(Debug)]
pub struct Attempted {
    pub result: Result<WrappingKey, KeyError>,
    /// KMS Decrypt attempts made (≥ 1).
    pub attempts: u32,
}

/// Decrypts one data key through `source`, retrying transient faults under `policy` until
/// `stop_at` (see [`RetryPolicy::stop_at`]). Needs a tokio runtime with timers.
pub async fn decrypt_with_retries<S: DataKeySource>(
    source: &S,
    policy: &RetryPolicy,
    stop_at: Instant,
    context: &KeyContext,
    blob: &[u8],
) -> Attempted {
    retry_loop(source, policy, stop_at, context, blob, fastrand::f64).await
}

/// [`decrypt_with_retries`] with the jitter drawn from `jitter` (values in [0, 1)), so tests
/// can pick it.
async fn retry_loop<S: DataKeySource>(
    source: &S,
    policy: &RetryPolicy,
    stop_at: Instant,
    context: &KeyContext,
    blob: &[u8],
    mut jitter: impl FnMut() -> f64,
) -> Attempted {
    let mut attempts: u32 = 0;
    loop {
        attempts = attempts.saturating_add(1);
        let result = tokio::time::timeout(policy.attempt_timeout, source.decrypt_data_key(context, blob))
            .await
            .unwrap_or_else(|_| {
                Err(KeyError::transient(
                    "kms_timeout",
                    format!(
                        "no answer within the attempt timeout ({} ms)",
                        policy.attempt_timeout.as_millis()
                    ),
                ))
            });
        let error = match result {
            Ok(key) => {
                return Attempted {
                    result: Ok(key),
                    attempts,
                };
            }
            Err(error) => error,
        };
        match policy.next_wait(attempts, &error, Instant::now(), stop_at, jitter()) {
            Some(wait) => {
                tracing::debug!(
                    error = error.label,
                    attempts,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "KMS Decrypt failed transiently; retrying"
                );
                tokio::time::sleep(wait).await;
            }
            None => {
                return Attempted {
                    result: Err(error),
                    attempts,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempt_timeout: Duration::from_millis(500),
            budget: Duration::from_secs(10),
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            max_attempts: 6,
        }
    }

    fn throttled() -> KeyError {
        KeyError::transient("kms_throttled", "")
    }

    #[test]
    fn backoff_ceiling_doubles_up_to_the_cap() {
        let p = policy();
        let ceilings: Vec<u128> = (1..=6).map(|n| p.backoff_ceiling(n).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(1));
    }

    #[test]
    fn waits_a_jittered_fraction_of_the_ceiling() {
        let p = policy();
        let now = Instant::now();
        let stop = now + Duration::from_secs(10);
        assert_eq!(p.next_wait(3, &throttled(), now, stop, 0.0), Some(Duration::ZERO));
        assert_eq!(
            p.next_wait(3, &throttled(), now, stop, 0.5),
            Some(Duration::from_millis(200))
        );
        assert!(p.next_wait(3, &throttled(), now, stop, 0.999).unwrap() < Duration::from_millis(400));
    }

    #[test]
    fn never_retries_permanent_errors() {
        let p = policy();
        let now = Instant::now();
        let denied = KeyError::permanent("kms_access_denied", "");
        assert_eq!(
            p.next_wait(1, &denied, now, now + Duration::from_secs(10), 0.5),
            None
        );
    }

    #[test]
    fn gives_up_after_max_attempts_or_when_an_attempt_would_end_past_the_deadline() {
        let p = policy();
        let now = Instant::now();
        let far = now + Duration::from_secs(100);
        assert!(p.next_wait(5, &throttled(), now, far, 0.5).is_some());
        assert_eq!(p.next_wait(6, &throttled(), now, far, 0.5), None);
        // Wait 50 ms + attempt 500 ms must fit before the deadline.
        assert!(
            p.next_wait(1, &throttled(), now, now + Duration::from_millis(550), 0.5)
                .is_some()
        );
        assert_eq!(
            p.next_wait(1, &throttled(), now, now + Duration::from_millis(549), 0.5),
            None
        );
    }

    #[test]
    fn stops_at_the_budget_or_before_the_lambda_deadline_whichever_is_first() {
        let p = policy();
        let start = Instant::now();
        assert_eq!(p.stop_at(start, None), start + Duration::from_secs(10));
        assert_eq!(
            p.stop_at(start, Some(Duration::from_secs(60))),
            start + Duration::from_secs(10)
        );
        assert_eq!(
            p.stop_at(start, Some(Duration::from_secs(8))),
            start + Duration::from_secs(8) - KMS_DEADLINE_RESERVE
        );
        assert_eq!(p.stop_at(start, Some(Duration::from_secs(1))), start);
    }

    /// Fails with the scripted errors in order, then succeeds; records when each call started.
    struct Scripted {
        errors: Mutex<Vec<KeyError>>,
        calls: Mutex<Vec<Instant>>,
        hang: bool,
    }

    impl Scripted {
        fn new(mut errors: Vec<KeyError>) -> Self {
            errors.reverse();
            Scripted {
                errors: Mutex::new(errors),
                calls: Mutex::new(Vec::new()),
                hang: false,
            }
        }
    }

    impl DataKeySource for Scripted {
        async fn decrypt_data_key(&self, _: &KeyContext, _: &[u8]) -> Result<WrappingKey, KeyError> {
            self.calls.lock().unwrap().push(Instant::now());
            if self.hang {
                std::future::pending::<()>().await;
            }
            match self.errors.lock().unwrap().pop() {
                Some(e) => Err(e),
                None => Ok(WrappingKey::new(vec![7; 32]).unwrap()),
            }
        }
    }

    fn ctx() -> KeyContext {
        KeyContext::for_resource("db-1").unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_faults_until_success() {
        let source = Scripted::new(vec![throttled(), KeyError::transient("kms_unavailable", "")]);
        let p = policy();
        let stop = p.stop_at(Instant::now(), None);
        let out = decrypt_with_retries(&source, &p, stop, &ctx(), b"blob").await;
        assert!(out.result.is_ok());
        assert_eq!(out.attempts, 3);
        let calls = source.calls.lock().unwrap();
        // Each wait is at most its ceiling: 100 ms, then 200 ms. The timer rounds a deadline up
        // to its next millisecond, so a wait just under the ceiling sleeps the whole ceiling.
        assert!(calls[1] - calls[0] <= Duration::from_millis(100));
        assert!(calls[2] - calls[1] <= Duration::from_millis(200));
    }

    /// The test above once asserted each wait to be strictly under its ceiling; with a jitter
    /// above 0.99 the timer's rounding made the first wait exactly 100 ms and CI failed.
    #[tokio::test(start_paused = true)]
    async fn waits_at_most_the_ceiling_at_the_largest_jitter_and_none_at_the_smallest() {
        let p = policy();
        let waits = |jitter: f64| {
            let p = p.clone();
            async move {
                let source = Scripted::new(vec![throttled(), throttled(), throttled()]);
                let stop = p.stop_at(Instant::now(), None);
                let out = retry_loop(&source, &p, stop, &ctx(), b"blob", || jitter).await;
                assert!(out.result.is_ok());
                assert_eq!(out.attempts, 4);
                let calls = source.calls.lock().unwrap();
                calls.windows(2).map(|w| w[1] - w[0]).collect::<Vec<_>>()
            }
        };
        let ms = Duration::from_millis;
        assert_eq!(waits(1.0 - f64::EPSILON).await, [ms(100), ms(200), ms(400)]);
        assert_eq!(waits(0.0).await, [ms(0), ms(0), ms(0)]);
        assert_eq!(waits(0.5).await, [ms(50), ms(100), ms(200)]);
    }

    #[tokio::test(start_paused = true)]
    async fn returns_a_permanent_error_after_one_attempt() {
        let source = Scripted::new(vec![KeyError::permanent("kms_access_denied", "")]);
        let p = policy();
        let stop = p.stop_at(Instant::now(), None);
        let out = decrypt_with_retries(&source, &p, stop, &ctx(), b"blob").await;
        assert_eq!(out.result.unwrap_err().label, "kms_access_denied");
        assert_eq!(out.attempts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn times_out_hung_attempts_as_transient_and_stops_by_the_deadline() {
        let mut source = Scripted::new(Vec::new());
        source.hang = true;
        let p = policy();
        let start = Instant::now();
        let stop = p.stop_at(start, Some(Duration::from_secs(5)));
        let out = decrypt_with_retries(&source, &p, stop, &ctx(), b"blob").await;
        let err = out.result.unwrap_err();
        assert_eq!((err.kind, err.label), (KeyErrorKind::Transient, "kms_timeout"));
        assert!(out.attempts > 1, "a timeout is retried");
        assert!(Instant::now() <= stop, "no attempt ends after the deadline");
        assert_eq!(source.calls.lock().unwrap().len(), out.attempts as usize);
    }

    #[tokio::test(start_paused = true)]
    async fn makes_at_most_max_attempts() {
        let source = Scripted::new(vec![throttled(); 20]);
        let p = policy();
        let stop = p.stop_at(Instant::now(), None);
        let out = decrypt_with_retries(&source, &p, stop, &ctx(), b"blob").await;
        assert_eq!(out.result.unwrap_err().label, "kms_throttled");
        assert_eq!(out.attempts, 6);
    }
}
