//! The library's configuration from the command line and the environment:
//! the URL checked once, credentials from their sources, and the transport.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use crate::app::Console;
use crate::auth::kerberos::KerberosOptions;
use crate::auth::{AuthMethod, Credentials, PasswordPrompt, PasswordSource};
use crate::backend::ews::Protocol;
use crate::cli::{AuthArg, Connection, ProtocolArg};
use crate::client::{ClientConfig, Service};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport::TransportOptions;
use crate::{HttpUrl, Secret};

/// Builds the client configuration. `stdin_is_data` when the address list
/// comes from stdin (then the password cannot).
pub fn client_config(
    connection: &Connection,
    verbosity: u8,
    stdin_is_data: bool,
    console: Console,
) -> Result<ClientConfig, Error> {
    let url = ews_url(connection.url.as_deref())?;
    let credentials = Credentials {
        user: connection.user.clone().filter(|u| !u.is_empty()),
        password: password_source(connection, stdin_is_data)?,
        token: token(connection)?,
        domain: connection.domain.clone().filter(|d| !d.is_empty()),
    };
    if connection.insecure {
        // Loud on purpose, even with -q: this disables the protection TLS gives.
        console.alarm(
            "--insecure: the server's certificate is NOT verified; credentials and photos can be intercepted",
        );
    }
    Ok(ClientConfig {
        service: Service::Ews {
            url,
            protocol: match connection.protocol {
                ProtocolArg::Soap => Protocol::Soap,
                ProtocolArg::Rest => Protocol::Rest,
            },
            server_version: connection.server_version.clone(),
        },
        auth: match connection.auth {
            AuthArg::Auto => AuthMethod::Auto,
            AuthArg::Basic => AuthMethod::Basic,
            AuthArg::Ntlm => AuthMethod::Ntlm,
            AuthArg::Bearer => AuthMethod::Bearer,
            AuthArg::Kerberos => AuthMethod::Kerberos,
        },
        credentials,
        kerberos: KerberosOptions {
            spn: connection.spn.clone().filter(|s| !s.trim().is_empty()),
            library: std::env::var("EWS_GSS_LIBRARY")
                .ok()
                .filter(|l| !l.is_empty()),
        },
        allow_insecure_auth: connection.allow_insecure_auth,
        retry: RetryPolicy {
            retries: connection.retries,
            base: Duration::from_secs(1),
            max: Duration::from_secs(connection.max_backoff),
        },
        transport: TransportOptions {
            ca_cert: connection.ca_cert.clone(),
            insecure: connection.insecure,
            proxy: connection.proxy.clone(),
            timeout: Duration::from_secs(connection.timeout),
            verbosity,
        },
    })
}

const EWS_URL_EXAMPLE: &str = "https://mail.contoso.com/EWS/Exchange.asmx";

fn ews_url(given: Option<&str>) -> Result<HttpUrl, Error> {
    let given = given
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| {
            Error::Usage(format!(
                "no EWS URL: pass --url or set EWS_URL (e.g. {EWS_URL_EXAMPLE})"
            ))
        })?;
    HttpUrl::parse(given)
        .map_err(|e| Error::Usage(format!("invalid URL: {e} (e.g. {EWS_URL_EXAMPLE})")))
}

fn password_source(connection: &Connection, stdin_is_data: bool) -> Result<PasswordSource, Error> {
    if let Some(path) = &connection.password_file {
        return Ok(PasswordSource::Given(read_secret_file(path)?));
    }
    if connection.password_stdin {
        if stdin_is_data {
            return Err(Error::Usage(
                "--password-stdin cannot be used when the address list comes from stdin; use EWS_PASSWORD or --password-file".into(),
            ));
        }
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .map_err(|e| Error::input("-", e))?;
        return Ok(PasswordSource::Given(Secret::new(first_line(&line))));
    }
    if let Some(value) = std::env::var_os("EWS_PASSWORD") {
        return Ok(PasswordSource::Given(utf8_secret("EWS_PASSWORD", value)?));
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return Ok(PasswordSource::Ask(PasswordPrompt::new(|user| {
            rpassword::prompt_password(format!("Password for {user}: "))
                .map(Secret::new)
                .map_err(|e| {
                    format!("cannot read the password from the terminal ({e}); set EWS_PASSWORD, or pass --password-file FILE or --password-stdin")
                })
        })));
    }
    Ok(PasswordSource::Missing)
}

fn token(connection: &Connection) -> Result<Option<Secret>, Error> {
    if let Some(path) = &connection.token_file {
        return read_secret_file(path).map(Some);
    }
    match std::env::var_os("EWS_TOKEN") {
        Some(value) => {
            let token = utf8_secret("EWS_TOKEN", value)?;
            Ok((!token.expose().trim().is_empty()).then_some(token))
        }
        None => Ok(None),
    }
}

/// A secret from the environment. Refuses one that is not UTF-8 rather than
/// mangle it: a mangled password is a wrong password, and every wrong try
/// counts towards the account's lockout.
fn utf8_secret(name: &str, value: OsString) -> Result<Secret, Error> {
    value.into_string().map(Secret::new).map_err(|_| {
        Error::Usage(format!(
            "{name} is not valid UTF-8 (set in another character encoding?); it was not sent, so no failed sign-in was counted: set it again in UTF-8, or use --password-file"
        ))
    })
}

/// A secret from a file: its first line, without the line ending.
fn read_secret_file(path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e))?;
    Ok(Secret::new(first_line(&text)))
}

fn first_line(text: &str) -> &str {
    text.lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_keep_only_the_first_line() {
        assert_eq!(first_line("s3cret\r\nsecond line\n"), "s3cret");
        assert_eq!(first_line(""), "");
    }

    #[cfg(unix)]
    #[test]
    fn a_password_that_is_not_utf8_is_refused_not_mangled() {
        use std::os::unix::ffi::OsStringExt;
        let err =
            utf8_secret("EWS_PASSWORD", OsString::from_vec(b"pass\xe9word".to_vec())).unwrap_err();
        assert_eq!(err.exit().code(), 2);
        assert!(err.to_string().contains("not valid UTF-8"), "{err}");
        assert!(utf8_secret("EWS_PASSWORD", "pässword".into()).is_ok());
    }

    #[test]
    fn urls_are_checked_once_with_advice() {
        assert!(
            ews_url(None)
                .unwrap_err()
                .to_string()
                .contains("pass --url")
        );
        let err = ews_url(Some("mail.contoso.com")).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(
            ews_url(Some("HTTPS://mail.contoso.com/EWS/Exchange.asmx"))
                .unwrap()
                .is_https()
        );
    }
}
