//! The shared data layer: sea-orm entities and migrations for the whole suite, connection set-up
//! for the embedded SQLite default and for PostgreSQL, and the write path every service uses
//! (one transaction, idempotency key checked inside it, an audit row in the same transaction).

pub mod backup;
pub mod connect;
pub mod entity;
pub mod lifecycle;
pub mod lock;
pub mod migration;
pub mod notify;
mod reads;
pub mod write;

pub use connect::{
    Backend, ConnectConfig, Db, InUseLock, connect, connect_and_migrate, lock_path, redact,
    sqlite_file,
};
pub use migration::Migrator;
pub use sea_orm;
pub use sea_orm_migration;
pub use write::{Begun, CallContext, PendingWrite, WriteError};
