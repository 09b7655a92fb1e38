//! The library's configuration from the command line and the environment:
//! the URL checked once (or found by Autodiscover), credentials from their
//! sources, and the transport.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::app::Console;
use crate::auth::kerberos::KerberosOptions;
use crate::auth::oauth::cache::TokenCache;
use crate::auth::oauth::{
    Authority, ClientCertificate, ClientCredential, OAuthError, SignIn, SignInEvent, TokenSource,
};
use crate::auth::{AuthMethod, Credentials, PasswordPrompt, PasswordSource};
use crate::autodiscover::Attempt;
use crate::backend::ews::Protocol;
use crate::cli::{AuthArg, BackendArg, Connection, ProtocolArg};
use crate::client::{ClientConfig, Service};
use crate::discover::{self, Cache, Lookup};
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport::TransportOptions;
use crate::{HttpUrl, Secret, validate_email};

/// Where the address to run Autodiscover for comes from when there is no
/// `--url` and `--user` is not an address.
pub enum DiscoverFrom<'a> {
    /// The photo's address (`get`).
    Photo(&'a str),
    /// The first address of the list (`export`), read when needed.
    List(&'a dyn Fn() -> Result<String, Error>),
}

/// Builds the client configuration. `stdin_is_data` when the address list
/// comes from stdin (then the password cannot). Without `--url`, the EWS URL
/// comes from the cache or Autodiscover; `--backend graph` needs neither.
pub fn client_config(
    connection: &Connection,
    verbosity: u8,
    stdin_is_data: bool,
    console: Console,
    discover_from: DiscoverFrom,
) -> Result<ClientConfig, Error> {
    // The URLs are checked before any password is read. Graph has one
    // address per cloud: no EWS URL, so no Autodiscover, and --url is unused.
    let graph = match connection.backend {
        BackendArg::Graph => Some(graph_url(&connection.graph_url)?),
        BackendArg::Ews => None,
    };
    let given = match graph {
        Some(_) => None,
        None => given_url(connection.url.as_deref())?,
    };
    let credentials = credentials(connection, stdin_is_data)?;
    // EWS's alone: Graph reads any user's photo without acting as anyone.
    let impersonate = match connection.impersonate.as_deref().map(str::trim) {
        Some(mailbox) if !mailbox.is_empty() && graph.is_none() => Some(
            validate_email(mailbox)
                .map_err(|e| Error::Usage(format!("--impersonate: {e}")))?
                .to_string(),
        ),
        _ => None,
    };
    if connection.insecure {
        // Loud on purpose, even with -q: this disables the protection TLS gives.
        console.alarm(
            "--insecure: the server's certificate is NOT verified; credentials and photos can be intercepted",
        );
    }
    let transport = transport_options(connection, verbosity);
    let (service, relocate) = match (graph, given) {
        (Some(url), _) => (Service::Graph { url }, None),
        (None, Some(url)) => (ews_service(connection, url, impersonate), None),
        (None, None) => {
            let email = match connection.user.as_deref().map(validate_email) {
                Some(Ok(user)) => user.to_string(),
                _ => match discover_from {
                    DiscoverFrom::Photo(email) => email.to_string(),
                    DiscoverFrom::List(first) => first()?,
                },
            };
            let settings = discover_settings(connection, credentials.clone(), transport.clone())?;
            let with_credentials = credentials.user.is_some() || credentials.token.is_some();
            let lookup = settings.lookup(&email, &mut |attempt| {
                tell_attempt(console, verbosity, attempt)
            })?;
            tell_lookup(console, &lookup);
            let url = lookup.ews_url(with_credentials)?;
            // Only a cached URL can be out of date: a fresh one was just found.
            let relocate = lookup.cached.is_some().then(|| {
                settings.relocator(&email, with_credentials, move |message: &str| {
                    console.warn(message)
                })
            });
            (ews_service(connection, url, impersonate), relocate)
        }
    };
    let auth = auth_method(connection.auth);
    let retry = RetryPolicy {
        retries: connection.retries,
        base: Duration::from_secs(1),
        max: Duration::from_secs(connection.max_backoff),
    };
    let mut credentials = credentials;
    if auth == AuthMethod::OAuth {
        credentials.oauth = Some(Arc::new(token_source(
            connection, &service, &transport, retry, console,
        )?));
    }
    Ok(ClientConfig {
        service,
        auth,
        credentials,
        kerberos: kerberos_options(connection),
        allow_insecure_auth: connection.allow_insecure_auth,
        retry,
        transport,
        relocate,
    })
}

/// EWS at `url`, in the form `--protocol` and `--server-version` say, acting
/// as `impersonate` when given.
fn ews_service(connection: &Connection, url: HttpUrl, impersonate: Option<String>) -> Service {
    Service::Ews {
        url,
        protocol: match connection.protocol {
            ProtocolArg::Soap => Protocol::Soap,
            ProtocolArg::Rest => Protocol::Rest,
        },
        server_version: connection.server_version.clone(),
        impersonate,
    }
}

/// The user's credentials from their sources.
pub fn credentials(connection: &Connection, stdin_is_data: bool) -> Result<Credentials, Error> {
    Ok(Credentials {
        user: connection.user.clone().filter(|u| !u.is_empty()),
        password: password_source(connection, stdin_is_data)?,
        token: token(connection)?,
        domain: connection.domain.clone().filter(|d| !d.is_empty()),
        oauth: None,
    })
}

/// `--spn` and the GSS-API library.
fn kerberos_options(connection: &Connection) -> KerberosOptions {
    KerberosOptions {
        spn: connection.spn.clone().filter(|s| !s.trim().is_empty()),
        library: std::env::var("EWS_GSS_LIBRARY")
            .ok()
            .filter(|l| !l.is_empty()),
    }
}

/// TLS, proxy, timeout, verbosity, `--resolve`.
pub fn transport_options(connection: &Connection, verbosity: u8) -> TransportOptions {
    TransportOptions {
        ca_cert: connection.ca_cert.clone(),
        insecure: connection.insecure,
        proxy: connection.proxy.clone(),
        timeout: Duration::from_secs(connection.timeout),
        verbosity,
        resolve: connection.resolve.clone(),
    }
}

/// How to run Autodiscover: the connection's credentials and transport,
/// `--dns-servers`, the platform cache (or none with `--no-cache`, which
/// still stores the new result).
pub fn discover_settings(
    connection: &Connection,
    credentials: Credentials,
    transport: TransportOptions,
) -> Result<discover::Settings, Error> {
    let dns_servers = connection
        .dns_servers
        .as_deref()
        .map(discover::parse_dns_servers)
        .transpose()?;
    Ok(discover::Settings {
        // No OAuth token goes to Autodiscover: its resource is the EWS URL's,
        // which is what Autodiscover is asked for. The anonymous endpoints
        // (Autodiscover v2) still answer.
        auth: match auth_method(connection.auth) {
            AuthMethod::OAuth => AuthMethod::Auto,
            other => other,
        },
        credentials,
        kerberos: kerberos_options(connection),
        transport,
        dns_servers,
        cache: Cache::platform(),
        refresh: connection.no_cache,
    })
}

/// `-v`: each Autodiscover request or lookup, and what came of it.
pub fn tell_attempt(console: Console, verbosity: u8, attempt: &Attempt) {
    if verbosity > 0 {
        console.info(&format!("ews-photo: autodiscover: {attempt}"));
    }
}

/// How the URL was found, on stderr (not with -q).
pub fn tell_lookup(console: Console, lookup: &Lookup) {
    if let Some(warning) = &lookup.cache_warning {
        console.warn(warning);
    }
    let Ok(found) = &lookup.outcome else {
        return;
    };
    let how = match lookup.cached {
        Some(age) => format!(
            "cached {} ago, --no-cache looks again; found by {} at {}",
            age_in_words(age),
            found.method.describe(),
            found.autodiscover_url
        ),
        None => format!(
            "found by {} at {}",
            found.method.describe(),
            found.autodiscover_url
        ),
    };
    let redirected = if found.address.eq_ignore_ascii_case(&lookup.email) {
        String::new()
    } else {
        format!(" (redirected to {})", found.address)
    };
    console.info(&format!(
        "ews-photo: Autodiscover for {}{redirected}: {} ({how})",
        lookup.email, found.ews_url
    ));
    if !found.trusted {
        console.warn(&format!(
            "{} came only through {}, which anyone on the network path can forge; check it before you trust it",
            found.ews_url,
            match found.method {
                crate::autodiscover::Source::Srv => "a DNS SRV record",
                _ => "the plain-http redirect",
            }
        ));
    }
}

/// "under a minute", "5 min", "3 h": how old a cached result is.
fn age_in_words(age: Duration) -> String {
    let minutes = age.as_secs() / 60;
    match minutes {
        0 => "under a minute".into(),
        1..=119 => format!("{minutes} min"),
        _ => format!("{} h", minutes / 60),
    }
}

fn auth_method(auth: AuthArg) -> AuthMethod {
    match auth {
        AuthArg::Auto => AuthMethod::Auto,
        AuthArg::Basic => AuthMethod::Basic,
        AuthArg::Ntlm => AuthMethod::Ntlm,
        AuthArg::Bearer => AuthMethod::Bearer,
        AuthArg::Kerberos => AuthMethod::Kerberos,
        AuthArg::Oauth => AuthMethod::OAuth,
    }
}

/// `--auth oauth`: the sign-in from `--tenant`, `--client-id`, the
/// credential, `--authority`, `--scope` (default: the service's) and the
/// token cache. What it has to say goes to stderr.
fn token_source(
    connection: &Connection,
    service: &Service,
    transport: &TransportOptions,
    retry: RetryPolicy,
    console: Console,
) -> Result<TokenSource, Error> {
    let given = |value: &Option<String>| {
        value
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let tenant = given(&connection.tenant).ok_or_else(|| {
        Error::Usage(
            "--auth oauth needs --tenant (or EWS_TENANT): the Directory (tenant) ID from the app registration's Overview page, or a domain such as contoso.onmicrosoft.com".into(),
        )
    })?;
    let client_id = given(&connection.client_id).ok_or_else(|| {
        Error::Usage(
            "--auth oauth needs --client-id (or EWS_CLIENT_ID): the Application (client) ID from the app registration's Overview page".into(),
        )
    })?;
    let credential = credential(connection)?;
    let authority = Authority::new(&connection.authority, &tenant)?;
    let scope =
        given(&connection.scope).unwrap_or_else(|| service.default_scope(credential.kind()));
    let cache = if connection.no_token_cache {
        None
    } else {
        match TokenCache::default_dir() {
            Some(dir) => Some(TokenCache::new(dir)),
            None => {
                console.warn(
                    "no folder for the token cache (XDG_CACHE_HOME and HOME are unset): tokens are not kept for the next run",
                );
                None
            }
        }
    };
    let sign_in = SignIn {
        authority,
        client_id,
        credential,
        scope,
        cache,
        allow_insecure_auth: connection.allow_insecure_auth,
        retry,
    };
    Ok(TokenSource::new(sign_in, transport)?.on_event(move |event| show(console, event)))
}

/// What the sign-in has to tell the user, on stderr.
fn show(console: Console, event: &SignInEvent<'_>) {
    match event {
        // Shown even with -q: the sign-in cannot go on without the user.
        SignInEvent::DeviceCode(device) => {
            console.always(&format!("ews-photo: {}", device.instructions()))
        }
        SignInEvent::Cache(warning) => console.warn(&warning.to_string()),
        SignInEvent::Waiting(wait) => console.info(&format!("ews-photo: {wait}")),
        SignInEvent::RenewalFailed(error) => console.warn(&format!(
            "renewing the token failed, going on with the current one: {error}"
        )),
        SignInEvent::SignInAgain(error) => console.warn(&format!(
            "the saved sign-in was refused, signing in again: {error}"
        )),
    }
}

/// The app's credential, or the device-code flow: `--device-code`, then
/// `--client-secret-file`, then `--certificate` (or EWS_CERTIFICATE), then
/// EWS_CLIENT_SECRET.
fn credential(connection: &Connection) -> Result<ClientCredential, Error> {
    if connection.device_code {
        return Ok(ClientCredential::DeviceCode);
    }
    let secret = |secret: Secret| {
        if secret.expose().trim().is_empty() {
            return Err(Error::Usage(
                "the client secret is empty: give the secret's Value from Certificates & secrets in the app registration".into(),
            ));
        }
        Ok(ClientCredential::Secret(Secret::new(
            secret.expose().trim(),
        )))
    };
    if let Some(path) = &connection.client_secret_file {
        return secret(read_secret_file(path)?);
    }
    if let Some(path) = &connection.certificate {
        return certificate(path);
    }
    if let Some(value) = std::env::var_os("EWS_CLIENT_SECRET") {
        return secret(utf8_secret("EWS_CLIENT_SECRET", value)?);
    }
    Err(Error::Usage(
        "--auth oauth needs a credential: --client-secret-file FILE (or EWS_CLIENT_SECRET) or --certificate FILE for an app signing in by itself, or --device-code to sign in as a user".into(),
    ))
}

fn certificate(path: &Path) -> Result<ClientCredential, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::input(path, e))?;
    let mut without_password = false;
    let loaded = if ClientCertificate::is_pkcs12(&bytes) {
        let password = pfx_password(path)?;
        without_password = password.is_none();
        ClientCertificate::from_pkcs12(&bytes, &password.unwrap_or_else(|| Secret::new("")))
    } else {
        ClientCertificate::from_pem(&bytes)
    };
    match loaded {
        Ok(certificate) => Ok(ClientCredential::Certificate(Arc::new(certificate))),
        Err(OAuthError::Certificate(_)) if without_password => Err(Error::Usage(format!(
            "--certificate {}: the .pfx file needs its password: set EWS_CERTIFICATE_PASSWORD (on a terminal it is asked for)",
            path.display()
        ))),
        Err(OAuthError::Certificate(why)) => Err(Error::Usage(format!(
            "--certificate {}: {why}",
            path.display()
        ))),
        Err(other) => Err(other.into()),
    }
}

/// EWS_CERTIFICATE_PASSWORD, else a prompt without echo on a terminal, else
/// none (then the empty password is tried: a .pfx exported without one).
fn pfx_password(path: &Path) -> Result<Option<Secret>, Error> {
    if let Some(value) = std::env::var_os("EWS_CERTIFICATE_PASSWORD") {
        return utf8_secret("EWS_CERTIFICATE_PASSWORD", value).map(Some);
    }
    if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        return rpassword::prompt_password(format!("Password for {}: ", path.display()))
            .map(|p| Some(Secret::new(p)))
            .map_err(|e| {
                Error::Usage(format!(
                    "cannot read the .pfx password from the terminal ({e}); set EWS_CERTIFICATE_PASSWORD"
                ))
            });
    }
    Ok(None)
}

const EWS_URL_EXAMPLE: &str = "https://mail.contoso.com/EWS/Exchange.asmx";

/// `--url`, checked; `None` when not given (then Autodiscover finds it).
fn given_url(given: Option<&str>) -> Result<Option<HttpUrl>, Error> {
    let Some(given) = given.map(str::trim).filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    HttpUrl::parse(given)
        .map(Some)
        .map_err(|e| Error::Usage(format!("invalid URL: {e} (e.g. {EWS_URL_EXAMPLE})")))
}

fn graph_url(given: &str) -> Result<HttpUrl, Error> {
    HttpUrl::parse(given).map_err(|e| {
        Error::Usage(format!(
            "invalid --graph-url: {e} (e.g. {}, or a national cloud's: https://graph.microsoft.us)",
            crate::backend::graph::GLOBAL
        ))
    })
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
        assert_eq!(given_url(None).unwrap(), None);
        assert_eq!(given_url(Some("  ")).unwrap(), None);
        let err = given_url(Some("mail.contoso.com")).unwrap_err();
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(
            given_url(Some("HTTPS://mail.contoso.com/EWS/Exchange.asmx"))
                .unwrap()
                .unwrap()
                .is_https()
        );
    }
}
