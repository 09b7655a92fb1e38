//! One photo's conversation with Graph, answer by answer.

use super::*;
use crate::PhotoSize;

fn graph() -> Graph {
    Graph::new(&HttpUrl::parse("https://graph.microsoft.com").unwrap())
}

fn photo(email: &str, size: PhotoSize, tag: Option<&str>) -> PhotoRequest {
    PhotoRequest {
        email: email.into(),
        size,
        if_none_match: tag.map(String::from),
    }
}

fn reply(status: u16, headers: &[(&str, &str)], body: &[u8]) -> HttpReply {
    HttpReply {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body: body.to_vec(),
    }
}

fn jpeg(etag: &str) -> HttpReply {
    reply(
        200,
        &[("content-type", "image/jpeg"), ("etag", etag)],
        b"\xff\xd8\xff\xe0",
    )
}

fn error(status: u16, code: &str) -> HttpReply {
    reply(
        status,
        &[("content-type", "application/json")],
        format!(r#"{{"error":{{"code":"{code}","message":"m"}}}}"#).as_bytes(),
    )
}

fn path(exchange: &dyn Exchange) -> String {
    let url = exchange.request().url.as_str();
    url.strip_prefix("https://graph.microsoft.com/v1.0")
        .unwrap_or(url)
        .to_string()
}

fn again(exchange: &mut dyn Exchange, answer: HttpReply) -> String {
    assert!(matches!(exchange.answer(&answer), Next::Again));
    path(exchange)
}

fn done(exchange: &mut dyn Exchange, answer: HttpReply) -> Result<Outcome, ServerError> {
    match exchange.answer(&answer) {
        Next::Done(result) => result,
        Next::Again => panic!("another request: {}", path(exchange)),
    }
}

#[test]
fn a_photo_by_user_name_is_one_request() {
    let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr240, None));
    assert_eq!(
        path(&*exchange),
        "/users/alice@contoso.com/photos/240x240/$value"
    );
    let request = exchange.request();
    assert!(
        request
            .headers
            .iter()
            .any(|(n, v)| *n == "client-request-id" && v.len() == 36)
    );
    let Ok(Outcome::Photo(raw)) = done(&mut *exchange, jpeg("\"1E8FD63F\"")) else {
        panic!()
    };
    assert_eq!(raw.etag.as_deref(), Some("1E8FD63F"));
    assert_eq!(raw.content_type.as_deref(), Some("image/jpeg"));
}

#[test]
fn the_largest_sizes_ask_for_the_largest_photo() {
    for size in [PhotoSize::Hr1024xN, PhotoSize::Hr1920xN] {
        let exchange = graph().begin(&photo("alice@contoso.com", size, None));
        assert_eq!(path(&*exchange), "/users/alice@contoso.com/photo/$value");
    }
}

#[test]
fn a_missing_size_falls_back_to_the_largest_then_no_photo() {
    let mut exchange = graph().begin(&photo("bob@contoso.com", PhotoSize::Hr648, None));
    assert_eq!(
        again(&mut *exchange, error(404, "ImageNotFound")),
        "/users/bob@contoso.com/photo/$value"
    );
    let Ok(Outcome::NoPhoto { detail }) = done(&mut *exchange, error(404, "ImageNotFound")) else {
        panic!()
    };
    assert!(detail.unwrap().starts_with("ImageNotFound"));
    // The same, but the largest is there (a 504x504 upload has no 648x648).
    let mut exchange = graph().begin(&photo("bob@contoso.com", PhotoSize::Hr648, None));
    again(
        &mut *exchange,
        reply(404, &[("content-type", "text/plain")], b""),
    );
    assert!(matches!(
        done(&mut *exchange, jpeg("\"a\"")),
        Ok(Outcome::Photo(_))
    ));
}

#[test]
fn an_address_that_is_not_a_user_name_is_looked_up_once() {
    let mut exchange = graph().begin(&photo("a.smith@contoso.com", PhotoSize::Hr96, None));
    let lookup = again(&mut *exchange, error(404, "Request_ResourceNotFound"));
    assert!(
        lookup.starts_with(
            "/users?$filter=mail%20eq%20%27a.smith%40contoso.com%27%20or%20proxyAddresses"
        ),
        "{lookup}"
    );
    let request = exchange.request();
    assert!(
        request
            .headers
            .iter()
            .any(|(n, v)| *n == "ConsistencyLevel" && v == "eventual")
    );
    let found = reply(
        200,
        &[("content-type", "application/json")],
        br#"{"@odata.count":1,"value":[{"id":"6e7b768e-07e2-4810-8459-485f84f8f204","userPrincipalName":"alice@contoso.com","mail":"alice@contoso.com"}]}"#,
    );
    assert_eq!(
        again(&mut *exchange, found),
        "/users/6e7b768e-07e2-4810-8459-485f84f8f204/photos/96x96/$value"
    );
    // By id, "no such user" is final: no second look-up.
    let Ok(Outcome::NoPhoto { detail }) = done(&mut *exchange, error(404, "ErrorInvalidUser"))
    else {
        panic!()
    };
    assert!(detail.unwrap().contains("no such user"));
}

#[test]
fn an_address_nobody_has_is_no_photo_with_the_reason() {
    let mut exchange = graph().begin(&photo("ghost@contoso.com", PhotoSize::Hr96, None));
    again(&mut *exchange, error(404, "ResourceNotFound"));
    let none = reply(200, &[], br#"{"@odata.count":0,"value":[]}"#);
    let Ok(Outcome::NoPhoto { detail }) = done(&mut *exchange, none) else {
        panic!()
    };
    assert!(
        detail
            .unwrap()
            .contains("no user in the directory has this address")
    );
}

#[test]
fn an_ambiguous_address_or_a_denied_lookup_fails() {
    let mut exchange = graph().begin(&photo("team@contoso.com", PhotoSize::Hr96, None));
    again(&mut *exchange, error(404, "Request_ResourceNotFound"));
    let two = reply(200, &[], br#"{"value":[{"id":"1","userPrincipalName":"a@contoso.com"},{"id":"2","userPrincipalName":"b@contoso.com"}]}"#);
    let err = done(&mut *exchange, two).unwrap_err();
    assert!(
        err.to_string().contains("a@contoso.com, b@contoso.com"),
        "{err}"
    );
    let mut exchange = graph().begin(&photo("team@contoso.com", PhotoSize::Hr96, None));
    again(&mut *exchange, error(404, "Request_ResourceNotFound"));
    let err = done(&mut *exchange, error(403, "Authorization_RequestDenied")).unwrap_err();
    assert_eq!(err.exit().code(), 4);
    assert!(err.to_string().contains("User.Read.All"), "{err}");
}

#[test]
fn a_user_without_a_mailbox_is_no_photo_with_the_reason() {
    let mut exchange = graph().begin(&photo("room@contoso.com", PhotoSize::Hr96, None));
    let Ok(Outcome::NoPhoto { detail }) = done(&mut *exchange, error(400, "AuthenticationError"))
    else {
        panic!()
    };
    assert!(detail.unwrap().contains("no mailbox"));
}

#[test]
fn sync_compares_the_media_etag_before_downloading() {
    let metadata = |tag: &str| {
        reply(
            200,
            &[("content-type", "application/json")],
            format!(r#"{{"@odata.mediaContentType":"image/jpeg","@odata.mediaEtag":"\"{tag}\"","id":"96x96","width":96,"height":96}}"#).as_bytes(),
        )
    };
    let mut exchange = graph().begin(&photo(
        "alice@contoso.com",
        PhotoSize::Hr96,
        Some("BA09D118"),
    ));
    assert_eq!(path(&*exchange), "/users/alice@contoso.com/photos/96x96");
    assert_eq!(
        done(&mut *exchange, metadata("BA09D118")).unwrap(),
        Outcome::Unchanged {
            etag: Some("BA09D118".into()),
            expires: None
        }
    );
    // Changed: the bytes are fetched, and the metadata's tag is the one kept.
    let mut exchange = graph().begin(&photo(
        "alice@contoso.com",
        PhotoSize::Hr96,
        Some("\"BA09D118\""),
    ));
    assert_eq!(
        again(&mut *exchange, metadata("C0FFEE00")),
        "/users/alice@contoso.com/photos/96x96/$value"
    );
    let Ok(Outcome::Photo(raw)) = done(&mut *exchange, jpeg("\"other\"")) else {
        panic!()
    };
    assert_eq!(raw.etag.as_deref(), Some("C0FFEE00"));
    // Removed since: a 404 on the metadata.
    let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr1920xN, Some("x")));
    assert_eq!(path(&*exchange), "/users/alice@contoso.com/photo");
    assert!(matches!(
        done(&mut *exchange, error(404, "ImageNotFound")),
        Ok(Outcome::NoPhoto { .. })
    ));
    // The 1×1 placeholder of profilephoto-get.md's example 3.
    let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr96, Some("x")));
    let placeholder = reply(200, &[], br#"{"@odata.mediaContentType":"image/gif","@odata.mediaEtag":"","id":"1x1","width":1,"height":1}"#);
    assert!(matches!(
        done(&mut *exchange, placeholder),
        Ok(Outcome::NoPhoto { .. })
    ));
}

#[test]
fn a_body_that_is_not_an_image_is_never_a_photo() {
    for media in ["text/html; charset=utf-8", "application/json", ""] {
        let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr96, None));
        let page = reply(
            200,
            &[("content-type", media), ("request-id", "r-5")],
            b"<html>Sign in</html>",
        );
        let err = done(&mut *exchange, page).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("not an image") && text.contains("request-id r-5"),
            "{text}"
        );
        assert_eq!(err.exit().code(), 1);
    }
}

#[test]
fn throttling_and_denial_end_the_conversation_as_errors() {
    let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr96, None));
    let throttled = reply(
        429,
        &[("retry-after", "2")],
        br#"{"error":{"code":"TooManyRequests","message":"Too many requests"}}"#,
    );
    assert!(matches!(
        done(&mut *exchange, throttled),
        Err(ServerError::Busy { back_off: Some(d), .. }) if d.as_secs() == 2
    ));
    let mut exchange = graph().begin(&photo("alice@contoso.com", PhotoSize::Hr96, None));
    let err = done(&mut *exchange, error(403, "ErrorAccessDenied")).unwrap_err();
    assert!(err.to_string().contains("ProfilePhoto.Read.All"), "{err}");
}

#[test]
fn a_401_is_explained_with_graph_s_words() {
    let graph = Graph::new(&HttpUrl::parse("https://graph.microsoft.us").unwrap());
    let r = reply(
        401,
        &[("request-id", "r-1"), ("client-request-id", "c-1")],
        br#"{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure. Invalid audience."}}"#,
    );
    let hint = graph.rejection_hint(&r).unwrap();
    for part in [
        "Invalid audience",
        "https://graph.microsoft.us",
        "request-id r-1, client-request-id c-1",
    ] {
        assert!(hint.contains(part), "{part}: {hint}");
    }
}

#[test]
fn request_ids_are_version_4_uuids() {
    let id = request_id();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4");
    assert!("89ab".contains(&id[19..20]), "{id}");
    assert_ne!(id, request_id());
}

#[test]
fn the_root_is_normalised() {
    for given in [
        "https://graph.microsoft.com",
        "https://graph.microsoft.com/",
        "https://graph.microsoft.com/v1.0",
        "HTTPS://Graph.Microsoft.com/v1.0/",
    ] {
        let graph = Graph::new(&HttpUrl::parse(given).unwrap());
        assert_eq!(
            graph.root().as_str(),
            "https://graph.microsoft.com/v1.0",
            "{given}"
        );
    }
    let proxied = Graph::new(&HttpUrl::parse("http://127.0.0.1:8080/graph").unwrap());
    assert_eq!(proxied.root().as_str(), "http://127.0.0.1:8080/graph/v1.0");
}
