//! Retries when the server is busy: how long to wait, and the gate that makes
//! every worker of a run wait together.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::human::HumanDuration;

/// How busy answers are retried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first try.
    pub retries: u32,
    /// The first wait when the server gives no hint (doubled each retry).
    pub base: Duration,
    /// The longest wait, whatever the server asks.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): the server's hint if it
    /// gave one, else exponential back-off with jitter; never above `max`.
    pub fn wait(&self, retry: u32, hint: Option<Duration>) -> Duration {
        hint.unwrap_or_else(|| exponential(self.base, retry))
            .min(self.max)
    }
}

/// `base × 2^(retry-1)`, ±25 % jitter, so workers do not retry in step.
fn exponential(base: Duration, retry: u32) -> Duration {
    let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(16));
    let nominal = base.saturating_mul(factor);
    let jitter = 0.75 + fastrand::f64() * 0.5;
    nominal.mul_f64(jitter)
}

/// A wait the client is about to do, for messages.
///
/// ```
/// use std::time::Duration;
/// use ews_photo::BusyWait;
/// let wait = BusyWait { reason: "ErrorServerBusy".into(), wait: Duration::from_millis(1500), retry: 1, retries: 3, hinted: true };
/// assert_eq!(wait.to_string(), "server busy (ErrorServerBusy); waiting 1.5s as it asked (retry 1 of 3)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusyWait {
    /// What the server said: `ErrorServerBusy: …`, `HTTP 503`…
    pub reason: String,
    /// The pause before the retry.
    pub wait: Duration,
    /// Which retry this will be (1-based).
    pub retry: u32,
    /// The retries allowed in all (`--retries`).
    pub retries: u32,
    /// True when the server named the duration.
    pub hinted: bool,
}

impl fmt::Display for BusyWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server busy ({}); waiting {}{} (retry {} of {})",
            self.reason,
            HumanDuration(self.wait),
            if self.hinted { " as it asked" } else { "" },
            self.retry,
            self.retries
        )
    }
}

/// Shared by every worker of a run: when one learns the server is busy, all
/// pause until the hinted time.
#[derive(Debug, Default)]
pub struct Gate {
    closed_until: Mutex<Option<Instant>>,
    changed: Condvar,
    /// Set while `closed_until` may hold a time: an open gate is passed
    /// without taking the lock (every photo passes it).
    maybe_closed: AtomicBool,
}

impl Gate {
    /// Closes the gate until `until` (never shortens an existing closure).
    pub fn close_until(&self, until: Instant) {
        let mut closed = self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
        if closed.is_none_or(|current| current < until) {
            *closed = Some(until);
        }
        self.maybe_closed.store(true, Ordering::SeqCst);
        self.changed.notify_all();
    }

    /// Until when it is closed, as last set (tests: what a listener sees).
    #[cfg(test)]
    pub(crate) fn closed_until(&self) -> Option<Instant> {
        *self.closed_until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks while the gate is closed.
    pub fn wait_open(&self) {
        if !self.maybe_closed.load(Ordering::SeqCst) {
            return;
        }
        let mut closed = self.closed_until.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(until) = *closed {
            let now = Instant::now();
            if now >= until {
                *closed = None;
                self.maybe_closed.store(false, Ordering::SeqCst);
                break;
            }
            closed = self
                .changed
                .wait_timeout(closed, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_is_capped() {
        for retry in 1..=4 {
            let d = exponential(Duration::from_secs(1), retry);
            let nominal = 2f64.powi(retry as i32 - 1);
            assert!(d.as_secs_f64() >= nominal * 0.75 && d.as_secs_f64() <= nominal * 1.25);
        }
        let policy = RetryPolicy {
            max: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        assert_eq!(policy.wait(9, None), Duration::from_secs(2));
        assert_eq!(
            policy.wait(1, Some(Duration::from_secs(60))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.wait(1, Some(Duration::from_millis(10))),
            Duration::from_millis(10)
        );
    }

    #[test]
    fn gate_blocks_until_the_hint() {
        let gate = Gate::default();
        gate.close_until(Instant::now() + Duration::from_millis(30));
        // A shorter closure never shortens a longer one.
        gate.close_until(Instant::now());
        let start = Instant::now();
        gate.wait_open();
        assert!(start.elapsed() >= Duration::from_millis(25));
    }
}
