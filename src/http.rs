//! HTTP requests and replies as plain data: what the back ends build and
//! interpret, and what the transport sends and receives.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{HttpUrl, Secret};

/// The methods the tool uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// One HTTP request.
///
/// ```
/// use ews_photo::{HttpRequest, HttpUrl};
/// let url = HttpUrl::parse("https://graph.microsoft.com/v1.0/users/a@b.c/photo").unwrap();
/// let request = HttpRequest::get(url).header("Accept", "application/json");
/// assert_eq!(request.headers, [("Accept", "application/json".to_string())]);
/// ```
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: Method,
    /// Where to.
    pub url: HttpUrl,
    /// Headers other than `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// The `Authorization` value, kept apart so that logs can redact it.
    pub authorization: Option<Secret>,
    /// The body of a `POST`.
    pub body: Option<Vec<u8>>,
}

impl HttpRequest {
    /// A `GET` without headers.
    pub fn get(url: HttpUrl) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url,
            headers: Vec::new(),
            authorization: None,
            body: None,
        }
    }

    /// A `POST` of `body`.
    pub fn post(url: HttpUrl, body: Vec<u8>) -> HttpRequest {
        HttpRequest {
            method: Method::Post,
            body: Some(body),
            ..HttpRequest::get(url)
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> HttpRequest {
        self.headers.push((name, value.into()));
        self
    }
}

/// An HTTP answer, as the transport received it.
#[derive(Clone, Debug, Default)]
pub struct HttpReply {
    /// The status code, e.g. 200 or 401.
    pub status: u16,
    /// Header names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpReply {
    /// A reply, for tests and for back ends that unpack one from another
    /// (a `$batch` part); header names are lower-cased.
    ///
    /// ```
    /// let reply = ews_photo::HttpReply::new(404, &[("Content-Type", "text/html")], b"<html>");
    /// assert_eq!(reply.media_type().as_deref(), Some("text/html"));
    /// ```
    pub fn new(status: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
        HttpReply {
            status,
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    /// The first value of a header, by lower-case name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, by lower-case name.
    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-cased.
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The `ETag`, without quotes or `W/`.
    pub fn etag(&self) -> Option<String> {
        self.header("etag")
            .map(normalize_etag)
            .filter(|e| !e.is_empty())
    }

    /// The `Expires` header, as sent.
    pub fn expires(&self) -> Option<String> {
        self.header("expires")
            .map(|v| v.trim().to_string())
            .filter(|e| !e.is_empty())
    }

    /// `Retry-After` ([`parse_retry_after`]: seconds, or an HTTP-date).
    ///
    /// ```
    /// use ews_photo::HttpReply;
    /// let reply = HttpReply { status: 429, headers: vec![("retry-after".into(), " 7 ".into())], body: vec![] };
    /// assert_eq!(reply.retry_after(), Some(std::time::Duration::from_secs(7)));
    /// ```
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| parse_retry_after(v, SystemTime::now()))
    }

    /// "an empty body", "a text/html body of 120 bytes": for messages.
    pub fn describe_body(&self) -> String {
        if self.body.is_empty() {
            return "an empty body".into();
        }
        match self.media_type() {
            Some(kind) => format!("a {kind} body of {} bytes", self.body.len()),
            None => format!("a body of {} bytes", self.body.len()),
        }
    }

    /// True when the body starts like an HTML page (a sign-in page from a
    /// reverse proxy, an IIS error page).
    pub fn looks_like_html(&self) -> bool {
        if self.media_type().as_deref() == Some("text/html") {
            return true;
        }
        let start = &self.body[..self.body.len().min(512)];
        let start = String::from_utf8_lossy(start).to_ascii_lowercase();
        start.contains("<html") || start.contains("<!doctype html")
    }
}

/// Strips `W/` and quotes: `"abc"` → `abc`.
///
/// ```
/// assert_eq!(ews_photo::http::normalize_etag(" W/\"1a2b\" "), "1a2b");
/// ```
pub fn normalize_etag(etag: &str) -> String {
    let etag = etag.trim();
    let etag = etag.strip_prefix("W/").unwrap_or(etag);
    etag.trim_matches('"').to_string()
}

/// The `If-None-Match` value for an ETag: quoted, as Exchange sends it.
///
/// ```
/// assert_eq!(ews_photo::http::quote_etag("1a2b"), "\"1a2b\"");
/// assert_eq!(ews_photo::http::quote_etag("\"1a2b\""), "\"1a2b\"");
/// ```
pub fn quote_etag(etag: &str) -> String {
    format!("\"{}\"", normalize_etag(etag))
}

/// A body for `-vv` logs: text up to 64 KiB, binary data as its size.
///
/// ```
/// assert_eq!(ews_photo::http::abbreviate_body(b"\xff\xd8\0\0", Some("image/jpeg")), "[4 bytes of image/jpeg]");
/// assert_eq!(ews_photo::http::abbreviate_body(b"hello", None), "hello");
/// ```
pub fn abbreviate_body(body: &[u8], media_type: Option<&str>) -> String {
    let mut text = match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') => text.to_string(),
        _ => {
            return format!(
                "[{} bytes of {}]",
                body.len(),
                media_type.unwrap_or("binary data")
            );
        }
    };
    const SHOWN: usize = 64 * 1024;
    if text.len() > SHOWN {
        let mut cut = SHOWN;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("…[cut]");
    }
    text
}

/// The longest `Retry-After` honoured (MSAL's cap).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Reads `Retry-After`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3),
/// capped at [`MAX_RETRY_AFTER`]. A date in the past means no wait.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use ews_photo::http::parse_retry_after;
/// let now = UNIX_EPOCH + Duration::from_secs(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), Some(Duration::from_secs(30)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(seconds) = value.parse::<u64>() {
        Duration::from_secs(seconds)
    } else {
        let at = parse_http_date(value)?;
        let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs();
        Duration::from_secs(at.saturating_sub(now))
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form RFC 9110 says to
/// send, as seconds since the epoch.
fn parse_http_date(value: &str) -> Option<u64> {
    let (_, rest) = value.split_once(", ")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, "GMT"] = parts.as_slice() else {
        return None;
    };
    let day: u64 = day.parse().ok()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m == month)? as u64
        + 1;
    let year: u64 = year.parse().ok()?;
    let hms: Vec<u64> = time
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    if !(1..=31).contains(&day) || year < 1970 || *h > 23 || *m > 59 || *s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm), for years >= 1970.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_dates_and_the_cap() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_http_date("Sat, 01 Dec 2026 00:00:00 GMT"),
            Some(1796083200)
        );
        assert_eq!(parse_http_date("Sat, 01 Foo 2026 00:00:00 GMT"), None);
    }
}
