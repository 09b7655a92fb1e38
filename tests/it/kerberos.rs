//! Kerberos end to end: the built binary against a real MIT Kerberos KDC on
//! loopback (tests/kerberos/realm.py: realm EWS.TEST, jdoe with a password
//! and a client keytab, HTTP/localhost and HTTP/127.0.0.1 in a service
//! keytab) and an acceptor nobody here wrote, python-gssapi's, behind EWS
//! answers (tests/kerberos/negotiate_server.py: IIS-like keep-alive,
//! the final token on the 200, Extended Protection checking
//! GSS_C_CHANNEL_BOUND_FLAG over TLS).
//!
//! The GSS-API library reads KRB5_CONFIG, KRB5CCNAME and KRB5_CLIENT_KTNAME
//! from the environment, and each run of the binary gets its own, so one realm
//! serves the whole module; a test that needs the KDC's clock off starts its
//! own. NTLM fallbacks run against pyspnego's acceptor (tests/it/ntlm_server.py).
//!
//! Without the Debian packages krb5-kdc, krb5-admin-server, krb5-user and
//! python3-gssapi these tests print why and pass; with EWS_REQUIRE_KDC=1
//! (.ci/run sets it) they fail instead.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::common::{contains, files_in, stderr, tool};

#[path = "../kerberos/harness.rs"]
mod harness;
use crate::library;
use crate::ntlm::{self, NtlmServer, n};
use harness::{gssapi_python, missing};

fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kerberos")
}

/// A running realm.py. Dropping it ends realm.py's stdin, which stops the KDC.
struct Realm {
    child: Child,
    io: Mutex<Option<(ChildStdin, BufReader<ChildStdout>)>>,
    env: BTreeMap<String, String>,
    python: String,
}

impl Drop for Realm {
    fn drop(&mut self) {
        self.io.lock().unwrap().take();
        let _ = self.child.wait();
    }
}

impl Realm {
    /// A new realm with jdoe's TGT in its ticket cache.
    fn start(python: &str) -> Realm {
        let started = harness::start_realm(python, &scripts().join("realm.py"), true);
        Realm {
            child: started.child,
            io: Mutex::new(Some((started.stdin, started.stdout))),
            env: started.env,
            python: python.to_string(),
        }
    }

    fn var(&self, name: &str) -> &str {
        self.env.get(name).map(String::as_str).unwrap_or_default()
    }

    /// What a run of the binary needs to know of this realm.
    fn krb_env(&self) -> KrbEnv {
        KrbEnv {
            config: self.var("KRB5_CONFIG").into(),
            ticket_cache: self.var("KRB5CCNAME").into(),
            client_keytab: self.var("KRB5_CLIENT_KTNAME").into(),
        }
    }

    /// A command of realm.py (see its docstring); waits for its OK.
    fn command(&self, command: &str) {
        let mut io = self.io.lock().unwrap();
        let (stdin, stdout) = io.as_mut().expect("realm running");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
        let mut answer = String::new();
        stdout.read_line(&mut answer).unwrap();
        assert_eq!(answer.trim(), "OK", "realm.py {command}: {answer}");
    }

    /// A ticket cache of its own for one test, with a fresh TGT and nothing
    /// else (no service tickets from other tests).
    fn own_cache(&self, dir: &Path) -> String {
        let cache = format!("FILE:{}", dir.join("ccache").display());
        self.command(&format!("kinit {cache}"));
        cache
    }
}

static REALM: OnceLock<Option<Realm>> = OnceLock::new();

/// The module's realm, started on first use; `None` (after a loud message)
/// where the KDC or python-gssapi cannot be had.
fn shared_realm() -> Option<&'static Realm> {
    REALM
        .get_or_init(|| {
            if let Some(why) = missing() {
                if std::env::var_os("EWS_REQUIRE_KDC").is_some_and(|v| v == "1") {
                    panic!("EWS_REQUIRE_KDC=1 but {why}");
                }
                eprintln!(
                    "\n\n************************************************************************\n\
                     SKIPPED: Kerberos end-to-end tests against a real KDC: {why}.\n\
                     ************************************************************************\n"
                );
                return None;
            }
            Some(Realm::start(&gssapi_python().expect("checked")))
        })
        .as_ref()
}

macro_rules! realm_or_skip {
    () => {
        match shared_realm() {
            Some(realm) => realm,
            None => return,
        }
    };
}

/// A realm's krb5.conf, ticket cache (kinit's TGT) and client keytab.
#[derive(Clone)]
struct KrbEnv {
    config: String,
    ticket_cache: String,
    client_keytab: String,
}

/// Which credentials a run of the binary has.
enum Creds {
    /// The realm's ticket cache (kinit's TGT); no client keytab.
    Ticket,
    /// This ticket cache; no client keytab.
    Cache(String),
    /// jdoe's client keytab, and a ticket cache that does not exist yet.
    Keytab,
    /// jdoe's client keytab, and this ticket cache.
    KeytabAndCache(String),
    /// Neither.
    Nothing,
}

#[derive(Default)]
struct Opts {
    tls: bool,
    wrong_binding: bool,
    /// `send` (default), `omit` or `corrupt`.
    final_token: Option<&'static str>,
    /// The schemes a 401 offers (default `Negotiate`).
    schemes: Option<&'static str>,
    close_after: u32,
}

/// A negotiate_server.py of one test, with a scratch folder for the tool.
struct Acceptor {
    child: Child,
    port: u16,
    tls: bool,
    dir: tempfile::TempDir,
    krb: KrbEnv,
}

impl Drop for Acceptor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Acceptor {
    fn start(realm: &Realm, opts: Opts) -> Acceptor {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(&realm.python);
        command
            .arg(scripts().join("negotiate_server.py"))
            .env("KRB5_CONFIG", realm.var("KRB5_CONFIG"))
            .env("KRB5_KTNAME", realm.var("KRB5_KTNAME"))
            .env_remove("KRB5CCNAME")
            .env_remove("KRB5_CLIENT_KTNAME");
        if opts.tls {
            let (cert, key) = crate::ntlm::self_signed(dir.path(), "server", &[]);
            command.arg("--cert").arg(&cert).arg("--key").arg(&key);
            if opts.wrong_binding {
                command
                    .arg("--binding-cert")
                    .arg(crate::ntlm::self_signed(dir.path(), "other", &[]).0);
            }
        }
        if let Some(mode) = opts.final_token {
            command.args(["--final-token", mode]);
        }
        if let Some(schemes) = opts.schemes {
            command.args(["--schemes", schemes]);
        }
        if opts.close_after > 0 {
            command.args(["--close-after", &opts.close_after.to_string()]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/kerberos/negotiate_server.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("negotiate_server.py did not start: {line:?}"));
        Acceptor {
            child,
            port,
            tls: opts.tls,
            dir,
            krb: realm.krb_env(),
        }
    }

    fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://localhost:{}/EWS/Exchange.asmx", self.port)
    }

    fn stats(&self) -> serde_json::Value {
        let scheme = if self.tls { "https" } else { "http" };
        let url = format!("{scheme}://127.0.0.1:{}/stats", self.port);
        serde_json::from_slice(&library::insecure_get(&url)).unwrap()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The tool for this server with `creds`, the command line split at spaces.
    fn ews_photo(&self, creds: Creds, line: &str) -> assert_cmd::Command {
        let mut cmd = tool();
        cmd.env("EWS_URL", self.url())
            .current_dir(self.dir.path())
            .args(line.split_whitespace());
        if self.tls {
            cmd.arg("--ca-cert").arg(self.path("server.pem"));
        } else {
            cmd.arg("--allow-insecure-auth");
        }
        with_creds(&mut cmd, &self.krb, creds, self.dir.path());
        cmd
    }
}

/// The Kerberos environment of one run: the realm's krb5.conf and `creds`.
fn with_creds(cmd: &mut assert_cmd::Command, krb: &KrbEnv, creds: Creds, dir: &Path) {
    let nowhere = format!("FILE:{}", dir.join("no-such.keytab").display());
    let fresh_cache = format!("FILE:{}", dir.join("fresh-ccache").display());
    let (cache, keytab) = match creds {
        Creds::Ticket => (krb.ticket_cache.clone(), nowhere),
        Creds::Cache(cache) => (cache, nowhere),
        Creds::Keytab => (fresh_cache, krb.client_keytab.clone()),
        Creds::KeytabAndCache(cache) => (cache, krb.client_keytab.clone()),
        Creds::Nothing => (fresh_cache, nowhere),
    };
    cmd.env("KRB5_CONFIG", &krb.config)
        .env("KRB5CCNAME", cache)
        .env("KRB5_CLIENT_KTNAME", keytab);
}

fn photo() -> Vec<u8> {
    std::fs::read(scripts().join("photo.jpg")).unwrap()
}

/// The realm's krb5.conf with `edit` applied, written into `dir`.
fn edited_config(realm: &Realm, dir: &Path, edit: impl Fn(&str) -> String) -> PathBuf {
    let text = std::fs::read_to_string(realm.var("KRB5_CONFIG")).unwrap();
    let path = dir.join("krb5-edited.conf");
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit changed nothing");
    std::fs::write(&path, edited).unwrap();
    path
}

#[test]
fn a_ticket_from_kinit_fetches_the_photo_over_tls_with_the_channel_binding() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    // --auth auto, no user: the server's bare `Negotiate` and the ticket decide.
    let run = s
        .ews_photo(Creds::Ticket, "get alice@contoso.com -o alice.jpg -v")
        .assert()
        .success()
        .stderr(contains(
            "auth: Kerberos, as jdoe@EWS.TEST: the server offers Negotiate and Kerberos credentials are there",
        ))
        .stderr(contains("> Authorization: Negotiate <redacted>"));
    assert_eq!(std::fs::read(s.path("alice.jpg")).unwrap(), photo());
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(n(&stats, "tokens"), 1, "one token, one leg: {stats}");
    assert_eq!(stats["extended_protection"], "require", "{stats}");
    // GSS_C_CHANNEL_BOUND_FLAG: the token carried the matching binding.
    assert_eq!(stats["bindings"][0], true, "{stats}");
    assert_eq!(stats["initiators"][0], "jdoe@EWS.TEST", "{stats}");
    assert_eq!(stats["targets"][0], "HTTP/localhost@EWS.TEST", "{stats}");
    assert_eq!(stats["final_tokens"][0], "sent", "{stats}");
    // The token itself never shows, not even at -vv.
    assert!(!stderr(&run).contains("Authorization: Negotiate Y"));
}

#[test]
fn a_client_keytab_is_enough_without_a_ticket_cache() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    let cache = s.path("fresh-ccache");
    assert!(!cache.exists());
    // As a cron job runs it: EWS_AUTH=kerberos and KRB5_CLIENT_KTNAME.
    s.ews_photo(Creds::Keytab, "get alice@contoso.com -o alice.jpg")
        .env("EWS_AUTH", "kerberos")
        .assert()
        .success();
    assert_eq!(std::fs::read(s.path("alice.jpg")).unwrap(), photo());
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 1, "{stats}");
    assert_eq!(stats["bindings"][0], true, "{stats}");
    assert!(
        cache.exists(),
        "MIT gets the TGT from the keytab by itself and caches it in KRB5CCNAME"
    );
}

#[test]
fn a_wrong_channel_binding_is_refused_once_with_exit_4() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            tls: true,
            wrong_binding: true,
            ..Default::default()
        },
    );
    s.ews_photo(Creds::Ticket, "get alice@contoso.com -o alice.jpg")
        .assert()
        .code(4)
        .stderr(contains("tried Negotiate"))
        .stderr(contains(
            "the server refused the Kerberos ticket for HTTP@localhost",
        ))
        .stderr(contains("Extended Protection refused the channel binding"));
    assert!(!s.path("alice.jpg").exists());
    let stats = s.stats();
    assert_eq!(n(&stats, "handshakes"), 0, "{stats}");
    assert_eq!(
        n(&stats, "tokens"),
        1,
        "refused, so not sent again: {stats}"
    );
    let failures = stats["failures"].to_string();
    assert!(
        failures.contains("BadChannelBindingsError"),
        "GSS_S_BAD_BINDINGS expected: {failures}"
    );
}

#[test]
fn an_spn_the_kdc_does_not_know_is_a_clear_error_and_nothing_is_sent() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    let expect = |cmd: &mut assert_cmd::Command| {
        cmd.assert()
            .code(4)
            .stderr(contains(
                "Kerberos: the KDC does not know the service principal HTTP/mail.nowhere.test",
            ))
            .stderr(contains("--spn"))
            .stderr(contains(
                "Server HTTP/mail.nowhere.test@EWS.TEST not found in Kerberos database",
            ));
    };
    expect(&mut s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o a.jpg --spn HTTP/mail.nowhere.test",
    ));
    expect(
        s.ews_photo(
            Creds::Ticket,
            "get alice@contoso.com -o a.jpg --auth kerberos",
        )
        .env("EWS_SPN", "HTTP/mail.nowhere.test"),
    );
    assert_eq!(n(&s.stats(), "tokens"), 0);
}

#[test]
fn spn_and_ews_spn_name_the_principal_the_ticket_is_for() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o a.jpg --spn HTTP/127.0.0.1",
    )
    .assert()
    .success();
    s.ews_photo(Creds::Ticket, "get alice@contoso.com -o b.jpg")
        .env("EWS_SPN", "HTTP/localhost@EWS.TEST")
        .assert()
        .success();
    let stats = s.stats();
    assert_eq!(
        stats["targets"],
        serde_json::json!(["HTTP/127.0.0.1@EWS.TEST", "HTTP/localhost@EWS.TEST"]),
        "{stats}"
    );
    // A malformed one is a usage error, before any request.
    s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o c.jpg --spn mail.contoso.com",
    )
    .assert()
    .code(2)
    .stderr(contains("is not a service principal: give HTTP/host"));
}

#[test]
fn without_a_ticket_auth_kerberos_says_run_kinit_before_any_request() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    s.ews_photo(
        Creds::Nothing,
        "get alice@contoso.com -o a.jpg --auth kerberos",
    )
    .assert()
    .code(4)
    .stderr(contains(
        "Kerberos: no ticket, and no client keytab: run kinit",
    ))
    .stderr(contains("KRB5_CLIENT_KTNAME"))
    .stderr(contains(
        "No Kerberos credentials available (default cache: FILE:",
    ));
    // The same for a whole run: it stops before the list is read.
    std::fs::write(s.path("list.txt"), "alice@contoso.com\n").unwrap();
    s.ews_photo(
        Creds::Nothing,
        "export list.txt --dir photos --auth kerberos",
    )
    .assert()
    .code(4)
    .stderr(contains("run kinit"));
    let stats = s.stats();
    assert_eq!(n(&stats, "connections"), 1, "only the /stats one: {stats}");
}

#[test]
fn an_expired_ticket_says_run_kinit_again() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    let cache = format!("FILE:{}", s.path("expired-ccache").display());
    realm.command(&format!("expire-tgt {cache}"));
    for auth in ["kerberos", "auto"] {
        s.ews_photo(
            Creds::Cache(cache.clone()),
            &format!("get alice@contoso.com -o a.jpg --auth {auth}"),
        )
        .assert()
        .code(4)
        .stderr(contains("the ticket has expired: run kinit again"));
    }
    assert_eq!(n(&s.stats(), "tokens"), 0);
    // With a client keytab the library fetches a new ticket by itself.
    s.ews_photo(
        Creds::KeytabAndCache(cache),
        "get alice@contoso.com -o a.jpg --auth kerberos",
    )
    .assert()
    .success();
    assert_eq!(n(&s.stats(), "handshakes"), 1);
}

#[test]
fn no_gss_library_is_named_with_what_to_install() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o a.jpg --auth kerberos",
    )
    .env("EWS_GSS_LIBRARY", "/nonexistent/libgssapi_krb5.so.2")
    .assert()
    .code(4)
    .stderr(contains(
        "Kerberos needs the system's GSS-API library, and none could be loaded",
    ))
    .stderr(contains("libgssapi-krb5-2"))
    .stderr(contains("tried /nonexistent/libgssapi_krb5.so.2: "));
}

#[test]
fn a_host_in_a_realm_without_trust_says_domain_realm() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    let config = edited_config(realm, s.dir.path(), |text| {
        text.replace("  localhost = EWS.TEST\n", "  localhost = OTHER.TEST\n")
    });
    let cache = realm.own_cache(s.dir.path());
    s.ews_photo(Creds::Cache(cache), "get alice@contoso.com -o a.jpg")
        .env("KRB5_CONFIG", config)
        .assert()
        .code(4)
        .stderr(contains(
            "maps to a Kerberos realm your KDC has no trust with",
        ))
        .stderr(contains("[domain_realm]"))
        .stderr(contains("krbtgt/OTHER.TEST@EWS.TEST"));
}

#[test]
fn an_unreachable_kdc_says_check_krb5_conf() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    // Port 1 (tcpmux): nothing listens there, and no other test's server
    // can take it, as a port freed after binding 0 could be.
    let port = realm.var("EWS_KRB_KDC_PORT").to_string();
    let config = edited_config(realm, s.dir.path(), |text| {
        text.replace(&format!("kdc = 127.0.0.1:{port}"), "kdc = 127.0.0.1:1")
    });
    // A TGT but no service ticket yet: the KDC must be asked.
    let cache = realm.own_cache(s.dir.path());
    s.ews_photo(Creds::Cache(cache), "get alice@contoso.com -o a.jpg")
        .env("KRB5_CONFIG", config)
        .assert()
        .code(4)
        .stderr(contains("no KDC of the realm could be reached"))
        .stderr(contains("Cannot contact any KDC for realm 'EWS.TEST'"));
}

#[test]
fn a_clock_skew_says_synchronise_the_clock() {
    let _shared = realm_or_skip!();
    // Its own realm: the KDC restarts with its clock an hour ahead.
    let realm = Realm::start(&gssapi_python().expect("checked"));
    realm.command("kdc-offset 3600");
    let s = Acceptor::start(&realm, Opts::default());
    s.ews_photo(Creds::Ticket, "get alice@contoso.com -o a.jpg")
        .assert()
        .code(4)
        .stderr(contains("clock"))
        .stderr(contains("NTP"))
        .stderr(contains("Clock skew too great"));
}

#[test]
fn a_missing_final_token_is_an_error_at_auth_kerberos_and_a_warning_at_auto() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            final_token: Some("omit"),
            ..Default::default()
        },
    );
    s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o strict.jpg --auth kerberos",
    )
    .assert()
    .code(4)
    .stderr(contains("sent no final Negotiate token"))
    .stderr(contains("mutual authentication"));
    assert!(!s.path("strict.jpg").exists(), "the answer was not used");
    s.ews_photo(Creds::Ticket, "get alice@contoso.com -o auto.jpg -v")
        .assert()
        .success()
        .stderr(contains(
            "warning: the server sent no final Negotiate token, so mutual authentication of HTTP@localhost was not checked",
        ));
    assert_eq!(std::fs::read(s.path("auto.jpg")).unwrap(), photo());
    assert_eq!(n(&s.stats(), "handshakes"), 2);
}

#[test]
fn a_corrupted_final_token_is_always_an_error() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            final_token: Some("corrupt"),
            ..Default::default()
        },
    );
    for auth in ["auto", "kerberos"] {
        s.ews_photo(
            Creds::Ticket,
            &format!("get alice@contoso.com -o {auth}.jpg --auth {auth}"),
        )
        .assert()
        .code(4)
        .stderr(contains("mutual authentication failed"))
        .stderr(contains("integrity check failed"));
        assert!(!s.path(&format!("{auth}.jpg")).exists());
    }
}

#[test]
fn export_with_four_jobs_does_at_most_four_handshakes() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    let list: String = (0..40).map(|i| format!("user{i}@contoso.com\n")).collect();
    std::fs::write(s.path("list.txt"), list).unwrap();
    s.ews_photo(Creds::Ticket, "export list.txt --dir photos --jobs 4 -q")
        .assert()
        .success();
    let stats = s.stats();
    assert_eq!(n(&stats, "photos"), 40, "{stats}");
    assert!(n(&stats, "handshakes") <= 4, "{stats}");
    assert_eq!(
        n(&stats, "tokens"),
        n(&stats, "handshakes"),
        "no Authorization after the handshake: {stats}"
    );
    assert!(stats["failures"].as_array().unwrap().is_empty(), "{stats}");
    let written = files_in(&s.path("photos"))
        .iter()
        .filter(|f| f.ends_with(".jpg"))
        .count();
    assert_eq!(written, 40);
}

#[test]
fn a_lost_connection_is_authenticated_once_more() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            close_after: 5,
            ..Default::default()
        },
    );
    let list: String = (0..12).map(|i| format!("user{i}@contoso.com\n")).collect();
    std::fs::write(s.path("list.txt"), list).unwrap();
    s.ews_photo(
        Creds::Ticket,
        "export list.txt --dir photos --jobs 1 -q --auth kerberos",
    )
    .assert()
    .success();
    let stats = s.stats();
    assert_eq!(n(&stats, "photos"), 12, "{stats}");
    // Connections of 5, 5 and 2 photos: one handshake each.
    assert_eq!(n(&stats, "handshakes"), 3, "{stats}");
    assert_eq!(n(&stats, "tokens"), 3, "{stats}");
    for c in 1..=3 {
        assert_eq!(
            stats["per_connection"][c.to_string()]["handshakes"],
            1,
            "{stats}"
        );
    }
}

#[test]
fn kerberos_over_plain_http_needs_allow_insecure_auth() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(realm, Opts::default());
    for auth in ["kerberos", "auto"] {
        let mut cmd = tool();
        cmd.env("EWS_URL", s.url()).current_dir(s.dir.path()).args([
            "get",
            "alice@contoso.com",
            "-o",
            "a.jpg",
            "--auth",
            auth,
        ]);
        with_creds(&mut cmd, &realm.krb_env(), Creds::Ticket, s.dir.path());
        cmd.assert()
            .code(2)
            .stderr(contains(
                "refusing to send Kerberos credentials over plain http://",
            ))
            .stderr(contains("--allow-insecure-auth"));
    }
    assert_eq!(n(&s.stats(), "tokens"), 0);
}

#[test]
fn auth_kerberos_against_a_server_without_negotiate_says_so() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            schemes: Some("NTLM"),
            ..Default::default()
        },
    );
    s.ews_photo(
        Creds::Ticket,
        "get alice@contoso.com -o a.jpg --auth kerberos",
    )
    .assert()
    .code(4)
    .stderr(contains(
        "--auth kerberos was asked for, but the server does not offer Negotiate",
    ));
}

/// pyspnego's NTLM server (it offers `Negotiate, NTLM`), with the realm's
/// krb5.conf and `creds` for the binary.
fn ntlm_run(realm: &Realm, server: &NtlmServer, creds: Creds, line: &str) -> assert_cmd::Command {
    let mut cmd = server.ews_photo(line);
    with_creds(&mut cmd, &realm.krb_env(), creds, server.dir.path());
    cmd
}

#[test]
fn without_kerberos_credentials_auto_goes_on_with_ntlm_and_says_why() {
    let realm = realm_or_skip!();
    let Some(python) = ntlm::python() else {
        return;
    };
    let s = NtlmServer::start(&python, ntlm::Opts::default());
    ntlm_run(
        realm,
        &s,
        Creds::Nothing,
        r"get alice@contoso.com --user CONTOSO\jdoe -o a.jpg -v",
    )
    .assert()
    .success()
    .stderr(contains(
        "auth: not Kerberos, although the server offers Negotiate: no Kerberos ticket or client keytab",
    ))
    .stderr(contains("auth: NTLM in NTLM (a user is given)"));
    assert_eq!(std::fs::read(s.dir.path().join("a.jpg")).unwrap(), s.photo);
    ntlm_run(
        realm,
        &s,
        Creds::Ticket,
        r"get alice@contoso.com --user CONTOSO\jdoe -o b.jpg -v",
    )
    .env("EWS_GSS_LIBRARY", "/nonexistent/libgssapi_krb5.so.2")
    .assert()
    .success()
    .stderr(contains(
        "auth: not Kerberos, although the server offers Negotiate: no GSS-API library",
    ));
    // No user either: the advice names both ways.
    ntlm_run(realm, &s, Creds::Nothing, "get alice@contoso.com -o c.jpg")
        .assert()
        .code(4)
        .stderr(contains(
            "Kerberos: no ticket, and no client keytab: run kinit",
        ))
        .stderr(contains("for NTLM, give --user"));
    assert_eq!(n(&s.stats(), "handshakes"), 2);
}

#[test]
fn at_auto_kerberos_failing_before_anything_is_sent_falls_back_to_ntlm() {
    let realm = realm_or_skip!();
    let Some(python) = ntlm::python() else {
        return;
    };
    let s = NtlmServer::start(&python, ntlm::Opts::default());
    // A ticket, but for a service the KDC does not know: Windows would go on
    // with NTLM inside Negotiate; so does auto when a user is given.
    ntlm_run(
        realm,
        &s,
        Creds::Ticket,
        r"get alice@contoso.com --user CONTOSO\jdoe --spn HTTP/mail.nowhere.test -o a.jpg -v",
    )
    .assert()
    .success()
    .stderr(contains(
        "auth: NTLM instead: Kerberos failed before anything was sent: Kerberos: the KDC does not know the service principal",
    ));
    assert_eq!(std::fs::read(s.dir.path().join("a.jpg")).unwrap(), s.photo);
    // --auth kerberos never falls back.
    ntlm_run(
        realm,
        &s,
        Creds::Ticket,
        r"get alice@contoso.com --user CONTOSO\jdoe --spn HTTP/mail.nowhere.test --auth kerberos -o b.jpg",
    )
    .assert()
    .code(4)
    .stderr(contains("not found in Kerberos database"));
    assert_eq!(n(&s.stats(), "handshakes"), 1);
}

/// The default build needs nothing but Rust: the GSS-API library is opened at
/// run time, never linked, so the binary starts (and speaks NTLM, Basic and
/// OAuth) on a machine without Kerberos.
#[cfg(unix)]
#[test]
fn the_binary_does_not_link_a_kerberos_library() {
    let binary = assert_cmd::cargo::cargo_bin("ews-photo");
    // binutils' readelf comes with the linker Rust needs; otool with Xcode's.
    let (inspector, flag, runtime) = if cfg!(target_vendor = "apple") {
        ("otool", "-L", "libSystem")
    } else {
        ("readelf", "-d", "libc.so")
    };
    let out = Command::new(inspector)
        .arg(flag)
        .arg(&binary)
        .output()
        .unwrap_or_else(|e| panic!("{inspector} (needed to check the linked libraries): {e}"));
    assert!(out.status.success(), "{inspector} {flag} failed");
    let libraries = String::from_utf8_lossy(&out.stdout);
    // The check can fail: the C library is linked, and listed.
    assert!(libraries.contains(runtime), "{libraries}");
    for kerberos in ["gssapi", "krb5", "GSS.framework", "heimdal"] {
        assert!(
            !libraries.contains(kerberos),
            "the binary links {kerberos}:\n{libraries}"
        );
    }
}

/// Heimdal's library, the fallback where MIT's is missing (and the family of
/// macOS's GSS.framework), against the same MIT KDC: a ticket works, with the
/// channel binding, and a failure is still explained although Heimdal's
/// SPNEGO reports each one as "An unsupported mechanism was requested".
#[test]
fn heimdal_works_too_and_its_failures_are_explained() {
    let realm = realm_or_skip!();
    let s = Acceptor::start(
        realm,
        Opts {
            tls: true,
            ..Default::default()
        },
    );
    let heimdal = |line: &str| {
        let mut cmd = s.ews_photo(Creds::Cache(realm.own_cache(s.dir.path())), line);
        cmd.env("EWS_GSS_LIBRARY", "libgssapi.so.3");
        cmd
    };
    let run = heimdal("get alice@contoso.com -o a.jpg --auth kerberos -v").assert();
    if stderr(&run).contains("none could be loaded") {
        assert!(
            std::env::var_os("EWS_REQUIRE_KDC").is_none_or(|v| v != "1"),
            "EWS_REQUIRE_KDC=1 but Heimdal's libgssapi.so.3 is missing (apt-get install libgssapi3-heimdal)"
        );
        eprintln!(
            "SKIPPED: Heimdal's libgssapi.so.3 is not installed (apt-get install libgssapi3-heimdal)"
        );
        return;
    }
    run.success()
        .stderr(contains("using the library libgssapi.so.3"));
    assert_eq!(std::fs::read(s.path("a.jpg")).unwrap(), photo());
    let stats = s.stats();
    assert_eq!(stats["bindings"][0], true, "{stats}");
    heimdal("get alice@contoso.com -o b.jpg --spn HTTP/mail.nowhere.test")
        .assert()
        .code(4)
        .stderr(contains(
            "the KDC does not know the service principal HTTP/mail.nowhere.test",
        ))
        .stderr(contains("HTTP/mail.nowhere.test@EWS.TEST"));
}
