//! Bytes that are not the message a call expects, sent to every RPC of every service as a
//! careless or hostile client would: the server answers INVALID_ARGUMENT (naming the field where
//! prost knows it), never INTERNAL or UNKNOWN, never a panic, and every refusal stays under the
//! 8 KiB of metadata that gRPC-core clients accept. Also random bytes (proptest) to every RPC.

use std::str::FromStr;
use std::time::Duration;

use almo_auth::Role;
use almo_testkit::{TestApp, TestDb, default_args, token};
use bytes::{Buf, BufMut};
use proptest::prelude::*;
use prost::Message;
use tonic::Code;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic_types::StatusExt;

/// Sends and receives message bodies as they are.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, buf: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        buf.put_slice(&item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        Ok(Some(buf.copy_to_bytes(buf.remaining()).to_vec()))
    }
}

/// Every RPC of the suite's services: `/package.Service/Method`.
fn every_rpc() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(almo_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in set.file {
        let package = file.package().to_string();
        if !package.starts_with("almo.") || package.starts_with("almo.bench") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                out.push(format!("/{package}.{}/{}", service.name(), method.name()));
            }
        }
    }
    assert!(out.len() > 40, "the contracts list {} RPCs", out.len());
    out
}

/// What the server answered `body` on `path`: the status, or OK when the call succeeded, or
/// DEADLINE_EXCEEDED when a stream went on (a watch that accepted the bytes).
async fn call(channel: &Channel, path: &str, body: Vec<u8>) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(tokio_stream::iter(vec![body]));
    // A caller who may make the call, so a request stream is read, not refused unread.
    let role = if path.contains("sla_charging") {
        Role::CouncilFinance
    } else {
        Role::CouncilOfficer
    };
    let bearer = format!("Bearer {}", token("E09000022", role));
    req.metadata_mut()
        .insert("authorization", MetadataValue::try_from(bearer).unwrap());
    let path = PathAndQuery::from_str(path).unwrap();
    let answer = async {
        match grpc.streaming(req, path, Raw).await {
            Err(status) => status,
            Ok(resp) => {
                let mut stream = resp.into_inner();
                loop {
                    match stream.message().await {
                        Ok(Some(_)) => continue,
                        Ok(None) => return tonic::Status::ok(""),
                        Err(status) => return status,
                    }
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(3), answer)
        .await
        .unwrap_or_else(|_| tonic::Status::deadline_exceeded("still streaming"))
}

/// The bytes a refusal puts in the trailer, roughly: message, details and other metadata.
fn trailer_bytes(s: &tonic::Status) -> usize {
    let meta: usize = s
        .metadata()
        .iter()
        .map(|kv| match kv {
            tonic::metadata::KeyAndValueRef::Ascii(k, v) => k.as_str().len() + v.len(),
            tonic::metadata::KeyAndValueRef::Binary(k, v) => k.as_str().len() + v.as_ref().len(),
        })
        .sum();
    // grpc-message is percent-encoded (up to three bytes per byte); details are base64.
    s.message().len() * 3 + s.details().len() * 4 / 3 + meta
}

fn assert_refused_cleanly(path: &str, what: &str, s: &tonic::Status) {
    assert!(
        !matches!(
            s.code(),
            Code::Internal | Code::Unknown | Code::Unimplemented
        ),
        "{path} answered {what} with {:?}: {}",
        s.code(),
        s.message()
    );
    assert!(
        trailer_bytes(s) < 8 * 1024,
        "{path}: a refusal of {} bytes",
        trailer_bytes(s)
    );
}

/// Bodies no protobuf message decodes from, whatever its fields.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let mut overlong = vec![0x08];
    overlong.extend([0xff; 10]);
    overlong.push(0x01);
    vec![
        ("garbage", vec![0xff, 0xff, 0xff, 0xff, 0xff]),
        ("a truncated length-delimited field", vec![0x0a, 0x10, 0x41]),
        ("an overlong varint", overlong),
        ("field number zero", vec![0x00, 0x01]),
        ("a truncated tag", vec![0x80]),
    ]
}

/// Bodies that are malformed for most messages (wrong wire type, bad UTF-8, deep nesting).
fn suspicious() -> Vec<(&'static str, Vec<u8>)> {
    let mut nested = Vec::new();
    for _ in 0..150 {
        let mut outer = vec![0x0a];
        prost::encoding::encode_varint(nested.len() as u64, &mut outer);
        outer.extend(&nested);
        nested = outer;
    }
    vec![
        ("a wrong wire type", vec![0x0d, 1, 2, 3, 4]),
        ("invalid UTF-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ("deep nesting", nested),
    ]
}

async fn suite() -> TestApp {
    let db = TestDb::new().await.unwrap();
    almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
    almo_directory::demo::seed(&db.db).await.unwrap();
    TestApp::spawn_on(
        default_args(),
        vec![
            almo_directory::mount(),
            almo_delivery_plan::mount(),
            almo_sla_charging::mount(),
            almo_pi_returns::mount(),
            almo_inspection_scheduling::mount(),
        ],
        db,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_messages_are_invalid_argument_on_every_rpc() {
    let app = suite().await;
    let channel = app.channel().await;
    for path in every_rpc() {
        for (what, body) in malformed() {
            let s = call(&channel, &path, body).await;
            assert_eq!(
                s.code(),
                Code::InvalidArgument,
                "{path} answered {what} with {:?}: {}",
                s.code(),
                s.message()
            );
            let details = s.get_error_details();
            assert_eq!(
                details.error_info().map(|i| i.reason.as_str()),
                Some("MALFORMED_MESSAGE"),
                "{path}, {what}"
            );
            assert!(details.bad_request().is_some(), "{path}, {what}");
            assert_refused_cleanly(&path, what, &s);
        }
        for (what, body) in suspicious() {
            let s = call(&channel, &path, body).await;
            assert_refused_cleanly(&path, what, &s);
        }
    }
}

#[test]
fn random_bytes_never_get_internal_from_any_rpc() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (app, channel) = rt.block_on(async {
        let app = suite().await;
        let channel = app.channel().await;
        (app, channel)
    });
    let rpcs = every_rpc();
    let config = ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(which in 0..rpcs.len(), body in proptest::collection::vec(any::<u8>(), 0..64))| {
        let path = &rpcs[which];
        let s = rt.block_on(call(&channel, path, body.clone()));
        prop_assert!(
            !matches!(s.code(), Code::Internal | Code::Unknown | Code::Unimplemented),
            "{} answered {:?} with {:?}: {}", path, body, s.code(), s.message()
        );
        prop_assert!(trailer_bytes(&s) < 8 * 1024);
    });
    drop(app);
}

/// `msg` on `path` with `authorization: Bearer <bearer>`: the answer's status.
async fn call_as(channel: &Channel, path: &str, body: Vec<u8>, bearer: &str) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    let mut req = tonic::Request::new(body);
    req.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {bearer}")).unwrap(),
    );
    match grpc
        .unary(req, PathAndQuery::from_str(path).unwrap(), Raw)
        .await
    {
        Ok(_) => tonic::Status::ok(""),
        Err(s) => s,
    }
}

const WHO_AM_I: &str = "/almo.directory.v1.DirectoryService/WhoAmI";

#[tokio::test]
async fn an_oversized_token_is_unauthenticated_not_a_closed_connection() {
    let app = suite().await;
    let channel = app.channel().await;
    let huge = format!(
        "{}.{}",
        token("E09000022", Role::CouncilOfficer),
        "A".repeat(50 * 1024)
    );
    let s = call_as(&channel, WHO_AM_I, vec![], &huge).await;
    assert_eq!(s.code(), Code::Unauthenticated, "{}", s.message());
    assert!(s.message().len() < 200, "{}", s.message());
    // The same connection still serves.
    let ok = call_as(
        &channel,
        WHO_AM_I,
        vec![],
        &token("E09000022", Role::CouncilOfficer),
    )
    .await;
    assert_eq!(ok.code(), Code::Ok, "{}", ok.message());
}

#[tokio::test]
async fn a_token_for_an_organisation_not_in_the_directory_is_unauthenticated() {
    let app = suite().await;
    let channel = app.channel().await;
    let s = call_as(
        &channel,
        WHO_AM_I,
        vec![],
        &token("E09999999", Role::CouncilOfficer),
    )
    .await;
    assert_eq!(s.code(), Code::Unauthenticated, "{}", s.message());
}

#[tokio::test]
async fn reflection_lists_the_served_services_and_not_the_benchmark() {
    let app = suite().await;
    let channel = app.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.unwrap();
    // ServerReflectionRequest { list_services: "" } (field 7).
    let req = tonic::Request::new(tokio_stream::iter(vec![vec![0x3a, 0x00]]));
    let path =
        PathAndQuery::from_static("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo");
    let mut stream = grpc.streaming(req, path, Raw).await.unwrap().into_inner();
    let answer = stream.message().await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&answer);
    for served in [
        "almo.directory.v1.DirectoryService",
        "almo.delivery_plan.v1.DeliveryPlanService",
        "almo.inspection.v1.InspectionSchedulingService",
        "grpc.health.v1.Health",
    ] {
        assert!(text.contains(served), "{served} not listed: {text:?}");
    }
    assert!(!text.contains("almo.bench"), "{text:?}");
}
