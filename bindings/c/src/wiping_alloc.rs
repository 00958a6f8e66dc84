//! The library's allocator: the system's, with every block zeroed before it is
//! freed. Requests and token responses pass through the machine's buffers (the
//! output buffer, each request's bytes, the token cache's copies), and a freed
//! block keeps its bytes until it is reused: in a process that loads this library,
//! or in the wasm module's memory that the Go host keeps for its next client.
//!
//! A block that grows is copied to a new one and the old one zeroed and freed
//! (`GlobalAlloc`'s own `realloc`, through [`dealloc`](GlobalAlloc::dealloc)).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{compiler_fence, Ordering};

/// The system allocator, zeroing what it frees.
pub struct WipingAllocator;

// SAFETY: every call is the system allocator's with the same layout; `dealloc` only
// writes inside the block it is given before freeing it.
unsafe impl GlobalAlloc for WipingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as promised by the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as promised by the caller.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes (the caller's promise).
        unsafe {
            zero(ptr, layout.size());
            System.dealloc(ptr, layout);
        }
    }
}

/// Zeroes `len` bytes at `ptr` with volatile writes (plain ones, before a free, may
/// be optimised away), eight bytes at a time where aligned (wasm32 has 64-bit stores).
///
/// # Safety
/// `ptr..ptr + len` is writable.
pub(crate) unsafe fn zero(ptr: *mut u8, len: usize) {
    const WORD: usize = core::mem::size_of::<u64>();
    let mut i = 0;
    // SAFETY (each write below): `i` (and a word from it) stays within `len`.
    while i < len && !(ptr as usize + i).is_multiple_of(WORD) {
        unsafe { ptr.add(i).write_volatile(0) };
        i += 1;
    }
    while i + WORD <= len {
        unsafe { ptr.add(i).cast::<u64>().write_volatile(0) };
        i += WORD;
    }
    while i < len {
        unsafe { ptr.add(i).write_volatile(0) };
        i += 1;
    }
    compiler_fence(Ordering::SeqCst);
}

#[cfg(test)]
mod tests {
    #[test]
    fn zero_clears_every_byte_at_any_alignment() {
        for start in 0..9 {
            for len in [0, 1, 7, 8, 9, 31, 64, 100] {
                let mut buf = [0xA5u8; 128];
                // SAFETY: start + len <= 109 < 128.
                unsafe { super::zero(buf.as_mut_ptr().add(start), len) };
                for (i, b) in buf.iter().enumerate() {
                    let inside = i >= start && i < start + len;
                    assert_eq!(
                        *b,
                        if inside { 0 } else { 0xA5 },
                        "start {start}, len {len}, byte {i}"
                    );
                }
            }
        }
    }
}
