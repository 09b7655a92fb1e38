//! With a good TGT, but the KDC's clock an hour ahead (krb5kdc -T 3600):
//! the ticket request for the service fails with a clock skew.

mod common;

use common::Credentials;
use ews_gss::{Error, ErrorKind, Target};

const MODE: Credentials = Credentials::SkewedKdc;

#[test]
fn a_clock_skew_says_so() {
    let _realm = realm_or_skip!(MODE);
    let gss = common::gss();
    gss.credentials().expect("the TGT itself is fine");
    let mut context = gss
        .initiator(&Target::host_based("HTTP", "localhost"), None)
        .unwrap();
    let Error::Gss(error) = context.step(None).unwrap_err() else {
        panic!("a GSS error expected")
    };
    assert_eq!(error.kind(), ErrorKind::ClockSkew, "{error:?}");
    assert_eq!(error.minor_text, "Clock skew too great");
}
