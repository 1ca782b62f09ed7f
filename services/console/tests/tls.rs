//! The console in front of services that speak TLS: it trusts the CA it is given
//! (ALMO_CONSOLE_TLS_CA) and nothing else, and a service it cannot reach securely is a page
//! saying so, never the transport's error.

mod common;

use common::{PLAN, Suite};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A throw-away CA and a server certificate for localhost and 127.0.0.1, as files.
fn certificates(
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "console test CA");
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let (ca_path, cert_path, key_path) =
        (dir.join("ca.crt"), dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_path, cert_path, key_path)
}

async fn suite_over_tls(dir: &std::path::Path, trust: bool) -> Suite {
    let (ca, cert, key) = certificates(dir);
    let mut args = almo_testkit::default_args();
    args.tls.tls_cert = Some(cert);
    args.tls.tls_key = Some(key);
    Suite::start_with(args, move |backend| {
        let mut c = almo_console::Config::new(
            "127.0.0.1:0".parse().unwrap(),
            format!("https://localhost:{}", backend.port()),
            true,
        );
        c.tls_ca = trust.then_some(ca);
        c
    })
    .await
}

#[tokio::test]
async fn the_console_reads_services_over_tls_with_the_ca_it_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite_over_tls(dir.path(), true).await;
    let mut officer = suite.signed_in("E09000022", "council_officer").await;
    let plans = officer.get("/plans").await;
    assert_eq!(plans.status, 200, "{}", plans.body);
    assert!(plans.body.contains(PLAN));
}

#[tokio::test]
async fn a_service_whose_certificate_is_not_trusted_is_unavailable_without_transport_details() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite_over_tls(dir.path(), false).await;
    let mut b = suite.browser();
    b.get("/sign-in").await;
    let csrf = b.cookies["almo_csrf"].clone();
    let r = b
        .post_form(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("organisation", "E09000022"),
                ("role", "council_officer"),
            ],
        )
        .await;
    // The sign-in cannot be checked with the services: refused with a reason, no session.
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(!b.cookies.contains_key("almo_session"));
    assert!(r.body.contains("cannot reach the services"), "{}", r.body);
    assert!(!r.body.to_lowercase().contains("certificate"), "{}", r.body);
    assert!(!r.body.contains("transport"));
}
