//! TLS on the listening port: rustls on *ring*, TLS 1.2 and 1.3 with rustls' defaults, ALPN `h2`;
//! optionally mutual TLS, with the client certificate bound to the token's organisation; and
//! certificates that rotate while serving.
//!
//! tonic's own `tls_config` reads its certificate once. Here the listener's connections are
//! accepted and handshaken by this module, each with the [`ServerConfig`] in force when it
//! arrived, and handed to tonic's `serve_with_incoming_shutdown` already encrypted. Swapping the
//! whole `ServerConfig` (not only the certificate) rotates the client CA bundle too; connections
//! already open keep the session they began with.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use crate::config::{ClientOrganisation, TlsArgs};
use crate::connection::AgeLimited;

/// A client that connects and says nothing is dropped after this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for tonic to take them.
const ACCEPT_QUEUE: usize = 64;
/// The URI a client certificate's subject alternative name carries to name an organisation.
pub const ORGANISATION_URI_PREFIX: &str = "urn:almo-exchange:organisation:";

/// The server's TLS configuration as its files say now, replaced when they change.
pub struct ReloadingConfig {
    cert: PathBuf,
    key: PathBuf,
    client_ca: Option<PathBuf>,
    current: RwLock<Arc<ServerConfig>>,
    /// The files' bytes `current` was built from: a reload that reads the same is a no-op.
    built_from: Mutex<Vec<u8>>,
}

impl ReloadingConfig {
    /// The configuration `args` ask for; `None` when TLS is off.
    pub fn load(args: &TlsArgs) -> anyhow::Result<Option<Arc<Self>>> {
        args.check()?;
        let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
            return Ok(None);
        };
        let (bytes, config) = read_and_build(cert, key, args.tls_client_ca.as_deref())?;
        Ok(Some(Arc::new(Self {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.tls_client_ca.clone(),
            current: RwLock::new(Arc::new(config)),
            built_from: Mutex::new(bytes),
        })))
    }

    /// The configuration a connection arriving now is handshaken with.
    pub fn current(&self) -> Arc<ServerConfig> {
        self.current.read().expect("tls config lock").clone()
    }

    /// Reads the files again. `Ok(true)`: they changed and new connections get the new
    /// configuration; `Ok(false)`: unchanged. On an error (a file half-written, a key that does
    /// not match its certificate) the configuration in force stays.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let mut built_from = self.built_from.lock().expect("tls files lock");
        let bytes = read_all(&self.cert, &self.key, self.client_ca.as_deref())?;
        if bytes == *built_from {
            return Ok(false);
        }
        let config = build(&bytes, &self.cert, &self.key, self.client_ca.as_deref())?;
        *self.current.write().expect("tls config lock") = Arc::new(config);
        *built_from = bytes;
        Ok(true)
    }

    /// Re-reads the files every `every` (if set) and on SIGHUP, for as long as the task runs.
    pub fn watch(self: Arc<Self>, every: Option<Duration>) -> JoinHandle<()> {
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangup =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
            loop {
                let tick = async {
                    match every {
                        Some(d) => tokio::time::sleep(d).await,
                        None => std::future::pending().await,
                    }
                };
                #[cfg(unix)]
                let hup = async {
                    match hangup.as_mut() {
                        Some(s) => {
                            s.recv().await;
                        }
                        None => std::future::pending().await,
                    }
                };
                #[cfg(not(unix))]
                let hup = std::future::pending::<()>();
                let why = tokio::select! {
                    () = tick => "files checked",
                    () = hup => "SIGHUP",
                };
                match self.reload() {
                    Ok(true) => tracing::info!(
                        cert = %self.cert.display(),
                        trigger = why,
                        "TLS certificate reloaded: new connections use it, open ones keep theirs"
                    ),
                    Ok(false) if why == "SIGHUP" => {
                        tracing::info!("SIGHUP: TLS files unchanged")
                    }
                    Ok(false) => {}
                    Err(e) => tracing::warn!(
                        error = %format!("{e:#}"),
                        "TLS files changed but cannot be used: still serving the previous certificate"
                    ),
                }
            }
        })
    }
}

fn read_all(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    for path in [Some(cert), Some(key), client_ca].into_iter().flatten() {
        let content =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        // Lengths first, so moving bytes from one file to the next still counts as a change.
        bytes.extend_from_slice(&(content.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&content);
    }
    Ok(bytes)
}

fn read_and_build(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> anyhow::Result<(Vec<u8>, ServerConfig)> {
    let bytes = read_all(cert, key, client_ca)?;
    let config = build(&bytes, cert, key, client_ca)?;
    Ok((bytes, config))
}

/// Splits what [`read_all`] read back into the files' contents.
fn split(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    while bytes.len() >= 8 {
        let (len, rest) = bytes.split_at(8);
        let len = u64::from_le_bytes(len.try_into().expect("8 bytes")) as usize;
        let (part, rest) = rest.split_at(len.min(rest.len()));
        parts.push(part);
        bytes = rest;
    }
    parts
}

fn build(
    bytes: &[u8],
    cert_path: &Path,
    key_path: &Path,
    ca_path: Option<&Path>,
) -> anyhow::Result<ServerConfig> {
    let parts = split(bytes);
    let (cert_pem, key_pem) = (parts[0], parts[1]);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{}: not a PEM certificate chain", cert_path.display()))?;
    if chain.is_empty() {
        bail!("{}: no certificate in it", cert_path.display());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .with_context(|| format!("{}: not a PEM private key", key_path.display()))?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("rustls protocol versions")?;
    let builder = match (ca_path, parts.get(2)) {
        (Some(ca_path), Some(ca_pem)) => {
            let mut roots = RootCertStore::empty();
            for ca in CertificateDer::pem_slice_iter(ca_pem) {
                let ca = ca.with_context(|| {
                    format!("{}: not a PEM certificate bundle", ca_path.display())
                })?;
                roots
                    .add(ca)
                    .with_context(|| format!("{}: a certificate in it", ca_path.display()))?;
            }
            if roots.is_empty() {
                bail!("{}: no certificate in it", ca_path.display());
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .with_context(|| format!("{}: client CA", ca_path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        _ => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).with_context(|| {
        format!(
            "{} and {} do not make a certificate and its key",
            cert_path.display(),
            key_path.display()
        )
    })?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

/// The connections accepted on `listener`, each handshaken (concurrently, so a slow client holds
/// up no other) with the configuration in force when it arrived. Ends, closing the listener, when
/// the server stops taking connections.
pub(crate) fn incoming(
    listener: TcpListener,
    config: Arc<ReloadingConfig>,
    accepted: Arc<AtomicU64>,
    hard_limit: Option<Duration>,
) -> ReceiverStream<io::Result<AgeLimited<TlsStream<TcpStream>>>> {
    let (tx, rx) = mpsc::channel(ACCEPT_QUEUE);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = tx.closed() => break,
                a = listener.accept() => match a {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            // tonic does not set TCP_NODELAY on streams it did not accept itself.
            let _ = tcp.set_nodelay(true);
            let acceptor = TlsAcceptor::from(config.current());
            let tx = tx.clone();
            let accepted = accepted.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send(Ok(AgeLimited::new(tls, hard_limit))).await;
                    }
                    Ok(Err(e)) => {
                        tracing::info!(%peer, error = %e, "TLS handshake refused")
                    }
                    Err(_) => tracing::info!(%peer, "TLS handshake not done in time"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// Whether the client certificate of a call names `organisation`, as `binding` asks.
pub fn check_client_organisation(
    peer_certs: Option<&[CertificateDer<'_>]>,
    binding: ClientOrganisation,
    organisation: &str,
) -> Result<(), String> {
    if binding == ClientOrganisation::Off {
        return Ok(());
    }
    let Some(leaf) = peer_certs.and_then(|c| c.first()) else {
        return Err("this call came without a client certificate".into());
    };
    let names = certificate_names(leaf, binding)
        .map_err(|e| format!("the client certificate cannot be read: {e}"))?;
    let bound = names.iter().any(|n| match binding {
        ClientOrganisation::Off => true,
        ClientOrganisation::Cn => n == organisation,
        ClientOrganisation::San => {
            n.eq_ignore_ascii_case(organisation)
                || n.strip_prefix(ORGANISATION_URI_PREFIX) == Some(organisation)
        }
    });
    if bound {
        Ok(())
    } else {
        Err(format!(
            "the client certificate does not name the token's organisation {organisation:?} \
             (its {}: {})",
            match binding {
                ClientOrganisation::Cn => "common name",
                _ => "subject alternative names",
            },
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ))
    }
}

/// The names of `cert` that `binding` looks at: the subject's common names, or its DNS and URI
/// subject alternative names.
fn certificate_names(
    cert: &CertificateDer<'_>,
    binding: ClientOrganisation,
) -> anyhow::Result<Vec<String>> {
    use x509_parser::extensions::GeneralName;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut names = Vec::new();
    match binding {
        ClientOrganisation::Off => {}
        ClientOrganisation::Cn => {
            for cn in parsed.subject().iter_common_name() {
                if let Ok(s) = cn.as_str() {
                    names.push(s.to_string());
                }
            }
        }
        ClientOrganisation::San => {
            if let Ok(Some(san)) = parsed.subject_alternative_name() {
                for n in &san.value.general_names {
                    match n {
                        GeneralName::DNSName(s) | GeneralName::URI(s) => names.push(s.to_string()),
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn cert(cn: &str, sans: Vec<SanType>) -> (CertificateDer<'static>, String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = sans;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert.der().clone(), cert.pem(), key.serialize_pem())
    }

    fn check(c: &CertificateDer<'_>, b: ClientOrganisation, org: &str) -> bool {
        check_client_organisation(Some(std::slice::from_ref(c)), b, org).is_ok()
    }

    #[test]
    fn a_common_name_binds_exactly_that_organisation() {
        let (c, _, _) = cert("LAMBETH-LIVING", vec![]);
        assert!(check(&c, ClientOrganisation::Cn, "LAMBETH-LIVING"));
        assert!(!check(&c, ClientOrganisation::Cn, "E09000022"));
        assert!(!check(&c, ClientOrganisation::Cn, "lambeth-living"));
        // The common name is not a subject alternative name.
        assert!(!check(&c, ClientOrganisation::San, "LAMBETH-LIVING"));
        assert!(check(&c, ClientOrganisation::Off, "E09000022"));
    }

    #[test]
    fn a_dns_or_uri_alternative_name_binds_the_organisation_it_names() {
        let (c, _, _) = cert(
            "finance.example",
            vec![
                SanType::DnsName("e09000022".try_into().unwrap()),
                SanType::URI(
                    "urn:almo-exchange:organisation:LAMBETH-LIVING"
                        .try_into()
                        .unwrap(),
                ),
            ],
        );
        assert!(check(&c, ClientOrganisation::San, "E09000022"));
        assert!(check(&c, ClientOrganisation::San, "LAMBETH-LIVING"));
        assert!(!check(&c, ClientOrganisation::San, "E09000033"));
        assert!(!check(&c, ClientOrganisation::Cn, "E09000022"));
        let why = check_client_organisation(
            Some(std::slice::from_ref(&c)),
            ClientOrganisation::San,
            "RSH",
        )
        .unwrap_err();
        assert!(
            why.contains("\"RSH\"") && why.contains("e09000022"),
            "{why}"
        );
    }

    #[test]
    fn a_call_without_a_certificate_is_not_bound_to_anything() {
        assert!(check_client_organisation(None, ClientOrganisation::Cn, "RSH").is_err());
        assert!(check_client_organisation(Some(&[]), ClientOrganisation::San, "RSH").is_err());
        assert!(check_client_organisation(None, ClientOrganisation::Off, "RSH").is_ok());
    }

    #[test]
    fn a_reload_swaps_only_for_files_that_changed_and_that_work() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let (_, c1, k1) = cert("localhost", vec![]);
        std::fs::write(&cert_path, &c1).unwrap();
        std::fs::write(&key_path, &k1).unwrap();
        let args = TlsArgs {
            tls_cert: Some(cert_path.clone()),
            tls_key: Some(key_path.clone()),
            ..TlsArgs::default()
        };
        let tls = ReloadingConfig::load(&args).unwrap().unwrap();
        let first = tls.current();
        assert_eq!(first.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(!tls.reload().unwrap(), "unchanged files are not a change");
        assert!(Arc::ptr_eq(&first, &tls.current()));

        // A new certificate whose key has not been written yet: refused, the old one stays.
        let (_, c2, k2) = cert("localhost", vec![]);
        std::fs::write(&cert_path, &c2).unwrap();
        let e = tls.reload().unwrap_err();
        assert!(
            format!("{e:#}").contains("do not make a certificate and its key"),
            "{e:#}"
        );
        assert!(Arc::ptr_eq(&first, &tls.current()));
        std::fs::write(&key_path, "not a key").unwrap();
        assert!(tls.reload().is_err());
        assert!(Arc::ptr_eq(&first, &tls.current()));

        // Both written: the new configuration is in force.
        std::fs::write(&key_path, &k2).unwrap();
        assert!(tls.reload().unwrap());
        assert!(!Arc::ptr_eq(&first, &tls.current()));
    }

    #[test]
    fn settings_that_cannot_work_are_refused_before_start() {
        let p = |s: &str| Some(PathBuf::from(s));
        let only_cert = TlsArgs {
            tls_cert: p("a.crt"),
            ..TlsArgs::default()
        };
        assert!(only_cert.check().is_err());
        let binding_without_ca = TlsArgs {
            tls_cert: p("a.crt"),
            tls_key: p("a.key"),
            tls_client_organisation: ClientOrganisation::San,
            ..TlsArgs::default()
        };
        assert!(binding_without_ca.check().is_err());
        assert!(
            ReloadingConfig::load(&TlsArgs::default())
                .unwrap()
                .is_none()
        );
    }
}
