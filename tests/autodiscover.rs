//! Autodiscover against real counterparts where there are any:
//!
//! - the SRV lookup against dnsmasq (Debian's `dnsmasq-base`, installed by
//!   `.ci/run`) on 127.0.0.1 and a free port, serving `--srv-host` records of
//!   several priorities, weights and ports; skipped with a loud message only
//!   where dnsmasq is missing, and never under CI;
//! - every scenario of the Autodiscover stand-in (`fixtures/autodiscover/standin.rs`)
//!   through the discovery driver, in memory, until the stand-in serves them
//!   over TLS and the driver is wired into the client.

#[path = "fixtures/autodiscover/standin.rs"]
mod standin;

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ews_photo::autodiscover::dns::{self, DnsError, Lookup};
use ews_photo::autodiscover::srv::{self, Reply, SplitMix, SrvRecord};
use ews_photo::autodiscover::{
    Attempt, Credentials, Discovery, Error, Found, HttpAnswer, HttpReply, Options, SrvAnswer, Step,
    Unreachable, UnreachableKind,
};
use standin::{Expected, Scenario};

// ---------------------------------------------------------------- dnsmasq

fn dnsmasq_binary() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/sbin".into()]);
    for dir in candidates {
        let binary = dir.join("dnsmasq");
        if binary.is_file() {
            return Some(binary);
        }
    }
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("dnsmasq is missing under CI: .ci/run must install dnsmasq-base");
    }
    eprintln!(
        "\n\n************************************************************************\n\
         SKIPPED: SRV lookup against a real DNS server: dnsmasq is not installed.\n\
         Install it (Debian: apt-get install dnsmasq-base) and run again.\n\
         ************************************************************************\n"
    );
    None
}

/// dnsmasq on 127.0.0.1, stopped (by its own handle) when dropped.
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

fn start_dnsmasq(binary: &PathBuf, srv_hosts: &[String]) -> Dnsmasq {
    for _ in 0..5 {
        let port = free_port();
        let mut child = Command::new(binary)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-hosts",
                "--no-resolv",
                "--no-daemon",
                "--pid-file=",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--local=/contoso.com/",
                &format!("--port={port}"),
            ])
            .args(srv_hosts)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dnsmasq starts");
        let server = SocketAddr::from(([127, 0, 0, 1], port));
        // Ready when it answers; a bounded wait, not a timing assumption.
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait().unwrap() {
                let mut stderr = String::new();
                use std::io::Read;
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                eprintln!("dnsmasq on port {port} exited ({status}): {stderr}");
                break;
            }
            let probe = dns::lookup_srv(
                "_probe._tcp.contoso.com",
                &[server],
                Duration::from_millis(200),
            );
            if probe.is_ok() {
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

const NAME: &str = "_autodiscover._tcp.contoso.com";

fn records_of(lookup: Lookup) -> Vec<SrvRecord> {
    match lookup.reply {
        Reply::Records(records) => records,
        other => panic!("expected records, got {other:?}"),
    }
}

#[test]
fn srv_order_and_port_filter_against_dnsmasq() {
    let Some(binary) = dnsmasq_binary() else {
        return;
    };
    let dnsmasq = start_dnsmasq(
        &binary,
        &[
            srv_host("backup.contoso.com", 443, 20, 5),
            srv_host("mail.contoso.com", 443, 10, 5),
            srv_host("heavy.contoso.com", 443, 10, 60),
            srv_host("plain.contoso.com", 80, 0, 0),
            srv_host("alt.contoso.com", 8443, 5, 0),
        ],
    );
    // Through --dns-servers' own parser, as the CLI will pass it.
    let servers = dns::parse_servers(&format!("127.0.0.1:{}", dnsmasq.server.port())).unwrap();
    let mut seen_orders = Vec::new();
    for round in 0..4 {
        let lookup = dns::lookup_srv(NAME, &servers, dns::DEFAULT_TIMEOUT).unwrap();
        assert_eq!(lookup.server, dnsmasq.server);
        assert!(!lookup.over_tcp);
        let records = records_of(lookup);
        assert_eq!(records.len(), 5, "round {round}: {records:?}");
        seen_orders.push(records.iter().map(|r| r.target.clone()).collect::<Vec<_>>());
        // Lowest priority value first; within priority 10 the weights decide:
        // a source that always draws its largest value takes the heaviest first…
        let (targets, unused) = srv::usable_targets(records.clone(), &mut |total| total);
        assert_eq!(
            targets,
            [
                "heavy.contoso.com",
                "mail.contoso.com",
                "backup.contoso.com"
            ]
        );
        let mut unused: Vec<String> = unused
            .iter()
            .map(|u| format!("{}:{} {}", u.record.target, u.record.port, u.reason))
            .collect();
        unused.sort();
        assert_eq!(
            unused,
            [
                "alt.contoso.com:8443 not on port 443",
                "plain.contoso.com:80 not on port 443"
            ]
        );
        // …one that draws 0 the lightest; whatever order dnsmasq sent.
        let (targets, _) = srv::usable_targets(records.clone(), &mut |_| 0);
        assert_eq!(
            targets,
            [
                "mail.contoso.com",
                "heavy.contoso.com",
                "backup.contoso.com"
            ]
        );
        // A seeded source gives the same order every time.
        let mut random = SplitMix::new(12);
        let (seeded, _) = srv::usable_targets(records, &mut |t| random.up_to(t));
        let mut again = SplitMix::new(12);
        let records = records_of(dns::lookup_srv(NAME, &servers, dns::DEFAULT_TIMEOUT).unwrap());
        assert_eq!(
            srv::usable_targets(records, &mut |t| again.up_to(t)).0,
            seeded
        );
    }
    eprintln!("dnsmasq's answer orders: {seen_orders:?}");
}

#[test]
fn nxdomain_refused_and_a_dead_server_against_dnsmasq() {
    let Some(binary) = dnsmasq_binary() else {
        return;
    };
    let dnsmasq = start_dnsmasq(&binary, &[srv_host("mail.contoso.com", 443, 0, 0)]);
    let lookup = dns::lookup_srv(
        "_autodiscover._tcp.nope.contoso.com",
        &[dnsmasq.server],
        dns::DEFAULT_TIMEOUT,
    )
    .unwrap();
    assert_eq!(lookup.reply, Reply::NoSuchName);
    let refused = dns::lookup_srv(
        "_autodiscover._tcp.fabrikam.com",
        &[dnsmasq.server],
        dns::DEFAULT_TIMEOUT,
    )
    .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("the DNS server answered Refused"),
        "{refused}"
    );
    // A server that is not there is passed over for the next one.
    let dead = {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.local_addr().unwrap()
    };
    let lookup = dns::lookup_srv(NAME, &[dead, dnsmasq.server], Duration::from_secs(2)).unwrap();
    assert_eq!(lookup.server, dnsmasq.server);
    assert_eq!(records_of(lookup).len(), 1);
}

#[test]
fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let Some(binary) = dnsmasq_binary() else {
        return;
    };
    // 30 records with long names do not fit into 512 bytes of UDP.
    let hosts: Vec<String> = (0..30)
        .map(|i| {
            srv_host(
                &format!("autodiscover-frontend-{i:02}.datacenter.contoso.com"),
                443,
                i,
                1,
            )
        })
        .collect();
    let dnsmasq = start_dnsmasq(&binary, &hosts);
    let lookup = dns::lookup_srv(NAME, &[dnsmasq.server], dns::DEFAULT_TIMEOUT).unwrap();
    assert!(
        lookup.over_tcp,
        "the answer should have been truncated over UDP"
    );
    let records = records_of(lookup);
    assert_eq!(records.len(), 30);
    let (targets, unused) = srv::usable_targets(records, &mut |_| 0);
    assert_eq!(
        targets[0],
        "autodiscover-frontend-00.datacenter.contoso.com"
    );
    assert_eq!(targets.len(), srv::MAX_TARGETS);
    assert_eq!(unused.len(), 30 - srv::MAX_TARGETS);
}

#[test]
fn the_srv_scenario_with_real_dns() {
    let Some(binary) = dnsmasq_binary() else {
        return;
    };
    let dnsmasq = start_dnsmasq(&binary, &Scenario::Srv.dnsmasq_srv_args());
    let run = run_scenario(Scenario::Srv, &|name| match dns::lookup_srv(
        name,
        &[dnsmasq.server],
        dns::DEFAULT_TIMEOUT,
    ) {
        Ok(Lookup {
            reply: Reply::Records(records),
            ..
        }) => SrvAnswer::Records(records),
        Ok(Lookup {
            reply: Reply::NoSuchName,
            ..
        }) => SrvAnswer::NoSuchName,
        Ok(other) => panic!("{other:?}"),
        Err(e @ DnsError::Failed { .. }) => SrvAnswer::Failed(e.to_string()),
        Err(e) => panic!("{e}"),
    });
    check_expected(Scenario::Srv, &run);
    assert!(
        !run.requests.iter().any(|r| r.host == "backup.contoso.com"),
        "the higher priority value is only a fallback"
    );
}

// ------------------------------------------------- stand-in scenarios, in memory

struct StandinRequest {
    method: String,
    https: bool,
    host: String,
    authorization: bool,
}

struct Run {
    outcome: Result<Found, Error>,
    attempts: Vec<Attempt>,
    requests: Vec<StandinRequest>,
}

/// The driver against the stand-in's answers: what the client's I/O part will
/// do — connect (or not), TLS (or a certificate error), one Basic leg after a
/// 401 when the request allows credentials.
fn run_scenario(scenario: Scenario, srv: &dyn Fn(&str) -> SrvAnswer) -> Run {
    let mut discovery = Discovery::new(standin::ADDRESS, Options::default()).unwrap();
    let mut requests = Vec::new();
    for _ in 0..200 {
        match discovery.step() {
            Step::Done(outcome) => {
                return Run {
                    outcome,
                    attempts: discovery.attempts().to_vec(),
                    requests,
                };
            }
            Step::LookUpSrv { name } => discovery.srv_answer(srv(&name)),
            Step::Http(request) => {
                let (https, rest) = match request.url.split_once("://") {
                    Some(("https", rest)) => (true, rest),
                    Some(("http", rest)) => (false, rest),
                    _ => panic!("{}", request.url),
                };
                let (host, target) = rest.split_at(rest.find('/').unwrap());
                let failed = |kind, detail: &str| {
                    HttpAnswer::Failed(Unreachable {
                        kind,
                        detail: detail.into(),
                    })
                };
                if !scenario.serves(https, host) {
                    discovery.http_answer(failed(UnreachableKind::Connect, "connection refused"));
                    continue;
                }
                if https && scenario.bad_certificate_hosts().contains(&host) {
                    discovery.http_answer(failed(
                        UnreachableKind::Tls,
                        "invalid peer certificate: UnknownIssuer",
                    ));
                    continue;
                }
                let basic = standin::basic(standin::USER, standin::PASSWORD);
                let mut ask = |authorization: Option<&str>| {
                    requests.push(StandinRequest {
                        method: request.method.as_str().into(),
                        https,
                        host: host.into(),
                        authorization: authorization.is_some(),
                    });
                    standin::respond(
                        scenario,
                        &standin::Request {
                            method: request.method.as_str(),
                            https,
                            host,
                            target,
                            authorization,
                            body: &request.body,
                        },
                    )
                    .expect("a served host answers")
                };
                let mut response = ask(None);
                let mut credentials_sent = false;
                if response.status == 401 && request.credentials == Credentials::OnChallenge {
                    response = ask(Some(&basic));
                    credentials_sent = true;
                }
                let location = response
                    .headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("location"))
                    .map(|(_, value)| value.clone());
                discovery.http_answer(HttpAnswer::Reply(HttpReply {
                    status: response.status,
                    location,
                    body: response.body,
                    credentials_sent,
                }));
            }
        }
    }
    panic!("{scenario:?} did not finish in 200 steps");
}

fn check_expected(scenario: Scenario, run: &Run) {
    let attempts: Vec<String> = run.attempts.iter().map(|a| a.to_string()).collect();
    match (scenario.expected(), &run.outcome) {
        (Expected::Found { ews_url, method }, Ok(found)) => {
            assert_eq!(found.ews_url, ews_url, "{scenario:?}: {attempts:#?}");
            assert_eq!(
                serde_json::to_value(found.method).unwrap(),
                method,
                "{scenario:?}: {attempts:#?}"
            );
        }
        (Expected::Exit(code), Err(err)) => {
            assert_eq!(err.exit_code(), code, "{scenario:?}: {err}\n{attempts:#?}");
        }
        (expected, outcome) => {
            panic!("{scenario:?}: expected {expected:?}, got {outcome:?}\n{attempts:#?}")
        }
    }
    // Credentials go only over https, never to Autodiscover v2, and never
    // before the server asked.
    for request in &run.requests {
        if request.authorization {
            assert!(
                request.https,
                "{scenario:?}: credentials over plain http to {}",
                request.host
            );
            assert_eq!(request.method, "POST", "{scenario:?}");
        }
    }
    let mut asked = std::collections::HashSet::new();
    for request in &run.requests {
        if request.authorization {
            assert!(
                asked.contains(&request.host),
                "{scenario:?}: credentials to {} before a 401",
                request.host
            );
        } else {
            asked.insert(request.host.clone());
        }
    }
}

fn records_from(scenario: Scenario) -> impl Fn(&str) -> SrvAnswer {
    move |_name| {
        let records = scenario.srv_records();
        if records.is_empty() {
            return SrvAnswer::NoSuchName;
        }
        SrvAnswer::Records(
            records
                .into_iter()
                .map(|(priority, weight, port, target)| SrvRecord {
                    priority,
                    weight,
                    port,
                    target: target.into(),
                })
                .collect(),
        )
    }
}

#[test]
fn every_standin_scenario_ends_as_expected() {
    for scenario in Scenario::ALL {
        let run = run_scenario(scenario, &records_from(scenario));
        check_expected(scenario, &run);
    }
}

#[test]
fn the_bad_certificate_host_gets_nothing() {
    let run = run_scenario(
        Scenario::BadCertificate,
        &records_from(Scenario::BadCertificate),
    );
    assert!(
        !run.requests
            .iter()
            .any(|r| r.host == "contoso.com" && r.https)
    );
    let passed = &run.attempts[1];
    assert_eq!(
        passed.url,
        "https://contoso.com/autodiscover/autodiscover.xml"
    );
    assert!(
        passed
            .reason
            .starts_with("TLS failed: invalid peer certificate"),
        "{}",
        passed.reason
    );
}

#[test]
fn the_redirect_loop_is_a_clear_error() {
    let run = run_scenario(
        Scenario::RedirectLoop,
        &records_from(Scenario::RedirectLoop),
    );
    let err = run.outcome.unwrap_err();
    assert!(matches!(err, Error::RedirectLoop { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Autodiscover for jdoe@contoso.com ran into a redirect loop (POST https://autodiscover.contoso.com/autodiscover/autodiscover.xml: redirectUrl to https://contoso.com/autodiscover/autodiscover.xml: a redirect loop (https://contoso.com/autodiscover/autodiscover.xml → https://autodiscover.contoso.com/autodiscover/autodiscover.xml → https://contoso.com/autodiscover/autodiscover.xml)); the servers' redirects point back at each other: tell the Exchange administrators, or pass the EWS URL with --url"
    );
}

#[test]
fn redirect_addr_asks_again_for_the_new_address() {
    let run = run_scenario(
        Scenario::RedirectAddr,
        &records_from(Scenario::RedirectAddr),
    );
    let found = run.outcome.unwrap();
    assert_eq!(found.address, "jdoe@fabrikam.com");
    assert!(found.trusted);
    assert!(
        run.requests
            .iter()
            .any(|r| r.host == "fabrikam.com" && r.authorization)
    );
}

#[test]
fn only_authentication_in_the_way() {
    let run = run_scenario(Scenario::AuthOnly, &records_from(Scenario::AuthOnly));
    let err = run.outcome.unwrap_err();
    assert!(
        err.to_string()
            .contains("HTTP 401: the credentials were rejected"),
        "{err}"
    );
}
