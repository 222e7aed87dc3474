//! One shutdown signal shared by everything a process runs (the API, the workers, the worker
//! endpoints): each part waits on its own copy, and all see the same moment.

use std::future::Future;

use tokio::sync::watch;

/// A shutdown signal that any number of tasks can wait for.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Fires when `signal` resolves.
    pub fn on(signal: impl Future<Output = ()> + Send + 'static) -> Self {
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(async move {
            signal.await;
            let _ = stop.send(true);
        });
        Self(stopped)
    }

    /// Resolves once the signal has fired.
    pub fn wait(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.clone();
        async move {
            let _ = rx.wait_for(|stop| *stop).await;
        }
    }
}
