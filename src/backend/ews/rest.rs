//! The REST form of GetUserPhoto: `GET {EWS URL}/s/GetUserPhoto?email=…&size=…`.
//!
//! The answer is interpreted by [`super::interpret`].

use crate::url::percent_encode;
use crate::{HttpUrl, PhotoSize};

/// Builds the REST URL. The address is percent-encoded (a `+` in an address
/// must not become a space), and `fallbackToClearImage` is never sent, so a
/// missing photo stays a 404 instead of a 1×1 GIF.
///
/// ```
/// use ews_photo::{HttpUrl, PhotoSize};
/// use ews_photo::backend::ews::rest;
/// let ews = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
/// assert_eq!(
///     rest::url(&ews, "a+b@contoso.com", PhotoSize::Hr96).as_str(),
///     "https://mail.contoso.com/EWS/Exchange.asmx/s/GetUserPhoto?email=a%2Bb%40contoso.com&size=HR96x96"
/// );
/// ```
pub fn url(ews_url: &HttpUrl, email: &str, size: PhotoSize) -> HttpUrl {
    ews_url.below(&format!(
        "/s/GetUserPhoto?email={}&size={}",
        percent_encode(email, b""),
        size.code()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ews(text: &str) -> HttpUrl {
        HttpUrl::parse(text).unwrap()
    }

    #[test]
    fn encodes_reserved_and_non_ascii() {
        assert_eq!(
            percent_encode("a b&c=d/é@x", b""),
            "a%20b%26c%3Dd%2F%C3%A9%40x"
        );
    }

    #[test]
    fn trailing_slash_and_query_in_the_base_are_dropped() {
        assert_eq!(
            url(
                &ews("http://h/EWS/Exchange.asmx/?x=1"),
                "u@h",
                PhotoSize::Hr48
            )
            .as_str(),
            "http://h/EWS/Exchange.asmx/s/GetUserPhoto?email=u%40h&size=HR48x48"
        );
    }

    #[test]
    fn never_asks_for_the_clear_image_fallback() {
        for size in PhotoSize::ALL {
            assert!(
                !url(&ews("https://h/EWS/Exchange.asmx"), "u@h", size)
                    .as_str()
                    .contains("fallbackToClearImage")
            );
        }
    }
}
