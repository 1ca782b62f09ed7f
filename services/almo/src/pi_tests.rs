use super::*;
use almo_proto::pi_returns::ReturnValue;

#[test]
fn financial_years_are_read_as_the_regulator_writes_them() {
    assert_eq!(year_flag("2003/04").unwrap(), 2003);
    assert_eq!(year_flag("1999/00").unwrap(), 1999);
    assert_eq!(year_flag("2003").unwrap(), 2003);
    assert!(year_flag("2003/05").is_err());
    assert!(year_flag("twenty").is_err());
    // As strict as the server: a typo never files a figure in another year.
    for typo in ["2004/06", "2004/5", "04/05", "2003/2004"] {
        let e = year_flag(typo).unwrap_err();
        assert_eq!(e.field, "year", "{typo}");
    }
    assert_eq!(period_flags(2004, Some(2)).unwrap().number, 2);
    assert_eq!(period_flags(2004, Some(5)).unwrap_err().field, "quarter");
}

#[test]
fn submission_file_columns_are_found_by_name_and_quotes_are_honoured() {
    let text = "value,indicator_code,explanation\n\
                97.5,BVPI 66a,\n\
                85,BVPI 185,\"Contractor changed, \"\"new\"\" system\"\n";
    let v = parse_values(text).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].indicator_code, "BVPI 66a");
    assert_eq!(v[0].value, Some(97.5));
    assert_eq!(v[1].explanation, "Contractor changed, \"new\" system");
    assert!(parse_values("indicator_code,value\nBVPI 66a,lots\n").is_err());
}

#[test]
fn an_excel_saved_submission_reads_and_refusals_name_its_lines() {
    // Excel's "CSV UTF-8": a byte-order mark, CRLF line ends, quoted commas and a quoted
    // line break in an explanation, a blank line.
    let file = b"\xEF\xBB\xBFindicator_code,split,value,explanation\r\n\
                 BVPI 66a,,97.5,\r\n\
                 BVPI 74,bme,76,\"Survey moved online, \"\"new\"\" method\r\nsee note\"\r\n\
                 \r\n\
                 BVPI 185,,85,\r\n\
                 BVPI 63,,sixty,\r\n";
    let e = parse_values(file).unwrap_err();
    assert_eq!((e.line, e.field.as_str()), (Some(7), "value"));
    assert!(e.to_string().starts_with("line 7, field value:"), "{e}");

    let good = &file[..file.len() - "BVPI 63,,sixty,\r\n".len()];
    let v = parse_values(good).unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].indicator_code, "BVPI 66a");
    assert_eq!(v[1].split, "bme");
    assert_eq!(
        v[1].explanation,
        "Survey moved online, \"new\" method\r\nsee note"
    );
    assert_eq!(v[2].indicator_code, "BVPI 185");
    assert_eq!(v.lines, [2, 3, 6]);
    assert_eq!(v.line_of("values[2].value").unwrap(), "line 6 (value)");
    assert_eq!(v.line_of("values[1]").unwrap(), "line 3");
    assert_eq!(v.line_of("survey.method"), None);

    let missing = parse_values("code,value\r\nBVPI 66a,1\r\n").unwrap_err();
    assert_eq!(missing.field, "indicator_code");
    assert!(parse_values("indicator_code,value\r\n").is_err());
}

#[test]
fn export_progress_is_quiet_when_not_a_terminal_and_counts_returns() {
    let bar = progress(Some(10), "returns");
    bar.inc(5);
    assert_eq!((bar.position(), bar.length()), (5, Some(10)));
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        assert!(bar.is_hidden());
    }
}

#[test]
fn pi_compare_prints_a_row_per_group_with_the_interval_and_cost_beside() {
    use almo_proto::pi_returns::{
        GroupSummary, IndicatorDefinition, ManagementAssignment, MeasureComparison,
    };
    let group = |orgs, homes, median| GroupSummary {
        organisations: orgs,
        homes,
        q1: Some(median - 2.0),
        median: Some(median),
        q3: Some(median + 2.0),
        weighted_mean: Some(median + 0.5),
    };
    let measure = |code: &str, precision, verdict: DifferenceVerdict| MeasureComparison {
        indicator: Some(IndicatorDefinition {
            code: code.into(),
            precision,
            ..Default::default()
        }),
        almo: Some(group(5, 157_000, 74.0)),
        in_house: Some(group(10, 190_000, 70.0)),
        difference: Some(4.0),
        difference_lower: Some(1.25),
        difference_upper: Some(6.5),
        verdict: verdict as i32,
    };
    let r = CompareManagementModelsResponse {
        year: Some(FinancialYear { start_year: 2024 }),
        measures: vec![measure("TP01", 1, DifferenceVerdict::AlmoBetter)],
        cost_per_home: Some(measure("VFM05", 0, DifferenceVerdict::NotRanked)),
        councils: vec![
            ManagementAssignment {
                council_id: "E09000022".into(),
                model: ManagementModel::Almo as i32,
                ..Default::default()
            },
            ManagementAssignment {
                council_id: "E08000003".into(),
                model: ManagementModel::InHouse as i32,
                ..Default::default()
            },
        ],
        seed: 7,
        resamples: 2_000,
        method: String::new(),
    };
    let table = comparison_table(&r);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("2024/25: ALMO-managed (1 councils)"),
        "{table}"
    );
    assert!(lines[0].contains("seed 7"), "{table}");
    assert!(lines[1].starts_with("measure"), "{table}");
    let tp01 = lines[2];
    assert!(tp01.starts_with("TP01"), "{table}");
    assert!(tp01.contains("157000") && tp01.contains("74.00"), "{table}");
    assert!(
        tp01.contains("1.25 to 6.50") && tp01.ends_with("ALMO better"),
        "{table}"
    );
    assert!(lines[3].trim_start().starts_with("in-house"), "{table}");
    assert!(
        lines[4].starts_with("VFM05") && lines[4].ends_with("context"),
        "{table}"
    );
}

#[test]
fn export_lines_quote_what_needs_quoting() {
    let ret = PiReturn {
        id: "LAMBETH-LIVING/2004/Y".into(),
        organisation_id: "LAMBETH-LIVING".into(),
        period: Some(Period {
            year: Some(FinancialYear { start_year: 2004 }),
            kind: PeriodKind::Year as i32,
            number: 1,
        }),
        values: vec![ReturnValue {
            indicator_code: "BVPI 66a".into(),
            split: "a, b".into(),
            value: 97.5,
            explanation: "say \"hi\"".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    let mut w = csv::writer(Vec::new());
    w.write_record(CSV_HEADER).unwrap();
    for record in csv_records(&ret) {
        w.write_record(&record).unwrap();
    }
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let line = text.lines().nth(1).unwrap();
    assert!(line.contains(",BVPI 66a,\"a, b\",97.5,"), "{line}");
    assert!(line.contains(",\"say \"\"hi\"\"\","), "{line}");
    assert!(line.starts_with("LAMBETH-LIVING/2004/Y,LAMBETH-LIVING,2004/05,year,"));
    let back = csv::read(text.as_bytes()).unwrap();
    assert_eq!(back.rows[0].get(back.column("split").unwrap()), "a, b");
}
