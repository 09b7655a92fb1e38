//! With neither a ticket nor a client keytab: clear errors, no panic, no
//! network round trip needed to find out.

mod common;

use common::Credentials;
use ews_gss::{Error, ErrorKind, Operation, Target};

const MODE: Credentials = Credentials::Nothing;

#[test]
fn the_credentials_check_names_the_cache_it_looked_in() {
    let realm = realm_or_skip!(MODE);
    let error = common::gss().credentials().unwrap_err();
    assert_eq!(error.operation, Operation::AcquireCredentials);
    assert_eq!(error.kind(), ErrorKind::NoCredentials, "{error:?}");
    assert_eq!(error.routine_error(), ews_gss::routine::NO_CRED);
    assert_eq!(
        error.minor_text,
        format!(
            "No Kerberos credentials available (default cache: {})",
            realm.ccache()
        )
    );
    assert!(
        error.to_string().starts_with(
            "gss_acquire_cred failed: No credentials were supplied, or the credentials were unavailable or inaccessible: No Kerberos credentials available"
        ),
        "{error}"
    );
}

#[test]
fn the_first_step_fails_with_no_credentials() {
    let _realm = realm_or_skip!(MODE);
    let mut context = common::gss()
        .initiator(&Target::host_based("HTTP", "localhost"), None)
        .unwrap();
    let Error::Gss(error) = context.step(None).unwrap_err() else {
        panic!("a GSS error expected")
    };
    // SPNEGO hides the reason: only the credentials check above tells.
    assert_eq!(error.kind(), ErrorKind::NoCredentials, "{error:?}");
    assert_eq!(
        error.minor_text,
        "SPNEGO cannot find mechanisms to negotiate"
    );
    assert_eq!(
        context.step(None).unwrap_err(),
        Error::Finished { complete: false }
    );
}
