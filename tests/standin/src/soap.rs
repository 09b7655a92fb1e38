//! The SOAP texts the EWS stand-in sends, shaped like real Exchange answers
//! (and a few hostile ones), and the little XML reading it needs for requests.
//!
//! These are written out by hand rather than taken from the product: an
//! independent counterpart catches what a shared mistake would hide.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

pub(crate) const SOAP_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub(crate) const MSG_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub(crate) const TYPES_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
const ERRORS_NS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";
const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Exchange's text for `ErrorServerBusy`.
pub(crate) const BUSY_TEXT: &str =
    "The server cannot service this request right now. Try again later.";

/// The "billion laughs" entity expansion, inside a SOAP envelope.
pub(crate) const BILLION_LAUGHS: &str = concat!(
    "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n",
    " <!ENTITY lol \"lol\">\n",
    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n",
    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n",
    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n",
    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n",
    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n",
    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n",
    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n",
    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n",
    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n",
    "]>\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>",
    "<GetUserPhotoResponse ResponseClass=\"Success\" xmlns=\"http://schemas.microsoft.com/exchange/services/2006/messages\">",
    "<ResponseCode>&lol9;</ResponseCode><HasChanged>true</HasChanged><PictureData/>",
    "</GetUserPhotoResponse></s:Body></s:Envelope>"
);

/// A SOAP envelope whose body nests `depth` elements.
pub(crate) fn deep_xml(depth: usize) -> String {
    let mut xml = String::with_capacity(depth * 8 + 200);
    xml.push_str("<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>");
    for _ in 0..depth {
        xml.push_str("<a>");
    }
    for _ in 0..depth {
        xml.push_str("</a>");
    }
    xml.push_str("</s:Body></s:Envelope>");
    xml
}

/// Text of the first element with this local name (any prefix), trimmed and
/// unescaped.
pub(crate) fn element_text(doc: &str, local: &str) -> Option<String> {
    let mut from = 0;
    while let Some(pos) = doc[from..].find('<') {
        let start = from + pos + 1;
        from = start;
        let rest = &doc[start..];
        let name_end = rest
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .unwrap_or(rest.len());
        let name = &rest[..name_end];
        if name.starts_with(['/', '?', '!']) || name.rsplit(':').next() != Some(local) {
            continue;
        }
        let tag_end = start + rest.find('>')?;
        if doc[..tag_end].ends_with('/') {
            return Some(String::new());
        }
        let content = &doc[tag_end + 1..];
        let end = content.find("</")?;
        return Some(xml_unescape(content[..end].trim()));
    }
    None
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn server_version_header() -> String {
    format!(
        "<s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" \
MinorBuildNumber=\"4\" Version=\"V2018_01_08\" xmlns:h=\"{TYPES_NS}\" xmlns=\"{TYPES_NS}\" \
xmlns:xsd=\"{XSD_NS}\" xmlns:xsi=\"{XSI_NS}\"/></s:Header>"
    )
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{SOAP_NS}\">{}\
<s:Body xmlns:xsi=\"{XSI_NS}\" xmlns:xsd=\"{XSD_NS}\">{body}</s:Body></s:Envelope>",
        server_version_header()
    )
}

/// A `ResponseClass="Success"` GetUserPhotoResponse like the official sample.
pub(crate) fn photo(
    has_changed: bool,
    picture: Option<&str>,
    content_type: Option<&str>,
) -> String {
    let picture = match picture {
        Some(p) => format!("<PictureData>{p}</PictureData>"),
        None => "<PictureData/>".to_string(),
    };
    let content_type = content_type
        .filter(|_| picture != "<PictureData/>")
        .map(|c| format!("<ContentType>{c}</ContentType>"))
        .unwrap_or_default();
    envelope(&format!(
        "<GetUserPhotoResponse ResponseClass=\"Success\" xmlns=\"{MSG_NS}\"><ResponseCode>NoError</ResponseCode>\
<HasChanged>{has_changed}</HasChanged>{picture}{content_type}</GetUserPhotoResponse>"
    ))
}

/// A `ResponseClass="Error"` GetUserPhotoResponse with `m:`/`t:` prefixes.
pub(crate) fn error(text: &str, code: &str, backoff: Option<u64>) -> String {
    let message_xml = backoff
        .map(|b| {
            format!(
                "<m:MessageXml><t:Value Name=\"BackOffMilliseconds\">{b}</t:Value></m:MessageXml>"
            )
        })
        .unwrap_or_default();
    envelope(&format!(
        "<m:GetUserPhotoResponse ResponseClass=\"Error\" xmlns:m=\"{MSG_NS}\" xmlns:t=\"{TYPES_NS}\">\
<m:MessageText>{}</m:MessageText><m:ResponseCode>{code}</m:ResponseCode>\
<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{message_xml}<m:HasChanged>false</m:HasChanged>\
</m:GetUserPhotoResponse>",
        xml_escape(text)
    ))
}

/// The ErrorServerBusy fault, shaped like exchangelib's fixture.
pub(crate) fn busy_fault(backoff: u64) -> String {
    format!(
        "<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s=\"{SOAP_NS}\">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a=\"{TYPES_NS}\">a:ErrorServerBusy</faultcode>
      <faultstring xml:lang=\"en-US\">{BUSY_TEXT}</faultstring>
      <detail>
        <e:ResponseCode xmlns:e=\"{ERRORS_NS}\">
          ErrorServerBusy
        </e:ResponseCode>
        <e:Message xmlns:e=\"{ERRORS_NS}\">
          {BUSY_TEXT}
        </e:Message>
        <t:MessageXml xmlns:t=\"{TYPES_NS}\">
          <t:Value Name=\"BackOffMilliseconds\">{backoff}</t:Value>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>
"
    )
}

/// A SOAP fault `a:{code}` (Exchange sends it with HTTP 500).
pub(crate) fn fault(code: &str, faultstring: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{SOAP_NS}\"><s:Body><s:Fault>\
<faultcode xmlns:a=\"{TYPES_NS}\">a:{code}</faultcode><faultstring xml:lang=\"en-US\">{}</faultstring>\
<detail><e:ResponseCode xmlns:e=\"{ERRORS_NS}\">{code}</e:ResponseCode>\
<e:Message xmlns:e=\"{ERRORS_NS}\">{}</e:Message></detail></s:Fault></s:Body></s:Envelope>",
        xml_escape(faultstring),
        xml_escape(message)
    )
}

/// Success with `soap:`/`m:`/`t:` prefixes, wrapped base64 and padded text.
pub(crate) fn wrapped(bytes: &[u8], content_type: &str) -> String {
    let b64 = B64.encode(bytes);
    let mut wrapped = String::new();
    for line in b64.as_bytes().chunks(76) {
        wrapped.push_str("\r\n        ");
        wrapped.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\r\n\
<soap:Envelope xmlns:soap=\"{SOAP_NS}\" xmlns:m=\"{MSG_NS}\" xmlns:t=\"{TYPES_NS}\">\r\n  <soap:Header>\r\n    \
<t:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"2\" MajorBuildNumber=\"1544\" MinorBuildNumber=\"4\" Version=\"V2018_01_08\"/>\r\n  \
</soap:Header>\r\n  <soap:Body>\r\n    <m:GetUserPhotoResponse ResponseClass=\"Success\">\r\n      \
<m:ResponseCode>\r\n        NoError\r\n      </m:ResponseCode>\r\n      <m:HasChanged>true</m:HasChanged>\r\n      \
<m:PictureData>{wrapped}\r\n      </m:PictureData>\r\n      <m:ContentType>{content_type}</m:ContentType>\r\n    \
</m:GetUserPhotoResponse>\r\n  </soap:Body>\r\n</soap:Envelope>\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_text_ignores_the_prefix_and_unescapes() {
        assert_eq!(
            element_text("<a:Email xmlns:a='x'> a&amp;b@c </a:Email>", "Email").as_deref(),
            Some("a&b@c")
        );
    }
}
