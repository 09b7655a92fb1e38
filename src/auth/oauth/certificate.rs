//! The app's certificate credential: an RSA key and its X.509 certificate,
//! from a PEM file (certificate + PKCS#8 or PKCS#1 key) or a PKCS#12 `.pfx`
//! as Windows exports it (AES-256/PBKDF2, or the legacy 3DES/RC2 with SHA-1).
//!
//! Parsing PEM is rustls-pki-types' (already used for TLS), PKCS#12 is
//! p12-keystore's, and the RSA key and digests are ring's (rustls' provider):
//! no cryptography of our own.

use std::fmt;

use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use ring::digest;
use ring::signature::RsaKeyPair;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::OAuthError;
use crate::Secret;

/// An RSA private key with the certificate Entra knows it by. `Debug` shows
/// the thumbprint, never the key.
pub struct ClientCertificate {
    key: RsaKeyPair,
    certificate: Vec<u8>,
    sha256: String,
    sha1: String,
    sha1_hex: String,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("thumbprint_sha1", &self.sha1_hex)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl ClientCertificate {
    /// True when the bytes look like a DER PKCS#12 file (a SEQUENCE) rather
    /// than PEM text, so that the caller asks for a password only when one is
    /// needed.
    ///
    /// ```
    /// use ews_photo::auth::oauth::ClientCertificate;
    /// assert!(!ClientCertificate::is_pkcs12(b"-----BEGIN CERTIFICATE-----"));
    /// assert!(ClientCertificate::is_pkcs12(&[0x30, 0x82, 0x09, 0xc2]));
    /// ```
    pub fn is_pkcs12(bytes: &[u8]) -> bool {
        bytes.first() == Some(&0x30)
    }

    /// Reads a PEM file holding the certificate and its RSA private key (in
    /// either order; other certificates, such as a chain, may be there too).
    pub fn from_pem(pem: &[u8]) -> Result<ClientCertificate, OAuthError> {
        let text = String::from_utf8_lossy(pem);
        if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(OAuthError::Certificate(
                "the PEM file's private key is encrypted, which ews-photo does not read: decrypt it (openssl pkcs8 -in key.pem -out plain.pem) and keep that file private, or use the .pfx with EWS_CERTIFICATE_PASSWORD".into(),
            ));
        }
        let key = match PrivateKeyDer::from_pem_slice(pem) {
            Ok(key) => key,
            Err(_) => {
                return Err(OAuthError::Certificate(
                    "the PEM file has no private key: put the certificate and its private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----) in one file, or give the .pfx".into(),
                ));
            }
        };
        let key = match &key {
            PrivateKeyDer::Pkcs8(der) => rsa_from_pkcs8(der.secret_pkcs8_der())?,
            PrivateKeyDer::Pkcs1(der) => {
                RsaKeyPair::from_der(der.secret_pkcs1_der()).map_err(|e| unusable_key(&e))?
            }
            _ => return Err(not_rsa()),
        };
        let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| OAuthError::Certificate(format!("the PEM file cannot be read: {e}")))?;
        if certificates.is_empty() {
            return Err(OAuthError::Certificate(
                "the PEM file has a private key but no certificate: append the certificate (-----BEGIN CERTIFICATE-----) that was uploaded to the app registration".into(),
            ));
        }
        let certificates: Vec<&[u8]> = certificates.iter().map(|c| c.as_ref()).collect();
        ClientCertificate::pair(key, &certificates)
    }

    /// Reads a PKCS#12 (`.pfx`/`.p12`) file with its password.
    pub fn from_pkcs12(der: &[u8], password: &Secret) -> Result<ClientCertificate, OAuthError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            password.expose(),
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| match e {
            p12_keystore::error::Error::MacError(_) => OAuthError::Certificate(
                "the .pfx password is wrong (the file's integrity check failed): set EWS_CERTIFICATE_PASSWORD to the password given when the certificate was exported".into(),
            ),
            other => OAuthError::Certificate(format!(
                "the .pfx file cannot be read ({other}): export it again (Export-PfxCertificate, or openssl pkcs12 -export), or give a PEM file"
            )),
        })?;
        let Some((_, chain)) = store.private_key_chain() else {
            return Err(OAuthError::Certificate(
                "the .pfx file has no private key: export the certificate with its private key (Export-PfxCertificate, or \"Yes, export the private key\" in the wizard)".into(),
            ));
        };
        let key = rsa_from_pkcs8(chain.key().as_der())?;
        let certificates: Vec<&[u8]> = chain.certs().iter().map(|c| c.as_der()).collect();
        if certificates.is_empty() {
            return Err(OAuthError::Certificate(
                "the .pfx file has a private key but not its certificate: export it again with the certificate".into(),
            ));
        }
        ClientCertificate::pair(key, &certificates)
    }

    /// Picks the certificate whose public key is the key's.
    fn pair(key: RsaKeyPair, certificates: &[&[u8]]) -> Result<ClientCertificate, OAuthError> {
        // The certificate's SubjectPublicKeyInfo carries exactly this
        // RSAPublicKey DER (modulus and exponent) inside its BIT STRING; a
        // 2048-bit modulus cannot occur in another certificate by chance.
        let public = key.public().as_ref();
        let Some(certificate) = certificates
            .iter()
            .find(|c| c.windows(public.len()).any(|w| w == public))
        else {
            return Err(OAuthError::Certificate(
                "the private key does not belong to the certificate in the file: put the matching certificate and key together".into(),
            ));
        };
        let sha256 = digest::digest(&digest::SHA256, certificate);
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate);
        Ok(ClientCertificate {
            key,
            certificate: certificate.to_vec(),
            sha256: BASE64_URL_SAFE_NO_PAD.encode(sha256.as_ref()),
            sha1: BASE64_URL_SAFE_NO_PAD.encode(sha1.as_ref()),
            sha1_hex: sha1.as_ref().iter().map(|b| format!("{b:02X}")).collect(),
        })
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// base64url (no padding) of the SHA-256 of the certificate's DER: the
    /// `x5t#S256` header.
    pub fn thumbprint_sha256(&self) -> &str {
        &self.sha256
    }

    /// base64url (no padding) of the SHA-1 of the certificate's DER: the
    /// `x5t` header.
    pub fn thumbprint_sha1(&self) -> &str {
        &self.sha1
    }

    /// The SHA-1 thumbprint in upper-case hex, as the Entra portal lists the
    /// app's certificates: for messages that say which one to upload.
    pub fn thumbprint_sha1_hex(&self) -> &str {
        &self.sha1_hex
    }

    pub(super) fn key(&self) -> &RsaKeyPair {
        &self.key
    }
}

fn rsa_from_pkcs8(der: &[u8]) -> Result<RsaKeyPair, OAuthError> {
    RsaKeyPair::from_pkcs8(der).map_err(|e| {
        let reason = e.to_string();
        if reason == "WrongAlgorithm" || reason == "InvalidEncoding" {
            not_rsa()
        } else {
            unusable_key(&e)
        }
    })
}

fn not_rsa() -> OAuthError {
    OAuthError::Certificate(
        "the private key is not an RSA key: Entra ID certificate credentials are RSA (2048 bits or more); make one with New-SelfSignedCertificate -KeyAlgorithm RSA or openssl req -newkey rsa:2048".into(),
    )
}

fn unusable_key(e: &ring::error::KeyRejected) -> OAuthError {
    OAuthError::Certificate(format!(
        "the RSA private key cannot be used ({e}); it must be 2048 to 8192 bits, as Entra ID requires 2048 or more"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const PKCS8_PEM: &[u8] =
        include_bytes!("../../../tests/oauth/fixtures/client.pkcs8.pem");
    const PKCS1_PEM: &[u8] = include_bytes!("../../../tests/oauth/fixtures/client.pkcs1.pem");
    const AES_PFX: &[u8] = include_bytes!("../../../tests/oauth/fixtures/client-aes.pfx");
    const LEGACY_PFX: &[u8] = include_bytes!("../../../tests/oauth/fixtures/client-legacy.pfx");
    const TRIPLE_DES_PFX: &[u8] = include_bytes!("../../../tests/oauth/fixtures/client-3des.pfx");
    const SHA256: &str = include_str!("../../../tests/oauth/fixtures/thumbprint-sha256.txt");
    const SHA1: &str = include_str!("../../../tests/oauth/fixtures/thumbprint-sha1.txt");

    fn expected(thumbprint: &str) -> &str {
        thumbprint.trim().trim_end_matches('=')
    }

    #[test]
    fn every_form_reads_to_the_same_certificate() {
        let password = Secret::new("pfx-pass");
        let loaded = [
            ClientCertificate::from_pem(PKCS8_PEM).unwrap(),
            ClientCertificate::from_pem(PKCS1_PEM).unwrap(),
            ClientCertificate::from_pkcs12(AES_PFX, &password).unwrap(),
            ClientCertificate::from_pkcs12(LEGACY_PFX, &password).unwrap(),
            ClientCertificate::from_pkcs12(TRIPLE_DES_PFX, &password).unwrap(),
        ];
        for cert in &loaded {
            assert_eq!(cert.thumbprint_sha256(), expected(SHA256));
            assert_eq!(cert.thumbprint_sha1(), expected(SHA1));
            assert_eq!(cert.thumbprint_sha1_hex().len(), 40);
            assert_eq!(cert.certificate_der(), loaded[0].certificate_der());
        }
        assert!(ClientCertificate::is_pkcs12(AES_PFX));
        assert!(!ClientCertificate::is_pkcs12(PKCS8_PEM));
    }

    #[test]
    fn a_wrong_password_says_so() {
        for pfx in [AES_PFX, LEGACY_PFX] {
            let e = ClientCertificate::from_pkcs12(pfx, &Secret::new("nope")).unwrap_err();
            assert!(e.to_string().contains("password is wrong"), "{e}");
        }
    }

    #[test]
    fn missing_or_mismatched_parts_are_explained() {
        let text = std::str::from_utf8(PKCS8_PEM).unwrap();
        let cert_end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
        let (cert_only, key_only) = text.split_at(cert_end);
        let e = ClientCertificate::from_pem(cert_only.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no private key"), "{e}");
        let e = ClientCertificate::from_pem(key_only.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        let encrypted =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        let e = ClientCertificate::from_pem(encrypted.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("encrypted"), "{e}");

        // Another RSA key with this certificate; an EC key.
        let other = include_str!("../../../tests/oauth/fixtures/other-key.pkcs1.pem");
        let mismatched = format!("{cert_only}\n{other}");
        let e = ClientCertificate::from_pem(mismatched.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("does not belong"), "{e}");
        let ec = rcgen::KeyPair::generate().unwrap();
        let with_ec = format!("{cert_only}\n{}", ec.serialize_pem());
        let e = ClientCertificate::from_pem(with_ec.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("not an RSA key"), "{e}");
        let e =
            ClientCertificate::from_pkcs12(b"\x30\x03\x02\x01\x03", &Secret::new("x")).unwrap_err();
        assert!(e.to_string().contains("cannot be read"), "{e}");
    }

    #[test]
    fn debug_shows_no_key() {
        let cert = ClientCertificate::from_pem(PKCS8_PEM).unwrap();
        let shown = format!("{cert:?}");
        assert!(shown.contains(cert.thumbprint_sha1_hex()), "{shown}");
        let text = std::str::from_utf8(PKCS8_PEM).unwrap();
        let key_b64 = text
            .split("-----BEGIN PRIVATE KEY-----")
            .nth(1)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap();
        assert!(!shown.contains(key_b64), "{shown}");
    }
}
