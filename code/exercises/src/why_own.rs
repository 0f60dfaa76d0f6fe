//! Exercises of the chapter "Why write your own?".

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

/// Exercise 1: a global allocator that counts allocations by size, in
/// powers of two: `buckets[k]` counts the requests with
/// `2^(k-1) < size <= 2^k` (bucket 0 holds sizes 0 and 1), and the last
/// bucket everything larger. It forwards every call to `System`.
pub struct SizeHistogram {
    /// The counts, one per power of two.
    pub buckets: [AtomicU64; 24],
}

impl SizeHistogram {
    /// A histogram with every count at zero (`const`, for a `static`).
    pub const fn new() -> SizeHistogram {
        SizeHistogram {
            buckets: [const { AtomicU64::new(0) }; 24],
        }
    }

    /// The counts now.
    pub fn counts(&self) -> [u64; 24] {
        std::array::from_fn(|k| self.buckets[k].load(Ordering::Relaxed))
    }
}

impl Default for SizeHistogram {
    fn default() -> SizeHistogram {
        SizeHistogram::new()
    }
}

#[cfg(not(feature = "solutions"))]
// ANCHOR: bucket_stub
/// Which bucket a request of `size` bytes goes in: bucket `k` holds the
/// sizes with `2^(k-1) < size <= 2^k`, bucket 0 holds sizes 0 and 1, and
/// bucket 23, the last, everything larger than `2^22`.
pub fn bucket(size: usize) -> usize {
    let _ = size;
    crate::unsolved("Why write your own?", 1)
}
// ANCHOR_END: bucket_stub

// ANCHOR: bucket
/// Exercise 1, solved: the bucket is the number of bits needed for
/// `size - 1`, so 2 goes in bucket 1, 3 and 4 in bucket 2, 5 to 8 in 3.
#[cfg(feature = "solutions")]
pub fn bucket(size: usize) -> usize {
    let bits = (usize::BITS - size.saturating_sub(1).leading_zeros()) as usize;
    bits.min(23)
}
// ANCHOR_END: bucket

// SAFETY: every call is forwarded to `System` unchanged; counting touches
// only atomics, which never allocate.
unsafe impl GlobalAlloc for SizeHistogram {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.buckets[bucket(layout.size())].fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's guarantees, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}
