//! `almo.inspection.v1.InspectionSchedulingService`: the Housing Inspectorate schedules ALMO
//! inspections under the framework's rules (003 §94–§120), staffs them, runs them through to the
//! published report and records the outcome that decides Decent Homes funding.

pub mod domain;
