//! Every response shape from the protocol notes, as unit tests.

use super::*;
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD as BASE64;

const JPEG_B64: &str = "/9j/4AAQSkZJRgABAQEAYABgAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8U";

fn jpeg_bytes() -> Vec<u8> {
    decode_base64(JPEG_B64).unwrap()
}

fn photo(reply: Reply) -> (bool, Option<Vec<u8>>, Option<String>) {
    match reply {
        Reply::Photo {
            has_changed,
            picture,
            content_type,
        } => (has_changed, picture, content_type),
        other => panic!("expected a photo, got {other:?}"),
    }
}

#[test]
fn official_sample_with_default_namespaces_and_h_prefix() {
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
   <s:Header>
      <h:ServerVersionInfo MajorVersion="15" MinorVersion="0" MajorBuildNumber="556" MinorBuildNumber="8"
                           Version="Exchange2013"
                           xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"
                           xmlns="http://schemas.microsoft.com/exchange/services/2006/types"
                           xmlns:xsd="http://www.w3.org/2001/XMLSchema"
                           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>
   </s:Header>
   <s:Body xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
      <GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages">
         <ResponseCode>NoError</ResponseCode>
         <HasChanged>true</HasChanged>
         <PictureData>{JPEG_B64}</PictureData>
      </GetUserPhotoResponse>
   </s:Body>
</s:Envelope>"#
    );
    let (changed, picture, content_type) = photo(parse_response(xml.as_bytes()).unwrap());
    assert!(changed);
    assert_eq!(picture.unwrap(), jpeg_bytes());
    assert_eq!(content_type, None);
}

#[test]
fn prefixed_form_with_content_type_after_picture_data() {
    let xml = format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Header><t:ServerVersionInfo Version="V2018_01_08"/></soap:Header><soap:Body><m:GetUserPhotoResponse ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:HasChanged>true</m:HasChanged><m:PictureData>{JPEG_B64}</m:PictureData><m:ContentType>image/jpeg</m:ContentType></m:GetUserPhotoResponse></soap:Body></soap:Envelope>"#
    );
    let (_, picture, content_type) = photo(parse_response(xml.as_bytes()).unwrap());
    assert_eq!(picture.unwrap(), jpeg_bytes());
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
}

#[test]
fn unknown_elements_and_optional_ones_are_ignored() {
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header><Unknown xmlns="urn:x"/></s:Header><s:Body>
        <x:GetUserPhotoResponse ResponseClass="Warning" xmlns:x="http://schemas.microsoft.com/exchange/services/2006/messages">
          <x:MessageText>a warning</x:MessageText><x:ResponseCode>NoError</x:ResponseCode><x:DescriptiveLinkKey>0</x:DescriptiveLinkKey>
          <x:MessageXml><Anything xmlns="urn:y">z</Anything></x:MessageXml>
          <x:HasChanged>true</x:HasChanged><x:Future>new element</x:Future>
          <x:PictureData>{JPEG_B64}</x:PictureData><x:ContentType> image/jpeg </x:ContentType><x:Later/>
        </x:GetUserPhotoResponse></s:Body></s:Envelope>"#
    );
    let (changed, picture, content_type) = photo(parse_response(xml.as_bytes()).unwrap());
    assert!(changed);
    assert!(picture.is_some());
    assert_eq!(content_type.as_deref(), Some("image/jpeg"));
}

#[test]
fn empty_and_self_closing_picture_data() {
    for picture_data in [
        "<PictureData/>",
        "<PictureData></PictureData>",
        "<PictureData>\n   \n</PictureData>",
        "",
    ] {
        let xml = format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged>{picture_data}</GetUserPhotoResponse></s:Body></s:Envelope>"#
        );
        let (changed, picture, _) = photo(parse_response(xml.as_bytes()).unwrap());
        assert!(changed);
        assert_eq!(picture, None, "{picture_data}");
    }
}

#[test]
fn unchanged_answer() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>false</HasChanged><PictureData/></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    let (changed, picture, _) = photo(parse_response(xml.as_bytes()).unwrap());
    assert!(!changed);
    assert_eq!(picture, None);
}

#[test]
fn whitespace_and_line_breaks_inside_base64_and_text() {
    let wrapped: String = JPEG_B64
        .as_bytes()
        .chunks(10)
        .map(|c| format!("\r\n        {}", std::str::from_utf8(c).unwrap()))
        .collect();
    let xml = format!(
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body><GetUserPhotoResponse ResponseClass=\" Success \" xmlns=\"http://schemas.microsoft.com/exchange/services/2006/messages\"><ResponseCode>\n  NoError\n</ResponseCode><HasChanged>\n true \n</HasChanged><PictureData>{wrapped}\n</PictureData></GetUserPhotoResponse></s:Body></s:Envelope>"
    );
    let (changed, picture, _) = photo(parse_response(xml.as_bytes()).unwrap());
    assert!(changed);
    assert_eq!(picture.unwrap(), jpeg_bytes());
}

#[test]
fn response_class_error_server_busy_with_back_off() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="20" MajorBuildNumber="8769" MinorBuildNumber="35" Version="V2018_01_08" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>
  <s:Body>
    <m:GetUserPhotoResponse ResponseClass="Error" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
      <m:MessageText>The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'ConcurrentSyncCalls', policy value '5',  Budget type: 'Ews'.  Suggested backoff time 5000 ms.</m:MessageText>
      <m:ResponseCode>ErrorServerBusy</m:ResponseCode>
      <m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>
      <m:MessageXml><t:Value Name="BackOffMilliseconds">4000</t:Value></m:MessageXml>
      <m:HasChanged>false</m:HasChanged>
    </m:GetUserPhotoResponse>
  </s:Body>
</s:Envelope>"#;
    let Reply::Error(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected an error")
    };
    assert_eq!(err.code, "ErrorServerBusy");
    // The explicit value wins over the one in the message.
    assert_eq!(err.back_off, Some(Duration::from_millis(4000)));
    assert!(
        err.message
            .unwrap()
            .starts_with("The server cannot service")
    );
}

#[test]
fn exchangelib_server_busy_fault_with_whitespace_in_codes() {
    let xml = r#"<?xml version='1.0' encoding='utf-8'?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
      <faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">
          ErrorServerBusy
        </e:ResponseCode>
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">
          The server cannot service this request right now. Try again later.
        </e:Message>
        <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
          <t:Value Name="BackOffMilliseconds">297749</t:Value>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>"#;
    let Reply::Fault(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected a fault")
    };
    assert_eq!(err.code, "ErrorServerBusy");
    assert_eq!(err.back_off, Some(Duration::from_millis(297_749)));
    assert_eq!(
        err.message.as_deref(),
        Some("The server cannot service this request right now. Try again later.")
    );
    assert_eq!(
        err.details,
        vec![("BackOffMilliseconds".to_string(), "297749".to_string())]
    );
}

#[test]
fn schema_validation_fault_with_plain_message_xml() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
  <s:Body>
    <s:Fault>
      <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode>
      <faultstring xml:lang="en-US">The request failed schema validation: The 'Id' attribute is invalid.</faultstring>
      <detail>
        <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</e:ResponseCode>
        <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed schema validation.</e:Message>
        <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">
          <t:LineNumber>2</t:LineNumber>
          <t:LinePosition>630</t:LinePosition>
          <t:Violation>The 'Id' attribute is invalid.</t:Violation>
        </t:MessageXml>
      </detail>
    </s:Fault>
  </s:Body>
</s:Envelope>"#;
    let Reply::Fault(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected a fault")
    };
    assert_eq!(err.code, "ErrorSchemaValidation");
    assert_eq!(err.back_off, None);
    assert_eq!(err.details[1], ("LinePosition".into(), "630".into()));
    assert_eq!(
        err.message.as_deref(),
        Some("The request failed schema validation.")
    );
}

#[test]
fn connection_count_fault_with_suggested_backoff_in_text_only() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorExceededConnectionCount</faultcode>
<faultstring xml:lang="en-US">You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed.</faultstring>
<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorExceededConnectionCount</e:ResponseCode>
<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '27',  Budget type: 'Ews'.  Suggested backoff time 250 ms.</e:Message>
<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="Policy">MaxConcurrency</t:Value><t:Value Name="MaxConcurrencyLimit">27</t:Value></t:MessageXml>
</detail></s:Fault></s:Body></s:Envelope>"#;
    let Reply::Fault(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected a fault")
    };
    assert_eq!(err.code, "ErrorExceededConnectionCount");
    assert_eq!(err.back_off, Some(Duration::from_millis(250)));
}

#[test]
fn fault_without_detail_uses_faultcode_and_faultstring() {
    let xml = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault><faultcode>a:ErrorInvalidSmtpAddress</faultcode><faultstring>The SMTP address has an invalid format.</faultstring></soap:Fault></soap:Body></soap:Envelope>"#;
    let Reply::Fault(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected a fault")
    };
    assert_eq!(err.code, "ErrorInvalidSmtpAddress");
    assert_eq!(
        err.message.as_deref(),
        Some("The SMTP address has an invalid format.")
    );
}

#[test]
fn error_response_access_denied() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Error" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><MessageText>Access is denied.</MessageText><ResponseCode>ErrorAccessDenied</ResponseCode><DescriptiveLinkKey>0</DescriptiveLinkKey><HasChanged>true</HasChanged><PictureData/></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    let Reply::Error(err) = parse_response(xml.as_bytes()).unwrap() else {
        panic!("expected an error")
    };
    assert_eq!(err.code, "ErrorAccessDenied");
    assert_eq!(err.message.as_deref(), Some("Access is denied."));
}

#[test]
fn response_inside_response_messages_wrapper() {
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetUserPhotoResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><m:ResponseMessages><m:GetUserPhotoResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:HasChanged>true</m:HasChanged><m:PictureData>{JPEG_B64}</m:PictureData></m:GetUserPhotoResponseMessage></m:ResponseMessages></m:GetUserPhotoResponse></s:Body></s:Envelope>"#
    );
    let (_, picture, _) = photo(parse_response(xml.as_bytes()).unwrap());
    assert_eq!(picture, Some(jpeg_bytes()));
}

#[test]
fn truncated_base64_is_an_error() {
    let cut = &JPEG_B64[..JPEG_B64.len() - 3];
    let xml = format!(
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><HasChanged>true</HasChanged><PictureData>{cut}</PictureData></GetUserPhotoResponse></s:Body></s:Envelope>"#
    );
    assert!(matches!(
        parse_response(xml.as_bytes()),
        Err(ParseError::BadPicture(_))
    ));
}

#[test]
fn truncated_document_is_not_xml() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><HasChanged>true</HasChanged><PictureData>/9j/4AAQ"#;
    assert!(matches!(
        parse_response(xml.as_bytes()),
        Err(ParseError::NotXml(_))
    ));
}

#[test]
fn doctype_and_entities_are_refused() {
    let xml = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>&lol2;</s:Body></s:Envelope>"#;
    assert!(matches!(
        parse_response(xml.as_bytes()),
        Err(ParseError::NotXml(_))
    ));
}

#[test]
fn https_namespace_variant_is_not_soap() {
    let xml = r#"<s:Envelope xmlns:s="https://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#;
    assert_eq!(parse_response(xml.as_bytes()), Err(ParseError::NotSoap));
}

#[test]
fn html_and_other_xml_are_rejected() {
    assert!(parse_response(b"<html><body>Sign in</body></html>").is_err());
    assert!(parse_response(b"").is_err());
    assert!(parse_response(b"\xff\xd8\xff\xe0 jpeg").is_err());
    let other = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"/></s:Body></s:Envelope>"#;
    assert_eq!(
        parse_response(other.as_bytes()),
        Err(ParseError::NoResponse("<GetItemResponse>".into()))
    );
}

#[test]
fn bad_boolean_is_reported() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><HasChanged>maybe</HasChanged></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    assert_eq!(
        parse_response(xml.as_bytes()),
        Err(ParseError::BadBoolean("maybe".into()))
    );
}

#[test]
fn utf8_bom_and_utf16_are_accepted() {
    let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><HasChanged>false</HasChanged></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(xml.as_bytes());
    assert!(parse_response(&bom).is_ok());
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in xml.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    assert!(parse_response(&utf16).is_ok());
}

// ---- the request against the XSD's rules (without needing the XSD) ----

/// `UserPhotoSizeType` in Microsoft's types.xsd (Exchange 15.2).
const SCHEMA_SIZES: [&str; 11] = [
    "HR48x48",
    "HR64x64",
    "HR96x96",
    "HR120x120",
    "HR240x240",
    "HR360x360",
    "HR432x432",
    "HR504x504",
    "HR648x648",
    "HR1024xN",
    "HR1920xN",
];

fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|n| n.is_element()).collect()
}

fn check_against_schema_rules(xml: &str) {
    let doc = roxmltree::Document::parse(xml).expect("well-formed");
    let envelope = doc.root_element();
    assert!(envelope.has_tag_name((NS_SOAP, "Envelope")));
    let parts = elements(envelope);
    assert_eq!(parts.len(), 2);
    assert!(parts[0].has_tag_name((NS_SOAP, "Header")));
    assert!(parts[1].has_tag_name((NS_SOAP, "Body")));
    // The WSDL binding allows only RequestServerVersion as a header for GetUserPhoto.
    let headers = elements(parts[0]);
    assert_eq!(headers.len(), 1);
    assert!(headers[0].has_tag_name((NS_TYPES, "RequestServerVersion")));
    let version = headers[0]
        .attribute("Version")
        .expect("Version is required");
    assert!(SERVER_VERSIONS.contains(&version), "{version}");
    assert_eq!(headers[0].attributes().len(), 1);
    // Body: exactly one m:GetUserPhoto with the sequence Email, SizeRequested.
    let body = elements(parts[1]);
    assert_eq!(body.len(), 1);
    assert!(body[0].has_tag_name((NS_MESSAGES, "GetUserPhoto")));
    let fields = elements(body[0]);
    let names: Vec<_> = fields.iter().map(|n| n.tag_name().name()).collect();
    assert_eq!(names, ["Email", "SizeRequested"]);
    for field in &fields {
        assert_eq!(
            field.tag_name().namespace(),
            Some(NS_MESSAGES),
            "elementFormDefault=qualified"
        );
        assert!(elements(*field).is_empty(), "simple content only");
    }
    assert!(SCHEMA_SIZES.contains(&fields[1].text().unwrap()));
    assert!(
        !xml.contains("https://schemas"),
        "https namespaces are refused by Exchange"
    );
}

#[test]
fn request_follows_the_schema_for_every_size_and_version() {
    for size in crate::PhotoSize::ALL {
        for version in SERVER_VERSIONS {
            let xml = request("user1@contoso.com", size, version);
            check_against_schema_rules(&xml);
        }
    }
}

#[test]
fn request_escapes_the_address() {
    let email = r#"o'neil&<x>"q"@contoso.com"#;
    let xml = request(email, crate::PhotoSize::Hr48, DEFAULT_SERVER_VERSION);
    check_against_schema_rules(&xml);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let sent = doc
        .descendants()
        .find(|n| n.has_tag_name((NS_MESSAGES, "Email")))
        .unwrap();
    assert_eq!(sent.text(), Some(email));
}

#[test]
fn request_matches_the_documented_example() {
    let xml = request("user1@contoso.com", crate::PhotoSize::Hr48, "Exchange2013");
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="utf-8"?>"#));
    assert!(xml.contains(r#"<t:RequestServerVersion Version="Exchange2013"/>"#));
    assert!(xml.contains("<m:GetUserPhoto><m:Email>user1@contoso.com</m:Email><m:SizeRequested>HR48x48</m:SizeRequested></m:GetUserPhoto>"));
}

#[test]
fn server_version_is_checked() {
    assert!(check_server_version("Exchange2013").is_ok());
    assert!(check_server_version("V2017_07_11").is_ok());
    let err = check_server_version("Exchange2010").unwrap_err();
    assert!(err.contains("Exchange2013"), "{err}");
}

#[test]
fn davmail_capture_cut_inside_message_xml_is_not_xml() {
    // mguessan/davmail issue #161 as stored: an Office 365 ErrorServerBusy fault cut
    // short inside MessageXml. A cut answer is an error, never a photo.
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
    <s:Body>
        <s:Fault>
            <faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode>
            <faultstring xml:lang="en-US">The server cannot service this request right now. Try again later.</faultstring>
            <detail>
                <e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode>
                <e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The server cannot service this request right now. Try again later.</e:Message>
                <t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/service"#;
    assert!(matches!(
        parse_response(xml.as_bytes()),
        Err(ParseError::NotXml(_))
    ));
}

#[test]
fn picture_data_is_shortened_in_logs() {
    let data = "A".repeat(1000);
    let body = format!("<m:PictureData>{data}</m:PictureData><x/>");
    let shown = abbreviate_for_log(body.as_bytes(), Some("text/xml"));
    assert!(
        shown.contains("…[1000 characters of base64]</m:PictureData><x/>"),
        "{shown}"
    );
    assert!(shown.len() < 200);
    assert_eq!(
        abbreviate_for_log(&[0xff, 0xd8, 0, 0], Some("image/jpeg")),
        "[4 bytes of image/jpeg]"
    );
}

/// A picture large enough to be cut out before parsing, and what it decodes to.
fn large_picture() -> (String, Vec<u8>) {
    let bytes: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 256) as u8).collect();
    (BASE64.encode(&bytes), bytes)
}

#[test]
fn a_large_picture_plain_or_wrapped() {
    let (b64, bytes) = large_picture();
    let wrapped: String = b64
        .as_bytes()
        .chunks(76)
        .map(|c| format!("\r\n    {}", std::str::from_utf8(c).unwrap()))
        .collect();
    let shapes = [
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData>{b64}</PictureData><ContentType>image/jpeg</ContentType></GetUserPhotoResponse></s:Body></s:Envelope>"#
        ),
        format!(
            r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Body><m:GetUserPhotoResponse ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:HasChanged>true</m:HasChanged><m:PictureData>{wrapped}
  </m:PictureData></m:GetUserPhotoResponse></soap:Body></soap:Envelope>"#
        ),
    ];
    for xml in &shapes {
        let reply = parse_response(xml.as_bytes()).unwrap();
        assert_eq!(photo(reply).1.unwrap(), bytes);
    }
    // Cut short.
    let truncated = shapes[0].replace(&b64, &b64[..b64.len() - 7]);
    assert!(matches!(
        parse_response(truncated.as_bytes()),
        Err(ParseError::BadPicture(_))
    ));
}

#[test]
fn what_only_looks_like_the_picture_is_not_taken_for_it() {
    let (b64, bytes) = large_picture();
    let decoys = [
        // In a comment before the real one.
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><!-- <PictureData>{b64}</PictureData> --><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData>{b64}</PictureData></GetUserPhotoResponse></s:Body></s:Envelope>"#
        ),
        // In an element of another kind, and the real one with a character reference.
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData>{}&#13;{}</PictureData></GetUserPhotoResponse></s:Body></s:Envelope>"#,
            &b64[..400],
            &b64[400..]
        ),
        // Inside a CDATA section of an unknown element.
        format!(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><Note><![CDATA[<PictureData>{b64}</PictureData>]]></Note><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData>{b64}</PictureData></GetUserPhotoResponse></s:Body></s:Envelope>"#
        ),
    ];
    for xml in &decoys {
        let reply = parse_response(xml.as_bytes()).unwrap();
        assert_eq!(photo(reply).1.unwrap(), bytes);
    }
}
