//! jemalloc (the daemon's allocator) counting the bytes it hands out, size classes included
//! (it adds no header), for the tests that weigh what a structure really holds. A test binary
//! installs it with `#[global_allocator]`; the count is global, so such a binary runs one test.
#![cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

use tikv_jemallocator::{usable_size, Jemalloc};

/// The counting allocator.
pub(crate) struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call goes to jemalloc unchanged; the count only reads the size of a block
// that jemalloc has just handed out or is about to take back.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = Jemalloc.alloc(layout);
        if !ptr.is_null() {
            HELD.fetch_add(usable_size(ptr), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(usable_size(ptr), Ordering::Relaxed);
        Jemalloc.dealloc(ptr, layout);
    }
}

/// Bytes handed out and not yet taken back.
pub(crate) fn allocated() -> u64 {
    HELD.load(Ordering::Relaxed) as u64
}
