//! Merges concurrent calls for one key into one, as GeeCache's day-6
//! `singleflight` package.
//!
//! The first caller for a key (the leader) runs the work; callers that
//! arrive while it runs wait and receive a clone of the leader's result,
//! errors included. A caller that arrives after the leader finished starts a
//! new call. If the leader's future is dropped before it finishes (its client
//! went away), the waiting callers do not hang: one of them runs the work.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::Notify;

use super::keyhash::KeyMap;

/// One call in flight: its value once the leader has it, and the waiters.
struct Call<V> {
    value: OnceLock<V>,
    /// The leader ended without a value (its future was dropped).
    abandoned: AtomicBool,
    done: Notify,
}

type Calls<V> = KeyMap<Box<str>, Arc<Call<V>>>;

/// A set of calls in flight, keyed by string.
pub struct Flight<V> {
    calls: Mutex<Calls<V>>,
}

impl<V> Flight<V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Calls<V>> {
        // The map stays consistent even if a holder panicked: every critical
        // section is a single insert, lookup or remove.
        self.calls
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<V> Default for Flight<V> {
    fn default() -> Self {
        Flight {
            calls: Mutex::new(KeyMap::default()),
        }
    }
}

/// What a caller found when it reached the flight.
enum Joined<V> {
    /// A call was in flight: wait for its value.
    Waiting(Arc<Call<V>>),
    /// None was: run the work and publish its value.
    Leading(Arc<Call<V>>),
}

/// Takes a leader's entry out of the map however the leader ends, and wakes
/// the waiters: with the value, or to take over.
struct Leading<'a, V> {
    flight: &'a Flight<V>,
    key: &'a str,
    call: Arc<Call<V>>,
}

impl<V> Drop for Leading<'_, V> {
    fn drop(&mut self) {
        self.flight.lock().remove(self.key);
        if self.call.value.get().is_none() {
            self.call.abandoned.store(true, Ordering::Release);
        }
        self.call.done.notify_waiters();
    }
}

impl<V: Clone> Flight<V> {
    /// A set with no calls in flight.
    pub fn new() -> Self {
        Flight::default()
    }

    /// Runs `work` for `key` unless a call for `key` is already in flight,
    /// in which case waits for that call and returns its result.
    pub async fn run<F, Fut>(&self, key: &str, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let mut work = Some(work);
        loop {
            let call = match self.join_or_lead(key) {
                Joined::Waiting(call) => call,
                Joined::Leading(call) => {
                    let leading = Leading {
                        flight: self,
                        key,
                        call,
                    };
                    let work = work.take().expect("a caller leads at most once");
                    let value = work().await;
                    let _ = leading.call.value.set(value.clone());
                    return value;
                }
            };
            let done = call.done.notified();
            tokio::pin!(done);
            // Registered before looking, so a wake between the look and the
            // wait is not lost.
            done.as_mut().enable();
            if call.value.get().is_none() && !call.abandoned.load(Ordering::Acquire) {
                done.await;
            }
            if let Some(value) = call.value.get() {
                return value.clone();
            }
            // The leader was dropped before it finished: try again, and lead
            // if nobody else has taken over.
        }
    }

    fn join_or_lead(&self, key: &str) -> Joined<V> {
        let mut calls = self.lock();
        if let Some(call) = calls.get(key) {
            return Joined::Waiting(Arc::clone(call));
        }
        let call = Arc::new(Call {
            value: OnceLock::new(),
            abandoned: AtomicBool::new(false),
            done: Notify::new(),
        });
        calls.insert(key.into(), Arc::clone(&call));
        Joined::Leading(call)
    }

    /// The number of keys with a call in flight.
    pub fn in_flight(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_share_one_call() {
        let flight = Arc::new(Flight::<Result<String, String>>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let arrived = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Notify::new());
        let callers = 100;
        let mut tasks = Vec::new();
        for _ in 0..callers {
            let (flight, runs, arrived, gate) =
                (flight.clone(), runs.clone(), arrived.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                // Counting and joining the flight happen in one poll, so once
                // every caller has counted, every caller is in the flight.
                arrived.fetch_add(1, Ordering::SeqCst);
                flight
                    .run("key", || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        gate.notified().await;
                        Ok("value".to_string())
                    })
                    .await
            }));
        }
        while arrived.load(Ordering::SeqCst) < callers {
            tokio::task::yield_now().await;
        }
        gate.notify_one();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok("value".to_string()));
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flight.in_flight(), 0);
    }

    #[tokio::test]
    async fn errors_are_shared_too() {
        let flight = Flight::<Result<u32, String>>::new();
        let runs = AtomicUsize::new(0);
        let work = || async {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err::<u32, String>("boom".to_string())
        };
        let (a, b, c) = tokio::join!(
            flight.run("k", work),
            flight.run("k", work),
            flight.run("k", work)
        );
        assert_eq!((a.clone(), b, c), (a.clone(), a.clone(), a));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn different_keys_run_separately_and_later_calls_run_again() {
        let flight = Flight::<usize>::new();
        let runs = AtomicUsize::new(0);
        let work = || async { runs.fetch_add(1, Ordering::SeqCst) };
        let (a, b) = tokio::join!(flight.run("a", work), flight.run("b", work));
        assert_ne!(a, b);
        flight.run("a", work).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_dropped_leader_hands_over_to_a_waiter() {
        let flight = Arc::new(Flight::<&'static str>::new());
        let leader = {
            let flight = flight.clone();
            tokio::spawn(async move {
                flight
                    .run("k", || async {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        "never"
                    })
                    .await
            })
        };
        while flight.in_flight() == 0 {
            tokio::task::yield_now().await;
        }
        let follower = {
            let flight = flight.clone();
            tokio::spawn(async move { flight.run("k", || async { "follower" }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        leader.abort();
        let result = tokio::time::timeout(Duration::from_secs(5), follower)
            .await
            .expect("the follower must not hang")
            .unwrap();
        assert_eq!(result, "follower");
        assert_eq!(flight.in_flight(), 0);
    }
}
