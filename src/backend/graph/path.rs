//! The Graph URLs of a user's photo, its metadata, and the directory look-up
//! of an address, with the encodings Graph needs (protocol notes §B.9).

use crate::PhotoSize;
use crate::url::percent_encode;

/// Which photo of a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/photos/{W}x{H}`: one of the nine stored sizes.
    Sized(&'static str),
    /// `/photo`: the largest stored.
    Largest,
}

impl Route {
    /// The route for a size: the nine square sizes by name, HR1024xN and
    /// HR1920xN as the largest stored (Graph names no such sizes).
    ///
    /// ```
    /// use ews_photo::PhotoSize;
    /// use ews_photo::backend::graph::path::Route;
    /// assert_eq!(Route::of(PhotoSize::Hr240), Route::Sized("240x240"));
    /// assert_eq!(Route::of(PhotoSize::Hr1920xN), Route::Largest);
    /// ```
    pub fn of(size: PhotoSize) -> Route {
        match size {
            PhotoSize::Hr48 => Route::Sized("48x48"),
            PhotoSize::Hr64 => Route::Sized("64x64"),
            PhotoSize::Hr96 => Route::Sized("96x96"),
            PhotoSize::Hr120 => Route::Sized("120x120"),
            PhotoSize::Hr240 => Route::Sized("240x240"),
            PhotoSize::Hr360 => Route::Sized("360x360"),
            PhotoSize::Hr432 => Route::Sized("432x432"),
            PhotoSize::Hr504 => Route::Sized("504x504"),
            PhotoSize::Hr648 => Route::Sized("648x648"),
            PhotoSize::Hr1024xN | PhotoSize::Hr1920xN => Route::Largest,
        }
    }

    /// The metadata path below the user, e.g. `/photos/96x96`.
    pub fn metadata(self) -> String {
        match self {
            Route::Sized(size) => format!("/photos/{size}"),
            Route::Largest => "/photo".into(),
        }
    }

    /// The path of the bytes below the user, e.g. `/photos/96x96/$value`.
    pub fn value(self) -> String {
        format!("{}/$value", self.metadata())
    }
}

/// The user's path below `/v1.0`: `/users/{id or UPN}`, or `/users('{UPN}')`
/// for a UPN that starts with `$`, which Graph would otherwise read as a
/// system query option and refuse with a 400. Every character but letters,
/// digits, `-._~` and `@` is percent-encoded: a guest's `#EXT#` must not end
/// the path, a `+` must not turn into a space, an apostrophe is `%27` (and,
/// inside the quotes of the `('…')` form, doubled as OData escapes it).
///
/// ```
/// use ews_photo::backend::graph::path::user_path;
/// assert_eq!(user_path("alice@contoso.com"), "/users/alice@contoso.com");
/// assert_eq!(
///     user_path("bob_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
///     "/users/bob_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"
/// );
/// assert_eq!(user_path("o'neil+x@contoso.com"), "/users/o%27neil%2Bx@contoso.com");
/// assert_eq!(user_path("$admin@contoso.com"), "/users('$admin@contoso.com')");
/// assert_eq!(user_path("$o'neil@contoso.com"), "/users('$o%27%27neil@contoso.com')");
/// ```
pub fn user_path(user: &str) -> String {
    match user.strip_prefix('$') {
        Some(rest) => format!(
            "/users('${}')",
            percent_encode(&rest.replace('\'', "''"), b"@")
        ),
        None => format!("/users/{}", percent_encode(user, b"@")),
    }
}

/// The directory look-up of an address that is not a user name: users whose
/// `mail` is the address, or who have it among their `proxyAddresses`
/// (`smtp:` for every address, `SMTP:` for the primary one; directory string
/// comparisons ignore case). A filter on `proxyAddresses/any` is an advanced
/// query: it needs `$count=true` here and the `ConsistencyLevel: eventual`
/// header. Two results are enough to know the address is ambiguous.
///
/// ```
/// use ews_photo::backend::graph::path::lookup;
/// assert_eq!(
///     lookup("o'neil@contoso.com"),
///     "/users?$filter=mail%20eq%20%27o%27%27neil%40contoso.com%27%20or%20proxyAddresses%2Fany%28p%3Ap%20eq%20%27smtp%3Ao%27%27neil%40contoso.com%27%29&$select=id,userPrincipalName,mail&$top=2&$count=true"
/// );
/// ```
pub fn lookup(address: &str) -> String {
    let quoted = address.replace('\'', "''");
    let filter = format!("mail eq '{quoted}' or proxyAddresses/any(p:p eq 'smtp:{quoted}')");
    format!(
        "/users?$filter={}&$select=id,userPrincipalName,mail&$top=2&$count=true",
        percent_encode(&filter, b"")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_has_a_route() {
        let routes: Vec<String> = PhotoSize::ALL
            .iter()
            .map(|s| Route::of(*s).value())
            .collect();
        assert_eq!(
            routes,
            [
                "/photos/48x48/$value",
                "/photos/64x64/$value",
                "/photos/96x96/$value",
                "/photos/120x120/$value",
                "/photos/240x240/$value",
                "/photos/360x360/$value",
                "/photos/432x432/$value",
                "/photos/504x504/$value",
                "/photos/648x648/$value",
                "/photo/$value",
                "/photo/$value",
            ]
        );
        assert_eq!(Route::Sized("48x48").metadata(), "/photos/48x48");
        assert_eq!(Route::Largest.metadata(), "/photo");
    }

    #[test]
    fn odd_characters_are_encoded_once() {
        assert_eq!(
            user_path("a b/c?d&e=f;g@h"),
            "/users/a%20b%2Fc%3Fd%26e%3Df%3Bg@h"
        );
        assert_eq!(user_path("é@h"), "/users/%C3%A9@h");
        // A `$` anywhere but the start is an ordinary character.
        assert_eq!(user_path("a$b@h"), "/users/a%24b@h");
        // `%` itself is encoded, so an address never smuggles an escape.
        assert_eq!(user_path("a%2F@h"), "/users/a%252F@h");
    }

    #[test]
    fn the_lookup_filter_escapes_quotes_and_encodes_everything() {
        let url = lookup("a+b@contoso.com");
        assert!(
            url.contains("mail%20eq%20%27a%2Bb%40contoso.com%27"),
            "{url}"
        );
        assert!(url.contains("%27smtp%3Aa%2Bb%40contoso.com%27"), "{url}");
        assert!(url.ends_with("&$count=true"), "{url}");
        assert!(!url.contains(' ') && !url.contains('#'), "{url}");
    }
}
