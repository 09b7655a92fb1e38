//! A stand-in Microsoft Graph, as a [`Handler`] on the shared HTTP machinery:
//! user photos, their metadata, the directory look-up of an address, and JSON
//! batching, shaped like the real service as the protocol notes describe it
//! (`oauth-and-graph.md` §B; each behaviour below names its source there).
//!
//! Routes, below `/v1.0` (a batch part's `url` is the same without it):
//!
//! * `GET /users/{id | UPN}/photo/$value`, `/photos/{W}x{H}/$value`: the bytes,
//!   `image/jpeg` with `ETag` (§B.6); `/photo` and `/photos/{W}x{H}`: the
//!   metadata, with `@odata.mediaEtag` (§B.7). `/users('{UPN}')/…` is the form
//!   for a UPN that starts with `$`; `/users/$…` is a 400 as on Graph (§B.9).
//! * `GET /users?$filter=mail eq '…' or proxyAddresses/any(p:p eq 'smtp:…')`
//!   with `ConsistencyLevel: eventual` and `$count=true` (§B.9): the users
//!   found, `{"@odata.count":n,"value":[…]}`.
//! * `POST /$batch`: at most 20 parts, unique ids (ignoring case), run at most
//!   four at a time as Graph does (§B.5, §B.6), answered in a shuffled order,
//!   binary bodies in base64.
//!
//! Every request needs `Authorization: Bearer {token}` when a token is set,
//! or a token that passes the [`TokenCheck`] set by
//! [`GraphStandIn::check_tokens`] (an Entra stand-in's, for this server's
//! URL as the audience): otherwise a 401 with Graph's `WWW-Authenticate` and
//! an `InvalidAuthenticationToken` body. Answers carry `request-id` and echo
//! `client-request-id`. Each photo, metadata or look-up operation (a single
//! request or a batch part) takes [`GraphOptions::item_latency`].
//!
//! # Users
//!
//! Any address is a user whose UPN it is, with a photo (version 0, see
//! [`GraphStandIn::set_photo_version`]) stored in the nine square sizes and a
//! largest of 1024×768; its id is a GUID made from the UPN. The local part
//! (lower-cased, by prefix) chooses otherwise:
//!
//! | prefix | behaviour |
//! |---|---|
//! | `unknown` | no such user: 404 `Request_ResourceNotFound`; the look-up finds nobody |
//! | `alias-` | not a user name: 404 as above; the look-up by `proxyAddresses` finds the user named by the rest (`alias-bob@x` → `bob@x`) |
//! | `mail-` | the same, found by `mail` |
//! | `dup-` | not a user name; two users have it as a proxy address |
//! | `nophoto` | 404 `ImageNotFound` with the 2026 exception text (§B.1), on bytes and metadata |
//! | `oldnophoto` | 404 `ErrorItemNotFound` "The photo wasn't found." (§B.1) |
//! | `placeholder` | metadata of the 1×1 placeholder (id `1x1`, `image/gif`, empty tag), bytes a 1×1 GIF (§B.7) |
//! | `nomailbox` | 400 `AuthenticationError` "Error authenticating with resource" (§B.3) |
//! | `denied` | 403 `ErrorAccessDenied` |
//! | `small` | only 48, 64 and 96 are stored: larger sizes 404 `ImageNotFound`, the largest is 96×96 (§B.2) |
//! | `textplain` | every sized request is a `text/plain` 404 with an empty body; the largest works (§B.1) |
//! | `notimage` | the bytes are a `text/html` page with status 200 (§B.4) |
//! | `throttle-N` | the first N operations: 429 `TooManyRequests` with `Retry-After` (§B.5) |
//! | `busy503-N`, `busy504-N` | the first N operations: 503 or 504 with `Retry-After` |
//! | `b64url` | in a batch, its photo's body is base64url without padding (§B.6) |

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use serde_json::{Value, json};

use crate::http::{Action, Handler, Reply, Request, percent_decode};
use crate::jwt::TokenCheck;
use crate::lock;
use crate::photo::{CLEAR_GIF, Photos, etag_for, fnv1a};

/// Graph's limit on the parts of one batch.
pub const BATCH_LIMIT: usize = 20;
/// Parts of one batch that Graph runs at the same time.
pub const PARTS_AT_ONCE: usize = 4;

/// What one operation was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// The photo's bytes (`…/$value`).
    Photo,
    /// The photo's metadata.
    Metadata,
    /// The directory look-up of an address.
    Lookup,
}

/// One photo, metadata or look-up operation, as a single request or a batch part.
#[derive(Clone, Debug)]
pub struct Op {
    /// What it was.
    pub kind: OpKind,
    /// The user it was about (the UPN once an id is known), or the address looked up.
    pub user: String,
    /// The path below `/v1.0`, as decoded by the server.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// True when it was a part of a `$batch`.
    pub in_batch: bool,
}

/// How the Graph stand-in behaves.
#[derive(Clone, Debug)]
pub struct GraphOptions {
    /// The bearer token every request must carry (`None`: no check).
    pub token: Option<String>,
    /// How long each photo, metadata or look-up operation takes.
    pub item_latency: Duration,
    /// `Retry-After` in throttled answers, in seconds (Graph sends whole seconds).
    pub retry_after_secs: u64,
    /// Whether the token may read the directory: without, a look-up is a 403
    /// `Authorization_RequestDenied`.
    pub directory: bool,
    /// Address to listen on (default `127.0.0.1:0`, an ephemeral port).
    pub bind: std::net::SocketAddr,
}

impl Default for GraphOptions {
    fn default() -> Self {
        GraphOptions {
            token: None,
            item_latency: Duration::ZERO,
            retry_after_secs: 1,
            directory: true,
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// The Graph server's state.
pub(crate) struct Graph {
    options: GraphOptions,
    /// Signed tokens accepted instead of [`GraphOptions::token`].
    token_check: Mutex<Option<Arc<TokenCheck>>>,
    versions: Mutex<HashMap<String, u32>>,
    counts: Mutex<HashMap<String, u64>>,
    ids: Mutex<HashMap<String, String>>,
    ops: Mutex<Vec<Op>>,
    pub(crate) photos: Photos,
    throttled: AtomicU64,
    batches_to_throttle: AtomicU64,
    requests: AtomicU64,
    /// The most parts one batch ever ran at the same time.
    most_parts_running: AtomicUsize,
}

/// An answer before it is written: as an HTTP reply, or as a batch part.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Body,
    /// Send binary bodies as base64url in a batch.
    url_safe: bool,
}

enum Body {
    None,
    Json(Value),
    Bytes(&'static str, Vec<u8>),
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
            url_safe: false,
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Answer {
        Answer::json(status, json!({"error": {"code": code, "message": message}}))
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }
}

fn guid(seed: &str) -> String {
    let a = fnv1a(seed.as_bytes());
    let b = fnv1a(format!("{seed}#2").as_bytes());
    let c = fnv1a(format!("{seed}#3").as_bytes());
    let d = fnv1a(format!("{seed}#4").as_bytes());
    format!(
        "{a:08x}-{:04x}-4{:03x}-8{:03x}-{:04x}{d:08x}",
        b >> 16,
        b & 0xfff,
        c >> 20,
        c & 0xffff
    )
}

fn local_part(user: &str) -> String {
    user.split('@').next().unwrap_or("").to_lowercase()
}

/// The count at the end of a prefix (`throttle-3` → 3; 1 when absent).
fn count_after(local: &str, prefix: &str) -> Option<u64> {
    let rest = local.strip_prefix(prefix)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(digits.parse().unwrap_or(1))
}

/// `'it''s'` → `it's`; `None` unless it is one whole OData string literal.
fn odata_string(text: &str) -> Option<String> {
    let inner = text.trim().strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // Inside a literal a quote is only ever doubled.
            if chars.next() != Some('\'') {
                return None;
            }
        }
        out.push(c);
    }
    Some(out)
}

/// Splits at ` or ` outside string literals.
fn or_clauses(filter: &str) -> Vec<String> {
    let mut clauses = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut rest = filter;
    while let Some(c) = rest.chars().next() {
        if !quoted && rest.starts_with(" or ") {
            clauses.push(std::mem::take(&mut current));
            rest = &rest[4..];
            continue;
        }
        if c == '\'' {
            quoted = !quoted;
        }
        current.push(c);
        rest = &rest[c.len_utf8()..];
    }
    clauses.push(current);
    clauses
}

impl Graph {
    pub(crate) fn new(options: GraphOptions) -> Graph {
        Graph {
            options,
            token_check: Mutex::new(None),
            versions: Mutex::new(HashMap::new()),
            counts: Mutex::new(HashMap::new()),
            ids: Mutex::new(HashMap::new()),
            ops: Mutex::new(Vec::new()),
            photos: Photos::default(),
            throttled: AtomicU64::new(0),
            batches_to_throttle: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            most_parts_running: AtomicUsize::new(0),
        }
    }

    pub(crate) fn set_photo_version(&self, upn: &str, version: u32) {
        lock(&self.versions).insert(upn.to_lowercase(), version);
    }

    pub(crate) fn ops(&self) -> Vec<Op> {
        lock(&self.ops).clone()
    }

    pub(crate) fn throttled(&self) -> u64 {
        self.throttled.load(Ordering::SeqCst)
    }

    pub(crate) fn most_parts_running(&self) -> usize {
        self.most_parts_running.load(Ordering::SeqCst)
    }

    pub(crate) fn throttle_batches(&self, n: u64) {
        self.batches_to_throttle.store(n, Ordering::SeqCst);
    }

    /// The tag of a user's photo: quoted, as Graph sends `@odata.mediaEtag`.
    pub(crate) fn media_etag(&self, upn: &str) -> String {
        let version = lock(&self.versions)
            .get(&upn.to_lowercase())
            .copied()
            .unwrap_or(0);
        etag_for(upn, "graph", version)
    }

    fn version(&self, upn: &str) -> u32 {
        lock(&self.versions)
            .get(&upn.to_lowercase())
            .copied()
            .unwrap_or(0)
    }

    fn bump(&self, upn: &str, what: &str) -> u64 {
        let mut counts = lock(&self.counts);
        let count = counts
            .entry(format!("{what}|{}", upn.to_lowercase()))
            .or_insert(0);
        *count += 1;
        *count
    }

    /// The id of a user (registered, so that requests by id find the user).
    fn id_of(&self, upn: &str) -> String {
        let id = guid(&upn.to_lowercase());
        lock(&self.ids).insert(id.clone(), upn.to_string());
        id
    }

    fn unauthorized(&self, request: &Request) -> Option<Answer> {
        let check = lock(&self.token_check).clone();
        if check.is_none() && self.options.token.is_none() {
            return None;
        }
        let given = request.header("authorization").unwrap_or("");
        let (scheme, value) = given.split_once(' ').unwrap_or((given, ""));
        let refused = match (&check, self.options.token.as_deref()) {
            (Some(check), _) => check.check(request).is_some(),
            (None, Some(token)) => value.trim() != token,
            (None, None) => false,
        };
        let message = if given.is_empty() {
            "Access token is empty."
        } else if !scheme.eq_ignore_ascii_case("bearer") {
            "Authorization scheme is not Bearer."
        } else if refused {
            "Access token validation failure. Invalid audience."
        } else {
            return None;
        };
        Some(
            Answer::error(401, "InvalidAuthenticationToken", message).header(
                "WWW-Authenticate",
                "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
            ),
        )
    }

    /// One operation: a single request, or a batch part. `target` is the path
    /// and query below `/v1.0`.
    fn operate(&self, target: &str, headers: &[(String, String)], in_batch: bool) -> Answer {
        let (raw_path, query) = target.split_once('?').unwrap_or((target, ""));
        let raw_path = format!("/{}", raw_path.trim_start_matches('/'));
        if raw_path == "/users" {
            return self.lookup(query, headers, in_batch);
        }
        let Some(after) = raw_path.strip_prefix("/users") else {
            return Answer::error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{raw_path}'."),
            );
        };
        // The user: `/{key}` or `('{key}')`.
        let (key, rest) = if let Some(quoted) = after.strip_prefix("('") {
            let Some(end) = quoted.find("')") else {
                return Answer::error(400, "BadRequest", "Bad Request - Error in query syntax.");
            };
            let Some(key) = odata_string(&format!("'{}'", percent_decode(&quoted[..end]))) else {
                return Answer::error(400, "BadRequest", "Bad Request - Error in query syntax.");
            };
            (key, quoted[end + 2..].to_string())
        } else if let Some(segment) = after.strip_prefix('/') {
            let (key, rest) = segment.split_once('/').unwrap_or((segment, ""));
            if key.starts_with('$') || key.starts_with("%24") {
                return Answer::error(
                    400,
                    "BadRequest",
                    "The request URI is not valid. Since the segment 'users' refers to a collection, this must be the last segment in the request URI or it must be followed by an function or action that can be bound to it otherwise all intermediate segments must refer to a single resource.",
                );
            }
            (percent_decode(key), format!("/{rest}"))
        } else {
            return Answer::error(400, "BadRequest", "Bad Request - Error in query syntax.");
        };
        let (kind, size) = match rest.as_str() {
            "/photo/$value" => (OpKind::Photo, None),
            "/photo" => (OpKind::Metadata, None),
            other => match other.strip_prefix("/photos/") {
                Some(p) => match p.strip_suffix("/$value") {
                    Some(size) => (OpKind::Photo, Some(size.to_string())),
                    None => (OpKind::Metadata, Some(p.to_string())),
                },
                None => {
                    return Answer::error(
                        400,
                        "BadRequest",
                        &format!("Resource not found for the segment '{rest}'."),
                    );
                }
            },
        };
        let known = lock(&self.ids).get(&key).cloned();
        let upn = known.unwrap_or(key.clone());
        let answer = self.photo(&upn, kind, size.as_deref());
        lock(&self.ops).push(Op {
            kind,
            user: upn,
            path: format!("/users/{key}{rest}"),
            status: answer.status,
            in_batch,
        });
        answer
    }

    fn photo(&self, upn: &str, kind: OpKind, size: Option<&str>) -> Answer {
        let local = local_part(upn);
        if ["unknown", "alias-", "mail-", "dup-"]
            .iter()
            .any(|p| local.starts_with(p))
        {
            return Answer::error(
                404,
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{upn}' does not exist or one of its queried reference-property objects are not present."
                ),
            );
        }
        for (prefix, status, code) in [
            ("throttle-", 429, "TooManyRequests"),
            ("busy503-", 503, "ServiceUnavailable"),
            ("busy504-", 504, "GatewayTimeout"),
        ] {
            if let Some(n) = count_after(&local, prefix)
                && self.bump(upn, prefix) <= n
            {
                self.throttled
                    .fetch_add(u64::from(status == 429), Ordering::SeqCst);
                return Answer::error(status, code, "Too many requests; try again later.")
                    .header("Retry-After", self.options.retry_after_secs.to_string());
            }
        }
        if local.starts_with("denied") {
            return Answer::error(
                403,
                "ErrorAccessDenied",
                "Access is denied. Check credentials and try again.",
            );
        }
        if local.starts_with("nomailbox") {
            return Answer::error(
                400,
                "AuthenticationError",
                "Error authenticating with resource",
            );
        }
        if local.starts_with("oldnophoto") {
            return Answer::error(404, "ErrorItemNotFound", "The photo wasn't found.");
        }
        if local.starts_with("nophoto") {
            return Answer::error(
                404,
                "ImageNotFound",
                "Exception of type 'Microsoft.People.Image.Common.Exceptions.ImageNotFoundException' was thrown.",
            );
        }
        let tag = self.media_etag(upn);
        if local.starts_with("placeholder") {
            return match kind {
                OpKind::Metadata => Answer::json(
                    200,
                    json!({"@odata.mediaContentType": "image/gif", "@odata.mediaEtag": "", "id": "1x1", "width": 1, "height": 1}),
                ),
                _ => Answer {
                    status: 200,
                    headers: Vec::new(),
                    body: Body::Bytes("image/gif", CLEAR_GIF.to_vec()),
                    url_safe: false,
                },
            };
        }
        let small = local.starts_with("small");
        let stored = |size: &str| {
            const SQUARE: [&str; 9] = [
                "48x48", "64x64", "96x96", "120x120", "240x240", "360x360", "432x432", "504x504",
                "648x648",
            ];
            SQUARE.contains(&size) && (!small || ["48x48", "64x64", "96x96"].contains(&size))
        };
        // The picture, by the EWS stand-in's size codes.
        let code = match size {
            Some(_) if local.starts_with("textplain") => {
                return Answer {
                    status: 404,
                    headers: vec![("Content-Type", "text/plain".into())],
                    body: Body::None,
                    url_safe: false,
                };
            }
            Some(size) if !stored(size) => {
                return Answer::error(
                    404,
                    "ImageNotFound",
                    "Exception of type 'Microsoft.People.Image.Common.Exceptions.ImageNotFoundException' was thrown.",
                );
            }
            Some(size) => format!("HR{size}"),
            None if small => "HR96x96".into(),
            None => "HR1024xN".into(),
        };
        let (width, height) = match code.as_str() {
            "HR1024xN" => (1024, 768),
            other => {
                let n: u32 = other
                    .trim_start_matches("HR")
                    .split('x')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(96);
                (n, n)
            }
        };
        match kind {
            OpKind::Metadata => Answer::json(
                200,
                json!({
                    "@odata.context": format!("https://graph.microsoft.com/v1.0/$metadata#users('{upn}')/photo/$entity"),
                    "@odata.mediaContentType": "image/jpeg",
                    "@odata.mediaEtag": tag,
                    "id": format!("{width}x{height}"),
                    "width": width,
                    "height": height,
                }),
            ),
            _ if local.starts_with("notimage") => Answer {
                status: 200,
                headers: Vec::new(),
                body: Body::Bytes(
                    "text/html; charset=utf-8",
                    b"<!DOCTYPE html><html><body>Sign in to your account</body></html>".to_vec(),
                ),
                url_safe: false,
            },
            _ => Answer {
                status: 200,
                headers: vec![("ETag", tag)],
                body: Body::Bytes(
                    "image/jpeg",
                    self.photos.get(&code, self.version(upn), false).to_vec(),
                ),
                url_safe: local.starts_with("b64url"),
            },
        }
    }

    fn lookup(&self, query: &str, headers: &[(String, String)], in_batch: bool) -> Answer {
        let param = |name: &str| {
            query
                .split('&')
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| percent_decode(k).eq_ignore_ascii_case(name))
                .map(|(_, v)| percent_decode(v))
        };
        let Some(filter) = param("$filter") else {
            return Answer::error(
                400,
                "BadRequest",
                "This stand-in lists users only with $filter.",
            );
        };
        let record = |address: &str, status: u16| {
            lock(&self.ops).push(Op {
                kind: OpKind::Lookup,
                user: address.to_string(),
                path: format!("/users?$filter={filter}"),
                status,
                in_batch,
            });
        };
        if !self.options.directory {
            record("", 403);
            return Answer::error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        let eventual = headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("consistencylevel") && v.eq_ignore_ascii_case("eventual")
        });
        let counted = param("$count").is_some_and(|v| v == "true");
        let mut by_mail = None;
        let mut by_proxy = None;
        for clause in or_clauses(&filter) {
            let clause = clause.trim();
            if let Some(value) = clause.strip_prefix("mail eq ") {
                by_mail = odata_string(value);
            } else if let Some(inner) = clause
                .strip_prefix("proxyAddresses/any(")
                .and_then(|c| c.strip_suffix(')'))
            {
                let Some((var, test)) = inner.split_once(':') else {
                    return Answer::error(400, "BadRequest", "Invalid filter clause");
                };
                by_proxy = test
                    .strip_prefix(&format!("{var} eq "))
                    .and_then(odata_string);
                if by_proxy.is_none() {
                    return Answer::error(400, "BadRequest", "Invalid filter clause");
                }
            } else {
                return Answer::error(
                    400,
                    "BadRequest",
                    &format!("Invalid filter clause: {clause}"),
                );
            }
        }
        if by_proxy.is_some() && !(eventual && counted) {
            return Answer::error(
                400,
                "Request_UnsupportedQuery",
                "Unsupported or invalid query filter clause specified for property 'proxyAddresses' of resource 'User'.",
            );
        }
        let address = by_mail
            .clone()
            .or_else(|| {
                by_proxy
                    .as_deref()
                    .map(|p| p.split_once(':').map_or(p, |(_, a)| a).to_string())
            })
            .unwrap_or_default();
        let local = local_part(&address);
        let domain = address.split_once('@').map_or("", |(_, d)| d);
        let proxied = by_proxy.as_deref().is_some_and(|p| {
            p.to_lowercase().strip_prefix("smtp:") == Some(&address.to_lowercase())
        });
        let mailed = by_mail
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case(&address));
        let user = |upn: String, mail: &str| json!({"id": self.id_of(&upn), "userPrincipalName": upn, "mail": mail});
        let found: Vec<Value> = if let (Some(rest), true) = (local.strip_prefix("alias-"), proxied)
        {
            vec![user(
                format!("{rest}@{domain}"),
                &format!("{rest}@{domain}"),
            )]
        } else if let (Some(rest), true) = (local.strip_prefix("mail-"), mailed) {
            vec![user(format!("{rest}@{domain}"), &address)]
        } else if let (Some(rest), true) = (local.strip_prefix("dup-"), proxied) {
            vec![
                user(format!("{rest}.1@{domain}"), &format!("{rest}.1@{domain}")),
                user(format!("{rest}.2@{domain}"), &format!("{rest}.2@{domain}")),
            ]
        } else {
            Vec::new()
        };
        record(&address, 200);
        Answer::json(
            200,
            json!({
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,mail)",
                "@odata.count": found.len(),
                "value": found,
            }),
        )
    }

    fn batch(&self, request: &Request) -> Answer {
        let throttle = self
            .batches_to_throttle
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if throttle {
            self.throttled.fetch_add(1, Ordering::SeqCst);
            return Answer::error(
                429,
                "TooManyRequests",
                "Too many requests; try again later.",
            )
            .header("Retry-After", self.options.retry_after_secs.to_string());
        }
        let json_type = request
            .header("content-type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
        let parsed: Option<Value> = serde_json::from_slice(&request.body).ok();
        let Some(parts) = parsed
            .as_ref()
            .filter(|_| json_type)
            .and_then(|v| v.get("requests"))
            .and_then(|r| r.as_array())
        else {
            return Answer::error(400, "BadRequest", "Invalid batch payload format.");
        };
        if parts.is_empty() {
            return Answer::error(400, "BadRequest", "Invalid batch payload format.");
        }
        if parts.len() > BATCH_LIMIT {
            return Answer::error(
                400,
                "BadRequest",
                "Number of requests exceeds the limit of 20.",
            );
        }
        let mut seen: Vec<String> = Vec::new();
        let mut calls = Vec::new();
        for part in parts {
            let id = match part.get("id") {
                Some(Value::String(s)) => s.clone(),
                _ => return Answer::error(400, "BadRequest", "Invalid batch payload format."),
            };
            if seen.iter().any(|s| s.eq_ignore_ascii_case(&id)) {
                return Answer::error(
                    400,
                    "BadRequest",
                    &format!("Request Id {id} is duplicated."),
                );
            }
            seen.push(id.clone());
            let method = part.get("method").and_then(|m| m.as_str()).unwrap_or("");
            let url = part.get("url").and_then(|u| u.as_str()).unwrap_or("");
            if !method.eq_ignore_ascii_case("GET") || url.is_empty() {
                return Answer::error(400, "BadRequest", "Invalid batch payload format.");
            }
            let headers: Vec<(String, String)> = part
                .get("headers")
                .and_then(|h| h.as_object())
                .map(|h| {
                    h.iter()
                        .map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            calls.push((id, url.to_string(), headers));
        }
        // At most four parts of this batch at a time, each taking the item
        // latency; other batches run beside it (§B.5: the limit is per batch).
        let next = AtomicUsize::new(0);
        let running = AtomicUsize::new(0);
        let answers: Mutex<Vec<(usize, Answer)>> = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..PARTS_AT_ONCE.min(calls.len()) {
                scope.spawn(|| {
                    loop {
                        let n = next.fetch_add(1, Ordering::SeqCst);
                        let Some((_, url, headers)) = calls.get(n) else {
                            break;
                        };
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        self.most_parts_running.fetch_max(now, Ordering::SeqCst);
                        if !self.options.item_latency.is_zero() {
                            std::thread::sleep(self.options.item_latency);
                        }
                        let answer = self.operate(url, headers, true);
                        running.fetch_sub(1, Ordering::SeqCst);
                        lock(&answers).push((n, answer));
                    }
                });
            }
        });
        let mut answers = answers.into_inner().unwrap_or_else(|e| e.into_inner());
        // Any order (§B.6): a shuffle that does not depend on timing.
        answers.sort_by_key(|(n, _)| fnv1a(calls[*n].0.as_bytes()));
        let responses: Vec<Value> = answers
            .into_iter()
            .map(|(n, answer)| {
                let mut headers = serde_json::Map::new();
                for (name, value) in &answer.headers {
                    headers.insert(name.to_string(), Value::String(value.clone()));
                }
                let body = match answer.body {
                    Body::None => Value::Null,
                    Body::Json(json) => {
                        headers.insert("Content-Type".into(), "application/json".into());
                        json
                    }
                    Body::Bytes(media, bytes) => {
                        headers.insert("Content-Type".into(), media.into());
                        if media.starts_with("text/") {
                            Value::String(String::from_utf8_lossy(&bytes).into_owned())
                        } else if answer.url_safe {
                            Value::String(B64URL.encode(&bytes))
                        } else {
                            Value::String(B64.encode(&bytes))
                        }
                    }
                };
                json!({"id": calls[n].0, "status": answer.status, "headers": headers, "body": body})
            })
            .collect();
        Answer::json(200, json!({"responses": responses}))
    }
}

impl Handler for Graph {
    fn email(&self, request: &Request) -> Option<String> {
        let after = request.path.strip_prefix("/v1.0/users/")?;
        Some(percent_decode(after.split('/').next().unwrap_or("")))
    }

    fn handle(&self, request: &Request) -> Action {
        let number = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = if let Some(refused) = self.unauthorized(request) {
            refused
        } else if request.method == "POST" && request.path == "/v1.0/$batch" {
            self.batch(request)
        } else if request.method == "GET" && request.path.starts_with("/v1.0/") {
            if !self.options.item_latency.is_zero() {
                std::thread::sleep(self.options.item_latency);
            }
            let target = &request.target["/v1.0".len()..];
            self.operate(target, &request.headers, false)
        } else {
            Answer::error(
                400,
                "BadRequest",
                &format!("Invalid version: {}", request.path),
            )
        };
        let mut reply =
            Reply::new(answer.status).header("request-id", guid(&format!("request {number}")));
        if let Some(id) = request.header("client-request-id") {
            reply = reply.header("client-request-id", id.to_string());
        }
        for (name, value) in answer.headers {
            reply = reply.header(name, value);
        }
        Action::Reply(match answer.body {
            Body::None => reply,
            Body::Json(json) => reply.body("application/json", json.to_string()),
            Body::Bytes(media, bytes) => reply.body(media, bytes),
        })
    }
}

/// A running Graph stand-in. Dropping it stops the server.
pub struct GraphStandIn {
    server: crate::http::Server,
    graph: Arc<Graph>,
}

impl GraphStandIn {
    /// Starts a Graph stand-in on `options.bind` (port 0 picks a free port).
    pub fn start(options: GraphOptions) -> std::io::Result<GraphStandIn> {
        let bind = options.bind;
        let graph = Arc::new(Graph::new(options));
        let server = crate::http::Server::start(bind, Duration::ZERO, graph.clone())?;
        Ok(GraphStandIn { server, graph })
    }

    /// The service's root, for `--graph-url`: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// From now on, accepts the tokens that pass `check` (and no fixed
    /// token): for an Entra stand-in's tokens, whose audience must be
    /// [`GraphStandIn::url`], which is known only once the server runs.
    pub fn check_tokens(&self, check: TokenCheck) {
        *lock(&self.graph.token_check) = Some(Arc::new(check));
    }

    /// The address the server listens on.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    /// Every HTTP request received (batches count once), in arrival order.
    pub fn requests(&self) -> Vec<crate::Recorded> {
        self.server.requests()
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.server.connections()
    }

    /// Every photo, metadata and look-up operation, single or in a batch.
    pub fn ops(&self) -> Vec<Op> {
        self.graph.ops()
    }

    /// 429 answers sent, to operations and to whole batches.
    pub fn throttled(&self) -> u64 {
        self.graph.throttled()
    }

    /// The most parts of one batch that ever ran at the same time (never above 4).
    pub fn most_parts_running(&self) -> usize {
        self.graph.most_parts_running()
    }

    /// The next `n` `$batch` requests are answered 429 with `Retry-After`, as a whole.
    pub fn throttle_batches(&self, n: u64) {
        self.graph.throttle_batches(n);
    }

    /// Sets the photo version of a user (default 0): new bytes, new tag.
    pub fn set_photo_version(&self, upn: &str, version: u32) {
        self.graph.set_photo_version(upn, version);
    }

    /// The tag of a user's photo now, as `@odata.mediaEtag` has it (quoted).
    pub fn media_etag(&self, upn: &str) -> String {
        self.graph.media_etag(upn)
    }

    /// The JPEG served for a user of version `version` in this size
    /// (`96x96`; `None` for the largest, 1024×768).
    pub fn photo_bytes(&self, size: Option<&str>, version: u32) -> Vec<u8> {
        let code = size.map_or("HR1024xN".to_string(), |s| format!("HR{s}"));
        self.graph.photos.get(&code, version, false).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_literals_and_clauses() {
        assert_eq!(odata_string("'o''neil@x'").as_deref(), Some("o'neil@x"));
        assert_eq!(odata_string("'o'neil'"), None);
        assert_eq!(
            or_clauses("mail eq 'a or b' or proxyAddresses/any(p:p eq 'smtp:x')"),
            ["mail eq 'a or b'", "proxyAddresses/any(p:p eq 'smtp:x')"]
        );
    }

    #[test]
    fn ids_look_like_guids_and_are_stable() {
        let id = guid("alice@contoso.com");
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(id, guid("alice@contoso.com"));
        assert_ne!(id, guid("bob@contoso.com"));
    }
}
