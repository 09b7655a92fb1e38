//! The SOAP form of GetUserPhoto: the request envelope and the response parser.
//!
//! Pure functions: text in, values out. Namespaces are the `http://` ones Exchange
//! accepts (Microsoft's pages that print `https://` are wrong); parsing is
//! namespace-aware and ignores prefixes, unknown elements and whitespace.

use std::time::Duration;

use crate::PhotoSize;
use crate::xml::{self, Node, child, escape, text_in, text_of};

/// SOAP 1.1 envelope namespace.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// EWS messages namespace (`m:`).
pub const NS_MESSAGES: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
/// EWS types namespace (`t:`).
pub const NS_TYPES: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// The SOAPAction the WSDL binding names for GetUserPhoto.
pub const SOAP_ACTION: &str =
    "\"http://schemas.microsoft.com/exchange/services/2006/messages/GetUserPhoto\"";

/// The version sent in `RequestServerVersion` unless overridden: the oldest that
/// has GetUserPhoto, understood by Exchange 2013, 2016, 2019, SE and Online.
pub const DEFAULT_SERVER_VERSION: &str = "Exchange2013";

/// `ExchangeVersionType` values of the schema that have GetUserPhoto.
pub const SERVER_VERSIONS: [&str; 12] = [
    "Exchange2013",
    "Exchange2013_SP1",
    "Exchange2015",
    "Exchange2016",
    "V2015_10_05",
    "V2016_01_06",
    "V2016_04_13",
    "V2016_07_13",
    "V2016_10_10",
    "V2017_01_07",
    "V2017_04_14",
    "V2017_07_11",
];

/// Checks a `--server-version` value against the schema's enumeration.
///
/// ```
/// assert!(ews_photo::backend::ews::soap::check_server_version("Exchange2016").is_ok());
/// // Exchange Online reports V2018_01_08, but the published schema stops at V2017_07_11.
/// assert!(ews_photo::backend::ews::soap::check_server_version("V2018_01_08").is_err());
/// assert!(ews_photo::backend::ews::soap::check_server_version("Exchange2013 ").is_err());
/// ```
pub fn check_server_version(version: &str) -> Result<(), String> {
    if SERVER_VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(format!(
            "unknown server version '{version}': use one of {} (GetUserPhoto needs Exchange2013 or later)",
            SERVER_VERSIONS.join(", ")
        ))
    }
}

/// Builds the GetUserPhoto request envelope.
///
/// ```
/// use ews_photo::PhotoSize;
/// use ews_photo::backend::ews::soap;
/// let body = soap::request("a&b@contoso.com", PhotoSize::Hr240, "Exchange2013");
/// assert!(body.contains("<m:Email>a&amp;b@contoso.com</m:Email>"));
/// assert!(body.contains("<m:SizeRequested>HR240x240</m:SizeRequested>"));
/// ```
pub fn request(email: &str, size: PhotoSize, server_version: &str) -> String {
    request_as(email, size, server_version, None)
}

/// Builds the envelope, acting as the mailbox `impersonate` when given: an
/// `ExchangeImpersonation` SOAP header naming its `PrimarySmtpAddress`, as an
/// app's own OAuth token needs.
///
/// ```
/// use ews_photo::PhotoSize;
/// use ews_photo::backend::ews::soap;
/// let body = soap::request_as("alice@contoso.com", PhotoSize::Hr96, "Exchange2013", Some("svc-photos@contoso.com"));
/// assert!(body.contains("<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>svc-photos@contoso.com</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>"));
/// ```
pub fn request_as(
    email: &str,
    size: PhotoSize,
    server_version: &str,
    impersonate: Option<&str>,
) -> String {
    let impersonation = impersonate
        .map(|mailbox| {
            format!(
                "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>",
                escape(mailbox)
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="utf-8"?>"#,
            r#"<soap:Envelope xmlns:soap="{soap}" xmlns:t="{types}" xmlns:m="{messages}">"#,
            r#"<soap:Header><t:RequestServerVersion Version="{version}"/>{impersonation}</soap:Header>"#,
            r#"<soap:Body><m:GetUserPhoto><m:Email>{email}</m:Email>"#,
            r#"<m:SizeRequested>{size}</m:SizeRequested></m:GetUserPhoto></soap:Body>"#,
            r#"</soap:Envelope>"#
        ),
        soap = NS_SOAP,
        types = NS_TYPES,
        messages = NS_MESSAGES,
        version = escape(server_version),
        impersonation = impersonation,
        email = escape(email),
        size = size.code(),
    )
}

/// What a GetUserPhoto SOAP response said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `ResponseClass` Success or Warning.
    Photo {
        /// False when the `If-None-Match` ETag still matches.
        has_changed: bool,
        /// The decoded picture; `None` when `PictureData` is missing or empty.
        picture: Option<Vec<u8>>,
        /// The `ContentType` element, when present.
        content_type: Option<String>,
    },
    /// `ResponseClass="Error"`.
    Error(EwsError),
    /// A SOAP fault.
    Fault(EwsError),
}

/// An EWS error from a fault or an error response message.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct EwsError {
    /// The EWS response code, e.g. `ErrorServerBusy` (prefix removed).
    pub code: String,
    /// The human message (`MessageText`, `detail/Message` or `faultstring`).
    pub message: Option<String>,
    /// `BackOffMilliseconds` from `MessageXml`, or the "Suggested backoff time"
    /// in the message.
    pub back_off: Option<Duration>,
    /// Every `MessageXml` entry as (name, value).
    pub details: Vec<(String, String)>,
}

/// The response is not a GetUserPhoto SOAP response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not well-formed XML, or XML the parser refuses (a DOCTYPE, too many nodes).
    #[error("not well-formed XML ({0})")]
    NotXml(String),
    /// XML, but no SOAP envelope and body.
    #[error("XML without a SOAP 1.1 envelope and body")]
    NotSoap,
    /// A SOAP body without `GetUserPhotoResponse` or a fault.
    #[error("the SOAP body holds neither GetUserPhotoResponse nor a fault (found {0})")]
    NoResponse(String),
    /// `PictureData` is not valid base64 (often a truncated answer).
    #[error("PictureData is not valid base64 ({0}); the answer was probably cut short")]
    BadPicture(String),
    /// `HasChanged` is neither true nor false.
    #[error("HasChanged is '{0}', not a boolean")]
    BadBoolean(String),
}

/// Parses a GetUserPhoto SOAP response.
///
/// ```
/// use ews_photo::backend::ews::soap::{parse_response, Reply};
/// let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
///   <GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">
///     <ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged>
///     <PictureData>/9j/4A==</PictureData><ContentType>image/jpeg</ContentType>
///   </GetUserPhotoResponse></s:Body></s:Envelope>"#;
/// let reply = parse_response(xml.as_bytes()).unwrap();
/// assert_eq!(reply, Reply::Photo {
///     has_changed: true,
///     picture: Some(vec![0xff, 0xd8, 0xff, 0xe0]),
///     content_type: Some("image/jpeg".into()),
/// });
/// ```
pub fn parse_response(body: &[u8]) -> Result<Reply, ParseError> {
    let text = xml::decode(body).map_err(ParseError::NotXml)?;
    let doc = xml::parse(&text).map_err(ParseError::NotXml)?;
    interpret_document(&doc)
}

/// A parsed answer's meaning.
fn interpret_document(doc: &xml::Document) -> Result<Reply, ParseError> {
    let envelope = doc.root_element();
    if !envelope.has_tag_name((NS_SOAP, "Envelope")) {
        return Err(ParseError::NotSoap);
    }
    let body = child(envelope, NS_SOAP, "Body").ok_or(ParseError::NotSoap)?;
    let Some(first) = body.children().find(|n| n.is_element()) else {
        return Err(ParseError::NoResponse("an empty body".into()));
    };
    if first.has_tag_name((NS_SOAP, "Fault")) {
        return Ok(Reply::Fault(parse_fault(first)));
    }
    // The operation answers with GetUserPhotoResponse itself; the schema also allows
    // the wrapped GetUserPhotoResponseMessage form, which then holds the content.
    let response = body
        .descendants()
        .find(|n| is_message(*n, "GetUserPhotoResponseMessage"))
        .or_else(|| {
            body.descendants()
                .find(|n| is_message(*n, "GetUserPhotoResponse"))
        })
        .ok_or_else(|| ParseError::NoResponse(format!("<{}>", first.tag_name().name())))?;
    parse_message(response)
}

fn is_message(node: Node, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(NS_MESSAGES)
}

/// A child by local name, in any namespace (fault parts are unqualified or in
/// varying namespaces depending on the server).
fn child_named<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn parse_message(response: Node) -> Result<Reply, ParseError> {
    let class = response.attribute("ResponseClass").unwrap_or("Success");
    if class.trim() == "Error" {
        let code = child_named(response, "ResponseCode")
            .and_then(text_of)
            .unwrap_or_else(|| "ErrorUnknown".into());
        let message = child_named(response, "MessageText").and_then(text_of);
        let details = child_named(response, "MessageXml")
            .map(message_xml)
            .unwrap_or_default();
        return Ok(Reply::Error(ews_error(code, message, details)));
    }
    let has_changed = match child_named(response, "HasChanged").and_then(text_of) {
        None => true,
        Some(value) => match value.as_str() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => return Err(ParseError::BadBoolean(value)),
        },
    };
    let picture = match child_named(response, "PictureData").and_then(text_in) {
        None => None,
        Some(data) => Some(decode_base64(&data)?),
    };
    let content_type = child_named(response, "ContentType").and_then(text_of);
    Ok(Reply::Photo {
        has_changed,
        picture,
        content_type,
    })
}

fn parse_fault(fault: Node) -> EwsError {
    let detail = child_named(fault, "detail");
    let detail_code = detail
        .and_then(|d| child_named(d, "ResponseCode"))
        .and_then(text_of);
    let fault_code = child_named(fault, "faultcode")
        .and_then(text_of)
        .map(|code| code.rsplit(':').next().unwrap_or(&code).to_string());
    let code = detail_code
        .or(fault_code)
        .unwrap_or_else(|| "SoapFault".into());
    let message = detail
        .and_then(|d| child_named(d, "Message"))
        .and_then(text_of)
        .or_else(|| child_named(fault, "faultstring").and_then(text_of));
    let details = detail
        .and_then(|d| child_named(d, "MessageXml"))
        .map(message_xml)
        .unwrap_or_default();
    ews_error(code, message, details)
}

/// `MessageXml` holds `<t:Value Name="N">v</t:Value>` entries or plain elements.
fn message_xml(node: Node) -> Vec<(String, String)> {
    node.children()
        .filter(|n| n.is_element())
        .map(|n| {
            let name = n
                .attribute("Name")
                .map(str::to_string)
                .unwrap_or_else(|| n.tag_name().name().to_string());
            (name, text_of(n).unwrap_or_default())
        })
        .collect()
}

fn ews_error(code: String, message: Option<String>, details: Vec<(String, String)>) -> EwsError {
    let hinted = details
        .iter()
        .find(|(name, _)| name == "BackOffMilliseconds")
        .and_then(|(_, value)| value.trim().parse::<u64>().ok());
    let suggested = message.as_deref().and_then(suggested_backoff);
    let back_off = hinted.or(suggested).map(Duration::from_millis);
    EwsError {
        code,
        message,
        back_off,
        details,
    }
}

/// "… Suggested backoff time 5000 ms." in throttling messages.
fn suggested_backoff(message: &str) -> Option<u64> {
    let at = message.find("Suggested backoff time")?;
    let digits: String = message[at + "Suggested backoff time".len()..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Decodes base64 that may contain line breaks and indentation.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, ParseError> {
    super::super::decode_base64(text, false).map_err(|e| ParseError::BadPicture(e.to_string()))
}

/// A body for `-vv` logs: long `PictureData` shortened to its first
/// characters and its length, so a log shows the answer's shape, not kilobytes
/// of base64.
///
/// ```
/// use ews_photo::backend::ews::soap::abbreviate_for_log;
/// let body = format!("<m:PictureData>{}</m:PictureData>", "A".repeat(1000));
/// assert!(abbreviate_for_log(body.as_bytes(), None).contains("…[1000 characters of base64]</m:PictureData>"));
/// ```
pub fn abbreviate_for_log(body: &[u8], media_type: Option<&str>) -> String {
    let text = match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') => text,
        _ => return crate::http::abbreviate_body(body, media_type),
    };
    let mut out = String::with_capacity(text.len().min(4096));
    let mut rest = text;
    while let Some(start) = rest.find("PictureData>") {
        let open_end = start + "PictureData>".len();
        out.push_str(&rest[..open_end]);
        rest = &rest[open_end..];
        let end = rest.find('<').unwrap_or(rest.len());
        let data = &rest[..end];
        if data.len() > 64 && data.is_char_boundary(32) {
            out.push_str(&data[..32]);
            out.push_str(&format!("…[{} characters of base64]", data.len()));
        } else {
            out.push_str(data);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    crate::http::abbreviate_body(out.as_bytes(), media_type)
}

#[cfg(test)]
mod tests;
