//! Which service holds the photos and how to reach it: the settings a
//! [`Client`](super::Client) is built from.

use std::sync::Arc;

use crate::HttpUrl;
use crate::auth::kerberos::KerberosOptions;
use crate::auth::oauth::{TokenKind, scope};
use crate::auth::{AuthMethod, Credentials};
use crate::backend::Backend;
use crate::backend::ews::{Ews, Protocol};
use crate::backend::graph::Graph;
use crate::error::Error;
use crate::retry::RetryPolicy;
use crate::transport::TransportOptions;

/// Which service holds the photos, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Service {
    /// Exchange Web Services.
    Ews {
        /// The EWS URL, e.g. `https://mail.contoso.com/EWS/Exchange.asmx`.
        url: HttpUrl,
        /// SOAP or REST.
        protocol: Protocol,
        /// `RequestServerVersion` for SOAP.
        server_version: String,
        /// The mailbox every request acts as (`ExchangeImpersonation` and
        /// `X-AnchorMailbox`): what an app's own token needs.
        impersonate: Option<String>,
    },
    /// Microsoft Graph.
    Graph {
        /// The service's root, e.g. `https://graph.microsoft.com` (or a
        /// national cloud's: `https://graph.microsoft.us`,
        /// `https://dod-graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`).
        url: HttpUrl,
    },
}

impl Service {
    /// EWS over SOAP at `url`, with the default `RequestServerVersion`.
    pub fn ews(url: HttpUrl) -> Service {
        Service::Ews {
            url,
            protocol: Protocol::Soap,
            server_version: crate::backend::ews::soap::DEFAULT_SERVER_VERSION.into(),
            impersonate: None,
        }
    }

    /// The OAuth scope to ask for when none is given: the service's resource
    /// with `/.default` for an app's own token, or the delegated permission
    /// (and `offline_access`) for a user's.
    ///
    /// EWS: Exchange Online's resource `https://outlook.office365.com` for its
    /// hosts (`outlook.office365.com`, `outlook.office.com`), else the EWS
    /// URL's `https://host`, which Hybrid Modern Auth registers for
    /// on-premises Exchange (and which is the resource of national clouds'
    /// hosts too, e.g. `https://outlook.office365.us`).
    ///
    /// Graph: the service's root (its cloud's), with `/.default`, or with
    /// `ProfilePhoto.Read.All`, the least permission that reads other users'
    /// photos. Finding a user by an address that is not a UPN needs
    /// `User.Read.All` too, which is not asked for by default: the look-up's
    /// refusal says so.
    ///
    /// ```
    /// use ews_photo::{HttpUrl, Service};
    /// use ews_photo::auth::oauth::TokenKind;
    /// let online = Service::ews(HttpUrl::parse("https://outlook.office365.com/EWS/Exchange.asmx").unwrap());
    /// assert_eq!(online.default_scope(TokenKind::AppOnly), "https://outlook.office365.com/.default");
    /// assert_eq!(online.default_scope(TokenKind::Delegated), "https://outlook.office365.com/EWS.AccessAsUser.All offline_access");
    /// let hma = Service::ews(HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap());
    /// assert_eq!(hma.default_scope(TokenKind::AppOnly), "https://mail.contoso.com/.default");
    /// let us = Service::Graph { url: HttpUrl::parse("https://graph.microsoft.us").unwrap() };
    /// assert_eq!(us.default_scope(TokenKind::AppOnly), "https://graph.microsoft.us/.default");
    /// assert_eq!(us.default_scope(TokenKind::Delegated), "https://graph.microsoft.us/ProfilePhoto.Read.All offline_access");
    /// ```
    pub fn default_scope(&self, kind: TokenKind) -> String {
        match self {
            Service::Ews { url, .. } => {
                let resource = scope::resource_of_ews_url(url);
                match kind {
                    TokenKind::AppOnly => scope::app_only(&resource),
                    TokenKind::Delegated => scope::delegated(&resource),
                }
            }
            Service::Graph { url } => {
                let graph = Graph::new(url);
                match kind {
                    TokenKind::AppOnly => scope::app_only(graph.audience()),
                    TokenKind::Delegated => format!(
                        "{}/{} offline_access",
                        graph.audience(),
                        crate::backend::graph::DELEGATED_PERMISSION
                    ),
                }
            }
        }
    }

    /// Refuses, before any request, a sign-in this service cannot use.
    ///
    /// EWS: an app's own token acts only as a mailbox, through the
    /// `ExchangeImpersonation` SOAP header, which the REST form cannot carry:
    /// it needs `impersonate` and the SOAP form. Graph takes both kinds of
    /// token as they are.
    pub fn check_sign_in(&self, kind: TokenKind) -> Result<(), Error> {
        match self {
            Service::Ews {
                protocol,
                impersonate,
                ..
            } => {
                if kind != TokenKind::AppOnly {
                    return Ok(());
                }
                if impersonate.is_none() {
                    return Err(Error::Usage(
                        "an app signing in by itself (client secret or certificate) can use EWS only acting as a mailbox: add --impersonate SMTP (or EWS_IMPERSONATE), e.g. a service mailbox the app may act as; or sign in as a user with --device-code".into(),
                    ));
                }
                if *protocol == Protocol::Rest {
                    return Err(Error::Usage(
                        "an app's own token needs the ExchangeImpersonation SOAP header, which the REST form cannot carry: use --protocol soap (the default) with --auth oauth and a client secret or certificate".into(),
                    ));
                }
                Ok(())
            }
            Service::Graph { .. } => Ok(()),
        }
    }

    /// Microsoft Graph at its global address, `https://graph.microsoft.com`.
    pub fn graph() -> Service {
        Service::Graph {
            url: HttpUrl::parse(crate::backend::graph::GLOBAL).expect("a valid URL"),
        }
    }

    /// The URL requests go to (credentials are checked against its scheme).
    pub fn url(&self) -> &HttpUrl {
        match self {
            Service::Ews { url, .. } | Service::Graph { url } => url,
        }
    }

    /// The back end's name, as `--backend` spells it and manifests record it:
    /// `ews` or `graph`.
    ///
    /// ```
    /// assert_eq!(ews_photo::Service::graph().name(), "graph");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Service::Ews { .. } => "ews",
            Service::Graph { .. } => "graph",
        }
    }

    /// The same service at another URL.
    pub fn with_url(&self, url: HttpUrl) -> Service {
        match self {
            Service::Ews {
                protocol,
                server_version,
                impersonate,
                ..
            } => Service::Ews {
                url,
                protocol: *protocol,
                server_version: server_version.clone(),
                impersonate: impersonate.clone(),
            },
            Service::Graph { .. } => Service::Graph { url },
        }
    }

    pub(super) fn backend(&self) -> Result<Arc<dyn Backend>, Error> {
        match self {
            Service::Ews {
                url,
                protocol,
                server_version,
                impersonate,
            } => Ok(Arc::new(
                Ews::new(url.clone(), *protocol, server_version)
                    .map_err(Error::Usage)?
                    .impersonating(impersonate.clone()),
            )),
            Service::Graph { url } => Ok(Arc::new(Graph::new(url))),
        }
    }
}

/// Everything a client needs to talk to one server.
///
/// ```
/// use ews_photo::{ClientConfig, HttpUrl, Service};
/// let url = HttpUrl::parse("https://mail.contoso.com/EWS/Exchange.asmx").unwrap();
/// let config = ClientConfig::new(Service::ews(url));
/// assert_eq!(config.retry.retries, 3);
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// The back end and its URL.
    pub service: Service,
    /// `--auth`.
    pub auth: AuthMethod,
    /// User, password, token.
    pub credentials: Credentials,
    /// The service principal and the GSS-API library, for Kerberos.
    pub kerberos: KerberosOptions,
    /// Allow credentials over plain `http://`, where anyone on the path can
    /// read them (Basic, Bearer), capture them to crack or relay (NTLM), or
    /// take over the authenticated connection (NTLM, Kerberos).
    pub allow_insecure_auth: bool,
    /// Retries when the server is busy.
    pub retry: RetryPolicy,
    /// TLS, proxy, timeout, verbosity, `--resolve`.
    pub transport: TransportOptions,
    /// Where to find the URL again when it stops answering: set when it came
    /// from a cache (Autodiscover's), which may be out of date.
    pub relocate: Option<Relocate>,
}

/// Finds the service URL again after the one in use stopped answering (no
/// connection, or an HTTP 404 web page instead of an answer): called with
/// that URL and why, it returns the URL to use instead. Each client asks at
/// most once; clones share the function, so it can make sure that a run
/// looks the URL up only once, whatever the number of workers.
#[derive(Clone)]
pub struct Relocate(Arc<RelocateFn>);

type RelocateFn = dyn Fn(&HttpUrl, &str) -> Option<HttpUrl> + Send + Sync;

impl Relocate {
    /// Wraps the function that finds the URL again.
    pub fn new(find: impl Fn(&HttpUrl, &str) -> Option<HttpUrl> + Send + Sync + 'static) -> Self {
        Relocate(Arc::new(find))
    }

    pub(super) fn find(&self, stale: &HttpUrl, why: &str) -> Option<HttpUrl> {
        (self.0)(stale, why)
    }
}

impl std::fmt::Debug for Relocate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Relocate")
    }
}

impl ClientConfig {
    /// Defaults for everything but the service: `--auth auto`, no
    /// credentials, 3 retries.
    pub fn new(service: Service) -> ClientConfig {
        ClientConfig {
            service,
            auth: AuthMethod::Auto,
            credentials: Credentials::default(),
            kerberos: KerberosOptions::default(),
            allow_insecure_auth: false,
            retry: RetryPolicy::default(),
            transport: TransportOptions::default(),
            relocate: None,
        }
    }
}
