//! PI returns: one row per RPC (see the module documentation of `access_matrix.rs`).

use almo_proto::common::{Period, PeriodKind};
use almo_proto::pi_returns as pi;

use crate::harness::{Row, first, row};
use crate::world::*;

pub fn rows() -> Vec<Row> {
    vec![
        row!("PiReturnsService/ListIndicators", "* ok/-/-", |c, _s| c
            .pi
            .list_indicators(pi::ListIndicatorsRequest {
                year: fy(2024),
                ..Default::default()
            })),
        row!("PiReturnsService/GetIndicator", "* ok/-/-", |c, _s| c
            .pi
            .get_indicator(pi::GetIndicatorRequest {
                code: "TP01".into(),
                year: fy(2024),
            })),
        row!(
            "PiReturnsService/ImportCatalogue",
            "* pd/-/-  AD ia/-/-",
            |c, _s| c.pi.import_catalogue(pi::ImportCatalogueRequest {
                request_id: rid(),
                indicators: vec![],
            })
        ),
        row!(
            "PiReturnsService/CreateReturn",
            "* pd/pd/pd  AO ok/pd/pd  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.pi.create_return(pi::CreateReturnRequest {
                request_id: rid(),
                organisation_id: s.almo,
                period: Some(Period {
                    year: fy(2024),
                    kind: PeriodKind::Quarter as i32,
                    number: 1,
                }),
            })
        ),
        row!(
            "PiReturnsService/GetReturn",
            "* ok/nf/nf  RG nf/nf/nf  IN nf/nf/nf  AD ok/ok/nf",
            |c, s| c.pi.get_return(pi::GetReturnRequest {
                return_id: s.ret,
                include_history: true,
            })
        ),
        row!(
            "PiReturnsService/SetValues",
            "* pd/nf/nf  AO ab/nf/nf  RG nf/nf/nf  IN nf/nf/nf  AD pd/pd/nf",
            |c, s| c.pi.set_values(pi::SetValuesRequest {
                request_id: rid(),
                return_id: s.ret,
                etag: STALE.into(),
                values: vec![pi::ValueInput {
                    indicator_code: "TP01".into(),
                    value: Some(75.0),
                    ..Default::default()
                }],
                survey: None,
            })
        ),
        row!(
            "PiReturnsService/SubmitReturn",
            "* pd/nf/nf  AO ab/nf/nf  RG nf/nf/nf  IN nf/nf/nf  AD pd/pd/nf",
            |c, s| c.pi.submit_return(pi::SubmitReturnRequest {
                request_id: rid(),
                return_id: s.ret,
                etag: STALE.into(),
            })
        ),
        row!(
            "PiReturnsService/SignOffReturn",
            "* pd/nf/nf  CO ab/nf/nf  AO ab/nf/nf  RG nf/nf/nf  IN nf/nf/nf  AD pd/pd/nf",
            |c, s| c.pi.sign_off_return(pi::SignOffReturnRequest {
                request_id: rid(),
                return_id: s.ret,
                etag: STALE.into(),
            })
        ),
        row!(
            "PiReturnsService/ReturnForCorrection",
            "* nf/nf/nf  CO ab/nf/nf  CF pd/nf/nf  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.pi.return_for_correction(pi::ReturnForCorrectionRequest {
                request_id: rid(),
                return_id: s.signed_ret,
                etag: STALE.into(),
                reason: "checked against the source figures".into(),
            })
        ),
        row!(
            "PiReturnsService/ReviseReturn",
            "* nf/nf/nf  CO ab/nf/nf  CF pd/nf/nf  RG pd/pd/nf  IN pd/pd/nf  AD pd/pd/nf",
            |c, s| c.pi.revise_return(pi::ReviseReturnRequest {
                request_id: rid(),
                return_id: s.signed_ret,
                etag: STALE.into(),
                reason: "checked against the source figures".into(),
                values: vec![pi::ValueInput {
                    indicator_code: "BVPI 66a".into(),
                    value: Some(97.0),
                    ..Default::default()
                }],
            })
        ),
        row!("PiReturnsService/QueryReturns", "* ok/ok/ok", |c, s| c
            .pi
            .query_returns(pi::QueryReturnsRequest {
                organisation_id: s.council,
                year: fy(2001),
                ..Default::default()
            })),
        row!(
            "PiReturnsService/GetBenchmark",
            "* ok/nf/nf  AO nf/nf/nf  AF nf/nf/nf  IN nf/nf/nf  RG ok/ok/nf  AD ok/ok/nf",
            |c, s| c.pi.get_benchmark(pi::GetBenchmarkRequest {
                indicator_code: "BVPI 66a".into(),
                year: fy(2001),
                peer_group_id: s.peer_group,
                ..Default::default()
            })
        ),
        row!(
            "PiReturnsService/CombineAlmoReturns",
            "* nf/nf/nf  CO ab/nf/nf  CF pd/nf/nf  AD pd/pd/nf",
            |c, s| c.pi.combine_almo_returns(pi::CombineAlmoReturnsRequest {
                request_id: rid(),
                return_id: s.council_ret,
                etag: STALE.into(),
            })
        ),
        row!(
            "PiReturnsService/ExportReturns",
            "* ok/ok/ok",
            |c, s| first(c.pi.export_returns(pi::ExportReturnsRequest {
                organisation_id: s.council,
                year: fy(2001),
                ..Default::default()
            }))
        ),
        row!(
            "PiReturnsService/ListOutstandingReturns",
            "* ok/-/-",
            |c, _s| c
                .pi
                .list_outstanding_returns(pi::ListOutstandingReturnsRequest {
                    period: Some(Period {
                        year: fy(2024),
                        kind: PeriodKind::Year as i32,
                        number: 1,
                    }),
                    ..Default::default()
                })
        ),
        row!(
            "PiReturnsService/CompareManagementModels",
            "* ok/-/-",
            |c, _s| c
                .pi
                .compare_management_models(pi::CompareManagementModelsRequest {
                    year: fy(2024),
                    indicator_code: "TP01".into(),
                    resamples: 100,
                    ..Default::default()
                })
        ),
        row!(
            "PiReturnsService/ImportReturns",
            "* pd/-/-  AD ia/-/-",
            |c, _s| c
                .pi
                .import_returns(tokio_stream::iter(vec![pi::ImportReturnsRequest {
                    request_id: String::new(),
                    returns: vec![],
                }]))
        ),
    ]
}
