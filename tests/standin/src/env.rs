//! A clean environment for the tool under test: none of its variables or
//! proxies from the developer's shell, and no Kerberos credentials, so that
//! what a developer has set cannot change what a test or bench measures.

use std::process::Command;

/// Environment variables that would change the tool's behaviour on a developer's machine.
pub const SCRUBBED: [&str; 31] = [
    "EWS_URL",
    "EWS_BACKEND",
    "EWS_GRAPH_URL",
    "EWS_TENANT",
    "EWS_CLIENT_ID",
    "EWS_CLIENT_SECRET",
    "EWS_CERTIFICATE",
    "EWS_CERTIFICATE_PASSWORD",
    "EWS_AUTHORITY",
    "EWS_SCOPE",
    "EWS_IMPERSONATE",
    "XDG_CACHE_HOME",
    "EWS_USER",
    "EWS_PASSWORD",
    "EWS_TOKEN",
    "EWS_AUTH",
    "EWS_PROTOCOL",
    "EWS_SERVER_VERSION",
    "EWS_CA_CERT",
    "EWS_SPN",
    "EWS_GSS_LIBRARY",
    "KRB5_TRACE",
    "KRB5_KTNAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NO_COLOR",
    "NO_PROXY",
];

/// `cmd` without [`SCRUBBED`], and with Kerberos pointed at nothing (a
/// ticket of the developer's own would change what `--auth auto` picks).
pub fn clean(cmd: &mut Command) -> &mut Command {
    for name in SCRUBBED {
        cmd.env_remove(name);
    }
    cmd.env("KRB5_CONFIG", "/dev/null")
        .env("KRB5CCNAME", "FILE:/nonexistent/ews-photo-tests/ccache")
        .env(
            "KRB5_CLIENT_KTNAME",
            "FILE:/nonexistent/ews-photo-tests/keytab",
        )
}
