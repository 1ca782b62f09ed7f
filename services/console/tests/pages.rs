//! The console's pages over HTTP against the suite with its demo data: the right rows for each
//! role, another organisation's data never shown, forms applied once when sent twice, bad input
//! in the error summary, forms without the CSRF token refused.

mod common;

use almo_db::entity::audit_log;
use common::{PLAN, Suite};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

#[test]
fn the_development_secret_is_the_suites() {
    assert_eq!(almo_console::DEV_SECRET, almo_server::DEV_SECRET);
    assert_eq!(almo_console::DEV_ISSUER, almo_server::DEV_ISSUER);
}

#[tokio::test]
async fn officers_see_their_own_plans_and_never_another_councils() {
    let suite = Suite::start().await;

    let mut lambeth = suite.signed_in("E09000022", "council_officer").await;
    let plans = lambeth.get("/plans").await;
    assert_eq!(plans.status, 200);
    assert!(plans.body.contains(PLAN), "{}", plans.body);
    let dash = lambeth.get(&format!("/plans/{PLAN}")).await;
    assert_eq!(dash.status, 200, "{}", dash.body);
    // The RAG grid in words; the burn-down as an accessible SVG with its table.
    for needle in [
        "On track",
        "Off track",
        "At risk",
        "LOCAL-RELET",
        "Decent Homes burn-down",
        "<svg role=\"img\"",
        "The figures behind the chart",
        "Behind schedule",
    ] {
        assert!(dash.body.contains(needle), "dashboard lacks {needle:?}");
    }
    // The council decides on the answered exception; it does not report on the open one.
    assert!(dash.body.contains("/decision\""));
    assert!(!dash.body.contains("/report\""));

    let mut almo = suite.signed_in("LAMBETH-LIVING", "almo_officer").await;
    let dash = almo.get(&format!("/plans/{PLAN}")).await;
    assert_eq!(dash.status, 200);
    assert!(
        dash.body.contains("/report\""),
        "the ALMO reports on its open exception"
    );
    assert!(!dash.body.contains("/decision\""));

    for (org, role) in [
        ("E09000014", "council_officer"),
        ("HOMES-FOR-HARINGEY", "almo_officer"),
    ] {
        let mut other = suite.signed_in(org, role).await;
        let plans = other.get("/plans").await;
        assert_eq!(plans.status, 200);
        assert!(!plans.body.contains(PLAN), "{org} sees Lambeth's plan");
        for path in [
            format!("/plans/{PLAN}"),
            format!("/plans/{PLAN}/amendments"),
        ] {
            let refused = other.get(&path).await;
            assert!(
                matches!(refused.status, 403 | 404),
                "{org} {path}: {}",
                refused.status
            );
            assert!(
                refused.body.contains("The service said"),
                "{}",
                refused.body
            );
            assert!(
                !refused.body.contains("LOCAL-RELET"),
                "{org} sees Lambeth's targets"
            );
            assert!(!refused.body.contains("Lambeth Living Delivery Plan"));
        }
    }
}

#[tokio::test]
async fn finance_sees_its_own_invoices_and_their_lines_only() {
    let suite = Suite::start().await;
    let mut fin = suite.signed_in("LAMBETH-LIVING", "almo_finance").await;
    let list = fin.get("/invoices").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("SLA-E09000022-"), "{}", list.body);
    assert!(list.body.contains("Issued"));
    let at = list
        .body
        .find("href=\"/invoices/")
        .expect("an invoice link")
        + 6;
    let href = &list.body[at..];
    let href = href[..href.find('"').unwrap()].to_string();
    let detail = fin.get(&href).await;
    assert_eq!(detail.status, 200);
    for needle in ["Lines", "Totals by account", "Credit notes", "HRA"] {
        assert!(detail.body.contains(needle), "invoice lacks {needle:?}");
    }

    let mut other = suite.signed_in("HOMES-FOR-HARINGEY", "almo_finance").await;
    let list = other.get("/invoices").await;
    assert_eq!(list.status, 200);
    assert!(
        !list.body.contains("SLA-E09000022-"),
        "Haringey sees Lambeth's invoices"
    );
    let refused = other.get(&href).await;
    assert!(matches!(refused.status, 403 | 404), "{}", refused.status);
    assert!(!refused.body.contains("Totals by account"));

    // The agreement with its lines, for Lambeth Living and not for Haringey.
    let agreements = fin.get("/agreements").await;
    assert_eq!(agreements.status, 200, "{}", agreements.body);
    assert!(
        agreements.body.contains("sla-lambeth-living-2026"),
        "{}",
        agreements.body
    );
    assert!(agreements.body.contains("Benchmark unit cost"));
    let theirs = other.get("/agreements").await;
    assert!(!theirs.body.contains("sla-lambeth-living-2026"));

    // The feed as CSV: Lambeth Living's lines, credit notes negative; Haringey's has none.
    let csv = fin.get("/invoices.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    assert!(
        csv.body.starts_with("document,invoice_number,"),
        "{}",
        csv.body
    );
    assert!(csv.body.contains("\ninvoice,SLA-E09000022-"));
    assert!(csv.body.contains("\ncredit_note "), "{}", csv.body);
    let theirs = other.get("/invoices.csv").await;
    assert_eq!(theirs.status, 200);
    assert_eq!(theirs.body.lines().count(), 1, "{}", theirs.body);
    // The open dispute is Lambeth Living's, shown to it and not to Haringey.
    let list = fin.get("/invoices").await;
    assert!(
        list.body.contains("Disputes") && list.body.contains(">Open<"),
        "{}",
        list.body
    );
    let list = other.get("/invoices").await;
    assert!(!list.body.contains(">Open<"));
}

#[tokio::test]
async fn the_regulator_benchmarks_with_one_organisation_highlighted_and_bad_input_is_summarised() {
    let suite = Suite::start().await;
    let mut reg = suite.signed_in("RSH", "regulator").await;
    let page = reg.get("/benchmark").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in [
        "higher is better",
        "▶ London Borough of Lambeth",
        "(highlighted)",
        "upper quartile",
        "Upper quartile",
        "London Borough of Haringey",
    ] {
        assert!(page.body.contains(needle), "benchmark lacks {needle:?}");
    }
    let lower = reg
        .get("/benchmark?indicator=old+BVPI+68&year=2001%2F02&group=district&highlight=E07000178")
        .await;
    assert_eq!(lower.status, 200);
    assert!(lower.body.contains("lower is better"));

    let bad = reg
        .get("/benchmark?indicator=BVPI+66a&year=twenty&group=district")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("There is a problem"));
    assert!(
        bad.body.contains("href=\"#year\""),
        "the error summary links to the field"
    );
    assert!(bad.body.contains("id=\"year-error\""));

    let out = reg.get("/returns/outstanding").await;
    assert_eq!(out.status, 200);
    assert!(
        out.body.contains("Overdue") || out.body.contains("Signed off"),
        "{}",
        out.body
    );

    // A return from that list, its values and their history.
    let at = out.body.find("href=\"/return?id=").expect("a return link") + 6;
    let href = out.body[at..][..out.body[at..].find('"').unwrap()].replace("&amp;", "&");
    let one = reg.get(&href).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.contains("Values") && one.body.contains("History"));
    let mut haringey = suite.signed_in("HOMES-FOR-HARINGEY", "almo_officer").await;
    let refused = haringey.get(&href).await;
    assert!(
        matches!(refused.status, 403 | 404),
        "{}: {}",
        href,
        refused.status
    );
    assert!(!refused.body.contains("History"));

    // A council sees the quartiles but not other councils' positions.
    let mut lambeth = suite.signed_in("E09000022", "council_officer").await;
    let page = lambeth.get("/benchmark").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("London Borough of Lambeth"));
    assert!(
        !page.body.contains("E09000014"),
        "Lambeth sees Haringey's position"
    );
}

#[tokio::test]
async fn the_regulator_compares_almo_managed_with_in_house_and_a_bad_year_is_summarised() {
    let suite = Suite::start().await;
    let mut reg = suite.signed_in("RSH", "regulator").await;
    let page = reg.get("/management-models").await;
    assert_eq!(page.status, 200, "{}", page.body);
    for needle in [
        "href=\"/management-models\"",
        "2024/25: 5 ALMO-managed councils against 10 in-house",
        "<caption>",
        "scope=\"col\"",
        "scope=\"row\"",
        "TP01",
        "157,000",
        "179,193",
        "72.62",
        "64.98",
        "7.64",
        "ALMO better",
        "VFM05",
        "4504.5",
        "Context: not ranked",
        "<svg role=\"img\"",
    ] {
        assert!(page.body.contains(needle), "comparison lacks {needle:?}");
    }
    let one = reg
        .get("/management-models?year=2024%2F25&measure=TP01")
        .await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert!(one.body.contains("TP01") && one.body.contains("VFM05"));
    assert!(!one.body.contains("TP02"), "only the measure asked for");

    let bad = reg.get("/management-models?year=twenty").await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("There is a problem"));
    assert!(
        bad.body.contains("href=\"#year\""),
        "the error summary links to the field"
    );
    assert!(bad.body.contains("id=\"year-error\""));

    // Only aggregates leave the service, so any caller may ask: a council officer too.
    let mut lambeth = suite.signed_in("E09000022", "council_officer").await;
    let theirs = lambeth.get("/management-models").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    assert!(theirs.body.contains("72.62") && theirs.body.contains("7.64"));
}

#[tokio::test]
async fn the_inspectorate_sees_its_calendar_and_each_ruled_out_weeks_reason() {
    let suite = Suite::start().await;
    let mut insp = suite
        .signed_in("HOUSING-INSPECTORATE", "inspectorate")
        .await;
    let cal = insp.get("/calendar").await;
    assert_eq!(cal.status, 200);
    assert!(cal.body.contains("On site: LAMBETH-LIVING"), "{}", cal.body);
    assert!(cal.body.contains("Owen Hughes"));
    let slots = insp
        .get("/slots?almo=NOTTINGHAM-CITY-HOMES&start=2027-01-04&end=2027-03-29")
        .await;
    assert_eq!(slots.status, 200, "{}", slots.body);
    assert!(slots.body.contains("Feasible") || slots.body.contains("Ruled out"));
    let bad = insp
        .get("/slots?almo=NOTTINGHAM-CITY-HOMES&start=soon&end=2027-03-29")
        .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("href=\"#start\""));

    // An inspection's stages against its window, its outcome and the funding it decides.
    let one = insp.get("/inspections/LAMBETH-LIVING-2008-11-03").await;
    assert_eq!(one.status, 200, "{}", one.body);
    for needle in [
        "Publication window",
        "Draft report",
        "Published",
        "2 stars",
        "Eligible",
    ] {
        assert!(
            one.body.contains(needle),
            "inspection page lacks {needle:?}"
        );
    }
    assert!(
        cal.body
            .contains("href=\"/inspections/LAMBETH-LIVING-2008-11-03\"")
    );
    let mut haringey = suite.signed_in("HOMES-FOR-HARINGEY", "almo_officer").await;
    let refused = haringey.get("/inspections/LAMBETH-LIVING-2008-11-03").await;
    assert!(matches!(refused.status, 403 | 404), "{}", refused.status);
    assert!(!refused.body.contains("Owen Hughes"));

    // An ALMO has no calendar: the service refuses and says why.
    let mut almo = suite.signed_in("LAMBETH-LIVING", "almo_officer").await;
    let refused = almo.get("/calendar").await;
    assert!(refused.status >= 400, "{}", refused.status);
    assert!(!refused.body.contains("Owen Hughes"));
}

async fn audit_rows(suite: &Suite, request_id: &str) -> u64 {
    audit_log::Entity::find()
        .filter(audit_log::Column::RequestId.eq(request_id))
        .count(suite.app.db.conn())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_exception_report_sent_twice_is_applied_once_and_bad_input_comes_back_summarised() {
    let suite = Suite::start().await;
    let mut almo = suite.signed_in("LAMBETH-LIVING", "almo_officer").await;
    let dash = almo.get(&format!("/plans/{PLAN}")).await;
    let action_at = dash.body.find("/report\"").expect("a report form");
    let start = dash.body[..action_at].rfind("action=\"").unwrap() + 8;
    let action = format!("{}/report", &dash.body[start..action_at]);
    let csrf = dash.hidden(&action, "csrf");
    let request_id = dash.hidden(&action, "request_id");
    let etag = dash.hidden(&action, "etag");

    // Without the CSRF token, or with another, the form is refused.
    for bad in ["", "0000"] {
        let r = almo
            .post_form(
                &action,
                &[
                    ("csrf", bad),
                    ("request_id", &request_id),
                    ("etag", &etag),
                    ("cause", "x"),
                    ("recovery_action", "y"),
                    ("recovery_date", "2030-01-01"),
                ],
            )
            .await;
        assert_eq!(r.status, 403, "{}", r.body);
    }
    assert_eq!(audit_rows(&suite, &request_id).await, 0);

    // Bad input: the service's reasons in the error summary, linked to the fields.
    let empty = almo
        .post_form(
            &action,
            &[
                ("csrf", &csrf),
                ("request_id", &uuid()),
                ("etag", &etag),
                ("cause", ""),
                ("recovery_action", ""),
                ("recovery_date", "not a date"),
            ],
        )
        .await;
    assert_eq!(empty.status, 400, "{}", empty.body);
    assert!(empty.body.contains("There is a problem"));
    assert!(empty.body.contains("href=\"#report-"), "{}", empty.body);

    let form = [
        ("csrf", csrf.as_str()),
        ("request_id", request_id.as_str()),
        ("etag", etag.as_str()),
        ("cause", "The voids contractor went into administration."),
        ("recovery_action", "A new contractor from January."),
        ("recovery_date", "2030-03-31"),
    ];
    let first = almo.post_form(&action, &form).await;
    assert_eq!(first.status, 303, "{}", first.body);
    assert!(first.location().contains("done=report"));
    // The same form again (a double click, a reload): replayed, not applied twice.
    let second = almo.post_form(&action, &form).await;
    assert_eq!(second.status, 303, "{}", second.body);
    assert_eq!(audit_rows(&suite, &request_id).await, 1);
    let after = almo.get(first.location()).await;
    assert!(after.body.contains("Exception report sent"));
    assert!(
        after
            .body
            .contains("The voids contractor went into administration.")
    );
}

fn uuid() -> String {
    uuid_v4()
}

fn uuid_v4() -> String {
    // A request id of the form the console draws into each form.
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("00000000-0000-4000-8000-{:012x}", t % (1u128 << 48))
}

#[tokio::test]
async fn a_variance_upload_sent_twice_is_applied_once_with_refusals_by_line() {
    let suite = Suite::start().await;
    let mut officer = suite.signed_in("E09000022", "council_officer").await;
    let form = officer.get(&format!("/plans/{PLAN}/variances")).await;
    assert_eq!(form.status, 200);
    let action = format!("/plans/{PLAN}/variances");
    let csrf = form.hidden(&action, "csrf");
    let request_id = form.hidden(&action, "request_id");
    // October's rent figure corrected (an actual is for a period that has ended, and the demo's
    // months run April to October 2026), a period that does not exist, a target that does not.
    let csv = b"sender_record_id,target_code,year,period,actual,forecast,commentary\n\
LBH-2026-M07-LOCAL-RENT,LOCAL-RENT,2026,M7,97.4,,\"October, as corrected\"\n\
TEST-M13-BAD,LOCAL-RENT,2026,M13,97.4,,\n\
TEST-M07-NOPE,NO-SUCH-TARGET,2026,M7,1,,\n";

    let refused = officer
        .post_multipart(
            &action,
            &[("request_id", &request_id)],
            ("file", "v.csv", csv),
        )
        .await;
    assert_eq!(refused.status, 403, "no CSRF token: refused");

    let fields = [("csrf", csrf.as_str()), ("request_id", request_id.as_str())];
    let first = officer
        .post_multipart(&action, &fields, ("file", "v.csv", csv))
        .await;
    assert_eq!(first.status, 422, "{}", first.body);
    assert!(
        first
            .body
            .contains("Corrections</dt><dd class=\"summary-list__value\">1<"),
        "{}",
        first.body
    );
    // Line 3's period is refused by the console, line 4's target by the service: both by line.
    assert!(
        first
            .body
            .contains("<th scope=\"row\">3</th><td>period</td>"),
        "{}",
        first.body
    );
    assert!(
        first.body.contains("<th scope=\"row\">4</th>"),
        "{}",
        first.body
    );
    assert!(first.body.contains("There is a problem"));

    // The same form again: the service replays its first answer, nothing is written twice.
    let second = officer
        .post_multipart(&action, &fields, ("file", "v.csv", csv))
        .await;
    assert_eq!(second.status, 422);
    assert!(
        second
            .body
            .contains("Corrections</dt><dd class=\"summary-list__value\">1<")
    );
    assert_eq!(audit_rows(&suite, &request_id).await, 1);

    // A new upload of the same file (a new form): every figure already held, unchanged.
    let third = officer
        .post_multipart(
            &action,
            &[("csrf", &csrf), ("request_id", &uuid())],
            ("file", "v.csv", csv),
        )
        .await;
    assert!(
        third
            .body
            .contains("Unchanged</dt><dd class=\"summary-list__value\">1<"),
        "{}",
        third.body
    );

    // A file that is not the format: the reason, in the error summary, linked to the field.
    let wrong = officer
        .post_multipart(&action, &fields, ("file", "v.csv", b"a,b\n1,2\n"))
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("href=\"#file\""));
}

#[tokio::test]
async fn sessions_are_strict_cookies_and_pages_carry_a_strict_content_security_policy() {
    let suite = Suite::start().await;
    let mut b = suite.browser();
    let redirect = b.get("/").await;
    assert_eq!(redirect.status, 303);
    assert_eq!(redirect.location(), "/sign-in");
    let page = b.get("/sign-in").await;
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("style-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert!(!page.body.contains("<script"));
    assert!(!page.body.contains("style="));
    // Signing in without the CSRF token is refused.
    let r = b
        .post_form(
            "/sign-in",
            &[("organisation", "E09000022"), ("role", "council_officer")],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(!b.cookies.contains_key("almo_session"));
    // A role that does not belong to the organisation: the service's reason, summarised.
    let csrf = b.cookies["almo_csrf"].clone();
    let r = b
        .post_form(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("organisation", "E09000022"),
                ("role", "almo_finance"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("There is a problem"));
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
    assert_eq!(r.status, 303);
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "no Secure flag on loopback");

    // The production path: the token in the proxy's header, no cookie needed.
    let token = b.cookies["almo_session"].clone();
    let mut proxy = suite.browser();
    let r = proxy
        .send(
            "GET",
            "/plans",
            None,
            &[("X-Forwarded-Access-Token", &token)],
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains(PLAN));
}
