//! The ways to reach photos, behind one interface: EWS in its SOAP and REST
//! forms ([`ews`]), and Microsoft Graph ([`graph`]).
//!
//! A [`Backend`] is pure: it builds the HTTP request for a photo and says what
//! each answer means. Authentication legs, redirects, retries and the
//! connection are the [`Client`](crate::Client)'s; a back end never does I/O,
//! so every answer shape a server has been seen to give is a unit test.
//!
//! A back end that can carry several requests in one ([`Batching`]: Graph's
//! `$batch`) lets the client send the requests of several photos' exchanges
//! together; the exchanges themselves do not know.

pub mod ews;
pub mod graph;

use crate::PhotoSize;
use crate::error::ServerError;
use crate::http::{HttpReply, HttpRequest};

/// One photo to fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoRequest {
    /// The user's SMTP address.
    pub email: String,
    /// The size asked for (the server may send a smaller one).
    pub size: PhotoSize,
    /// An ETag from an earlier fetch: an unchanged photo is not sent again.
    pub if_none_match: Option<String>,
}

/// A photo as the server sent it, before verification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawPhoto {
    /// The image bytes.
    pub bytes: Vec<u8>,
    /// The content type the server claimed.
    pub content_type: Option<String>,
    /// The ETag, without quotes.
    pub etag: Option<String>,
    /// The `Expires` header, as sent (RFC 1123).
    pub expires: Option<String>,
}

/// What asking for one photo gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A photo.
    Photo(RawPhoto),
    /// The photo still matches the ETag sent in `If-None-Match`.
    Unchanged {
        /// The ETag, without quotes.
        etag: Option<String>,
        /// The `Expires` header.
        expires: Option<String>,
    },
    /// No photo for this address (or the address is unknown).
    NoPhoto {
        /// What the server said, beyond its status.
        detail: Option<String>,
    },
}

/// What the client does after an answer.
#[derive(Debug)]
pub enum Next {
    /// The photo's outcome is known.
    Done(Result<Outcome, ServerError>),
    /// Send [`Exchange::request`] (which has changed) and come back.
    Again,
}

/// The conversation about one photo: usually one request and its answer, but a
/// back end may need more (look the user up first, then fetch the photo).
pub trait Exchange: Send {
    /// The request to send now. The client adds authentication and may resend
    /// it (authentication legs, redirects on the same server).
    fn request(&self) -> &HttpRequest;

    /// What an answer means. 401s and followed redirects never reach here.
    fn answer(&mut self, reply: &HttpReply) -> Next;
}

/// Formats a body for `-vv` logs; the media type helps with binary data.
pub type BodyLog = fn(&[u8], Option<&str>) -> String;

/// Several requests carried in one, and their answers taken apart again
/// (pure, like the rest of a back end).
pub trait Batching: Send + Sync {
    /// The most requests one batch may carry.
    fn limit(&self) -> usize;

    /// One request carrying `parts`, each under its id (unique, at most
    /// [`Batching::limit`] of them).
    fn wrap(&self, parts: &[(String, &HttpRequest)]) -> HttpRequest;

    /// The answer to each part, by id, in any order (a part whose answer
    /// cannot be read has the reason instead); or, when the batch as a whole
    /// was refused, what that means (busy, forbidden…) for every part.
    #[allow(clippy::type_complexity)]
    fn unwrap(
        &self,
        reply: &HttpReply,
    ) -> Result<Vec<(String, Result<HttpReply, ServerError>)>, ServerError>;
}

/// A way to reach photos.
///
/// ```
/// use ews_photo::backend::{Backend, Next, Outcome, PhotoRequest};
/// use ews_photo::backend::ews::{Ews, Protocol};
/// use ews_photo::{HttpReply, HttpUrl, PhotoSize};
///
/// let ews = Ews::new(HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx")?, Protocol::Rest, "Exchange2013")?;
/// let photo = PhotoRequest { email: "alice@contoso.com".into(), size: PhotoSize::Hr96, if_none_match: None };
/// let mut exchange = ews.begin(&photo);
/// assert!(exchange.request().url.as_str().ends_with("/s/GetUserPhoto?email=alice%40contoso.com&size=HR96x96"));
/// let reply = HttpReply { status: 404, ..Default::default() };
/// assert!(matches!(exchange.answer(&reply), Next::Done(Ok(Outcome::NoPhoto { .. }))));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Backend: Send + Sync {
    /// Starts the conversation about one photo.
    fn begin(&self, photo: &PhotoRequest) -> Box<dyn Exchange>;

    /// How bodies are shown in `-vv` logs (e.g. SOAP picture data shortened).
    fn body_log(&self) -> BodyLog {
        crate::http::abbreviate_body
    }

    /// The way to send several requests as one, if the service has one.
    fn batching(&self) -> Option<&dyn Batching> {
        None
    }

    /// What a 401 that refused the credentials means for this service, when
    /// the answer says more than the authentication scheme can (Graph's error
    /// code and request IDs); `None` leaves it to the scheme.
    fn rejection_hint(&self, reply: &HttpReply) -> Option<String> {
        let _ = reply;
        None
    }

    /// Whether the service routes a request by its `X-AnchorMailbox` header
    /// (Exchange does), which the client then sets to the signed-in user when
    /// the back end set none. Graph routes by the URL, and gets none.
    fn routes_by_anchor_mailbox(&self) -> bool {
        false
    }
}

/// Base64 as the back ends' answers carry it: padded or not, with line
/// breaks and indentation ignored (copied without them only when there are
/// some); with `url_safe_too`, in the URL-safe alphabet as well (told by its
/// `-` and `_`).
pub(crate) fn decode_base64(
    text: &str,
    url_safe_too: bool,
) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_PAD_INDIFFERENT};
    let engine = if url_safe_too && text.contains(['-', '_']) {
        &URL_SAFE_PAD_INDIFFERENT
    } else {
        &STANDARD_PAD_INDIFFERENT
    };
    if !has_space(text.as_bytes()) {
        return engine.decode(text);
    }
    let compact: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    engine.decode(&compact)
}

/// True when `bytes` hold ASCII whitespace (or another byte up to 0x20),
/// eight at a time.
fn has_space(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut words = bytes.chunks_exact(8);
    let found = words.by_ref().any(|word| {
        let w = u64::from_le_bytes(word.try_into().expect("eight bytes"));
        w.wrapping_sub(ONES * 0x21) & !w & HIGHS != 0
    });
    found || words.remainder().iter().any(|&b| b <= 0x20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_is_found_wherever_it_falls() {
        for len in 0..24 {
            assert!(!has_space(&vec![b'A'; len]));
            for at in 0..len {
                for space in [b' ', b'\t', b'\n', b'\r', 0x0B, 0x0C] {
                    let mut bytes = vec![b'A'; len];
                    bytes[at] = space;
                    assert!(has_space(&bytes), "{len} {at} {space}");
                }
            }
        }
    }

    #[test]
    fn base64_with_or_without_breaks_padding_and_url_alphabet() {
        let jpeg = [0xff, 0xd8, 0xff, 0xe0];
        for text in ["/9j/4A==", "/9j/4A", "/9j/\r\n  4A==\n"] {
            assert_eq!(decode_base64(text, false).unwrap(), jpeg, "{text:?}");
        }
        assert_eq!(decode_base64("_9j_4A", true).unwrap(), jpeg);
        assert!(decode_base64("_9j_4A", false).is_err());
        assert!(decode_base64("not base64!", true).is_err());
    }
}
