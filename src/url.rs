//! URLs the tool talks to, parsed and checked once.
//!
//! Every decision that depends on a URL — is it https, which server is it,
//! may a redirect be followed, what goes into a message — reads it from one
//! [`HttpUrl`], whose scheme and host are lower-cased when it is parsed, so no
//! check can be fooled by `HTTP://` or `Mail.Contoso.COM`.

use std::fmt;

use ureq::http::Uri;

/// An absolute `http://` or `https://` URL without user information.
///
/// ```
/// use ews_photo::HttpUrl;
/// let url = HttpUrl::parse("HTTPS://Mail.Contoso.com/EWS/Exchange.asmx?x=1").unwrap();
/// assert!(url.is_https());
/// assert_eq!(url.host(), "mail.contoso.com");
/// assert_eq!(url.port(), 443);
/// assert_eq!(url.as_str(), "https://mail.contoso.com/EWS/Exchange.asmx?x=1");
/// assert_eq!(url.to_string(), "https://mail.contoso.com/EWS/Exchange.asmx");
/// assert!(HttpUrl::parse("ftp://host/x").is_err());
/// assert!(HttpUrl::parse("https://user:pw@host/x").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl {
    /// The whole URL as sent: scheme and host lower-cased, no fragment.
    text: String,
    https: bool,
    host: String,
    port: u16,
    /// Where the path starts in `text`.
    path_at: usize,
}

/// Scheme, host and port: two URLs with the same origin reach the same server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// True for https.
    pub https: bool,
    /// The host, lower-cased, without IPv6 brackets.
    pub host: String,
    /// The port, the scheme's default filled in.
    pub port: u16,
}

/// A URL that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Nothing given.
    #[error("the URL is empty")]
    Empty,
    /// Not a URL at all.
    #[error("'{0}' is not a URL")]
    Malformed(String),
    /// Another scheme than http or https.
    #[error("'{0}' does not start with https:// (or http://)")]
    Scheme(String),
    /// No host.
    #[error("'{0}' names no host")]
    NoHost(String),
    /// `user:password@` in the URL: it would end up in logs and process lists.
    #[error(
        "'{0}' contains a user name or password; give the user with --user and the password with EWS_PASSWORD, --password-file or --password-stdin"
    )]
    UserInfo(String),
}

impl HttpUrl {
    /// Parses an absolute http or https URL.
    pub fn parse(text: &str) -> Result<HttpUrl, UrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::Malformed(redact(
                &text.escape_debug().to_string(),
            )));
        }
        // The fragment never goes on the wire.
        let without_fragment = text.split('#').next().unwrap_or(text);
        let uri: Uri = without_fragment
            .parse()
            .map_err(|_| UrlError::Malformed(redact(text)))?;
        let https = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(UrlError::Scheme(redact(text))),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| UrlError::NoHost(redact(text)))?;
        if authority.as_str().contains('@') {
            return Err(UrlError::UserInfo(redact(text)));
        }
        let raw_host = authority.host();
        let host = raw_host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(raw_host)
            .to_ascii_lowercase();
        if host.is_empty() {
            return Err(UrlError::NoHost(redact(text)));
        }
        let default_port = if https { 443 } else { 80 };
        let port = authority.port_u16().unwrap_or(default_port);
        let host_in_url = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let port_in_url = match authority.port_u16() {
            Some(p) if p != default_port => format!(":{p}"),
            _ => String::new(),
        };
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let (path, query) = match path_and_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_and_query, None),
        };
        // Judged (and sent) by where it really points: `/autodiscover/../owa/x`
        // is `/owa/x`, as curl and browsers send it.
        let mut path_and_query = remove_dot_segments(if path.is_empty() { "/" } else { path });
        if let Some(query) = query {
            path_and_query.push('?');
            path_and_query.push_str(query);
        }
        let scheme = if https { "https" } else { "http" };
        let prefix = format!("{scheme}://{host_in_url}{port_in_url}");
        Ok(HttpUrl {
            path_at: prefix.len(),
            text: format!("{prefix}{path_and_query}"),
            https,
            host,
            port,
        })
    }

    /// The URL to send requests to.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for `https://`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host, lower-cased, without IPv6 brackets (what TLS and SPNs name).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, the scheme's default filled in.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server this URL reaches.
    pub fn origin(&self) -> Origin {
        Origin {
            https: self.https,
            host: self.host.clone(),
            port: self.port,
        }
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        let path_and_query = &self.text[self.path_at..];
        path_and_query.split('?').next().unwrap_or(path_and_query)
    }

    /// The query, without `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.text[self.path_at..].split_once('?').map(|(_, q)| q)
    }

    /// A URL below this one's path: the query is dropped, a trailing `/` is
    /// not doubled, and `suffix_and_query` (which starts with `/`) is appended.
    ///
    /// ```
    /// use ews_photo::HttpUrl;
    /// let ews = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx/?x=1").unwrap();
    /// assert_eq!(
    ///     ews.below("/s/GetUserPhoto?size=HR48x48").as_str(),
    ///     "https://mail.contoso.com/EWS/Exchange.asmx/s/GetUserPhoto?size=HR48x48"
    /// );
    /// ```
    pub fn below(&self, suffix_and_query: &str) -> HttpUrl {
        let base = format!(
            "{}{}",
            &self.text[..self.path_at],
            self.path().trim_end_matches('/')
        );
        HttpUrl {
            text: format!("{base}{suffix_and_query}"),
            ..self.clone()
        }
    }

    /// Resolves a `Location` value against this URL as RFC 3986 §5.2 does:
    /// absolute (any other scheme than http and https is refused),
    /// scheme-relative (`//host/x`), absolute-path (`/x`), relative (`x`,
    /// `../x`), query-only (`?q=1`) or fragment-only (`#top`).
    ///
    /// ```
    /// use ews_photo::HttpUrl;
    /// let from = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
    /// assert_eq!(from.join("/ews/exchange.asmx").unwrap().as_str(), "https://mail.contoso.com/ews/exchange.asmx");
    /// assert_eq!(from.join("Other.asmx").unwrap().as_str(), "https://mail.contoso.com/EWS/Other.asmx");
    /// assert_eq!(from.join("../owa/").unwrap().as_str(), "https://mail.contoso.com/owa/");
    /// assert_eq!(from.join("HTTP://x/y").unwrap().origin().host, "x");
    /// assert!(from.join("javascript:alert(1)").is_err());
    /// ```
    pub fn join(&self, location: &str) -> Result<HttpUrl, UrlError> {
        let location = location.trim();
        if location.is_empty() {
            return Err(UrlError::Empty);
        }
        if has_scheme(location) {
            return HttpUrl::parse(location);
        }
        let scheme = if self.https { "https" } else { "http" };
        if let Some(rest) = location.strip_prefix("//") {
            return HttpUrl::parse(&format!("{scheme}://{rest}"));
        }
        let origin = &self.text[..self.path_at];
        let location = location.split('#').next().unwrap_or_default();
        if location.is_empty() {
            return Ok(self.clone());
        }
        if location.starts_with('?') {
            return HttpUrl::parse(&format!("{origin}{}{location}", self.path()));
        }
        if location.starts_with('/') {
            return HttpUrl::parse(&format!("{origin}{location}"));
        }
        let folder = match self.path().rfind('/') {
            Some(at) => &self.path()[..=at],
            None => "/",
        };
        HttpUrl::parse(&format!("{origin}{folder}{location}"))
    }
}

/// RFC 3986 §3.1: a reference starts with a scheme when `ALPHA *( ALPHA /
/// DIGIT / "+" / "-" / "." ) ":"` comes before any `/`, `?` or `#`.
fn has_scheme(reference: &str) -> bool {
    let end = reference.find(['/', '?', '#']).unwrap_or(reference.len());
    let Some(colon) = reference[..end].find(':') else {
        return false;
    };
    let scheme = &reference[..colon];
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// RFC 3986 §5.2.4: `.` and `..` segments resolved.
fn remove_dot_segments(path: &str) -> String {
    if !path.split('/').any(|s| s == "." || s == "..") {
        return path.to_string();
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    out.pop();
                }
                // `/a/b/..` is the folder `/a/`.
                if i == last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    format!("/{}", out.join("/"))
}

/// A URL for a message: no user information or query (either may hold a secret).
fn redact(text: &str) -> String {
    redact_userinfo(text.split(['?', '#']).next().unwrap_or(text))
}

/// The URL for messages and logs: without the query (which may carry an
/// address or a token) and without a fragment.
impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text[..self.path_at])?;
        f.write_str(self.path())
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpUrl({self})")
    }
}

/// Percent-encodes every byte but RFC 3986's unreserved characters
/// (`A-Z a-z 0-9 - . _ ~`) and those in `keep`: `keep = b""` for a query
/// value, more of the sub-delimiters for a path segment.
///
/// ```
/// use ews_photo::url::percent_encode;
/// assert_eq!(percent_encode("o'neil+x@h", b""), "o%27neil%2Bx%40h");
/// assert_eq!(percent_encode("o'neil+x@h", b"@"), "o%27neil%2Bx@h");
/// assert_eq!(percent_encode("é #", b""), "%C3%A9%20%23");
/// ```
pub fn percent_encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) || keep.contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A proxy URL for messages: `http://user:pw@proxy` becomes `http://<redacted>@proxy`.
///
/// ```
/// assert_eq!(ews_photo::url::redact_userinfo("http://u:pw@proxy:8080/x@y"), "http://<redacted>@proxy:8080/x@y");
/// ```
pub fn redact_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find('/').unwrap_or(rest.len());
            match rest[..end].rfind('@') {
                Some(at) => format!("{scheme}://<redacted>@{}", &rest[at + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_spelling_is_the_same_scheme() {
        for text in [
            "http://h/EWS",
            "HTTP://h/EWS",
            "Http://h/EWS",
            "hTtP://h/EWS",
        ] {
            let url = HttpUrl::parse(text).unwrap();
            assert!(!url.is_https(), "{text}");
            assert!(url.as_str().starts_with("http://"), "{text}");
        }
        for text in ["https://h/EWS", "HTTPS://h/EWS", "HttpS://h/EWS"] {
            assert!(HttpUrl::parse(text).unwrap().is_https(), "{text}");
        }
    }

    #[test]
    fn hosts_ports_and_origins() {
        let url = HttpUrl::parse("https://Mail.Contoso.com/EWS/Exchange.asmx").unwrap();
        assert_eq!((url.host(), url.port()), ("mail.contoso.com", 443));
        let url = HttpUrl::parse("http://127.0.0.1:8080/EWS?x").unwrap();
        assert_eq!((url.host(), url.port()), ("127.0.0.1", 8080));
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/EWS?x");
        assert_eq!(url.to_string(), "http://127.0.0.1:8080/EWS");
        let url = HttpUrl::parse("https://[::1]:8443/EWS").unwrap();
        assert_eq!((url.host(), url.port()), ("::1", 8443));
        assert_eq!(url.as_str(), "https://[::1]:8443/EWS");
        // The default port is the same origin as no port.
        assert_eq!(
            HttpUrl::parse("https://h:443/a").unwrap().origin(),
            HttpUrl::parse("HTTPS://H/b").unwrap().origin()
        );
        assert_ne!(
            HttpUrl::parse("http://h/a").unwrap().origin(),
            HttpUrl::parse("https://h/a").unwrap().origin()
        );
        assert_eq!(HttpUrl::parse("https://h").unwrap().as_str(), "https://h/");
        assert_eq!(
            HttpUrl::parse("https://h/x#frag").unwrap().as_str(),
            "https://h/x"
        );
    }

    #[test]
    fn unusable_urls_are_refused_without_echoing_secrets() {
        assert_eq!(HttpUrl::parse(" "), Err(UrlError::Empty));
        assert!(matches!(
            HttpUrl::parse("mail.contoso.com/EWS"),
            Err(UrlError::Scheme(_) | UrlError::Malformed(_))
        ));
        assert!(matches!(
            HttpUrl::parse("ftp://h/x"),
            Err(UrlError::Scheme(_))
        ));
        let err = HttpUrl::parse("https://jdoe:S3cret@h/x?token=abc").unwrap_err();
        assert!(matches!(err, UrlError::UserInfo(_)));
        let text = err.to_string();
        assert!(!text.contains("S3cret") && !text.contains("abc"), "{text}");
    }

    #[test]
    fn below_and_join() {
        let ews = HttpUrl::parse("http://h/EWS/Exchange.asmx/?x=1").unwrap();
        assert_eq!(
            ews.below("/s/GetUserPhoto?email=u%40h").as_str(),
            "http://h/EWS/Exchange.asmx/s/GetUserPhoto?email=u%40h"
        );
        let from = HttpUrl::parse("https://h/EWS/Exchange.asmx").unwrap();
        assert_eq!(from.join("//other/x").unwrap().as_str(), "https://other/x");
        assert_eq!(from.join("/").unwrap().as_str(), "https://h/");
    }

    #[test]
    fn join_follows_rfc_3986() {
        let base = HttpUrl::parse("https://contoso.com/autodiscover/autodiscover.xml").unwrap();
        let join = |l: &str| base.join(l).unwrap().as_str().to_string();
        assert_eq!(join("https://other.example/x"), "https://other.example/x");
        assert_eq!(join("//other.example/y"), "https://other.example/y");
        assert_eq!(
            join("/Autodiscover/Autodiscover.xml"),
            "https://contoso.com/Autodiscover/Autodiscover.xml"
        );
        assert_eq!(
            join("other.xml"),
            "https://contoso.com/autodiscover/other.xml"
        );
        assert_eq!(
            join("../x/autodiscover.xml"),
            "https://contoso.com/x/autodiscover.xml"
        );
        assert_eq!(
            join("?q=1"),
            "https://contoso.com/autodiscover/autodiscover.xml?q=1"
        );
        assert_eq!(
            join("#top"),
            "https://contoso.com/autodiscover/autodiscover.xml"
        );
        // A URL in the query is not the scheme of the reference.
        assert_eq!(
            join("x.xml?next=https://evil/"),
            "https://contoso.com/autodiscover/x.xml?next=https://evil/"
        );
        for refused in [
            "",
            "  ",
            "javascript:alert(1)",
            "mailto:x@y",
            "https://u@evil/",
            "a b.xml",
        ] {
            assert!(base.join(refused).is_err(), "{refused:?} was accepted");
        }
    }

    #[test]
    fn dot_segments_are_resolved() {
        let path = |text: &str| HttpUrl::parse(text).unwrap().path().to_string();
        assert_eq!(path("https://h/a/b/../c"), "/a/c");
        assert_eq!(path("https://h/a/./b/."), "/a/b/");
        assert_eq!(path("https://h/../../x"), "/x");
        assert_eq!(path("https://h/a/.."), "/");
        assert_eq!(
            path("https://h/autodiscover/../owa/autodiscover.xml"),
            "/owa/autodiscover.xml"
        );
        // Only the path: a query keeps its dots.
        assert_eq!(
            HttpUrl::parse("https://h/a/../b?x=../y").unwrap().as_str(),
            "https://h/b?x=../y"
        );
        assert_eq!(
            remove_dot_segments("/EWS/Exchange.asmx"),
            "/EWS/Exchange.asmx"
        );
    }
}
