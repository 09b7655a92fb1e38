//! OAuth 2 sign-in (`--auth oauth`), end to end.
//!
//! Against an OAuth server nobody here wrote: npm `oidc-provider`
//! (tests/oauth/server.mjs), shaped like Entra ID's endpoints, over TLS on
//! 127.0.0.1. It checks what Entra checks of a client (the secret, the
//! assertion's signature, `aud`, `exp`, single-use `jti`, the certificate
//! thumbprint header) and runs the device-code flow. Its tokens are RS256 JWTs
//! that the EWS stand-in verifies against its published keys, so only current
//! tokens get photos.
//!
//! Where oidc-provider is not Entra (AADSTS codes, `slow_down`,
//! `authorization_declined`, 429 with `Retry-After`, tokens without roles),
//! the Entra stand-in (`ews_standin::Entra`) serves Entra's own answers.
//!
//! Needs `node` and `npm ci` in tests/oauth (`.ci/run` does both). Without
//! them the oidc-provider tests are skipped with a loud message, unless
//! EWS_PHOTO_REQUIRE_OIDC is set (CI), where they fail instead.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use ews_photo::Secret;
use ews_standin::tls::{CertKind, TlsFront};
use ews_standin::{Entra, EntraOptions, TokenCheck};

use crate::common::{Auth, Options, PredicateBooleanExt, Setup, contains, files_in, stderr};
use crate::library::oauth::{
    AssertionAlg, Authority, ClientAuth, ClientCertificate, OAuthError, TokenEndpointError,
    TokenForm, TokenResponse, client_assertion, form, jti_from_random, parse_token_response, scope,
};
use crate::library::request;

const TENANT: &str = "contoso.onmicrosoft.com";
const SECRET_CLIENT: &str = "11111111-2222-3333-4444-555555555555";
const CERT_CLIENT: &str = "22222222-3333-4444-5555-666666666666";
const PUBLIC_CLIENT: &str = "33333333-4444-5555-6666-777777777777";
const CLIENT_SECRET: &str = "oidc-test-secret-Vq8~x";
const PFX_PASSWORD: &str = "pfx-pass";
const SERVICE_MAILBOX: &str = "svc-photos@contoso.com";
/// The resource ews-photo derives from a loopback EWS URL (as it derives
/// https://mail.contoso.com from an on-premises one).
const LOOPBACK_RESOURCE: &str = "https://127.0.0.1";

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oauth")
}

fn fixture(name: &str) -> PathBuf {
    folder().join("fixtures").join(name)
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

/// oidc-provider on 127.0.0.1 over TLS, with a test CA.
struct OidcServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
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
        let (ca_pem, leaf_pem, key_pem) = tls_certificates();
        std::fs::write(dir.path().join("ca.pem"), ca_pem).unwrap();
        std::fs::write(dir.path().join("tls-cert.pem"), leaf_pem).unwrap();
        std::fs::write(dir.path().join("tls-key.pem"), key_pem).unwrap();
        let mut command = Command::new(node);
        command
            .arg(folder().join("server.mjs"))
            .current_dir(folder())
            .env("TLS_CERT", dir.path().join("tls-cert.pem"))
            .env("TLS_KEY", dir.path().join("tls-key.pem"))
            .env("CLIENT_CERT", fixture("client-cert.pem"))
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("TENANT", TENANT)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start node");
        // A server that hangs before listening fails the test, with its log,
        // instead of hanging it (the deadline only bounds a failure).
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("server.mjs printed no port within 2 minutes\n{log}")
            });
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| {
                let log =
                    std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
                panic!("server.mjs did not print its port: {line:?}\n{log}")
            });
        OidcServer { child, port, dir }
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    fn authority(&self) -> Authority {
        Authority::new(&self.base(), TENANT).unwrap()
    }

    fn issuer(&self) -> String {
        format!("{}/{TENANT}/v2.0", self.base())
    }

    fn token(&self, form: &TokenForm) -> Result<TokenResponse, OAuthError> {
        let (status, body) = request(
            &self.authority().token_url(),
            Some(&self.ca()),
            Some(form.encode().expose()),
        );
        parse_token_response(status, &body, form, None)
    }

    /// What a user does in the browser: approve or decline a user code.
    fn decide(&self, user_code: &str, action: &str) {
        let url = format!(
            "{}/test/device?user_code={user_code}&action={action}",
            self.base()
        );
        let (status, body) = request(&url, Some(&self.ca()), Some(""));
        assert_eq!(
            status,
            200,
            "{action} {user_code}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// Requests the token and device-code endpoints received.
    fn requests(&self) -> (u64, u64) {
        let (_, body) = request(
            &format!("{}/test/requests", self.base()),
            Some(&self.ca()),
            None,
        );
        let counts: serde_json::Value = serde_json::from_slice(&body).unwrap();
        (
            counts["token"].as_u64().unwrap(),
            counts["devicecode"].as_u64().unwrap(),
        )
    }

    /// A resource server's check of its tokens for `audience`.
    fn token_check(&self, audience: &str) -> TokenCheck {
        let url = format!("{}/{TENANT}/discovery/v2.0/keys", self.base());
        let (_, keys) = request(&url, Some(&self.ca()), None);
        TokenCheck::from_jwks(&keys, &self.issuer(), audience).unwrap()
    }
}

/// A CA and a leaf for 127.0.0.1 it signed (webpki refuses a CA certificate
/// as the server's own), PEM.
fn tls_certificates() -> (String, String, String) {
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
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

/// The EWS stand-in behind TLS, accepting only `check`'s tokens, and a file
/// that trusts both its CA and the sign-in server's.
struct Ews {
    setup: Setup,
    front: TlsFront,
    ca: PathBuf,
}

impl Ews {
    fn new(check: TokenCheck, sign_in_ca: Option<&Path>) -> Ews {
        Ews::with(check, sign_in_ca, Duration::ZERO)
    }

    fn with(check: TokenCheck, sign_in_ca: Option<&Path>, latency: Duration) -> Ews {
        let setup = Setup::with(Options {
            auth: Auth::Token(Arc::new(check)),
            latency,
            ..Default::default()
        });
        let front = TlsFront::start(setup.server.addr(), CertKind::Valid).unwrap();
        let mut pem = front.ca_pem().to_string();
        if let Some(other) = sign_in_ca {
            pem.push_str(&std::fs::read_to_string(other).unwrap());
        }
        let ca = setup.path("trusted.pem");
        std::fs::write(&ca, pem).unwrap();
        Ews { setup, front, ca }
    }

    /// `ews-photo` for the TLS front, trusting both CAs, with these words.
    fn ews_photo(&self, line: &str) -> crate::common::Command {
        let mut cmd = self.setup.cmd();
        cmd.env("EWS_URL", self.front.url())
            .env("EWS_CA_CERT", &self.ca)
            .args(line.split_whitespace());
        cmd
    }

    fn path(&self, name: &str) -> PathBuf {
        self.setup.path(name)
    }

    fn photo_requests(&self) -> usize {
        self.setup
            .server
            .requests()
            .iter()
            .filter(|r| r.email.is_some())
            .count()
    }
}

fn oidc_words(server: &OidcServer, client: &str) -> String {
    format!(
        "--auth oauth --authority {} --tenant {TENANT} --client-id {client}",
        server.base()
    )
}

/// The cache folder of a scratch folder, and its one token file.
fn cache_file(dir: &Path) -> PathBuf {
    let folder = dir.join(".cache/ews-photo");
    let files = files_in(&folder);
    assert_eq!(files.len(), 1, "one cache entry: {files:?}");
    folder.join(&files[0])
}

/// Makes the cached access token look expired an hour ago.
fn expire_cached_token(dir: &Path) {
    let path = cache_file(dir);
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let past = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 3600;
    entry["expires_on"] = past.into();
    // Rewriting in place keeps the file's owner and mode (0600).
    std::fs::write(&path, entry.to_string()).unwrap();
}

fn certificate() -> ClientCertificate {
    ClientCertificate::from_pem(&std::fs::read(fixture("client.pkcs8.pem")).unwrap()).unwrap()
}

fn fresh_jti() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).unwrap();
    jti_from_random(bytes)
}

fn endpoint_error(result: Result<TokenResponse, OAuthError>) -> Box<TokenEndpointError> {
    match result {
        Err(OAuthError::Endpoint(e)) => e,
        other => panic!("expected the endpoint to refuse: {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// The tool end to end against oidc-provider.

#[test]
fn client_secret_then_the_cached_token_a_second_get_makes_no_token_request() {
    let server = server_or_skip!();
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    std::fs::write(ews.path("secret.txt"), format!("{CLIENT_SECRET}\n")).unwrap();
    let words = format!(
        "{} --client-secret-file secret.txt --impersonate {SERVICE_MAILBOX}",
        oidc_words(&server, SECRET_CLIENT)
    );
    for name in ["first.jpg", "second.jpg"] {
        ews.ews_photo(&format!("get alice@contoso.com -o {name} {words}"))
            .assert()
            .success();
        assert!(ews.path(name).is_file());
    }
    assert_eq!(server.requests(), (1, 0), "the second get used the cache");
    assert_eq!(ews.photo_requests(), 2);
    // The default scope of a loopback (on-premises) EWS URL: its https://host.
    let cached = std::fs::read_to_string(cache_file(ews.setup.dir.path())).unwrap();
    assert!(cached.contains("https://127.0.0.1/.default"), "{cached}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let file = cache_file(ews.setup.dir.path());
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
    // Without the cache, a token request every time.
    ews.ews_photo(&format!(
        "get alice@contoso.com -o third.jpg --no-token-cache {words}"
    ))
    .assert()
    .success();
    assert_eq!(server.requests(), (2, 0));
}

#[test]
fn certificate_in_pem_pkcs1_and_pfx_gets_photos() {
    let server = server_or_skip!();
    let ews = Ews::new(
        server.token_check(scope::EXCHANGE_ONLINE),
        Some(&server.ca()),
    );
    let words = format!(
        "{} --impersonate {SERVICE_MAILBOX} --no-token-cache --scope https://outlook.office365.com/.default",
        oidc_words(&server, CERT_CLIENT)
    );
    for certificate in [
        "client.pkcs8.pem",
        "client.pkcs1.pem",
        "client-aes.pfx",
        "client-3des.pfx",
    ] {
        ews.ews_photo(&format!("get alice@contoso.com -o a.jpg {words}"))
            .arg("--certificate")
            .arg(fixture(certificate))
            .env("EWS_CERTIFICATE_PASSWORD", PFX_PASSWORD)
            .assert()
            .success();
    }
    assert_eq!(server.requests(), (4, 0));
    // A wrong .pfx password is a usage error, before any request.
    let run = ews
        .ews_photo(&format!("get alice@contoso.com -o a.jpg {words}"))
        .arg("--certificate")
        .arg(fixture("client-aes.pfx"))
        .env("EWS_CERTIFICATE_PASSWORD", "Wr0ng-pfx-pass")
        .assert()
        .code(2)
        .stderr(contains("password is wrong").and(contains("EWS_CERTIFICATE_PASSWORD")));
    assert!(!stderr(&run).contains("Wr0ng-pfx-pass"), "{}", stderr(&run));
    assert_eq!(server.requests(), (4, 0));
}

/// Runs `ews-photo` with `--device-code`, reads the code from its stderr,
/// lets `user` act on it at the server, and returns the finished run.
fn device_run(
    server: &OidcServer,
    ews: &Ews,
    extra: &str,
    user: Option<&str>,
) -> std::process::Output {
    let words = format!(
        "get alice@contoso.com -o alice.jpg {} --device-code {extra}",
        oidc_words(server, PUBLIC_CLIENT)
    );
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("ews-photo"))
        .args(words.split_whitespace())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("EWS_URL", ews.front.url())
        .env("EWS_CA_CERT", &ews.ca)
        .env("XDG_CACHE_HOME", ews.path(".cache"))
        .current_dir(ews.setup.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if let Some(at) = line.find("enter the code ") {
            let code = line[at + "enter the code ".len()..].trim().to_string();
            if let Some(action) = user {
                server.decide(&code, action);
            }
            break;
        }
        line.clear();
    }
    assert!(
        seen.contains("enter the code"),
        "no device code shown: {seen}"
    );
    let mut output = child.wait_with_output().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    output.stderr = seen.into_bytes();
    output
}

#[test]
fn device_code_approved_then_the_refresh_token_renews_an_expired_token() {
    let server = server_or_skip!();
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    let run = device_run(&server, &ews, "", Some("approve"));
    let text = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{text}");
    assert!(run.stdout.is_empty(), "stdout stays data");
    assert!(ews.path("alice.jpg").is_file());
    // The EWS stand-in checked X-AnchorMailbox: the signed-in user.
    let anchors: Vec<_> = ews
        .setup
        .server
        .requests()
        .iter()
        .filter_map(|r| r.header("x-anchormailbox").map(str::to_string))
        .collect();
    assert_eq!(anchors, ["alice@contoso.com"]);
    let (token_requests, device_requests) = server.requests();
    assert_eq!(device_requests, 1);
    assert!(token_requests >= 1);

    // The access token expired: the next run renews it with the refresh
    // token, without a new device code.
    expire_cached_token(ews.setup.dir.path());
    ews.ews_photo(&format!(
        "get alice@contoso.com -o again.jpg {} --device-code",
        oidc_words(&server, PUBLIC_CLIENT)
    ))
    .assert()
    .success()
    .stderr(contains("enter the code").not());
    assert_eq!(server.requests(), (token_requests + 1, 1));
    assert!(ews.path("again.jpg").is_file());
}

#[test]
fn device_code_declined_ends_with_exit_4() {
    let server = server_or_skip!();
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    let run = device_run(&server, &ews, "", Some("deny"));
    let text = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{text}");
    assert!(text.contains("declined"), "{text}");
    assert_eq!(ews.photo_requests(), 0);
    assert!(
        files_in(ews.setup.dir.path())
            .iter()
            .all(|f| f != "alice.jpg")
    );
}

#[test]
fn device_code_that_expires_ends_with_exit_4() {
    let server = server_or_skip!(("DEVICE_CODE_TTL", "1"));
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    // Nobody signs in; the code lives one second, the first poll is 5 s later.
    let run = device_run(&server, &ews, "", None);
    let text = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{text}");
    assert!(text.contains("expired"), "{text}");
    assert_eq!(ews.photo_requests(), 0);
}

/// 8 quick photos, then one `slow-3500` per worker, then 8 more: the
/// four-second token is due for renewal after three seconds, so the last
/// photos need the next token (and only it, unless the eight quick photos
/// before or after the pause take three seconds themselves).
fn long_list(dir: &Path) {
    let mut list = String::new();
    for i in 0..8 {
        list.push_str(&format!("early{i}@contoso.com\n"));
    }
    for i in 0..4 {
        list.push_str(&format!("slow-3500-{i}@contoso.com\n"));
    }
    for i in 0..8 {
        list.push_str(&format!("late{i}@contoso.com\n"));
    }
    std::fs::write(dir.join("users.txt"), list).unwrap();
}

#[test]
fn an_export_whose_token_expires_midway_finishes_with_one_renewal() {
    let server = server_or_skip!(("ACCESS_TOKEN_TTL", "4"));
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    std::fs::write(ews.path("secret.txt"), CLIENT_SECRET).unwrap();
    long_list(ews.setup.dir.path());
    ews.ews_photo(&format!(
        "export users.txt --dir photos --jobs 4 --report run.csv {} --client-secret-file secret.txt --impersonate {SERVICE_MAILBOX}",
        oidc_words(&server, SECRET_CLIENT)
    ))
    .assert()
    .success();
    assert_eq!(
        files_in(&ews.path("photos"))
            .iter()
            .filter(|f| f.ends_with(".jpg"))
            .count(),
        20
    );
    assert_eq!(
        server.requests(),
        (2, 0),
        "one sign-in, one renewal, for four workers"
    );
}

#[test]
fn a_token_refused_midway_is_renewed_once_for_all_workers() {
    let server = server_or_skip!();
    // Each token is refused (401 invalid_token) after five photos.
    let ews = Ews::new(
        server.token_check(LOOPBACK_RESOURCE).refuse_after(5),
        Some(&server.ca()),
    );
    std::fs::write(ews.path("secret.txt"), CLIENT_SECRET).unwrap();
    let list: String = (0..8).map(|i| format!("user{i}@contoso.com\n")).collect();
    std::fs::write(ews.path("users.txt"), list).unwrap();
    ews.ews_photo(&format!(
        "export users.txt --dir photos --jobs 3 {} --client-secret-file secret.txt --impersonate {SERVICE_MAILBOX}",
        oidc_words(&server, SECRET_CLIENT)
    ))
    .assert()
    .success();
    assert_eq!(
        files_in(&ews.path("photos"))
            .iter()
            .filter(|f| f.ends_with(".jpg"))
            .count(),
        8
    );
    assert_eq!(
        server.requests(),
        (2, 0),
        "one renewal, however many workers saw the 401"
    );
}

#[test]
fn a_token_refused_again_after_its_renewal_is_exit_4() {
    let server = server_or_skip!();
    let ews = Ews::new(
        server.token_check(LOOPBACK_RESOURCE).refuse_after(0),
        Some(&server.ca()),
    );
    std::fs::write(ews.path("secret.txt"), CLIENT_SECRET).unwrap();
    ews.ews_photo(&format!(
        "get alice@contoso.com {} --client-secret-file secret.txt --impersonate {SERVICE_MAILBOX}",
        oidc_words(&server, SECRET_CLIENT)
    ))
    .assert()
    .code(4)
    .stderr(contains("right after it was renewed"));
    assert_eq!(server.requests(), (2, 0), "one renewal and one retry");
    assert_eq!(ews.photo_requests(), 2);
}

// ---------------------------------------------------------------------------
// The protocol against oidc-provider, below the command line: what the tool
// sends is accepted, and what it must never send is refused.

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
        server
            .token(&form)
            .unwrap_or_else(|e| panic!("{alg:?}: {e}"));
    }
}

#[test]
fn assertions_the_server_must_refuse() {
    let server = server_or_skip!();
    let cert = certificate();
    let token_url = server.authority().token_url();
    let scope = scope::app_only(scope::EXCHANGE_ONLINE);
    let now = SystemTime::now();
    let refused = |client: &str, aud: &str, at: SystemTime, jti: &str| {
        let jwt = client_assertion(&cert, AssertionAlg::Ps256, client, aud, at, jti).unwrap();
        let form = form::client_credentials(CERT_CLIENT, ClientAuth::Assertion(&jwt), &scope);
        let error = endpoint_error(server.token(&form));
        assert!(!error.to_string().contains(jwt.expose()), "{error}");
        error
    };

    // The same assertion twice: the jti is single-use, so every request needs
    // a fresh one.
    let jti = fresh_jti();
    let jwt = client_assertion(
        &cert,
        AssertionAlg::Ps256,
        CERT_CLIENT,
        &token_url,
        now,
        &jti,
    )
    .unwrap();
    server
        .token(&form::client_credentials(
            CERT_CLIENT,
            ClientAuth::Assertion(&jwt),
            &scope,
        ))
        .unwrap();
    assert_eq!(
        refused(CERT_CLIENT, &token_url, now, &jti).error,
        "invalid_client"
    );
    // aud must be the exact token URL.
    let wrong_aud = format!("{token_url}x");
    assert_eq!(
        refused(CERT_CLIENT, &wrong_aud, now, &fresh_jti()).error,
        "invalid_client"
    );
    // Issued 11 minutes ago, so expired a minute ago.
    let old = now - Duration::from_secs(660);
    assert_eq!(
        refused(CERT_CLIENT, &token_url, old, &fresh_jti()).error,
        "invalid_client"
    );
    // Another client's id in iss/sub.
    let error = refused(SECRET_CLIENT, &token_url, now, &fresh_jti());
    assert!(
        matches!(error.error.as_str(), "invalid_request" | "invalid_client"),
        "{error}"
    );
}

#[test]
fn an_assertion_naming_another_certificate_is_refused() {
    // Signed correctly by the registered key, but its x5t#S256 header names
    // another certificate: Entra looks the key up by that thumbprint
    // (AADSTS700027), and the server's header hook does the same.
    use rustls_pki_types::PrivateKeyDer;
    use rustls_pki_types::pem::PemObject;
    let server = server_or_skip!();
    let pem = std::fs::read(fixture("client.pkcs8.pem")).unwrap();
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
    // The control: the right thumbprint, in MSAL Python's padded form, passes.
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

#[test]
fn wrong_secret_is_exit_4_with_advice_and_no_secret_shown() {
    let server = server_or_skip!();
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    let run = ews
        .ews_photo(&format!(
            "get alice@contoso.com -vv {} --impersonate {SERVICE_MAILBOX}",
            oidc_words(&server, SECRET_CLIENT)
        ))
        .env("EWS_CLIENT_SECRET", "not-the-secret-4711")
        .assert()
        .code(4)
        .stderr(contains("invalid_client").and(contains("Certificates & secrets")));
    assert!(
        !stderr(&run).contains("not-the-secret-4711"),
        "{}",
        stderr(&run)
    );
    assert_eq!(ews.photo_requests(), 0);
}

// ---------------------------------------------------------------------------
// Entra's own answers, from the Entra stand-in (plain http on loopback, so
// --allow-insecure-auth).

struct EntraRun {
    entra: Entra,
    setup: Setup,
}

impl EntraRun {
    fn new() -> EntraRun {
        EntraRun::with(EntraOptions::default(), None)
    }

    /// The Entra stand-in and the EWS stand-in checking its tokens for
    /// `audience` (default: the loopback EWS URL's resource).
    fn with(options: EntraOptions, refuse_after: Option<u64>) -> EntraRun {
        let entra = Entra::start(options).unwrap();
        let mut check = entra.token_check(LOOPBACK_RESOURCE);
        if let Some(uses) = refuse_after {
            check = check.refuse_after(uses);
        }
        let setup = Setup::with(Options {
            auth: Auth::Token(Arc::new(check)),
            ..Default::default()
        });
        EntraRun { entra, setup }
    }

    /// `ews-photo` with these words, signing in at `authority` and `tenant`
    /// as `client`.
    fn at(
        &self,
        authority: &str,
        tenant: &str,
        client: &str,
        line: &str,
    ) -> crate::common::Command {
        let mut cmd = self.setup.ews_photo(line);
        cmd.args([
            "--auth",
            "oauth",
            "--allow-insecure-auth",
            "--authority",
            authority,
        ])
        .args(["--tenant", tenant, "--client-id", client]);
        cmd
    }

    /// `ews-photo` with these words, signing in at the stand-in as `client`.
    fn ews_photo(&self, client: &str, line: &str) -> crate::common::Command {
        self.at(&self.entra.authority(), TENANT, client, line)
    }

    /// The same, as an app with the secret, acting as the service mailbox.
    fn app(&self, client: &str, line: &str) -> crate::common::Command {
        let mut cmd = self.ews_photo(client, line);
        cmd.env("EWS_CLIENT_SECRET", EntraOptions::default().secret)
            .args(["--impersonate", SERVICE_MAILBOX]);
        cmd
    }

    fn photo_requests(&self) -> usize {
        self.setup
            .server
            .requests()
            .iter()
            .filter(|r| r.email.is_some())
            .count()
    }
}

#[test]
fn entra_refusals_are_explained_by_their_code() {
    let run = EntraRun::new();
    for (client, tenant, says) in [
        ("wrong-secret-1", TENANT, "AADSTS7000215"),
        ("expired-secret-1", TENANT, "AADSTS7000222"),
        ("unknown-app-1", TENANT, "AADSTS700016"),
        ("app-1", "nope.onmicrosoft.com", "AADSTS90002"),
    ] {
        let advice = match says {
            "AADSTS7000215" => "not its Secret ID",
            "AADSTS7000222" => "expired",
            "AADSTS700016" => "--client-id",
            _ => "--tenant",
        };
        run.at(
            &run.entra.authority(),
            tenant,
            client,
            "get alice@contoso.com --no-token-cache",
        )
        .env("EWS_CLIENT_SECRET", EntraOptions::default().secret)
        .args(["--impersonate", SERVICE_MAILBOX])
        .assert()
        .code(4)
        .stderr(
            contains(says)
                .and(contains(advice))
                .and(contains("correlation ID 0a1b2c3d")),
        );
    }
    // A certificate Entra does not know.
    run.ews_photo(
        "bad-certificate-1",
        "get alice@contoso.com --no-token-cache",
    )
    .arg("--certificate")
    .arg(fixture("client.pkcs8.pem"))
    .args(["--impersonate", SERVICE_MAILBOX])
    .assert()
    .code(4)
    .stderr(contains("AADSTS700027").and(contains("upload this certificate")));
    assert_eq!(run.photo_requests(), 0);
}

#[test]
fn entra_device_flow_ends_each_with_its_message() {
    let run = EntraRun::new();
    for (client, code, says) in [
        ("declined-1", 4, "declined"),
        ("expired-code-1", 4, "expired"),
        ("no-consent-1", 4, "Grant admin consent"),
        ("no-public-flows-1", 4, "Allow public client flows"),
    ] {
        run.ews_photo(
            client,
            "get alice@contoso.com --no-token-cache --device-code",
        )
        .assert()
        .code(code)
        .stderr(contains(says));
    }
    assert_eq!(run.photo_requests(), 0);
}

#[test]
fn entra_device_flow_shows_its_message_and_slows_down_when_told() {
    let run = EntraRun::new();
    run.ews_photo("slow-down-1", "get alice@contoso.com -o a.jpg --device-code")
        .assert()
        .success()
        .stderr(contains(
            "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code",
        ));
    assert!(run.setup.path("a.jpg").is_file());
    let polls: Vec<_> = run
        .entra
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/token"))
        .collect();
    assert_eq!(polls.len(), 2, "slow_down, then the token");
    // interval 1, plus 5 s after slow_down.
    assert!(
        polls[1].at - polls[0].at >= Duration::from_secs(6),
        "{:?}",
        polls[1].at - polls[0].at
    );
}

#[test]
fn a_throttling_sign_in_server_is_waited_for_as_it_asks() {
    let run = EntraRun::new();
    run.app("throttled-1-app", "get alice@contoso.com -o a.jpg")
        .assert()
        .success()
        .stderr(contains("waiting 1s as it asked"));
    let tokens: Vec<_> = run
        .entra
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/token"))
        .collect();
    assert_eq!(tokens.len(), 2);
    assert!(tokens[1].at - tokens[0].at >= Duration::from_secs(1));
}

#[test]
fn an_app_token_without_roles_gets_a_403_that_says_why() {
    let run = EntraRun::new();
    run.app("no-roles-app", "get alice@contoso.com")
        .assert()
        .code(4)
        .stderr(contains("no roles").and(contains("admin consent")));
}

#[test]
fn impersonation_is_checked_before_any_request_and_its_refusals_explained() {
    let run = EntraRun::new();
    let secret = EntraOptions::default().secret;
    // An app without --impersonate, or over REST: refused before any request.
    for extra in ["", "--protocol rest --impersonate svc@contoso.com"] {
        run.ews_photo("app-1", &format!("get alice@contoso.com {extra}"))
            .env("EWS_CLIENT_SECRET", &secret)
            .assert()
            .code(2)
            .stderr(contains("--impersonate").or(contains("--protocol soap")));
    }
    assert_eq!((run.entra.token_requests(), run.photo_requests()), (0, 0));

    // An app's token handed over as is, without impersonation: the server's
    // "must be present" becomes what to add.
    let form = format!(
        "client_id=app-2&grant_type=client_credentials&client_secret={}&scope=https%3A%2F%2F127.0.0.1%2F.default",
        secret.replace('~', "%7E")
    );
    let (status, body) = request(
        &format!("{}/{TENANT}/oauth2/v2.0/token", run.entra.authority()),
        None,
        Some(&form),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let token: serde_json::Value = serde_json::from_slice(&body).unwrap();
    run.setup
        .ews_photo("get alice@contoso.com --auth bearer --allow-insecure-auth")
        .env("EWS_TOKEN", token["access_token"].as_str().unwrap())
        .assert()
        .code(4)
        .stderr(
            contains("ErrorInvalidExchangeImpersonationHeaderData")
                .and(contains("add --impersonate")),
        );

    // A user's token with --impersonate: "must not exist" becomes what to leave out.
    run.ews_photo("user-1", "get alice@contoso.com --device-code")
        .args(["--impersonate", SERVICE_MAILBOX])
        .assert()
        .code(4)
        .stderr(contains("leave out --impersonate"));

    // A mailbox the app may not act as.
    run.ews_photo("app-3", "get alice@contoso.com")
        .env("EWS_CLIENT_SECRET", &secret)
        .args(["--impersonate", "denied-svc@contoso.com"])
        .assert()
        .code(4)
        .stderr(
            contains("ErrorImpersonateUserDenied")
                .and(contains("may not act as denied-svc@contoso.com")),
        );
}

#[test]
fn the_sign_in_server_must_be_https_and_reachable() {
    let run = EntraRun::new();
    // Plain http without --allow-insecure-auth: refused before any request.
    let mut cmd = run.setup.ews_photo("get alice@contoso.com --auth oauth");
    cmd.args(["--authority", &run.entra.authority(), "--tenant", TENANT])
        .args(["--client-id", "app-1", "--impersonate", SERVICE_MAILBOX])
        .env("EWS_CLIENT_SECRET", EntraOptions::default().secret)
        .assert()
        .code(2)
        .stderr(contains("plain http://"));
    assert_eq!(run.entra.token_requests(), 0);
    // Nothing listening: exit 6.
    let closed = crate::common::closed_port_url();
    let closed = closed.trim_end_matches("/EWS/Exchange.asmx");
    run.at(closed, TENANT, "app-1", "get alice@contoso.com")
        .env("EWS_CLIENT_SECRET", EntraOptions::default().secret)
        .args(["--impersonate", SERVICE_MAILBOX])
        .assert()
        .code(6)
        .stderr(contains("--authority"));
}

#[test]
fn a_damaged_or_foreign_cache_file_is_not_used() {
    let run = EntraRun::new();
    run.app("app-1", "get alice@contoso.com -o a.jpg")
        .assert()
        .success();
    assert_eq!(run.entra.token_requests(), 1);
    let file = cache_file(run.setup.dir.path());
    std::fs::write(&file, b"{\"version\":1,").unwrap();
    run.app("app-1", "get alice@contoso.com -o b.jpg")
        .assert()
        .success()
        .stderr(contains("ignoring the token cache file"));
    assert_eq!(
        run.entra.token_requests(),
        2,
        "the damaged file was not trusted"
    );
    // Rewritten whole: the next run uses it.
    run.app("app-1", "get alice@contoso.com -o c.jpg")
        .assert()
        .success();
    assert_eq!(run.entra.token_requests(), 2);

    #[cfg(unix)]
    if rustix::process::geteuid().is_root() {
        std::os::unix::fs::chown(&file, Some(4242), None).unwrap();
        run.app("app-1", "get alice@contoso.com -o d.jpg")
            .assert()
            .success()
            .stderr(contains("belongs to another user"));
        assert_eq!(
            run.entra.token_requests(),
            3,
            "another user's file was not trusted"
        );
    } else {
        eprintln!(
            "note: not root, so no file can be given to another user here; the foreign-owner check is covered by the cache's unit test (CI runs this part as root)"
        );
    }
}

/// Every byte the tool wrote: stdout, stderr, and the files in `dir` but
/// the token cache (whose job is to hold tokens) and the test's own inputs.
fn everything(runs: &[std::process::Output], dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for run in runs {
        all.extend_from_slice(&run.stdout);
        all.extend_from_slice(&run.stderr);
    }
    fn walk(dir: &Path, all: &mut Vec<u8>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path
                .file_name()
                .is_some_and(|n| n == ".cache" || n == "secret.txt" || n == "users.txt")
            {
                continue;
            }
            if path.is_dir() {
                walk(&path, all);
            } else {
                all.extend_from_slice(&std::fs::read(&path).unwrap());
            }
        }
    }
    walk(dir, &mut all);
    all
}

/// The parts of a secret to look for: the whole, and for a JWT its claims
/// and its signature (the header is not secret).
fn needles(secret: &str) -> Vec<String> {
    let parts: Vec<&str> = secret.split('.').collect();
    let mut needles = vec![secret.to_string()];
    if parts.len() == 3 {
        needles.extend(
            parts[1..]
                .iter()
                .filter(|p| p.len() >= 16)
                .map(|p| p.to_string()),
        );
    }
    needles
}

#[test]
fn no_secret_in_any_output_at_vv() {
    let run = EntraRun::new();
    let secret = EntraOptions::default().secret;
    std::fs::write(run.setup.path("secret.txt"), &secret).unwrap();
    std::fs::write(
        run.setup.path("users.txt"),
        "bob@contoso.com\ncarol@contoso.com\n",
    )
    .unwrap();
    let output = |cmd: &mut crate::common::Command| cmd.output().unwrap();
    let mut runs = Vec::new();
    // Secret: get, then an export with a report and --json-free output.
    runs.push(output(
        run.ews_photo(
            "app-1",
            "get alice@contoso.com -vv --json -o a.jpg --client-secret-file secret.txt",
        )
        .args(["--impersonate", SERVICE_MAILBOX]),
    ));
    runs.push(output(
        run.ews_photo(
            "app-1",
            "export users.txt --dir photos --report run.csv -vv --client-secret-file secret.txt",
        )
        .args(["--impersonate", SERVICE_MAILBOX]),
    ));
    // Certificates: PEM and .pfx.
    for (client, certificate) in [("cert-1", "client.pkcs8.pem"), ("cert-2", "client-aes.pfx")] {
        runs.push(output(
            run.ews_photo(client, "get alice@contoso.com -vv -o c.jpg")
                .arg("--certificate")
                .arg(fixture(certificate))
                .env("EWS_CERTIFICATE_PASSWORD", PFX_PASSWORD)
                .args(["--impersonate", SERVICE_MAILBOX]),
        ));
    }
    // Device code, then a renewal with the refresh token.
    runs.push(output(&mut run.ews_photo(
        "user-1",
        "get alice@contoso.com -vv -o d.jpg --device-code",
    )));
    expire_cached_token_of(run.setup.dir.path(), "user-1");
    runs.push(output(&mut run.ews_photo(
        "user-1",
        "get alice@contoso.com -vv -o e.jpg --device-code",
    )));
    // A refusal, with the server's description.
    runs.push(output(
        run.ews_photo(
            "wrong-secret-1",
            "get alice@contoso.com -vv --json --client-secret-file secret.txt",
        )
        .args(["--impersonate", SERVICE_MAILBOX]),
    ));
    for (i, out) in runs.iter().enumerate() {
        let expected = if i == runs.len() - 1 { 4 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "run {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let all = everything(&runs, run.setup.dir.path());
    let text = String::from_utf8_lossy(&all);
    // The logs are there, redacted: the test looks where the secrets would be.
    for shown in [
        "client_secret=<redacted>",
        "client_assertion=<redacted>",
        "device_code=<redacted>",
        "refresh_token=<redacted>",
        "\"access_token\":\"<redacted>\"",
        "Authorization: Bearer <redacted>",
    ] {
        assert!(text.contains(shown), "the -vv logs show {shown}");
    }
    let mut secrets = vec![secret.clone(), PFX_PASSWORD.to_string()];
    // The certificate's private key, line by line.
    let pem = std::fs::read_to_string(fixture("client.pkcs8.pem")).unwrap();
    let key = pem.split("-----BEGIN PRIVATE KEY-----").nth(1).unwrap();
    secrets.extend(
        key.lines()
            .filter(|l| l.len() >= 40 && !l.starts_with("-----"))
            .map(str::to_string),
    );
    // Every assertion the tool sent, and everything Entra handed out.
    for request in run.entra.requests() {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        for field in body.split('&') {
            if let Some(value) = field.strip_prefix("client_assertion=") {
                secrets.push(value.to_string());
            }
        }
    }
    secrets.extend(run.entra.issued());
    assert!(
        secrets.len() > 15,
        "the secrets were collected: {}",
        secrets.len()
    );
    for secret in &secrets {
        for needle in needles(secret) {
            assert!(
                !all.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret ({}…) appears in the output",
                &needle[..8.min(needle.len())]
            );
        }
    }
}

/// [`expire_cached_token`] for the entry of one client among several.
fn expire_cached_token_of(dir: &Path, client: &str) {
    let folder = dir.join(".cache/ews-photo");
    for name in files_in(&folder) {
        let path = folder.join(name);
        let mut entry: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if entry["client_id"] == client {
            let past = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_secs()
                - 3600;
            entry["expires_on"] = past.into();
            std::fs::write(&path, entry.to_string()).unwrap();
            return;
        }
    }
    panic!("no cache entry for {client}");
}

#[test]
fn no_secret_in_any_output_at_vv_against_oidc_provider() {
    let server = server_or_skip!();
    let ews = Ews::new(server.token_check(LOOPBACK_RESOURCE), Some(&server.ca()));
    std::fs::write(ews.path("secret.txt"), CLIENT_SECRET).unwrap();
    let app = |client: &str, extra: &str| {
        let mut cmd = ews.ews_photo(&format!(
            "get alice@contoso.com -vv --json -o {client}.jpg {} --impersonate {SERVICE_MAILBOX} {extra}",
            oidc_words(&server, client)
        ));
        cmd.env("EWS_CERTIFICATE_PASSWORD", PFX_PASSWORD);
        cmd.output().unwrap()
    };
    let mut runs = vec![
        app(SECRET_CLIENT, "--client-secret-file secret.txt"),
        app(
            CERT_CLIENT,
            &format!("--certificate {}", fixture("client.pkcs1.pem").display()),
        ),
        app(
            CERT_CLIENT,
            &format!(
                "--no-token-cache --certificate {}",
                fixture("client-3des.pfx").display()
            ),
        ),
        device_run(&server, &ews, "-vv", Some("approve")),
    ];
    // The refresh token renews the expired token: no new code.
    expire_cached_token_of(ews.setup.dir.path(), PUBLIC_CLIENT);
    runs.push(
        ews.ews_photo(&format!(
            "get alice@contoso.com -vv --json -o again.jpg {} --device-code",
            oidc_words(&server, PUBLIC_CLIENT)
        ))
        .output()
        .unwrap(),
    );
    for (i, run) in runs.iter().enumerate() {
        assert!(
            run.status.success(),
            "run {i}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let all = everything(&runs, ews.setup.dir.path());
    assert!(
        String::from_utf8_lossy(&all).contains("client_assertion=<redacted>"),
        "the -vv logs are there"
    );
    let mut secrets = vec![CLIENT_SECRET.to_string(), PFX_PASSWORD.to_string()];
    let pem = std::fs::read_to_string(fixture("client.pkcs1.pem")).unwrap();
    let key = pem.split("-----BEGIN RSA PRIVATE KEY-----").nth(1).unwrap();
    secrets.extend(key.lines().filter(|l| l.len() >= 40).map(str::to_string));
    // The access tokens the EWS stand-in received, and what the cache holds.
    for request in ews.setup.server.requests() {
        if let Some(token) = request
            .header("authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
        {
            secrets.push(token.to_string());
        }
    }
    let folder = ews.path(".cache/ews-photo");
    for name in files_in(&folder) {
        let entry: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join(name)).unwrap()).unwrap();
        for field in ["access_token", "refresh_token"] {
            if let Some(value) = entry[field].as_str() {
                secrets.push(value.to_string());
            }
        }
    }
    assert!(
        secrets.len() > 25,
        "the secrets were collected: {}",
        secrets.len()
    );
    for secret in &secrets {
        for needle in needles(secret) {
            assert!(
                !all.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "a secret ({}…) appears in the output",
                &needle[..8.min(needle.len())]
            );
        }
    }
}
