//! What a comparison of management models reads: every council and ALMO with its dates and
//! stock, and the signed-off annual figures of a year.

use almo_db::entity::{organisation, pi_return, pi_return_value};
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::domain::workflow::Status;

/// A council or an ALMO as a comparison needs it.
#[derive(Debug, Clone)]
pub struct Landlord {
    pub id: String,
    pub is_council: bool,
    pub council_id: Option<String>,
    pub go_live: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub stock: Option<i32>,
}

/// Every council and ALMO, by id.
pub async fn landlords(conn: &impl ConnectionTrait) -> Result<Vec<Landlord>, DbErr> {
    Ok(organisation::Entity::find()
        .filter(organisation::Column::Kind.is_in(["council", "almo"]))
        .order_by_asc(organisation::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(|o| Landlord {
            is_council: o.kind == "council",
            id: o.id,
            council_id: o.council_id,
            go_live: o.go_live_date,
            end: o.end_date,
            stock: o.stock_size,
        })
        .collect())
}

/// One current figure of a signed-off annual return.
#[derive(Debug, Clone)]
pub struct SignedOffFigure {
    pub organisation_id: String,
    pub return_id: String,
    pub code: String,
    pub value: f64,
}

/// The current figures of `codes` (for `split`) on the signed-off annual returns of `year`.
pub async fn signed_off_figures(
    conn: &impl ConnectionTrait,
    codes: &[String],
    split: &str,
    year: i32,
) -> Result<Vec<SignedOffFigure>, DbErr> {
    if codes.is_empty() {
        return Ok(Vec::new());
    }
    let v = pi_return_value::Entity;
    let r = pi_return::Entity;
    let q = Query::select()
        .expr_as(
            Expr::col((r, pi_return::Column::OrganisationId)),
            "organisation_id",
        )
        .expr_as(Expr::col((r, pi_return::Column::Id)), "return_id")
        .expr_as(
            Expr::col((v, pi_return_value::Column::IndicatorCode)),
            "code",
        )
        .expr_as(Expr::col((v, pi_return_value::Column::Value)), "value")
        .from(v)
        .inner_join(
            r,
            Expr::col((r, pi_return::Column::Id)).equals((v, pi_return_value::Column::ReturnId)),
        )
        .and_where(
            Expr::col((v, pi_return_value::Column::IndicatorCode)).is_in(codes.iter().cloned()),
        )
        .and_where(Expr::col((v, pi_return_value::Column::Split)).eq(split))
        .and_where(Expr::col((v, pi_return_value::Column::Current)).eq(true))
        .and_where(Expr::col((r, pi_return::Column::Year)).eq(year))
        .and_where(Expr::col((r, pi_return::Column::PeriodKind)).eq("year"))
        .and_where(Expr::col((r, pi_return::Column::Status)).eq(Status::SignedOff.as_str()))
        .to_owned();
    conn.query_all(&q)
        .await?
        .into_iter()
        .map(|row| {
            Ok(SignedOffFigure {
                organisation_id: row.try_get("", "organisation_id")?,
                return_id: row.try_get("", "return_id")?,
                code: row.try_get("", "code")?,
                value: row.try_get("", "value")?,
            })
        })
        .collect()
}
