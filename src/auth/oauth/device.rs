//! The device-code flow's polling decision (RFC 8628 §3.5), as a pure
//! function of the last answer, the interval and the time.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use ews_photo::auth::oauth::device::{Polling, Step};
//! use ews_photo::auth::oauth::{OAuthError, TokenEndpointError};
//!
//! let start = UNIX_EPOCH + Duration::from_secs(1_000);
//! let mut polling = Polling::new(5, 900, start);
//! let pending = TokenEndpointError {
//!     status: 400, error: "authorization_pending".into(), code: Some(70016),
//!     description: None, suberror: None, trace_id: None, correlation_id: None, retry_after: None,
//! };
//! let slow_down = TokenEndpointError { error: "slow_down".into(), code: None, ..pending.clone() };
//! let now = start + Duration::from_secs(5);
//! assert!(matches!(polling.after(Err(pending.into()), now), Step::Wait(d) if d == Duration::from_secs(5)));
//! assert!(matches!(polling.after(Err(slow_down.into()), now), Step::Wait(d) if d == Duration::from_secs(10)));
//! ```

use std::time::{Duration, SystemTime};

use super::OAuthError;
use super::response::{EntraCode, TokenResponse};

/// `slow_down` adds this to the interval, for the rest of the flow (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);

/// What to do after a poll.
#[derive(Debug)]
pub enum Step {
    /// Wait this long, then poll again.
    Wait(Duration),
    /// The user signed in.
    Done(TokenResponse),
    /// The flow has ended without a token.
    Failed(OAuthError),
}

/// The state of one device-code sign-in: the interval (which `slow_down`
/// raises) and when the code expires.
#[derive(Clone, Debug)]
pub struct Polling {
    interval: Duration,
    expires_at: SystemTime,
    lifetime: Duration,
}

impl Polling {
    /// Starts polling with the server's `interval` and `expires_in`
    /// (seconds), counted from `now` (when the device answer arrived).
    pub fn new(interval: u64, expires_in: u64, now: SystemTime) -> Polling {
        let lifetime = Duration::from_secs(expires_in);
        Polling {
            interval: Duration::from_secs(interval.max(1)),
            expires_at: now + lifetime,
            lifetime,
        }
    }

    /// The interval now in force.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Decides after a poll's answer.
    pub fn after(&mut self, answer: Result<TokenResponse, OAuthError>, now: SystemTime) -> Step {
        let error = match answer {
            Ok(token) => return Step::Done(token),
            Err(OAuthError::Endpoint(error)) => error,
            Err(other) => return Step::Failed(other),
        };
        let code = error.entra_code();
        let step = match error.error.as_str() {
            "authorization_pending" => Step::Wait(self.interval),
            "slow_down" => {
                self.interval += SLOW_DOWN_STEP;
                Step::Wait(self.interval)
            }
            "expired_token" => return Step::Failed(self.expired()),
            "authorization_declined" | "access_denied" => {
                return Step::Failed(OAuthError::DeviceFlowEnded(format!(
                    "the sign-in was declined in the browser ({}); run the command again and accept, or check with the administrator that the user may sign in to this app",
                    error.error
                )));
            }
            "bad_verification_code" => {
                return Step::Failed(OAuthError::DeviceFlowEnded(
                    "the sign-in server did not accept the code: run the command again and type the new code exactly as shown".into(),
                ));
            }
            _ if code == Some(EntraCode::DeviceCodeExpired) => return Step::Failed(self.expired()),
            _ if error.is_transient() => Step::Wait(
                error
                    .retry_after
                    .unwrap_or(self.interval)
                    .max(self.interval),
            ),
            _ => return Step::Failed(OAuthError::Endpoint(error)),
        };
        // A server that keeps saying "pending" past the code's life.
        if now >= self.expires_at {
            return Step::Failed(self.expired());
        }
        step
    }

    fn expired(&self) -> OAuthError {
        OAuthError::DeviceFlowEnded(format!(
            "the sign-in code expired before the sign-in was finished (it is valid for {} minutes): run the command again and enter the new code in time",
            self.lifetime.as_secs().div_ceil(60)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;
    use crate::auth::oauth::TokenEndpointError;
    use std::time::UNIX_EPOCH;

    fn answer(status: u16, error: &str, code: Option<u64>) -> Result<TokenResponse, OAuthError> {
        Err(OAuthError::from(TokenEndpointError {
            status,
            error: error.into(),
            code,
            description: None,
            suberror: None,
            trace_id: None,
            correlation_id: None,
            retry_after: None,
        }))
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
    }

    #[test]
    fn pending_waits_and_slow_down_raises_the_interval_for_good() {
        let mut p = Polling::new(5, 900, at(0));
        assert!(
            matches!(p.after(answer(400, "authorization_pending", Some(70016)), at(5)), Step::Wait(d) if d.as_secs() == 5)
        );
        assert!(
            matches!(p.after(answer(400, "slow_down", None), at(10)), Step::Wait(d) if d.as_secs() == 10)
        );
        assert!(
            matches!(p.after(answer(400, "slow_down", None), at(20)), Step::Wait(d) if d.as_secs() == 15)
        );
        assert!(
            matches!(p.after(answer(400, "authorization_pending", None), at(35)), Step::Wait(d) if d.as_secs() == 15)
        );
        assert_eq!(p.interval(), Duration::from_secs(15));
    }

    #[test]
    fn each_end_has_its_message() {
        let mut p = Polling::new(5, 900, at(0));
        for (error, code, says) in [
            ("expired_token", Some(70020), "expired"),
            ("invalid_grant", Some(70020), "expired"),
            ("authorization_declined", Some(70018), "declined"),
            ("access_denied", None, "declined"),
            ("bad_verification_code", None, "did not accept the code"),
        ] {
            match p.after(answer(400, error, code), at(10)) {
                Step::Failed(e @ OAuthError::DeviceFlowEnded(_)) => {
                    assert!(e.to_string().contains(says), "{error}: {e}")
                }
                other => panic!("{error}: {other:?}"),
            }
        }
        match p.after(answer(401, "invalid_client", Some(7000218)), at(10)) {
            Step::Failed(OAuthError::Endpoint(e)) => {
                assert!(e.to_string().contains("Allow public client flows"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pending_past_the_codes_life_ends() {
        let mut p = Polling::new(5, 900, at(0));
        match p.after(answer(400, "authorization_pending", None), at(900)) {
            Step::Failed(e) => assert!(e.to_string().contains("15 minutes"), "{e}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_token_ends_and_a_busy_server_is_waited_for() {
        let mut p = Polling::new(5, 900, at(0));
        let token = TokenResponse {
            access_token: Secret::new("at"),
            expires_in: 3600,
            refresh_in: None,
            refresh_token: None,
            scope: None,
            account: None,
        };
        assert!(matches!(p.after(Ok(token), at(5)), Step::Done(_)));
        let mut busy = TokenEndpointError {
            status: 503,
            error: "temporarily_unavailable".into(),
            code: None,
            description: None,
            suberror: None,
            trace_id: None,
            correlation_id: None,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(
            matches!(p.after(Err(busy.clone().into()), at(5)), Step::Wait(d) if d.as_secs() == 30)
        );
        busy.retry_after = Some(Duration::from_secs(1));
        assert!(matches!(p.after(Err(busy.into()), at(5)), Step::Wait(d) if d.as_secs() == 5));
    }
}
