//! A throwaway certificate authority for TLS tests.

use super::*;

/// A test certificate authority with a server certificate for 127.0.0.1
/// and a client certificate, written as PEM files into `dir`.
pub struct TestPki {
    /// CA certificate.
    pub ca: PathBuf,
    /// Broker certificate and key.
    pub server: (PathBuf, PathBuf),
    /// Client certificate and key.
    pub client: (PathBuf, PathBuf),
    /// A broker certificate for 127.0.0.1 from another CA, which the daemon must refuse.
    pub rogue_server: (PathBuf, PathBuf),
    /// A broker certificate from the right CA for another host, which the daemon must refuse.
    pub other_host_server: (PathBuf, PathBuf),
}

impl TestPki {
    /// Generates the CA and the certificates.
    pub fn generate(dir: &Path) -> anyhow::Result<Self> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
        let authority = |name: &str| -> anyhow::Result<_> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.self_signed(&key)?;
            Ok((cert, Issuer::new(params, key)))
        };
        let (ca_cert, issuer) = authority("sitewarden test CA")?;
        let (_, rogue) = authority("sitewarden test CA")?;
        let signed = |issuer: &Issuer<'_, KeyPair>,
                      name: &str,
                      loopback: bool|
         -> anyhow::Result<(String, String)> {
            let key = KeyPair::generate()?;
            let mut params = CertificateParams::new(vec![name.to_owned()])?;
            if loopback {
                params
                    .subject_alt_names
                    .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
            }
            params.distinguished_name.push(DnType::CommonName, name);
            let cert = params.signed_by(&key, issuer)?;
            Ok((cert.pem(), key.serialize_pem()))
        };
        let leaf = |name: &str, server: bool| signed(&issuer, name, server);
        let write = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
            let path = dir.join(name);
            std::fs::write(&path, text)?;
            Ok(path)
        };
        let (server_cert, server_key) = leaf("localhost", true)?;
        let (client_cert, client_key) = leaf("sitewarden-test", false)?;
        let (rogue_cert, rogue_key) = signed(&rogue, "localhost", true)?;
        let (other_cert, other_key) = leaf("broker.other.example", false)?;
        Ok(Self {
            rogue_server: (
                write("rogue-server.pem", &rogue_cert)?,
                write("rogue-server.key", &rogue_key)?,
            ),
            other_host_server: (
                write("other-server.pem", &other_cert)?,
                write("other-server.key", &other_key)?,
            ),
            ca: write("ca.pem", &ca_cert.pem())?,
            server: (
                write("server.pem", &server_cert)?,
                write("server.key", &server_key)?,
            ),
            client: (
                write("client.pem", &client_cert)?,
                write("client.key", &client_key)?,
            ),
        })
    }
}
