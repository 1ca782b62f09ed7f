//! Disputes of invoice lines.

use almo_db::entity::sla_dispute;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::Visibility;

pub async fn disputes_of_line(
    conn: &impl ConnectionTrait,
    invoice_id: &str,
    line_number: i32,
) -> Result<Vec<sla_dispute::Model>, DbErr> {
    sla_dispute::Entity::find()
        .filter(sla_dispute::Column::InvoiceId.eq(invoice_id))
        .filter(sla_dispute::Column::InvoiceLineNumber.eq(line_number))
        .all(conn)
        .await
}

pub async fn insert_dispute(
    conn: &impl ConnectionTrait,
    d: sla_dispute::Model,
) -> Result<(), DbErr> {
    sla_dispute::Entity::insert(sla_dispute::ActiveModel::from(d))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

pub async fn get_dispute(
    conn: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<sla_dispute::Model>, DbErr> {
    sla_dispute::Entity::find_by_id(id.to_string())
        .one(conn)
        .await
}

/// Writes the resolution if the dispute is still open at `expected_version`.
pub async fn resolve_dispute(
    conn: &impl ConnectionTrait,
    d: &sla_dispute::Model,
    expected_version: i64,
) -> Result<bool, DbErr> {
    let res = sla_dispute::Entity::update_many()
        .col_expr(sla_dispute::Column::Status, Expr::value(d.status.clone()))
        .col_expr(
            sla_dispute::Column::Response,
            Expr::value(d.response.clone()),
        )
        .col_expr(
            sla_dispute::Column::CreditNoteId,
            Expr::value(d.credit_note_id.clone()),
        )
        .col_expr(sla_dispute::Column::ResolvedAt, Expr::value(d.resolved_at))
        .col_expr(sla_dispute::Column::RowVersion, Expr::value(d.row_version))
        .filter(sla_dispute::Column::Id.eq(&d.id))
        .filter(sla_dispute::Column::Status.eq("open"))
        .filter(sla_dispute::Column::RowVersion.eq(expected_version))
        .exec(conn)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn list_disputes(
    conn: &impl ConnectionTrait,
    vis: &Visibility,
    status: Option<&str>,
    after: Option<String>,
    limit: u64,
) -> Result<Vec<sla_dispute::Model>, DbErr> {
    let mut q = sla_dispute::Entity::find().filter(match vis {
        Visibility::Supplier(c) => sla_dispute::Column::SupplierCouncilId.eq(c),
        Visibility::Customer(a) => sla_dispute::Column::CustomerAlmoId.eq(a),
    });
    if let Some(s) = status {
        q = q.filter(sla_dispute::Column::Status.eq(s));
    }
    // Ids are time-ordered (raised-at prefix), so ordering by id is oldest first and a stable key.
    if let Some(after) = after {
        q = q.filter(sla_dispute::Column::Id.gt(after));
    }
    q.order_by_asc(sla_dispute::Column::Id)
        .limit(limit)
        .all(conn)
        .await
}
