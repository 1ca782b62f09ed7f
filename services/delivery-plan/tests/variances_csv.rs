//! `almo variances push` and `almo plan amend` read their input as strictly as the server
//! does: a file as Excel saves it reads, and a typo is refused by its line and field, never
//! read as another value.

use almo_delivery_plan::cli::{BadRow, HEADER, parse_csv};

#[test]
fn an_excel_saved_file_reads_with_the_line_of_each_refusal() {
    // A byte-order mark, CRLF line ends, a quoted comma, a quoted line break (the record starts
    // on line 3 and ends on line 4) and a doubled quote.
    let file = format!(
        "\u{feff}{HEADER}\r\n\
         r1,RP02,2026/27,M1,97.2,,\"Backlog, now cleared\"\r\n\
         r2,RP02,2026/27,M2,97.5,98,\"two\nlines\"\r\n\
         r3,RP02,2026/27,M3,ninety,,\r\n\
         r4,RP02,2026,Q1,96,,\"say \"\"when\"\"\"\r\n"
    );
    let (records, bad) = parse_csv(file.as_bytes()).unwrap();
    let read: Vec<(usize, &str, &str)> = records
        .iter()
        .map(|(line, r)| (*line, r.sender_record_id.as_str(), r.commentary.as_str()))
        .collect();
    assert_eq!(
        read,
        vec![
            (2, "r1", "Backlog, now cleared"),
            (3, "r2", "two\nlines"),
            (6, "r4", "say \"when\""),
        ]
    );
    assert_eq!(records[1].1.forecast, Some(98.0));
    assert_eq!(bad.len(), 1);
    assert_eq!((bad[0].line, bad[0].field.as_str()), (5, "actual"));
}

#[test]
fn financial_year_typos_are_refused_by_line_and_field_not_read_as_another_year() {
    let typos = ["2004/06", "2004/99", "2003/05", "2004/5", "04/05"];
    let mut file = format!("{HEADER}\n");
    for (i, year) in typos.iter().enumerate() {
        file.push_str(&format!("r{i},RP02,{year},M1,97,,\n"));
    }
    file.push_str("ok,RP02,2004/05,M1,97,,\n");
    let (records, bad) = parse_csv(file.as_bytes()).unwrap();
    assert_eq!(
        bad.iter()
            .map(|b| (b.line, b.field.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (2, "year"),
            (3, "year"),
            (4, "year"),
            (5, "year"),
            (6, "year")
        ]
    );
    for (b, typo) in bad.iter().zip(typos) {
        assert!(b.reason.contains(typo), "{b}");
    }
    assert_eq!(records.len(), 1);
    let period = records[0].1.period.as_ref().unwrap();
    assert_eq!(period.year.as_ref().unwrap().start_year, 2004);
}

#[test]
fn periods_and_figures_are_checked_as_the_server_checks_them() {
    let file = format!(
        "{HEADER}\nr1,RP02,2026,M13,1,,\nr2,RP02,2026,Q5,1,,\nr3,RP02,2026,Y,1,,\nr4,RP02,2026,M1,1,soon,\nr5,RP02,2026,M1,NaN,,\nr6,RP02,2026\n"
    );
    let (records, bad) = parse_csv(file.as_bytes()).unwrap();
    assert!(records.is_empty());
    let fields: Vec<(usize, &str)> = bad.iter().map(|b| (b.line, b.field.as_str())).collect();
    assert_eq!(
        fields,
        vec![
            (2, "period"),
            (3, "period"),
            (4, "period"),
            (5, "forecast"),
            (6, "actual"),
            (7, "row"),
        ]
    );
    assert_eq!(
        bad[5],
        BadRow {
            line: 7,
            field: "row".into(),
            reason: "3 fields, expected 7".into()
        }
    );
}

#[test]
fn a_file_without_the_columns_is_refused_whole() {
    let err = parse_csv("sender_record_id,target_code,year,period,actual\nr1,RP02,2026,M1,1\n")
        .unwrap_err();
    let bad = err
        .downcast_ref::<almo_client::BadInput>()
        .expect("bad input");
    assert_eq!((bad.line, bad.field.as_str()), (Some(1), "forecast"));
    assert!(parse_csv("").is_err());
}

#[tokio::test]
async fn plan_amend_refuses_a_year_typo_before_calling_the_server() {
    for typo in ["2004/06", "2004/99", "2003/05", "2004/5", "04/05"] {
        let err = almo_delivery_plan::cli::propose_target_change(
            &almo_client::Target::new("127.0.0.1:1", "token"),
            "LAMBETH-LIVING-2026-2028",
            "LOCAL-RELET",
            typo,
            35.0,
            "2026-12-01",
            "x",
        )
        .await
        .unwrap_err();
        let bad = err
            .downcast_ref::<almo_client::BadInput>()
            .expect("bad input");
        assert_eq!(bad.field, "year", "{typo}");
        assert_eq!(
            almo_client::exit_code(&err),
            std::process::ExitCode::from(2)
        );
    }
}
