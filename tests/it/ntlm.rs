//! NTLM end to end against an acceptor nobody here wrote: pyspnego's server
//! side, behind a small keep-alive HTTP server (tests/it/ntlm_server.py) that acts
//! like IIS with Windows authentication and, over TLS, Extended Protection.
//!
//! Python with pyspnego comes from EWS_PHOTO_PYTHON (set by .ci/run), else from
//! `python3` if it can `import spnego`; otherwise these tests are skipped with
//! a loud message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use crate::common::{Auth, Options, PredicateBooleanExt, Setup, contains, stderr, tool};
use crate::library::{self, AuthMethod, Client, fetch};

pub(crate) const PASSWORD: &str = "S3cr3t-pw-xyz";

pub(crate) fn python() -> Option<String> {
    if let Some(python) = std::env::var_os("EWS_PHOTO_PYTHON").filter(|p| !p.is_empty()) {
        return Some(python.to_string_lossy().into_owned());
    }
    let has_spnego = Command::new("python3")
        .args(["-c", "import spnego"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if has_spnego {
        return Some("python3".into());
    }
    eprintln!(
        "\n\n************************************************************************\n\
         SKIPPED: NTLM end-to-end test: EWS_PHOTO_PYTHON is unset and python3 cannot\n\
         `import spnego`. Run: python3 -m venv /tmp/ntlm-venv &&\n\
         /tmp/ntlm-venv/bin/pip install pyspnego && export EWS_PHOTO_PYTHON=/tmp/ntlm-venv/bin/python\n\
         ************************************************************************\n"
    );
    None
}

macro_rules! python_or_skip {
    () => {
        match python() {
            Some(p) => p,
            None => return,
        }
    };
}

#[derive(Default)]
pub(crate) struct Opts {
    tls: bool,
    v1: bool,
    /// Make the acceptor expect the binding of another certificate.
    wrong_binding: bool,
    /// The schemes a 401 offers (default `Negotiate,NTLM`).
    schemes: Option<&'static str>,
    /// Close each connection after this many photos.
    close_after: u32,
    /// Answer POX Autodiscover with this EWS URL.
    pox: Option<&'static str>,
    /// More host names in the TLS certificate (besides localhost and 127.0.0.1).
    hosts: &'static [&'static str],
}

pub(crate) struct NtlmServer {
    child: Child,
    port: u16,
    tls: bool,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) photo: Vec<u8>,
}

impl Drop for NtlmServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real 96×96 JPEG.
fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(96, 96, |x, y| image::Rgb([x as u8 * 2, y as u8 * 2, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode JPEG");
    out.into_inner()
}

pub(crate) fn self_signed(dir: &Path, name: &str, hosts: &[&str]) -> (PathBuf, PathBuf) {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(hosts.iter().map(|h| h.to_string()));
    let ck = rcgen::generate_simple_self_signed(names).expect("certificate");
    let cert = dir.join(format!("{name}.pem"));
    let key = dir.join(format!("{name}.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

impl NtlmServer {
    pub(crate) fn start(python: &str, opts: Opts) -> NtlmServer {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(
            &users,
            format!("CONTOSO:jdoe:{PASSWORD}\n:jdoe@contoso.com:{PASSWORD}\n"),
        )
        .unwrap();
        let photo = jpeg();
        std::fs::write(dir.path().join("photo.jpg"), &photo).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ntlm_server.py");
        let mut cmd = Command::new(python);
        cmd.arg(script)
            .arg("--users")
            .arg(&users)
            .arg("--photo")
            .arg(dir.path().join("photo.jpg"));
        if opts.tls {
            let (cert, key) = self_signed(dir.path(), "server", opts.hosts);
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
            if opts.wrong_binding {
                let (other, _) = self_signed(dir.path(), "other", &[]);
                cmd.arg("--binding-cert").arg(other);
            }
        }
        if opts.v1 {
            cmd.arg("--v1");
        }
        if let Some(schemes) = opts.schemes {
            cmd.args(["--schemes", schemes]);
        }
        if opts.close_after > 0 {
            cmd.args(["--close-after", &opts.close_after.to_string()]);
        }
        if let Some(ews_url) = opts.pox {
            cmd.args(["--pox", ews_url]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/it/ntlm_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("ntlm_server.py did not start: {line:?}"));
        NtlmServer {
            child,
            port,
            tls: opts.tls,
            dir,
            photo,
        }
    }

    fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        // "localhost" so that MsvAvTargetName and SNI carry a host name.
        format!("{scheme}://localhost:{}/EWS/Exchange.asmx", self.port)
    }

    fn cert(&self) -> PathBuf {
        self.dir.path().join("server.pem")
    }

    pub(crate) fn stats(&self) -> serde_json::Value {
        // The tool's own transport, not verifying the test certificate.
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{}/stats", self.port);
        serde_json::from_slice(&library::insecure_get(&url)).unwrap()
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut cmd = tool();
        cmd.env("EWS_URL", self.url())
            .env("EWS_PASSWORD", PASSWORD)
            .current_dir(self.dir.path());
        if self.tls {
            cmd.arg("--ca-cert").arg(self.cert());
        } else {
            // NTLM over plain http needs the permission (the loopback is safe).
            cmd.arg("--allow-insecure-auth");
        }
        cmd
    }

    /// [`NtlmServer::cmd`] with the arguments of a command line, split at spaces.
    pub(crate) fn ews_photo(&self, line: &str) -> assert_cmd::Command {
        let mut cmd = self.cmd();
        cmd.args(line.split_whitespace());
        cmd
    }

    /// A library client as `CONTOSO\jdoe`, trusting the server's certificate.
    fn client(&self, auth: AuthMethod) -> Client {
        library::client(&self.url(), auth, PASSWORD, self.tls.then(|| self.cert()))
    }
}

pub(crate) fn n(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

#[test]
fn auto_picks_ntlm_and_writes_the_photo() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    s.ews_photo(r"get alice@contoso.com --user CONTOSO\jdoe -o alice.jpg")
        .assert()
        .success();
    assert_eq!(
        std::fs::read(s.dir.path().join("alice.jpg")).unwrap(),
        s.photo
    );
    let stats = s.stats();
    // One process, one connection: 401, type 1, type 3 on the same socket
    // (the second connection is the one asking for /stats).
    assert_eq!(n(&stats, "connections"), 2, "{stats}");
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(stats["per_connection"]["1"]["handshakes"], 1, "{stats}");
    assert_eq!(stats["per_connection"]["1"]["photos"], 1, "{stats}");
    // As Windows sends it: MIC, target name; over http the binding is zeros.
    assert_eq!(stats["mic"][0], true, "{stats}");
    assert_eq!(stats["target_names"][0], "HTTP/localhost", "{stats}");
    assert_eq!(stats["bindings"][0], "0".repeat(32), "{stats}");
}

#[test]
fn explicit_ntlm_with_upn_and_with_domain_option() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    s.ews_photo("get alice@contoso.com --user jdoe@contoso.com --auth ntlm -o a.jpg")
        .assert()
        .success();
    s.ews_photo("get alice@contoso.com --user jdoe --domain CONTOSO --auth ntlm -o b.jpg")
        .assert()
        .success();
    s.ews_photo("get alice@contoso.com -o c.jpg")
        .env("EWS_USER", "jdoe")
        .env("EWS_DOMAIN", "CONTOSO")
        .assert()
        .success();
    assert_eq!(n(&s.stats(), "handshakes"), 3);
}

#[test]
fn wrong_password_is_exit_4_and_tried_once() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    s.ews_photo(r"get alice@contoso.com --user CONTOSO\jdoe -o x.jpg")
        .env("EWS_PASSWORD", "wrong")
        .assert()
        .code(4)
        .stderr(contains("tried NTLM").and(contains("wrong password")))
        .stderr(contains("wrong\n").or(contains(PASSWORD)).not());
    let stats = s.stats();
    assert_eq!(n(&stats, "authenticates"), 1, "one type 3 only: {stats}");
    assert_eq!(n(&stats, "handshakes"), 0, "{stats}");
    assert!(!s.dir.path().join("x.jpg").exists());
}

#[test]
fn ntlmv1_challenge_is_refused_before_any_type_3() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            v1: true,
            ..Default::default()
        },
    );
    s.ews_photo(r"get alice@contoso.com --user CONTOSO\jdoe -o x.jpg")
        .assert()
        .code(4)
        .stderr(contains("NTLMv1").and(contains("EXTENDED_SESSIONSECURITY")));
    let stats = s.stats();
    assert_eq!(n(&stats, "negotiates"), 1, "{stats}");
    assert_eq!(
        n(&stats, "authenticates"),
        0,
        "no type 3 may be sent: {stats}"
    );
}

/// One Client, 20 photos: one handshake on one connection, the rest reuse it.
fn reuse(tls: bool) {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            tls,
            ..Default::default()
        },
    );
    let mut client = s.client(AuthMethod::Ntlm);
    for i in 0..20 {
        assert_eq!(fetch(&mut client, &format!("user{i}@contoso.com")), s.photo);
    }
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(n(&stats, "photos"), 20, "{stats}");
    // Connection 1 served everything ("connections" also counts the /stats one).
    assert_eq!(stats["per_connection"]["1"]["handshakes"], 1, "{stats}");
    assert_eq!(stats["per_connection"]["1"]["photos"], 20, "{stats}");
}

#[test]
fn one_client_reuses_its_authenticated_connection() {
    reuse(false);
}

#[test]
fn one_client_reuses_its_authenticated_tls_connection() {
    reuse(true);
}

/// What `export --jobs 8` does: 8 workers, each with its own Client.
#[test]
fn eight_workers_do_at_most_eight_handshakes_for_200_photos() {
    let py = python_or_skip!();
    let s = Arc::new(NtlmServer::start(&py, Opts::default()));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                let mut client = s.client(AuthMethod::Auto);
                for i in 0..25 {
                    assert_eq!(
                        fetch(&mut client, &format!("u{w}-{i}@contoso.com")),
                        s.photo
                    );
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let stats = s.stats();
    assert_eq!(n(&stats, "photos"), 200, "{stats}");
    assert!(n(&stats, "handshakes") <= 8, "{stats}");
    assert!(stats["failures"].as_array().unwrap().is_empty(), "{stats}");
}

#[test]
fn export_with_eight_jobs_does_at_most_eight_handshakes_for_200_photos() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    let list: String = (0..200).map(|i| format!("user{i}@contoso.com\n")).collect();
    std::fs::write(s.dir.path().join("list.txt"), list).unwrap();
    s.ews_photo(r"export list.txt --dir photos --jobs 8 -q --user CONTOSO\jdoe")
        .assert()
        .success();
    let stats = s.stats();
    assert_eq!(n(&stats, "photos"), 200, "{stats}");
    assert!(n(&stats, "handshakes") <= 8, "{stats}");
    let photos = std::fs::read_dir(s.dir.path().join("photos"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".jpg")
        })
        .count();
    assert_eq!(photos, 200);
}

#[test]
fn tls_channel_binding_is_accepted_by_extended_protection() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    s.ews_photo(r"get alice@contoso.com --user CONTOSO\jdoe -o a.jpg")
        .assert()
        .success();
    assert_eq!(std::fs::read(s.dir.path().join("a.jpg")).unwrap(), s.photo);
    // The tool without `--ca-cert`.
    let without_ca = |line: &str| {
        let mut cmd = tool();
        cmd.env("EWS_URL", s.url())
            .env("EWS_PASSWORD", PASSWORD)
            .current_dir(s.dir.path())
            .args(line.split_whitespace());
        cmd
    };
    // --insecure skips verification but still binds to the certificate used.
    without_ca(r"get alice@contoso.com --insecure -u CONTOSO\jdoe -o b.jpg")
        .assert()
        .success();
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 2, "{stats}");
    let expected = stats["expected_binding"].as_str().unwrap();
    assert_ne!(expected, "0".repeat(32));
    assert_eq!(stats["bindings"][0], expected, "{stats}");
    assert_eq!(stats["bindings"][1], expected, "{stats}");
    // Without --ca-cert the self-signed certificate is still refused.
    without_ca(r"get alice@contoso.com -u CONTOSO\jdoe -o c.jpg")
        .assert()
        .code(6)
        .stderr(contains("--ca-cert"));
}

/// The acceptor really checks the binding: when it expects another
/// certificate's binding (as behind a TLS-inspecting proxy), the same client
/// is refused with exit 4 and a message naming Extended Protection.
#[test]
fn tls_wrong_channel_binding_is_rejected() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            tls: true,
            wrong_binding: true,
            ..Default::default()
        },
    );
    s.ews_photo(r"get alice@contoso.com --user CONTOSO\jdoe -o a.jpg")
        .assert()
        .code(4)
        .stderr(contains("Extended Protection"));
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 0, "{stats}");
    let failures = stats["failures"].to_string();
    assert!(failures.contains("BadBindingsError"), "{failures}");
}

#[test]
fn negotiate_only_server_gets_ntlm_inside_negotiate() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            schemes: Some("Negotiate"),
            ..Default::default()
        },
    );
    for auth in ["auto", "ntlm"] {
        s.ews_photo(&format!(
            r"get alice@contoso.com -u CONTOSO\jdoe --auth {auth} -o {auth}.jpg"
        ))
        .assert()
        .success();
    }
    // The server takes tokens only in the Negotiate scheme.
    assert_eq!(n(&s.stats(), "handshakes"), 2);
}

/// When the authenticated connection ends, the next request meets a 401 and
/// the client authenticates once more on the new connection.
#[test]
fn lost_connection_is_authenticated_again() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            close_after: 5,
            ..Default::default()
        },
    );
    let mut client = s.client(AuthMethod::Auto);
    for i in 0..20 {
        assert_eq!(fetch(&mut client, &format!("user{i}@contoso.com")), s.photo);
    }
    let stats = s.stats();
    assert_eq!(n(&stats, "photos"), 20, "{stats}");
    assert_eq!(n(&stats, "handshakes"), 4, "{stats}");
    for c in 1..=4 {
        assert_eq!(
            stats["per_connection"][c.to_string()]["handshakes"],
            1,
            "{stats}"
        );
    }
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1; returns its URL and the
/// CONNECT targets it tunnelled to.
fn connect_proxy() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tunnels = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = Arc::clone(&tunnels);
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                        break;
                    }
                }
                let target = request
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string();
                seen.lock().unwrap().push(request.trim().to_string());
                let Ok(upstream) = TcpStream::connect(&target) else {
                    let _ = (&client).write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n");
                    return;
                };
                (&client)
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
                let mut down_write = client;
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut up_read, &mut down_write);
                });
                let mut buf = [0u8; 8192];
                loop {
                    // Bytes the BufReader already holds go first.
                    let n = match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if up_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = up_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (url, tunnels)
}

/// Through an http:// proxy (CONNECT tunnel), TLS and the channel binding are
/// end to end: Extended Protection still accepts it.
#[test]
fn tls_channel_binding_through_a_connect_proxy() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    let (proxy, tunnels) = connect_proxy();
    s.ews_photo(&format!(
        r"get alice@contoso.com -u CONTOSO\jdoe -o a.jpg --proxy {proxy}"
    ))
    .assert()
    .success();
    let tunnels = tunnels.lock().unwrap().clone();
    assert_eq!(
        tunnels,
        [format!("CONNECT localhost:{} HTTP/1.1", s.port)],
        "one tunnel for the whole handshake"
    );
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(stats["bindings"][0], stats["expected_binding"], "{stats}");
}

/// Through an https:// proxy the tool speaks TLS to the proxy, and inside the
/// CONNECT tunnel its own TLS to Exchange: the channel binding is computed
/// from Exchange's certificate, not the proxy's, and Extended Protection
/// accepts it.
#[test]
fn tls_channel_binding_through_an_https_proxy() {
    let py = python_or_skip!();
    let s = NtlmServer::start(
        &py,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    let (plain_proxy, tunnels) = connect_proxy();
    let plain_addr: std::net::SocketAddr =
        plain_proxy.trim_start_matches("http://").parse().unwrap();
    let front =
        ews_standin::tls::TlsFront::start(plain_addr, ews_standin::tls::CertKind::Valid).unwrap();
    let proxy = format!("https://{}", front.addr());
    // Trust both: the proxy's test CA and Exchange's self-signed certificate.
    let bundle = s.dir.path().join("trusted.pem");
    let server_pem = std::fs::read_to_string(s.cert()).unwrap();
    std::fs::write(&bundle, format!("{server_pem}\n{}", front.ca_pem())).unwrap();
    let mut cmd = tool();
    cmd.env("EWS_URL", s.url())
        .env("EWS_PASSWORD", PASSWORD)
        .current_dir(s.dir.path())
        .args([
            "get",
            "alice@contoso.com",
            "-u",
            r"CONTOSO\jdoe",
            "-o",
            "a.jpg",
        ])
        .arg("--ca-cert")
        .arg(&bundle)
        .args(["--proxy", &proxy])
        .assert()
        .success();
    assert_eq!(
        tunnels.lock().unwrap().clone(),
        [format!("CONNECT localhost:{} HTTP/1.1", s.port)],
        "one tunnel, through the https:// proxy"
    );
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(stats["bindings"][0], stats["expected_binding"], "{stats}");
}

#[test]
fn ntlm_asked_of_a_server_without_it_names_what_it_offers() {
    let s = Setup::basic();
    s.ews_photo(r"get alice@contoso.com --auth ntlm -u CONTOSO\jdoe --allow-insecure-auth")
        .env("EWS_PASSWORD", PASSWORD)
        .assert()
        .code(4)
        .stderr(contains("the server offers Basic").and(contains("neither NTLM nor Negotiate")));
    // Without a user, NTLM is not even tried and the message says what to give.
    let s = Setup::with(Options {
        auth: Auth::Challenge(vec!["Negotiate, NTLM".into()]),
        ..Default::default()
    });
    s.ews_photo("get alice@contoso.com")
        .assert()
        .code(4)
        .stderr(contains("for NTLM, give --user"));
}

#[test]
fn verbose_output_redacts_ntlm_tokens() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    let run = s
        .ews_photo(r"get alice@contoso.com -u CONTOSO\jdoe -v -o a.jpg")
        .assert()
        .success()
        .stderr(contains("TlRMTVNTUAAD").not());
    let err = stderr(&run);
    assert_eq!(
        err.matches("> Authorization: NTLM <redacted>").count(),
        2,
        "{err}"
    );
}

/// A client whose credentials were refused never sends them again (as in a
/// bulk run: each try would count towards the account lockout).
#[test]
fn rejected_credentials_are_not_tried_again() {
    let py = python_or_skip!();
    let s = NtlmServer::start(&py, Opts::default());
    let mut client = library::client(&s.url(), AuthMethod::Auto, "wrong", None);
    for _ in 0..3 {
        let (code, message) = library::fetch_error(&mut client, "alice@contoso.com");
        assert_eq!(code, 4, "{message}");
    }
    assert_eq!(n(&s.stats(), "authenticates"), 1);
}

#[test]
fn autodiscover_behind_ntlm_then_ews_each_with_its_own_handshake() {
    let py = python_or_skip!();
    let server = NtlmServer::start(
        &py,
        Opts {
            tls: true,
            pox: Some("https://contoso.com/EWS/Exchange.asmx"),
            hosts: &["contoso.com", "autodiscover.contoso.com"],
            ..Opts::default()
        },
    );
    // No --url and a user that is not an address: Autodiscover for the
    // photo's address; v2 and POX on the domain reach the NTLM server.
    let mut cmd = tool();
    cmd.current_dir(server.dir.path())
        .env("EWS_PASSWORD", PASSWORD)
        .env("XDG_CACHE_HOME", server.dir.path().join("cache"))
        .arg("--ca-cert")
        .arg(server.cert())
        .args([
            "get",
            "alice@contoso.com",
            "-o",
            "alice.jpg",
            "-u",
            "CONTOSO\\jdoe",
        ]);
    for host in ["contoso.com", "autodiscover.contoso.com"] {
        cmd.args([
            "--resolve",
            &format!("{host}:443:127.0.0.1:{}", server.port),
        ]);
    }
    let text = stderr(&cmd.assert().success());
    assert!(
        text.contains("Autodiscover for alice@contoso.com: https://contoso.com/EWS/Exchange.asmx (found by POX on the domain"),
        "{text}"
    );
    assert_eq!(
        std::fs::read(server.dir.path().join("alice.jpg")).unwrap(),
        server.photo
    );
    let stats = server.stats();
    assert_eq!(n(&stats, "pox"), 1, "{stats}");
    assert_eq!(n(&stats, "photos"), 1, "{stats}");
    // Two handshakes, each bound to the TLS channel: one for Autodiscover's
    // session, one for the EWS client; v2 got no credentials (no third
    // type 1), and nothing was refused.
    assert_eq!(n(&stats, "negotiates"), 2, "{stats}");
    assert_eq!(n(&stats, "handshakes"), 2, "{stats}");
    assert_eq!(stats["failures"], serde_json::json!([]));
    let expected = stats["expected_binding"].clone();
    assert!(
        stats["bindings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|b| *b == expected),
        "{stats}"
    );
}
