//! Demo data (placeholder).
use almo_db::Db;
use sea_orm::DbErr;

pub async fn seed(_db: &Db) -> Result<(), DbErr> {
    Ok(())
}
