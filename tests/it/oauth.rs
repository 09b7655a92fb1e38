//! OAuth 2 sign-in against a server nobody here wrote: npm `oidc-provider`
//! (tests/oauth/server.mjs), shaped like Entra ID's endpoints, over TLS on
//! 127.0.0.1. It checks what Entra checks of a client: the secret, the
//! assertion's signature, `aud`, `exp`, single-use `jti` and certificate
//! thumbprint header, and it runs the device-code flow.
//!
//! Needs `node` and `npm ci` in tests/oauth (`.ci/run` does both). Without
//! them the tests are skipped with a loud message, unless
//! EWS_PHOTO_REQUIRE_OIDC is set (CI), where they fail instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use ews_photo::Secret;
use ews_photo::auth::oauth::cache::{CacheEntry, CacheKey};
use ews_photo::auth::oauth::device::{Polling, Step};
use ews_photo::auth::oauth::form::{self, ClientAuth, TokenForm};
use ews_photo::auth::oauth::response::{
    DeviceAuthorization, parse_device_authorization, parse_token_response,
};
use ews_photo::auth::oauth::{
    AssertionAlg, Authority, ClientCertificate, OAuthError, TokenResponse, client_assertion,
    jti_from_random, scope,
};

const TENANT: &str = "contoso.onmicrosoft.com";
const SECRET_CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const CERT_CLIENT: &str = "22222222-3333-4444-5555-666666666666";
const PUBLIC_CLIENT: &str = "33333333-4444-5555-6666-777777777777";
const CLIENT_SECRET: &str = "oidc-test-secret-Vq8~x";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth")
}

fn node_or_skip() -> Option<String> {
    let node = std::env::var("EWS_PHOTO_NODE").unwrap_or_else(|_| "node".into());
    let has_node = Command::new(&node)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let has_package = folder()
        .join("node_modules/oidc-provider/package.json")
        .is_file();
    if has_node && has_package {
        return Some(node);
    }
    let why = if has_node {
        "the npm package oidc-provider is not installed in tests/oauth"
    } else {
        "`node` is not on PATH (or EWS_PHOTO_NODE)"
    };
    if std::env::var_os("EWS_PHOTO_REQUIRE_OIDC").is_some() {
        panic!("EWS_PHOTO_REQUIRE_OIDC is set but {why}; run `npm ci` in tests/oauth");
    }
    eprintln!(
        "\n\n************************************************************************\n\
         SKIPPED: OAuth end-to-end test: {why}.\n\
         Install Node 20 and run: (cd tests/oauth && npm ci)\n\
         ************************************************************************\n"
    );
    None
}

macro_rules! server_or_skip {
    ($($env:expr),*) => {
        match node_or_skip() {
            Some(node) => OidcServer::start(&node, &[$($env),*]),
            None => return,
        }
    };
}

struct OidcServer {
    child: Child,
    port: u16,
    agent: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl Drop for OidcServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OidcServer {
    fn start(node: &str, env: &[(&str, &str)]) -> OidcServer {
        let dir = tempfile::tempdir().unwrap();
        let (ca_der, leaf_pem, key_pem) = tls_certificates();
        std::fs::write(dir.path().join("tls-cert.pem"), leaf_pem).unwrap();
        std::fs::write(dir.path().join("tls-key.pem"), key_pem).unwrap();
        let mut command = Command::new(node);
        command
            .arg(folder().join("server.mjs"))
            .current_dir(folder())
            .env("TLS_CERT", dir.path().join("tls-cert.pem"))
            .env("TLS_KEY", dir.path().join("tls-key.pem"))
            .env("CLIENT_CERT", folder().join("fixtures/client-cert.pem"))
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("TENANT", TENANT)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start node");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("server.mjs did not print its port: {line:?}\n{log}")
            });
        let ca = ureq::tls::Certificate::from_der(&ca_der).to_owned();
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::new_with_certs(&[ca]))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        OidcServer {
            child,
            port,
            agent,
            _dir: dir,
        }
    }

    fn authority(&self) -> Authority {
        Authority::new(&format!("https://127.0.0.1:{}", self.port), TENANT).unwrap()
    }

    /// POSTs a form the way the tool will: MSAL's headers, the encoded body.
    fn post(&self, url: &str, form: &TokenForm) -> (u16, Vec<u8>, Option<String>) {
        let mut request = self.agent.post(url);
        for (name, value) in form::HEADERS {
            request = request.header(name, value);
        }
        let mut reply = request.send(form.encode().expose()).expect("POST");
        let status = reply.status().as_u16();
        let retry_after = reply
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        (status, reply.body_mut().read_to_vec().unwrap(), retry_after)
    }

    fn token(&self, form: &TokenForm) -> Result<TokenResponse, OAuthError> {
        let (status, body, retry_after) = self.post(&self.authority().token_url(), form);
        parse_token_response(status, &body, form, retry_after.as_deref())
    }

    fn device_code(&self, scope: &str) -> DeviceAuthorization {
        let form = form::device_code(PUBLIC_CLIENT, scope);
        let (status, body, _) = self.post(&self.authority().device_code_url(), &form);
        parse_device_authorization(status, &body, &form).unwrap()
    }

    fn decide(&self, user_code: &str, action: &str) {
        let url = format!(
            "https://127.0.0.1:{}/test/device?user_code={user_code}&action={action}",
            self.port
        );
        let mut reply = self.agent.post(&url).send_empty().unwrap();
        let body = reply.body_mut().read_to_string().unwrap();
        assert_eq!(reply.status().as_u16(), 200, "{action} {user_code}: {body}");
    }

    /// Checks an access token as a resource server would (and as the EWS
    /// stand-in will): RS256 signature by a key from the provider's JWKS,
    /// `iss`, `aud`, and `exp` against `now`.
    fn verify(&self, token: &Secret, audience: &str, now: SystemTime) -> Result<(), String> {
        let url = format!(
            "https://127.0.0.1:{}/{TENANT}/discovery/v2.0/keys",
            self.port
        );
        let keys: serde_json::Value = serde_json::from_slice(
            &self
                .agent
                .get(&url)
                .call()
                .unwrap()
                .body_mut()
                .read_to_vec()
                .unwrap(),
        )
        .unwrap();
        let parts: Vec<&str> = token.expose().split('.').collect();
        let [header, claims, signature] = parts.as_slice() else {
            return Err("not a JWT".into());
        };
        let b64 = |s: &str| BASE64_URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string());
        let header: serde_json::Value = serde_json::from_slice(&b64(header)?).unwrap();
        let key = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == header["kid"])
            .ok_or("signed by a key the provider does not publish")?;
        let n = b64(key["n"].as_str().unwrap())?;
        let e = b64(key["e"].as_str().unwrap())?;
        ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
            .verify(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &b64(signature)?,
            )
            .map_err(|_| "bad signature")?;
        let claims: serde_json::Value = serde_json::from_slice(&b64(claims)?).unwrap();
        let issuer = format!("{}/{TENANT}/v2.0", self.authority().base());
        if claims["iss"] != issuer.as_str() {
            return Err(format!("issuer {}", claims["iss"]));
        }
        if claims["aud"] != audience {
            return Err(format!("audience {}", claims["aud"]));
        }
        let now = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        if claims["exp"].as_u64().unwrap() <= now {
            return Err("expired".into());
        }
        Ok(())
    }
}

/// A CA and a leaf for 127.0.0.1 it signed (webpki refuses a CA certificate
/// as the server's own).
fn tls_certificates() -> (Vec<u8>, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &issuer)
        .unwrap();
    (ca.der().to_vec(), leaf.pem(), leaf_key.serialize_pem())
}

fn certificate() -> ClientCertificate {
    ClientCertificate::from_pem(&std::fs::read(folder().join("fixtures/client.pkcs8.pem")).unwrap())
        .unwrap()
}

fn fresh_jti() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).unwrap();
    jti_from_random(bytes)
}

fn endpoint_error(
    result: Result<TokenResponse, OAuthError>,
) -> Box<ews_photo::auth::oauth::TokenEndpointError> {
    match result {
        Err(OAuthError::Endpoint(e)) => e,
        other => panic!("expected the endpoint to refuse: {other:?}"),
    }
}

#[test]
fn client_secret_gets_a_token_a_resource_server_accepts() {
    let server = server_or_skip!(("ACCESS_TOKEN_TTL", "120"));
    let secret = Secret::new(CLIENT_SECRET);
    let form = form::client_credentials(
        SECRET_CLIENT,
        ClientAuth::Secret(&secret),
        &scope::app_only(scope::EXCHANGE_ONLINE),
    );
    let token = server.token(&form).unwrap();
    assert_eq!(token.expires_in, 120, "ACCESS_TOKEN_TTL is honoured");
    assert!(
        token.refresh_token.is_none(),
        "client credentials get no refresh token"
    );
    let now = SystemTime::now();
    server
        .verify(&token.access_token, scope::EXCHANGE_ONLINE, now)
        .unwrap();
    // What the stand-in must refuse: another audience, an expired token, a
    // token that is not the provider's.
    assert!(
        server
            .verify(&token.access_token, "https://graph.microsoft.com", now)
            .is_err()
    );
    assert_eq!(
        server.verify(
            &token.access_token,
            scope::EXCHANGE_ONLINE,
            now + Duration::from_secs(121)
        ),
        Err("expired".into())
    );
    let mut forged = token.access_token.expose().to_string();
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    assert!(
        server
            .verify(&Secret::new(forged), scope::EXCHANGE_ONLINE, now)
            .is_err()
    );

    // Graph's resource gives a Graph token.
    let form = form::client_credentials(
        SECRET_CLIENT,
        ClientAuth::Secret(&secret),
        &scope::app_only("https://graph.microsoft.com"),
    );
    let graph = server.token(&form).unwrap();
    server
        .verify(&graph.access_token, "https://graph.microsoft.com", now)
        .unwrap();
}

#[test]
fn wrong_secret_is_invalid_client_with_advice_and_no_secret_shown() {
    let server = server_or_skip!();
    let wrong = Secret::new("not-the-secret-4711");
    let form = form::client_credentials(
        SECRET_CLIENT,
        ClientAuth::Secret(&wrong),
        &scope::app_only(scope::EXCHANGE_ONLINE),
    );
    let error = endpoint_error(server.token(&form));
    assert_eq!(
        (error.status, error.error.as_str()),
        (401, "invalid_client")
    );
    let shown = format!("{error} {error:?}");
    assert!(shown.contains("Certificates & secrets"), "{shown}");
    assert!(!shown.contains("not-the-secret-4711"), "{shown}");
}

#[test]
fn certificate_assertions_ps256_and_rs256_get_tokens() {
    let server = server_or_skip!();
    let cert = certificate();
    let token_url = server.authority().token_url();
    for alg in [AssertionAlg::Ps256, AssertionAlg::Rs256] {
        let jwt = client_assertion(
            &cert,
            alg,
            CERT_CLIENT,
            &token_url,
            SystemTime::now(),
            &fresh_jti(),
        )
        .unwrap();
        let form = form::client_credentials(
            CERT_CLIENT,
            ClientAuth::Assertion(&jwt),
            &scope::app_only(scope::EXCHANGE_ONLINE),
        );
        let token = server
            .token(&form)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        server
            .verify(
                &token.access_token,
                scope::EXCHANGE_ONLINE,
                SystemTime::now(),
            )
            .unwrap();
    }
    // The same certificate read from the .pfx files signs just as well.
    for pfx in ["client-aes.pfx", "client-legacy.pfx"] {
        let bytes = std::fs::read(folder().join("fixtures").join(pfx)).unwrap();
        let cert = ClientCertificate::from_pkcs12(&bytes, &Secret::new("pfx-pass")).unwrap();
        let jwt = client_assertion(
            &cert,
            AssertionAlg::Ps256,
            CERT_CLIENT,
            &token_url,
            SystemTime::now(),
            &fresh_jti(),
        )
        .unwrap();
        let form = form::client_credentials(
            CERT_CLIENT,
            ClientAuth::Assertion(&jwt),
            &scope::app_only(scope::EXCHANGE_ONLINE),
        );
        server.token(&form).unwrap_or_else(|e| panic!("{pfx}: {e}"));
    }
}

#[test]
fn assertions_the_server_must_refuse() {
    let server = server_or_skip!();
    let cert = certificate();
    let token_url = server.authority().token_url();
    let scope = scope::app_only(scope::EXCHANGE_ONLINE);
    let now = SystemTime::now();

    // The same assertion twice: the jti is single-use, so every request needs
    // a fresh one.
    let jwt = client_assertion(
        &cert,
        AssertionAlg::Ps256,
        CERT_CLIENT,
        &token_url,
        now,
        &fresh_jti(),
    )
    .unwrap();
    let form = form::client_credentials(CERT_CLIENT, ClientAuth::Assertion(&jwt), &scope);
    server.token(&form).unwrap();
    let error = endpoint_error(server.token(&form));
    assert_eq!(error.error, "invalid_client");

    // aud must be the exact token URL, not some other URL of the server.
    let wrong_aud = format!("{}x", token_url);
    let jwt = client_assertion(
        &cert,
        AssertionAlg::Ps256,
        CERT_CLIENT,
        &wrong_aud,
        now,
        &fresh_jti(),
    )
    .unwrap();
    let form = form::client_credentials(CERT_CLIENT, ClientAuth::Assertion(&jwt), &scope);
    assert_eq!(endpoint_error(server.token(&form)).error, "invalid_client");

    // Issued 11 minutes ago, so expired a minute ago.
    let old = now - Duration::from_secs(660);
    let jwt = client_assertion(
        &cert,
        AssertionAlg::Ps256,
        CERT_CLIENT,
        &token_url,
        old,
        &fresh_jti(),
    )
    .unwrap();
    let form = form::client_credentials(CERT_CLIENT, ClientAuth::Assertion(&jwt), &scope);
    assert_eq!(endpoint_error(server.token(&form)).error, "invalid_client");

    // Another client's id in iss/sub (oidc-provider finds the mismatch with
    // the form's client_id first and calls it invalid_request).
    let jwt = client_assertion(
        &cert,
        AssertionAlg::Ps256,
        SECRET_CLIENT,
        &token_url,
        now,
        &fresh_jti(),
    )
    .unwrap();
    let form = form::client_credentials(CERT_CLIENT, ClientAuth::Assertion(&jwt), &scope);
    let error = endpoint_error(server.token(&form));
    assert!(
        matches!(error.error.as_str(), "invalid_request" | "invalid_client"),
        "{error}"
    );
    assert!(!format!("{error}").contains(jwt.expose()), "{error}");
}

#[test]
fn device_flow_pending_then_approved_then_refreshed() {
    let server = server_or_skip!();
    let scope = scope::delegated(scope::EXCHANGE_ONLINE);
    let device = server.device_code(&scope);
    assert!(device.instructions().contains(&device.user_code));
    let mut polling = Polling::new(device.interval, device.expires_in, SystemTime::now());
    let poll = form::device_code_poll(PUBLIC_CLIENT, &device.device_code);

    match polling.after(server.token(&poll), SystemTime::now()) {
        Step::Wait(wait) => assert_eq!(
            wait,
            Duration::from_secs(5),
            "oidc-provider sends no interval: RFC default"
        ),
        other => panic!("before approval: {other:?}"),
    }
    server.decide(&device.user_code, "approve");
    let token = match polling.after(server.token(&poll), SystemTime::now()) {
        Step::Done(token) => token,
        other => panic!("after approval: {other:?}"),
    };
    server
        .verify(
            &token.access_token,
            scope::EXCHANGE_ONLINE,
            SystemTime::now(),
        )
        .unwrap();
    let refresh_token = token
        .refresh_token
        .clone()
        .expect("offline_access gives a refresh token");

    // The cache entry, then a renewal with the refresh token.
    let key = CacheKey::new(&server.authority(), PUBLIC_CLIENT, &scope);
    let entry = CacheEntry::new(key.clone(), &token, None, SystemTime::now());
    let refresh = form::refresh(PUBLIC_CLIENT, entry.refresh_token().unwrap(), &scope);
    let renewed = server.token(&refresh).unwrap();
    assert_ne!(renewed.access_token, token.access_token);
    server
        .verify(
            &renewed.access_token,
            scope::EXCHANGE_ONLINE,
            SystemTime::now(),
        )
        .unwrap();
    let entry = CacheEntry::new(key, &renewed, entry.refresh_token(), SystemTime::now());
    assert!(entry.access_token(SystemTime::now()).is_some());

    // The device code was used up; the old refresh token was rotated away
    // (a public client's refresh tokens are single-use at oidc-provider).
    let error = endpoint_error(server.token(&poll));
    assert_eq!(error.error, "invalid_grant");
    if renewed.refresh_token.as_ref() != Some(&refresh_token) {
        let error =
            endpoint_error(server.token(&form::refresh(PUBLIC_CLIENT, &refresh_token, &scope)));
        assert_eq!(error.error, "invalid_grant");
        assert!(
            error.advice().contains("sign in again"),
            "{}",
            error.advice()
        );
    }
}

#[test]
fn device_flow_declined_ends_cleanly() {
    let server = server_or_skip!();
    let device = server.device_code(&scope::delegated(scope::EXCHANGE_ONLINE));
    server.decide(&device.user_code, "deny");
    let mut polling = Polling::new(device.interval, device.expires_in, SystemTime::now());
    let poll = form::device_code_poll(PUBLIC_CLIENT, &device.device_code);
    match polling.after(server.token(&poll), SystemTime::now()) {
        Step::Failed(e @ OAuthError::DeviceFlowEnded(_)) => {
            assert!(e.to_string().contains("declined"), "{e}");
            assert!(!e.to_string().contains(device.device_code.expose()), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn device_code_expires() {
    let server = server_or_skip!(("DEVICE_CODE_TTL", "1"));
    let device = server.device_code(&scope::delegated(scope::EXCHANGE_ONLINE));
    assert_eq!(device.expires_in, 1);
    // The code lives one second; waiting three leaves no doubt.
    std::thread::sleep(Duration::from_secs(3));
    let poll = form::device_code_poll(PUBLIC_CLIENT, &device.device_code);
    let answer = server.token(&poll);
    let Err(OAuthError::Endpoint(error)) = &answer else {
        panic!("{answer:?}")
    };
    assert_eq!(error.error, "expired_token", "the server's own verdict");
    // The decision made from the answer alone, with a deadline far away.
    let mut polling = Polling::new(5, 900, SystemTime::now());
    match polling.after(answer, SystemTime::now()) {
        Step::Failed(e @ OAuthError::DeviceFlowEnded(_)) => {
            assert!(e.to_string().contains("expired"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_assertion_naming_another_certificate_is_refused() {
    // Signed correctly by the registered key, but its x5t#S256 header names
    // another certificate: Entra looks the key up by that thumbprint
    // (AADSTS700027), and the server's header hook does the same.
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let server = server_or_skip!();
    let pem = std::fs::read(folder().join("fixtures/client.pkcs8.pem")).unwrap();
    let PrivateKeyDer::Pkcs8(der) = PrivateKeyDer::from_pem_slice(&pem).unwrap() else {
        panic!("the fixture is PKCS#8")
    };
    let key = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |thumbprint: &str| {
        let header = serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": thumbprint});
        let claims = serde_json::json!({
            "aud": server.authority().token_url(), "iss": CERT_CLIENT, "sub": CERT_CLIENT,
            "jti": fresh_jti(), "nbf": now, "iat": now, "exp": now + 600,
        });
        let input = format!(
            "{}.{}",
            BASE64_URL_SAFE_NO_PAD.encode(header.to_string()),
            BASE64_URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PSS_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut signature,
        )
        .unwrap();
        Secret::new(format!(
            "{input}.{}",
            BASE64_URL_SAFE_NO_PAD.encode(signature)
        ))
    };
    let scope = scope::app_only(scope::EXCHANGE_ONLINE);
    // The control: the right thumbprint, MSAL Python's padded form, passes.
    let padded = format!("{}=", certificate().thumbprint_sha256());
    let jwt = sign(&padded);
    server
        .token(&form::client_credentials(
            CERT_CLIENT,
            ClientAuth::Assertion(&jwt),
            &scope,
        ))
        .unwrap();
    let jwt = sign(&BASE64_URL_SAFE_NO_PAD.encode([0u8; 32]));
    let error = endpoint_error(server.token(&form::client_credentials(
        CERT_CLIENT,
        ClientAuth::Assertion(&jwt),
        &scope,
    )));
    assert_eq!(error.error, "invalid_client");
}
