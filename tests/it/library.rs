//! Everything the end-to-end tests take from `ews_photo`'s library API, in one
//! file, so that when the library's paths change only this file follows (and
//! `properties/fuzz_checks.rs`, which the fuzz targets share and which
//! therefore names its own). The other tests drive the built binary.

use std::path::{Path, PathBuf};

use ews_photo::auth::{Credentials, PasswordSource};
use ews_photo::photo::ImageInfo;
use ews_photo::transport::{HttpRequest, Transport, TransportOptions};
use ews_photo::{ClientConfig, Outcome, PhotoRequest, PhotoSize, Secret};

pub use ews_photo::Client;
pub use ews_photo::auth::AuthMethod;
pub use ews_photo::photo::Format;

/// Real format and dimensions of an image file.
pub fn image_info(path: &Path) -> ImageInfo {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ews_photo::photo::inspect(&bytes).expect("a valid image")
}

/// A client for `url` as `CONTOSO\jdoe` with `password`, trusting `ca_cert`
/// (if any) as well as the usual roots.
pub fn client(url: String, auth: AuthMethod, password: &str, ca_cert: Option<PathBuf>) -> Client {
    Client::new(ClientConfig {
        url,
        auth,
        credentials: Credentials {
            user: Some("CONTOSO\\jdoe".into()),
            password: PasswordSource::Given(Secret::new(password)),
            token: None,
            domain: None,
        },
        transport: TransportOptions {
            ca_cert,
            ..Default::default()
        },
        ..Default::default()
    })
    .expect("client")
}

/// A new client with `client`'s configuration but another password.
pub fn with_password(client: &Client, password: &str) -> Client {
    let mut config = client.config().clone();
    config.credentials.password = PasswordSource::Given(Secret::new(password));
    Client::new(config).unwrap()
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
    (err.exit_code(), err.to_string())
}

/// The body of a GET through the tool's own transport, which does not verify
/// the certificate here.
pub fn insecure_get(url: &str) -> Vec<u8> {
    let transport = Transport::new(&TransportOptions {
        insecure: true,
        ..Default::default()
    })
    .expect("transport");
    let reply = transport
        .send(&HttpRequest {
            method: "GET",
            url,
            headers: vec![],
            authorization: None,
            body: None,
        })
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    reply.body
}
