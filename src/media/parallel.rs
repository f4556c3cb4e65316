//! Ordered parallel work with a bounded window: items `0..n` are made by `workers` threads in
//! any order and handed to one consumer strictly in order, as soon as each is next. At most
//! `2 * workers` finished or running items exist at once, so memory stays bounded however many
//! items there are, and a consumer that stops early stops the workers after the items they are
//! on. Must not know about media formats, the library or MCP.

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

struct Shared<T> {
    /// The next item a worker takes.
    next_task: usize,
    /// The next item the consumer is waiting for.
    next_out: usize,
    /// Finished items not yet consumed (a worker's panic is kept as its item's result).
    done: BTreeMap<usize, std::thread::Result<T>>,
    stop: bool,
}

fn lock<T>(m: &Mutex<Shared<T>>) -> MutexGuard<'_, Shared<T>> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Makes items `0..n` with `work` on up to `workers` threads (this one consumes) and hands
/// each to `consume` in order; `consume` returns false to stop (no further item is started or
/// consumed). A panic in `work` is resumed on this thread when its item's turn comes.
pub fn ordered<T: Send>(
    n: usize,
    workers: usize,
    work: &(dyn Fn(usize) -> T + Sync),
    consume: &mut dyn FnMut(usize, T) -> bool,
) {
    let workers = workers.clamp(1, n.max(1));
    if workers == 1 {
        for i in 0..n {
            if !consume(i, work(i)) {
                return;
            }
        }
        return;
    }
    let window = 2 * workers;
    let shared = Mutex::new(Shared {
        next_task: 0,
        next_out: 0,
        done: BTreeMap::new(),
        stop: false,
    });
    let changed = Condvar::new();
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = {
                        let mut g = lock(&shared);
                        loop {
                            if g.stop || g.next_task >= n {
                                return;
                            }
                            if g.next_task < g.next_out + window {
                                break;
                            }
                            g = changed.wait(g).unwrap_or_else(PoisonError::into_inner);
                        }
                        g.next_task += 1;
                        g.next_task - 1
                    };
                    let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(i)));
                    lock(&shared).done.insert(i, made);
                    changed.notify_all();
                }
            });
        }
        let mut g = lock(&shared);
        while g.next_out < n {
            let i = g.next_out;
            let Some(made) = g.done.remove(&i) else {
                g = changed.wait(g).unwrap_or_else(PoisonError::into_inner);
                continue;
            };
            drop(g);
            let item = match made {
                Ok(item) => item,
                Err(panic) => {
                    lock(&shared).stop = true;
                    changed.notify_all();
                    std::panic::resume_unwind(panic)
                }
            };
            let go = consume(i, item);
            g = lock(&shared);
            g.next_out += 1;
            if !go {
                break;
            }
            changed.notify_all();
        }
        g.stop = true;
        drop(g);
        changed.notify_all();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn items_arrive_in_order_whatever_order_they_finish_in() {
        for workers in [1, 2, 4, 8] {
            let mut got = vec![];
            // Later items are cheaper: they finish first.
            ordered(
                40,
                workers,
                &|i| {
                    std::thread::sleep(std::time::Duration::from_micros(((40 - i) * 50) as u64));
                    i * 3
                },
                &mut |i, v| {
                    assert_eq!(v, i * 3);
                    got.push(i);
                    true
                },
            );
            assert_eq!(got, (0..40).collect::<Vec<_>>(), "{workers} workers");
        }
    }

    #[test]
    fn at_most_a_window_of_items_is_ahead_and_stopping_stops_the_workers() {
        let started = AtomicUsize::new(0);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let mut consumed = 0;
        ordered(
            1000,
            3,
            &|_| {
                started.fetch_add(1, Ordering::SeqCst);
                let r = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(r, Ordering::SeqCst);
                running.fetch_sub(1, Ordering::SeqCst);
            },
            &mut |i, ()| {
                consumed += 1;
                i < 9
            },
        );
        assert_eq!(consumed, 10);
        assert!(most.load(Ordering::SeqCst) <= 3);
        // Items 0..=9 and at most a window (6) beyond the last consumed.
        let s = started.load(Ordering::SeqCst);
        assert!((10..=16).contains(&s), "{s} started");
    }

    #[test]
    fn a_panicking_item_panics_the_consumer_at_its_turn() {
        let mut seen = vec![];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ordered(
                10,
                2,
                &|i| {
                    assert!(i != 4, "item 4 fails");
                    i
                },
                &mut |i, _| {
                    seen.push(i);
                    true
                },
            )
        }));
        assert!(r.is_err());
        assert_eq!(seen, vec![0, 1, 2, 3]);
    }
}
