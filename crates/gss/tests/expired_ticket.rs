//! With a TGT that has expired (realm.py gets one that lives 1 s and waits
//! until it is over).

mod common;

use common::Credentials;
use ews_gss::{Error, ErrorKind, Target};

const MODE: Credentials = Credentials::ExpiredTicket;

#[test]
fn an_expired_ticket_says_so() {
    let _realm = realm_or_skip!(MODE);
    let gss = common::gss();
    match gss.credentials() {
        Err(error) => assert_eq!(error.kind(), ErrorKind::CredentialsExpired, "{error:?}"),
        Ok(credentials) => panic!("expired credentials accepted: {credentials:?}"),
    }
    let mut context = gss
        .initiator(&Target::host_based("HTTP", "localhost"), None)
        .unwrap();
    let Error::Gss(error) = context.step(None).unwrap_err() else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::CredentialsExpired, "{error:?}");
}
