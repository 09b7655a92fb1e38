//! The `discover --json` record, shaped like the other commands' records
//! (`email`, `status`, `error` when failed, `exit_code`).

use serde::Serialize;

use super::Lookup;
use crate::autodiscover::{Attempt, Source};

/// One `discover --json` line.
///
/// ```
/// use ews_photo::autodiscover::Source;
/// use ews_photo::discover::{Lookup, Report};
/// let lookup = Lookup {
///     email: "jdoe@contoso.com".into(),
///     outcome: Err(ews_photo::autodiscover::Error::NothingReachable {
///         address: "jdoe@contoso.com".into(),
///         details: "…".into(),
///     }),
///     attempts: vec![],
///     cached: None,
///     cache_warning: None,
/// };
/// let json = serde_json::to_value(Report::new(&lookup)).unwrap();
/// assert_eq!(json["status"], "failed");
/// assert_eq!(json["exit_code"], 6);
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
    /// True when the result came from the cache (then `candidates` is empty).
    pub cached: bool,
    /// Every request and lookup, in order.
    pub candidates: &'a [Attempt],
    /// The message, when failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The exit code.
    pub exit_code: u8,
}

impl<'a> Report<'a> {
    /// The record of one lookup.
    pub fn new(lookup: &'a Lookup) -> Report<'a> {
        let base = Report {
            email: &lookup.email,
            status: "found",
            ews_url: None,
            method: None,
            autodiscover_url: None,
            address: None,
            trusted: None,
            cached: lookup.cached.is_some(),
            candidates: &lookup.attempts,
            error: None,
            exit_code: 0,
        };
        match &lookup.outcome {
            Ok(found) => Report {
                ews_url: Some(found.ews_url.as_str()),
                method: Some(found.method),
                autodiscover_url: Some(found.autodiscover_url.as_str()),
                address: Some(&found.address),
                trusted: Some(found.trusted),
                ..base
            },
            Err(err) => Report {
                status: "failed",
                error: Some(err.to_string()),
                exit_code: crate::Error::from(err.clone()).exit().code(),
                ..base
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HttpUrl;
    use crate::autodiscover::{Error, Found};

    #[test]
    fn a_failure_record() {
        let lookup = Lookup {
            email: "jdoe@contoso.com".into(),
            outcome: Err(Error::NoEwsUrl {
                address: "jdoe@contoso.com".into(),
                details: "POST …: Autodiscover error 500".into(),
            }),
            attempts: vec![],
            cached: None,
            cache_warning: None,
        };
        let json = serde_json::to_value(Report::new(&lookup)).unwrap();
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
                "cached": false,
                "candidates": [],
                "error": lookup.outcome.as_ref().unwrap_err().to_string(),
                "exit_code": 1
            })
        );
    }

    #[test]
    fn a_cached_hit() {
        let url = |t: &str| HttpUrl::parse(t).unwrap();
        let lookup = Lookup {
            email: "jdoe@contoso.com".into(),
            outcome: Ok(Found {
                ews_url: url("https://mail.contoso.com/EWS/Exchange.asmx"),
                method: Source::PoxDomain,
                autodiscover_url: url("https://contoso.com/autodiscover/autodiscover.xml"),
                address: "jdoe@contoso.com".into(),
                trusted: true,
            }),
            attempts: vec![],
            cached: Some(std::time::Duration::from_secs(60)),
            cache_warning: None,
        };
        let json = serde_json::to_value(Report::new(&lookup)).unwrap();
        assert_eq!(
            json["ews_url"],
            "https://mail.contoso.com/EWS/Exchange.asmx"
        );
        assert_eq!(json["method"], "pox-domain");
        assert_eq!(json["cached"], true);
        assert_eq!(json["exit_code"], 0);
        assert!(json.get("error").is_none());
    }
}
