//! SQLite WAL checkpoints off the request path.
//!
//! In WAL mode SQLite copies the log back into the database file in a *checkpoint*, and by
//! default the connection whose commit takes the log past 1,000 pages runs it right there,
//! including the two `fsync`s that `synchronous = NORMAL` defers to checkpoints. The commit that
//! trips it is usually the group-commit writer's ([`super::batch`]), so every request waiting
//! on that batch waited for the disk: GetCallerIdentity at concurrency 64 ran at ~12,000/s
//! with a p99 of 24-28 ms; without these checkpoints on the commit path, ~19,000/s with a p99 of
//! 7-11 ms (docs/performance.md).
//!
//! Here the pool's connections never checkpoint (`wal_autocheckpoint = 0`). One background
//! task, on its own connection, runs a `PASSIVE` checkpoint every [`INTERVAL`]: it takes no
//! lock that writers or readers wait for, so commits go on while it copies and syncs.
//!
//! A fully copied log is started over from its beginning only by a write transaction that
//! began while nothing was left to copy, which under steady writes never happens by itself. So
//! when the log is longer than [`RESTART_FRAMES`] and the last passive checkpoint copied all of
//! it, the task asks the group-commit writer ([`Restart`]) to run a `RESTART` checkpoint
//! between two batches ([`restart_log`]): it copies what the last batches added, syncs and
//! resets the log, while no other write waits behind a lock (the pool's busy handler sleeps
//! 1, 2, 5, 10... ms, which turned a checkpoint holding the write lock into stalls of up to
//! 340 ms). Should the log still pass [`TRUNCATE_FRAMES`], the task runs a `TRUNCATE`
//! checkpoint itself. Neither waits for readers (busy timeout 0): a reader still on the log
//! means another try later. Durability is unchanged: with `synchronous = NORMAL` commits become
//! durable at the next checkpoint, whoever runs it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions as _, Connection as _};

/// How often the background task checkpoints.
pub(super) const INTERVAL: Duration = Duration::from_millis(250);
/// Log size (frames) past which the task asks the writer to start the log over (`RESTART`).
pub(super) const RESTART_FRAMES: i64 = 50_000;
/// Log size (frames, one page each) past which the task runs a `TRUNCATE` checkpoint itself.
pub(super) const TRUNCATE_FRAMES: i64 = 200_000;

/// What one checkpoint did, as SQLite reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CheckpointStats {
    /// Whether the checkpoint could not finish because of a lock (`SQLITE_BUSY`).
    pub busy: bool,
    /// Frames in the log.
    pub log_frames: i64,
    /// Frames copied into the database file so far.
    pub checkpointed_frames: i64,
}

/// Runs one `PASSIVE` checkpoint on `conn`, or a `TRUNCATE` one when the log has grown past
/// [`TRUNCATE_FRAMES`] anyway.
pub(crate) async fn checkpoint_once(
    conn: &mut SqliteConnection,
) -> Result<CheckpointStats, sqlx::Error> {
    let passive = run(conn, "PRAGMA wal_checkpoint(PASSIVE)").await?;
    if passive.log_frames > TRUNCATE_FRAMES {
        return run(conn, "PRAGMA wal_checkpoint(TRUNCATE)").await;
    }
    Ok(passive)
}

/// Starts the log over, run by the group-commit writer between two batches when the
/// checkpointer asked for it ([`Restart`]): the background checkpoint has already copied
/// nearly all of the log, so this copies the rest, syncs and resets the log while no other
/// write is waiting behind a lock. It does not wait for readers (busy timeout 0 for this
/// statement): if one still reads the log, the next request tries again.
pub(crate) async fn restart_log(
    conn: &mut SqliteConnection,
) -> Result<CheckpointStats, sqlx::Error> {
    sqlx::query("PRAGMA busy_timeout = 0")
        .execute(&mut *conn)
        .await?;
    let result = run(conn, "PRAGMA wal_checkpoint(RESTART)").await;
    let restore = format!(
        "PRAGMA busy_timeout = {}",
        super::SQLITE_BUSY_TIMEOUT.as_millis()
    );
    sqlx::query(&restore).execute(&mut *conn).await?;
    result
}

/// The checkpointer's request to the group-commit writer to start the log over.
#[derive(Debug, Default)]
pub(crate) struct Restart(AtomicBool);

impl Restart {
    /// Asks for a restart (the log is long and fully copied).
    fn request(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Takes a pending request.
    pub(crate) fn take(&self) -> bool {
        self.0.swap(false, Ordering::AcqRel)
    }
}

async fn run(conn: &mut SqliteConnection, sql: &str) -> Result<CheckpointStats, sqlx::Error> {
    let (busy, log_frames, checkpointed_frames): (i64, i64, i64) =
        sqlx::query_as(sql).fetch_one(&mut *conn).await?;
    Ok(CheckpointStats {
        busy: busy != 0,
        log_frames,
        checkpointed_frames,
    })
}

/// Starts the checkpoint task for the database `opts` opens. It ends when `alive` can no longer
/// be upgraded (every clone of the store is gone). Failures are logged and retried next tick.
pub(super) fn start<T: Send + Sync + 'static>(
    opts: SqliteConnectOptions,
    alive: Weak<T>,
    restart: Arc<Restart>,
) {
    tokio::spawn(async move {
        let mut conn: Option<SqliteConnection> = None;
        let mut ticks = tokio::time::interval(INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if alive.strong_count() == 0 {
                break;
            }
            if conn.is_none() {
                match opts.clone().busy_timeout(Duration::ZERO).connect().await {
                    Ok(c) => conn = Some(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpointer cannot connect");
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            match checkpoint_once(c).await {
                Ok(stats) => {
                    tracing::trace!(?stats, "WAL checkpoint");
                    if !stats.busy
                        && stats.log_frames > RESTART_FRAMES
                        && stats.checkpointed_frames == stats.log_frames
                    {
                        restart.request();
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                    conn = None;
                }
            }
        }
        if let Some(c) = conn {
            let _ = c.close().await;
        }
    });
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Instant;

    use sqlx::sqlite::SqlitePoolOptions;

    use super::*;

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("t.db").display())
    }

    async fn one_connection(url: &str) -> SqliteConnection {
        super::super::sqlite_options(url)
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Commits of the pool never checkpoint; one `checkpoint_once` copies the whole log, after
    /// which the next commit starts the log over; past the truncate bound the file is cut to 0.
    #[tokio::test]
    async fn commits_leave_checkpoints_to_the_checkpointer() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(super::super::sqlite_options(&url).unwrap())
            .await
            .unwrap();
        let (autocheckpoint,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(autocheckpoint, 0);
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        // Each row is bigger than a page: 1,200 commits write well over SQLite's default
        // autocheckpoint threshold of 1,000 frames.
        for i in 0..1_200_i64 {
            sqlx::query("INSERT INTO t (id, v) VALUES ($1, zeroblob(5000))")
                .bind(i)
                .execute(&pool)
                .await
                .unwrap();
        }
        let mut conn = one_connection(&url).await;
        let stats = checkpoint_once(&mut conn).await.unwrap();
        assert!(
            stats.log_frames > 2_400,
            "commits checkpointed by themselves: {stats:?}"
        );
        assert_eq!(stats.checkpointed_frames, stats.log_frames, "{stats:?}");
        assert!(!stats.busy);

        // The next commit starts the log over from its beginning.
        sqlx::query("INSERT INTO t (id, v) VALUES (-1, x'00')")
            .execute(&pool)
            .await
            .unwrap();
        let stats = checkpoint_once(&mut conn).await.unwrap();
        assert!(stats.log_frames < 10, "the log did not restart: {stats:?}");

        // A log past TRUNCATE_FRAMES is truncated to nothing.
        let wal = dir.path().join("t.db-wal");
        assert!(std::fs::metadata(&wal).unwrap().len() > 0);
        let truncated = run(&mut conn, "PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
        assert!(!truncated.busy);
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 1_201);
    }

    /// The writer's restart copies what was added since the last checkpoint, starts the log
    /// over and leaves the connection's busy timeout as it was; a reader still on the log
    /// makes it give up at once instead of waiting.
    #[tokio::test]
    async fn restart_starts_the_log_over_without_waiting_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        let pool = SqlitePoolOptions::new()
            .max_connections(3)
            .connect_with(super::super::sqlite_options(&url).unwrap())
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
            .execute(&pool)
            .await
            .unwrap();
        let insert = |from: i64, rows: i64| {
            let pool = pool.clone();
            async move {
                for i in from..from + rows {
                    sqlx::query("INSERT INTO t (id, v) VALUES ($1, zeroblob(3000))")
                        .bind(i)
                        .execute(&pool)
                        .await
                        .unwrap();
                }
            }
        };
        insert(0, 100).await;
        let mut checkpointer = one_connection(&url).await;
        checkpoint_once(&mut checkpointer).await.unwrap();
        insert(100, 100).await; // not yet copied

        // A reader in the middle of a transaction on the log: the restart gives up at once.
        let mut reader = pool.acquire().await.unwrap();
        sqlx::query("BEGIN").execute(&mut *reader).await.unwrap();
        sqlx::query("SELECT count(*) FROM t")
            .fetch_one(&mut *reader)
            .await
            .unwrap();
        let mut writer = pool.acquire().await.unwrap();
        let started = Instant::now();
        let stats = restart_log(&mut writer).await.unwrap();
        assert!(stats.busy, "{stats:?}");
        assert!(started.elapsed() < Duration::from_secs(1));
        sqlx::query("COMMIT").execute(&mut *reader).await.unwrap();
        drop(reader);

        let restarted = restart_log(&mut writer).await.unwrap();
        assert!(!restarted.busy, "{restarted:?}");
        assert_eq!(restarted.checkpointed_frames, restarted.log_frames);
        let (timeout,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
            .fetch_one(&mut *writer)
            .await
            .unwrap();
        assert_eq!(timeout, 5_000);
        drop(writer);
        // Ten more rows: a log started over holds only their frames (a tenth of the hundred
        // rows' before), one carried on would hold those too.
        insert(200, 10).await;
        let stats = checkpoint_once(&mut checkpointer).await.unwrap();
        assert!(
            stats.log_frames < restarted.log_frames / 2,
            "the log did not start over: {stats:?} after {restarted:?}"
        );
        let (rows,): (i64,) = sqlx::query_as("SELECT count(*) FROM t")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 210);
    }

    #[test]
    fn a_restart_request_is_taken_once() {
        let restart = Restart::default();
        assert!(!restart.take());
        restart.request();
        restart.request();
        assert!(restart.take());
        assert!(!restart.take());
    }

    /// The store's own task moves committed rows into the database file within a few ticks: a
    /// reader of the file alone (`immutable`, which ignores the log) sees them.
    #[tokio::test]
    async fn the_store_checkpoints_in_the_background() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        let store = crate::store::Store::connect(&url).await.unwrap();
        let now = 1_000_000;
        for i in 0..50 {
            store
                .record_nonce("LTAIcheckpoint", &format!("n{i}"), now, now + 60_000)
                .await
                .unwrap();
        }
        let file_only = SqliteConnectOptions::new()
            .filename(dir.path().join("t.db"))
            .immutable(true);
        let deadline = Instant::now() + INTERVAL * 10;
        loop {
            let mut conn = file_only.connect().await.unwrap();
            // Until the first checkpoint even the tables exist only in the log.
            let n: i64 = sqlx::query_as::<_, (i64,)>(
                "SELECT count(*) FROM request_nonces WHERE access_key_id = 'LTAIcheckpoint'",
            )
            .fetch_one(&mut conn)
            .await
            .map_or(0, |(n,)| n);
            conn.close().await.unwrap();
            if n == 50 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "only {n} of 50 rows reached the database file"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        drop(store);
    }
}
