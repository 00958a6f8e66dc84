//! One identity token shared by every operation of a client, fetched by one of
//! them at a time.
//!
//! The policy (who refreshes, who uses a stale token, who waits) is the core's
//! ([`Session::seed_from`](vpc_imds_core::session::Session::seed_from) and
//! friends); a [`TokenShare`] only says how the cache is locked and how waiters
//! are woken. [`LocalTokens`] serves single-threaded hosts (JavaScript, asyncio on
//! one loop); `ThreadTokens` (feature `std`) serves threads.
//!
//! Every operation sharing one cache must read the same clock with the same origin:
//! token times are instants on that clock. In debug builds a driver checks that the
//! clock it is given never runs backwards past a token it has seen.

use core::cell::{Cell, RefCell};

use vpc_imds_core::token::TokenCache;

/// A token cache shared by operations.
pub trait TokenShare {
    /// Runs `f` with the cache locked, and the number of changes so far.
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R;

    /// The cache changed (a new token, or a refresh ended): wake the operations
    /// waiting for it ([`Step::WaitForToken`](crate::Step::WaitForToken)).
    fn changed(&self);
}

impl<T: TokenShare + ?Sized> TokenShare for &T {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        (**self).with(f)
    }
    fn changed(&self) {
        (**self).changed();
    }
}

impl<T: TokenShare + ?Sized> TokenShare for alloc::rc::Rc<T> {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        (**self).with(f)
    }
    fn changed(&self) {
        (**self).changed();
    }
}

impl<T: TokenShare + ?Sized> TokenShare for alloc::sync::Arc<T> {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        (**self).with(f)
    }
    fn changed(&self) {
        (**self).changed();
    }
}

/// The shared token of a single-threaded host. [`generation`](Self::generation)
/// grows at every change, so a host can tell its waiters apart from spurious wakes;
/// [`with_waker`](Self::with_waker) runs a host function at every change (e.g. one
/// that resolves the promises of waiting calls).
#[derive(Default)]
pub struct LocalTokens {
    cache: RefCell<TokenCache>,
    generation: Cell<u64>,
    waker: Option<alloc::boxed::Box<dyn Fn()>>,
}

impl LocalTokens {
    /// An empty cache.
    pub fn new() -> Self {
        LocalTokens::default()
    }

    /// An empty cache that calls `waker` after every change.
    pub fn with_waker(waker: impl Fn() + 'static) -> Self {
        LocalTokens {
            waker: Some(alloc::boxed::Box::new(waker)),
            ..LocalTokens::default()
        }
    }

    /// How many times the cache changed.
    pub fn generation(&self) -> u64 {
        self.generation.get()
    }
}

impl core::fmt::Debug for LocalTokens {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LocalTokens")
            .field("cache", &self.cache)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl TokenShare for LocalTokens {
    fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
        f(&mut self.cache.borrow_mut(), self.generation.get())
    }

    fn changed(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
        if let Some(waker) = &self.waker {
            waker();
        }
    }
}

#[cfg(feature = "std")]
pub use threads::ThreadTokens;

#[cfg(feature = "std")]
mod threads {
    extern crate std;

    use std::sync::{Condvar, Mutex, MutexGuard};
    use std::time::Duration;

    use super::TokenShare;
    use vpc_imds_core::token::TokenCache;

    /// The shared token of a multi-threaded host: a mutex, and a condition variable
    /// its waiters sleep on.
    #[derive(Debug, Default)]
    pub struct ThreadTokens {
        state: Mutex<(TokenCache, u64)>,
        changed: Condvar,
    }

    impl ThreadTokens {
        /// An empty cache.
        pub fn new() -> Self {
            ThreadTokens::default()
        }

        fn lock(&self) -> MutexGuard<'_, (TokenCache, u64)> {
            self.state.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// How many times the cache changed.
        pub fn generation(&self) -> u64 {
            self.lock().1
        }

        /// Sleeps until the cache changes after `generation` or `timeout` passes
        /// (for [`Step::WaitForToken`](crate::Step::WaitForToken)).
        pub fn wait(&self, generation: u64, timeout: Duration) {
            let guard = self.lock();
            if guard.1 != generation {
                return;
            }
            let _ = self
                .changed
                .wait_timeout_while(guard, timeout, |s| s.1 == generation);
        }
    }

    impl TokenShare for ThreadTokens {
        fn with<R>(&self, f: impl FnOnce(&mut TokenCache, u64) -> R) -> R {
            let mut guard = self.lock();
            let generation = guard.1;
            f(&mut guard.0, generation)
        }

        fn changed(&self) {
            let mut guard = self.lock();
            guard.1 = guard.1.wrapping_add(1);
            drop(guard);
            self.changed.notify_all();
        }
    }
}
