//! Which redirects Autodiscover follows.
//!
//! The rules of the EWS Managed API (`AutodiscoverService.TryGetRedirectionResponse`,
//! `AutodiscoverRequest.IsRedirectionResponse`): only HTTP 301, 302, 303 and 307,
//! only to https, only to an Autodiscover path; at most ten redirects in all,
//! URL and address redirects counted together. The same rules apply to a POX
//! `redirectUrl`, since the next request (with credentials, if the server asks)
//! goes there just the same.

use crate::HttpUrl;

/// The most redirects (HTTP, `redirectUrl` and `redirectAddr` together) one
/// discovery follows, as the EWS Managed API's `AutodiscoverMaxRedirections`.
pub const MAX_HOPS: usize = 10;

/// True for the statuses that redirect an Autodiscover request: 301, 302, 303
/// and 307. (308 is not among them in the EWS Managed API, so not here either.)
///
/// ```
/// use ews_photo::autodiscover::redirect::is_redirect_status;
/// assert!(is_redirect_status(302));
/// assert!(!is_redirect_status(308));
/// ```
pub fn is_redirect_status(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307)
}

/// The kind of Autodiscover endpoint a redirect must lead to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `…/autodiscover/…/autodiscover.xml`.
    Pox,
    /// `…/autodiscover/autodiscover.json…`.
    V2,
}

/// Why a redirect is not followed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectRefused {
    /// A redirect status without a `Location`.
    #[error("a redirect without a Location header")]
    NoLocation,
    /// The target is not a usable URL (why).
    #[error("a redirect to something that is not a usable URL: {0}")]
    BadUrl(String),
    /// The target is not https: nothing is sent in the clear.
    #[error("a redirect to {0}, which is not https")]
    NotHttps(String),
    /// The target is https, but no Autodiscover endpoint.
    #[error("a redirect to {0}, which is not an Autodiscover URL")]
    NotAutodiscover(String),
}

/// True when a path leads to an Autodiscover endpoint of that kind.
///
/// POX: a segment `autodiscover`, later the last segment `autodiscover.xml`
/// (the EWS Managed API's `/autodiscover/([^/]+/)*autodiscover.xml`), any case.
/// v2: a segment `autodiscover` followed by `autodiscover.json`.
///
/// ```
/// use ews_photo::autodiscover::redirect::{is_autodiscover_path, Endpoint};
/// assert!(is_autodiscover_path("/Autodiscover/Autodiscover.xml", Endpoint::Pox));
/// assert!(is_autodiscover_path("/mail/autodiscover/eu/autodiscover.xml", Endpoint::Pox));
/// assert!(!is_autodiscover_path("/OtherPath/Autodiscover.xml", Endpoint::Pox));
/// assert!(is_autodiscover_path("/autodiscover/autodiscover.json/v1.0/a@b.c", Endpoint::V2));
/// ```
pub fn is_autodiscover_path(path: &str, endpoint: Endpoint) -> bool {
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    match endpoint {
        Endpoint::Pox => match segments.split_last() {
            Some((last, before)) => {
                last == "autodiscover.xml" && before.iter().any(|s| s == "autodiscover")
            }
            None => false,
        },
        Endpoint::V2 => segments
            .windows(2)
            .any(|pair| pair[0] == "autodiscover" && pair[1] == "autodiscover.json"),
    }
}

/// Checks an absolute target (a POX `RedirectUrl`) and returns it parsed.
///
/// ```
/// use ews_photo::autodiscover::redirect::{check_target, Endpoint};
/// assert_eq!(
///     check_target("https://Mail.Contoso.com/Autodiscover/Autodiscover.xml", Endpoint::Pox).unwrap().as_str(),
///     "https://mail.contoso.com/Autodiscover/Autodiscover.xml"
/// );
/// assert!(check_target("http://mail.contoso.com/autodiscover/autodiscover.xml", Endpoint::Pox).is_err());
/// assert!(check_target("https://mail.contoso.com/EWS/Exchange.asmx", Endpoint::Pox).is_err());
/// ```
pub fn check_target(target: &str, endpoint: Endpoint) -> Result<HttpUrl, RedirectRefused> {
    let url = HttpUrl::parse(target).map_err(|e| RedirectRefused::BadUrl(e.to_string()))?;
    check(url, endpoint)
}

/// Resolves a redirect's `Location` against the URL that answered and checks
/// the result.
///
/// ```
/// use ews_photo::HttpUrl;
/// use ews_photo::autodiscover::redirect::{follow, Endpoint};
/// let from = HttpUrl::parse("http://autodiscover.contoso.com/autodiscover/autodiscover.xml").unwrap();
/// assert_eq!(
///     follow(&from, Some("https://mail.contoso.com/autodiscover/autodiscover.xml"), Endpoint::Pox).unwrap().as_str(),
///     "https://mail.contoso.com/autodiscover/autodiscover.xml"
/// );
/// // Relative to an http URL is still http: refused.
/// assert!(follow(&from, Some("/autodiscover/autodiscover.xml"), Endpoint::Pox).is_err());
/// ```
pub fn follow(
    from: &HttpUrl,
    location: Option<&str>,
    endpoint: Endpoint,
) -> Result<HttpUrl, RedirectRefused> {
    let location = location
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .ok_or(RedirectRefused::NoLocation)?;
    let url = from
        .join(location)
        .map_err(|e| RedirectRefused::BadUrl(e.to_string()))?;
    check(url, endpoint)
}

fn check(url: HttpUrl, endpoint: Endpoint) -> Result<HttpUrl, RedirectRefused> {
    if !url.is_https() {
        return Err(RedirectRefused::NotHttps(url.as_str().to_string()));
    }
    if !is_autodiscover_path(url.path(), endpoint) {
        return Err(RedirectRefused::NotAutodiscover(url.as_str().to_string()));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pox() -> HttpUrl {
        HttpUrl::parse("https://contoso.com/autodiscover/autodiscover.xml").unwrap()
    }

    #[test]
    fn statuses_of_the_ews_managed_api() {
        let followed: Vec<u16> = (100..600).filter(|&s| is_redirect_status(s)).collect();
        assert_eq!(followed, [301, 302, 303, 307]);
    }

    #[test]
    fn pox_paths() {
        for good in [
            "/autodiscover/autodiscover.xml",
            "/AutoDiscover/AutoDiscover.XML",
            "/autodiscover/x/y/autodiscover.xml",
            "/prefix/autodiscover/autodiscover.xml",
        ] {
            assert!(is_autodiscover_path(good, Endpoint::Pox), "{good}");
        }
        for bad in [
            "/",
            "/autodiscover.xml",
            "/autodiscover/autodiscover.xml/x",
            "/autodiscover/autodiscover.json",
            "/autodiscover/autodiscover.svc",
            "/EWS/Exchange.asmx",
            "/autodiscover/autodiscover%2Exml",
            "/OtherPath/Autodiscover.xml",
        ] {
            assert!(!is_autodiscover_path(bad, Endpoint::Pox), "{bad}");
        }
    }

    #[test]
    fn v2_paths() {
        assert!(is_autodiscover_path(
            "/autodiscover/autodiscover.json",
            Endpoint::V2
        ));
        assert!(is_autodiscover_path(
            "/Autodiscover/Autodiscover.json/v1.0/a@contoso.com",
            Endpoint::V2
        ));
        assert!(!is_autodiscover_path(
            "/autodiscover/autodiscover.xml",
            Endpoint::V2
        ));
        assert!(!is_autodiscover_path("/autodiscover.json", Endpoint::V2));
    }

    #[test]
    fn locations() {
        let follow_pox = |l: &str| follow(&pox(), Some(l), Endpoint::Pox);
        assert_eq!(
            follow_pox("/Autodiscover/Autodiscover.xml")
                .unwrap()
                .as_str(),
            "https://contoso.com/Autodiscover/Autodiscover.xml"
        );
        assert_eq!(
            follow_pox("https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml")
                .unwrap()
                .as_str(),
            "https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml"
        );
        assert_eq!(
            follow(&pox(), None, Endpoint::Pox),
            Err(RedirectRefused::NoLocation)
        );
        assert_eq!(
            follow(&pox(), Some("  "), Endpoint::Pox),
            Err(RedirectRefused::NoLocation)
        );
        // exchangelib's "invalid 301" fixture.
        assert!(matches!(
            follow_pox("XXX"),
            Err(RedirectRefused::NotAutodiscover(_))
        ));
        assert!(matches!(
            follow_pox("http://contoso.com/autodiscover/autodiscover.xml"),
            Err(RedirectRefused::NotHttps(_))
        ));
        // A web host that sends everything to its home page.
        assert!(matches!(
            follow_pox("https://www.contoso.com/"),
            Err(RedirectRefused::NotAutodiscover(_))
        ));
        // Dot segments cannot smuggle another path past the check.
        assert!(matches!(
            follow_pox("/autodiscover/../owa/autodiscover.xml"),
            Err(RedirectRefused::NotAutodiscover(_))
        ));
        assert!(matches!(
            follow_pox("https://user:pw@evil.example/autodiscover/autodiscover.xml"),
            Err(RedirectRefused::BadUrl(_))
        ));
    }

    #[test]
    fn exchangelib_fixture_other_path_is_refused() {
        // exchangelib followed a 301 to /OtherPath/Autodiscover.xml; the EWS
        // Managed API's path rule, which this module follows, does not.
        let refused = follow(
            &pox(),
            Some("https://httpbin.org/OtherPath/Autodiscover.xml"),
            Endpoint::Pox,
        );
        assert_eq!(
            refused.unwrap_err().to_string(),
            "a redirect to https://httpbin.org/OtherPath/Autodiscover.xml, which is not an Autodiscover URL"
        );
    }
}
