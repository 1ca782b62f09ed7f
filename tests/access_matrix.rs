//! The whole access matrix: every RPC of every service × every role × (own organisation's
//! resource / another organisation's resource / an id that does not exist), generated from one
//! table (`access_matrix/table/`, a file per service), through real servers and real clients on
//! SQLite (and PostgreSQL with `ALMO_TEST_DATABASE_URL`).
//!
//! What it asserts, for every cell: the code the row expects; and wherever "another
//! organisation's" and "nonexistent" expect the same code, that the two answers are
//! **indistinguishable**: the same code, the same `ErrorInfo` reason, and the same message once
//! each side's ids are replaced by `{id}` (so a refusal naming the resource's owner, its plan or
//! its council fails); for a council or ALMO role, an OK answer (a list filtered by another's id)
//! must also be the same bytes as for an id that does not exist, and no answer a council or ALMO
//! role gets about its own carries an id of the other family's. "Exists but not yours" never
//! tells a caller that an id exists (OWASP API1): a council or ALMO role may not even be given
//! different codes for the two. The roles that read everyone (regulator, inspectorate, operator)
//! may be: they see the resource anyway.
//!
//! It also fails if an RPC is in `proto/` without a row, or a row names an RPC that is not
//! (the benchmark's echo service is left out: the suite does not serve it; gRPC health and
//! reflection are not in the contracts' descriptor set).
//!
//! # Adding a row
//!
//! One `row!` in `access_matrix/table/<service>.rs`, in the order of the proto:
//!
//! ```text
//! row!(
//!     "DirectoryService/GetOrganisation",
//!     "* ok/pd/pd  RG ok/ok/nf  IN ok/ok/nf  AD ok/ok/nf",
//!     |c, s| c.dir.get_organisation(dir::GetOrganisationRequest { id: s.almo })
//! ),
//! ```
//!
//! - the RPC as `Service/Method`;
//! - the expected codes, `own/other/nonexistent` per role: `CO` council officer and `CF` council
//!   finance (Lambeth), `AO` ALMO officer and `AF` ALMO finance (Lambeth Living), `RG` regulator,
//!   `IN` inspectorate, `AD` operator; `*` sets every role not named after it. Codes: `ok`, `nf`
//!   NOT_FOUND, `pd` PERMISSION_DENIED, `fp` FAILED_PRECONDITION, `ab` ABORTED, `ia`
//!   INVALID_ARGUMENT, `ae` ALREADY_EXISTS; `-` not called (an RPC that names no resource gives
//!   `ok/-/-`, only the own call is made); `?` not asserted yet: a TODO, the run prints what it
//!   got (`ALMO_MATRIX_VERBOSE=1` prints every answer), though a council or ALMO role is still
//!   held to "other" and "nonexistent" being the same answer;
//! - the call: `c` holds one client per service (`dir`, `dp`, `sla`, `pi`, `insp`) calling as the
//!   role, `s` the `Side` whose ids to use (Lambeth's; Haringey's, or Leeds' for SLAs; ids that
//!   exist nowhere: `world.rs`, add a field there for a new kind of resource); `rid()` is a fresh
//!   request id and `STALE` an etag no resource has, so a permitted change is ABORTED without
//!   changing anything (a domain refusal after the access check, such as FAILED_PRECONDITION,
//!   does as well). Streaming calls: `first(...)` around a call with a response stream (its first
//!   message or its status), `tokio_stream::iter(vec![...])` for a request stream.
//!
//! A write whose "own" cell is OK changes the data; rows run in table order, role by role, so such
//! a row must not depend on what an earlier one left (give new resources fresh ids).

#[path = "access_matrix/harness.rs"]
mod harness;
#[path = "access_matrix/table/mod.rs"]
mod table;
#[path = "access_matrix/world.rs"]
mod world;

use prost::Message;

use harness::{Answer, C, Encoded, ROLES, Want, abbrev, code_of, describe, parse_expect, reason};
use table::table;
use world::world;

/// Every `Service/Method` of the suite's contracts (not the benchmark's echo service, which the
/// suite does not serve; health and reflection are not in the descriptor set).
fn every_rpc() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(almo_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in set.file {
        let package = file.package().to_string();
        if !package.starts_with("almo.") || package.starts_with("almo.bench.") {
            continue;
        }
        for service in &file.service {
            for method in &service.method {
                out.push(format!("{}/{}", service.name(), method.name()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_rpc_in_the_contracts_has_a_row_and_every_row_an_rpc() {
    let rpcs = every_rpc();
    assert!(rpcs.len() > 40, "the contracts list {} RPCs", rpcs.len());
    let mut rows: Vec<String> = table().iter().map(|r| r.rpc.to_string()).collect();
    rows.sort();
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        assert!(seen.insert(r), "{r} has two rows");
    }
    let missing: Vec<&String> = rpcs.iter().filter(|r| !rows.contains(r)).collect();
    let stale: Vec<&String> = rows.iter().filter(|r| !rpcs.contains(r)).collect();
    assert!(
        missing.is_empty(),
        "RPCs without a row in the access matrix: {missing:?}"
    );
    assert!(stale.is_empty(), "rows naming no RPC: {stale:?}");
    for row in table() {
        parse_expect(row.rpc, row.expect);
    }
}

/// Why `other` and `missing` can be told apart, if they can: the code, the reason, the message
/// once each side's ids are replaced, or (for `bodies`) the response itself.
fn difference(w: &world::World, other: &Answer, missing: &Answer, bodies: bool) -> Option<String> {
    match (other, missing) {
        (Err(o), Err(m)) => {
            let (os, ms) = (w.other.shape(o.message()), w.missing.shape(m.message()));
            (o.code() != m.code() || reason(o) != reason(m) || os != ms).then(|| {
                format!(
                    "another's is {:?} {} {os:?}, none is {:?} {} {ms:?}",
                    o.code(),
                    reason(o),
                    m.code(),
                    reason(m)
                )
            })
        }
        (Ok(o), Ok(m)) => (bodies && o != m).then(|| {
            format!(
                "another's answer is {} bytes, none's {} bytes",
                o.len(),
                m.len()
            )
        }),
        _ => Some(format!(
            "another's is {}, none is {}",
            describe(other),
            describe(missing)
        )),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_every_role_as_the_access_rules_say_and_never_tells_other_from_none() {
    let (app, w) = world().await;
    let channel = app.channel().await;
    let verbose = std::env::var_os("ALMO_MATRIX_VERBOSE").is_some();
    let mut failures = Vec::new();
    let mut observed = Vec::new();
    for row in table() {
        let expect = parse_expect(row.rpc, row.expect);
        let mut got_row = Vec::new();
        for (i, (label, role, org)) in ROLES.iter().enumerate() {
            // Councils and ALMOs (the first four roles) see only their own family's data.
            let family_only = i < 4;
            let c = C::new(&channel, org, *role);
            let [_, want_other, want_missing] = expect[i];
            let mut answers = vec![(row.call)(c.clone(), w.own.clone()).await];
            if want_other != Want::NotCalled {
                answers.push((row.call)(c.clone(), w.other.clone()).await);
                answers.push((row.call)(c.clone(), w.missing.clone()).await);
            }
            let cells: Vec<&str> = answers.iter().map(|a| abbrev(code_of(a))).collect();
            got_row.push(format!("{label} {}", cells.join("/")));
            let whose = ["own", "another organisation's", "nonexistent"];
            for ((got, want), what) in answers.iter().zip(expect[i]).zip(whose) {
                if verbose {
                    println!("{} as {label}, {what}: {}", row.rpc, describe(got));
                }
                if let Want::Code(code) = want
                    && code != code_of(got)
                {
                    failures.push(format!(
                        "{} as {label}, {what}: expected {code:?}, got {}",
                        row.rpc,
                        describe(got)
                    ));
                }
            }
            // Nothing a council or an ALMO is given about its own names another family's data.
            if family_only && let Ok(bytes) = &answers[0] {
                for id in w.other.owned_ids() {
                    if bytes.windows(id.len()).any(|b| b == id.as_bytes()) {
                        failures.push(format!(
                            "{} as {label}: the answer about its own names another's {id:?}",
                            row.rpc
                        ));
                    }
                }
            }
            let [_, other, missing] = &answers[..] else {
                continue;
            };
            // The same expected code must be the same answer; and a council or ALMO must never
            // be able to tell them apart, even where the row is not filled in yet.
            let must_match = match (want_other, want_missing) {
                (Want::Code(o), Want::Code(m)) => o == m,
                _ => family_only,
            };
            if must_match && let Some(diff) = difference(&w, other, missing, family_only) {
                failures.push(format!("{} as {label}: {diff}", row.rpc));
            }
        }
        observed.push(format!("{:<50} {}", row.rpc, got_row.join("  ")));
    }
    println!("observed:\n{}", observed.join("\n"));
    assert!(
        failures.is_empty(),
        "{} cells of the access matrix are wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The contract's promise for the one RPC whose id may look optional: a watch names its plan.
#[tokio::test]
async fn a_watch_without_a_plan_id_is_invalid_argument_naming_it() {
    let app = almo_testkit::TestApp::spawn(vec![almo_delivery_plan::mount()])
        .await
        .unwrap();
    let mut c = C::new(
        &app.channel().await,
        world::LAMBETH,
        almo_auth::Role::CouncilOfficer,
    );
    let s =
        c.dp.watch_plan_events(almo_proto::delivery_plan::WatchPlanEventsRequest::default())
            .await
            .unwrap_err();
    assert_eq!(s.code(), tonic::Code::InvalidArgument, "{}", s.message());
    let details = tonic_types::StatusExt::get_error_details(&s);
    let fields: Vec<&str> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| v.field.as_str())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(fields, ["plan_id"]);
}

/// Lists asked for everything (no filter) show a council or an ALMO only its own family's data:
/// no id of the other family's resources in the answer (a stream's first message).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfiltered_lists_show_a_council_or_an_almo_only_its_own_family() {
    use almo_proto::{delivery_plan as dp, directory as dir, inspection as insp};
    use almo_proto::{pi_returns as pi, sla_charging as sla};
    let (app, w) = world().await;
    let channel = app.channel().await;
    let mut checked = 0;
    for (label, role, org) in &ROLES[..4] {
        let mut c = C::new(&channel, org, *role);
        let answers: Vec<(&str, Answer)> = vec![
            (
                "ListPlans",
                c.dp.list_plans(dp::ListPlansRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ListExceptions",
                c.dp.list_exceptions(dp::ListExceptionsRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ListAgreements",
                c.sla
                    .list_agreements(sla::ListAgreementsRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ListInvoices",
                c.sla
                    .list_invoices(sla::ListInvoicesRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ExportInvoices",
                harness::first(c.sla.export_invoices(sla::ExportInvoicesRequest::default())).await,
            ),
            (
                "ListDisputes",
                c.sla
                    .list_disputes(sla::ListDisputesRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "QueryReturns",
                c.pi.query_returns(pi::QueryReturnsRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ExportReturns",
                harness::first(c.pi.export_returns(pi::ExportReturnsRequest::default())).await,
            ),
            (
                "ListInspections",
                c.insp
                    .list_inspections(insp::ListInspectionsRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
            (
                "ListPeerGroups",
                c.dir
                    .list_peer_groups(dir::ListPeerGroupsRequest::default())
                    .await
                    .map(Encoded::encoded),
            ),
        ];
        for (rpc, answer) in answers {
            // A role the service refuses outright (SLA data for a council officer) shows nothing.
            let Ok(bytes) = answer else { continue };
            checked += 1;
            for id in w.other.owned_ids() {
                assert!(
                    !bytes.windows(id.len()).any(|b| b == id.as_bytes()),
                    "{rpc} as {label} lists another family's {id:?}"
                );
            }
        }
    }
    assert!(checked >= 30, "only {checked} lists answered");
}
