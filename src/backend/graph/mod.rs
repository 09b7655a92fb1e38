//! Microsoft Graph: the user's photo (`GET /v1.0/users/{id}/photos/{W}x{H}/$value`),
//! its metadata for change detection, the directory look-up of an address
//! that is not a user name, and JSON batching. Every answer maps onto the same
//! [`Outcome`]s and errors as EWS (protocol notes §B, §F.6–§F.9). Pure.
//!
//! One photo is a small conversation ([`Exchange`]):
//!
//! ```text
//! with a tag to compare (--sync, --if-none-match):
//!     GET …/photos/96x96          metadata: same @odata.mediaEtag ─▶ Unchanged
//!                                           another ─▶ GET …/photos/96x96/$value ─▶ Photo
//! without:
//!     GET …/photos/96x96/$value   ─▶ Photo (only if image/*)
//! a size that is not stored (404, the user has a smaller photo):
//!     the same again on …/photo (the largest stored) ─▶ Photo, or NoPhoto
//! an address that is not a user name (404, no such user):
//!     GET /users?$filter=mail eq '…' or proxyAddresses/any(…)  ─▶ the user's id,
//!     and the same again by id; no user ─▶ NoPhoto (unknown address)
//! ```

pub mod answer;
pub mod batch;
pub mod path;

use crate::HttpUrl;
use crate::backend::{Backend, Batching, BodyLog, Exchange, Next, Outcome, PhotoRequest, RawPhoto};
use crate::error::ServerError;
use crate::http::{HttpReply, HttpRequest, normalize_etag};
use answer::{GraphError, Metadata, Refusal};
use path::Route;

/// The Graph back end: one Graph service (the global one, a national cloud,
/// or a stand-in).
///
/// ```
/// use ews_photo::HttpUrl;
/// use ews_photo::backend::graph::Graph;
/// let graph = Graph::new(&HttpUrl::parse("https://graph.microsoft.us/v1.0/").unwrap());
/// assert_eq!(graph.root().as_str(), "https://graph.microsoft.us/v1.0");
/// assert_eq!(graph.audience(), "https://graph.microsoft.us");
/// ```
#[derive(Clone, Debug)]
pub struct Graph {
    /// `{graph}/v1.0`.
    root: HttpUrl,
    /// `{graph}`: what a token must be issued for.
    audience: String,
}

/// The default service, `https://graph.microsoft.com`.
pub const GLOBAL: &str = "https://graph.microsoft.com";

/// The least delegated permission that reads other users' photos (protocol
/// notes §B.4; `ProfilePhoto.Read.All` is the least application one too).
pub const DELEGATED_PERMISSION: &str = "ProfilePhoto.Read.All";

impl Graph {
    /// A back end for the service at `url`, given as its root
    /// (`https://graph.microsoft.com`), with or without `/v1.0`.
    pub fn new(url: &HttpUrl) -> Graph {
        let base = url.below("");
        let base = match base.path().strip_suffix("/v1.0") {
            Some(rest) => base
                .join(if rest.is_empty() { "/" } else { rest })
                .unwrap_or(base),
            None => base,
        };
        let audience = base.as_str().trim_end_matches('/').to_string();
        Graph {
            root: base.below("/v1.0"),
            audience,
        }
    }

    /// `{graph}/v1.0`, below which every request goes.
    pub fn root(&self) -> &HttpUrl {
        &self.root
    }

    /// The service's root, which a token's audience must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

impl Backend for Graph {
    fn begin(&self, photo: &PhotoRequest) -> Box<dyn Exchange> {
        let compare = photo
            .if_none_match
            .as_deref()
            .map(normalize_etag)
            .filter(|t| !t.is_empty());
        let step = if compare.is_some() {
            Step::Metadata
        } else {
            Step::Value
        };
        let mut exchange = GraphExchange {
            root: self.root.clone(),
            address: photo.email.clone(),
            user: None,
            asked: Route::of(photo.size),
            route: Route::of(photo.size),
            step,
            compare,
            media_tag: None,
            request: HttpRequest::get(self.root.clone()),
        };
        exchange.request = exchange.build();
        Box::new(exchange)
    }

    fn body_log(&self) -> BodyLog {
        batch::abbreviate_for_log
    }

    fn batching(&self) -> Option<&dyn Batching> {
        Some(self)
    }

    fn rejection_hint(&self, reply: &HttpReply) -> Option<String> {
        let error = GraphError::of(reply);
        let said = match (&error.code, &error.message) {
            (Some(code), Some(message)) => format!(" ({code}: {message})"),
            (Some(code), None) => format!(" ({code})"),
            _ => String::new(),
        };
        let ids = error.ids_suffix("; ", "");
        Some(format!(
            "Microsoft Graph rejected the token{said}: it may be expired, or issued for another audience (Graph wants a token for {aud}, not https://outlook.office365.com; with --auth oauth, leave --scope out or give {aud}/.default){ids}",
            aud = self.audience
        ))
    }
}

impl Batching for Graph {
    fn limit(&self) -> usize {
        batch::LIMIT
    }

    fn wrap(&self, parts: &[(String, &HttpRequest)]) -> HttpRequest {
        batch::wrap(&self.root, parts).header("client-request-id", request_id())
    }

    fn unwrap(&self, reply: &HttpReply) -> Result<Vec<batch::Part>, ServerError> {
        batch::unwrap(reply)
    }
}

/// Where one photo's conversation is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The photo's metadata, to compare its tag.
    Metadata,
    /// The photo itself.
    Value,
    /// The directory look-up of the address; then back to `then`.
    Lookup { then: Then },
}

/// The step a look-up returns to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Then {
    Metadata,
    Value,
}

/// One photo's requests and what their answers mean.
struct GraphExchange {
    root: HttpUrl,
    /// The address asked for.
    address: String,
    /// The user's id, once the directory look-up found it.
    user: Option<String>,
    /// The route of the size asked for.
    asked: Route,
    /// The route in use: the asked one, or the largest when that size is missing.
    route: Route,
    step: Step,
    /// The tag to compare the metadata's with.
    compare: Option<String>,
    /// The metadata's tag, for the manifest.
    media_tag: Option<String>,
    request: HttpRequest,
}

impl GraphExchange {
    fn build(&self) -> HttpRequest {
        let user = path::user_path(self.user.as_deref().unwrap_or(&self.address));
        let request = match self.step {
            Step::Metadata => {
                HttpRequest::get(self.root.below(&format!("{user}{}", self.route.metadata())))
                    .header("Accept", "application/json")
            }
            Step::Value => {
                HttpRequest::get(self.root.below(&format!("{user}{}", self.route.value())))
            }
            Step::Lookup { .. } => HttpRequest::get(self.root.below(&path::lookup(&self.address)))
                .header("Accept", "application/json")
                .header("ConsistencyLevel", "eventual"),
        };
        request.header("client-request-id", request_id())
    }

    fn go(&mut self, step: Step) -> Next {
        self.step = step;
        self.request = self.build();
        Next::Again
    }

    fn done(outcome: Result<Outcome, ServerError>) -> Next {
        Next::Done(outcome)
    }

    fn no_photo(detail: String) -> Next {
        Next::Done(Ok(Outcome::NoPhoto {
            detail: Some(detail),
        }))
    }

    /// A refused metadata or photo request.
    fn refused(&mut self, reply: &HttpReply) -> Next {
        let (step, then) = match self.step {
            Step::Metadata => (Step::Metadata, Then::Metadata),
            _ => (Step::Value, Then::Value),
        };
        let unresolved = self.user.is_none();
        match answer::refusal(reply) {
            // A size can be missing while a smaller photo exists (notes §B.2).
            Refusal::NoPhoto(_) | Refusal::Unknown404(_) if self.route != Route::Largest => {
                self.route = Route::Largest;
                self.go(step)
            }
            Refusal::NoUser(_) | Refusal::Unknown404(_) if unresolved => {
                self.go(Step::Lookup { then })
            }
            Refusal::NoPhoto(what) | Refusal::Unknown404(what) => Self::no_photo(what),
            Refusal::NoUser(what) => Self::no_photo(format!("{what}: no such user")),
            Refusal::NoMailbox(what) => Self::no_photo(what),
            Refusal::Failed(err) => Self::done(Err(err)),
        }
    }

    fn photo(&mut self, reply: &HttpReply) -> Next {
        let media = reply.media_type();
        // A body that is not an image is never written as one (an error page
        // saved as `PhotoID.jpg`: shell-intune-samples#161).
        if !media.as_deref().is_some_and(|m| m.starts_with("image/")) {
            return Self::done(Err(ServerError::Malformed(format!(
                "Graph answered the photo request with {}, not an image; nothing was written{}",
                reply.describe_body(),
                GraphError::of(reply).ids_suffix(" (", ")")
            ))));
        }
        Self::done(Ok(Outcome::Photo(RawPhoto {
            bytes: reply.body.clone(),
            content_type: media,
            etag: self.media_tag.clone().or_else(|| reply.etag()),
            expires: None,
        })))
    }

    fn metadata(&mut self, reply: &HttpReply) -> Next {
        match answer::metadata(&reply.body) {
            Err(why) => Self::done(Err(ServerError::Malformed(why))),
            Ok(Metadata::Placeholder) => {
                Self::no_photo("Graph lists only the 1×1 placeholder: the user has no photo".into())
            }
            Ok(Metadata::Photo { tag }) => {
                if tag.is_some() && tag == self.compare {
                    return Self::done(Ok(Outcome::Unchanged {
                        etag: tag,
                        expires: None,
                    }));
                }
                self.media_tag = tag;
                self.go(Step::Value)
            }
        }
    }

    fn looked_up(&mut self, then: Then, reply: &HttpReply) -> Next {
        if reply.status != 200 {
            let error = GraphError::of(reply);
            return Self::done(Err(answer::failure(
                reply,
                &error,
                answer::DIRECTORY_PERMISSION_ADVICE,
            )));
        }
        let users = match answer::users(&reply.body) {
            Ok(users) => users,
            Err(why) => return Self::done(Err(ServerError::Malformed(why))),
        };
        match users.as_slice() {
            [] => Self::no_photo(
                "no user in the directory has this address as user name (UPN), mail or proxy address".into(),
            ),
            [(id, _)] => {
                self.user = Some(id.clone());
                // The size that failed for the address may exist for the id.
                self.route = self.asked;
                self.go(match then {
                    Then::Metadata => Step::Metadata,
                    Then::Value => Step::Value,
                })
            }
            several => Self::done(Err(ServerError::Refused {
                code: "AmbiguousAddress".into(),
                message: Some(format!(
                    "{} is the mail or proxy address of more than one user ({}); give the user's UPN",
                    self.address,
                    several
                        .iter()
                        .map(|(_, upn)| upn.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            })),
        }
    }
}

impl Exchange for GraphExchange {
    fn request(&self) -> &HttpRequest {
        &self.request
    }

    fn answer(&mut self, reply: &HttpReply) -> Next {
        match (self.step, reply.status) {
            (Step::Lookup { then }, _) => self.looked_up(then, reply),
            (Step::Metadata, 200) => self.metadata(reply),
            (Step::Value, 200) => self.photo(reply),
            _ => self.refused(reply),
        }
    }
}

/// A fresh `client-request-id` (a random UUID), so that a failure can be
/// traced in Microsoft's logs from either side.
fn request_id() -> String {
    let bits = fastrand::u128(..);
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests;
