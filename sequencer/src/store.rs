//! The durable store: one SQLite file (WAL, `synchronous=FULL`, exclusive lock), written by
//! the executor task only, one transaction per group of commands.

use std::path::Path;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous};
use sqlx::{Connection, Row, SqliteConnection};

use crate::error::SequencerError;
use crate::types::{BatchProgress, TxHash};

pub(crate) const TX_PENDING: i64 = 0;
pub(crate) const TX_EXECUTED: i64 = 1;
pub(crate) const TX_REJECTED: i64 = 2;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// One row of `txs`.
#[derive(Clone, Debug)]
pub(crate) struct TxRow {
    pub hash: TxHash,
    pub bytes: Vec<u8>,
    pub status: i64,
    pub exec_seq: Option<i64>,
    pub batch: Option<u64>,
    pub reason: Option<String>,
    pub executed_ms: Option<i64>,
    /// Unix milliseconds.
    pub received_ms: i64,
}

/// One row of `batches`.
#[derive(Clone, Debug)]
pub(crate) struct BatchRow {
    pub number: u64,
    pub capacity: usize,
    pub tx_count: usize,
    pub new_root: [u8; 32],
    pub handed_off: bool,
    pub progress: BatchProgress,
    pub execute_tx: Option<[u8; 32]>,
    /// Unix milliseconds.
    pub sealed_ms: i64,
}

/// One row of `priority_ops`.
#[derive(Clone, Debug)]
pub(crate) struct PriorityRow {
    pub priority_id: u64,
    pub hash: TxHash,
    pub l1_tx: [u8; 32],
    pub expiry_s: u64,
}

/// A change to the store, collected while a group of commands runs in memory and written in
/// one transaction before any of them is answered.
#[derive(Clone, Debug)]
pub(crate) enum Write {
    InsertTx {
        hash: TxHash,
        account: u32,
        nonce: u32,
        bytes: Vec<u8>,
        status: i64,
        exec_seq: Option<i64>,
        batch: Option<u64>,
        received_ms: i64,
    },
    /// A waiting transaction executed.
    Execute {
        hash: TxHash,
        exec_seq: i64,
        batch: u64,
        executed_ms: i64,
    },
    /// A waiting transaction failed when its nonce came up.
    Reject {
        hash: TxHash,
        reason: String,
    },
    /// Forget a rejected transaction that is being submitted again.
    DeleteRejected {
        hash: TxHash,
    },
    InsertBatch {
        number: u64,
        capacity: usize,
        tx_count: usize,
        old_root: [u8; 32],
        new_root: [u8; 32],
        sealed_ms: i64,
    },
    HandedOff {
        number: u64,
    },
    Progress {
        number: u64,
        progress: BatchProgress,
        execute_tx: Option<[u8; 32]>,
    },
    Priority(PriorityRow),
    /// The L1 block the bridge's watcher handed on last, with its hash.
    L1Cursor {
        block: u64,
        hash: [u8; 32],
    },
}

pub(crate) async fn connect(path: &Path) -> Result<SqliteConnection, SequencerError> {
    let opts = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        // One sequencer per store: a second process (or a second open in this one) waits
        // `busy_timeout` and then fails with "database is locked".
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&opts).await.map_err(|e| busy(e, path))?;
    MIGRATOR.run(&mut conn).await.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(e) => busy(e, path),
        e => e.into(),
    })?;
    Ok(conn)
}

/// SQLITE_BUSY (5) at open means another sequencer holds the exclusive lock.
pub(crate) fn busy(e: sqlx::Error, path: &Path) -> SequencerError {
    let code = e.as_database_error().and_then(|d| d.code().map(|c| c.into_owned()));
    if code.as_deref() == Some("5") {
        SequencerError::InUse { path: path.to_path_buf() }
    } else {
        e.into()
    }
}

/// Records the genesis on first open; afterwards checks that it is the same. Writing here
/// also takes the exclusive lock at once.
pub(crate) async fn check_genesis(
    conn: &mut SqliteConnection,
    path: &Path,
    description: &str,
    root_hex: &str,
) -> Result<(), SequencerError> {
    let (stored_desc, stored) = record_genesis(conn, description, root_hex).await.map_err(|e| busy(e, path))?;
    if stored != root_hex {
        return Err(SequencerError::GenesisMismatch {
            path: path.to_path_buf(),
            detail: format!(
                "it was created with {stored_desc} (root {stored}), the configuration says {description} (root {root_hex})"
            ),
        });
    }
    Ok(())
}

async fn record_genesis(
    conn: &mut SqliteConnection,
    description: &str,
    root_hex: &str,
) -> Result<(String, String), sqlx::Error> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES ('genesis', ?1), ('genesis_root', ?2) ON CONFLICT (key) DO NOTHING",
    )
    .bind(description)
    .bind(root_hex)
    .execute(&mut *tx)
    .await?;
    let stored: String =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'genesis_root'").fetch_one(&mut *tx).await?;
    let stored_desc: String =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'genesis'").fetch_one(&mut *tx).await?;
    tx.commit().await?;
    Ok((stored_desc, stored))
}

fn hash_of(b: Vec<u8>) -> Result<TxHash, SequencerError> {
    TxHash::from_slice(&b).map_err(|e| SequencerError::Replay(format!("corrupt tx hash in store: {e}")))
}

fn u64_of(v: i64, what: &str) -> Result<u64, SequencerError> {
    u64::try_from(v).map_err(|_| SequencerError::Replay(format!("negative {what} {v} in store")))
}

/// The priority operations taken so far, by id.
pub(crate) async fn load_priority(conn: &mut SqliteConnection) -> Result<Vec<PriorityRow>, SequencerError> {
    let rows = sqlx::query("SELECT priority_id, hash, l1_tx, expiry_s FROM priority_ops ORDER BY priority_id")
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            let l1_tx: Vec<u8> = r.try_get("l1_tx")?;
            Ok(PriorityRow {
                priority_id: u64_of(r.try_get("priority_id")?, "priority id")?,
                hash: hash_of(r.try_get("hash")?)?,
                l1_tx: l1_tx.try_into().map_err(|_| SequencerError::Replay("corrupt l1_tx in store".into()))?,
                expiry_s: u64_of(r.try_get("expiry_s")?, "priority expiry")?,
            })
        })
        .collect()
}

/// The bridge watcher's cursor (`block`, block hash), if one was stored.
pub(crate) async fn load_l1_cursor(conn: &mut SqliteConnection) -> Result<Option<(u64, [u8; 32])>, SequencerError> {
    let v: Option<String> =
        sqlx::query_scalar("SELECT value FROM meta WHERE key = 'l1_cursor'").fetch_optional(&mut *conn).await?;
    let Some(v) = v else { return Ok(None) };
    let corrupt = || SequencerError::Replay(format!("corrupt l1_cursor {v:?} in store (expected BLOCK:HASH)"));
    let (block, hash) = v.split_once(':').ok_or_else(corrupt)?;
    let block = block.parse().map_err(|_| corrupt())?;
    let hash = hex::decode(hash).ok().and_then(|h| <[u8; 32]>::try_from(h).ok()).ok_or_else(corrupt)?;
    Ok(Some((block, hash)))
}

/// All transactions: executed ones in execution-log order first, then pending and rejected
/// ones in acknowledgement order.
pub(crate) async fn load_txs(conn: &mut SqliteConnection) -> Result<Vec<TxRow>, SequencerError> {
    let rows = sqlx::query(
        "SELECT hash, bytes, status, exec_seq, batch, reason, executed_ms, received_ms FROM txs \
         ORDER BY exec_seq IS NULL, exec_seq, seq",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(TxRow {
                hash: hash_of(r.try_get("hash")?)?,
                bytes: r.try_get("bytes")?,
                status: r.try_get("status")?,
                exec_seq: r.try_get("exec_seq")?,
                batch: r.try_get::<Option<i64>, _>("batch")?.map(|b| u64_of(b, "batch")).transpose()?,
                reason: r.try_get("reason")?,
                executed_ms: r.try_get("executed_ms")?,
                received_ms: r.try_get("received_ms")?,
            })
        })
        .collect()
}

pub(crate) async fn load_batches(conn: &mut SqliteConnection) -> Result<Vec<BatchRow>, SequencerError> {
    let rows = sqlx::query(
        "SELECT number, capacity, tx_count, new_root, handed_off, proven, aggregated, finalized, execute_tx, \
         sealed_ms FROM batches ORDER BY number",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            let root: Vec<u8> = r.try_get("new_root")?;
            Ok(BatchRow {
                number: u64_of(r.try_get("number")?, "batch number")?,
                capacity: u64_of(r.try_get("capacity")?, "capacity")? as usize,
                tx_count: u64_of(r.try_get("tx_count")?, "tx_count")? as usize,
                new_root: root.try_into().map_err(|_| SequencerError::Replay("corrupt batch root in store".into()))?,
                handed_off: r.try_get("handed_off")?,
                progress: BatchProgress {
                    proven: r.try_get("proven")?,
                    aggregated: r.try_get("aggregated")?,
                    finalized: r.try_get("finalized")?,
                },
                execute_tx: r
                    .try_get::<Option<Vec<u8>>, _>("execute_tx")?
                    .map(|b| b.try_into().map_err(|_| SequencerError::Replay("corrupt execute_tx in store".into())))
                    .transpose()?,
                sealed_ms: r.try_get("sealed_ms")?,
            })
        })
        .collect()
}

/// Writes a group of changes in one transaction (one fsync of the WAL at commit).
pub(crate) async fn apply(conn: &mut SqliteConnection, writes: &[Write]) -> Result<(), sqlx::Error> {
    if writes.is_empty() {
        return Ok(());
    }
    let mut tx = conn.begin().await?;
    for w in writes {
        match w {
            Write::InsertTx { hash, account, nonce, bytes, status, exec_seq, batch, received_ms } => {
                let executed_ms = (*status == TX_EXECUTED).then_some(*received_ms);
                sqlx::query(
                    "INSERT INTO txs (hash, account, nonce, bytes, status, exec_seq, batch, received_ms, executed_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .bind(&hash.0[..])
                .bind(*account as i64)
                .bind(*nonce as i64)
                .bind(&bytes[..])
                .bind(*status)
                .bind(*exec_seq)
                .bind(batch.map(|b| b as i64))
                .bind(*received_ms)
                .bind(executed_ms)
                .execute(&mut *tx)
                .await?;
            }
            Write::Execute { hash, exec_seq, batch, executed_ms } => {
                sqlx::query(
                    "UPDATE txs SET status = ?2, exec_seq = ?3, batch = ?4, executed_ms = ?5 \
                     WHERE hash = ?1 AND status = ?6",
                )
                .bind(&hash.0[..])
                .bind(TX_EXECUTED)
                .bind(*exec_seq)
                .bind(*batch as i64)
                .bind(*executed_ms)
                .bind(TX_PENDING)
                .execute(&mut *tx)
                .await?;
            }
            Write::Reject { hash, reason } => {
                sqlx::query("UPDATE txs SET status = ?2, reason = ?3 WHERE hash = ?1 AND status = ?4")
                    .bind(&hash.0[..])
                    .bind(TX_REJECTED)
                    .bind(reason)
                    .bind(TX_PENDING)
                    .execute(&mut *tx)
                    .await?;
            }
            Write::DeleteRejected { hash } => {
                sqlx::query("DELETE FROM txs WHERE hash = ?1 AND status = ?2")
                    .bind(&hash.0[..])
                    .bind(TX_REJECTED)
                    .execute(&mut *tx)
                    .await?;
            }
            Write::InsertBatch { number, capacity, tx_count, old_root, new_root, sealed_ms } => {
                sqlx::query(
                    "INSERT INTO batches (number, capacity, tx_count, old_root, new_root, sealed_ms) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .bind(*number as i64)
                .bind(*capacity as i64)
                .bind(*tx_count as i64)
                .bind(&old_root[..])
                .bind(&new_root[..])
                .bind(*sealed_ms)
                .execute(&mut *tx)
                .await?;
            }
            Write::HandedOff { number } => {
                sqlx::query("UPDATE batches SET handed_off = 1 WHERE number = ?1")
                    .bind(*number as i64)
                    .execute(&mut *tx)
                    .await?;
            }
            Write::Progress { number, progress, execute_tx } => {
                sqlx::query(
                    "UPDATE batches SET proven = ?2, aggregated = ?3, finalized = ?4, \
                     execute_tx = COALESCE(?5, execute_tx) WHERE number = ?1",
                )
                .bind(*number as i64)
                .bind(progress.proven)
                .bind(progress.aggregated)
                .bind(progress.finalized)
                .bind(execute_tx.as_ref().map(|h| &h[..]))
                .execute(&mut *tx)
                .await?;
            }
            Write::Priority(PriorityRow { priority_id, hash, l1_tx, expiry_s }) => {
                sqlx::query("INSERT INTO priority_ops (priority_id, hash, l1_tx, expiry_s) VALUES (?1, ?2, ?3, ?4)")
                    .bind(*priority_id as i64)
                    .bind(&hash.0[..])
                    .bind(&l1_tx[..])
                    .bind(*expiry_s as i64)
                    .execute(&mut *tx)
                    .await?;
            }
            Write::L1Cursor { block, hash } => {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ('l1_cursor', ?1) \
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(format!("{block}:{}", hex::encode(hash)))
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    tx.commit().await
}
