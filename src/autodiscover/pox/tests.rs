//! Every POX answer shape from the fixtures, as unit tests.

use super::*;

fn settings(body: &[u8]) -> Settings {
    match parse(body) {
        Ok(Answer::Settings(settings)) => settings,
        other => panic!("expected settings, got {other:?}"),
    }
}

fn ews(body: &[u8]) -> (String, String, &'static str) {
    let found = settings(body).ews.expect("an EWS URL");
    (found.url, found.protocol, found.element)
}

#[test]
fn the_request_is_what_microsoft_clients_send() {
    let body = request("jdoe@contoso.com");
    let doc = roxmltree::Document::parse(&body).unwrap();
    let root = doc.root_element();
    assert!(root.has_tag_name((NS_REQUEST, "Autodiscover")));
    let req = root.first_element_child().unwrap();
    assert!(req.has_tag_name((NS_REQUEST, "Request")));
    let names: Vec<(&str, Option<&str>)> = req
        .children()
        .filter(|n| n.is_element())
        .map(|n| (n.tag_name().name(), n.text()))
        .collect();
    assert_eq!(
        names,
        [
            ("EMailAddress", Some("jdoe@contoso.com")),
            ("AcceptableResponseSchema", Some(NS_OUTLOOK)),
        ]
    );
}

#[test]
fn the_address_is_escaped() {
    let body = request(" o'neil&co<x>@contoso.com ");
    assert!(body.contains("<EMailAddress>o&apos;neil&amp;co&lt;x&gt;@contoso.com</EMailAddress>"));
    roxmltree::Document::parse(&body).unwrap();
}

#[test]
fn real_exchange_2016_capture_expr_without_ews_url_falls_back_to_exch() {
    let body = fixture!("pox-exchange2016-capture.xml");
    let found = settings(body);
    assert_eq!(found.protocols, ["EXCH", "EXPR", "WEB"]);
    assert_eq!(found.smtp_address.as_deref(), Some("jdoe@contoso.com"));
    // EwsUrl wins over ASUrl within one protocol; the WEB protocol's nested
    // Internal/Protocol is not a candidate.
    assert_eq!(
        ews(body),
        (
            "https://mail.contoso.com/EWS/Exchange.asmx".into(),
            "EXCH".into(),
            "EwsUrl"
        )
    );
}

#[test]
fn exchange_2007_doc_sample_uses_expr_asurl() {
    assert_eq!(
        ews(fixture!("pox-exchange2007-doc-sample.xml")),
        (
            "https://mail.contoso.com/ews/exchange.asmx".into(),
            "EXPR".into(),
            "ASUrl"
        )
    );
}

#[test]
fn the_doc_sample_as_printed_with_https_namespaces_is_not_an_answer() {
    let printed = String::from_utf8(fixture!("pox-exchange2007-doc-sample.xml").to_vec())
        .unwrap()
        .replace(
            "http://schemas.microsoft.com",
            "https://schemas.microsoft.com",
        );
    let err = parse(printed.as_bytes()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "XML, but not an Autodiscover answer (the root is <Autodiscover> in https://schemas.microsoft.com/exchange/autodiscover/responseschema/2006)"
    );
}

#[test]
fn mapihttp_type_attribute_and_web_only_has_no_ews_url() {
    let found = settings(fixture!("pox-mapihttp-sample.xml"));
    assert_eq!(found.protocols, ["mapiHttp", "WEB"]);
    assert_eq!(found.ews, None);
}

#[test]
fn exchangelib_settings_fixtures() {
    assert_eq!(
        ews(fixture!("pox-expr.xml")).0,
        "https://expr.contoso.com/EWS/Exchange.asmx"
    );
    // "Select EXPR if it's there, and there are multiple available"
    assert_eq!(
        ews(fixture!("pox-expr-and-exch.xml")).0,
        "https://expr.contoso.com/EWS/Exchange.asmx"
    );
    // "Select EXCH if EXPR is unavailable"
    assert_eq!(
        ews(fixture!("pox-exch-only.xml")),
        (
            "https://exch.contoso.com/EWS/Exchange.asmx".into(),
            "EXCH".into(),
            "EwsUrl"
        )
    );
    // "Fail if neither EXPR nor EXCH": an answer, but no URL.
    let unknown = settings(fixture!("pox-type-xxx.xml"));
    assert_eq!(unknown.protocols, ["XXX"]);
    assert_eq!(unknown.ews, None);
}

#[test]
fn redirects() {
    assert_eq!(
        parse(fixture!("pox-redirect-addr.xml")).unwrap(),
        Answer::RedirectAddr("jdoe@fabrikam.com".into())
    );
    assert_eq!(
        parse(fixture!("pox-redirect-url-upper.xml")).unwrap(),
        Answer::RedirectUrl("https://mail.contoso.com/autodiscover/autodiscover.xml".into())
    );
    assert_eq!(
        parse(fixture!("pox-redirect-url.xml")).unwrap(),
        Answer::RedirectUrl(
            "https://autodiscover-s.contoso.com/Autodiscover/Autodiscover.xml".into()
        )
    );
}

#[test]
fn exchangelib_parse_fixtures_with_user_before_account() {
    let xml = br#"<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
    <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
        <User>
            <AutoDiscoverSMTPAddress>john@demo.contoso.com</AutoDiscoverSMTPAddress>
        </User>
        <Account>
            <Action>redirectAddr</Action>
            <RedirectAddr>foo@example.com</RedirectAddr>
        </Account>
    </Response>
</Autodiscover>"#;
    assert_eq!(
        parse(xml).unwrap(),
        Answer::RedirectAddr("foo@example.com".into())
    );
}

#[test]
fn error_responses() {
    let Answer::Error(error) = parse(fixture!("pox-error-600.xml")).unwrap() else {
        panic!("expected an error")
    };
    assert_eq!(error.code.as_deref(), Some("600"));
    assert_eq!(error.message.as_deref(), Some("Invalid Request"));
    assert_eq!(error.debug_data, None);
    assert_eq!(
        error.describe(),
        "Autodiscover error 600: Invalid Request (the server did not understand the request)"
    );
    let Answer::Error(error) = parse(fixture!("pox-error-500.xml")).unwrap() else {
        panic!("expected an error")
    };
    assert_eq!(
        error.describe(),
        "Autodiscover error 500: The e-mail address cannot be found. (the server does not know this address)"
    );
}

#[test]
fn error_inside_account_as_the_reference_page_places_it() {
    let xml = br#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account><Error Time="1" Id="2"><ErrorCode>603</ErrorCode><Message>x</Message><DebugData>d</DebugData></Error></Account>
  </Response></Autodiscover>"#;
    assert_eq!(
        parse(xml).unwrap(),
        Answer::Error(PoxError {
            code: Some("603".into()),
            message: Some("x".into()),
            debug_data: Some("d".into())
        })
    );
}

#[test]
fn prefixes_do_not_matter() {
    let xml = br#"<a:Autodiscover xmlns:a="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
        xmlns:o="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
      <o:Response><o:Account><o:Action>settings</o:Action>
        <o:Protocol><o:Type>expr</o:Type><o:EwsUrl> https://m.contoso.com/EWS/Exchange.asmx </o:EwsUrl></o:Protocol>
      </o:Account></o:Response></a:Autodiscover>"#;
    assert_eq!(ews(xml).0, "https://m.contoso.com/EWS/Exchange.asmx");
}

#[test]
fn elements_in_a_foreign_namespace_are_ignored() {
    let xml = br#"<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
      <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
        <Account><Action>settings</Action>
          <Protocol xmlns="urn:evil"><Type>EXPR</Type><EwsUrl>https://evil.example/EWS/Exchange.asmx</EwsUrl></Protocol>
          <Protocol><Type>EXCH</Type><EwsUrl>https://mail.contoso.com/EWS/Exchange.asmx</EwsUrl></Protocol>
        </Account></Response></Autodiscover>"#;
    assert_eq!(ews(xml).0, "https://mail.contoso.com/EWS/Exchange.asmx");
}

#[test]
fn answers_without_action_go_by_their_content() {
    let wrap = |inner: &str| {
        format!(
            r#"<Autodiscover xmlns="{NS_BASE}"><Response xmlns="{NS_OUTLOOK}"><Account>{inner}</Account></Response></Autodiscover>"#
        )
    };
    assert_eq!(
        parse(wrap("<RedirectAddr>b@fabrikam.com</RedirectAddr>").as_bytes()).unwrap(),
        Answer::RedirectAddr("b@fabrikam.com".into())
    );
    assert_eq!(
        parse(wrap("<Action>REDIRECTURL</Action><RedirectUrl>https://x/autodiscover/autodiscover.xml</RedirectUrl>").as_bytes()).unwrap(),
        Answer::RedirectUrl("https://x/autodiscover/autodiscover.xml".into())
    );
    assert_eq!(
        parse(wrap("<Action>redirectAddr</Action>").as_bytes()).unwrap_err(),
        ParseError::MissingTarget("redirectAddr")
    );
    assert_eq!(
        parse(wrap("<Action>Reboot</Action>").as_bytes()).unwrap_err(),
        ParseError::UnknownAction("Reboot".into())
    );
}

#[test]
fn what_is_not_a_pox_answer() {
    // exchangelib: "Response is not XML", "Unknown root element in XML".
    assert!(matches!(parse(b"XXX"), Err(ParseError::NotXml(_))));
    assert_eq!(
        parse(br#"<?xml version="1.0" encoding="utf-8"?><foo>bar</foo>"#).unwrap_err(),
        ParseError::NotAutodiscover("<foo>".into())
    );
    assert_eq!(
        parse(fixture!("html-page.html")).unwrap_err(),
        ParseError::Html
    );
    assert_eq!(
        parse(b"<html><body>login</body></html>").unwrap_err(),
        ParseError::Html
    );
    assert_eq!(
        parse(fixture!("pox-mobilesync-error.xml")).unwrap_err(),
        ParseError::OtherSchema(
            "http://schemas.microsoft.com/exchange/autodiscover/mobilesync/responseschema/2006"
                .into()
        )
    );
    assert!(matches!(parse(b""), Err(ParseError::NotXml(_))));
    assert!(matches!(parse(b"\xff\xff\xff"), Err(ParseError::NotXml(_))));
    assert!(matches!(
        parse(format!(r#"<Autodiscover xmlns="{NS_BASE}"/>"#).as_bytes()),
        Err(ParseError::NotAutodiscover(_))
    ));
}

#[test]
fn automx2_imap_only_answer_has_no_ews_url() {
    let found = settings(fixture!("pox-imap-only.xml"));
    assert_eq!(found.protocols, ["IMAP", "SMTP"]);
    assert_eq!(found.ews, None);
}

#[test]
fn dtds_and_entity_bombs_are_refused() {
    let bomb = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">&lol2;</Autodiscover>"#;
    assert!(matches!(parse(bomb), Err(ParseError::NotXml(_))));
}

#[test]
fn huge_answers_are_refused() {
    let many = "<X/>".repeat(xml::NODES_LIMIT + 1);
    let xml = format!(r#"<Autodiscover xmlns="{NS_BASE}">{many}</Autodiscover>"#);
    assert!(matches!(parse(xml.as_bytes()), Err(ParseError::NotXml(_))));
}

#[test]
fn utf8_bom_and_utf16_answers() {
    let body = fixture!("pox-exch-only.xml");
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(body);
    assert_eq!(
        ews(&with_bom).0,
        "https://exch.contoso.com/EWS/Exchange.asmx"
    );
    let text = std::str::from_utf8(body)
        .unwrap()
        .replace("utf-8", "utf-16");
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    assert_eq!(ews(&utf16).0, "https://exch.contoso.com/EWS/Exchange.asmx");
}

#[test]
fn every_cut_of_a_real_answer_is_an_error_or_an_answer_never_a_panic() {
    let body = fixture!("pox-exchange2016-capture.xml");
    for end in 0..body.len() {
        let _ = parse(&body[..end]);
    }
}
