//! POX ("plain old XML") Autodiscover: the request body and the response parser.
//!
//! Pure functions. The namespaces are the `http://` ones Exchange uses (the
//! Microsoft pages print `https://`, which no server sends). Parsing is
//! namespace-aware and ignores prefixes, unknown elements and whitespace;
//! DTDs are refused and the node count is capped, as for SOAP.

use crate::xml::{self, Node, child, escape, text_of};

/// The request schema (`Autodiscover` of the request).
pub const NS_REQUEST: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";
/// The base response schema: the `Autodiscover` root, and the `Response` of an error.
pub const NS_BASE: &str = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
/// The Outlook response schema, sent as `AcceptableResponseSchema`.
pub const NS_OUTLOOK: &str =
    "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";

/// The `Content-Type` of the request, as the EWS Managed API sends it.
pub const CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The POX request for an address, byte for byte what the EWS Managed API
/// (`WriteLegacyAutodiscoverRequest`) and Outlook send, without indentation.
///
/// ```
/// let body = ews_photo::autodiscover::pox::request("jdoe@contoso.com");
/// assert_eq!(body, concat!(
///     r#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">"#,
///     "<Request><EMailAddress>jdoe@contoso.com</EMailAddress>",
///     "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>",
///     "</Request></Autodiscover>"));
/// ```
pub fn request(address: &str) -> String {
    format!(
        concat!(
            r#"<Autodiscover xmlns="{request}">"#,
            "<Request><EMailAddress>{address}</EMailAddress>",
            "<AcceptableResponseSchema>{outlook}</AcceptableResponseSchema>",
            "</Request></Autodiscover>"
        ),
        request = NS_REQUEST,
        outlook = NS_OUTLOOK,
        address = escape(address.trim()),
    )
}

/// What a POX answer said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// `Action` settings.
    Settings(Settings),
    /// `Action` redirectAddr: start again with this address.
    RedirectAddr(String),
    /// `Action` redirectUrl: send the same request to this URL.
    RedirectUrl(String),
    /// An `Error` element.
    Error(PoxError),
}

/// The settings of an `Action` settings answer.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Settings {
    /// The EWS URL picked, if any protocol has one.
    pub ews: Option<EwsUrl>,
    /// The `Type` of every `Protocol`, in order (for "no EWS URL" messages).
    pub protocols: Vec<String>,
    /// `User/AutoDiscoverSMTPAddress`, the mailbox's primary address.
    pub smtp_address: Option<String>,
}

/// Where the EWS URL was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EwsUrl {
    /// The URL as given.
    pub url: String,
    /// `EXPR` (outside the organisation) or `EXCH` (inside).
    pub protocol: String,
    /// `EwsUrl`, or `ASUrl` on Exchange 2007, whose documentation says to
    /// bind to EWS at the `ASUrl`.
    pub element: &'static str,
}

/// An Autodiscover `Error` element.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PoxError {
    /// `ErrorCode`: 500 (address not found), 501, 600 (invalid request), 601,
    /// 602, 603.
    pub code: Option<String>,
    /// `Message`.
    pub message: Option<String>,
    /// `DebugData`.
    pub debug_data: Option<String>,
}

impl PoxError {
    /// The error in words, with what the codes mean.
    ///
    /// ```
    /// use ews_photo::autodiscover::pox::PoxError;
    /// let error = PoxError { code: Some("500".into()), message: Some("The e-mail address cannot be found.".into()), debug_data: None };
    /// assert_eq!(error.describe(), "Autodiscover error 500: The e-mail address cannot be found. (the server does not know this address)");
    /// ```
    pub fn describe(&self) -> String {
        let code = self.code.as_deref().unwrap_or("without a code");
        let mut text = format!("Autodiscover error {code}");
        if let Some(message) = &self.message {
            text.push_str(&format!(": {message}"));
        }
        let meaning = match self.code.as_deref() {
            Some("500") => Some("the server does not know this address"),
            Some("501") => Some("the server cannot answer for this address"),
            Some("600") => Some("the server did not understand the request"),
            Some("601") => Some("the server does not serve the Outlook response schema"),
            Some("602") => Some("the server cannot find the account"),
            Some("603") => Some("the server could not reach the directory"),
            _ => None,
        };
        if let Some(meaning) = meaning {
            text.push_str(&format!(" ({meaning})"));
        }
        text
    }
}

/// The answer is not a usable POX Autodiscover answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// An HTML page (a web site, a login form) instead of XML.
    #[error("an HTML page, not an Autodiscover answer")]
    Html,
    /// Not well-formed XML, or XML the parser refuses (a DOCTYPE, too many nodes).
    #[error("not well-formed XML ({0})")]
    NotXml(String),
    /// XML, but not an Autodiscover answer.
    #[error("XML, but not an Autodiscover answer (the root is {0})")]
    NotAutodiscover(String),
    /// An Autodiscover answer in another schema (mobile sync, IMAP providers…).
    #[error("an Autodiscover answer in another schema ({0}), not the Outlook one")]
    OtherSchema(String),
    /// An `Action` this parser does not know.
    #[error("an Autodiscover answer with the unknown Action '{0}'")]
    UnknownAction(String),
    /// A redirect without its target.
    #[error("an Autodiscover {0} answer without its target")]
    MissingTarget(&'static str),
}

/// Parses a POX Autodiscover answer.
///
/// ```
/// use ews_photo::autodiscover::pox::{parse, Answer};
/// let xml = r#"<?xml version="1.0" encoding="utf-8"?>
/// <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
///   <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
///     <Account><Action>settings</Action>
///       <Protocol><Type>EXPR</Type><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl></Protocol>
///     </Account>
///   </Response>
/// </Autodiscover>"#;
/// let Answer::Settings(settings) = parse(xml.as_bytes()).unwrap() else { panic!() };
/// assert_eq!(settings.ews.unwrap().url, "https://mail.contoso.com/EWS/Exchange.asmx");
/// ```
pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
    let text = xml::decode(body).map_err(ParseError::NotXml)?;
    if looks_like_html(&text) {
        return Err(ParseError::Html);
    }
    // The same strict reader as SOAP's: no DTD, at most xml::NODES_LIMIT nodes
    // (a real answer has about 100).
    let doc = xml::parse(&text).map_err(ParseError::NotXml)?;
    let root = doc.root_element();
    if !root.has_tag_name((NS_BASE, "Autodiscover")) {
        return Err(ParseError::NotAutodiscover(describe_name(root)));
    }
    let response = root
        .children()
        .find(|n| n.is_element() && n.tag_name().name() == "Response")
        .ok_or_else(|| ParseError::NotAutodiscover("Autodiscover without a Response".into()))?;
    let ns = response.tag_name().namespace().unwrap_or_default();
    if ns != NS_OUTLOOK && ns != NS_BASE {
        return Err(ParseError::OtherSchema(ns.to_string()));
    }
    // The error form: Response/Error (in the base schema, as Exchange sends it),
    // or Response/Account/Error (as the POX reference page places it).
    if let Some(error) = child(response, ns, "Error") {
        return Ok(Answer::Error(parse_error(error, ns)));
    }
    let account = child(response, ns, "Account");
    if let Some(error) = account.and_then(|a| child(a, ns, "Error")) {
        return Ok(Answer::Error(parse_error(error, ns)));
    }
    let Some(account) = account else {
        return Err(ParseError::NotAutodiscover(
            "an Autodiscover Response without Account or Error".into(),
        ));
    };
    let text_in = |name: &str| child(account, ns, name).and_then(text_of);
    let redirect_addr = text_in("RedirectAddr");
    // Exchange writes RedirectUrl; exchangelib's fixtures and some servers RedirectURL.
    let redirect_url = text_in("RedirectUrl").or_else(|| text_in("RedirectURL"));
    let action = text_in("Action");
    let action = match action.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("settings") => "settings",
        Some("redirectaddr") => "redirectAddr",
        Some("redirecturl") => "redirectUrl",
        Some(_) => return Err(ParseError::UnknownAction(action.unwrap_or_default())),
        // Some third-party servers leave Action out; go by what is there.
        None if redirect_addr.is_some() => "redirectAddr",
        None if redirect_url.is_some() => "redirectUrl",
        None => "settings",
    };
    match action {
        "redirectAddr" => redirect_addr
            .map(Answer::RedirectAddr)
            .ok_or(ParseError::MissingTarget("redirectAddr")),
        "redirectUrl" => redirect_url
            .map(Answer::RedirectUrl)
            .ok_or(ParseError::MissingTarget("redirectUrl")),
        _ => Ok(Answer::Settings(parse_settings(response, account, ns))),
    }
}

fn parse_settings(response: Node, account: Node, ns: &str) -> Settings {
    let smtp_address = child(response, ns, "User")
        .and_then(|u| child(u, ns, "AutoDiscoverSMTPAddress"))
        .and_then(text_of);
    let protocols: Vec<(String, Option<EwsUrl>)> = account
        .children()
        .filter(|n| n.has_tag_name((ns, "Protocol")))
        .map(|p| {
            // <Type>EXPR</Type>, or <Protocol Type="mapiHttp"> on newer servers.
            let kind = child(p, ns, "Type")
                .and_then(text_of)
                .or_else(|| p.attribute("Type").map(|t| t.trim().to_string()))
                .unwrap_or_default();
            let url = [("EwsUrl", "EwsUrl"), ("ASUrl", "ASUrl")]
                .into_iter()
                .find_map(|(name, element)| {
                    child(p, ns, name).and_then(text_of).map(|url| EwsUrl {
                        url,
                        protocol: kind.to_ascii_uppercase(),
                        element,
                    })
                });
            (kind, url)
        })
        .collect();
    // EXPR is meant for EWS from outside; on-premises servers often send an EXPR
    // without EwsUrl, and then EXCH has it (exchangelib issue #806).
    let pick = |wanted: &str| {
        protocols
            .iter()
            .filter(|(kind, _)| kind.eq_ignore_ascii_case(wanted))
            .find_map(|(_, url)| url.clone())
    };
    Settings {
        ews: pick("EXPR").or_else(|| pick("EXCH")),
        protocols: protocols.into_iter().map(|(kind, _)| kind).collect(),
        smtp_address,
    }
}

fn parse_error(error: Node, ns: &str) -> PoxError {
    let text_in = |name| child(error, ns, name).and_then(text_of);
    PoxError {
        code: text_in("ErrorCode"),
        message: text_in("Message"),
        debug_data: text_in("DebugData"),
    }
}

fn describe_name(node: Node) -> String {
    match node.tag_name().namespace() {
        Some(ns) => format!("<{}> in {ns}", node.tag_name().name()),
        None => format!("<{}>", node.tag_name().name()),
    }
}

pub(crate) fn looks_like_html(text: &str) -> bool {
    let start: String = text
        .trim_start()
        .chars()
        .take(64)
        .collect::<String>()
        .to_ascii_lowercase();
    start.starts_with("<!doctype html") || start.starts_with("<html")
}

#[cfg(test)]
mod tests;
