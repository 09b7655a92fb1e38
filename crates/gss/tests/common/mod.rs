//! A real MIT Kerberos realm on loopback (tests/kerberos/realm.py), the
//! python-gssapi acceptor behind an EWS stand-in (tests/kerberos/
//! negotiate_server.py), and a small keep-alive HTTP/1.1 client, plain or TLS.
//!
//! The GSS-API library reads KRB5_CONFIG, KRB5CCNAME and KRB5_CLIENT_KTNAME
//! from the environment of the process, so each test binary is one scenario
//! of credentials (ticket cache, client keytab, none, expired, skewed clock):
//! [`realm`] starts its realm once and sets those variables before any test
//! touches the library.
//!
//! Without the Debian packages (krb5-kdc, krb5-admin-server, krb5-user,
//! python3-gssapi) the tests print why and pass; with EWS_REQUIRE_KDC=1 (set
//! by .ci/run) they fail instead.

#![allow(dead_code)] // each test binary uses a part

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use sha2::{Digest, Sha256};

#[path = "../../../../tests/kerberos/harness.rs"]
mod harness;
use harness::{gssapi_python as python, missing};

/// The folder with realm.py and negotiate_server.py.
pub fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/kerberos")
}

/// Which credentials the process gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// A TGT from `kinit` (password on stdin) in KRB5CCNAME; no client keytab.
    TicketCache,
    /// An empty KRB5CCNAME and KRB5_CLIENT_KTNAME with jdoe's keys.
    ClientKeytab,
    /// An empty KRB5CCNAME and a KRB5_CLIENT_KTNAME that does not exist.
    Nothing,
    /// A TGT in KRB5CCNAME that has already expired; no client keytab.
    ExpiredTicket,
    /// A good TGT, then the KDC restarted with its clock an hour ahead.
    SkewedKdc,
}

/// The running realm of this test binary. It lives in a static, so it is
/// never dropped: when the test process ends, realm.py sees its stdin close
/// and stops the KDC.
pub struct Realm {
    _child: Child,
    commands: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    /// What realm.py printed: KRB5_CONFIG, KRB5_KTNAME, EWS_KRB_DIR, …
    pub env: BTreeMap<String, String>,
    pub python: String,
    pub credentials: Credentials,
}

impl Realm {
    pub fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn dir(&self) -> PathBuf {
        PathBuf::from(self.var("EWS_KRB_DIR"))
    }

    /// The ticket cache this process uses (KRB5CCNAME).
    pub fn ccache(&self) -> String {
        std::env::var("KRB5CCNAME").unwrap_or_default()
    }

    /// Sends a command to realm.py (see its docstring) and waits for OK.
    pub fn command(&self, command: &str) {
        let mut guard = self.commands.lock().unwrap();
        let (stdin, stdout) = &mut *guard;
        writeln!(stdin, "{command}").expect("write to realm.py");
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).expect("read from realm.py");
        assert_eq!(answer.trim(), "OK", "realm.py {command}: {answer}");
    }
}

static REALM: OnceLock<Option<Realm>> = OnceLock::new();

/// The realm for this test binary, started on first use with `credentials`
/// (every test of a binary must ask for the same), or `None` with a loud
/// message when the KDC or python-gssapi is not installed.
pub fn realm(credentials: Credentials) -> Option<&'static Realm> {
    let realm = REALM.get_or_init(|| {
        if let Some(why) = missing() {
            if std::env::var_os("EWS_REQUIRE_KDC").is_some_and(|v| v == "1") {
                panic!("EWS_REQUIRE_KDC=1 but {why}");
            }
            eprintln!(
                "\n\n************************************************************************\n\
                 SKIPPED: Kerberos tests against a real KDC: {why}.\n\
                 ************************************************************************\n"
            );
            return None;
        }
        Some(start(credentials))
    });
    let realm = realm.as_ref()?;
    assert_eq!(
        realm.credentials, credentials,
        "one credentials scenario per test binary"
    );
    Some(realm)
}

fn start(credentials: Credentials) -> Realm {
    let python = python().expect("checked");
    let kinit = credentials != Credentials::Nothing && credentials != Credentials::ClientKeytab;
    let harness::Started {
        child,
        stdin,
        stdout,
        env,
    } = harness::start_realm(&python, &scripts().join("realm.py"), kinit);
    let realm = Realm {
        _child: child,
        commands: Mutex::new((stdin, stdout)),
        env,
        python,
        credentials,
    };
    let dir = realm.dir();
    let (ccache, client_keytab) = match credentials {
        Credentials::TicketCache | Credentials::ExpiredTicket | Credentials::SkewedKdc => (
            realm.var("KRB5CCNAME").to_string(),
            dir.join("no-such.keytab"),
        ),
        Credentials::ClientKeytab => (
            format!("FILE:{}", dir.join("keytab-ccache").display()),
            PathBuf::from(realm.var("KRB5_CLIENT_KTNAME")),
        ),
        Credentials::Nothing => (
            format!("FILE:{}", dir.join("empty-ccache").display()),
            dir.join("no-such.keytab"),
        ),
    };
    match credentials {
        Credentials::ExpiredTicket => realm.command("expire-tgt"),
        Credentials::SkewedKdc => realm.command("kdc-offset 3600"),
        _ => {}
    }
    // SAFETY (of set_var): every test of this binary reaches the GSS library
    // only after `realm()` returned, and `REALM.get_or_init` makes the other
    // test threads wait here, so no thread reads the environment meanwhile.
    unsafe {
        std::env::set_var("KRB5_CONFIG", realm.var("KRB5_CONFIG"));
        std::env::set_var("KRB5CCNAME", &ccache);
        std::env::set_var("KRB5_CLIENT_KTNAME", &client_keytab);
        std::env::remove_var("KRB5_KTNAME");
        std::env::remove_var("KRB5_TRACE");
    }
    realm
}

/// Skips the test (returns) when the realm cannot run here.
#[macro_export]
macro_rules! realm_or_skip {
    ($credentials:expr) => {
        match common::realm($credentials) {
            Some(realm) => realm,
            None => return,
        }
    };
}

/// How the acceptor behaves (negotiate_server.py's switches).
#[derive(Clone, Debug, Default)]
pub struct AcceptorOptions {
    pub tls: bool,
    /// Compute the expected bindings from another certificate.
    pub wrong_binding: bool,
    /// `require` (default over TLS), `allow` or `none`.
    pub extended_protection: Option<&'static str>,
    /// `send` (default), `omit` or `corrupt`.
    pub final_token: Option<&'static str>,
}

/// A running negotiate_server.py.
pub struct Acceptor {
    child: Child,
    pub port: u16,
    pub tls: bool,
    /// The test CA: the server's self-signed certificate (DER).
    certificate: Option<Vec<u8>>,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<u8>) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key, ck.cert.der().to_vec())
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Acceptor {
    pub fn start(realm: &Realm, options: AcceptorOptions) -> Acceptor {
        let mut command = Command::new(&realm.python);
        command
            .arg(scripts().join("negotiate_server.py"))
            .env("KRB5_CONFIG", realm.var("KRB5_CONFIG"))
            .env("KRB5_KTNAME", realm.var("KRB5_KTNAME"))
            .env_remove("KRB5CCNAME")
            .env_remove("KRB5_CLIENT_KTNAME");
        let mut certificate = None;
        if options.tls {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let (cert, key, der) = self_signed(&realm.dir(), &format!("server-{n}"));
            command.arg("--cert").arg(cert).arg("--key").arg(key);
            certificate = Some(der);
            if options.wrong_binding {
                let (other, _, _) = self_signed(&realm.dir(), &format!("other-{n}"));
                command.arg("--binding-cert").arg(other);
            }
        }
        if let Some(mode) = options.extended_protection {
            command.args(["--extended-protection", mode]);
        }
        if let Some(mode) = options.final_token {
            command.args(["--final-token", mode]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/kerberos/negotiate_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read PORT");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("negotiate_server.py printed {line:?}, not PORT n"));
        Acceptor {
            child,
            port,
            tls: options.tls,
            certificate,
        }
    }

    /// A new keep-alive connection to `localhost:PORT`, over TLS if the
    /// acceptor uses it.
    pub fn connect(&self) -> Connection {
        let tcp = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        let Some(der) = &self.certificate else {
            return Connection {
                stream: BufReader::new(Box::new(tcp)),
                peer_certificate: None,
            };
        };
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let client = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut tls = rustls::StreamOwned::new(client, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
        }
        let peer = tls.conn.peer_certificates().expect("server certificate")[0].to_vec();
        Connection {
            stream: BufReader::new(Box::new(tls)),
            peer_certificate: Some(peer),
        }
    }

    /// GET /stats on a fresh connection.
    pub fn stats(&self) -> serde_json::Value {
        let response = self.connect().request("GET", "/stats", None);
        assert_eq!(response.status, 200);
        serde_json::from_slice(&response.body).expect("stats JSON")
    }
}

pub trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// One keep-alive HTTP/1.1 connection.
pub struct Connection {
    stream: BufReader<Box<dyn Stream>>,
    /// The server's leaf certificate (DER) over TLS.
    pub peer_certificate: Option<Vec<u8>>,
}

/// A response: status, headers, body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The token of `WWW-Authenticate: Negotiate <token>`, if there is one.
    pub fn negotiate_token(&self) -> Option<Vec<u8>> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("www-authenticate"))
            .find_map(|(_, value)| {
                let (scheme, token) = value.split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("negotiate")
                    .then(|| BASE64_STANDARD.decode(token.trim()).expect("base64 token"))
            })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A SOAP GetUserPhoto request body (the server does not look at it).
pub const GET_USER_PHOTO: &str = concat!(
    r#"<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" "#,
    r#"xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages"><soap:Body><m:GetUserPhoto>"#,
    r#"<m:Email>alice@contoso.com</m:Email><m:SizeRequested>HR48x48</m:SizeRequested></m:GetUserPhoto></soap:Body></soap:Envelope>"#
);

impl Connection {
    /// Sends a request and reads the whole response.
    pub fn request(&mut self, method: &str, path: &str, authorization: Option<&str>) -> Response {
        let body = if method == "POST" { GET_USER_PHOTO } else { "" };
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {}\r\n",
            body.len()
        );
        if method == "POST" {
            head.push_str("Content-Type: text/xml; charset=utf-8\r\n");
        }
        if let Some(value) = authorization {
            head.push_str(&format!("Authorization: {value}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.stream.get_mut();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(body.as_bytes()).unwrap();
        stream.flush().unwrap();

        let mut status_line = String::new();
        self.stream
            .read_line(&mut status_line)
            .expect("status line");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').expect("header");
            headers.push((name.trim().to_string(), value.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse().unwrap())
            .unwrap_or(0);
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).expect("body");
        Response {
            status,
            headers,
            body,
        }
    }

    /// `tls-server-end-point` bindings for this connection's certificate
    /// (SHA-256: the test certificates are signed with ECDSA-SHA256).
    pub fn bindings(&self) -> ews_gss::ChannelBindings {
        let der = self.peer_certificate.as_ref().expect("a TLS connection");
        ews_gss::ChannelBindings::tls_server_end_point(&Sha256::digest(der))
    }
}

/// `Negotiate <base64>`.
pub fn negotiate(token: &[u8]) -> String {
    format!("Negotiate {}", BASE64_STANDARD.encode(token))
}

/// The photo the acceptor serves, base64 as in the SOAP answer.
pub fn photo_base64() -> String {
    BASE64_STANDARD.encode(std::fs::read(scripts().join("photo.jpg")).unwrap())
}

/// Runs the Negotiate legs on `connection` from the first token of
/// `context` until the server answers with something other than a 401 that
/// carries a token: returns that answer (a 200 with the final token, or the
/// 401 of a rejection).
pub fn negotiate_on(connection: &mut Connection, context: &mut ews_gss::Initiator) -> Response {
    let mut step = context.step(None).expect("first step");
    loop {
        let response =
            connection.request("POST", "/EWS/Exchange.asmx", Some(&negotiate(&step.token)));
        match (response.status, response.negotiate_token()) {
            (401, Some(token)) => step = context.step(Some(&token)).expect("next step"),
            _ => return response,
        }
    }
}

/// The GSS-API library under test: the default search, or the one named by
/// EWS_GSS_LIBRARY (e.g. Heimdal's libgssapi.so.3, to try the fallback).
pub fn gss() -> ews_gss::Gss {
    match std::env::var("EWS_GSS_LIBRARY") {
        Ok(library) if !library.is_empty() => ews_gss::Gss::load_from(&[library]),
        _ => ews_gss::Gss::load(),
    }
    .expect("the realm runs, so a GSS-API library is installed")
}
