//! Channel binding to the TLS connection (RFC 5929 `tls-server-end-point`),
//! which Extended Protection for Authentication requires: the authentication
//! proves it was made over this very TLS connection, so a relay or a
//! TLS-terminating middlebox cannot reuse it.

use md5::{Digest, Md5};

use crate::tls::PeerCertificateSlot;

/// The connection an authenticator binds to: the server it was made for and
/// the slot where the transport records the certificate of the connection
/// in use.
#[derive(Clone, Debug)]
pub struct Channel {
    /// The server's host name (the recorded certificate must be for it).
    pub host: String,
    /// True for https: the binding is then required.
    pub https: bool,
    /// The certificate the transport recorded for the current connection.
    pub peer_certificate: PeerCertificateSlot,
}

impl Channel {
    /// The DER certificate of the current connection to bind to; `None`
    /// over plain http, where there is no channel.
    ///
    /// ```
    /// use ews_photo::auth::channel_binding::Channel;
    /// let plain = Channel { host: "mail.contoso.com".into(), https: false, peer_certificate: Default::default() };
    /// assert_eq!(plain.certificate(), Ok(None));
    /// let tls = Channel { https: true, ..plain };
    /// assert!(tls.certificate().is_err()); // nothing recorded
    /// ```
    pub fn certificate(&self) -> Result<Option<Vec<u8>>, String> {
        if !self.https {
            return Ok(None);
        }
        let peer = self
            .peer_certificate
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match peer {
            Some(peer) if peer.host.eq_ignore_ascii_case(&self.host) => Ok(Some(peer.certificate)),
            _ => Err("no server certificate was recorded for this https connection, so the channel binding (Extended Protection) cannot be computed; this is a bug in ews-photo: please report it, with the output of -v".into()),
        }
    }
}

/// The channel-binding application data for a server certificate:
/// `tls-server-end-point:` ‖ hash(certificate), what GSS-API mechanisms take as
/// `application_data`.
pub fn application_data(certificate_der: &[u8]) -> Vec<u8> {
    let mut data = b"tls-server-end-point:".to_vec();
    data.extend_from_slice(&certificate_hash(certificate_der));
    data
}

/// The binding as NTLM carries it in MsvAvChannelBindings: MD5 of the
/// gss_channel_bindings_struct whose only content is [`application_data`]
/// (both address types and lengths zero).
pub fn ntlm_hash(certificate_der: &[u8]) -> [u8; 16] {
    let application_data = application_data(certificate_der);
    let mut gss = vec![0u8; 16];
    gss.extend_from_slice(&(application_data.len() as u32).to_le_bytes());
    gss.extend_from_slice(&application_data);
    Md5::digest(&gss).into()
}

/// The certificate hash of RFC 5929 §4.1: the hash of the certificate's
/// signature algorithm, except MD5 and SHA-1 (and unknown ones) become SHA-256.
pub fn certificate_hash(certificate_der: &[u8]) -> Vec<u8> {
    use ring::digest::{SHA256, SHA384, SHA512, digest};
    let algorithm = match signature_hash(certificate_der) {
        SigHash::Sha384 => &SHA384,
        SigHash::Sha512 => &SHA512,
        SigHash::Sha256 => &SHA256,
    };
    digest(algorithm, certificate_der).as_ref().to_vec()
}

#[derive(Debug, PartialEq, Eq)]
enum SigHash {
    Sha256,
    Sha384,
    Sha512,
}

/// Reads one DER TLV at `at`: (tag, content range, next position).
fn der(data: &[u8], at: usize) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let tag = *data.get(at)?;
    let first = *data.get(at + 1)? as usize;
    let (len, start) = if first < 0x80 {
        (first, at + 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(at + 2 + i)? as usize;
        }
        (len, at + 2 + n)
    };
    let end = start.checked_add(len)?;
    (end <= data.len()).then_some((tag, start..end, end))
}

/// The hash of the certificate's signatureAlgorithm, mapped per RFC 5929.
fn signature_hash(cert: &[u8]) -> SigHash {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }
    let algorithm_oid = (|| {
        let (_, outer, _) = der(cert, 0)?;
        let (_, _, after_tbs) = der(cert, outer.start)?;
        let (_, algorithm, _) = der(cert, after_tbs)?;
        let (tag, oid, after_oid) = der(cert, algorithm.start)?;
        (tag == 0x06).then(|| (cert[oid].to_vec(), cert[after_oid..algorithm.end].to_vec()))
    })();
    let Some((oid, params)) = algorithm_oid else {
        return SigHash::Sha256;
    };
    const SHA384_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c];
    const SHA512_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d];
    const RSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    const ECDSA_SHA384: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03];
    const ECDSA_SHA512: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04];
    // id-sha384 / id-sha512 (2.16.840.1.101.3.4.2.2 / .3), inside RSASSA-PSS parameters.
    const SHA384: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02];
    const SHA512: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03];
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    match oid.as_slice() {
        SHA384_RSA | ECDSA_SHA384 => SigHash::Sha384,
        SHA512_RSA | ECDSA_SHA512 => SigHash::Sha512,
        // PSS names its hash in the parameters (the first OID there is hashAlgorithm).
        RSA_PSS if contains(&params, SHA384) => SigHash::Sha384,
        RSA_PSS if contains(&params, SHA512) => SigHash::Sha512,
        _ => SigHash::Sha256,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    #[test]
    fn channel_binding_follows_rfc_5929_hash_choice() {
        // Certificate { tbs SEQUENCE{}, algorithm SEQUENCE{ OID }, BIT STRING }
        let cert = |oid: &[u8]| {
            let mut alg = vec![0x06, oid.len() as u8];
            alg.extend_from_slice(oid);
            let mut body = vec![0x30, 0x00, 0x30, alg.len() as u8];
            body.extend_from_slice(&alg);
            body.extend_from_slice(&[0x03, 0x01, 0x00]);
            let mut c = vec![0x30, body.len() as u8];
            c.extend_from_slice(&body);
            c
        };
        let sha256_rsa = cert(&hex("2a864886f70d01010b"));
        let sha1_rsa = cert(&hex("2a864886f70d010105"));
        let sha384_ecdsa = cert(&hex("2a8648ce3d040303"));
        let sha512_rsa = cert(&hex("2a864886f70d01010d"));
        assert_eq!(signature_hash(&sha256_rsa), SigHash::Sha256);
        assert_eq!(signature_hash(&sha1_rsa), SigHash::Sha256);
        assert_eq!(signature_hash(&sha384_ecdsa), SigHash::Sha384);
        assert_eq!(signature_hash(&sha512_rsa), SigHash::Sha512);
        assert_eq!(signature_hash(b"junk"), SigHash::Sha256);
        assert_eq!(certificate_hash(&sha384_ecdsa).len(), 48);
        // The struct NTLM hashes: 16 zero bytes, length, application data.
        let app = [
            b"tls-server-end-point:".as_ref(),
            &certificate_hash(&sha256_rsa),
        ]
        .concat();
        let mut gss = vec![0u8; 16];
        gss.extend_from_slice(&(app.len() as u32).to_le_bytes());
        gss.extend_from_slice(&app);
        let expected: [u8; 16] = Md5::digest(&gss).into();
        assert_eq!(ntlm_hash(&sha256_rsa), expected);
    }
    /// The DER walk on real certificates: SHA-256 and SHA-384 signatures.
    #[test]
    fn certificate_hash_of_generated_certificates() {
        for (alg, len) in [
            (&rcgen::PKCS_ECDSA_P256_SHA256, 32),
            (&rcgen::PKCS_ECDSA_P384_SHA384, 48),
        ] {
            let key = rcgen::KeyPair::generate_for(alg).unwrap();
            let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            assert_eq!(certificate_hash(cert.der()).len(), len);
        }
    }
}
