//! The few URL operations Autodiscover needs: parse an absolute http(s) URL,
//! resolve a `Location` against it, compare two URLs for loop detection.
//!
//! Kept private and small on purpose: the crate-wide URL type replaces it when
//! the module is wired into the client.

use std::fmt;

/// An absolute `http://` or `https://` URL without user information or fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Url {
    https: bool,
    /// Lower-cased; IPv6 addresses keep their brackets.
    host: String,
    /// Only when it differs from the scheme's default.
    port: Option<u16>,
    /// Starts with `/`, dot segments removed.
    path: String,
    query: Option<String>,
}

impl Url {
    /// Parses an absolute URL.
    pub(crate) fn parse(text: &str) -> Result<Url, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an empty URL".into());
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "'{}' contains spaces or control characters",
                text.escape_debug()
            ));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| format!("'{text}' is not an absolute URL"))?;
        let https = match scheme.to_ascii_lowercase().as_str() {
            "https" => true,
            "http" => false,
            _ => return Err(format!("'{text}' is neither http:// nor https://")),
        };
        let (authority, path_and_more) = match rest.find(['/', '?', '#']) {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let (host, port) = parse_authority(authority).map_err(|why| format!("'{text}': {why}"))?;
        let (path, query) = split_path(path_and_more);
        let port = port.filter(|&p| p != if https { 443 } else { 80 });
        Ok(Url {
            https,
            host,
            port,
            path: remove_dot_segments(if path.is_empty() { "/" } else { path }),
            query,
        })
    }

    /// Resolves a `Location` header value (absolute, scheme-relative,
    /// absolute-path or relative) against this URL, as RFC 3986 §5.2 does.
    pub(crate) fn join(&self, location: &str) -> Result<Url, String> {
        let location = location.trim();
        if location.is_empty() {
            return Err("an empty Location".into());
        }
        if has_scheme(location) {
            return Url::parse(location);
        }
        if location
            .chars()
            .any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(format!(
                "'{}' contains spaces or control characters",
                location.escape_debug()
            ));
        }
        if let Some(rest) = location.strip_prefix("//") {
            let scheme = if self.https { "https" } else { "http" };
            return Url::parse(&format!("{scheme}://{rest}"));
        }
        let (path, query) = split_path(location);
        let mut joined = self.clone();
        if path.is_empty() {
            // "?x=1" keeps the path; "#frag" keeps everything.
            if query.is_some() {
                joined.query = query;
            }
            return Ok(joined);
        }
        let merged = if path.starts_with('/') {
            path.to_string()
        } else {
            let directory = &self.path[..=self.path.rfind('/').unwrap_or(0)];
            format!("{directory}{path}")
        };
        joined.path = remove_dot_segments(&merged);
        joined.query = query;
        Ok(joined)
    }

    /// True for https.
    pub(crate) fn is_https(&self) -> bool {
        self.https
    }

    /// The host, lower-cased (IPv6 in brackets).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// The path, starting with `/`.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The URL as compared for loop detection: IIS paths are case-insensitive,
    /// so `/Autodiscover/Autodiscover.xml` and `/autodiscover/autodiscover.xml`
    /// are one endpoint.
    pub(crate) fn loop_key(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        f.write_str(&self.path)?;
        if let Some(query) = &self.query {
            write!(f, "?{query}")?;
        }
        Ok(())
    }
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"` before any
/// `/`, `?` or `#`.
fn has_scheme(reference: &str) -> bool {
    let Some(colon) = reference.find(':') else {
        return false;
    };
    let scheme = &reference[..colon];
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

fn parse_authority(authority: &str) -> Result<(String, Option<u16>), String> {
    if authority.contains('@') {
        return Err("user information in a URL is not accepted".into());
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or("an IPv6 address without its closing ]")?;
        if inside.is_empty()
            || !inside
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(format!("'[{inside}]' is not an IPv6 address"));
        }
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or("junk after the IPv6 address")?,
            ),
        };
        (format!("[{}]", inside.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err("no host".into());
        }
        if !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        {
            return Err(format!("'{host}' is not a host name"));
        }
        (host.trim_end_matches('.').to_ascii_lowercase(), port)
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => None,
        Some(digits) => match digits.parse::<u16>() {
            Ok(p) if p > 0 && digits.chars().all(|c| c.is_ascii_digit()) => Some(p),
            _ => return Err(format!("'{digits}' is not a port")),
        },
    };
    Ok((host, port))
}

/// Splits "path?query#fragment"; the fragment is dropped (never sent).
fn split_path(text: &str) -> (&str, Option<String>) {
    let text = text.split('#').next().unwrap_or_default();
    match text.split_once('?') {
        Some((path, query)) => (path, Some(query.to_string())),
        None => (text, None),
    }
}

/// RFC 3986 §5.2.4, so that `/autodiscover/../x/autodiscover.xml` is judged by
/// where it really points.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let url = Url::parse("HTTPS://Mail.Contoso.COM:443/EWS/Exchange.asmx?a=1#frag").unwrap();
        assert!(url.is_https());
        assert_eq!(url.host(), "mail.contoso.com");
        assert_eq!(
            url.to_string(),
            "https://mail.contoso.com/EWS/Exchange.asmx?a=1"
        );
        assert_eq!(Url::parse("http://h").unwrap().to_string(), "http://h/");
        assert_eq!(
            Url::parse("https://h:8443/x").unwrap().to_string(),
            "https://h:8443/x"
        );
        assert_eq!(Url::parse("https://[::1]:8443/x").unwrap().host(), "[::1]");
        assert_eq!(Url::parse("https://host./x").unwrap().host(), "host");
    }

    #[test]
    fn refuses_what_is_not_a_plain_http_url() {
        for bad in [
            "",
            "XXX",
            "ftp://h/x",
            "https://user:pw@h/x",
            "https:///x",
            "https://h:0/x",
            "https://h:99999/x",
            "https://h:+1/x",
            "https://h x/",
            "https://h/a b",
            "https://h\u{0}/",
            "https://[zz]/",
            "https://[::1/",
            "https://ho%73t/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn joins_locations_as_browsers_do() {
        let base = Url::parse("https://contoso.com/autodiscover/autodiscover.xml").unwrap();
        let join = |l: &str| base.join(l).unwrap().to_string();
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
        assert_eq!(
            join("x.xml?next=https://evil/"),
            "https://contoso.com/autodiscover/x.xml?next=https://evil/"
        );
        assert!(base.join("").is_err());
        assert!(base.join("javascript:alert(1)").is_err());
        assert!(base.join("https://u@evil/").is_err());
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(remove_dot_segments("/a/b/../c"), "/a/c");
        assert_eq!(remove_dot_segments("/a/./b/."), "/a/b/");
        assert_eq!(remove_dot_segments("/../../x"), "/x");
        assert_eq!(remove_dot_segments("/a/.."), "/");
    }

    #[test]
    fn loop_key_ignores_case() {
        let a = Url::parse("https://Contoso.com/Autodiscover/Autodiscover.xml").unwrap();
        let b = Url::parse("https://contoso.com:443/autodiscover/autodiscover.XML").unwrap();
        assert_eq!(a.loop_key(), b.loop_key());
    }
}
