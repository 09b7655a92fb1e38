//! TLS for the ureq agent, through our own connector so that the server
//! certificate of each connection is known (ureq 3 has no API for it). NTLM
//! needs it for the channel binding (Extended Protection).
//!
//! The connector does what ureq's own `RustlsConnector` does (rustls, ring,
//! TLS 1.2 and 1.3, SNI) with the same three trust modes: the platform
//! verifier, extra CA certificates from `--ca-cert` (plus the system's roots),
//! or no verification (`--insecure`). After the handshake it stores the
//! server's end-entity certificate in a [`PeerCertificateSlot`] shared with the
//! client.

use std::fmt;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, Transport,
    TransportAdapter,
};

use crate::error::Error;

/// The server certificate of the TLS connection most recently made by one
/// transport, with the host it was made to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The host name (or IP address) connected to.
    pub host: String,
    /// The end-entity certificate, DER.
    pub certificate: Vec<u8>,
}

/// Where the connector leaves the certificate of each new TLS connection for
/// the authenticator to read. With one connection per client, "the latest"
/// is the connection in flight.
pub type PeerCertificateSlot = Arc<Mutex<Option<Peer>>>;

/// How the server's certificate is checked.
pub enum Trust {
    /// The operating system's verifier and roots.
    Platform,
    /// These CA certificates (DER).
    Roots(Vec<Vec<u8>>),
    /// Accept any certificate: no verification at all (`--insecure`).
    AnyCertificate,
}

/// Builds the rustls configuration for `trust`.
pub fn client_config(trust: Trust) -> Result<Arc<ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| Error::local("set up TLS", e))?;
    let config = match trust {
        Trust::AnyCertificate => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
            .with_no_client_auth(),
        Trust::Roots(certs) => {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(certs.into_iter().map(CertificateDer::from));
            builder.with_root_certificates(store).with_no_client_auth()
        }
        Trust::Platform => {
            // Loading the system's roots costs about 19 million instructions
            // (every PEM file parsed): once per process, not once per client
            // (an export builds one per worker).
            static PLATFORM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
            if let Some(config) = PLATFORM.get() {
                return Ok(Arc::clone(config));
            }
            let verifier = rustls_platform_verifier::Verifier::new(provider)
                .map_err(|e| Error::local("use the system's certificate store", e))?;
            let config = Arc::new(
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(verifier))
                    .with_no_client_auth(),
            );
            return Ok(Arc::clone(PLATFORM.get_or_init(|| config)));
        }
    };
    Ok(Arc::new(config))
}

/// Wraps the chained transport in TLS for https URLs and records the peer
/// certificate.
pub struct RecordingTlsConnector {
    config: Arc<ClientConfig>,
    peer: PeerCertificateSlot,
}

impl RecordingTlsConnector {
    /// A connector with this configuration, recording into `peer`.
    pub fn new(config: Arc<ClientConfig>, peer: PeerCertificateSlot) -> Self {
        RecordingTlsConnector { config, peer }
    }
}

impl fmt::Debug for RecordingTlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingTlsConnector").finish()
    }
}

impl<In: Transport> Connector<In> for RecordingTlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        // As ureq's own connector: TLS only for https, and never TLS on a
        // connection that is already TLS to the target. An https:// proxy's
        // CONNECT tunnel is not: ureq reports it as plain (since 3.4), so the
        // target gets its own TLS through it and its certificate is recorded.
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let url = crate::HttpUrl::parse(&details.uri.to_string())
            .map_err(|_| ureq::Error::Tls("no host in the URL"))?;
        let host = url.host().to_string();
        let name = ServerName::try_from(host.clone())
            .map_err(|_| ureq::Error::Tls("invalid DNS name for TLS"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        let certificate = conn
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.as_ref().to_vec());
        *self.peer.lock().unwrap_or_else(|e| e.into_inner()) =
            certificate.map(|certificate| Peer { host, certificate });
        let buffers = LazyBuffers::new(
            details.config.input_buffer_size(),
            details.config.output_buffer_size(),
        );
        Ok(Some(Either::B(TlsTransport {
            buffers,
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection (as ureq's `RustlsTransport`).
pub struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsTransport").finish()
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// `--insecure`: accepts any certificate and handshake signature, as ureq's
/// `disable_verification` does.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
