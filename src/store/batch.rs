//! Group commit for the writes every request makes: request nonces, SAML assertion replay keys
//! and sign-in audit events.
//!
//! Callers hand their write to one writer task and wait for its answer. The writer takes
//! everything queued (up to [`MAX_BATCH`]), runs it as one transaction with one multi-row
//! statement per table (`INSERT ... ON CONFLICT ... DO UPDATE ... WHERE expired RETURNING`
//! tells which nonces and assertions were fresh), commits, and answers each caller. While one
//! batch commits the next one queues, so the batch size follows the load and an idle server
//! commits each write alone, at once. Nothing is answered before its commit: a nonce or an
//! assertion is refused on every replica from the moment any replica accepted it.
//!
//! SQLite has a single writer, so it gets one writer task, on a connection of its own whose page
//! cache stays warm between batches (`sqlite_writer` in the store). PostgreSQL gets [`PG_WRITERS`]: a
//! commit waits for the WAL to reach disk, and several transactions committing at once share
//! that wait (PostgreSQL's own group commit), so a second batch need not wait for the first.
//! Two batches in flight never hold the same nonce or assertion key twice within themselves;
//! across them, the database's unique keys decide (the loser sees a replay).
//!
//! Durability: on PostgreSQL these transactions run with `synchronous_commit = off`, the
//! guarantee SQLite's WAL mode with `synchronous=NORMAL` (the default backend) gives every
//! write: the commit is visible to every replica at once and survives a crash of rambridge,
//! but a crash of the database host itself can lose the last moments of recorded nonces,
//! assertion keys and audit events (PostgreSQL: at most three `wal_writer_delay`, 600 ms by
//! default). Configuration writes keep the server's setting.
//!
//! Within one batch, a second use of the same nonce (or assertion) is a replay without asking
//! the database. The expiry test of a batch uses the earliest "now" in it, which can only
//! refuse (never accept) a reuse in the few milliseconds around an entry's expiry. If a batch
//! fails, its writes are retried one by one so that each caller gets its own outcome.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use tokio::sync::{mpsc, oneshot};

use super::checkpoint::Restart;
use super::{AuditEvent, Backend, NonceOutcome, StoreError};

/// Writer tasks on PostgreSQL (SQLite: one).
pub(super) const PG_WRITERS: usize = 4;
/// Most writes taken into one transaction.
pub(super) const MAX_BATCH: usize = 512;
/// Writes waiting beyond this make callers wait to enqueue (back-pressure, bounded memory).
const QUEUE: usize = 4096;
/// Row counts of the prepared multi-row statements: a batch is split into these sizes, so
/// each backend connection caches at most a few statements per table.
const CHUNKS: [usize; 8] = [128, 64, 32, 16, 8, 4, 2, 1];
/// Audit rows carry 9 values; fewer rows per statement keep well under parameter limits.
const AUDIT_MAX_CHUNK: usize = 32;

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

enum Job {
    Nonce {
        access_key_id: String,
        nonce: String,
        now_ms: i64,
        expires_at_ms: i64,
        reply: Reply<NonceOutcome>,
    },
    Assertion {
        replay_key: String,
        now_ms: i64,
        expires_at_ms: i64,
        reply: Reply<bool>,
    },
    Audit {
        event: AuditEvent,
        reply: Reply<()>,
    },
}

/// The sending side; the task ends when every [`super::Store`] clone is gone.
#[derive(Clone)]
pub(super) struct Writer {
    tx: mpsc::Sender<Job>,
    /// The connection(s) the writer tasks use (SQLite: its own; PostgreSQL: the store's pool).
    backend: Backend,
}

/// The writer task's handle on the database (named like the store so `on_pool!` applies).
struct Pools {
    backend: Backend,
    /// SQLite: the checkpointer's requests to start the log over between batches.
    restart: Arc<Restart>,
}

fn closed() -> StoreError {
    StoreError::Backend(sqlx::Error::PoolClosed)
}

impl Writer {
    /// Starts the writer task(s) on the current Tokio runtime.
    pub(super) fn start(backend: Backend, restart: Arc<Restart>) -> Writer {
        let (tx, rx) = mpsc::channel(QUEUE);
        let writers = match backend {
            Backend::Sqlite(_) => 1,
            Backend::Postgres(_) => PG_WRITERS,
        };
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(run(
                Pools {
                    backend: backend.clone(),
                    restart: restart.clone(),
                },
                rx.clone(),
            ));
        }
        Writer { tx, backend }
    }

    #[cfg(test)]
    pub(super) fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Closes the writer's connections (graceful shutdown; later writes fail).
    pub(super) async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    async fn submit<T>(&self, job: impl FnOnce(Reply<T>) -> Job) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send(job(reply)).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }

    pub(super) async fn record_nonce(
        &self,
        access_key_id: &str,
        nonce: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<NonceOutcome, StoreError> {
        self.submit(|reply| Job::Nonce {
            access_key_id: access_key_id.to_string(),
            nonce: nonce.to_string(),
            now_ms,
            expires_at_ms,
            reply,
        })
        .await
    }

    pub(super) async fn record_assertion(
        &self,
        replay_key: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<bool, StoreError> {
        self.submit(|reply| Job::Assertion {
            replay_key: replay_key.to_string(),
            now_ms,
            expires_at_ms,
            reply,
        })
        .await
    }

    pub(super) async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.submit(|reply| Job::Audit {
            event: event.clone(),
            reply,
        })
        .await
    }
}

/// One writer: take what is queued (waiting while another writer takes its batch), write it,
/// answer, repeat; ends when every sender is gone.
async fn run(pools: Pools, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(MAX_BATCH);
    loop {
        let n = rx.lock().await.recv_many(&mut jobs, MAX_BATCH).await;
        if n == 0 {
            return;
        }
        execute(&pools, std::mem::take(&mut jobs)).await;
        if let Backend::Sqlite(pool) = &pools.backend
            && pools.restart.take()
        {
            restart_log(pool).await;
        }
    }
}

/// Starts the SQLite log over (see [`super::checkpoint`]); a failure only means a later try.
async fn restart_log(pool: &sqlx::SqlitePool) {
    let result = match pool.acquire().await {
        Ok(mut conn) => {
            let result = super::checkpoint::restart_log(&mut conn).await;
            if result.is_err() {
                // Its busy timeout may not have been restored: never reuse it.
                conn.close_on_drop();
            }
            result
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(stats) => tracing::trace!(?stats, "WAL restart"),
        Err(e) => tracing::debug!(error = %e, "WAL restart failed"),
    }
}

struct NonceRow {
    access_key_id: String,
    nonce: String,
    expires_at_ms: i64,
    reply: Reply<NonceOutcome>,
    now_ms: i64,
}

struct AssertionRow {
    replay_key: String,
    expires_at_ms: i64,
    reply: Reply<bool>,
    now_ms: i64,
}

/// One batch: duplicates answered at once, the rest written together.
async fn execute(pools: &Pools, jobs: Vec<Job>) {
    let mut nonces: Vec<NonceRow> = Vec::new();
    let mut assertions: Vec<AssertionRow> = Vec::new();
    let mut audits: Vec<(AuditEvent, Reply<()>)> = Vec::new();
    let mut seen_nonces: HashSet<(String, String)> = HashSet::new();
    let mut seen_assertions: HashSet<String> = HashSet::new();
    for job in jobs {
        match job {
            Job::Nonce {
                access_key_id,
                nonce,
                now_ms,
                expires_at_ms,
                reply,
            } => {
                if !seen_nonces.insert((access_key_id.clone(), nonce.clone())) {
                    let _ = reply.send(Ok(NonceOutcome::Replayed));
                    continue;
                }
                nonces.push(NonceRow {
                    access_key_id,
                    nonce,
                    expires_at_ms,
                    reply,
                    now_ms,
                });
            }
            Job::Assertion {
                replay_key,
                now_ms,
                expires_at_ms,
                reply,
            } => {
                if !seen_assertions.insert(replay_key.clone()) {
                    let _ = reply.send(Ok(false));
                    continue;
                }
                assertions.push(AssertionRow {
                    replay_key,
                    expires_at_ms,
                    reply,
                    now_ms,
                });
            }
            Job::Audit { event, reply } => audits.push((event, reply)),
        }
    }
    match write_all(pools, &nonces, &assertions, &audits).await {
        Ok((fresh_nonces, fresh_assertions)) => {
            for n in nonces {
                let fresh = fresh_nonces.contains(&(n.access_key_id, n.nonce));
                let _ = n.reply.send(Ok(if fresh {
                    NonceOutcome::Fresh
                } else {
                    NonceOutcome::Replayed
                }));
            }
            for a in assertions {
                let _ = a.reply.send(Ok(fresh_assertions.contains(&a.replay_key)));
            }
            for (_, reply) in audits {
                let _ = reply.send(Ok(()));
            }
        }
        Err(e) => {
            tracing::debug!(error = %e, "batched write failed; writing one by one");
            for n in nonces {
                let r = one_nonce(pools, &n).await;
                let _ = n.reply.send(r);
            }
            for a in assertions {
                let r = one_assertion(pools, &a).await;
                let _ = a.reply.send(r);
            }
            for (event, reply) in audits {
                let _ = reply.send(one_audit(pools, &event).await);
            }
        }
    }
}

/// Splits `n` rows into the prepared statement sizes (largest first), at most `max` each.
fn chunk_sizes(mut n: usize, max: usize) -> Vec<usize> {
    let mut out = Vec::new();
    for size in CHUNKS {
        if size > max {
            continue;
        }
        while n >= size {
            out.push(size);
            n -= size;
        }
    }
    out
}

fn values(rows: usize, columns: usize) -> String {
    let mut s = String::new();
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..columns {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("${}", r * columns + c + 1));
        }
        s.push(')');
    }
    s
}

fn sql_by_size(make: impl Fn(usize) -> String) -> Vec<(usize, String)> {
    CHUNKS.iter().map(|&n| (n, make(n))).collect()
}

fn sql_for(table: &'static [(usize, String)], n: usize) -> &'static str {
    table
        .iter()
        .find(|(size, _)| *size == n)
        .map_or("", |(_, sql)| sql.as_str())
}

static NONCE_SQL: LazyLock<Vec<(usize, String)>> = LazyLock::new(|| {
    sql_by_size(|n| {
        format!(
            "INSERT INTO request_nonces (access_key_id, nonce, expires_at) VALUES {} \
             ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE request_nonces.expires_at <= ${} RETURNING access_key_id, nonce",
            values(n, 3),
            n * 3 + 1
        )
    })
});

static ASSERTION_SQL: LazyLock<Vec<(usize, String)>> = LazyLock::new(|| {
    sql_by_size(|n| {
        format!(
            "INSERT INTO saml_assertions_used (replay_key, expires_at) VALUES {} \
             ON CONFLICT (replay_key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE saml_assertions_used.expires_at <= ${} RETURNING replay_key",
            values(n, 2),
            n * 2 + 1
        )
    })
});

static AUDIT_SQL: LazyLock<Vec<(usize, String)>> = LazyLock::new(|| {
    sql_by_size(|n| {
        format!(
            "INSERT INTO signin_audit (id, account_id, at, event, provider, subject, outcome, \
             reason, source_ip) VALUES {}",
            values(n, 9)
        )
    })
});

type Fresh = (HashSet<(String, String)>, HashSet<String>);

/// Writes a deduplicated batch in one transaction; returns the fresh nonces and assertions.
async fn write_all(
    pools: &Pools,
    nonces: &[NonceRow],
    assertions: &[AssertionRow],
    audits: &[(AuditEvent, Reply<()>)],
) -> Result<Fresh, StoreError> {
    let mut fresh_nonces = HashSet::new();
    let mut fresh_assertions = HashSet::new();
    let nonce_now = nonces.iter().map(|n| n.now_ms).min().unwrap_or(0);
    let assertion_now = assertions.iter().map(|a| a.now_ms).min().unwrap_or(0);
    on_pool!(pools, pool => {
        let mut tx = pool.begin().await?;
        if let Backend::Postgres(_) = pools.backend {
            // The durability SQLite's WAL with synchronous=NORMAL gives these writes: the
            // commit is not held until the WAL reaches disk (module documentation).
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        }
        let mut rest = nonces;
        for size in chunk_sizes(nonces.len(), 128) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let mut q = sqlx::query_as::<_, (String, String)>(sql_for(&NONCE_SQL, size));
            for n in chunk {
                q = q.bind(&n.access_key_id).bind(&n.nonce).bind(n.expires_at_ms);
            }
            for row in q.bind(nonce_now).fetch_all(&mut *tx).await? {
                fresh_nonces.insert(row);
            }
        }
        let mut rest = assertions;
        for size in chunk_sizes(assertions.len(), 128) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let mut q = sqlx::query_as::<_, (String,)>(sql_for(&ASSERTION_SQL, size));
            for a in chunk {
                q = q.bind(&a.replay_key).bind(a.expires_at_ms);
            }
            for (key,) in q.bind(assertion_now).fetch_all(&mut *tx).await? {
                fresh_assertions.insert(key);
            }
        }
        let mut rest = audits;
        for size in chunk_sizes(audits.len(), AUDIT_MAX_CHUNK) {
            let (chunk, tail) = rest.split_at(size);
            rest = tail;
            let mut q = sqlx::query(sql_for(&AUDIT_SQL, size));
            for (e, _) in chunk {
                q = q.bind(&e.id).bind(&e.account_id).bind(e.at).bind(&e.event)
                    .bind(&e.provider).bind(&e.subject).bind(&e.outcome).bind(&e.reason)
                    .bind(&e.source_ip);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
    });
    Ok((fresh_nonces, fresh_assertions))
}

async fn one_nonce(pools: &Pools, n: &NonceRow) -> Result<NonceOutcome, StoreError> {
    // One statement: insert, or take over an expired row. Zero rows affected means an
    // unexpired row exists, i.e. a replay. Atomic on both backends.
    let affected = on_pool!(pools, pool => {
        sqlx::query(
            "INSERT INTO request_nonces (access_key_id, nonce, expires_at) \
             VALUES ($1, $2, $3) \
             ON CONFLICT (access_key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE request_nonces.expires_at <= $4",
        )
        .bind(&n.access_key_id)
        .bind(&n.nonce)
        .bind(n.expires_at_ms)
        .bind(n.now_ms)
        .execute(pool)
        .await?
        .rows_affected()
    });
    Ok(if affected > 0 {
        NonceOutcome::Fresh
    } else {
        NonceOutcome::Replayed
    })
}

async fn one_assertion(pools: &Pools, a: &AssertionRow) -> Result<bool, StoreError> {
    let n = on_pool!(pools, pool => {
        sqlx::query(
            "INSERT INTO saml_assertions_used (replay_key, expires_at) VALUES ($1, $2) \
             ON CONFLICT (replay_key) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE saml_assertions_used.expires_at <= $3",
        )
        .bind(&a.replay_key).bind(a.expires_at_ms).bind(a.now_ms)
        .execute(pool).await?.rows_affected()
    });
    Ok(n > 0)
}

async fn one_audit(pools: &Pools, e: &AuditEvent) -> Result<(), StoreError> {
    on_pool!(pools, pool => {
        sqlx::query(
            "INSERT INTO signin_audit (id, account_id, at, event, provider, subject, outcome, reason, source_ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&e.id).bind(&e.account_id).bind(e.at).bind(&e.event).bind(&e.provider)
        .bind(&e.subject).bind(&e.outcome).bind(&e.reason).bind(&e.source_ip)
        .execute(pool).await?;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_row_with_prepared_sizes() {
        for n in 0..=MAX_BATCH {
            let sizes = chunk_sizes(n, 128);
            assert_eq!(sizes.iter().sum::<usize>(), n);
            assert!(sizes.iter().all(|s| CHUNKS.contains(s)));
            assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
        }
        assert!(chunk_sizes(100, AUDIT_MAX_CHUNK).iter().all(|&s| s <= 32));
        assert_eq!(chunk_sizes(100, AUDIT_MAX_CHUNK).iter().sum::<usize>(), 100);
    }

    #[test]
    fn statements_number_their_placeholders_in_order() {
        assert_eq!(values(2, 3), "($1, $2, $3), ($4, $5, $6)");
        let sql = sql_for(&NONCE_SQL, 2);
        assert!(sql.contains("($4, $5, $6)"), "{sql}");
        assert!(sql.contains("<= $7 RETURNING"), "{sql}");
        assert!(sql_for(&ASSERTION_SQL, 1).contains("VALUES ($1, $2)"));
        assert!(sql_for(&AUDIT_SQL, 1).ends_with("($1, $2, $3, $4, $5, $6, $7, $8, $9)"));
    }
}
