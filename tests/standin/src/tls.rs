//! A TLS front for the stand-in: terminates TLS with a certificate made for the
//! test (valid, for the wrong host, or expired) and relays the plain bytes to a
//! stand-in server. Used to test `--ca-cert`, `--insecure` and certificate
//! errors end to end.
//!
//! [`TestCa`] issues certificates for any host names (Autodiscover's
//! `contoso.com`, `autodiscover.contoso.com`, …), and [`TlsFront::serve`]
//! presents one.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// Which server certificate the front presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertKind {
    /// Valid for `127.0.0.1` and `localhost`, signed by the test CA.
    Valid,
    /// Signed by the test CA, but for `wrong.example` only.
    WrongHost,
    /// For `127.0.0.1`, signed by the test CA, expired in 2020.
    Expired,
}

/// A certificate authority made for one test run.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

/// A server certificate and its private key.
#[derive(Clone)]
pub struct Identity {
    /// The certificate, DER.
    pub leaf_der: Vec<u8>,
    /// Its key, PKCS#8 DER.
    pub key_der: Vec<u8>,
}

impl TestCa {
    /// A new CA named `name`.
    pub fn new(name: &str) -> io::Result<TestCa> {
        let make = || -> Result<TestCa, rcgen::Error> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.distinguished_name.push(DnType::CommonName, name);
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = params.self_signed(&key)?;
            Ok(TestCa {
                pem: cert.pem(),
                issuer: Issuer::new(params, key),
            })
        };
        make().map_err(io::Error::other)
    }

    /// The CA certificate, PEM (for `--ca-cert`).
    pub fn pem(&self) -> &str {
        &self.pem
    }

    /// A server certificate for these host names, valid now.
    pub fn issue(&self, names: &[&str]) -> io::Result<Identity> {
        let make = || -> Result<Identity, rcgen::Error> {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let mut leaf = CertificateParams::new(names)?;
            leaf.distinguished_name
                .push(DnType::CommonName, "ews-standin");
            leaf.is_ca = IsCa::ExplicitNoCa;
            let key = KeyPair::generate()?;
            let cert = leaf.signed_by(&key, &self.issuer)?;
            Ok(Identity {
                leaf_der: cert.der().to_vec(),
                key_der: key.serialize_der(),
            })
        };
        make().map_err(io::Error::other)
    }
}

/// A running TLS front. Dropping it stops accepting.
pub struct TlsFront {
    addr: SocketAddr,
    ca_pem: String,
    leaf_der: Vec<u8>,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
}

impl TlsFront {
    /// Starts a front on 127.0.0.1 (port 0) relaying to `backend`.
    pub fn start(backend: SocketAddr, kind: CertKind) -> io::Result<TlsFront> {
        let (ca_pem, leaf_der, key_der) = certificates(kind).map_err(io::Error::other)?;
        TlsFront::serve(backend, Identity { leaf_der, key_der }, ca_pem)
    }

    /// Starts a front on 127.0.0.1 (port 0) that presents `identity` (issued
    /// by the CA whose certificate is `ca_pem`) and relays to `backend`.
    pub fn serve(backend: SocketAddr, identity: Identity, ca_pem: String) -> io::Result<TlsFront> {
        let Identity { leaf_der, key_der } = identity;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .map_err(io::Error::other)?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let connections = Arc::new(AtomicU64::new(0));
        let counted = connections.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                counted.fetch_add(1, Ordering::SeqCst);
                let config = config.clone();
                thread::spawn(move || {
                    let _ = relay(stream, backend, config);
                });
            }
        });
        Ok(TlsFront {
            addr,
            ca_pem,
            leaf_der,
            stop,
            connections,
        })
    }

    /// TCP connections accepted so far (a failed handshake counts too).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// `https://127.0.0.1:PORT/EWS/Exchange.asmx`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/EWS/Exchange.asmx", self.addr.port())
    }

    /// Where the front listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The test CA's certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.leaf_der
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

type Material = (String, Vec<u8>, Vec<u8>);

fn certificates(kind: CertKind) -> Result<Material, rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "ews-standin test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let names = match kind {
        CertKind::WrongHost => vec!["wrong.example".to_string()],
        _ => vec!["127.0.0.1".to_string(), "localhost".to_string()],
    };
    let mut leaf = CertificateParams::new(names)?;
    leaf.distinguished_name
        .push(DnType::CommonName, "ews-standin");
    leaf.is_ca = IsCa::ExplicitNoCa;
    if kind == CertKind::Expired {
        leaf.not_before = rcgen::date_time_ymd(2019, 1, 1);
        leaf.not_after = rcgen::date_time_ymd(2020, 1, 1);
    }
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok((
        ca_cert.pem(),
        leaf_cert.der().to_vec(),
        leaf_key.serialize_der(),
    ))
}

/// Pumps bytes both ways until either side closes. HTTP here is request then
/// response, so polling each direction with a short timeout is enough.
fn relay(
    mut tcp: TcpStream,
    backend: SocketAddr,
    config: Arc<rustls::ServerConfig>,
) -> io::Result<()> {
    let mut conn = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut plain = TcpStream::connect(backend)?;
    let poll = Some(Duration::from_millis(5));
    tcp.set_read_timeout(poll)?;
    plain.set_read_timeout(poll)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Client → server.
        match conn.read_tls(&mut tcp) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                conn.process_new_packets().map_err(io::Error::other)?;
                loop {
                    match conn.reader().read(&mut buf) {
                        Ok(0) => return Ok(()),
                        Ok(n) => plain.write_all(&buf[..n])?,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
        while conn.wants_write() {
            conn.write_tls(&mut tcp)?;
        }
        // Server → client.
        match plain.read(&mut buf) {
            Ok(0) => {
                conn.send_close_notify();
                while conn.wants_write() {
                    conn.write_tls(&mut tcp)?;
                }
                return Ok(());
            }
            Ok(n) => {
                conn.writer().write_all(&buf[..n])?;
                while conn.wants_write() {
                    conn.write_tls(&mut tcp)?;
                }
            }
            Err(e) if is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}
