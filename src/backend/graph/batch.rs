//! JSON batching, `POST /v1.0/$batch` (protocol notes §B.6): up to 20
//! requests in one, answered in any order and matched by `id`; binary bodies
//! come back as base64 text (the OData JSON format says base64url: both are
//! read). Pure.

use serde::{Deserialize, Serialize};

use super::answer::{self, GraphError};
use crate::HttpUrl;
use crate::error::ServerError;
use crate::http::{HttpReply, HttpRequest};

/// The most requests Graph takes in one batch.
pub const LIMIT: usize = 20;

/// The answer to one part: its reply, or why it cannot be read.
pub type Part = (String, Result<HttpReply, ServerError>);

#[derive(Serialize)]
struct Outgoing<'a> {
    requests: Vec<OutgoingPart<'a>>,
}

#[derive(Serialize)]
struct OutgoingPart<'a> {
    id: &'a str,
    method: &'static str,
    url: &'a str,
    #[serde(skip_serializing_if = "serde_json::Map::is_empty")]
    headers: serde_json::Map<String, serde_json::Value>,
}

/// The `$batch` request for `parts`, whose URLs are below `root` (`…/v1.0`).
///
/// ```
/// use ews_photo::{HttpRequest, HttpUrl};
/// use ews_photo::backend::graph::batch;
/// let root = HttpUrl::parse("https://graph.microsoft.com/v1.0").unwrap();
/// let photo = HttpRequest::get(root.below("/users/a@b.c/photos/96x96/$value"));
/// let request = batch::wrap(&root, &[("1".to_string(), &photo)]);
/// assert_eq!(request.url.as_str(), "https://graph.microsoft.com/v1.0/$batch");
/// assert_eq!(
///     String::from_utf8(request.body.unwrap()).unwrap(),
///     r#"{"requests":[{"id":"1","method":"GET","url":"/users/a@b.c/photos/96x96/$value"}]}"#
/// );
/// ```
pub fn wrap(root: &HttpUrl, parts: &[(String, &HttpRequest)]) -> HttpRequest {
    let requests = parts
        .iter()
        .map(|(id, request)| OutgoingPart {
            id,
            method: request.method.as_str(),
            url: request
                .url
                .as_str()
                .strip_prefix(root.as_str())
                .unwrap_or(request.url.as_str()),
            // The batch carries its own client-request-id and Accept; a part
            // keeps what changes its meaning (ConsistencyLevel).
            headers: request
                .headers
                .iter()
                .filter(|(name, _)| {
                    !name.eq_ignore_ascii_case("client-request-id")
                        && !name.eq_ignore_ascii_case("accept")
                })
                .map(|(name, value)| (name.to_string(), value.clone().into()))
                .collect(),
        })
        .collect();
    let body = serde_json::to_vec(&Outgoing { requests }).expect("a batch serialises");
    HttpRequest::post(root.below("/$batch"), body)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json")
}

#[derive(Deserialize)]
struct Incoming {
    responses: Vec<IncomingPart>,
}

#[derive(Deserialize)]
struct IncomingPart {
    id: serde_json::Value,
    status: u16,
    #[serde(default)]
    headers: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    body: serde_json::Value,
}

/// The parts' answers, or what the batch's own answer means when it is not a
/// 200 (throttled as a whole, denied, …). The batch's `request-id` and
/// `client-request-id` go to every part that has none of its own, so that a
/// part's failure can be traced.
pub fn unwrap(reply: &HttpReply) -> Result<Vec<Part>, ServerError> {
    if reply.status != 200 {
        let error = GraphError::of(reply);
        return Err(match reply.status {
            404 => ServerError::UnexpectedStatus {
                status: 404,
                detail: Some(format!(
                    "no $batch endpoint there ({}); check --graph-url",
                    reply.describe_body()
                )),
            },
            _ => answer::failure(reply, &error, answer::PHOTO_PERMISSION_ADVICE),
        });
    }
    let incoming: Incoming = serde_json::from_slice(&reply.body).map_err(|e| {
        ServerError::Malformed(format!(
            "the $batch answer is not Graph's JSON ({e}; {})",
            reply.describe_body()
        ))
    })?;
    let outer: Vec<(String, String)> = ["request-id", "client-request-id"]
        .into_iter()
        .filter_map(|name| {
            reply
                .header(name)
                .map(|v| (name.to_string(), v.to_string()))
        })
        .collect();
    Ok(incoming
        .responses
        .into_iter()
        .map(|part| {
            let id = match &part.id {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (id, part_reply(part, &outer))
        })
        .collect())
}

fn part_reply(part: IncomingPart, outer: &[(String, String)]) -> Result<HttpReply, ServerError> {
    let mut headers: Vec<(String, String)> = part
        .headers
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (name.to_ascii_lowercase(), value)
        })
        .collect();
    for (name, value) in outer {
        if !headers.iter().any(|(n, _)| n == name) {
            headers.push((name.clone(), value.clone()));
        }
    }
    let media = headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.to_ascii_lowercase());
    let is_text = media
        .as_deref()
        .is_some_and(|m| m.starts_with("text/") || m.contains("json") || m.contains("xml"));
    let body = match part.body {
        serde_json::Value::Null => Vec::new(),
        // Binary content (a photo) is base64 text in the JSON.
        serde_json::Value::String(text) if !is_text => decode(&text).map_err(|why| {
            ServerError::Malformed(format!(
                "a $batch part (status {}, {}) holds {why}",
                part.status,
                media.as_deref().unwrap_or("no content type")
            ))
        })?,
        serde_json::Value::String(text) => text.into_bytes(),
        json => {
            if media.is_none() {
                headers.push(("content-type".into(), "application/json".into()));
            }
            serde_json::to_vec(&json).expect("a JSON value serialises")
        }
    };
    Ok(HttpReply {
        status: part.status,
        headers,
        body,
    })
}

/// Base64 in either alphabet, padded or not, line breaks ignored.
///
/// ```
/// use ews_photo::backend::graph::batch::decode;
/// assert_eq!(decode("/9j/4A==").unwrap(), [0xff, 0xd8, 0xff, 0xe0]);
/// assert_eq!(decode("_9j_4A").unwrap(), [0xff, 0xd8, 0xff, 0xe0]);
/// assert!(decode("not base64!").is_err());
/// ```
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    crate::backend::decode_base64(text, true)
        .map_err(|e| format!("a body that is not base64 ({e})"))
}

/// A `$batch` body for `-vv` logs: the base64 of every photo replaced by its
/// length, so that twenty photos do not bury the statuses and headers.
///
/// ```
/// use ews_photo::backend::graph::batch::abbreviate_for_log;
/// let body = format!(r#"{{"responses":[{{"id":"1","status":200,"body":"{}"}}]}}"#, "A".repeat(4000));
/// assert_eq!(
///     abbreviate_for_log(body.as_bytes(), Some("application/json")),
///     r#"{"responses":[{"body":"[4000 characters of base64]","id":"1","status":200}]}"#
/// );
/// ```
pub fn abbreviate_for_log(body: &[u8], media_type: Option<&str>) -> String {
    let shortened = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .filter(|json| json.get("responses").is_some())
        .map(|mut json| {
            if let Some(parts) = json.get_mut("responses").and_then(|r| r.as_array_mut()) {
                for part in parts {
                    if let Some(body) = part.get_mut("body")
                        && let Some(text) = body.as_str()
                        && text.len() > 200
                    {
                        *body = format!("[{} characters of base64]", text.len()).into();
                    }
                }
            }
            json.to_string()
        });
    shortened.unwrap_or_else(|| crate::http::abbreviate_body(body, media_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch_reply(body: &str) -> HttpReply {
        HttpReply {
            status: 200,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("request-id".into(), "outer-r".into()),
            ],
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parts_in_any_order_with_mixed_statuses_and_both_alphabets() {
        // Shapes of microsoft-graph-docs#1524 (a photo with ETag, a 404 with a
        // null body) and Dev Proxy (a 502 part), plus a base64url photo and a
        // throttled part.
        let body = r#"{"responses":[
            {"id":"3","status":404,"headers":{"Content-Type":"application/json"},"body":{"error":{"code":"ImageNotFound","message":"x"}}},
            {"id":"1","status":200,"headers":{"Content-Type":"image/jpeg","ETag":"\"1E8FD63F\""},"body":"/9j/4A=="},
            {"id":"4","status":429,"headers":{"Retry-After":"2"},"body":null},
            {"id":"2","status":200,"headers":{"Content-Type":"image/jpeg"},"body":"_9j_4A"},
            {"id":"5","status":502,"body":null}
        ]}"#;
        let parts = unwrap(&batch_reply(body)).unwrap();
        let get = |id: &str| {
            parts
                .iter()
                .find(|(i, _)| i == id)
                .map(|(_, r)| r.as_ref().unwrap().clone())
                .unwrap()
        };
        assert_eq!(get("1").body, [0xff, 0xd8, 0xff, 0xe0]);
        assert_eq!(get("1").etag().as_deref(), Some("1E8FD63F"));
        assert_eq!(get("2").body, [0xff, 0xd8, 0xff, 0xe0]);
        assert!(matches!(
            answer::refusal(&get("3")),
            answer::Refusal::NoPhoto(_)
        ));
        assert_eq!(
            get("4").retry_after(),
            Some(std::time::Duration::from_secs(2))
        );
        assert_eq!(get("5").status, 502);
        // The batch's request-id reaches every part.
        assert_eq!(get("5").header("request-id"), Some("outer-r"));
    }

    #[test]
    fn a_part_whose_body_is_not_base64_fails_alone() {
        let body = r#"{"responses":[{"id":"1","status":200,"headers":{"Content-Type":"image/jpeg"},"body":"not base64!"},{"id":"2","status":404,"body":null}]}"#;
        let parts = unwrap(&batch_reply(body)).unwrap();
        assert!(matches!(&parts[0].1, Err(ServerError::Malformed(m)) if m.contains("not base64")));
        assert!(parts[1].1.is_ok());
    }

    #[test]
    fn the_batch_itself_refused() {
        let throttled = HttpReply {
            status: 429,
            headers: vec![("retry-after".into(), "5".into())],
            body: vec![],
        };
        assert!(
            matches!(unwrap(&throttled), Err(ServerError::Busy { back_off: Some(d), .. }) if d.as_secs() == 5)
        );
        let too_many = HttpReply {
            status: 400,
            headers: vec![],
            body: br#"{"error":{"code":"BadRequest","message":"Number of requests exceeds the limit of 20."}}"#.to_vec(),
        };
        let err = unwrap(&too_many).unwrap_err();
        assert!(err.to_string().contains("exceeds the limit of 20"), "{err}");
        assert!(matches!(
            unwrap(&batch_reply("<html>")),
            Err(ServerError::Malformed(_))
        ));
        let missing = HttpReply {
            status: 404,
            ..Default::default()
        };
        assert!(
            unwrap(&missing)
                .unwrap_err()
                .to_string()
                .contains("--graph-url")
        );
    }

    #[test]
    fn parts_keep_their_headers_but_not_the_batch_ones() {
        let root = HttpUrl::parse("https://graph.microsoft.com/v1.0").unwrap();
        let lookup = HttpRequest::get(root.below("/users?$filter=x"))
            .header("ConsistencyLevel", "eventual")
            .header("client-request-id", "c-1")
            .header("Accept", "application/json");
        let request = wrap(&root, &[("7".into(), &lookup)]);
        let body = String::from_utf8(request.body.unwrap()).unwrap();
        assert_eq!(
            body,
            r#"{"requests":[{"id":"7","method":"GET","url":"/users?$filter=x","headers":{"ConsistencyLevel":"eventual"}}]}"#
        );
    }
}
