//! Which alerts hold and when each channel hears of them again: an alert fires once when it
//! starts, repeats on each channel every `repeat` of that channel while it holds, and resolves
//! once. Time is tokio's, so the tests run on a paused clock.

use super::message::State;
use super::Alert;
use std::collections::BTreeMap;
use tokio::time::{Duration, Instant};

/// What a channel is to be told.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Outgoing {
    /// The channel (its index).
    pub(crate) channel: usize,
    /// Firing (first or again) or resolved.
    pub(crate) state: State,
    /// The alert as last fired.
    pub(crate) alert: Alert,
    /// A repeat of one still holding.
    pub(crate) repeat: bool,
}

/// One alert that holds.
struct Held {
    alert: Alert,
    /// When each channel was last told.
    told: Vec<Instant>,
}

/// The alerts that hold.
pub(crate) struct Book {
    /// Each channel's time between repeats.
    repeats: Vec<Duration>,
    held: BTreeMap<String, Held>,
}

impl Book {
    /// A book for channels repeating every `repeats[i]`.
    pub(crate) fn new(repeats: Vec<Duration>) -> Book {
        Book {
            repeats,
            held: BTreeMap::new(),
        }
    }

    /// `alert` holds: every channel is told if it is new; if it already held, only its text is
    /// kept (the numbers change) for the next repeat. Also says whether it was new.
    pub(crate) fn fire(&mut self, alert: Alert, now: Instant) -> (Vec<Outgoing>, bool) {
        if let Some(h) = self.held.get_mut(&alert.key) {
            h.alert = alert;
            return (Vec::new(), false);
        }
        let out = self.to_all(&alert, State::Firing, false);
        // News (the import finished): told once, never held, repeated or resolved.
        if alert.severity == super::Severity::Info {
            return (out, true);
        }
        let told = vec![now; self.repeats.len()];
        self.held.insert(alert.key.clone(), Held { alert, told });
        (out, true)
    }

    /// `key` no longer holds: every channel is told once, if it held.
    pub(crate) fn resolve(&mut self, key: &str) -> Vec<Outgoing> {
        match self.held.remove(key) {
            Some(h) => self.to_all(&h.alert, State::Resolved, false),
            None => Vec::new(),
        }
    }

    /// The repeats due at `now` (each channel's clock restarts when told).
    pub(crate) fn due(&mut self, now: Instant) -> Vec<Outgoing> {
        let mut out = Vec::new();
        for h in self.held.values_mut() {
            for (channel, told) in h.told.iter_mut().enumerate() {
                if now >= *told + self.repeats[channel] {
                    *told = now;
                    out.push(Outgoing {
                        channel,
                        state: State::Firing,
                        alert: h.alert.clone(),
                        repeat: true,
                    });
                }
            }
        }
        out
    }

    /// When the next repeat falls due, if anything holds.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.held
            .values()
            .flat_map(|h| h.told.iter().zip(&self.repeats).map(|(t, r)| *t + *r))
            .min()
    }

    fn to_all(&self, alert: &Alert, state: State, repeat: bool) -> Vec<Outgoing> {
        (0..self.repeats.len())
            .map(|channel| Outgoing {
                channel,
                state,
                alert: alert.clone(),
                repeat,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Severity;

    fn alert(key: &str, body: &str) -> Alert {
        Alert {
            key: key.into(),
            severity: Severity::Warning,
            title: key.into(),
            body: body.into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn news_is_told_once_and_never_held() {
        let mut book = Book::new(vec![Duration::from_secs(60)]);
        let news = Alert {
            severity: Severity::Info,
            ..alert("import_done", "done")
        };
        let (out, new) = book.fire(news.clone(), Instant::now());
        assert_eq!((out.len(), new), (1, true));
        assert_eq!(book.next_due(), None, "nothing held, nothing repeats");
        assert!(book.resolve("import_done").is_empty());
        assert_eq!(
            book.fire(news, Instant::now()).0.len(),
            1,
            "told again if it happens again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn fire_repeat_while_it_holds_then_resolve_once() {
        let min = Duration::from_secs(60);
        let mut book = Book::new(vec![30 * min, 60 * min]);
        let t0 = Instant::now();
        let (out, new) = book.fire(alert("paused", "1"), t0);
        assert!(new);
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| o.state == State::Firing && !o.repeat));
        // Fired again while it holds: nothing now, the newer text kept.
        let (again, new) = book.fire(alert("paused", "2"), Instant::now());
        assert!(again.is_empty() && !new);
        assert_eq!(book.next_due(), Some(t0 + 30 * min));

        tokio::time::advance(29 * min).await;
        assert!(book.due(Instant::now()).is_empty());
        tokio::time::advance(min).await;
        let due = book.due(Instant::now());
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].channel, due[0].repeat), (0, true));
        assert_eq!(due[0].alert.body, "2");
        tokio::time::advance(30 * min).await;
        let due = book.due(Instant::now());
        let channels: Vec<usize> = due.iter().map(|o| o.channel).collect();
        assert_eq!(channels, vec![0, 1]);

        let out = book.resolve("paused");
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|o| o.state == State::Resolved));
        assert!(book.resolve("paused").is_empty());
        assert_eq!(book.next_due(), None);
        tokio::time::advance(120 * min).await;
        assert!(book.due(Instant::now()).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn resolving_what_never_fired_says_nothing() {
        let mut book = Book::new(vec![Duration::from_secs(60)]);
        assert!(book.resolve("window_overrun").is_empty());
        let (out, _) = book.fire(alert("a", ""), Instant::now());
        assert_eq!(out.len(), 1);
        // Fires again after resolving: new again.
        book.resolve("a");
        assert!(book.fire(alert("a", ""), Instant::now()).1);
    }
}
