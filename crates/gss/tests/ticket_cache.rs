//! With a TGT from `kinit` in the ticket cache (KRB5CCNAME), against a real
//! MIT KDC and python-gssapi's acceptor: SPNEGO handshakes over keep-alive
//! HTTP and TLS, channel bindings, mutual authentication, wrong names.

mod common;

use common::{Acceptor, AcceptorOptions, Credentials};
use ews_gss::{Error, ErrorKind, Target, flags};

const MODE: Credentials = Credentials::TicketCache;

fn localhost() -> Target {
    Target::host_based("HTTP", "localhost")
}

#[test]
fn credentials_name_the_user_of_the_ticket_cache() {
    let realm = realm_or_skip!(MODE);
    let credentials = common::gss().credentials().expect("kinit's TGT");
    assert_eq!(credentials.principal, realm.var("EWS_KRB_USER"));
    let lifetime = credentials.lifetime.expect("a TGT has an end time");
    assert!(lifetime.as_secs() > 3600, "{lifetime:?}");
}

#[test]
fn a_handshake_authenticates_the_connection_and_mutual_authentication_completes() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(realm, AcceptorOptions::default());
    let mut connection = acceptor.connect();

    let challenge = connection.request("POST", "/EWS/Exchange.asmx", None);
    assert_eq!(challenge.status, 401);
    assert!(
        challenge
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("www-authenticate") && v == "Negotiate"),
        "{:?}",
        challenge.headers
    );

    let mut context = common::gss().initiator(&localhost(), None).unwrap();
    let first = context.step(None).unwrap();
    assert!(
        !first.complete,
        "mutual authentication needs the server's answer"
    );
    assert!(!first.token.is_empty());
    assert_eq!(
        first.token[0], 0x60,
        "a GSS-API InitialContextToken (SPNEGO)"
    );
    let answer = connection.request(
        "POST",
        "/EWS/Exchange.asmx",
        Some(&common::negotiate(&first.token)),
    );
    assert_eq!(answer.status, 200, "{}", acceptor.stats());
    assert!(
        answer.text().contains(&format!(
            "<PictureData>{}</PictureData>",
            common::photo_base64()
        )),
        "{}",
        answer.text()
    );
    let last = answer
        .negotiate_token()
        .expect("the final token on the 200");
    let done = context.step(Some(&last)).unwrap();
    assert!(done.complete && done.token.is_empty(), "{done:?}");
    assert!(context.is_complete() && context.mutual_authenticated());
    assert_eq!(
        context.flags() & flags::REQUESTED,
        flags::REQUESTED,
        "{:#x}",
        context.flags()
    );
    assert_eq!(
        context.step(Some(&last)).unwrap_err(),
        Error::Finished { complete: true }
    );

    // The connection stays authenticated: no further Authorization.
    for _ in 0..2 {
        let again = connection.request("POST", "/EWS/Exchange.asmx", None);
        assert_eq!(again.status, 200);
    }
    let stats = acceptor.stats();
    assert_eq!(stats["handshakes"], 1, "{stats}");
    assert_eq!(stats["tokens"], 1, "{stats}");
    assert_eq!(stats["per_connection"]["1"]["photos"], 3, "{stats}");
    assert_eq!(stats["initiators"][0], realm.var("EWS_KRB_USER"));
    assert_eq!(stats["final_tokens"][0], "sent");
    assert_eq!(stats["bindings"][0], false, "plain http has no binding");
}

#[test]
fn an_explicit_principal_works_like_the_host_based_name() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(realm, AcceptorOptions::default());
    for name in [
        "HTTP/localhost",
        "HTTP/127.0.0.1",
        "HTTP/localhost@EWS.TEST",
    ] {
        let mut context = common::gss()
            .initiator(&Target::principal(name), None)
            .unwrap();
        let answer = common::negotiate_on(&mut acceptor.connect(), &mut context);
        assert_eq!(answer.status, 200, "{name}: {}", acceptor.stats());
        context
            .step(Some(&answer.negotiate_token().unwrap()))
            .unwrap();
        assert!(context.mutual_authenticated(), "{name}");
    }
    assert_eq!(acceptor.stats()["handshakes"], 3);
}

#[test]
fn over_tls_the_acceptor_accepts_our_channel_bindings() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            tls: true,
            ..Default::default()
        },
    );
    let mut connection = acceptor.connect();
    let mut context = common::gss()
        .initiator(&localhost(), Some(connection.bindings()))
        .unwrap();
    let answer = common::negotiate_on(&mut connection, &mut context);
    let stats = acceptor.stats();
    assert_eq!(answer.status, 200, "{stats}");
    assert_eq!(stats["extended_protection"], "require");
    assert_eq!(stats["bindings"][0], true, "{stats}");
    context
        .step(Some(&answer.negotiate_token().unwrap()))
        .unwrap();
    assert!(context.mutual_authenticated());
    assert_eq!(
        connection
            .request("POST", "/EWS/Exchange.asmx", None)
            .status,
        200
    );
}

#[test]
fn over_tls_a_token_without_bindings_is_refused_when_they_are_required() {
    // The acceptor must not pass a client that forgets channel binding: MIT
    // accepts such a token, only GSS_C_CHANNEL_BOUND_FLAG tells.
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            tls: true,
            ..Default::default()
        },
    );
    let mut connection = acceptor.connect();
    let mut context = common::gss().initiator(&localhost(), None).unwrap();
    let answer = common::negotiate_on(&mut connection, &mut context);
    assert_eq!(answer.status, 401);
    let stats = acceptor.stats();
    assert_eq!(stats["handshakes"], 0, "{stats}");
    assert!(
        stats["failures"][0]
            .as_str()
            .unwrap()
            .contains("GSS_C_CHANNEL_BOUND_FLAG not set"),
        "{stats}"
    );

    // With Extended Protection "allow" the same token passes, unbound.
    let lenient = Acceptor::start(
        realm,
        AcceptorOptions {
            tls: true,
            extended_protection: Some("allow"),
            ..Default::default()
        },
    );
    let mut context = common::gss().initiator(&localhost(), None).unwrap();
    let answer = common::negotiate_on(&mut lenient.connect(), &mut context);
    assert_eq!(answer.status, 200);
    assert_eq!(lenient.stats()["bindings"][0], false);
}

#[test]
fn over_tls_wrong_bindings_are_refused() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            tls: true,
            wrong_binding: true,
            ..Default::default()
        },
    );
    let mut connection = acceptor.connect();
    let mut context = common::gss()
        .initiator(&localhost(), Some(connection.bindings()))
        .unwrap();
    let answer = common::negotiate_on(&mut connection, &mut context);
    assert_eq!(answer.status, 401);
    assert!(!context.is_complete());
    let stats = acceptor.stats();
    assert_eq!(stats["handshakes"], 0, "{stats}");
    let failure = stats["failures"][0].as_str().unwrap();
    assert!(
        failure.contains("BadChannelBindingsError"),
        "GSS_S_BAD_BINDINGS expected: {stats}"
    );
}

#[test]
fn a_corrupted_final_token_fails_the_context() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            final_token: Some("corrupt"),
            ..Default::default()
        },
    );
    let mut context = common::gss().initiator(&localhost(), None).unwrap();
    let answer = common::negotiate_on(&mut acceptor.connect(), &mut context);
    assert_eq!(answer.status, 200, "the server thinks all is well");
    let Error::Gss(error) = context
        .step(Some(&answer.negotiate_token().unwrap()))
        .unwrap_err()
    else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::BadToken, "{error}");
    assert!(
        error.minor_text.contains("integrity check failed"),
        "{error:?}"
    );
    assert!(!context.is_complete() && !context.mutual_authenticated());
    assert_eq!(
        context.step(None).unwrap_err(),
        Error::Finished { complete: false }
    );
}

#[test]
fn a_missing_final_token_leaves_the_context_incomplete() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            final_token: Some("omit"),
            ..Default::default()
        },
    );
    let mut context = common::gss().initiator(&localhost(), None).unwrap();
    let answer = common::negotiate_on(&mut acceptor.connect(), &mut context);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.negotiate_token(), None);
    assert!(!context.is_complete() && !context.mutual_authenticated());
    assert_eq!(acceptor.stats()["final_tokens"][0], "omitted");
}

#[test]
fn an_unknown_service_principal_names_itself_in_the_minor_status() {
    let _realm = realm_or_skip!(MODE);
    let mut context = common::gss()
        .initiator(&Target::principal("HTTP/mail.nowhere.test@EWS.TEST"), None)
        .unwrap();
    let Error::Gss(error) = context.step(None).unwrap_err() else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::UnknownServer, "{error:?}");
    assert_eq!(
        error.minor_text,
        "Server HTTP/mail.nowhere.test@EWS.TEST not found in Kerberos database"
    );
    assert!(
        error.major_text.starts_with("Unspecified GSS failure"),
        "{error:?}"
    );
    assert_eq!(error.routine_error(), ews_gss::routine::FAILURE);
}

#[test]
fn a_host_in_a_realm_without_trust_is_a_wrong_realm() {
    // No [domain_realm] entry: MIT takes the realm from the domain
    // (NOWHERE.TEST) and asks the KDC for a cross-realm TGT it does not have.
    let _realm = realm_or_skip!(MODE);
    let mut context = common::gss()
        .initiator(&Target::host_based("HTTP", "mail.nowhere.test"), None)
        .unwrap();
    let Error::Gss(error) = context.step(None).unwrap_err() else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::WrongRealm, "{error:?}");
    assert!(error.minor_text.contains("krbtgt/"), "{error:?}");
}

#[test]
fn contexts_move_between_threads() {
    let realm = realm_or_skip!(MODE);
    let acceptor = Acceptor::start(realm, AcceptorOptions::default());
    let gss = common::gss();
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let gss = gss.clone();
            let port = acceptor.port;
            std::thread::spawn(move || {
                let mut context = gss.initiator(&localhost(), None).unwrap();
                let first = context.step(None).unwrap();
                (port, context, first.token)
            })
        })
        .collect();
    for worker in workers {
        let (_, mut context, token) = worker.join().unwrap();
        let answer = acceptor.connect().request(
            "POST",
            "/EWS/Exchange.asmx",
            Some(&common::negotiate(&token)),
        );
        assert_eq!(answer.status, 200);
        context
            .step(Some(&answer.negotiate_token().unwrap()))
            .unwrap();
        assert!(context.mutual_authenticated());
    }
    assert_eq!(acceptor.stats()["handshakes"], 3);
}

#[test]
fn a_raw_kerberos_context_makes_a_kerberos_token() {
    // For diagnosis only (Heimdal's SPNEGO hides the reasons of failures).
    let _realm = realm_or_skip!(MODE);
    let gss = common::gss();
    let mut context = gss.kerberos_initiator(&localhost(), None).unwrap();
    let first = context.step(None).unwrap();
    assert!(!first.complete);
    // InitialContextToken with the Kerberos 5 mechanism OID, not SPNEGO's.
    assert_eq!(first.token[0], 0x60);
    assert!(
        first
            .token
            .windows(11)
            .take(8)
            .any(|w| w == b"\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"),
        "{:02x?}",
        &first.token[..16]
    );
    let Error::Gss(error) = gss
        .kerberos_initiator(&Target::principal("HTTP/mail.nowhere.test"), None)
        .unwrap()
        .step(None)
        .unwrap_err()
    else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::UnknownServer, "{error:?}");
}
