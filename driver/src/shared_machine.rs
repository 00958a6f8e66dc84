//! [`SharedMachine`] (feature `std`): one client machine shared by every thread and
//! task of a client, and the one way hosts share it.
//!
//! The machine sits behind a lock, held only while it steps; each caller steps its
//! own operation and does that operation's I/O outside the lock. An operation
//! waiting for a token ([`Step::AwaitToken`]) is woken by the machine when another
//! operation's token answer ends the wait: a thread blocks on a condition variable
//! tied to the lock ([`wait_woken`](SharedMachine::wait_woken), so no wake is lost
//! between its check and its wait), a task registers its waker
//! ([`poll_woken`](SharedMachine::poll_woken)), and a host with its own event loop
//! drains the woken operations ([`take_woken`](SharedMachine::take_woken)). Time is
//! one monotonic clock that starts with the machine.

extern crate std;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use vpc_imds_core::error::Error;
use vpc_imds_core::operation::Args;
use vpc_imds_core::time::Instant;

use crate::by_name::NamedArgs;
use crate::machine::{ConnId, Input, OpId, Step, SyncMachine};
use crate::settings::DriverConfig;

/// One client machine for many threads and tasks (see the module docs).
pub struct SharedMachine {
    state: Mutex<State>,
    woken: Condvar,
    origin: std::time::Instant,
    /// Milliseconds added to the clock (tests make time pass with it).
    skew: AtomicU64,
    /// A fixed clock in milliseconds (the test vectors'); `u64::MAX`: none.
    fixed: AtomicU64,
}

/// The machine and who waits for it. A client has a handful of operations in
/// flight, so the lists are searched, not hashed.
struct State {
    machine: SyncMachine,
    /// Operations the machine woke that have not stepped since.
    woken: Vec<OpId>,
    /// Tasks waiting for their operation to be woken.
    wakers: Vec<(OpId, Waker)>,
}

impl State {
    /// Forgets `op`'s wake and waker; whether it had been woken.
    fn forget(&mut self, op: OpId) -> bool {
        self.wakers.retain(|(o, _)| *o != op);
        let before = self.woken.len();
        self.woken.retain(|o| *o != op);
        self.woken.len() != before
    }
}

impl SharedMachine {
    /// A machine for `config`; `seed` seeds its backoff jitter.
    pub fn new(config: DriverConfig, seed: u64) -> Self {
        SharedMachine {
            state: Mutex::new(State {
                machine: SyncMachine::new(config, seed),
                woken: Vec::new(),
                wakers: Vec::new(),
            }),
            woken: Condvar::new(),
            origin: std::time::Instant::now(),
            skew: AtomicU64::new(0),
            fixed: AtomicU64::new(u64::MAX),
        }
    }

    /// The machine's clock now.
    pub fn now(&self) -> Instant {
        let fixed = self.fixed.load(Ordering::Relaxed);
        let ms = if fixed == u64::MAX {
            u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX)
        } else {
            fixed
        };
        Instant::from_millis(ms.saturating_add(self.skew.load(Ordering::Relaxed)))
    }

    /// Time from now until `at` on the machine's clock (zero once it has passed).
    pub fn left(&self, at: Instant) -> Duration {
        Duration::from_millis(at.as_millis().saturating_sub(self.now().as_millis()))
    }

    /// For tests: fixes the clock at `fix` milliseconds (`None`: the monotonic
    /// clock again) and moves it on by `advance` milliseconds.
    pub fn set_clock(&self, fix: Option<u64>, advance: u64) {
        self.fixed.store(fix.unwrap_or(u64::MAX), Ordering::Relaxed);
        self.skew.fetch_add(advance, Ordering::Relaxed);
    }

    /// Runs `f` on the machine, under the lock.
    pub fn with<R>(&self, f: impl FnOnce(&mut SyncMachine) -> R) -> R {
        f(&mut self.lock().machine)
    }

    /// Starts operation `name` with arguments by name (see
    /// [`Machine::start_named`](crate::Machine::start_named)).
    pub fn start_named(&self, name: &str, args: &NamedArgs) -> Result<OpId, Error> {
        self.with(|m| m.start_named(name, args, self.now()))
    }

    /// Starts operation `name` (see [`Machine::start`](crate::Machine::start)).
    pub fn start(&self, name: &str, args: &Args<'_>) -> Result<OpId, Error> {
        self.with(|m| m.start(name, args, self.now()))
    }

    /// Starts waiting until the service answers (see
    /// [`Machine::start_wait_until_ready`](crate::Machine::start_wait_until_ready)).
    pub fn start_wait_until_ready(&self, max: Option<Duration>) -> Result<OpId, Error> {
        self.with(|m| m.start_wait_until_ready(max, self.now()))
    }

    /// Steps `op` with `input` once, and hands out the wakes it caused.
    pub fn step(&self, op: OpId, input: Input<'_>) -> Step {
        self.step_then(op, input, |_, _| ()).0
    }

    /// Steps `op` as [`step`](Self::step) does, and reads what `then` takes from the
    /// machine and the step under the same lock (e.g. the machine's
    /// [`last_answer`](crate::Machine::last_answer), for a trace).
    pub fn step_then<R>(
        &self,
        op: OpId,
        input: Input<'_>,
        then: impl FnOnce(&SyncMachine, &Step) -> R,
    ) -> (Step, R) {
        let mut state = self.lock();
        state.forget(op);
        let step = state.machine.step(op, self.now(), input);
        let read = then(&state.machine, &step);
        self.wake(state);
        (step, read)
    }

    /// Steps `op` as a thread does: a token wait blocks here until the machine
    /// wakes `op` or the wait's deadline passes, and then `op` steps again, so the
    /// step returned is never [`Step::AwaitToken`].
    pub fn step_blocking(&self, op: OpId, input: Input<'_>) -> Step {
        let never = self.step_blocking_with(op, input, Duration::MAX, || {
            Ok::<(), core::convert::Infallible>(())
        });
        never.unwrap_or_else(|e| match e {})
    }

    /// Steps `op` as [`step_blocking`](Self::step_blocking) does, but waits for a
    /// token in slices of at most `slice` and calls `check` after each: an error
    /// from it (a signal, an interrupted thread) ends the wait and is returned, and
    /// `op` stays where it was, for the caller to cancel.
    pub fn step_blocking_with<E>(
        &self,
        op: OpId,
        mut input: Input<'_>,
        slice: Duration,
        mut check: impl FnMut() -> Result<(), E>,
    ) -> Result<Step, E> {
        loop {
            match self.step(op, input) {
                Step::AwaitToken(until) => self.wait_woken(op, until.min(self.now() + slice)),
                step => return Ok(step),
            }
            check()?;
            input = Input::Tick;
        }
    }

    /// Blocks until the machine wakes `op`, or until `until`.
    pub fn wait_woken(&self, op: OpId, until: Instant) {
        let mut state = self.lock();
        while !state.woken.contains(&op) && !self.left(until).is_zero() {
            let waited = self.woken.wait_timeout(state, self.left(until));
            state = waited.unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Whether the machine woke `op`; if not, `cx` is woken when it does.
    pub fn poll_woken(&self, op: OpId, cx: &mut Context<'_>) -> Poll<()> {
        let mut state = self.lock();
        if state.forget(op) {
            return Poll::Ready(());
        }
        state.wakers.push((op, cx.waker().clone()));
        Poll::Pending
    }

    /// The operations the machine woke since the last call (for a host that
    /// resumes them from its own event loop).
    pub fn take_woken(&self) -> Vec<OpId> {
        core::mem::take(&mut self.lock().woken)
    }

    /// Abandons `op` (see [`Machine::cancel`](crate::Machine::cancel)).
    pub fn cancel(&self, op: OpId) -> Option<ConnId> {
        let mut state = self.lock();
        let conn = state.machine.cancel(op);
        state.forget(op);
        self.wake(state);
        conn
    }

    /// The connections to close for a client's `close` (see
    /// [`Machine::close_idle`](crate::Machine::close_idle)).
    pub fn close_idle(&self) -> Vec<ConnId> {
        self.lock().machine.close_idle()
    }

    /// Operations in progress.
    pub fn operations(&self) -> usize {
        self.lock().machine.operations()
    }

    /// The machine, even after a panic elsewhere poisoned the lock (no step leaves
    /// it half changed).
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Hands the machine's wakes out: to threads through the condition variable, to
    /// tasks through their wakers once the lock is released (a waker may poll at once).
    fn wake(&self, mut state: MutexGuard<'_, State>) {
        let mut wakers = Vec::new();
        let mut any = false;
        while let Some(op) = state.machine.poll_woken() {
            if !state.woken.contains(&op) {
                state.woken.push(op);
            }
            while let Some(i) = state.wakers.iter().position(|(o, _)| *o == op) {
                wakers.push(state.wakers.swap_remove(i).1);
            }
            any = true;
        }
        drop(state);
        if any {
            self.woken.notify_all();
        }
        wakers.into_iter().for_each(Waker::wake);
    }
}

impl core::fmt::Debug for SharedMachine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.lock().machine, f)
    }
}
