//! A stage recorded after its window is late, and says by how much (003 §113–117, Table 7: 10 to
//! 16 weeks from arrival on site); the late ones are what a programme manager chases, found with
//! `ListInspections`' `late_only`.

mod common;

use almo_auth::Role;
use almo_inspection_scheduling::demo::{HARINGEY_INSPECTION, LAMBETH_INSPECTION};
use almo_proto::inspection::{self as pb, ListInspectionsRequest};
use almo_testkit::authed;
use almo_testkit::demo::*;
use common::*;

/// Records each of `stages` (stage, date) on inspection `id` in turn from etag `v1`, the score
/// letter through RecordOutcome (2 stars, promising); the inspection as it then stands.
async fn record(client: &mut Client, id: &str, stages: &[(pb::Stage, &str)]) -> pb::Inspection {
    let mut last = None;
    for (n, (stage, date)) in stages.iter().enumerate() {
        let etag = format!("v{}", n + 1);
        let rid = format!("{id}-{n}");
        let inspection = if *stage == pb::Stage::ScoreLetter {
            let scored = (2, pb::Prospects::Promising);
            client
                .record_outcome(ins(outcome(&rid, id, scored, date, &etag)))
                .await
                .unwrap()
                .into_inner()
                .inspection
        } else {
            client
                .record_stage_date(ins(stage_date(&rid, id, *stage, date, &etag)))
                .await
                .unwrap()
                .into_inner()
                .inspection
        };
        last = inspection;
    }
    last.unwrap()
}

/// (late, days late, window end) of each dated stage.
fn lateness(i: &pb::Inspection) -> Vec<(bool, i32, String)> {
    i.stages
        .iter()
        .map(|s| (s.late, s.days_late, s.window_end_date.clone()))
        .collect()
}

fn late_only(almo: &str) -> ListInspectionsRequest {
    ListInspectionsRequest {
        late_only: true,
        ..inspections_of(almo, &[])
    }
}

#[tokio::test]
async fn a_stage_recorded_after_its_window_is_late_by_how_much() {
    let (_app, mut client) = app().await;
    // On site 22 October 2007, a 12-week span planned.
    let booked = book_leeds_ene(&mut client).await;
    let id = booked.inspection_id.as_str();
    let windows: Vec<&str> = booked
        .stages
        .iter()
        .map(|s| s.window_end_date.as_str())
        .collect();
    // The on-site week's Friday; then 6, 10, 13 and 16 weeks from arrival.
    assert_eq!(
        windows,
        vec![
            "2007-10-26",
            "2007-12-03",
            "2007-12-31",
            "2008-01-21",
            "2008-02-11"
        ]
    );
    let on_time = [
        (pb::Stage::OnSite, "2007-10-22"),
        (pb::Stage::DraftReport, "2007-11-26"),
        (pb::Stage::CommentsAndRoundTable, "2007-12-10"),
        (pb::Stage::ScoreLetter, "2007-12-24"),
    ];
    let before = record(&mut client, id, &on_time).await;
    assert_eq!(before.stage, pb::Stage::ScoreLetter as i32);
    assert!(
        before.stages[..4]
            .iter()
            .all(|s| !s.late && s.days_late == 0)
    );
    // Not yet published long after its window closed: late already, by the days since.
    assert!(before.stages[4].late);
    assert!(
        before.stages[4].days_late > 365 * 17,
        "{:?}",
        before.stages[4]
    );

    // Published 17 weeks after arrival on site: past the 16-week end of the window.
    let published = client
        .record_stage_date(ins(stage_date(
            "pub",
            id,
            pb::Stage::Published,
            "2008-02-18",
            "v5",
        )))
        .await
        .unwrap()
        .into_inner()
        .inspection
        .unwrap();
    assert_eq!(published.stage, pb::Stage::Published as i32);
    let publication = &published.stages[4];
    assert_eq!(publication.actual_date, "2008-02-18");
    assert!(publication.late, "{publication:?}");
    assert_eq!(publication.days_late, 7);
    assert_eq!(publication.window_end_date, "2008-02-11");
    // Later than planned (14 January) too; overdue is only for what is not recorded.
    assert!(!publication.overdue);
    assert!(published.stages[..4].iter().all(|s| !s.late));
    // Read again, it stays late by the same 7 days.
    let read = get(&mut client, id).await;
    assert_eq!(lateness(&read), lateness(&published));

    // Every stage after its own window: arrival recorded after the booked week's Friday, the
    // draft after 6 weeks, the round table after 10, the score letter after 13.
    declare_leeds_wnw(&mut client).await;
    let wnw = book(&mut client, "b-wnw", LEEDS_WNW, "2007-11-05", LEEDS_TEAM).await;
    let every_late = [
        (pb::Stage::OnSite, "2007-11-12"),
        (pb::Stage::DraftReport, "2007-12-24"),
        (pb::Stage::CommentsAndRoundTable, "2008-01-21"),
        (pb::Stage::ScoreLetter, "2008-02-11"),
        (pb::Stage::Published, "2008-02-25"),
    ];
    let wnw = record(&mut client, &wnw.inspection_id, &every_late).await;
    assert_eq!(
        lateness(&wnw),
        vec![
            (true, 3, "2007-11-09".into()),
            (true, 7, "2007-12-17".into()),
            (true, 7, "2008-01-14".into()),
            (true, 7, "2008-02-04".into()),
            // 16 weeks to the day: the last day of the window is on time.
            (false, 0, "2008-02-25".into()),
        ]
    );

    // The demo's Lambeth Living report, published 17 weeks on, shows it too.
    let lambeth = get(&mut client, LAMBETH_INSPECTION).await;
    assert_eq!(
        lateness(&lambeth)[4],
        (true, 7, "2009-02-23".into()),
        "{:?}",
        lambeth.stages
    );
    assert!(lateness(&lambeth)[..4].iter().all(|l| !l.0));
}

#[tokio::test]
async fn late_stages_are_found_by_the_list_filter() {
    let (_app, mut client) = app().await;
    // Demo: Lambeth Living's report published a week late, Haringey's on time.
    let all = client
        .list_inspections(ins(late_only("")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(all), vec![LAMBETH_INSPECTION]);
    let unfiltered = client
        .list_inspections(ins(inspections_of("", &[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        ids(unfiltered),
        vec![HARINGEY_INSPECTION, LAMBETH_INSPECTION]
    );

    // Leeds ENE run on time to publication at 16 weeks: never listed as late.
    let ene = book_leeds_ene(&mut client).await;
    let on_time = [
        (pb::Stage::OnSite, "2007-10-22"),
        (pb::Stage::DraftReport, "2007-11-26"),
        (pb::Stage::CommentsAndRoundTable, "2007-12-10"),
        (pb::Stage::ScoreLetter, "2007-12-24"),
        (pb::Stage::Published, "2008-02-11"),
    ];
    let ene = record(&mut client, &ene.inspection_id, &on_time).await;
    assert!(ene.stages.iter().all(|s| !s.late), "{:?}", ene.stages);
    // Leeds WNW on site in November 2007 and nothing recorded since: late, chased.
    declare_leeds_wnw(&mut client).await;
    let wnw = book(&mut client, "b-wnw", LEEDS_WNW, "2007-11-05", LEEDS_TEAM).await;
    let wnw_id = wnw.inspection_id.clone();
    let late = client
        .list_inspections(ins(late_only("")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(late), vec![LAMBETH_INSPECTION, wnw_id.as_str()]);
    // Pages of one: the same two, in order.
    let first = client
        .list_inspections(ins(ListInspectionsRequest {
            page_size: 1,
            ..late_only("")
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let token = first.next_page_token.clone();
    assert_eq!(ids(first), vec![LAMBETH_INSPECTION]);
    let second = client
        .list_inspections(ins(ListInspectionsRequest {
            page_size: 1,
            page_token: token,
            ..late_only("")
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.inspections[0].inspection_id, wnw_id);
    assert!(second.inspections[0].stages[0].late);

    // A cancelled inspection is off: never late, even when cancelled ones are asked for.
    cancel_ok(&mut client, cancel("c-wnw", &wnw_id, "v1")).await;
    let with_cancelled = client
        .list_inspections(ins(ListInspectionsRequest {
            statuses: vec![
                pb::InspectionStatus::Booked as i32,
                pb::InspectionStatus::Cancelled as i32,
            ],
            ..late_only("")
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(with_cancelled), vec![LAMBETH_INSPECTION]);

    // Each caller finds only the late ones it may see.
    let own = client
        .list_inspections(authed(late_only(""), LAMBETH_LIVING, Role::AlmoOfficer))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(own), vec![LAMBETH_INSPECTION]);
    let haringey = client
        .list_inspections(authed(late_only(""), HARINGEY, Role::CouncilOfficer))
        .await
        .unwrap()
        .into_inner();
    assert!(haringey.inspections.is_empty(), "{haringey:?}");
    let one_almo = client
        .list_inspections(ins(late_only(LEEDS_ENE)))
        .await
        .unwrap()
        .into_inner();
    assert!(one_almo.inspections.is_empty(), "{one_almo:?}");
    let err = client
        .list_inspections(authed(
            late_only(LAMBETH_LIVING),
            HOMES_FOR_HARINGEY,
            Role::AlmoOfficer,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::PermissionDenied);
}
