//! Autodiscover end to end: the built binary against the Autodiscover
//! stand-in (`tests/standin/src/autodiscover.rs`) over TLS with a test CA on
//! loopback, every host reached through `--resolve`, and against a real DNS
//! server for the SRV record: dnsmasq (Debian's `dnsmasq-base`, installed by
//! `.ci/run`, which sets EWS_PHOTO_DNSMASQ), on 127.0.0.1 and a free port.
//! The tests that need dnsmasq are skipped with a loud message where it is
//! missing.
//!
//! Every run gets `--dns-servers` (a DNS server of its own that refuses every
//! query, or dnsmasq) and a cache folder of its own, so nothing leaves the
//! machine and no test sees another's cache or servers.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ews_standin::autodiscover::{
    ADDRESS, Autodiscover, BACKUP_EWS_URL, EWS_URL, Expected, FABRIKAM_EWS_URL, PASSWORD, Scenario,
    Seen, USER,
};

use crate::common::{Auth, Command, contains, files_in, json, stderr, tool};

/// One stand-in and the folder the tool runs in (its cache below it).
struct Run {
    standin: Autodiscover,
    dir: tempfile::TempDir,
    /// Where the SRV lookup goes.
    dns: String,
    /// The default for `dns`: refuses every query.
    refusing: RefusingDns,
}

impl Run {
    fn new(scenario: Scenario) -> Run {
        Run::with(scenario, Auth::None)
    }

    /// With `ews` the authentication the EWS hosts demand.
    fn with(scenario: Scenario, ews: Auth) -> Run {
        let standin = Autodiscover::start(scenario, ews).expect("stand-in starts");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), standin.ca_pem()).unwrap();
        let refusing = RefusingDns::start();
        Run {
            standin,
            dir,
            dns: refusing.addr.to_string(),
            refusing,
        }
    }

    fn cache(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    /// `ews-photo` with the arguments of `line` (split at spaces), the test
    /// CA, `--resolve` for every host, `--dns-servers` and a private cache.
    fn ews_photo(&self, line: &str) -> Command {
        let mut cmd = tool();
        cmd.current_dir(self.dir.path())
            .env("XDG_CACHE_HOME", self.cache())
            .args(line.split_whitespace())
            .arg("--ca-cert")
            .arg(self.dir.path().join("ca.pem"))
            .args(["--dns-servers", &self.dns]);
        for entry in self.standin.resolve_args() {
            cmd.args(["--resolve", &entry]);
        }
        cmd
    }

    /// As [`Run::ews_photo`], signed in as the stand-in's Basic user (the
    /// stand-in offers NTLM first, which it does not speak: --auth basic).
    fn signed_in(&self, line: &str) -> Command {
        let mut cmd = self.ews_photo(line);
        cmd.args(["--user", USER, "--auth", "basic"])
            .env("EWS_PASSWORD", PASSWORD);
        cmd
    }

    fn requests(&self) -> Vec<Seen> {
        self.standin.requests()
    }

    /// The Autodiscover requests (everything but EWS).
    fn autodiscover_requests(&self) -> Vec<Seen> {
        self.requests()
            .into_iter()
            .filter(|r| !r.request.path.to_ascii_lowercase().starts_with("/ews/"))
            .collect()
    }
}

/// A DNS server on 127.0.0.1 that answers every query REFUSED, for as long as
/// it lives (a port merely closed could be taken by another test's dnsmasq).
struct RefusingDns {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl RefusingDns {
    fn start() -> RefusingDns {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let addr = socket.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 1500];
            while !stopping.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buffer) else {
                    continue;
                };
                if n < 12 {
                    continue;
                }
                let mut reply = buffer[..n].to_vec();
                reply[2] |= 0x80; // a response
                reply[3] = (reply[3] & 0xF0) | 5; // REFUSED
                let _ = socket.send_to(&reply, from);
            }
        });
        RefusingDns { addr, stop }
    }
}

impl Drop for RefusingDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Credentials only ever went over https, to Autodiscover never before a 401
/// at the same URL (EWS gets them at once with --auth basic), and nothing got
/// through the untrusted certificate.
fn assert_credentials_were_safe(run: &Run) {
    let requests = run.requests();
    for (i, seen) in requests.iter().enumerate() {
        if !seen.has_credentials() {
            continue;
        }
        assert!(seen.https, "credentials over plain http: {}", seen.url());
        if seen.request.path.to_ascii_lowercase().starts_with("/ews/") {
            continue;
        }
        let asked_first = requests[..i]
            .iter()
            .any(|earlier| earlier.url() == seen.url() && !earlier.has_credentials());
        assert!(
            asked_first,
            "credentials sent to {} before it asked",
            seen.url()
        );
    }
    assert!(
        run.standin.bad_certificate_requests().is_empty(),
        "a request got through the untrusted certificate"
    );
}

fn discover_json(run: &Run, extra: &str, code: i32) -> serde_json::Value {
    let assert = run
        .signed_in(&format!("discover {ADDRESS} --json {extra}"))
        .assert()
        .code(code);
    json(&assert)
}

// ------------------------------------------------------------ the scenarios

#[test]
fn every_scenario_ends_as_expected_with_safe_credentials() {
    for scenario in Scenario::ALL {
        if scenario == Scenario::Srv {
            continue; // needs dnsmasq: the_srv_record_through_dnsmasq
        }
        let run = Run::new(scenario);
        let assert = run
            .signed_in(&format!("discover {ADDRESS} --json -v"))
            .assert();
        let record = json(&assert);
        let text = stderr(&assert);
        match scenario.expected() {
            Expected::Found { ews_url, method } => {
                assert.code(0);
                assert_eq!(record["ews_url"], ews_url, "{scenario:?}: {text}");
                assert_eq!(record["method"], method, "{scenario:?}: {text}");
                assert_eq!(record["status"], "found");
            }
            Expected::Exit(code) => {
                assert.code(code);
                assert_eq!(record["status"], "failed", "{scenario:?}");
                assert_eq!(record["exit_code"], code, "{scenario:?}");
                assert!(record["ews_url"].is_null());
            }
        }
        // -v: one line per candidate, each with what came of it.
        let lines = text
            .lines()
            .filter(|l| l.starts_with("ews-photo: autodiscover: "))
            .count();
        assert_eq!(
            lines,
            record["candidates"].as_array().unwrap().len(),
            "{scenario:?}: {text}"
        );
        assert_credentials_were_safe(&run);
    }
}

#[test]
fn a_v2_hit_on_stdout_and_how_on_stderr() {
    let run = Run::new(Scenario::V2Hit);
    let assert = run
        .ews_photo(&format!("discover {ADDRESS}"))
        .assert()
        .success();
    assert_eq!(
        String::from_utf8_lossy(&assert.get_output().stdout),
        format!("{EWS_URL}\n")
    );
    let text = stderr(&assert);
    assert!(
        text.contains(&format!(
            "ews-photo: Autodiscover for {ADDRESS}: {EWS_URL} (found by Autodiscover v2 at https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com)"
        )),
        "{text}"
    );
    // One unauthenticated GET, nothing else.
    let requests = run.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].request.method, "GET");
    assert_eq!(requests[0].request.query, "Protocol=EWS");
    assert!(!requests[0].has_credentials());
    // -q: the URL alone.
    run.ews_photo(&format!("discover {ADDRESS} -q --no-cache"))
        .assert()
        .success()
        .stderr(crate::common::is_empty())
        .stdout(format!("{EWS_URL}\n"));
}

#[test]
fn pox_after_a_401_with_basic() {
    let run = Run::new(Scenario::PoxDirect);
    let record = discover_json(&run, "", 0);
    assert_eq!(record["method"], "pox-domain");
    assert_eq!(
        record["autodiscover_url"],
        "https://contoso.com/autodiscover/autodiscover.xml"
    );
    let pox: Vec<Seen> = run
        .requests()
        .into_iter()
        .filter(|r| r.host == "contoso.com")
        .collect();
    assert_eq!(pox.len(), 2, "one 401, then the credentials");
    assert!(!pox[0].has_credentials());
    assert_eq!(
        pox[1].request.header("authorization"),
        Some(ews_standin::autodiscover::basic(USER, PASSWORD).as_str())
    );
    assert!(
        String::from_utf8_lossy(&pox[1].request.body)
            .contains("<EMailAddress>jdoe@contoso.com</EMailAddress>")
    );
    assert_credentials_were_safe(&run);
}

#[test]
fn without_credentials_only_authentication_stands_in_the_way() {
    let run = Run::new(Scenario::PoxDirect);
    let assert = run
        .ews_photo(&format!("discover {ADDRESS} -v"))
        .assert()
        .code(4);
    let text = stderr(&assert);
    assert!(text.contains("needs authentication"), "{text}");
    assert!(text.contains("for Basic, give --user"), "{text}");
    assert!(run.requests().iter().all(|r| !r.has_credentials()));
}

#[test]
fn credentials_the_server_rejects_are_exit_4() {
    let run = Run::new(Scenario::AuthOnly);
    let text = stderr(
        &run.signed_in(&format!("discover {ADDRESS}"))
            .assert()
            .code(4),
    );
    assert!(
        text.contains("rejected the user name or password"),
        "{text}"
    );
    assert!(!text.contains(PASSWORD));
}

#[test]
fn the_plain_http_redirect_carries_nothing() {
    let run = Run::new(Scenario::HttpRedirect);
    let record = discover_json(&run, "", 0);
    assert_eq!(record["method"], "http-redirect");
    assert_eq!(
        record["autodiscover_url"],
        "https://mail.contoso.com/autodiscover/autodiscover.xml"
    );
    // mail.contoso.com is in the address's domain: it may have the credentials.
    assert_eq!(record["trusted"], true);
    let plain: Vec<Seen> = run.requests().into_iter().filter(|r| !r.https).collect();
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].request.method, "GET");
    assert!(plain[0].request.body.is_empty() && !plain[0].has_credentials());
    let candidates = record["candidates"].as_array().unwrap();
    let probe = candidates
        .iter()
        .find(|c| c["source"] == "http-redirect" && c["method"] == "GET")
        .unwrap();
    assert_eq!(
        probe["reason"],
        "HTTP 302 to https://mail.contoso.com/autodiscover/autodiscover.xml"
    );
    assert_credentials_were_safe(&run);
}

#[test]
fn redirect_addr_and_redirect_url() {
    let run = Run::new(Scenario::RedirectAddr);
    let record = discover_json(&run, "", 0);
    assert_eq!(record["ews_url"], FABRIKAM_EWS_URL);
    assert_eq!(record["address"], "jdoe@fabrikam.com");
    let asked: Vec<String> = run
        .autodiscover_requests()
        .iter()
        .filter_map(|r| r.request.email.clone())
        .collect();
    assert!(asked.iter().any(|a| a == "jdoe@fabrikam.com"), "{asked:?}");

    let run = Run::new(Scenario::RedirectUrl);
    let record = discover_json(&run, "", 0);
    assert_eq!(record["ews_url"], EWS_URL);
    assert_eq!(
        record["autodiscover_url"],
        "https://mail.contoso.com/autodiscover/autodiscover.xml"
    );
    assert_credentials_were_safe(&run);
}

#[test]
fn a_redirect_loop_is_a_clear_error() {
    let run = Run::new(Scenario::RedirectLoop);
    let text = stderr(
        &run.signed_in(&format!("discover {ADDRESS}"))
            .assert()
            .code(1),
    );
    assert!(text.contains("ran into a redirect loop"), "{text}");
    assert!(
        text.contains("https://contoso.com/autodiscover/autodiscover.xml → https://autodiscover.contoso.com/autodiscover/autodiscover.xml → https://contoso.com/autodiscover/autodiscover.xml"),
        "{text}"
    );
}

#[test]
fn a_bad_certificate_is_passed_over_and_gets_nothing() {
    let run = Run::new(Scenario::BadCertificate);
    let assert = run
        .signed_in(&format!("discover {ADDRESS} -v --json"))
        .assert()
        .success();
    let record = json(&assert);
    assert_eq!(record["method"], "pox-autodiscover-host");
    let first_pox = &record["candidates"][1];
    assert_eq!(
        first_pox["url"],
        "https://contoso.com/autodiscover/autodiscover.xml"
    );
    assert_eq!(first_pox["result"], "passed-over");
    let reason = first_pox["reason"].as_str().unwrap();
    assert!(
        reason.contains("TLS failed") && reason.contains("UnknownIssuer"),
        "{reason}"
    );
    // The client did connect, and not a byte of HTTP got through.
    assert!(run.standin.bad_certificate_connections() >= 1);
    assert!(run.standin.bad_certificate_requests().is_empty());
    assert_credentials_were_safe(&run);
}

#[test]
fn expr_without_an_ews_url_falls_back_to_exch() {
    let run = Run::new(Scenario::ExprWithoutEwsUrl);
    let record = discover_json(&run, "", 0);
    assert_eq!(record["ews_url"], EWS_URL);
    assert_eq!(record["method"], "pox-domain");
}

#[test]
fn exit_codes_6_1_4() {
    let run = Run::new(Scenario::NothingReachable);
    let text = stderr(
        &run.signed_in(&format!("discover {ADDRESS}"))
            .assert()
            .code(6),
    );
    assert!(text.contains("Autodiscover reached no server"), "{text}");
    assert!(text.contains("--url"), "{text}");
    let run = Run::new(Scenario::PoxError);
    let text = stderr(
        &run.signed_in(&format!("discover {ADDRESS}"))
            .assert()
            .code(1),
    );
    assert!(text.contains("Autodiscover error 500"), "{text}");
    let run = Run::new(Scenario::AuthOnly);
    run.signed_in(&format!("discover {ADDRESS}"))
        .assert()
        .code(4);
    // A malformed address: usage, before any request.
    let run = Run::new(Scenario::V2Hit);
    run.ews_photo("discover jdoe").assert().code(2);
    assert!(run.requests().is_empty());
}

#[test]
fn insecure_sends_no_credentials_to_autodiscover() {
    let run = Run::new(Scenario::PoxDirect);
    let text = stderr(
        &run.signed_in(&format!("discover {ADDRESS} --insecure -v"))
            .assert()
            .code(4),
    );
    assert!(
        text.contains("--insecure: certificates are not verified"),
        "{text}"
    );
    assert!(run.requests().iter().all(|r| !r.has_credentials()));
}

// ---------------------------------------------------------------- the cache

#[test]
fn a_second_run_uses_the_cache() {
    let run = Run::new(Scenario::V2Hit);
    run.ews_photo(&format!("discover {ADDRESS}"))
        .assert()
        .success();
    let asked = run.requests().len();
    let cache_file = run.cache().join("ews-photo/autodiscover/contoso.com.json");
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache_file).unwrap()).unwrap();
    assert_eq!(cached["ews_url"], EWS_URL);
    let assert = run
        .ews_photo(&format!("discover {ADDRESS} --json"))
        .assert()
        .success();
    assert_eq!(run.requests().len(), asked, "the second run asked nobody");
    let record = json(&assert);
    assert_eq!(record["cached"], true);
    assert_eq!(record["method"], "v2");
    assert!(stderr(&assert).contains("cached under a minute ago"));
    // Another address of the same domain: the same entry.
    run.ews_photo("discover alice@contoso.com")
        .assert()
        .success();
    assert_eq!(run.requests().len(), asked);
    // --no-cache asks again.
    run.ews_photo(&format!("discover {ADDRESS} --no-cache"))
        .assert()
        .success();
    assert_eq!(run.requests().len(), asked + 1);
    // No temporary file is left beside the entry.
    assert_eq!(files_in(cache_file.parent().unwrap()), ["contoso.com.json"]);
}

/// A cache entry as a run in the past wrote it.
fn write_cache(run: &Run, ews_url: &str, method: &str, trusted: bool, age: Duration) {
    let dir = run.cache().join("ews-photo/autodiscover");
    std::fs::create_dir_all(&dir).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let entry = serde_json::json!({
        "format": 1,
        "domain": "contoso.com",
        "discovered_at": (now - age).as_secs(),
        "ews_url": ews_url,
        "method": method,
        "autodiscover_url": "https://contoso.com/autodiscover/autodiscover.xml",
        "address": ADDRESS,
        "trusted": trusted,
    });
    std::fs::write(dir.join("contoso.com.json"), entry.to_string()).unwrap();
}

#[test]
fn an_entry_older_than_a_day_is_discovered_again() {
    let run = Run::new(Scenario::V2Hit);
    write_cache(
        &run,
        "https://old.contoso.com/EWS/Exchange.asmx",
        "v2",
        true,
        Duration::from_secs(25 * 3600),
    );
    run.ews_photo(&format!("discover {ADDRESS}"))
        .assert()
        .success()
        .stdout(format!("{EWS_URL}\n"));
    assert_eq!(run.requests().len(), 1);
}

#[test]
fn a_cached_url_that_stopped_answering_is_discovered_again_once() {
    let stale = [
        // The server hangs up at once: no answer.
        "https://gone.contoso.com/EWS/Exchange.asmx",
        // A web server that is no longer EWS: a 404 page.
        "https://old.contoso.com/EWS/Exchange.asmx",
    ];
    for url in stale {
        let run = Run::with(
            Scenario::V2Hit,
            Auth::Basic {
                user: USER.into(),
                password: PASSWORD.into(),
            },
        );
        write_cache(&run, url, "v2", true, Duration::from_secs(3600));
        // --auth auto: credentials only for a server that asks.
        let mut cmd = run.ews_photo(&format!("get alice@contoso.com -o alice.jpg -u {USER}"));
        cmd.env("EWS_PASSWORD", PASSWORD);
        let port = run.standin.silent_port();
        cmd.args([
            "--resolve",
            &format!("gone.contoso.com:443:127.0.0.1:{port}"),
        ]);
        let text = stderr(&cmd.assert().success());
        assert!(text.contains("stopped answering"), "{url}: {text}");
        assert!(
            text.contains(&format!("Autodiscover found {EWS_URL}")),
            "{text}"
        );
        assert!(run.dir.path().join("alice.jpg").is_file());
        let discoveries = run
            .autodiscover_requests()
            .iter()
            .filter(|r| r.request.path.contains("autodiscover.json"))
            .count();
        assert_eq!(discoveries, 1, "{url}");
        // The cache now holds the new URL: the next run goes straight there.
        let cached: serde_json::Value = serde_json::from_slice(
            &std::fs::read(run.cache().join("ews-photo/autodiscover/contoso.com.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(cached["ews_url"], EWS_URL);
        // The stale server never asked for credentials, so it got none.
        assert!(
            run.requests()
                .iter()
                .filter(|r| r.host == "old.contoso.com")
                .all(|r| !r.has_credentials())
        );
    }
}

#[test]
fn an_unconfirmed_url_gets_no_credentials() {
    let run = Run::with(
        Scenario::V2Hit,
        Auth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    // As an SRV record outside the domain would have given it.
    write_cache(
        &run,
        "https://mail.fabrikam.com/EWS/Exchange.asmx",
        "srv",
        false,
        Duration::from_secs(60),
    );
    let text = stderr(
        &run.signed_in("get alice@contoso.com -o alice.jpg")
            .assert()
            .code(4),
    );
    assert!(text.contains("only through a DNS SRV record"), "{text}");
    assert!(
        text.contains("--url https://mail.fabrikam.com/EWS/Exchange.asmx"),
        "{text}"
    );
    assert!(run.requests().is_empty());
    // discover still says what it found, with a warning.
    let assert = run
        .ews_photo(&format!("discover {ADDRESS}"))
        .assert()
        .success();
    assert!(stderr(&assert).contains("anyone on the network path can forge"));
}

// ------------------------------------------------------ get and export, no --url

#[test]
fn get_without_url_discovers_from_the_user_then_the_photo_address() {
    let basic = || Auth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    };
    let run = Run::with(Scenario::V2Hit, basic());
    let assert = run
        .signed_in("get alice@contoso.com -o alice.jpg --json")
        .assert()
        .success();
    assert_eq!(json(&assert)["status"], "fetched");
    assert!(stderr(&assert).contains(&format!("Autodiscover for {ADDRESS}: {EWS_URL}")));
    let requests = run.requests();
    // The signed-in mailbox was discovered, not the photo's.
    assert!(requests[0].request.path.ends_with("/v1.0/jdoe@contoso.com"));
    assert!(!requests[0].has_credentials());
    let ews: Vec<&Seen> = requests
        .iter()
        .filter(|r| r.host == "mail.contoso.com")
        .collect();
    assert_eq!(
        ews.last().unwrap().request.email.as_deref(),
        Some("alice@contoso.com")
    );
    assert_credentials_were_safe(&run);

    // A user that is not an address: the photo's address is discovered.
    let run = Run::new(Scenario::V2Hit);
    run.ews_photo("get alice@contoso.com -o alice.jpg --user CONTOSO\\jdoe")
        .env("EWS_PASSWORD", PASSWORD)
        .assert()
        .success();
    assert!(
        run.requests()[0]
            .request
            .path
            .ends_with("/v1.0/alice@contoso.com")
    );

    // A discovery that fails is the run's exit code.
    let run = Run::new(Scenario::NothingReachable);
    run.ews_photo("get alice@contoso.com -o alice.jpg")
        .assert()
        .code(6);
    assert!(!run.dir.path().join("alice.jpg").exists());
}

#[test]
fn export_without_url_discovers_once() {
    let run = Run::with(
        Scenario::V2Hit,
        Auth::Basic {
            user: "CONTOSO\\jdoe".into(),
            password: PASSWORD.into(),
        },
    );
    let list = run.dir.path().join("users.txt");
    std::fs::write(
        &list,
        "# users\nnot-an-address\nalice@contoso.com\nbob@contoso.com\ncarol@contoso.com\n",
    )
    .unwrap();
    // No --user address: the list's first address is discovered.
    let assert = run
        .ews_photo("export users.txt --dir photos --jobs 3 --user CONTOSO\\jdoe")
        .env("EWS_PASSWORD", PASSWORD)
        .assert()
        .code(1); // the malformed line fails
    let text = stderr(&assert);
    assert!(text.contains("3 fetched"), "{text}");
    let discovered: Vec<Seen> = run.autodiscover_requests();
    assert_eq!(discovered.len(), 1, "one discovery for the whole run");
    assert!(
        discovered[0]
            .request
            .path
            .ends_with("/v1.0/alice@contoso.com")
    );
    assert!(!discovered[0].has_credentials());
    assert_eq!(
        files_in(&run.dir.path().join("photos")),
        [
            ".ews-photo-manifest.json",
            "alice@contoso.com.jpg",
            "bob@contoso.com.jpg",
            "carol@contoso.com.jpg"
        ]
    );
    assert_credentials_were_safe(&run);

    // From stdin too: the list is read once.
    let run = Run::new(Scenario::V2Hit);
    run.ews_photo("export - --dir photos")
        .write_stdin("alice@contoso.com\nbob@contoso.com\n")
        .assert()
        .success();
    assert_eq!(files_in(&run.dir.path().join("photos")).len(), 3);
    assert!(
        run.requests()[0]
            .request
            .path
            .ends_with("/v1.0/alice@contoso.com")
    );
}

// ------------------------------------------------------------- --resolve

#[test]
fn resolve_entries_are_checked() {
    for bad in [
        "mail.contoso.com",
        "mail.contoso.com:443",
        "mail.contoso.com:x:127.0.0.1",
        "mail.contoso.com:443:not-an-ip",
        "mail.contoso.com:0:127.0.0.1",
        "[::1:443:127.0.0.1",
    ] {
        let text = stderr(
            &tool()
                .args(["discover", ADDRESS, "--resolve", bad])
                .assert()
                .code(2),
        );
        assert!(text.contains("give HOST:PORT:ADDR"), "{bad}: {text}");
    }
}

#[test]
fn resolve_applies_to_ews_too() {
    // The EWS URL given with --url, its host only known through --resolve.
    let run = Run::new(Scenario::V2Hit);
    run.ews_photo(&format!(
        "get alice@contoso.com -o a.jpg --url {EWS_URL} -v"
    ))
    .assert()
    .success()
    .stderr(contains("* mail.contoso.com:443 is 127.0.0.1:"));
    assert!(run.autodiscover_requests().is_empty());
}

// ------------------------------------------------------------ SRV, dnsmasq

fn dnsmasq_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("EWS_PHOTO_DNSMASQ").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "EWS_PHOTO_DNSMASQ={} is not a file",
            path.display()
        );
        return Some(path);
    }
    let found = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("dnsmasq"))
        .find(|binary| binary.is_file());
    if found.is_none() {
        eprintln!(
            "\n\n************************************************************************\n\
             SKIPPED: Autodiscover SRV test against a real DNS server: dnsmasq is not\n\
             installed. Install it (Debian: apt-get install dnsmasq-base) and run again.\n\
             ************************************************************************\n"
        );
    }
    found
}

macro_rules! dnsmasq_or_skip {
    () => {
        match dnsmasq_binary() {
            Some(binary) => binary,
            None => return,
        }
    };
}

/// dnsmasq on 127.0.0.1, authoritative for contoso.com (NXDOMAIN for names
/// it does not have, REFUSED outside), stopped when dropped.
struct Dnsmasq {
    child: Child,
    server: SocketAddr,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq serves both).
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A DNS query for an SRV name, by hand: id, RD, one question.
fn srv_query(id: u16, name: &str) -> Vec<u8> {
    let mut packet = id.to_be_bytes().to_vec();
    packet.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        packet.push(label.len() as u8);
        packet.extend_from_slice(label.as_bytes());
    }
    packet.extend_from_slice(&[0, 0, 33, 0, 1]);
    packet
}

/// True when a DNS server answers on `server` (any answer to our id).
fn answers(server: SocketAddr) -> bool {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    if socket
        .send_to(&srv_query(0x4242, "_probe._tcp.contoso.com"), server)
        .is_err()
    {
        return false;
    }
    let mut buffer = [0u8; 512];
    matches!(socket.recv_from(&mut buffer), Ok((n, _)) if n >= 2 && buffer[..2] == [0x42, 0x42])
}

fn start_dnsmasq(binary: &Path, srv_hosts: &[String]) -> Dnsmasq {
    for _ in 0..5 {
        let port = free_port();
        let mut child = Process::new(binary)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-hosts",
                "--no-resolv",
                "--pid-file=",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--local=/contoso.com/",
                &format!("--port={port}"),
            ])
            .args(srv_hosts)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq starts");
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        // Ready when it answers: a bounded wait, not a timing assumption.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            if answers(server) {
                return Dnsmasq { child, server };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("dnsmasq did not come up on 127.0.0.1 in five tries");
}

fn srv_host(target: &str, port: u16, priority: u16, weight: u16) -> String {
    format!("--srv-host=_autodiscover._tcp.contoso.com,{target},{port},{priority},{weight}")
}

impl Run {
    fn with_dns(mut self, dnsmasq: &Dnsmasq) -> Run {
        self.dns = dnsmasq.server.to_string();
        self
    }
}

fn srv_attempt(record: &serde_json::Value) -> String {
    record["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "SRV")
        .map(|c| c["reason"].as_str().unwrap().to_string())
        .expect("an SRV attempt")
}

#[test]
fn the_srv_record_through_dnsmasq() {
    let binary = dnsmasq_or_skip!();
    let dnsmasq = start_dnsmasq(&binary, &Scenario::Srv.dnsmasq_srv_args());
    // dnsmasq rotates the order of its answers; the client's order must not move.
    for _ in 0..3 {
        let run = Run::new(Scenario::Srv).with_dns(&dnsmasq);
        let record = discover_json(&run, "-v", 0);
        assert_eq!(record["ews_url"], EWS_URL, "{record}");
        assert_eq!(record["method"], "srv");
        assert_eq!(
            srv_attempt(&record),
            "try mail.contoso.com, then backup.contoso.com; not used: plain.contoso.com:80 (not on port 443), alt.contoso.com:8443 (not on port 443)"
        );
        // Lowest priority value first: backup (20) is only the fallback; a
        // client that takes the highest value, as exchangelib does, would end
        // with its URL instead.
        assert!(
            run.requests()
                .iter()
                .all(|r| r.host != "backup.contoso.com")
        );
        assert_ne!(record["ews_url"], BACKUP_EWS_URL);
        assert_credentials_were_safe(&run);
    }
}

#[test]
fn srv_nxdomain_refused_dead_servers_and_tcp() {
    let binary = dnsmasq_or_skip!();
    // No record for the name: NXDOMAIN.
    let empty = start_dnsmasq(&binary, &[]);
    let run = Run::new(Scenario::NothingReachable).with_dns(&empty);
    let record = discover_json(&run, "", 6);
    assert_eq!(srv_attempt(&record), "no such name in DNS");
    // A domain dnsmasq is not authoritative for: REFUSED.
    let run = Run::new(Scenario::NothingReachable).with_dns(&empty);
    let assert = run
        .signed_in("discover jdoe@fabrikam.com --json")
        .assert()
        .code(6);
    let reason = srv_attempt(&json(&assert));
    assert!(
        reason.contains("the DNS server answered Refused"),
        "{reason}"
    );
    // A server that refuses first: the next one in --dns-servers answers.
    let live = start_dnsmasq(&binary, &Scenario::Srv.dnsmasq_srv_args());
    let mut run = Run::new(Scenario::Srv);
    run.dns = format!("{},{}", run.refusing.addr, live.server);
    assert_eq!(discover_json(&run, "", 0)["method"], "srv");
    // 30 records do not fit into UDP: the answer comes again over TCP, and
    // only the first five targets are tried.
    let names: Vec<String> = (0..30)
        .map(|i| format!("autodiscover-frontend-{i:02}.datacenter.contoso.com"))
        .collect();
    let hosts: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| srv_host(name, 443, i as u16, 1))
        .collect();
    let big = start_dnsmasq(&binary, &hosts);
    let run = Run::new(Scenario::NothingReachable).with_dns(&big);
    let mut cmd = run.signed_in(&format!("discover {ADDRESS} --json"));
    // Every target the client may try is on this machine, and hangs up.
    for name in &names {
        let port = run.standin.silent_port();
        cmd.args(["--resolve", &format!("{name}:443:127.0.0.1:{port}")]);
    }
    let reason = srv_attempt(&json(&cmd.assert().code(6)));
    assert!(
        reason.starts_with(
            "try autodiscover-frontend-00.datacenter.contoso.com, then autodiscover-frontend-01"
        ),
        "{reason}"
    );
    assert_eq!(
        reason.matches("more targets than are tried").count(),
        25,
        "{reason}"
    );
}
