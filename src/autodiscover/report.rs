//! The `discover --json` record, shaped like the other commands' records
//! (`email`, `status`, `error` when failed, `exit_code`).

use serde::Serialize;

use super::{Attempt, Error, Found, Source};

/// One `discover --json` line.
///
/// ```
/// use ews_photo::autodiscover::{Discovery, HttpAnswer, HttpReply, Options, Report, Step};
/// let mut discovery = Discovery::new("jdoe@contoso.com", Options::default()).unwrap();
/// let Step::Http(_) = discovery.step() else { panic!() };
/// discovery.http_answer(HttpAnswer::Reply(HttpReply {
///     status: 200,
///     location: None,
///     body: br#"{"Protocol":"EWS","Url":"https://mail.contoso.com/EWS/Exchange.asmx"}"#.to_vec(),
///     credentials_sent: false,
/// }));
/// let Step::Done(outcome) = discovery.step() else { panic!() };
/// let report = Report::new("jdoe@contoso.com", &outcome, discovery.attempts());
/// let json = serde_json::to_value(&report).unwrap();
/// assert_eq!(json["ews_url"], "https://mail.contoso.com/EWS/Exchange.asmx");
/// assert_eq!(json["method"], "v2");
/// assert_eq!(json["exit_code"], 0);
/// assert_eq!(json["candidates"][0]["result"], "found");
/// ```
#[derive(Clone, Debug, Serialize)]
pub struct Report<'a> {
    /// The address asked for.
    pub email: &'a str,
    /// `found` or `failed`.
    pub status: &'static str,
    /// The EWS URL, when found.
    pub ews_url: Option<&'a str>,
    /// How it was found: `v2`, `pox-domain`, `pox-autodiscover-host`,
    /// `http-redirect`, `srv`.
    pub method: Option<Source>,
    /// The Autodiscover URL that gave it.
    pub autodiscover_url: Option<&'a str>,
    /// The address it was found for (differs after a `redirectAddr`).
    pub address: Option<&'a str>,
    /// False when the URL came only through unauthenticated channels and is
    /// outside the address's domain.
    pub trusted: Option<bool>,
    /// Every request and lookup, in order.
    pub candidates: &'a [Attempt],
    /// The message, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit code.
    pub exit_code: i32,
}

impl<'a> Report<'a> {
    /// The record of one discovery.
    pub fn new(
        email: &'a str,
        outcome: &'a Result<Found, Error>,
        attempts: &'a [Attempt],
    ) -> Report<'a> {
        match outcome {
            Ok(found) => Report {
                email,
                status: "found",
                ews_url: Some(&found.ews_url),
                method: Some(found.method),
                autodiscover_url: Some(&found.autodiscover_url),
                address: Some(&found.address),
                trusted: Some(found.trusted),
                candidates: attempts,
                error: None,
                exit_code: 0,
            },
            Err(err) => Report {
                email,
                status: "failed",
                ews_url: None,
                method: None,
                autodiscover_url: None,
                address: None,
                trusted: None,
                candidates: attempts,
                error: Some(err.to_string()),
                exit_code: err.exit_code(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_record() {
        let outcome = Err(Error::NothingReachable {
            address: "jdoe@contoso.com".into(),
            details: "GET …: the host name does not resolve".into(),
        });
        let json = serde_json::to_value(Report::new("jdoe@contoso.com", &outcome, &[])).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "email": "jdoe@contoso.com",
                "status": "failed",
                "ews_url": null,
                "method": null,
                "autodiscover_url": null,
                "address": null,
                "trusted": null,
                "candidates": [],
                "error": outcome.as_ref().unwrap_err().to_string(),
                "exit_code": 6
            })
        );
    }
}
