//! How a row is written and run: the `row!` macro, one client per service for a role, the
//! roles, and the expectation strings.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use almo_auth::Role;
use almo_proto::delivery_plan::delivery_plan_service_client::DeliveryPlanServiceClient;
use almo_proto::directory::directory_service_client::DirectoryServiceClient;
use almo_proto::inspection::inspection_scheduling_service_client::InspectionSchedulingServiceClient;
use almo_proto::pi_returns::pi_returns_service_client::PiReturnsServiceClient;
use almo_proto::sla_charging::sla_charging_service_client::SlaChargingServiceClient;
use almo_testkit::demo::*;
use almo_testkit::token;
use prost::Message;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_types::StatusExt;

use crate::world::Side;

/// A call's answer: the encoded response (a stream's first message, or nothing), or the status.
pub type Answer = Result<Vec<u8>, Status>;

pub type Fut = Pin<Box<dyn Future<Output = Answer> + Send>>;

/// One RPC's row: see the module documentation of `access_matrix.rs`.
pub struct Row {
    pub rpc: &'static str,
    pub expect: &'static str,
    pub call: fn(C, Side) -> Fut,
}

/// What a unary call's or a stream's answer encodes to.
pub trait Encoded {
    fn encoded(self) -> Vec<u8>;
}

impl<T: Message> Encoded for Response<T> {
    fn encoded(self) -> Vec<u8> {
        self.into_inner().encode_to_vec()
    }
}

impl Encoded for Vec<u8> {
    fn encoded(self) -> Vec<u8> {
        self
    }
}

macro_rules! row {
    ($rpc:literal, $expect:literal, |$c:ident, $s:ident| $call:expr) => {
        $crate::harness::Row {
            rpc: $rpc,
            expect: $expect,
            call: |$c: $crate::harness::C, $s: $crate::world::Side| -> $crate::harness::Fut {
                Box::pin(async move {
                    #[allow(unused_mut)]
                    let mut $c = $c;
                    $call.await.map($crate::harness::Encoded::encoded)
                })
            },
        }
    };
}
pub(crate) use row;

/// A response stream's answer: its first message (or none within a moment: a watch waiting for
/// events), or the status it ends with.
pub async fn first<T: Message>(
    call: impl Future<Output = Result<Response<Streaming<T>>, Status>>,
) -> Answer {
    let mut stream = call.await?.into_inner();
    match tokio::time::timeout(Duration::from_millis(500), stream.message()).await {
        Ok(Ok(Some(m))) => Ok(m.encode_to_vec()),
        Ok(Ok(None)) | Err(_) => Ok(Vec::new()),
        Ok(Err(s)) => Err(s),
    }
}

#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: Request<()>) -> Result<Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

pub type Ch = InterceptedService<Channel, Bearer>;

/// One client per service, all calling as one role.
#[derive(Clone)]
pub struct C {
    pub dir: DirectoryServiceClient<Ch>,
    pub dp: DeliveryPlanServiceClient<Ch>,
    pub sla: SlaChargingServiceClient<Ch>,
    pub pi: PiReturnsServiceClient<Ch>,
    pub insp: InspectionSchedulingServiceClient<Ch>,
}

impl C {
    pub fn new(channel: &Channel, org: &str, role: Role) -> Self {
        let b = Bearer(format!("Bearer {}", token(org, role)).parse().unwrap());
        let ch = || channel.clone();
        Self {
            dir: DirectoryServiceClient::with_interceptor(ch(), b.clone()),
            dp: DeliveryPlanServiceClient::with_interceptor(ch(), b.clone()),
            sla: SlaChargingServiceClient::with_interceptor(ch(), b.clone()),
            pi: PiReturnsServiceClient::with_interceptor(ch(), b.clone()),
            insp: InspectionSchedulingServiceClient::with_interceptor(ch(), b),
        }
    }
}

/// The roles, in the order the expectations name them, with the organisation each calls for.
pub const ROLES: [(&str, Role, &str); 7] = [
    ("CO", Role::CouncilOfficer, LAMBETH),
    ("CF", Role::CouncilFinance, LAMBETH),
    ("AO", Role::AlmoOfficer, LAMBETH_LIVING),
    ("AF", Role::AlmoFinance, LAMBETH_LIVING),
    ("RG", Role::Regulator, REGULATOR),
    ("IN", Role::Inspectorate, INSPECTORATE),
    ("AD", Role::Admin, OPERATOR),
];

/// What a cell expects: a code, not called, or not asserted yet.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Want {
    Code(Code),
    NotCalled,
    Todo,
}

fn want(s: &str, rpc: &str) -> Want {
    Want::Code(match s {
        "-" => return Want::NotCalled,
        "?" => return Want::Todo,
        "ok" => Code::Ok,
        "nf" => Code::NotFound,
        "pd" => Code::PermissionDenied,
        "fp" => Code::FailedPrecondition,
        "ab" => Code::Aborted,
        "ia" => Code::InvalidArgument,
        "ae" => Code::AlreadyExists,
        other => panic!("{rpc}: unknown code {other:?} in the expectation"),
    })
}

pub fn abbrev(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::NotFound => "nf",
        Code::PermissionDenied => "pd",
        Code::FailedPrecondition => "fp",
        Code::Aborted => "ab",
        Code::InvalidArgument => "ia",
        Code::AlreadyExists => "ae",
        _ => "!!",
    }
}

/// A row's expectation string as [own, other, nonexistent] per role, in [`ROLES`] order.
pub fn parse_expect(rpc: &str, spec: &str) -> [[Want; 3]; 7] {
    let mut out: [Option<[Want; 3]>; 7] = [None; 7];
    let words: Vec<&str> = spec.split_whitespace().collect();
    assert!(words.len().is_multiple_of(2), "{rpc}: expectation {spec:?}");
    let mut default = None;
    for pair in words.chunks(2) {
        let codes: Vec<Want> = pair[1].split('/').map(|w| want(w, rpc)).collect();
        let codes: [Want; 3] = codes
            .try_into()
            .unwrap_or_else(|_| panic!("{rpc}: {:?} is not own/other/nonexistent", pair[1]));
        if pair[0] == "*" {
            default = Some(codes);
            continue;
        }
        let i = ROLES
            .iter()
            .position(|(l, ..)| *l == pair[0])
            .unwrap_or_else(|| panic!("{rpc}: unknown role {:?}", pair[0]));
        assert!(out[i].is_none(), "{rpc}: {} given twice", pair[0]);
        out[i] = Some(codes);
    }
    let mut result = [[Want::Todo; 3]; 7];
    for (i, (label, ..)) in ROLES.iter().enumerate() {
        let codes = out[i]
            .or(default)
            .unwrap_or_else(|| panic!("{rpc}: no expectation for {label}"));
        // Councils and ALMOs read only their own family: another's resource must answer as
        // one that does not exist.
        if i < 4
            && let [_, Want::Code(o), Want::Code(m)] = codes
        {
            assert_eq!(
                o, m,
                "{rpc}: {label} may not be told apart another's resource ({o:?}) and none ({m:?})"
            );
        }
        result[i] = codes;
    }
    result
}

pub fn reason(s: &Status) -> String {
    s.get_error_details()
        .error_info()
        .map(|i| i.reason.clone())
        .unwrap_or_default()
}

pub fn code_of(r: &Answer) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

pub fn describe(r: &Answer) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(s) => format!("{:?} {} {:?}", s.code(), reason(s), s.message()),
    }
}
