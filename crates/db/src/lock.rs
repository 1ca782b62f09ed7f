//! Row locks in one order. Every write that locks more than one row takes them parent before
//! child, by [`LockKind`]'s rank:
//!
//! ```text
//! 1  Council        sla_council_counters   a council's SLA counter row (billing runs, usage,
//!                                          results, issuing, credit notes queue on it)
//! 2  Plan           dp_plans               a delivery plan
//!    Agreement      sla_agreements         an SLA agreement
//!    Return         pi_returns             a PI return
//! 3  Amendment      dp_amendments          a plan's amendment
//!    Exception      dp_exceptions          a plan's exception
//!    Invoice        sla_invoices           an invoice (its lines and credit notes go with it)
//! 4  Dispute        sla_disputes           a dispute of an invoice line (resolving one that
//!                                          credits locks the council and the invoice first)
//! ```
//!
//! Two rows of one kind are locked in id order. A write locks with [`lock_row`] before it reads
//! what it decides on, and before any `UPDATE` of that row or its children (an `UPDATE` takes the
//! row's lock implicitly, so it must come after the explicit locks of its parents). Then two
//! writes that meet on the same rows queue on the first row they share and never wait for each
//! other in a cycle, so PostgreSQL never has to break a deadlock.
//!
//! On PostgreSQL a lock is `SELECT .. FOR UPDATE`, held until the transaction ends. On SQLite a
//! write transaction is `BEGIN IMMEDIATE` (writers are serialised), so no statement is needed.
//!
//! The order is checked, not only written down: a write path runs its body inside [`ordered`]
//! (the services' write helpers do), which records each lock taken by that task; a lock that
//! would go against the order is refused with an error before any SQL is sent, on every backend.
//! A handler that swaps two locks therefore fails its tests on SQLite as on PostgreSQL.

use std::cell::RefCell;
use std::future::Future;

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

/// The kinds of row a write locks, ranked parent before child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    Council,
    Plan,
    Agreement,
    Return,
    Amendment,
    Exception,
    Invoice,
    Dispute,
}

impl LockKind {
    /// Lower ranks are locked first.
    pub fn rank(self) -> u8 {
        match self {
            LockKind::Council => 1,
            LockKind::Plan | LockKind::Agreement | LockKind::Return => 2,
            LockKind::Amendment | LockKind::Exception | LockKind::Invoice => 3,
            LockKind::Dispute => 4,
        }
    }

    /// The table and its key column.
    fn table(self) -> (&'static str, &'static str) {
        match self {
            LockKind::Council => ("sla_council_counters", "council_id"),
            LockKind::Plan => ("dp_plans", "id"),
            LockKind::Agreement => ("sla_agreements", "id"),
            LockKind::Return => ("pi_returns", "id"),
            LockKind::Amendment => ("dp_amendments", "id"),
            LockKind::Exception => ("dp_exceptions", "id"),
            LockKind::Invoice => ("sla_invoices", "id"),
            LockKind::Dispute => ("sla_disputes", "id"),
        }
    }
}

tokio::task_local! {
    static HELD: RefCell<Vec<(LockKind, String)>>;
}

/// Runs one write's body with its locks recorded and their order checked by [`lock_row`].
pub async fn ordered<F: Future>(body: F) -> F::Output {
    HELD.scope(RefCell::new(Vec::new()), body).await
}

/// Whether taking `(kind, id)` after the locks `held` (in the order taken) keeps the order: a
/// row already held, a higher rank than the last lock, or the same kind with a greater id.
pub fn check_order(held: &[(LockKind, String)], kind: LockKind, id: &str) -> Result<(), String> {
    if held.iter().any(|(k, i)| *k == kind && i == id) {
        return Ok(());
    }
    let Some((last, last_id)) = held.last() else {
        return Ok(());
    };
    if kind.rank() > last.rank() || (kind == *last && id > last_id.as_str()) {
        return Ok(());
    }
    Err(format!(
        "lock order: {kind:?} {id:?} (rank {}) taken after {last:?} {last_id:?} (rank {}); \
         locks go parent before child (crates/db/src/lock.rs)",
        kind.rank(),
        last.rank()
    ))
}

/// The locks this task's write has taken so far, in order (empty outside [`ordered`]).
pub fn held() -> Vec<(LockKind, String)> {
    HELD.try_with(|h| h.borrow().clone()).unwrap_or_default()
}

/// Locks the row `id` of `kind` until the transaction ends, after checking the order (see the
/// module docs). Returns whether the row exists.
pub async fn lock_row(
    conn: &impl ConnectionTrait,
    kind: LockKind,
    id: &str,
) -> Result<bool, DbErr> {
    let checked = HELD.try_with(|h| {
        let mut h = h.borrow_mut();
        check_order(&h, kind, id)?;
        if !h.iter().any(|(k, i)| *k == kind && i == id) {
            h.push((kind, id.to_string()));
        }
        Ok::<(), String>(())
    });
    if let Ok(Err(e)) = checked {
        return Err(DbErr::Custom(e));
    }
    let (table, key) = kind.table();
    let backend = conn.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT 1 FROM {table} WHERE {key} = $1 FOR UPDATE"),
        _ => format!("SELECT 1 FROM {table} WHERE {key} = ?"),
    };
    let stmt = Statement::from_sql_and_values(backend, sql, [id.into()]);
    Ok(conn.query_one_raw(stmt).await?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(locks: &[(LockKind, &str)]) -> Vec<(LockKind, String)> {
        locks.iter().map(|(k, i)| (*k, i.to_string())).collect()
    }

    #[test]
    fn parent_before_child_is_in_order() {
        let h = held(&[(LockKind::Plan, "P1")]);
        assert!(check_order(&h, LockKind::Amendment, "A1").is_ok());
        let h = held(&[(LockKind::Council, "C1"), (LockKind::Invoice, "I1")]);
        assert!(check_order(&h, LockKind::Invoice, "I2").is_ok());
    }

    #[test]
    fn a_dispute_comes_after_its_council_and_invoice() {
        let h = held(&[(LockKind::Council, "C1"), (LockKind::Invoice, "I1")]);
        assert!(check_order(&h, LockKind::Dispute, "D1").is_ok());
        let h = held(&[(LockKind::Dispute, "D1")]);
        assert!(check_order(&h, LockKind::Invoice, "I1").is_err());
        assert!(check_order(&h, LockKind::Council, "C1").is_err());
    }

    #[test]
    fn child_before_parent_is_refused() {
        let h = held(&[(LockKind::Amendment, "A1")]);
        let e = check_order(&h, LockKind::Plan, "P1").unwrap_err();
        assert!(e.contains("Plan"), "{e}");
        let h = held(&[(LockKind::Invoice, "I1")]);
        assert!(check_order(&h, LockKind::Council, "C1").is_err());
    }

    #[test]
    fn rows_of_one_kind_go_in_id_order_and_a_held_row_may_be_locked_again() {
        let h = held(&[(LockKind::Plan, "P2")]);
        assert!(check_order(&h, LockKind::Plan, "P1").is_err());
        assert!(check_order(&h, LockKind::Plan, "P2").is_ok());
        let h = held(&[(LockKind::Plan, "P1"), (LockKind::Amendment, "A1")]);
        assert!(check_order(&h, LockKind::Plan, "P1").is_ok());
        assert!(check_order(&h, LockKind::Agreement, "S1").is_err());
    }

    #[tokio::test]
    async fn a_write_that_locks_out_of_order_is_refused_before_it_locks() {
        let db = sea_orm::Database::connect("sqlite::memory:").await.unwrap();
        let out = ordered(async {
            lock_row(&db, LockKind::Plan, "P1").await.ok();
            lock_row(&db, LockKind::Amendment, "A1").await.ok();
            let refused = lock_row(&db, LockKind::Plan, "P2").await;
            (refused, super::held())
        })
        .await;
        let (refused, taken) = out;
        match refused {
            Err(DbErr::Custom(m)) => assert!(m.contains("lock order"), "{m}"),
            other => panic!("expected a lock-order refusal, got {other:?}"),
        }
        assert_eq!(
            taken,
            vec![
                (LockKind::Plan, "P1".to_string()),
                (LockKind::Amendment, "A1".to_string())
            ]
        );
    }
}
