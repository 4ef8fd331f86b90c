//! The one TLS client configuration every outgoing connection of a source
//! uses: the fetcher's HTTP client and the Jetstream WebSocket.
//!
//! ring as the crypto provider (as lettre's SMTP uses), the webpki roots
//! compiled in (so verification does not depend on the host's CA bundle),
//! verification always on, TLS 1.2 and 1.3. Handed to each client
//! explicitly, so no process-wide provider has to be installed first and no
//! second crypto library (reqwest 0.13's default, aws-lc) is built.

use tokio_rustls::rustls;

/// A fresh client configuration; `Err` only if ring offers no safe protocol version.
pub fn client_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    Ok(rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    #[test]
    fn verification_is_on_against_the_compiled_in_roots() {
        let config = super::client_config().expect("ring offers TLS 1.2 and 1.3");
        assert!(!webpki_roots::TLS_SERVER_ROOTS.is_empty());
        assert!(config.enable_sni);
        let ring = super::rustls::crypto::ring::default_provider();
        assert_eq!(config.crypto_provider().cipher_suites, ring.cipher_suites, "ring's suites, not another library's");
    }
}
