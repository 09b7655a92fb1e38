//! What Graph's answers mean: its JSON error bodies, the photo metadata, the
//! directory look-up, and the mapping of every status and error code onto the
//! tool's outcomes and errors (protocol notes §B and §F.6). Pure.

use serde::Deserialize;

use crate::error::ServerError;
use crate::http::{HttpReply, normalize_etag};

/// Graph's `{"error":{"code","message","innerError":{…}}}`, as far as it was sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GraphError {
    /// `error.code`, e.g. `ImageNotFound`.
    pub code: Option<String>,
    /// `error.message`.
    pub message: Option<String>,
    /// `request-id`: the header, else `error.innerError`.
    pub request_id: Option<String>,
    /// `client-request-id`: the header, else `error.innerError`.
    pub client_request_id: Option<String>,
}

impl GraphError {
    /// Reads the error of an answer; a body that is not Graph's JSON gives
    /// only the IDs of the headers.
    ///
    /// ```
    /// use ews_photo::HttpReply;
    /// use ews_photo::backend::graph::answer::GraphError;
    /// let reply = HttpReply {
    ///     status: 404,
    ///     headers: vec![("request-id".into(), "r-1".into())],
    ///     body: br#"{"error":{"code":"ImageNotFound","message":"Exception of type 'Microsoft.People.Image.Common.Exceptions.ImageNotFoundException' was thrown."}}"#.to_vec(),
    /// };
    /// let error = GraphError::of(&reply);
    /// assert_eq!(error.code.as_deref(), Some("ImageNotFound"));
    /// assert_eq!(error.ids(), "request-id r-1");
    /// ```
    pub fn of(reply: &HttpReply) -> GraphError {
        #[derive(Deserialize)]
        struct Body {
            #[serde(alias = "odata.error")]
            error: Option<Inner>,
        }
        #[derive(Deserialize)]
        struct Inner {
            code: Option<String>,
            message: Option<serde_json::Value>,
            #[serde(rename = "innerError", alias = "innererror")]
            inner: Option<Ids>,
        }
        #[derive(Deserialize)]
        struct Ids {
            #[serde(rename = "request-id")]
            request_id: Option<String>,
            #[serde(rename = "client-request-id")]
            client_request_id: Option<String>,
        }
        let inner = serde_json::from_slice::<Body>(&reply.body)
            .ok()
            .and_then(|b| b.error);
        let header = |name| {
            reply
                .header(name)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(String::from)
        };
        let (code, message, ids) = match inner {
            Some(inner) => (
                inner.code.filter(|c| !c.is_empty()),
                // The old directory shape: {"lang":"en","value":"…"}.
                inner.message.and_then(|m| match m {
                    serde_json::Value::String(s) => Some(s),
                    other => other
                        .get("value")
                        .and_then(|v| v.as_str())
                        .map(String::from),
                }),
                inner.inner,
            ),
            None => (None, None, None),
        };
        let (inner_request, inner_client) = ids
            .map(|i| (i.request_id, i.client_request_id))
            .unwrap_or_default();
        GraphError {
            code,
            message: message
                .map(|m| m.trim().to_string())
                .filter(|m| !m.is_empty()),
            request_id: header("request-id").or(inner_request),
            client_request_id: header("client-request-id").or(inner_client),
        }
    }

    /// `request-id …, client-request-id …`: what Microsoft support asks for.
    pub fn ids(&self) -> String {
        let mut ids = Vec::new();
        if let Some(id) = &self.request_id {
            ids.push(format!("request-id {id}"));
        }
        if let Some(id) = &self.client_request_id {
            ids.push(format!("client-request-id {id}"));
        }
        ids.join(", ")
    }

    /// [`GraphError::ids`] between `open` and `close`, to append to a
    /// message; nothing when the answer carried no IDs.
    pub fn ids_suffix(&self, open: &str, close: &str) -> String {
        let ids = self.ids();
        if ids.is_empty() {
            ids
        } else {
            format!("{open}{ids}{close}")
        }
    }

    /// `ImageNotFound: message`, or the status when the body named no code.
    fn what(&self, reply: &HttpReply) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            (None, _) => format!("HTTP {} with {}", reply.status, reply.describe_body()),
        }
    }

    /// [`GraphError::what`] and the IDs, for failure messages.
    fn detail(&self, reply: &HttpReply) -> String {
        format!("{}{}", self.what(reply), self.ids_suffix("; ", ""))
    }

    fn is(&self, codes: &[&str]) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| codes.iter().any(|k| k.eq_ignore_ascii_case(c)))
    }
}

/// The 404 codes that mean "this photo is not there" (the user has none, or
/// not in this size). The exception text changed in 2026; the code did not.
const NO_PHOTO: [&str; 4] = [
    "ImageNotFound",
    "ErrorEntityNotFound",
    "ErrorItemNotFound",
    "ConsumerPhotoIsNotSupported",
];

/// The codes of "no such user": the directory's, and Outlook's.
const NO_USER: [&str; 5] = [
    "Request_ResourceNotFound",
    "ResourceNotFound",
    "ErrorInvalidUser",
    "UserNotFound",
    "ErrorNonExistentMailbox",
];

/// What a request for the photo (or its metadata) failed with.
#[derive(Debug)]
pub enum Refusal {
    /// No photo, or not in this size: a smaller request may still work.
    NoPhoto(String),
    /// No user has this id or user name.
    NoUser(String),
    /// The user exists but has no mailbox the photo could come from.
    NoMailbox(String),
    /// A 404 in no known shape (a `text/plain` one has been seen).
    Unknown404(String),
    /// Anything else: an error of the run.
    Failed(ServerError),
}

/// What Graph wants in a token for its API, and where to get one.
pub const TOKEN_ADVICE: &str = "get a new token whose audience is Microsoft Graph";

/// The permissions a 403 on a photo most likely lacks (notes §B.4, §F.2).
pub const PHOTO_PERMISSION_ADVICE: &str = "the token may not read other users' photos: an app-only token needs the application permission ProfilePhoto.Read.All (or User.Read.All) with admin consent granted (Entra admin center > App registrations > API permissions > Grant admin consent; a token with no roles at all means consent was never granted); a delegated token needs ProfilePhoto.Read.All or User.ReadBasic.All, consented by the user or, where users may not consent, by an administrator. An Exchange application access policy (RBAC for Applications) may also keep the app away from this mailbox";

/// The permissions a 403 on the directory look-up lacks.
pub const DIRECTORY_PERMISSION_ADVICE: &str = "finding a user by an address that is not their user name (mail, proxy address) reads the directory: that needs User.Read.All (application, with admin consent, or delegated); or give the user's UPN, which needs only the photo permission";

/// Maps a refused photo or metadata request.
pub fn refusal(reply: &HttpReply) -> Refusal {
    let error = GraphError::of(reply);
    let what = error.what(reply);
    if error.is(&["MailboxNotHostedInExchangeOnline"]) {
        return Refusal::NoMailbox(format!(
            "{what}: the mailbox is on premises; fetch the photo from your Exchange server with --backend ews"
        ));
    }
    if error.is(&["MailboxNotEnabledForRESTAPI", "ErrorMailboxNotFound"]) {
        return Refusal::NoMailbox(format!("{what}: the user has no Exchange Online mailbox"));
    }
    match reply.status {
        404 if error.is(&NO_PHOTO) => Refusal::NoPhoto(what),
        404 if error.is(&NO_USER) => Refusal::NoUser(what),
        404 => Refusal::Unknown404(what),
        // Users without a mailbox have answered 400 AuthenticationError
        // "Error authenticating with resource" (microsoft-graph-docs#8877).
        400 if error.is(&["AuthenticationError"]) => Refusal::NoMailbox(format!(
            "{what}: the user has no mailbox that Graph can read the photo from"
        )),
        _ => Refusal::Failed(failure(reply, &error, PHOTO_PERMISSION_ADVICE)),
    }
}

/// Any answer that is not what the request was for, as an error of the run:
/// busy, denied (with `forbidden_advice`), or unexpected, with Graph's code
/// and request IDs.
pub fn failure(reply: &HttpReply, error: &GraphError, forbidden_advice: &str) -> ServerError {
    let detail = error.detail(reply);
    match reply.status {
        429 | 503 | 504 => ServerError::Busy {
            code: match &error.code {
                Some(code) => format!("HTTP {} {code}", reply.status),
                None => format!("HTTP {}", reply.status),
            },
            message: Some(match (&error.message, error.ids()) {
                (Some(m), _) => format!("{m}{}", error.ids_suffix("; ", "")),
                (None, ids) if !ids.is_empty() => ids,
                (None, _) => reply.describe_body(),
            }),
            back_off: reply.retry_after(),
        },
        401 => ServerError::Unauthorized {
            status: 401,
            offered: Vec::new(),
            tried: Some("Bearer".into()),
            hint: format!("Microsoft Graph rejected the token ({detail}); {TOKEN_ADVICE}"),
        },
        403 => ServerError::Forbidden {
            detail: format!("HTTP 403 {detail}"),
            advice: Some(forbidden_advice.into()),
        },
        400 => ServerError::UnexpectedStatus {
            status: 400,
            detail: Some(format!("Graph refused the request ({detail})")),
        },
        status => ServerError::UnexpectedStatus {
            status,
            detail: Some(detail),
        },
    }
}

/// The photo's metadata (`GET /users/{id}/photo`, `/photos/{size}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Metadata {
    /// A photo, with its `@odata.mediaEtag` (quotes and `W/` removed, as
    /// ETags are everywhere in the tool).
    Photo {
        /// The tag; `None` if Graph sent none.
        tag: Option<String>,
    },
    /// Only the 1×1 placeholder: id `1x1`, or an empty tag (profilephoto-get.md
    /// example 3).
    Placeholder,
}

/// Reads photo metadata; `Err` says what is wrong with the body.
///
/// ```
/// use ews_photo::backend::graph::answer::{metadata, Metadata};
/// let body = br#"{"@odata.mediaContentType":"image/jpeg","@odata.mediaEtag":"\"BA09D118\"","id":"240x240","width":240,"height":240}"#;
/// assert_eq!(metadata(body), Ok(Metadata::Photo { tag: Some("BA09D118".into()) }));
/// let none = br#"{"@odata.mediaContentType":"image/gif","@odata.mediaEtag":"","id":"1x1","width":1,"height":1}"#;
/// assert_eq!(metadata(none), Ok(Metadata::Placeholder));
/// ```
pub fn metadata(body: &[u8]) -> Result<Metadata, String> {
    #[derive(Deserialize)]
    struct Body {
        id: Option<String>,
        #[serde(rename = "@odata.mediaEtag")]
        media_etag: Option<String>,
        width: Option<u64>,
        height: Option<u64>,
    }
    let body: Body = serde_json::from_slice(body)
        .map_err(|e| format!("the photo metadata is not the JSON Graph sends ({e})"))?;
    let tag = body
        .media_etag
        .as_deref()
        .map(normalize_etag)
        .filter(|t| !t.is_empty());
    let one_by_one =
        body.id.as_deref() == Some("1x1") || (body.width == Some(1) && body.height == Some(1));
    if one_by_one || (body.media_etag.is_some() && tag.is_none()) {
        return Ok(Metadata::Placeholder);
    }
    Ok(Metadata::Photo { tag })
}

/// The users a directory look-up found: (id, user principal name).
///
/// ```
/// use ews_photo::backend::graph::answer::users;
/// let body = br#"{"@odata.count":1,"value":[{"id":"6e7b768e-07e2-4810-8459-485f84f8f204","userPrincipalName":"alice@contoso.onmicrosoft.com","mail":"alice@contoso.com"}]}"#;
/// assert_eq!(users(body).unwrap(), [("6e7b768e-07e2-4810-8459-485f84f8f204".to_string(), "alice@contoso.onmicrosoft.com".to_string())]);
/// ```
pub fn users(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    #[derive(Deserialize)]
    struct Body {
        value: Vec<User>,
    }
    #[derive(Deserialize)]
    struct User {
        id: Option<String>,
        #[serde(rename = "userPrincipalName")]
        upn: Option<String>,
    }
    let body: Body = serde_json::from_slice(body)
        .map_err(|e| format!("the directory's answer is not the JSON Graph sends ({e})"))?;
    Ok(body
        .value
        .into_iter()
        .filter_map(|u| {
            let id = u.id.filter(|i| !i.is_empty())?;
            let upn = u.upn.unwrap_or_else(|| id.clone());
            Some((id, upn))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&str, &str)], body: &str) -> HttpReply {
        HttpReply::new(status, headers, body.as_bytes())
    }

    fn error(code: &str, message: &str) -> String {
        format!(
            r#"{{"error":{{"code":"{code}","message":"{message}","innerError":{{"date":"2026-12-01T10:00:00","request-id":"inner-r","client-request-id":"inner-c"}}}}}}"#
        )
    }

    #[test]
    fn every_no_photo_shape_seen_is_no_photo() {
        for (code, message) in [
            (
                "ImageNotFound",
                "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
            ),
            (
                "ImageNotFound",
                "Exception of type 'Microsoft.People.Image.Common.Exceptions.ImageNotFoundException' was thrown.",
            ),
            (
                "ErrorEntityNotFound",
                "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.",
            ),
            ("ErrorItemNotFound", "The photo wasn't found."),
            (
                "ConsumerPhotoIsNotSupported",
                "Consumer photo is not supported.",
            ),
        ] {
            let r = reply(404, &[], &error(code, message));
            assert!(matches!(refusal(&r), Refusal::NoPhoto(what) if what.starts_with(code)));
        }
    }

    #[test]
    fn unknown_users_mailboxes_and_odd_404s_are_told_apart() {
        let r = reply(
            404,
            &[],
            &error(
                "Request_ResourceNotFound",
                "Resource 'x' does not exist or one of its queried reference-property objects are not present.",
            ),
        );
        assert!(matches!(refusal(&r), Refusal::NoUser(_)));
        let r = reply(
            404,
            &[],
            &error("ErrorInvalidUser", "The requested user 'x' is invalid."),
        );
        assert!(matches!(refusal(&r), Refusal::NoUser(_)));
        let r = reply(
            400,
            &[],
            &error("AuthenticationError", "Error authenticating with resource"),
        );
        assert!(matches!(refusal(&r), Refusal::NoMailbox(m) if m.contains("no mailbox")));
        let r = reply(
            404,
            &[],
            &error(
                "MailboxNotEnabledForRESTAPI",
                "REST API is not yet supported for this mailbox.",
            ),
        );
        assert!(matches!(refusal(&r), Refusal::NoMailbox(_)));
        let r = reply(
            400,
            &[],
            &error(
                "MailboxNotHostedInExchangeOnline",
                "Mailbox is hosted by an on-premise or non-Exchange server, which is not supported.",
            ),
        );
        assert!(matches!(refusal(&r), Refusal::NoMailbox(m) if m.contains("--backend ews")));
        // microsoft-graph-docs-contrib#7908: a text/plain 404 for a sized photo.
        let r = reply(404, &[("content-type", "text/plain")], "");
        assert!(matches!(refusal(&r), Refusal::Unknown404(m) if m.contains("HTTP 404")));
    }

    #[test]
    fn throttling_carries_retry_after_and_ids() {
        let r = reply(
            429,
            &[
                ("retry-after", "3"),
                ("request-id", "r-9"),
                ("client-request-id", "c-9"),
            ],
            &error(
                "ApplicationThrottled",
                "Application is over its MailboxConcurrency limit.",
            ),
        );
        let Refusal::Failed(err) = refusal(&r) else {
            panic!()
        };
        let ServerError::Busy {
            code,
            message,
            back_off,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(code, "HTTP 429 ApplicationThrottled");
        assert_eq!(*back_off, Some(std::time::Duration::from_secs(3)));
        assert!(
            message
                .as_deref()
                .unwrap()
                .contains("request-id r-9, client-request-id c-9")
        );
        assert_eq!(err.exit().code(), 5);
        for status in [503, 504] {
            let Refusal::Failed(err) = refusal(&reply(status, &[], "")) else {
                panic!()
            };
            assert!(
                matches!(err, ServerError::Busy { back_off: None, .. }),
                "{err:?}"
            );
        }
    }

    #[test]
    fn denied_names_the_permission_and_the_ids() {
        let r = reply(
            403,
            &[],
            &error(
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            ),
        );
        let Refusal::Failed(err) = refusal(&r) else {
            panic!()
        };
        let text = err.to_string();
        for part in [
            "ErrorAccessDenied",
            "ProfilePhoto.Read.All",
            "admin consent",
            "request-id inner-r, client-request-id inner-c",
        ] {
            assert!(text.contains(part), "{part}: {text}");
        }
        assert_eq!(err.exit().code(), 4);
        let directory = failure(&r, &GraphError::of(&r), DIRECTORY_PERMISSION_ADVICE);
        assert!(
            directory.to_string().contains("User.Read.All"),
            "{directory}"
        );
    }

    #[test]
    fn other_failures_keep_the_status_and_code() {
        let r = reply(
            500,
            &[("request-id", "r-1")],
            &error("generalException", "General exception while processing"),
        );
        let Refusal::Failed(err) = refusal(&r) else {
            panic!()
        };
        assert_eq!(err.exit().code(), 1);
        let text = err.to_string();
        assert!(
            text.contains("HTTP 500")
                && text.contains("generalException")
                && text.contains("request-id r-1"),
            "{text}"
        );
        let r = reply(
            401,
            &[],
            &error(
                "InvalidAuthenticationToken",
                "Access token has expired or is not yet valid.",
            ),
        );
        let Refusal::Failed(err) = refusal(&r) else {
            panic!()
        };
        assert_eq!(err.exit().code(), 4);
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn the_old_directory_error_shape_is_read_too() {
        let r = reply(
            404,
            &[],
            r#"{"odata.error":{"code":"Request_ResourceNotFound","message":{"lang":"en","value":"Resource 'x' does not exist."}}}"#,
        );
        let error = GraphError::of(&r);
        assert_eq!(error.code.as_deref(), Some("Request_ResourceNotFound"));
        assert_eq!(
            error.message.as_deref(),
            Some("Resource 'x' does not exist.")
        );
        assert_eq!(
            GraphError::of(&reply(404, &[], "not json")),
            GraphError::default()
        );
    }

    #[test]
    fn metadata_and_users_in_odd_shapes() {
        assert!(metadata(b"<html>").is_err());
        assert_eq!(
            metadata(br#"{"id":"96x96"}"#),
            Ok(Metadata::Photo { tag: None })
        );
        assert_eq!(
            metadata(br#"{"id":"96x96","@odata.mediaEtag":"W/\"abc\""}"#),
            Ok(Metadata::Photo {
                tag: Some("abc".into())
            })
        );
        assert_eq!(
            users(br#"{"value":[]}"#).unwrap(),
            Vec::<(String, String)>::new()
        );
        assert_eq!(
            users(br#"{"value":[{"id":"x"}]}"#).unwrap(),
            [("x".into(), "x".into())]
        );
        assert!(users(b"[]").is_err());
    }
}
