//! Autodiscover v2: the JSON answer of
//! `GET /autodiscover/autodiscover.json/v1.0/{email}?Protocol=EWS`.
//!
//! A hit is `{"Protocol":"EWS","Url":"https://…/EWS/Exchange.asmx"}`; an error
//! is `{"ErrorCode":"…","ErrorMessage":"…"}` (HTTP 400 and others). Keys are
//! matched without regard to case, since servers other than Exchange answer too.

use serde_json::{Map, Value};

/// What a v2 answer said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The URL for the protocol asked for.
    Url {
        /// `Protocol`, when given (`EWS`).
        protocol: Option<String>,
        /// `Url`.
        url: String,
    },
    /// The JSON error form.
    Error {
        /// `ErrorCode`, e.g. `InvalidProtocol`.
        code: Option<String>,
        /// `ErrorMessage`.
        message: Option<String>,
    },
}

/// The body is not a v2 answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An HTML page (a web site, a login form).
    #[error("an HTML page, not an Autodiscover v2 answer")]
    Html,
    /// Not JSON, or JSON but not an object.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// A JSON object without `Url` or `ErrorCode`.
    #[error("JSON, but neither a Url nor an ErrorCode")]
    NoUrl,
    /// A URL for another protocol than EWS.
    #[error("a URL for the protocol '{0}', not EWS")]
    OtherProtocol(String),
}

/// Parses a v2 answer (a 200 hit, or the error form with any status).
///
/// ```
/// use ews_photo::autodiscover::v2::{parse, Answer};
/// let hit = parse(br#"{"Protocol":"EWS","Url":"https://outlook.office365.com/EWS/Exchange.asmx"}"#).unwrap();
/// assert_eq!(hit, Answer::Url { protocol: Some("EWS".into()), url: "https://outlook.office365.com/EWS/Exchange.asmx".into() });
/// ```
pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = String::from_utf8_lossy(body);
    if super::pox::looks_like_html(&text) {
        return Err(ParseError::Html);
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ParseError::NotJson("not an object".into()));
    };
    let code = string(&object, "ErrorCode");
    let message = string(&object, "ErrorMessage");
    if code.is_some() || message.is_some() {
        return Ok(Answer::Error { code, message });
    }
    let protocol = string(&object, "Protocol");
    if let Some(other) = protocol
        .as_deref()
        .filter(|p| !p.eq_ignore_ascii_case("EWS"))
    {
        return Err(ParseError::OtherProtocol(other.to_string()));
    }
    let url = string(&object, "Url").ok_or(ParseError::NoUrl)?;
    Ok(Answer::Url { protocol, url })
}

/// Describes a v2 error for a message.
///
/// ```
/// assert_eq!(
///     ews_photo::autodiscover::v2::describe_error(Some("InvalidUser"), None),
///     "Autodiscover v2 error InvalidUser"
/// );
/// ```
pub fn describe_error(code: Option<&str>, message: Option<&str>) -> String {
    let mut text = format!("Autodiscover v2 error {}", code.unwrap_or("without a code"));
    if let Some(message) = message {
        text.push_str(&format!(": {message}"));
    }
    text
}

fn string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit() {
        assert_eq!(
            parse(fixture!("v2-ews.json")).unwrap(),
            Answer::Url {
                protocol: Some("EWS".into()),
                url: "https://outlook.office365.com/EWS/Exchange.asmx".into()
            }
        );
        assert_eq!(
            parse(b"\xEF\xBB\xBF{\"protocol\":\"Ews\",\"url\":\" https://m.contoso.com/EWS/Exchange.asmx \"}").unwrap(),
            Answer::Url {
                protocol: Some("Ews".into()),
                url: "https://m.contoso.com/EWS/Exchange.asmx".into()
            }
        );
    }

    #[test]
    fn error_form() {
        let answer = parse(fixture!("v2-invalid-protocol.json")).unwrap();
        let Answer::Error { code, message } = answer else {
            panic!("expected an error")
        };
        assert_eq!(code.as_deref(), Some("InvalidProtocol"));
        assert_eq!(
            describe_error(code.as_deref(), message.as_deref()),
            "Autodiscover v2 error InvalidProtocol: The given protocol value 'EWS' is invalid. Supported values are 'ActiveSync,AutodiscoverV1'"
        );
    }

    #[test]
    fn not_an_answer() {
        assert_eq!(parse(fixture!("html-page.html")), Err(ParseError::Html));
        assert!(matches!(parse(b""), Err(ParseError::NotJson(_))));
        assert!(matches!(parse(b"[1,2]"), Err(ParseError::NotJson(_))));
        assert!(matches!(parse(b"{\"Url\":"), Err(ParseError::NotJson(_))));
        assert_eq!(parse(b"{}"), Err(ParseError::NoUrl));
        assert_eq!(parse(b"{\"Url\":\"\"}"), Err(ParseError::NoUrl));
        assert_eq!(
            parse(
                br#"{"Protocol":"AutodiscoverV1","Url":"https://x/autodiscover/autodiscover.xml"}"#
            ),
            Err(ParseError::OtherProtocol("AutodiscoverV1".into()))
        );
    }
}
