use super::*;
use std::future::Future;
use std::pin::pin;
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::task::{Context, Waker};
use tokio::sync::oneshot;

/// What the test layer is asked to do.
enum TestOp {
    /// Insert a row; the reply says whether its batch was committed.
    Put(i64, Option<oneshot::Sender<bool>>),
    /// Hold the writer inside a batch: say so, then wait until released.
    Gate(oneshot::Sender<()>, std_mpsc::Receiver<()>),
    /// Fail the batch.
    Fail,
}

/// What the test layer saw.
#[derive(Default)]
struct Log {
    /// Operations per committed batch.
    sizes: Vec<usize>,
    /// At every publish: rows committed so far, rows another connection can see.
    published: Vec<(i64, i64)>,
}

struct Layer {
    reader: Connection,
    in_batch: usize,
    pending: i64,
    total: i64,
    survive: bool,
    log: Arc<Mutex<Log>>,
}

impl Apply for Layer {
    type Op = TestOp;

    fn apply(
        &mut self,
        tx: &Transaction<'_>,
        op: TestOp,
        replies: &mut Vec<Reply>,
    ) -> rusqlite::Result<()> {
        self.in_batch += 1;
        match op {
            TestOp::Put(v, ack) => {
                tx.execute("INSERT INTO t (v) VALUES (?1)", [v])?;
                self.pending += 1;
                if let Some(ack) = ack {
                    replies.push(Box::new(move |outcome| {
                        let _ = ack.send(outcome.is_ok());
                    }));
                }
            }
            TestOp::Gate(entered, release) => {
                let _ = entered.send(());
                let _ = release.recv();
            }
            TestOp::Fail => {
                tx.execute("INSERT INTO missing (v) VALUES (1)", [])?;
            }
        }
        Ok(())
    }

    fn before_commit(&mut self, _tx: &Transaction<'_>) -> rusqlite::Result<()> {
        self.log.lock().unwrap().sizes.push(self.in_batch);
        self.in_batch = 0;
        Ok(())
    }

    fn publish(&mut self) {
        self.total += self.pending;
        self.pending = 0;
        let visible: i64 = self
            .reader
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        self.log
            .lock()
            .unwrap()
            .published
            .push((self.total, visible));
    }

    fn survives(&mut self, _error: &rusqlite::Error) -> bool {
        self.in_batch = 0;
        self.pending = 0;
        self.survive
    }
}

struct Rig {
    _dir: tempfile::TempDir,
    writer: BatchWriter<TestOp>,
    log: Arc<Mutex<Log>>,
}

fn rig(bounds: BatchBounds, survive: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batch.db");
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.execute("CREATE TABLE t (v INTEGER)", []).unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let layer = Layer {
        reader: Connection::open(&path).unwrap(),
        in_batch: 0,
        pending: 0,
        total: 0,
        survive,
        log: Arc::clone(&log),
    };
    let writer = BatchWriter::start("test", conn, layer, bounds).unwrap();
    Rig {
        _dir: dir,
        writer,
        log,
    }
}

fn bounds(capacity: usize, max_batch: usize) -> BatchBounds {
    BatchBounds {
        capacity,
        max_batch,
        max_delay: Duration::from_secs(60),
    }
}

/// Holds the writer inside a batch; the returned sender releases it.
async fn hold(tx: &Sender<TestOp>) -> std_mpsc::Sender<()> {
    let (entered, inside) = oneshot::channel();
    let (release, wait) = std_mpsc::channel();
    tx.send(TestOp::Gate(entered, wait)).await.unwrap();
    inside.await.unwrap();
    release
}

fn rows(conn: &Connection) -> Vec<i64> {
    let mut stmt = conn.prepare("SELECT v FROM t ORDER BY rowid").unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn queued_operations_commit_in_batches_of_at_most_max_batch() {
    let rig = rig(bounds(64, 4), false);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    for v in 0..10 {
        tx.send(TestOp::Put(v, None)).await.unwrap();
    }
    release.send(()).unwrap();
    let conn = rig.writer.finish().await.unwrap();
    assert_eq!(rows(&conn), (0..10).collect::<Vec<_>>());
    // The gate and the first three puts, then four, then the last three.
    assert_eq!(rig.log.lock().unwrap().sizes, [4, 4, 3]);
}

#[tokio::test]
async fn a_full_channel_makes_the_producer_wait_until_the_writer_drains() {
    let rig = rig(bounds(2, 8), false);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    tx.send(TestOp::Put(0, None)).await.unwrap();
    tx.send(TestOp::Put(1, None)).await.unwrap();
    assert_eq!(tx.tx.capacity(), 0, "the queue is full");
    let mut third = pin!(tx.send(TestOp::Put(2, None)));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        third.as_mut().poll(&mut cx).is_pending(),
        "the producer waits while the writer is behind"
    );
    release.send(()).unwrap();
    third.await.unwrap();
    let conn = rig.writer.finish().await.unwrap();
    assert_eq!(rows(&conn), [0, 1, 2]);
}

#[tokio::test]
async fn publish_and_replies_come_after_the_commit() {
    let rig = rig(bounds(64, 3), false);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    let mut acks = Vec::new();
    for v in 0..7 {
        let (ack, acked) = oneshot::channel();
        tx.send(TestOp::Put(v, Some(ack))).await.unwrap();
        acks.push(acked);
    }
    release.send(()).unwrap();
    for acked in acks {
        assert!(acked.await.unwrap(), "the reply says committed");
    }
    rig.writer.finish().await.unwrap();
    let log = rig.log.lock().unwrap();
    assert_eq!(log.published.len(), 3);
    for (committed, visible) in &log.published {
        assert_eq!(
            committed, visible,
            "another connection sees what is published"
        );
    }
    assert_eq!(log.published.last(), Some(&(7, 7)));
}

#[tokio::test]
async fn finish_commits_everything_queued_before_it() {
    let rig = rig(bounds(64, 5), false);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    for v in 0..20 {
        tx.send(TestOp::Put(v, None)).await.unwrap();
    }
    let finished = tokio::spawn(rig.writer.finish());
    release.send(()).unwrap();
    let conn = finished.await.unwrap().unwrap();
    assert_eq!(rows(&conn), (0..20).collect::<Vec<_>>());
    assert!(matches!(
        tx.send(TestOp::Put(99, None)).await,
        Err(WriterError::Stopped("test"))
    ));
}

#[tokio::test]
async fn a_failed_batch_is_rolled_back_and_stops_the_writer() {
    let rig = rig(bounds(64, 8), false);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    let (ack, acked) = oneshot::channel();
    tx.send(TestOp::Put(1, Some(ack))).await.unwrap();
    tx.send(TestOp::Fail).await.unwrap();
    release.send(()).unwrap();
    assert!(!acked.await.unwrap(), "the reply says rolled back");
    let writer = rig.writer;
    let ended = writer.finish().await;
    assert!(matches!(ended, Err(WriterError::Sql { name: "test", .. })));
    assert!(matches!(
        tx.send(TestOp::Put(2, None)).await,
        Err(WriterError::Stopped(_))
    ));
}

#[tokio::test]
async fn a_writer_that_survives_errors_goes_on_after_a_failed_batch() {
    let rig = rig(bounds(64, 8), true);
    let tx = rig.writer.sender();
    let release = hold(&tx).await;
    tx.send(TestOp::Put(1, None)).await.unwrap();
    tx.send(TestOp::Fail).await.unwrap();
    release.send(()).unwrap();
    let (ack, acked) = oneshot::channel();
    tx.send(TestOp::Put(2, Some(ack))).await.unwrap();
    assert!(acked.await.unwrap());
    drop(tx);
    let conn = rig.writer.detach().join().unwrap();
    assert_eq!(rows(&conn), [2]);
}

#[test]
fn a_thread_outside_the_runtime_sends_and_finishes_blocking() {
    let rig = rig(bounds(4, 2), false);
    let tx = rig.writer.sender();
    for v in 0..9 {
        tx.blocking_send(TestOp::Put(v, None)).unwrap();
    }
    let conn = rig.writer.finish_blocking().unwrap();
    assert_eq!(rows(&conn), (0..9).collect::<Vec<_>>());
}
