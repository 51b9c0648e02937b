//! The task that keeps the book of alerts that hold: it takes the run's fire and resolve
//! calls, hands each channel its messages, wakes for repeats, and folds what overflowed the
//! queue into one digest per channel.

use super::book::{Book, Outgoing};
use super::channel::{ChannelSetup, Worker};
use super::message::Message;
use super::{Alert, Delivery};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// What the run asks of the dispatcher.
pub(crate) enum Command {
    /// An alert holds.
    Fire(Alert),
    /// An alert no longer holds.
    Resolve(String),
    /// Answer once everything before has been handed to the channels.
    Flush(oneshot::Sender<()>),
}

/// What found the queue full, in order of keys (one entry per key: the last word wins).
#[derive(Default)]
pub(crate) struct Overflow {
    fires: Vec<Alert>,
    resolves: Vec<String>,
}

impl Overflow {
    /// `alert` fired while the queue was full.
    pub(crate) fn fire(&mut self, alert: Alert) {
        self.resolves.retain(|k| *k != alert.key);
        self.fires.retain(|a| a.key != alert.key);
        self.fires.push(alert);
    }

    /// `key` resolved while the queue was full.
    pub(crate) fn resolve(&mut self, key: &str) {
        self.fires.retain(|a| a.key != key);
        if !self.resolves.iter().any(|k| k == key) {
            self.resolves.push(key.to_string());
        }
    }
}

/// Starts the dispatcher and one delivery task per channel on `runtime`.
pub(crate) fn spawn(
    runtime: &tokio::runtime::Handle,
    channels: Vec<ChannelSetup>,
    run: &str,
    rx: mpsc::Receiver<Command>,
    delivery: Arc<Delivery>,
) {
    let repeats = channels.iter().map(|c| c.repeat).collect();
    let mut senders = Vec::new();
    for (slot, setup) in channels.into_iter().enumerate() {
        let (tx, worker_rx) = mpsc::unbounded_channel();
        senders.push(tx);
        let worker = Worker {
            slot,
            setup,
            delivery: Arc::clone(&delivery),
            rx: worker_rx,
        };
        runtime.spawn(worker.run());
    }
    let dispatcher = Dispatcher {
        run: run.to_string(),
        book: Book::new(repeats),
        senders,
        delivery,
    };
    runtime.spawn(dispatcher.run(rx));
}

struct Dispatcher {
    run: String,
    book: Book,
    senders: Vec<mpsc::UnboundedSender<Message>>,
    delivery: Arc<Delivery>,
}

impl Dispatcher {
    async fn run(mut self, mut rx: mpsc::Receiver<Command>) {
        loop {
            let next = self.book.next_due();
            tokio::select! {
                command = rx.recv() => match command {
                    Some(c) => self.handle(c),
                    None => return,
                },
                () = self.delivery.wake.notified() => {
                    // What is queued came before what overflowed.
                    while let Ok(c) = rx.try_recv() {
                        self.handle(c);
                    }
                    self.fold_overflow();
                }
                () = sleep_until(next), if next.is_some() => {
                    for o in self.book.due(Instant::now()) {
                        self.hand(&o);
                    }
                }
            }
        }
    }

    fn handle(&mut self, command: Command) {
        match command {
            Command::Fire(alert) => {
                let (out, _) = self.book.fire(alert, Instant::now());
                out.iter().for_each(|o| self.hand(o));
            }
            Command::Resolve(key) => {
                let out = self.book.resolve(&key);
                out.iter().for_each(|o| self.hand(o));
            }
            Command::Flush(done) => {
                let _ = done.send(());
            }
        }
    }

    /// Hands `o` to its channel.
    fn hand(&self, o: &Outgoing) {
        let mut msg = Message::of(&self.run, &o.alert, o.state, crate::timefmt::now_secs());
        if o.repeat {
            msg.body
                .push_str("\n(still holding: repeated until it resolves)");
        }
        self.send(o.channel, msg);
    }

    fn send(&self, channel: usize, msg: Message) {
        if let Some(tx) = self.senders.get(channel) {
            self.delivery.outstanding.fetch_add(1, Ordering::SeqCst);
            if tx.send(msg).is_err() {
                self.delivery.outstanding.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// What overflowed the queue, applied to the book; each channel gets what it is to be told
    /// as one message (a digest when more than one).
    fn fold_overflow(&mut self) {
        let Overflow { fires, resolves } = std::mem::take(&mut *self.delivery.overflow());
        let now = Instant::now();
        let mut out: Vec<Outgoing> = Vec::new();
        for alert in fires {
            out.extend(self.book.fire(alert, now).0);
        }
        for key in resolves {
            out.extend(self.book.resolve(&key));
        }
        let at = crate::timefmt::now_secs();
        for channel in 0..self.senders.len() {
            let msgs: Vec<Message> = out
                .iter()
                .filter(|o| o.channel == channel)
                .map(|o| Message::of(&self.run, &o.alert, o.state, at))
                .collect();
            match msgs.as_slice() {
                [] => {}
                [one] => self.send(channel, one.clone()),
                many => self.send(channel, Message::digest(many, "the alert queue was full")),
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}
