//! With no ticket cache but a client keytab (KRB5_CLIENT_KTNAME), as a cron
//! job runs: MIT gets the TGT from the keytab by itself and writes the cache.

mod common;

use common::{Acceptor, AcceptorOptions, Credentials};
use ews_gss::Target;

const MODE: Credentials = Credentials::ClientKeytab;

#[test]
fn the_keytab_alone_is_enough_and_fills_the_cache() {
    let realm = realm_or_skip!(MODE);
    let cache = realm.ccache();
    let cache_file = cache.strip_prefix("FILE:").expect("a FILE: cache");
    assert!(
        !std::path::Path::new(cache_file).exists(),
        "the cache must start empty"
    );
    let gss = common::gss();
    let credentials = gss.credentials().expect("the client keytab");
    assert_eq!(credentials.principal, realm.var("EWS_KRB_USER"));

    let acceptor = Acceptor::start(
        realm,
        AcceptorOptions {
            tls: true,
            ..Default::default()
        },
    );
    let mut connection = acceptor.connect();
    let mut context = gss
        .initiator(
            &Target::host_based("HTTP", "localhost"),
            Some(connection.bindings()),
        )
        .unwrap();
    let answer = common::negotiate_on(&mut connection, &mut context);
    assert_eq!(answer.status, 200, "{}", acceptor.stats());
    context
        .step(Some(&answer.negotiate_token().unwrap()))
        .unwrap();
    assert!(context.mutual_authenticated());
    assert_eq!(acceptor.stats()["bindings"][0], true);
    assert!(
        std::path::Path::new(cache_file).exists(),
        "MIT writes the TGT it got from the keytab into KRB5CCNAME"
    );
}
