//! The discovery's decisions, against an in-memory network.

use std::collections::HashMap;

use super::*;
use crate::http::Method;

const V2: &str = "https://autodiscover.contoso.com/autodiscover/autodiscover.json/v1.0/jdoe@contoso.com?Protocol=EWS";
const ROOT: &str = "https://contoso.com/autodiscover/autodiscover.xml";
const AD: &str = "https://autodiscover.contoso.com/autodiscover/autodiscover.xml";
const PROBE: &str = "http://autodiscover.contoso.com/autodiscover/autodiscover.xml";
const SRV: &str = "_autodiscover._tcp.contoso.com";

fn settings(ews_url: &str) -> Vec<u8> {
    format!(
        r#"<Autodiscover xmlns="{}"><Response xmlns="{}"><Account><Action>settings</Action><Protocol><Type>EXPR</Type><EwsUrl>{ews_url}</EwsUrl></Protocol></Account></Response></Autodiscover>"#,
        pox::NS_BASE,
        pox::NS_OUTLOOK
    )
    .into_bytes()
}

fn pox_redirect(action: &str, element: &str, target: &str) -> Vec<u8> {
    format!(
        r#"<Autodiscover xmlns="{}"><Response xmlns="{}"><Account><Action>{action}</Action><{element}>{target}</{element}></Account></Response></Autodiscover>"#,
        pox::NS_BASE,
        pox::NS_OUTLOOK
    )
    .into_bytes()
}

fn ok(body: impl Into<Vec<u8>>) -> HttpAnswer {
    status(200, body)
}

fn status(status: u16, body: impl Into<Vec<u8>>) -> HttpAnswer {
    HttpAnswer::Reply {
        reply: HttpReply {
            status,
            headers: Vec::new(),
            body: body.into(),
        },
        credentials_sent: false,
    }
}

fn moved(code: u16, location: &str) -> HttpAnswer {
    HttpAnswer::Reply {
        reply: HttpReply {
            status: code,
            headers: vec![("location".into(), location.into())],
            body: Vec::new(),
        },
        credentials_sent: false,
    }
}

fn failed(reason: &str) -> HttpAnswer {
    HttpAnswer::Failed(reason.into())
}

fn exit_code(err: &Error) -> u8 {
    crate::Error::from(err.clone()).exit().code()
}

fn url(text: &str) -> HttpUrl {
    HttpUrl::parse(text).unwrap()
}

/// URLs that answer; everything else is refused. A 401 is answered with
/// credentials when the request allows it and `password` is set.
#[derive(Default)]
struct Net {
    routes: HashMap<String, HttpAnswer>,
    srv: Option<SrvAnswer>,
    password: bool,
    /// Every request as (method, url, what the credentials policy was, whether credentials went).
    log: Vec<(Method, String, CredentialPolicy, bool)>,
}

impl Net {
    fn with(mut self, url: &str, answer: HttpAnswer) -> Net {
        self.routes.insert(url.into(), answer);
        self
    }

    fn srv(mut self, answer: SrvAnswer) -> Net {
        self.srv = Some(answer);
        self
    }

    fn run(&mut self, address: &str, options: Options) -> (Result<Found, Error>, Vec<Attempt>) {
        let mut discovery = Discovery::new(address, options).unwrap();
        for _ in 0..100 {
            match discovery.step() {
                Step::Http(request) => {
                    let target = request.http.url.as_str().to_string();
                    let mut answer = self
                        .routes
                        .get(&target)
                        .cloned()
                        .unwrap_or_else(|| failed("the connection failed: connection refused"));
                    let mut sent = false;
                    if let HttpAnswer::Reply {
                        reply,
                        credentials_sent,
                    } = &mut answer
                        && reply.status == 401
                        && request.credentials == CredentialPolicy::OnChallenge
                        && self.password
                    {
                        // The server rejects the credentials too: only the leg is modelled.
                        *credentials_sent = true;
                        sent = true;
                    }
                    self.log
                        .push((request.http.method, target, request.credentials, sent));
                    discovery.http_answer(answer);
                }
                Step::LookUpSrv { name } => {
                    assert_eq!(
                        name,
                        SRV.replace("contoso.com", name.rsplit("_tcp.").next().unwrap())
                    );
                    let answer = self.srv.clone().unwrap_or(SrvAnswer::NoSuchName);
                    discovery.srv_answer(answer);
                }
                Step::Done(outcome) => return (outcome, discovery.attempts().to_vec()),
            }
        }
        panic!("the discovery did not finish in 100 steps")
    }

    fn urls(&self) -> Vec<String> {
        self.log
            .iter()
            .map(|(m, u, _, _)| format!("{} {u}", m.as_str()))
            .collect()
    }
}

fn run(net: &mut Net) -> (Result<Found, Error>, Vec<Attempt>) {
    net.run("jdoe@contoso.com", Options::default())
}

#[test]
fn every_candidate_in_order_when_nothing_answers() {
    let mut net = Net::default();
    let (outcome, attempts) = run(&mut net);
    assert_eq!(
        net.urls(),
        [
            format!("GET {V2}"),
            format!("POST {ROOT}"),
            format!("POST {AD}"),
            format!("GET {PROBE}"),
        ]
    );
    assert_eq!(attempts.len(), 5);
    assert_eq!(attempts[4].method, "SRV");
    assert_eq!(attempts[4].reason, "no such name in DNS");
    let err = outcome.unwrap_err();
    assert!(matches!(err, Error::NothingReachable { .. }), "{err:?}");
    assert_eq!(exit_code(&err), 6);
    assert!(
        err.to_string().starts_with(&format!(
            "Autodiscover reached no server for jdoe@contoso.com (GET {V2}: the connection failed: connection refused;"
        )),
        "{err}"
    );
    assert!(err.to_string().contains("and 2 more"), "{err}");
    // Nothing that could carry credentials went over plain http or to v2.
    for (method, url, credentials, _) in &net.log {
        if url.starts_with("http://") || url.contains(".json") {
            assert_eq!(
                *credentials,
                CredentialPolicy::Never,
                "{} {url}",
                method.as_str()
            );
        } else {
            assert_eq!(*credentials, CredentialPolicy::OnChallenge, "{url}");
        }
    }
}

#[test]
fn a_v2_hit_ends_the_search() {
    let mut net = Net::default().with(V2, ok(fixture!("v2-ews.json")));
    let (outcome, attempts) = run(&mut net);
    let found = outcome.unwrap();
    assert_eq!(
        found,
        Found {
            ews_url: url("https://outlook.office365.com/EWS/Exchange.asmx"),
            method: Source::V2,
            autodiscover_url: url(V2),
            address: "jdoe@contoso.com".into(),
            trusted: true,
        }
    );
    assert_eq!(net.log.len(), 1);
    assert_eq!(attempts[0].result, AttemptResult::Found);
    assert_eq!(net.log[0].2, CredentialPolicy::Never);
}

#[test]
fn a_v2_error_goes_on_to_pox() {
    let mut net = Net::default()
        .with(V2, status(400, fixture!("v2-invalid-protocol.json")))
        .with(ROOT, ok(fixture!("pox-exchange2016-capture.xml")));
    let (outcome, attempts) = run(&mut net);
    let found = outcome.unwrap();
    assert_eq!(
        found.ews_url.as_str(),
        "https://mail.contoso.com/EWS/Exchange.asmx"
    );
    assert_eq!(found.method, Source::PoxDomain);
    assert_eq!(attempts[0].status, Some(400));
    assert!(
        attempts[0].reason.contains("InvalidProtocol"),
        "{}",
        attempts[0].reason
    );
    assert_eq!(
        attempts[1].reason,
        "EWS URL https://mail.contoso.com/EWS/Exchange.asmx"
    );
}

#[test]
fn a_bad_certificate_is_passed_over() {
    let mut net = Net::default()
        .with(
            ROOT,
            failed("TLS failed: invalid peer certificate: UnknownIssuer"),
        )
        .with(AD, ok(fixture!("pox-expr.xml")));
    let (outcome, attempts) = run(&mut net);
    assert_eq!(outcome.unwrap().method, Source::PoxAutodiscoverHost);
    assert_eq!(
        attempts[1].to_string(),
        format!(
            "POST {ROOT} (POX on the domain): passed over: TLS failed: invalid peer certificate: UnknownIssuer"
        )
    );
}

#[test]
fn only_authentication_in_the_way_is_its_own_verdict() {
    let mut net = Net::default()
        .with(V2, status(404, b"<html>not found</html>".to_vec()))
        .with(ROOT, ok(fixture!("html-page.html")))
        .with(AD, status(401, Vec::new()));
    let (outcome, _) = run(&mut net);
    let err = outcome.unwrap_err();
    assert_eq!(exit_code(&err), 4);
    assert_eq!(
        err.to_string(),
        format!(
            "Autodiscover for jdoe@contoso.com needs authentication (POST {AD}: HTTP 401: asks for credentials, and none were given); check --user and the password, or pass the EWS URL with --url"
        )
    );
    net.password = true;
    net.log.clear();
    let (outcome, _) = run(&mut net);
    assert!(
        outcome
            .unwrap_err()
            .to_string()
            .contains("HTTP 401: the credentials were rejected")
    );
    assert!(net.log.iter().any(|(_, url, _, sent)| url == AD && *sent));
}

#[test]
fn an_autodiscover_error_outweighs_a_401_elsewhere() {
    let mut net = Net::default()
        .with(ROOT, status(401, Vec::new()))
        .with(AD, ok(fixture!("pox-error-500.xml")));
    let err = run(&mut net).0.unwrap_err();
    assert_eq!(exit_code(&err), 1);
    assert!(matches!(err, Error::NoEwsUrl { .. }));
    assert!(
        err.to_string()
            .contains("Autodiscover error 500: The e-mail address cannot be found."),
        "{err}"
    );
}

#[test]
fn answers_without_an_ews_url() {
    let mut net = Net::default()
        .with(V2, status(404, Vec::new()))
        .with(ROOT, ok(fixture!("pox-imap-only.xml")))
        .with(PROBE, status(200, b"IIS".to_vec()));
    let (outcome, attempts) = run(&mut net);
    let err = outcome.unwrap_err();
    assert_eq!(exit_code(&err), 1);
    assert!(
        err.to_string().contains("settings without an EWS URL: no EXPR or EXCH protocol has EwsUrl or ASUrl (protocols: IMAP, SMTP)"),
        "{err}"
    );
    assert_eq!(attempts[3].reason, "HTTP 200 without a redirect to https");
}

#[test]
fn answers_that_are_not_autodiscover_count_as_answers() {
    let mut net = Net::default()
        .with(V2, status(404, Vec::new()))
        .with(ROOT, ok(fixture!("html-page.html")));
    let err = run(&mut net).0.unwrap_err();
    assert!(matches!(err, Error::NoEwsUrl { .. }));
    assert!(
        err.to_string()
            .contains("HTTP 404: no Autodiscover v2 here"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("HTTP 200, but an HTML page, not an Autodiscover answer"),
        "{err}"
    );
}

#[test]
fn redirect_addr_starts_again_for_the_new_address() {
    let fabrikam_root = "https://fabrikam.com/autodiscover/autodiscover.xml";
    let mut net = Net::default()
        .with(ROOT, ok(fixture!("pox-redirect-addr.xml")))
        .with(
            fabrikam_root,
            ok(settings("https://mail.fabrikam.com/EWS/Exchange.asmx")),
        );
    let (outcome, attempts) = run(&mut net);
    let found = outcome.unwrap();
    assert_eq!(found.address, "jdoe@fabrikam.com");
    assert_eq!(
        found.ews_url.as_str(),
        "https://mail.fabrikam.com/EWS/Exchange.asmx"
    );
    assert!(found.trusted, "reached from the address over https only");
    assert_eq!(
        net.urls()[2..],
        [
            "GET https://autodiscover.fabrikam.com/autodiscover/autodiscover.json/v1.0/jdoe@fabrikam.com?Protocol=EWS".to_string(),
            format!("POST {fabrikam_root}"),
        ]
    );
    assert_eq!(attempts[1].reason, "redirectAddr to jdoe@fabrikam.com");
    assert_eq!(attempts[2].address, "jdoe@fabrikam.com");
}

#[test]
fn the_pox_body_carries_the_current_address() {
    let mut discovery = Discovery::new("jdoe@contoso.com", Options::default()).unwrap();
    // An answer before the first step finds nothing pending and is ignored.
    discovery.http_answer(failed("the host name does not resolve"));
    let mut next = |answer: HttpAnswer| {
        let Step::Http(request) = discovery.step() else {
            panic!("expected a request")
        };
        discovery.http_answer(answer);
        request
    };
    assert_eq!(
        next(failed("the host name does not resolve"))
            .http
            .url
            .as_str(),
        V2
    );
    let request = next(ok(fixture!("pox-redirect-addr.xml"))).http;
    assert_eq!(request.method, Method::Post);
    assert_eq!(request.url.as_str(), ROOT);
    assert_eq!(
        request.body,
        Some(pox::request("jdoe@contoso.com").into_bytes())
    );
    assert!(
        request
            .headers
            .contains(&("Content-Type", "text/xml; charset=utf-8".into()))
    );
    assert!(
        next(failed("the host name does not resolve"))
            .http
            .url
            .as_str()
            .contains("/v1.0/jdoe@fabrikam.com?")
    );
    let request = next(failed("the host name does not resolve")).http;
    assert_eq!(
        request.url.as_str(),
        "https://fabrikam.com/autodiscover/autodiscover.xml"
    );
    assert_eq!(
        request.body,
        Some(pox::request("jdoe@fabrikam.com").into_bytes())
    );
}

#[test]
fn an_address_loop_stops_everything() {
    let fabrikam_root = "https://fabrikam.com/autodiscover/autodiscover.xml";
    let mut net = Net::default()
        .with(ROOT, ok(fixture!("pox-redirect-addr.xml")))
        .with(
            fabrikam_root,
            ok(pox_redirect(
                "redirectAddr",
                "RedirectAddr",
                "JDoe@Contoso.com",
            )),
        );
    let err = run(&mut net).0.unwrap_err();
    assert_eq!(
        err,
        Error::AddressLoop {
            address: "jdoe@contoso.com".into(),
            chain: "jdoe@contoso.com → jdoe@fabrikam.com → jdoe@contoso.com".into()
        }
    );
    assert_eq!(exit_code(&err), 1);
    assert_eq!(net.log.len(), 4, "nothing after the loop is tried");
}

#[test]
fn redirect_url_both_spellings() {
    let target = "https://mail.contoso.com/autodiscover/autodiscover.xml";
    for fixture in [
        fixture!("pox-redirect-url-upper.xml").to_vec(),
        pox_redirect("redirectUrl", "RedirectUrl", target),
    ] {
        let mut net = Net::default()
            .with(ROOT, ok(fixture))
            .with(target, ok(fixture!("pox-exch-only.xml")));
        let (outcome, attempts) = run(&mut net);
        let found = outcome.unwrap();
        assert_eq!(found.autodiscover_url.as_str(), target);
        assert_eq!(found.method, Source::PoxDomain);
        assert_eq!(attempts[1].result, AttemptResult::Redirected);
        assert_eq!(net.log[2].2, CredentialPolicy::OnChallenge);
    }
}

#[test]
fn a_redirect_url_that_is_not_https_or_not_autodiscover_is_refused() {
    for (target, why) in [
        (
            "http://mail.contoso.com/autodiscover/autodiscover.xml",
            "which is not https",
        ),
        (
            "https://mail.contoso.com/EWS/Exchange.asmx",
            "which is not an Autodiscover URL",
        ),
    ] {
        let mut net =
            Net::default().with(ROOT, ok(pox_redirect("redirectUrl", "RedirectUrl", target)));
        let (_, attempts) = run(&mut net);
        assert_eq!(attempts[1].result, AttemptResult::PassedOver);
        assert!(attempts[1].reason.ends_with(why), "{}", attempts[1].reason);
        assert!(!net.urls().iter().any(|u| u.ends_with(target)));
    }
}

#[test]
fn http_redirects_between_pox_endpoints() {
    let target = "https://mail.contoso.com/Autodiscover/Autodiscover.xml";
    for code in [301, 302, 303, 307] {
        let mut net = Net::default()
            .with(ROOT, moved(code, target))
            .with(target, ok(fixture!("pox-expr.xml")));
        let (outcome, attempts) = run(&mut net);
        assert_eq!(outcome.unwrap().autodiscover_url.as_str(), target);
        assert_eq!(attempts[1].reason, format!("HTTP {code} to {target}"));
        assert_eq!(net.log[2].0, Method::Post, "POX is re-posted after {code}");
    }
    let mut net = Net::default()
        .with(ROOT, moved(308, target))
        .with(target, ok(fixture!("pox-expr.xml")));
    assert!(run(&mut net).0.is_err(), "308 is not followed");
    let mut net = Net::default().with(ROOT, moved(302, "https://www.contoso.com/"));
    let (_, attempts) = run(&mut net);
    assert_eq!(
        attempts[1].reason,
        "HTTP 302: a redirect to https://www.contoso.com/, which is not an Autodiscover URL"
    );
}

#[test]
fn a_url_loop_is_passed_over_and_reported_when_nothing_else_works() {
    let b = "https://mail.contoso.com/autodiscover/autodiscover.xml";
    let mut net = Net::default()
        .with(ROOT, ok(pox_redirect("redirectUrl", "RedirectUrl", b)))
        .with(b, moved(302, "/Autodiscover/Autodiscover.xml").clone());
    // b's relative Location resolves against b itself: b → b.
    let (outcome, attempts) = run(&mut net);
    let err = outcome.unwrap_err();
    assert!(matches!(err, Error::RedirectLoop { .. }), "{err:?}");
    assert_eq!(exit_code(&err), 1);
    assert!(
        attempts[2].reason.contains("a redirect loop ("),
        "{}",
        attempts[2].reason
    );
    assert!(err.to_string().contains("a redirect loop"), "{err}");

    let a = ROOT;
    let mut net = Net::default()
        .with(a, ok(pox_redirect("redirectUrl", "RedirectUrl", b)))
        .with(b, moved(302, a))
        .with(AD, ok(fixture!("pox-expr.xml")));
    let (outcome, attempts) = run(&mut net);
    assert_eq!(
        outcome.unwrap().method,
        Source::PoxAutodiscoverHost,
        "the next candidate still runs"
    );
    assert_eq!(
        attempts[2].reason,
        format!("HTTP 302 to {a}: a redirect loop ({a} → {b} → {a})")
    );
}

#[test]
fn at_most_ten_redirects_in_all() {
    let mut net = Net::default().with(
        ROOT,
        moved(302, "https://h1.contoso.com/autodiscover/autodiscover.xml"),
    );
    for i in 1..=11 {
        net = net.with(
            &format!("https://h{i}.contoso.com/autodiscover/autodiscover.xml"),
            moved(
                302,
                &format!(
                    "https://h{}.contoso.com/autodiscover/autodiscover.xml",
                    i + 1
                ),
            ),
        );
    }
    let (outcome, _) = run(&mut net);
    let Err(Error::TooManyRedirects { limit, chain, .. }) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(limit, 10);
    assert!(
        chain.starts_with(&format!("{ROOT} → https://h1.contoso.com/")),
        "{chain}"
    );
    assert!(
        chain.ends_with("h9.contoso.com/autodiscover/autodiscover.xml → https://h10.contoso.com/autodiscover/autodiscover.xml → https://h11.contoso.com/autodiscover/autodiscover.xml"),
        "{chain}"
    );
    assert_eq!(net.log.len(), 2 + 10, "v2, root, then h1..h10");
}

#[test]
fn address_and_url_redirects_share_the_budget() {
    let mut net = Net::default();
    // contoso → a1@fabrikam1 → … each by redirectAddr, 11 times.
    net = net.with(
        ROOT,
        ok(pox_redirect("redirectAddr", "RedirectAddr", "a@f1.com")),
    );
    for i in 1..=11 {
        net = net.with(
            &format!("https://f{i}.com/autodiscover/autodiscover.xml"),
            ok(pox_redirect(
                "redirectAddr",
                "RedirectAddr",
                &format!("a@f{}.com", i + 1),
            )),
        );
    }
    assert!(matches!(
        run(&mut net).0,
        Err(Error::TooManyRedirects { .. })
    ));
}

#[test]
fn the_plain_http_probe_may_only_redirect_to_https() {
    let inside = "https://mail.contoso.com/autodiscover/autodiscover.xml";
    let mut net = Net::default()
        .with(PROBE, moved(302, inside))
        .with(inside, ok(fixture!("pox-expr.xml")));
    let (outcome, attempts) = run(&mut net);
    let found = outcome.unwrap();
    assert_eq!(found.method, Source::HttpRedirect);
    assert!(found.trusted, "the EWS host is inside contoso.com");
    assert_eq!(attempts[3].reason, format!("HTTP 302 to {inside}"));
    assert_eq!(net.log[3].2, CredentialPolicy::Never);
    assert_eq!(
        net.log[4].2,
        CredentialPolicy::OnChallenge,
        "inside the address's domain"
    );

    for location in [
        "http://mail.contoso.com/autodiscover/autodiscover.xml",
        "/autodiscover/autodiscover.xml",
        "https://mail.contoso.com/owa/",
    ] {
        let mut net = Net::default().with(PROBE, moved(302, location));
        let (_, attempts) = run(&mut net);
        assert_eq!(attempts[3].result, AttemptResult::PassedOver, "{location}");
        assert_eq!(net.log.len(), 4, "nothing followed for {location}");
    }
}

#[test]
fn credentials_are_withheld_from_a_foreign_host_named_over_plain_http() {
    let foreign = "https://autodiscover-s.outlook.com/autodiscover/autodiscover.xml";
    let mut net = Net::default()
        .with(PROBE, moved(302, foreign))
        .with(foreign, status(401, Vec::new()));
    net.password = true;
    let (outcome, _) = run(&mut net);
    let (_, url, credentials, sent) = &net.log[4];
    assert_eq!(url, foreign);
    assert!(!sent);
    let CredentialPolicy::Withheld(why) = credentials else {
        panic!("{credentials:?}")
    };
    assert_eq!(
        why,
        "autodiscover-s.outlook.com was named only by an unauthenticated plain-http redirect and is outside contoso.com; for Exchange Online, pass --url https://outlook.office365.com/EWS/Exchange.asmx"
    );
    let err = outcome.unwrap_err();
    assert_eq!(exit_code(&err), 4);
    assert!(
        err.to_string()
            .contains("asks for credentials, not sent: autodiscover-s.outlook.com was named only"),
        "{err}"
    );

    // The user can allow it; then the credentials go after the 401.
    net.log.clear();
    let options = Options {
        trust_unauthenticated_referrals: true,
        ..Options::default()
    };
    let _ = net.run("jdoe@contoso.com", options);
    assert_eq!(net.log[4].2, CredentialPolicy::OnChallenge);
    assert!(net.log[4].3);
}

#[test]
fn a_foreign_url_found_over_plain_http_is_marked_untrusted() {
    let foreign = "https://ad.hoster.example/autodiscover/autodiscover.xml";
    let mut net = Net::default().with(PROBE, moved(302, foreign)).with(
        foreign,
        ok(settings("https://ews.hoster.example/EWS/Exchange.asmx")),
    );
    let found = run(&mut net).0.unwrap();
    assert!(!found.trusted);
    // A redirectAddr from such a host cannot make its own domain trusted either.
    let mut net = Net::default()
        .with(PROBE, moved(302, foreign))
        .with(
            foreign,
            ok(pox_redirect(
                "redirectAddr",
                "RedirectAddr",
                "jdoe@hoster.example",
            )),
        )
        .with(
            "https://hoster.example/autodiscover/autodiscover.xml",
            status(401, Vec::new()),
        );
    let _ = run(&mut net);
    let (_, _, credentials, _) = net
        .log
        .iter()
        .find(|(_, url, _, _)| url == "https://hoster.example/autodiscover/autodiscover.xml")
        .unwrap();
    assert!(
        matches!(credentials, CredentialPolicy::Withheld(_)),
        "{credentials:?}"
    );
}

#[test]
fn srv_targets_in_rfc_2782_order_on_port_443_only() {
    let record = |priority, weight, port, target: &str| SrvRecord {
        priority,
        weight,
        port,
        target: target.into(),
    };
    let mut net = Net::default()
        .srv(SrvAnswer::Records(vec![
            record(20, 0, 443, "backup.contoso.com"),
            record(0, 0, 80, "plain.contoso.com"),
            record(10, 0, 443, "mail.contoso.com"),
            record(5, 0, 443, "ad.hoster.example"),
        ]))
        .with(
            "https://mail.contoso.com/autodiscover/autodiscover.xml",
            ok(fixture!("pox-expr.xml")),
        );
    let (outcome, attempts) = run(&mut net);
    let found = outcome.unwrap();
    assert_eq!(found.method, Source::Srv);
    assert_eq!(
        attempts[4].reason,
        "try ad.hoster.example, then mail.contoso.com, then backup.contoso.com; not used: plain.contoso.com:80 (not on port 443)"
    );
    assert_eq!(
        net.urls()[4..],
        [
            "POST https://ad.hoster.example/autodiscover/autodiscover.xml",
            "POST https://mail.contoso.com/autodiscover/autodiscover.xml",
        ]
    );
    assert!(
        matches!(net.log[4].2, CredentialPolicy::Withheld(ref why) if why.contains("DNS SRV record"))
    );
    assert_eq!(net.log[5].2, CredentialPolicy::OnChallenge);
}

#[test]
fn srv_without_usable_records() {
    let mut net = Net::default().srv(SrvAnswer::Records(vec![SrvRecord {
        priority: 0,
        weight: 0,
        port: 80,
        target: "plain.contoso.com".into(),
    }]));
    let (outcome, attempts) = run(&mut net);
    assert_eq!(
        attempts[4].reason,
        "no usable SRV record: plain.contoso.com:80 (not on port 443)"
    );
    assert_eq!(exit_code(&outcome.unwrap_err()), 6);
    let mut net = Net::default().srv(SrvAnswer::Failed(
        "127.0.0.1:53: no answer within 5 s".into(),
    ));
    let (_, attempts) = run(&mut net);
    assert_eq!(
        attempts[4].reason,
        "DNS lookup failed: 127.0.0.1:53: no answer within 5 s"
    );
}

#[test]
fn an_ews_url_must_be_https() {
    let mut net = Net::default()
        .with(
            V2,
            ok(br#"{"Protocol":"EWS","Url":"http://mail.contoso.com/EWS/Exchange.asmx"}"#.to_vec()),
        )
        .with(ROOT, ok(settings("not a url")));
    let (outcome, attempts) = run(&mut net);
    assert!(attempts[0].reason.starts_with(
        "an EWS URL that is not https (http://mail.contoso.com/EWS/Exchange.asmx): refused"
    ));
    assert!(
        attempts[1]
            .reason
            .starts_with("an EWS URL that is not a URL")
    );
    assert_eq!(exit_code(&outcome.unwrap_err()), 1);
}

#[test]
fn stepping_is_idempotent_and_stray_answers_are_ignored() {
    let mut discovery = Discovery::new("jdoe@contoso.com", Options::default()).unwrap();
    // No SRV lookup is pending: ignored.
    discovery.srv_answer(SrvAnswer::NoSuchName);
    let first = format!("{:?}", discovery.step());
    assert_eq!(first, format!("{:?}", discovery.step()));
    discovery.http_answer(ok(fixture!("v2-ews.json")));
    let done = discovery.step();
    assert!(matches!(done, Step::Done(Ok(_))));
    discovery.http_answer(ok(fixture!("v2-ews.json")));
    assert_eq!(format!("{:?}", discovery.step()), format!("{done:?}"));
    assert_eq!(discovery.attempts().len(), 1);
}

#[test]
fn a_bad_address_is_refused_up_front() {
    let err = Discovery::new("jdoe", Options::default()).unwrap_err();
    assert_eq!(exit_code(&err), 2);
    assert_eq!(
        err.to_string(),
        "cannot run Autodiscover for 'jdoe': it has no @; give the mailbox's SMTP address, e.g. jdoe@contoso.com"
    );
}

#[test]
fn attempts_as_json_for_discover_json() {
    let mut net = Net::default().with(ROOT, ok(fixture!("pox-expr.xml")));
    let (outcome, attempts) = run(&mut net);
    assert_eq!(
        outcome.unwrap().ews_url.as_str(),
        "https://expr.contoso.com/EWS/Exchange.asmx"
    );
    let json = serde_json::json!({ "candidates": attempts });
    assert_eq!(
        json,
        serde_json::json!({
            "candidates": [
                {"source": "v2", "method": "GET", "url": V2, "address": "jdoe@contoso.com",
                 "result": "passed-over", "reason": "the connection failed: connection refused"},
                {"source": "pox-domain", "method": "POST", "url": ROOT, "address": "jdoe@contoso.com",
                 "result": "found", "reason": "EWS URL https://expr.contoso.com/EWS/Exchange.asmx", "status": 200}
            ]
        })
    );
}

#[test]
fn a_candidate_reached_by_a_redirect_is_not_asked_twice() {
    let mut net = Net::default()
        .with(ROOT, moved(301, AD))
        .with(AD, status(404, Vec::new()));
    let (_, attempts) = run(&mut net);
    assert_eq!(net.urls().iter().filter(|u| u.ends_with(AD)).count(), 1);
    assert_eq!(attempts[3].url, AD);
    assert_eq!(attempts[3].reason, "already asked above");
}
