//! Everything the end-to-end tests take from `ews_photo`'s library API, in one
//! file, so that when the library's paths change only this file follows (and
//! `properties/fuzz_checks.rs`, which the fuzz targets share and which
//! therefore names its own). The other tests drive the built binary.

use std::path::{Path, PathBuf};

use ews_photo::auth::{Credentials, PasswordSource};
use ews_photo::photo::ImageInfo;
use ews_photo::{
    ClientConfig, HttpRequest, HttpUrl, Outcome, PhotoRequest, PhotoSize, Secret, Service,
    Transport, TransportOptions,
};

pub use ews_photo::Client;
pub use ews_photo::auth::AuthMethod;
pub use ews_photo::photo::Format;

/// Real format and dimensions of an image file.
pub fn image_info(path: &Path) -> ImageInfo {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ews_photo::photo::inspect(&bytes).expect("a valid image")
}

/// The configuration of a client for `url` as `CONTOSO\jdoe` with
/// `password`, trusting `ca_cert` (if any) as well as the usual roots. NTLM
/// over plain http is allowed, as the tests' servers are on loopback.
pub fn config(
    url: &str,
    auth: AuthMethod,
    password: &str,
    ca_cert: Option<PathBuf>,
) -> ClientConfig {
    let mut config = ClientConfig::new(Service::ews(HttpUrl::parse(url).expect("a URL")));
    config.auth = auth;
    config.allow_insecure_auth = true;
    config.credentials = Credentials {
        user: Some("CONTOSO\\jdoe".into()),
        password: PasswordSource::Given(Secret::new(password)),
        token: None,
        domain: None,
        oauth: None,
    };
    config.transport = TransportOptions {
        ca_cert,
        ..Default::default()
    };
    config
}

/// A client for [`config`].
pub fn client(url: &str, auth: AuthMethod, password: &str, ca_cert: Option<PathBuf>) -> Client {
    Client::new(config(url, auth, password, ca_cert)).expect("client")
}

fn hr96(email: &str) -> PhotoRequest {
    PhotoRequest {
        email: email.into(),
        size: PhotoSize::Hr96,
        if_none_match: None,
    }
}

/// The HR96x96 photo of `email`; panics unless the server sends one.
pub fn fetch(client: &mut Client, email: &str) -> Vec<u8> {
    match client.fetch(&hr96(email)) {
        Ok(Outcome::Photo(photo)) => photo.bytes,
        other => panic!("expected a photo, got {other:?}"),
    }
}

/// Asks for the HR96x96 photo of `email`, which must fail: the error's exit
/// code and message.
pub fn fetch_error(client: &mut Client, email: &str) -> (i32, String) {
    let err = client.fetch(&hr96(email)).unwrap_err();
    (i32::from(err.exit().code()), err.to_string())
}

/// The body of a GET through the tool's own transport, which does not verify
/// the certificate here.
pub fn insecure_get(url: &str) -> Vec<u8> {
    let options = TransportOptions {
        insecure: true,
        ..Default::default()
    };
    let transport = Transport::new(&options, ews_photo::http::abbreviate_body).expect("transport");
    let request = HttpRequest::get(HttpUrl::parse(url).expect("a URL"));
    let reply = transport
        .send(&request)
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    reply.body
}

/// The OAuth pieces the sign-in tests drive directly, against the real
/// server: assertions and token forms that the tool would never send, to see
/// them refused.
pub mod oauth {
    pub use ews_photo::auth::oauth::form::{self, ClientAuth, TokenForm};
    pub use ews_photo::auth::oauth::response::parse_token_response;
    pub use ews_photo::auth::oauth::{
        AssertionAlg, Authority, ClientCertificate, OAuthError, TokenEndpointError, TokenResponse,
        client_assertion, jti_from_random, scope,
    };
}

/// A request through the tool's own transport (its TLS, no proxy), trusting
/// `ca_cert`; `form` makes it a `POST` of a form. The status and body.
pub fn request(url: &str, ca_cert: Option<&Path>, form: Option<&str>) -> (u16, Vec<u8>) {
    let options = TransportOptions {
        ca_cert: ca_cert.map(Path::to_path_buf),
        ..Default::default()
    };
    let transport = Transport::new(&options, ews_photo::http::abbreviate_body).expect("transport");
    let url = HttpUrl::parse(url).expect("a URL");
    let request = match form {
        Some(body) => HttpRequest::post(url, body.as_bytes().to_vec())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("Accept", "application/json"),
        None => HttpRequest::get(url),
    };
    let reply = transport
        .send(&request)
        .unwrap_or_else(|e| panic!("{}: {e}", request.url));
    (reply.status, reply.body)
}

/// Every exit code and its meaning, from the library's one table.
pub fn exit_codes() -> Vec<(u8, &'static str)> {
    ews_photo::Exit::ALL
        .iter()
        .map(|exit| (exit.code(), exit.meaning()))
        .collect()
}
