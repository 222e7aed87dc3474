//! Coalesces the API's "dispatch the new events" kicks, so that a burst of writes queues a
//! couple of dispatch jobs instead of one per write.
//!
//! The first kick pushes at once; kicks that arrive while that push is under way or during the
//! short window after it are folded into one more push at the end of the window. Nothing is
//! lost: a folded kick's events were committed before the kick, so before the trailing push,
//! so before the job it queues reads the outbox. (The outbox relay still catches a push that
//! fails.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Notify;

/// How long kicks are folded after a push.
pub const WINDOW: Duration = Duration::from_millis(50);

/// Pushes one dispatch job.
pub type Push = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

#[derive(Debug, Default)]
struct State {
    /// A push loop is running.
    busy: bool,
    /// A kick arrived since the loop's last push.
    again: bool,
}

/// The coalescer (one per process).
pub struct Kicker {
    state: Mutex<State>,
    idle: Notify,
    window: Duration,
    push: Push,
}

impl std::fmt::Debug for Kicker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kicker").field("window", &self.window).finish_non_exhaustive()
    }
}

impl Kicker {
    /// A coalescer that calls `push` at most once per `window` (plus the first call).
    pub fn new(window: Duration, push: Push) -> Arc<Self> {
        Arc::new(Self { state: Mutex::default(), idle: Notify::new(), window, push })
    }

    /// Asks for a dispatch without waiting for it.
    pub fn kick(self: &Arc<Self>) {
        {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.busy {
                state.again = true;
                return;
            }
            state.busy = true;
        }
        let this = Arc::clone(self);
        tokio::spawn(async move { this.run().await });
    }

    async fn run(&self) {
        loop {
            (self.push)().await;
            tokio::time::sleep(self.window).await;
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.again {
                state.again = false;
                continue;
            }
            state.busy = false;
            self.idle.notify_waiters();
            return;
        }
    }

    /// Waits until every kick so far has been pushed (tests, shutdown).
    pub async fn settled(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if !self.state.lock().unwrap_or_else(|p| p.into_inner()).busy {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn counting() -> (Arc<AtomicU32>, Push) {
        let pushes = Arc::new(AtomicU32::new(0));
        let counter = Arc::clone(&pushes);
        let push: Push = Arc::new(move || {
            let counter = Arc::clone(&counter);
            Box::pin(async move {
                counter.fetch_add(1, Ordering::SeqCst);
            })
        });
        (pushes, push)
    }

    // current_thread: the hundred kicks all happen before the push loop first runs.
    #[tokio::test(flavor = "current_thread")]
    async fn a_burst_of_kicks_pushes_once_now_and_once_after_the_window() {
        let (pushes, push) = counting();
        let kicker = Kicker::new(Duration::from_millis(5), push);
        for _ in 0..100 {
            kicker.kick();
        }
        kicker.settled().await;
        assert_eq!(pushes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_lone_kick_pushes_once_and_a_later_kick_pushes_again() {
        let (pushes, push) = counting();
        let kicker = Kicker::new(Duration::from_millis(5), push);
        kicker.kick();
        kicker.settled().await;
        assert_eq!(pushes.load(Ordering::SeqCst), 1);
        kicker.kick();
        kicker.settled().await;
        assert_eq!(pushes.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn settled_returns_at_once_when_nothing_was_kicked() {
        let (pushes, push) = counting();
        Kicker::new(Duration::from_millis(5), push).settled().await;
        assert_eq!(pushes.load(Ordering::SeqCst), 0);
    }
}
