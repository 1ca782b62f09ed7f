//! TLS on the gRPC port with a throw-away CA: real servers on 127.0.0.1:0, real tonic clients.
//! TLS calls, plaintext refused, mutual TLS and the organisation binding, certificates rotated
//! while serving, and connections ended at their maximum age.

use std::path::PathBuf;
use std::time::Duration;

use almo_auth::Role;
use almo_proto::almo::bench::v1::echo_service_client::EchoServiceClient;
use almo_proto::almo::bench::v1::echo_service_server::{EchoService, EchoServiceServer};
use almo_proto::almo::bench::v1::{EchoRequest, EchoResponse};
use almo_proto::directory::WhoAmIRequest;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_server::{ClientOrganisation, ServerArgs, ServiceContext, ServiceMount};
use almo_testkit::{TestApp, authed, default_args};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const COUNCIL: &str = "E09000022";
const ALMO: &str = "LAMBETH-LIVING";

/// A throw-away certificate authority.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, PEM.
struct Pair {
    cert: String,
    key: String,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { issuer }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for localhost and 127.0.0.1.
    fn server(&self) -> Pair {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate with common name `cn` and these subject alternative names.
    fn client(&self, cn: &str, sans: Vec<SanType>) -> Pair {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }

    fn sign(&self, params: CertificateParams) -> Pair {
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Pair {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    }
}

/// The server's certificate files, in a directory that lives as long as the test.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the server's certificate and key (as a rotation would: new file, then rename).
    fn put_server(&self, pair: &Pair) {
        for (name, content) in [("server.crt", &pair.cert), ("server.key", &pair.key)] {
            let tmp = self.path(&format!("{name}.new"));
            std::fs::write(&tmp, content).unwrap();
            std::fs::rename(&tmp, self.path(name)).unwrap();
        }
    }

    fn args(&self, server: &Pair, client_ca: Option<&Ca>) -> ServerArgs {
        self.put_server(server);
        let mut args = default_args();
        args.tls.tls_cert = Some(self.path("server.crt"));
        args.tls.tls_key = Some(self.path("server.key"));
        if let Some(ca) = client_ca {
            std::fs::write(self.path("client-ca.crt"), ca.pem()).unwrap();
            args.tls.tls_client_ca = Some(self.path("client-ca.crt"));
        }
        args
    }
}

/// A TLS connection to `app` trusting `ca`, presenting `identity` if given.
async fn tls_channel(
    app: &TestApp,
    ca: &Ca,
    identity: Option<&Pair>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(&id.cert, &id.key));
    }
    Endpoint::from_shared(format!("https://{}", app.addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .tls_config(tls)?
        .connect()
        .await
}

/// WhoAmI as `org`'s officer over `channel`: the organisation the server says the caller is.
async fn who_am_i(channel: Channel, org: &str) -> Result<String, Status> {
    let role = if org == ALMO {
        Role::AlmoOfficer
    } else {
        Role::CouncilOfficer
    };
    let reply = DirectoryServiceClient::new(channel)
        .who_am_i(authed(WhoAmIRequest {}, org, role))
        .await?
        .into_inner();
    Ok(reply.organisation.map(|o| o.id).unwrap_or_default())
}

async fn health(channel: Channel) -> Result<i32, Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .map(|r| r.into_inner().status)
}

async fn spawn(args: ServerArgs, mounts: Vec<ServiceMount>) -> TestApp {
    TestApp::spawn_with(args, mounts).await.unwrap()
}

#[tokio::test]
async fn a_tls_call_succeeds_and_plaintext_to_the_tls_port_fails_cleanly() {
    let ca = Ca::new("almo test CA");
    let files = Files::new();
    let mut args = files.args(&ca.server(), None);
    let health_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    args.health_listen = Some(health_port);
    let app = spawn(args, vec![almo_directory::mount()]).await;

    let channel = tls_channel(&app, &ca, None).await.unwrap();
    assert_eq!(who_am_i(channel, COUNCIL).await.unwrap(), COUNCIL);

    // A plaintext client gets an error, promptly, not a hang and not an answer.
    let plaintext = async {
        let channel = Endpoint::from_shared(format!("http://{}", app.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(5))
            .connect()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        who_am_i(channel, COUNCIL).await
    };
    let refused = tokio::time::timeout(Duration::from_secs(8), plaintext)
        .await
        .expect("a plaintext call to a TLS port must fail within its timeouts");
    let status = refused.expect_err("a plaintext call to a TLS port must not be answered");
    assert!(
        matches!(
            status.code(),
            Code::Unavailable | Code::Unknown | Code::Internal
        ),
        "{status:?}"
    );

    // A client that does not trust the server's authority refuses it.
    assert!(
        tls_channel(&app, &Ca::new("another CA"), None)
            .await
            .is_err()
    );

    // And the server still serves TLS afterwards.
    let channel = tls_channel(&app, &ca, None).await.unwrap();
    assert_eq!(who_am_i(channel, ALMO).await.unwrap(), ALMO);

    // The plaintext health port (ALMO_HEALTH_LISTEN) answers probes, and only probes.
    let probe = Endpoint::from_shared(format!("http://{health_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    assert_eq!(
        health(probe.clone()).await.unwrap(),
        ServingStatus::Serving as i32
    );
    let status = who_am_i(probe, COUNCIL).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented, "{status:?}");
}

#[tokio::test]
async fn mutual_tls_refuses_clients_without_a_certificate_from_its_client_ca() {
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let stranger_ca = Ca::new("a stranger's CA");
    let files = Files::new();
    let app = spawn(
        files.args(&server_ca.server(), Some(&client_ca)),
        vec![almo_directory::mount()],
    )
    .await;

    let good = client_ca.client("lambeth-finance-system", vec![]);
    let channel = tls_channel(&app, &server_ca, Some(&good)).await.unwrap();
    assert_eq!(who_am_i(channel, COUNCIL).await.unwrap(), COUNCIL);

    // A certificate from another authority: the handshake fails, no call is answered.
    let forged = stranger_ca.client("lambeth-finance-system", vec![]);
    let result = async {
        let channel = tls_channel(&app, &server_ca, Some(&forged))
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        who_am_i(channel, COUNCIL).await
    }
    .await;
    assert!(result.is_err(), "a foreign client certificate was accepted");

    // No certificate at all: the same.
    let result = async {
        let channel = tls_channel(&app, &server_ca, None)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        who_am_i(channel, COUNCIL).await
    }
    .await;
    assert!(result.is_err(), "a client without a certificate was served");
}

#[tokio::test]
async fn a_client_certificate_naming_another_organisation_than_the_token_is_permission_denied() {
    let ca = Ca::new("almo CA");
    let files = Files::new();
    let mut args = files.args(&ca.server(), Some(&ca));
    args.tls.tls_client_organisation = ClientOrganisation::San;
    let app = spawn(args, vec![almo_directory::mount()]).await;

    // The council's system: its certificate names the council (a DNS name, any case).
    let council_system = ca.client(
        "finance.lambeth.example",
        vec![SanType::DnsName("e09000022".try_into().unwrap())],
    );
    let channel = tls_channel(&app, &ca, Some(&council_system)).await.unwrap();
    assert_eq!(who_am_i(channel.clone(), COUNCIL).await.unwrap(), COUNCIL);

    // The ALMO's token on the council's certificate (a stolen token, say): refused.
    let status = who_am_i(channel.clone(), ALMO).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains(ALMO), "{}", status.message());

    // The ALMO's own system names it by URI and is served.
    let almo_system = ca.client(
        "ledger",
        vec![SanType::URI(
            format!("urn:almo-exchange:organisation:{ALMO}")
                .try_into()
                .unwrap(),
        )],
    );
    let channel = tls_channel(&app, &ca, Some(&almo_system)).await.unwrap();
    assert_eq!(who_am_i(channel.clone(), ALMO).await.unwrap(), ALMO);
    let status = who_am_i(channel, COUNCIL).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Health is not behind a token, so not behind the binding either: probes still work.
    let anyone = ca.client("probe", vec![]);
    let channel = tls_channel(&app, &ca, Some(&anyone)).await.unwrap();
    assert_eq!(
        health(channel).await.unwrap(),
        ServingStatus::Serving as i32
    );
}

#[tokio::test]
async fn a_rotated_certificate_reaches_new_connections_while_an_open_stream_continues() {
    let old_ca = Ca::new("this year's CA");
    let new_ca = Ca::new("next year's CA");
    let files = Files::new();
    let mut args = files.args(&old_ca.server(), None);
    args.tls.tls_reload_secs = 1;
    args.drain_timeout_secs = 5;
    let mut app = spawn(args, vec![almo_directory::mount()]).await;

    // A connection on the old certificate, with a watch stream open on it.
    let old = tls_channel(&app, &old_ca, None).await.unwrap();
    let mut watch = HealthClient::new(old.clone())
        .watch(HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    // The files are replaced (a certificate from another authority, so a client can tell which
    // one it was served), and no restart follows.
    files.put_server(&new_ca.server());
    let mut rotated = false;
    for _ in 0..50 {
        if let Ok(ch) = tls_channel(&app, &new_ca, None).await
            && health(ch).await.is_ok()
        {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        rotated,
        "new connections were not served the new certificate"
    );
    assert!(
        tls_channel(&app, &old_ca, None).await.is_err(),
        "a new connection was served the old certificate after the rotation"
    );

    // The old connection is still open on the old certificate: a call on it is answered (a
    // reconnect would fail, since this client trusts only the old authority), and the stream
    // is still open and still carries what happens next.
    assert_eq!(
        who_am_i(old.clone(), COUNCIL).await.unwrap(),
        COUNCIL,
        "the connection opened before the rotation was closed"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), watch.message())
            .await
            .is_err(),
        "the open stream ended at the rotation"
    );
    let running = app.running.take().unwrap();
    let stopping = tokio::spawn(running.shutdown());
    assert_eq!(
        watch.message().await.unwrap().unwrap().status,
        ServingStatus::NotServing as i32
    );
    drop(watch);
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_command_line_target_reaches_a_mutual_tls_server_with_its_flags() {
    let ca = Ca::new("almo CA");
    let files = Files::new();
    let app = spawn(
        files.args(&ca.server(), Some(&ca)),
        vec![almo_directory::mount()],
    )
    .await;
    let client = ca.client("lambeth-ledger", vec![]);
    std::fs::write(files.path("ca.pem"), ca.pem()).unwrap();
    std::fs::write(files.path("client.crt"), &client.cert).unwrap();
    std::fs::write(files.path("client.key"), &client.key).unwrap();
    let token = almo_testkit::token(COUNCIL, Role::CouncilOfficer);
    let port = app.addr.port();

    // --ca, --cert, --key on a host:port address (connecting by IP, naming the host).
    let mut target = almo_client::Target::new(format!("127.0.0.1:{port}"), &token);
    target.tls.ca = Some(files.path("ca.pem"));
    target.tls.cert = Some(files.path("client.crt"));
    target.tls.key = Some(files.path("client.key"));
    target.tls.server_name = Some("localhost".into());
    let reply = DirectoryServiceClient::new(target.channel().await.unwrap())
        .who_am_i(target.request(WhoAmIRequest {}).unwrap())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.organisation.unwrap().id, COUNCIL);

    // An https:// address with the same settings.
    target.addr = format!("https://localhost:{port}");
    target.tls.server_name = None;
    assert!(target.channel().await.is_ok());

    // Without the client certificate the server refuses the connection.
    target.tls.cert = None;
    target.tls.key = None;
    let refused = async {
        let channel = target.channel().await?;
        DirectoryServiceClient::new(channel)
            .who_am_i(target.request(WhoAmIRequest {})?)
            .await?;
        anyhow::Ok(())
    }
    .await;
    assert!(refused.is_err());
}

/// Echo that sleeps for the number of milliseconds it is sent.
struct SlowEcho;

#[tonic::async_trait]
impl EchoService for SlowEcho {
    async fn echo(&self, request: Request<EchoRequest>) -> Result<Response<EchoResponse>, Status> {
        let ms: u64 = request.get_ref().message.parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(Response::new(EchoResponse {
            message: request.into_inner().message,
        }))
    }
}

fn slow_echo() -> ServiceMount {
    ServiceMount {
        name: "almo.bench.v1.EchoService",
        add: Box::new(|ctx: &ServiceContext, routes| {
            routes.add_service(InterceptedService::new(
                EchoServiceServer::new(SlowEcho),
                ctx.auth_interceptor(),
            ));
        }),
    }
}

async fn echo(channel: Channel, ms: u64) -> Result<String, Status> {
    EchoServiceClient::new(channel)
        .echo(authed(
            EchoRequest {
                message: ms.to_string(),
            },
            COUNCIL,
            Role::CouncilOfficer,
        ))
        .await
        .map(|r| r.into_inner().message)
}

#[tokio::test]
async fn a_connection_past_its_maximum_age_is_replaced_without_losing_a_call() {
    let mut args = default_args();
    args.max_connection_age_secs = 1;
    args.max_connection_age_grace_secs = 10;
    let app = spawn(args, vec![slow_echo()]).await;
    let running = app.running.as_ref().unwrap();

    let channel = app.channel().await;
    assert_eq!(echo(channel.clone(), 0).await.unwrap(), "0");
    assert_eq!(running.connections_accepted(), 1);

    // A call in flight when the server says GOAWAY (at 1 s) finishes on the old connection.
    let slow = tokio::spawn(echo(channel.clone(), 2500));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        running.connections_accepted(),
        1,
        "a call was moved while in flight"
    );
    assert_eq!(slow.await.unwrap().unwrap(), "2500");

    // The client's next calls go over a new connection.
    for _ in 0..3 {
        assert_eq!(echo(channel.clone(), 0).await.unwrap(), "0");
    }
    assert_eq!(running.connections_accepted(), 2);
}

#[tokio::test]
async fn a_call_still_open_when_the_grace_period_ends_is_cut_not_left_hanging() {
    let mut args = default_args();
    args.max_connection_age_secs = 1;
    args.max_connection_age_grace_secs = 1;
    let app = spawn(args, vec![slow_echo()]).await;

    let channel = app.channel().await;
    let started = std::time::Instant::now();
    let status = echo(channel.clone(), 10_000).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the connection outlived its age and grace: {:?}",
        started.elapsed()
    );
    assert!(
        matches!(status.code(), Code::Unavailable | Code::Unknown),
        "{status:?}"
    );
    // The client carries on over a new connection.
    assert_eq!(echo(channel, 0).await.unwrap(), "0");
}
