//! EWS GetUserPhoto, in its SOAP form ([`soap`]) and its REST twin ([`rest`]),
//! and what an HTTP answer to either means: the decision table of the protocol
//! notes (§3.1). Pure: status, headers and body in, an [`Outcome`] or a
//! [`ServerError`] out.

pub mod rest;
pub mod soap;

use crate::HttpUrl;
use crate::auth::challenge::parse_challenges;
use crate::backend::{Backend, BodyLog, Exchange, Next, Outcome, PhotoRequest, RawPhoto};
use crate::error::ServerError;
use crate::http::{HttpReply, HttpRequest, quote_etag};
use soap::{EwsError, Reply};

/// The two forms of the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `POST` of a SOAP envelope to the EWS URL.
    #[default]
    Soap,
    /// `GET {url}/s/GetUserPhoto?email=…&size=…`.
    Rest,
}

/// The EWS back end: one server, one form of the operation, optionally acting
/// as one mailbox.
#[derive(Clone, Debug)]
pub struct Ews {
    url: HttpUrl,
    protocol: Protocol,
    server_version: String,
    impersonate: Option<String>,
}

impl Ews {
    /// A back end for the EWS URL; fails on a `RequestServerVersion` the schema
    /// does not know.
    pub fn new(url: HttpUrl, protocol: Protocol, server_version: &str) -> Result<Ews, String> {
        soap::check_server_version(server_version)?;
        Ok(Ews {
            url,
            protocol,
            server_version: server_version.to_string(),
            impersonate: None,
        })
    }

    /// Acts as `mailbox` in every request: the `ExchangeImpersonation` SOAP
    /// header and `X-AnchorMailbox` (Microsoft: "When using impersonation you
    /// must always use the X-AnchorMailbox request header"). The anchor is the
    /// caller's mailbox, not the photo's owner: the server finds the photo.
    ///
    /// ```
    /// use ews_photo::backend::ews::{Ews, Protocol};
    /// use ews_photo::backend::PhotoRequest;
    /// use ews_photo::{HttpUrl, PhotoSize};
    /// let ews = Ews::new(HttpUrl::parse("https://outlook.office365.com/EWS/Exchange.asmx")?, Protocol::Soap, "Exchange2013")?
    ///     .impersonating(Some("svc-photos@contoso.com".into()));
    /// let request = ews.request(&PhotoRequest { email: "alice@contoso.com".into(), size: PhotoSize::Hr96, if_none_match: None });
    /// assert!(request.headers.contains(&("X-AnchorMailbox", "svc-photos@contoso.com".to_string())));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn impersonating(mut self, mailbox: Option<String>) -> Ews {
        self.impersonate = mailbox;
        self
    }

    /// The request for one photo, in the configured form.
    pub fn request(&self, photo: &PhotoRequest) -> HttpRequest {
        let impersonate = self.impersonate.as_deref();
        let request = match self.protocol {
            Protocol::Soap => HttpRequest::post(
                self.url.clone(),
                soap::request_as(&photo.email, photo.size, &self.server_version, impersonate)
                    .into_bytes(),
            )
            .header("Content-Type", "text/xml; charset=utf-8")
            .header("SOAPAction", soap::SOAP_ACTION),
            Protocol::Rest => HttpRequest::get(rest::url(&self.url, &photo.email, photo.size)),
        };
        let request = match impersonate {
            Some(mailbox) => request.header("X-AnchorMailbox", mailbox),
            None => request,
        };
        match &photo.if_none_match {
            Some(etag) => request.header("If-None-Match", quote_etag(etag)),
            None => request,
        }
    }
}

impl Backend for Ews {
    fn begin(&self, photo: &PhotoRequest) -> Box<dyn Exchange> {
        Box::new(EwsExchange {
            request: self.request(photo),
            protocol: self.protocol,
            email: photo.email.clone(),
            impersonate: self.impersonate.clone(),
        })
    }

    fn body_log(&self) -> BodyLog {
        soap::abbreviate_for_log
    }

    fn routes_by_anchor_mailbox(&self) -> bool {
        true
    }
}

/// One request, one answer.
struct EwsExchange {
    request: HttpRequest,
    protocol: Protocol,
    email: String,
    impersonate: Option<String>,
}

impl Exchange for EwsExchange {
    fn request(&self) -> &HttpRequest {
        &self.request
    }

    fn answer(&mut self, reply: &HttpReply) -> Next {
        Next::Done(
            interpret(self.protocol, &self.email, reply)
                .map_err(|e| impersonation_advice(e, self.impersonate.as_deref())),
        )
    }
}

/// Interprets an answer of either form.
///
/// `email` is the address asked for, for the messages.
///
/// ```
/// use ews_photo::HttpReply;
/// use ews_photo::backend::Outcome;
/// use ews_photo::backend::ews::{interpret, Protocol};
/// let reply = HttpReply { status: 404, ..Default::default() };
/// assert!(matches!(interpret(Protocol::Rest, "a@b.c", &reply), Ok(Outcome::NoPhoto { .. })));
/// ```
pub fn interpret(
    protocol: Protocol,
    email: &str,
    reply: &HttpReply,
) -> Result<Outcome, ServerError> {
    match reply.status {
        401 | 407 => Err(ServerError::Unauthorized {
            status: reply.status,
            offered: parse_challenges(reply.headers_all(if reply.status == 407 {
                "proxy-authenticate"
            } else {
                "www-authenticate"
            })),
            tried: None,
            hint: "check the credentials and --auth".into(),
        }),
        403 => Err(forbidden(reply)),
        // No photo, whatever the body says (Exchange sends a success body with it).
        404 => Ok(Outcome::NoPhoto { detail: None }),
        503 | 429 => Err(ServerError::Busy {
            code: format!("HTTP {}", reply.status),
            message: None,
            back_off: reply.retry_after(),
        }),
        300..=399 if reply.status != 304 => Err(ServerError::Redirect(format!(
            "the server redirected (HTTP {}) to {}; pass the final EWS URL with --url",
            reply.status,
            reply.header("location").unwrap_or("nowhere")
        ))),
        _ => match protocol {
            Protocol::Soap => interpret_soap(email, reply),
            Protocol::Rest => interpret_rest(email, reply),
        },
    }
}

fn interpret_soap(email: &str, reply: &HttpReply) -> Result<Outcome, ServerError> {
    let parsed = soap::parse_response(&reply.body);
    match (reply.status, parsed) {
        (
            200,
            Ok(Reply::Photo {
                has_changed: false, ..
            }),
        ) => Ok(Outcome::Unchanged {
            etag: reply.etag(),
            expires: reply.expires(),
        }),
        (
            200,
            Ok(Reply::Photo {
                picture: Some(bytes),
                content_type,
                ..
            }),
        ) => Ok(Outcome::Photo(RawPhoto {
            bytes,
            content_type: content_type.or_else(|| Some("image/jpeg".into())),
            etag: reply.etag(),
            expires: reply.expires(),
        })),
        (200, Ok(Reply::Photo { picture: None, .. })) => Ok(Outcome::NoPhoto {
            detail: Some("the server sent an empty PictureData".into()),
        }),
        (_, Ok(Reply::Error(error) | Reply::Fault(error))) => from_ews_error(email, error),
        (200, Err(err)) => Err(not_soap(reply, err)),
        (500, Ok(Reply::Photo { .. }) | Err(_)) => Err(ServerError::ServerFailure {
            status: 500,
            what: reply.describe_body(),
        }),
        (status, _) => Err(ServerError::UnexpectedStatus {
            status,
            detail: Some(format!("with {}", reply.describe_body())),
        }),
    }
}

fn interpret_rest(email: &str, reply: &HttpReply) -> Result<Outcome, ServerError> {
    match reply.status {
        200 => {
            let media = reply.media_type();
            if media.as_deref().is_some_and(is_markup) {
                return Err(not_soap(reply, soap::ParseError::NotSoap));
            }
            Ok(Outcome::Photo(RawPhoto {
                bytes: reply.body.clone(),
                content_type: media,
                etag: reply.etag(),
                expires: reply.expires(),
            }))
        }
        304 => Ok(Outcome::Unchanged {
            etag: reply.etag(),
            expires: reply.expires(),
        }),
        500 => match soap::parse_response(&reply.body) {
            Ok(Reply::Error(error) | Reply::Fault(error)) => from_ews_error(email, error),
            _ => Err(ServerError::ServerFailure {
                status: 500,
                what: reply.describe_body(),
            }),
        },
        400 => Err(ServerError::UnexpectedStatus {
            status: 400,
            detail: Some("the server refused the request (is the size valid for this server? HR1024xN and HR1920xN need Exchange 2016 or later)".into()),
        }),
        status => Err(ServerError::UnexpectedStatus {
            status,
            detail: Some(format!("with {}", reply.describe_body())),
        }),
    }
}

fn is_markup(media: &str) -> bool {
    media == "text/html"
        || media == "application/xhtml+xml"
        || media == "text/xml"
        || media == "application/xml"
}

fn not_soap(reply: &HttpReply, err: soap::ParseError) -> ServerError {
    if reply.looks_like_html() {
        ServerError::Malformed(
            "the server sent an HTML page instead of a photo answer (a sign-in page from a reverse proxy? check --url points at /EWS/Exchange.asmx)".into(),
        )
    } else {
        ServerError::Malformed(err.to_string())
    }
}

/// Maps an EWS response code to an outcome or an error.
fn from_ews_error(email: &str, error: EwsError) -> Result<Outcome, ServerError> {
    let EwsError {
        code,
        message,
        back_off,
        details,
    } = error;
    let mentions = |needle: &str| {
        message.as_deref().is_some_and(|m| m.contains(needle))
            || details.iter().any(|(_, v)| v.contains(needle))
    };
    match code.as_str() {
        "ErrorServerBusy"
        | "ErrorExceededConnectionCount"
        | "ErrorTooManyObjectsOpened"
        | "ErrorExceededSubscriptionCount" => Err(ServerError::Busy {
            code,
            message,
            back_off,
        }),
        "ErrorInternalServerError" | "ErrorInternalServerTransientError"
            if back_off.is_some() || mentions("ErrorServerBusy") =>
        {
            Err(ServerError::Busy {
                code,
                message,
                back_off,
            })
        }
        "ErrorImpersonateUserDenied"
        | "ErrorImpersonationDenied"
        | "ErrorInvalidExchangeImpersonationHeaderData" => Err(ServerError::Impersonation {
            advice: advice_for(&code, None),
            code,
            message,
        }),
        "ErrorAccessDenied" | "ErrorUnauthorized" => Err(ServerError::Forbidden {
            detail: match message {
                Some(m) => format!("{code}: {m}"),
                None => code,
            },
            advice: None,
        }),
        "ErrorNonExistentMailbox" | "ErrorMailboxNotFound" | "ErrorRecipientNotFound" => {
            Ok(Outcome::NoPhoto {
                detail: Some(format!("{code}: the server does not know this mailbox")),
            })
        }
        "ErrorInvalidSmtpAddress" => Err(ServerError::InvalidAddress {
            email: email.to_string(),
            code,
        }),
        _ => Err(ServerError::Refused { code, message }),
    }
}

/// A 403. Exchange Online names the reason in `X-EWS-Policy-Reason` when it
/// refuses EWS itself for this app or user (protocol notes §C): "EWS is
/// disabled for this user or tenant" or "EWS is blocked by policy for this
/// user or tenant". A bare 403 does not say so, and gets the usual advice.
fn forbidden(reply: &HttpReply) -> ServerError {
    let Some(reason) = reply
        .header("x-ews-policy-reason")
        .map(str::trim)
        .filter(|r| !r.is_empty())
    else {
        return ServerError::Forbidden {
            detail: "HTTP 403 Forbidden".into(),
            advice: None,
        };
    };
    let lower = reason.to_ascii_lowercase();
    let which = if lower.contains("disabled") {
        "EWS is switched off for this mailbox or the whole organisation (EWSEnabled is False: Set-OrganizationConfig -EWSEnabled, Set-CASMailbox -EWSEnabled)"
    } else if lower.contains("blocked") {
        "EWS is blocked by policy for this application (its application ID is not in EwsAllowedAppIDs: Set-OrganizationConfig -EwsAllowedAppIDs) or for this client (EwsBlockList, EwsAllowList)"
    } else {
        "Exchange Online refuses EWS for this application or user"
    };
    ServerError::Forbidden {
        detail: format!("HTTP 403, X-EWS-Policy-Reason: {reason}"),
        advice: Some(format!(
            "{which}; a change by an administrator takes up to 24 hours to apply (Get-OrganizationConfig -RetrieveEwsOperationAccessPolicy shows the policy). Exchange Online switches EWS off for good on 1 April 2027: fetch the photos from Microsoft Graph instead, with --backend graph"
        )),
    }
}

/// The advice for an impersonation error, which depends on whether the
/// request impersonated: Exchange answers both of its known complaints
/// ("ExchangeImpersonation SOAP header must be present for this type of OAuth
/// token", and "must not exist") with the same code, so what was sent tells
/// them apart, not the message's wording.
fn impersonation_advice(error: ServerError, impersonated: Option<&str>) -> ServerError {
    match error {
        ServerError::Impersonation { code, message, .. } => ServerError::Impersonation {
            advice: advice_for(&code, impersonated),
            code,
            message,
        },
        other => other,
    }
}

fn advice_for(code: &str, impersonated: Option<&str>) -> String {
    match (code, impersonated) {
        ("ErrorInvalidExchangeImpersonationHeaderData", None) => "this token is an app's own (client credentials), which EWS accepts only acting as a mailbox: add --impersonate SMTP (or EWS_IMPERSONATE), e.g. a service mailbox the app may act as".to_string(),
        ("ErrorInvalidExchangeImpersonationHeaderData", Some(mailbox)) => format!(
            "the server refuses to act as {mailbox} with this token: a user's token (--device-code, or a delegated EWS_TOKEN) acts as that user, so leave out --impersonate; only an app's own token (--client-secret-file or --certificate) impersonates"
        ),
        (_, Some(mailbox)) => format!(
            "the app may not act as {mailbox}: grant the application permission full_access_as_app with admin consent, and check that application access policies (Get-ApplicationAccessPolicy) or RBAC for Applications scopes include {mailbox}; or impersonate another mailbox"
        ),
        (_, None) => "the account may not impersonate: check --impersonate and the account's rights".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> HttpReply {
        HttpReply::new(status, headers, body.as_bytes())
    }

    const SUCCESS: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData>/9j/4A==</PictureData><ContentType>image/jpeg</ContentType></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    const NO_PICTURE: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>true</HasChanged><PictureData/></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    const UNCHANGED: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Success" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><ResponseCode>NoError</ResponseCode><HasChanged>false</HasChanged><PictureData/></GetUserPhotoResponse></s:Body></s:Envelope>"#;
    const BUSY_FAULT: &str = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorServerBusy</faultcode><faultstring>busy</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">1500</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;

    #[test]
    fn soap_success_carries_etag_and_expires() {
        let r = reply(
            200,
            &[
                ("etag", "\"abc\""),
                ("expires", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ],
            SUCCESS,
        );
        let Ok(Outcome::Photo(photo)) = interpret(Protocol::Soap, "u@contoso.com", &r) else {
            panic!()
        };
        assert_eq!(photo.bytes, [0xff, 0xd8, 0xff, 0xe0]);
        assert_eq!(photo.etag.as_deref(), Some("abc"));
        assert_eq!(
            photo.expires.as_deref(),
            Some("Thu, 01 Jan 2026 00:00:00 GMT")
        );
        assert_eq!(photo.content_type.as_deref(), Some("image/jpeg"));
    }

    #[test]
    fn soap_unchanged_is_200_has_changed_false() {
        let r = reply(200, &[("etag", "\"abc\"")], UNCHANGED);
        assert_eq!(
            interpret(Protocol::Soap, "u@contoso.com", &r).unwrap(),
            Outcome::Unchanged {
                etag: Some("abc".into()),
                expires: None
            }
        );
    }

    #[test]
    fn status_404_is_no_photo_whatever_the_body() {
        for body in [NO_PICTURE, "", "<html>Not Found</html>", SUCCESS] {
            for protocol in [Protocol::Soap, Protocol::Rest] {
                let r = reply(404, &[], body);
                assert!(matches!(
                    interpret(protocol, "u@contoso.com", &r),
                    Ok(Outcome::NoPhoto { .. })
                ));
            }
        }
    }

    #[test]
    fn soap_200_with_empty_picture_is_no_photo() {
        let r = reply(200, &[], NO_PICTURE);
        assert!(matches!(
            interpret(Protocol::Soap, "u@contoso.com", &r),
            Ok(Outcome::NoPhoto { .. })
        ));
    }

    #[test]
    fn status_500_empty_or_html_is_server_failure() {
        for body in ["", "<html>Runtime Error</html>", "oops"] {
            for protocol in [Protocol::Soap, Protocol::Rest] {
                let err = interpret(protocol, "u@contoso.com", &reply(500, &[], body)).unwrap_err();
                assert!(
                    matches!(err, ServerError::ServerFailure { status: 500, .. }),
                    "{err}"
                );
                assert_eq!(err.exit().code(), 1);
            }
        }
    }

    #[test]
    fn status_500_fault_is_decoded() {
        let err = interpret(
            Protocol::Soap,
            "u@contoso.com",
            &reply(500, &[], BUSY_FAULT),
        )
        .unwrap_err();
        let ServerError::Busy { code, back_off, .. } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(code, "ErrorServerBusy");
        assert_eq!(*back_off, Some(Duration::from_millis(1500)));
        assert_eq!(err.exit().code(), 5);
    }

    #[test]
    fn status_503_is_busy_with_retry_after() {
        for protocol in [Protocol::Soap, Protocol::Rest] {
            let err = interpret(
                protocol,
                "u@contoso.com",
                &reply(503, &[("retry-after", "7")], ""),
            )
            .unwrap_err();
            assert!(
                matches!(err, ServerError::Busy { back_off: Some(d), .. } if d == Duration::from_secs(7))
            );
        }
    }

    #[test]
    fn status_401_lists_every_challenge() {
        let r = reply(
            401,
            &[
                ("www-authenticate", "Negotiate, NTLM"),
                ("www-authenticate", "Basic realm=\"x\""),
                ("content-type", "text/html"),
            ],
            "<html>401</html>",
        );
        let err = interpret(Protocol::Soap, "u@contoso.com", &r).unwrap_err();
        let ServerError::Unauthorized { offered, .. } = &err else {
            panic!()
        };
        assert_eq!(offered.len(), 3);
        assert!(err.to_string().contains("Negotiate, NTLM, Basic"), "{err}");
        assert_eq!(err.exit().code(), 4);
    }

    #[test]
    fn ews_policy_refusals_say_which_and_point_to_graph() {
        for (reason, which) in [
            (
                "EWS is disabled for this user or tenant",
                "EWSEnabled is False",
            ),
            (
                "EWS is blocked by policy for this user or tenant",
                "EwsAllowedAppIDs",
            ),
        ] {
            let r = reply(403, &[("x-ews-policy-reason", reason)], "");
            let err = interpret(Protocol::Soap, "u@contoso.com", &r).unwrap_err();
            let text = err.to_string();
            assert_eq!(err.exit().code(), 4);
            for part in [reason, which, "24 hours", "--backend graph"] {
                assert!(text.contains(part), "{part}: {text}");
            }
        }
        let bare = interpret(Protocol::Rest, "u@contoso.com", &reply(403, &[], "")).unwrap_err();
        assert!(!bare.to_string().contains("--backend graph"), "{bare}");
    }

    #[test]
    fn status_403_is_auth() {
        assert_eq!(
            interpret(Protocol::Rest, "u@contoso.com", &reply(403, &[], ""))
                .unwrap_err()
                .exit()
                .code(),
            4
        );
    }

    #[test]
    fn error_response_codes_are_mapped() {
        let body = |code: &str| {
            format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><GetUserPhotoResponse ResponseClass="Error" xmlns="http://schemas.microsoft.com/exchange/services/2006/messages"><MessageText>m</MessageText><ResponseCode>{code}</ResponseCode></GetUserPhotoResponse></s:Body></s:Envelope>"#
            )
        };
        let exit = |code: &str| match interpret(
            Protocol::Soap,
            "u@contoso.com",
            &reply(200, &[], &body(code)),
        ) {
            Ok(Outcome::NoPhoto { .. }) => 3,
            Ok(other) => panic!("{other:?}"),
            Err(e) => e.exit().code(),
        };
        assert_eq!(exit("ErrorServerBusy"), 5);
        assert_eq!(exit("ErrorExceededConnectionCount"), 5);
        assert_eq!(exit("ErrorAccessDenied"), 4);
        assert_eq!(exit("ErrorNonExistentMailbox"), 3);
        assert_eq!(exit("ErrorInvalidSmtpAddress"), 2);
        assert_eq!(exit("ErrorSchemaValidation"), 1);
        assert_eq!(exit("ErrorInternalServerError"), 1);
    }

    #[test]
    fn html_login_page_in_a_200_is_reported_as_such() {
        for protocol in [Protocol::Soap, Protocol::Rest] {
            let r = reply(
                200,
                &[("content-type", "text/html; charset=utf-8")],
                "<!DOCTYPE html><html><body>Sign in</body></html>",
            );
            let err = interpret(protocol, "u@contoso.com", &r).unwrap_err();
            assert!(err.to_string().contains("HTML page"), "{err}");
        }
    }

    #[test]
    fn rest_forms() {
        let photo = reply(
            200,
            &[("content-type", "image/jpeg"), ("etag", "\"e1\"")],
            "\u{1}bytes",
        );
        let Ok(Outcome::Photo(p)) = interpret(Protocol::Rest, "u@contoso.com", &photo) else {
            panic!()
        };
        assert_eq!(p.etag.as_deref(), Some("e1"));
        assert_eq!(p.content_type.as_deref(), Some("image/jpeg"));
        assert!(matches!(
            interpret(
                Protocol::Rest,
                "u@contoso.com",
                &reply(304, &[("etag", "\"e1\"")], "")
            ),
            Ok(Outcome::Unchanged { .. })
        ));
        assert_eq!(
            interpret(Protocol::Rest, "u@contoso.com", &reply(400, &[], ""))
                .unwrap_err()
                .exit()
                .code(),
            1
        );
    }

    #[test]
    fn redirects_are_reported_with_their_target() {
        let err = interpret(
            Protocol::Soap,
            "u@contoso.com",
            &reply(302, &[("location", "https://other/EWS/Exchange.asmx")], ""),
        )
        .unwrap_err();
        assert!(err.to_string().contains("https://other/EWS/Exchange.asmx"));
    }

    /// Exchange's two complaints about impersonation share one code; what the
    /// request sent decides the advice.
    #[test]
    fn impersonation_faults_say_what_to_change() {
        let fault = |text: &str| {
            format!(
                r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorInvalidExchangeImpersonationHeaderData</faultcode><faultstring xml:lang="en-US">{text}</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorInvalidExchangeImpersonationHeaderData</e:ResponseCode><e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">{text}</e:Message></detail></s:Fault></s:Body></s:Envelope>"#
            )
        };
        let url = HttpUrl::parse("https://outlook.office365.com/EWS/Exchange.asmx").unwrap();
        let photo = PhotoRequest {
            email: "alice@contoso.com".into(),
            size: crate::PhotoSize::Hr96,
            if_none_match: None,
        };
        let answer = |ews: &Ews, body: &str| {
            let mut exchange = ews.begin(&photo);
            match exchange.answer(&reply(500, &[], body)) {
                Next::Done(Err(e)) => e,
                other => panic!("{other:?}"),
            }
        };
        let plain = Ews::new(url.clone(), Protocol::Soap, "Exchange2013").unwrap();
        let error = answer(
            &plain,
            &fault(
                "ExchangeImpersonation SOAP header must be present for this type of OAuth token.",
            ),
        );
        assert_eq!(error.exit().code(), 4);
        assert!(error.to_string().contains("add --impersonate"), "{error}");

        let acting = plain.impersonating(Some("svc@contoso.com".into()));
        let request = acting.request(&photo);
        let body = String::from_utf8(request.body.clone().unwrap()).unwrap();
        assert!(body.contains("<t:PrimarySmtpAddress>svc@contoso.com</t:PrimarySmtpAddress>"));
        assert!(
            request
                .headers
                .contains(&("X-AnchorMailbox", "svc@contoso.com".into()))
        );
        let error = answer(
            &acting,
            &fault(
                "ExchangeImpersonation SOAP header must not exist for this type of OAuth token.",
            ),
        );
        assert!(
            error.to_string().contains("leave out --impersonate"),
            "{error}"
        );
        // The REST form carries the anchor, never a SOAP header.
        let rest = Ews::new(url, Protocol::Rest, "Exchange2013")
            .unwrap()
            .impersonating(Some("svc@contoso.com".into()));
        assert!(rest.request(&photo).body.is_none());
    }
}
