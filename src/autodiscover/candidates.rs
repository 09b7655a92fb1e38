//! The endpoints to try for an address, in the standard order.
//!
//! Autodiscover v2 first (one unauthenticated GET that Exchange 2016 and later
//! and Exchange Online answer), then POX on the address's domain and on
//! `autodiscover.{domain}`, then the two "last chance" steps of the EWS Managed
//! API: the unauthenticated plain-http GET that may only redirect, and the DNS
//! SRV record. (The SCP lookup in Active Directory, which domain-joined Windows
//! clients do first, has no place in a cross-platform tool.)

use serde::{Deserialize, Serialize};

use super::Error;
use crate::http::Method;
use crate::url::percent_encode;

/// Where a candidate comes from; also the `method` of a result and the
/// `source` of each `candidates` entry in `discover --json`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// `GET https://autodiscover.{domain}/autodiscover/autodiscover.json/v1.0/{email}?Protocol=EWS`.
    V2,
    /// `POST https://{domain}/autodiscover/autodiscover.xml`.
    PoxDomain,
    /// `POST https://autodiscover.{domain}/autodiscover/autodiscover.xml`.
    PoxAutodiscoverHost,
    /// `GET http://autodiscover.{domain}/autodiscover/autodiscover.xml`, which may
    /// only redirect to an https Autodiscover URL; the POX request goes there.
    HttpRedirect,
    /// The DNS SRV record `_autodiscover._tcp.{domain}`; the POX request goes to
    /// `https://{target}/autodiscover/autodiscover.xml`.
    Srv,
}

impl Source {
    /// A short human name, for `discover -v`.
    ///
    /// ```
    /// use ews_photo::autodiscover::Source;
    /// assert_eq!(Source::Srv.describe(), "DNS SRV record");
    /// ```
    pub fn describe(self) -> &'static str {
        match self {
            Source::V2 => "Autodiscover v2",
            Source::PoxDomain => "POX on the domain",
            Source::PoxAutodiscoverHost => "POX on autodiscover.{domain}",
            Source::HttpRedirect => "plain-http redirect",
            Source::Srv => "DNS SRV record",
        }
    }
}

/// The path of the POX endpoint.
pub const POX_PATH: &str = "/autodiscover/autodiscover.xml";

/// One thing to try for an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Candidate {
    /// An HTTP request.
    Http {
        /// Which step of the standard order.
        source: Source,
        /// `GET` (v2, the plain-http probe) or `POST` (POX).
        method: Method,
        /// The full URL.
        url: String,
    },
    /// A DNS SRV lookup of this name.
    Srv {
        /// `_autodiscover._tcp.{domain}`.
        name: String,
    },
}

/// The domain of an address, lower-cased, checked to be a DNS name.
///
/// ```
/// use ews_photo::autodiscover::domain_of;
/// assert_eq!(domain_of("Alice@Contoso.COM").unwrap(), "contoso.com");
/// assert!(domain_of("alice").is_err());
/// assert!(domain_of("alice@bücher.example").is_err()); // IDNs go in as xn--…
/// ```
pub fn domain_of(address: &str) -> Result<String, Error> {
    let bad = |reason: &str| Error::BadAddress {
        address: address.to_string(),
        reason: reason.to_string(),
    };
    let address = address.trim();
    let (local, domain) = address.rsplit_once('@').ok_or_else(|| bad("it has no @"))?;
    if local.is_empty() {
        return Err(bad("nothing before the @"));
    }
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain.is_empty() {
        return Err(bad("nothing after the @"));
    }
    if !domain.is_ascii() {
        return Err(bad(
            "the domain is not ASCII; write an internationalised domain in its xn-- form",
        ));
    }
    if domain.len() > 253 {
        return Err(bad("the domain is longer than 253 characters"));
    }
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(bad("the domain is malformed"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(bad("the domain has characters a host name cannot have"));
        }
    }
    Ok(domain)
}

/// The name whose SRV record points to the Autodiscover server.
///
/// ```
/// assert_eq!(ews_photo::autodiscover::srv_name("contoso.com"), "_autodiscover._tcp.contoso.com");
/// ```
pub fn srv_name(domain: &str) -> String {
    format!("_autodiscover._tcp.{domain}")
}

/// The Autodiscover v2 URL for an address.
///
/// ```
/// use ews_photo::autodiscover::v2_url;
/// assert_eq!(
///     v2_url("contoso.com", "jdoe@contoso.com"),
///     "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS"
/// );
/// ```
pub fn v2_url(domain: &str, address: &str) -> String {
    format!(
        "https://autodiscover.{domain}/autodiscover/autodiscover.json/v1.0/{}?Protocol=EWS",
        percent_encode(address.trim(), b"!$&'()*+,;=:@")
    )
}

/// The POX URL on a host.
pub fn pox_url(host: &str) -> String {
    format!("https://{host}{POX_PATH}")
}

/// Every candidate for an address, in the order they are tried.
///
/// ```
/// use ews_photo::autodiscover::{candidates, Candidate, Source};
/// let list = candidates("jdoe@contoso.com").unwrap();
/// let urls: Vec<String> = list.iter().map(|c| match c {
///     Candidate::Http { method, url, .. } => format!("{} {url}", method.as_str()),
///     Candidate::Srv { name } => format!("SRV {name}"),
/// }).collect();
/// assert_eq!(urls, [
///     "GET https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS",
///     "POST https://contoso.com/autodiscover/autodiscover.xml",
///     "POST https://autodiscover.contoso.com/autodiscover/autodiscover.xml",
///     "GET http://autodiscover.contoso.com/autodiscover/autodiscover.xml",
///     "SRV _autodiscover._tcp.contoso.com",
/// ]);
/// ```
pub fn candidates(address: &str) -> Result<Vec<Candidate>, Error> {
    let domain = domain_of(address)?;
    let http = |source, method, url| Candidate::Http {
        source,
        method,
        url,
    };
    Ok(vec![
        http(Source::V2, Method::Get, v2_url(&domain, address)),
        http(Source::PoxDomain, Method::Post, pox_url(&domain)),
        http(
            Source::PoxAutodiscoverHost,
            Method::Post,
            pox_url(&format!("autodiscover.{domain}")),
        ),
        http(
            Source::HttpRedirect,
            Method::Get,
            format!("http://autodiscover.{domain}{POX_PATH}"),
        ),
        Candidate::Srv {
            name: srv_name(&domain),
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(domain_of(" jdoe@Contoso.com. ").unwrap(), "contoso.com");
        assert_eq!(domain_of("\"a@b\"@contoso.com").unwrap(), "contoso.com");
        assert_eq!(domain_of("x@localhost").unwrap(), "localhost");
        for bad in [
            "",
            "@contoso.com",
            "a@",
            "a@.",
            "a@-x.com",
            "a@x..com",
            "a@x/y.com",
            "a@x y.com",
        ] {
            assert!(domain_of(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("a@{}.com", "x".repeat(64));
        assert!(domain_of(&long).is_err());
    }

    #[test]
    fn the_address_is_encoded_in_the_v2_path() {
        assert_eq!(
            v2_url("contoso.com", "o'neil+tag&co@contoso.com"),
            "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/o'neil+tag&co@contoso.com?Protocol=EWS"
        );
        assert_eq!(
            v2_url("contoso.com", "a/b?c#d%e f@contoso.com"),
            "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/a%2Fb%3Fc%23d%25e%20f@contoso.com?Protocol=EWS"
        );
    }

    #[test]
    fn a_bad_address_gives_no_candidates() {
        let err = candidates("alice").unwrap_err();
        assert!(err.to_string().contains("it has no @"), "{err}");
    }
}
