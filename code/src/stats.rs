//! The counters that the book's instrumented allocators keep, as plain
//! numbers: what [`Counting::snapshot`](crate::counting::Counting::snapshot)
//! and [`Locked::stats`](crate::global::Locked::stats) return.
//!
//! [`Stats`] is `Copy` and holds no pointer, so taking one never allocates,
//! and its `Display` writes a report straight into the formatter, without
//! building a `String`: a global allocator can report on itself.

use std::fmt;

/// The number of histogram buckets: bucket `k` counts sizes in
/// `(2^(k-1), 2^k]` (bucket 0: sizes 0 and 1), up to the largest size a
/// `Layout` allows.
pub const BUCKETS: usize = usize::BITS as usize;

/// What an allocator has seen, at one moment: calls, bytes, the peak, the
/// sizes asked for, and (where the allocator can tell) its heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Successful `alloc` and `alloc_zeroed` calls.
    pub allocations: u64,
    /// `dealloc` calls.
    pub deallocations: u64,
    /// Successful `realloc` calls.
    pub reallocations: u64,
    /// Calls that returned null.
    pub failures: u64,
    /// Bytes requested by successful allocations and reallocations (a
    /// reallocation counts its new size), added up.
    pub bytes_allocated: u64,
    /// Bytes of the blocks allocated now, as requested (payload).
    pub live_bytes: usize,
    /// The most `live_bytes` ever were.
    pub peak_live_bytes: usize,
    /// Successful allocations and reallocations by requested size: entry
    /// `k` counts sizes in `(2^(k-1), 2^k]`, entry 0 sizes 0 and 1. See
    /// [`Stats::bucket`].
    pub histogram: [u64; BUCKETS],
    /// The allocator's [`heap_size`](crate::raw_allocator::RawAllocator::heap_size)
    /// now; 0 where it cannot tell (`Counting` wraps a `GlobalAlloc`, which
    /// does not say).
    pub heap_size: usize,
    /// The allocator's [`footprint`](crate::raw_allocator::RawAllocator::footprint);
    /// 0 where it cannot tell.
    pub footprint: usize,
}

impl Default for Stats {
    fn default() -> Stats {
        Stats::ZERO
    }
}

impl Stats {
    /// All counters at zero. (`Default::default` is not `const`.)
    pub const ZERO: Stats = Stats {
        allocations: 0,
        deallocations: 0,
        reallocations: 0,
        failures: 0,
        bytes_allocated: 0,
        live_bytes: 0,
        peak_live_bytes: 0,
        histogram: [0; BUCKETS],
        heap_size: 0,
        footprint: 0,
    };

    // ANCHOR: bucket
    /// The histogram bucket of a request of `size` bytes: the `k` with
    /// `2^(k-1) < size <= 2^k`, so 0 for sizes 0 and 1, and 7 for 65 to 128
    /// bytes.
    pub const fn bucket(size: usize) -> usize {
        if size <= 1 {
            0
        } else {
            // `size - 1` has its top bit at position k - 1.
            let k = (usize::BITS - (size - 1).leading_zeros()) as usize;
            if k < BUCKETS { k } else { BUCKETS - 1 }
        }
    }
    // ANCHOR_END: bucket

    /// Counts a successful request of `size` bytes that adds a live block
    /// (an allocation) or replaces one (a reallocation, after
    /// [`freed`](Self::freed) of the old size).
    pub fn requested(&mut self, size: usize) {
        self.bytes_allocated = self.bytes_allocated.saturating_add(size as u64);
        self.histogram[Self::bucket(size)] += 1;
        self.live_bytes = self.live_bytes.saturating_add(size);
        self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
    }

    /// Counts `size` live bytes that were freed.
    pub fn freed(&mut self, size: usize) {
        self.live_bytes = self.live_bytes.saturating_sub(size);
    }

    /// Heap bytes that hold no live block: freed but not reused, padding,
    /// headers. `heap_size - live_bytes`.
    pub fn unused_heap_bytes(&self) -> usize {
        self.heap_size.saturating_sub(self.live_bytes)
    }

    /// Peak live bytes over footprint, between 0 and 1 (CS:APP's
    /// *utilization*); 1 when the footprint is 0 (nothing was ever
    /// allocated, or the allocator cannot tell, as for `Counting`).
    pub fn utilization(&self) -> f64 {
        if self.footprint == 0 {
            1.0
        } else {
            self.peak_live_bytes as f64 / self.footprint as f64
        }
    }

    /// Blocks allocated and not yet freed: allocations minus
    /// deallocations (a reallocation moves a block, it does not add one).
    pub fn live_blocks(&self) -> u64 {
        self.allocations.saturating_sub(self.deallocations)
    }

    /// Requests in the histogram: allocations plus reallocations.
    pub fn requests(&self) -> u64 {
        self.histogram.iter().sum()
    }

    /// The largest size that falls in histogram bucket `k`: `2^k`.
    pub const fn bucket_limit(k: usize) -> usize {
        if k + 1 >= BUCKETS { usize::MAX } else { 1 << k }
    }

    /// What happened between `earlier` and this snapshot: the counters'
    /// differences, and the live bytes added since (0 if fewer are live
    /// now). The peak, heap size and footprint stay this snapshot's: call
    /// [`Counting::reset_peak`](crate::counting::Counting::reset_peak) when
    /// `earlier` is taken to get the peak of the part in between.
    pub fn since(&self, earlier: &Stats) -> Stats {
        let mut histogram = self.histogram;
        for (now, then) in histogram.iter_mut().zip(&earlier.histogram) {
            *now = now.saturating_sub(*then);
        }
        Stats {
            allocations: self.allocations.saturating_sub(earlier.allocations),
            deallocations: self.deallocations.saturating_sub(earlier.deallocations),
            reallocations: self.reallocations.saturating_sub(earlier.reallocations),
            failures: self.failures.saturating_sub(earlier.failures),
            bytes_allocated: self.bytes_allocated.saturating_sub(earlier.bytes_allocated),
            live_bytes: self.live_bytes.saturating_sub(earlier.live_bytes),
            peak_live_bytes: self.peak_live_bytes,
            histogram,
            heap_size: self.heap_size,
            footprint: self.footprint,
        }
    }
}

/// Writes `n` with thousands separators (`1,234,567`), digit by digit, so
/// that no `String` is built.
fn write_grouped(f: &mut fmt::Formatter<'_>, n: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = n;
    loop {
        digits[len] = (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    // Pad on the left to a fixed width of 15 (u64::MAX needs 26 with commas;
    // real counts are shorter), so columns line up.
    let width = len + (len - 1) / 3;
    for _ in width..15 {
        f.write_str(" ")?;
    }
    for i in (0..len).rev() {
        write!(f, "{}", digits[i])?;
        if i > 0 && i % 3 == 0 {
            f.write_str(",")?;
        }
    }
    Ok(())
}

/// Writes a bucket's upper limit the short way: `8`, `4K`, `16M`, `1G`,
/// `max`.
fn write_size(f: &mut fmt::Formatter<'_>, bytes: usize) -> fmt::Result {
    if bytes == usize::MAX {
        // The last bucket, which also holds everything above its power of two.
        return f.write_str(" max ");
    }
    let (value, unit) = match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => (b >> 30, "G"),
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => (b >> 20, "M"),
        b if b >= 1 << 10 && b.is_multiple_of(1 << 10) => (b >> 10, "K"),
        b => (b, ""),
    };
    write!(f, "{value:>4}{unit:1}")
}

// ANCHOR: display
/// The report: the counters, then one histogram line per non-empty bucket
/// with a bar of `#`s. Written piece by piece into the formatter; it builds
/// no `String`, so it allocates nothing of its own.
impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: [(&str, u64); 8] = [
            ("allocations", self.allocations),
            ("deallocations", self.deallocations),
            ("reallocations", self.reallocations),
            ("failed calls", self.failures),
            ("live blocks", self.live_blocks()),
            ("bytes allocated", self.bytes_allocated),
            ("live bytes", self.live_bytes as u64),
            ("peak live bytes", self.peak_live_bytes as u64),
        ];
        for (name, value) in rows {
            write!(f, "{name:<16}")?;
            write_grouped(f, value)?;
            f.write_str("\n")?;
        }
        f.write_str("requests by size (bytes, at most):\n")?;
        let most = self.histogram.iter().copied().max().unwrap_or(0).max(1);
        for (k, &count) in self.histogram.iter().enumerate() {
            if count == 0 {
                continue;
            }
            f.write_str("  <= ")?;
            write_size(f, Self::bucket_limit(k))?;
            write_grouped(f, count)?;
            f.write_str(" ")?;
            // At least one `#` for a bucket that is not empty.
            let bar = (count.saturating_mul(40) / most).max(1);
            for _ in 0..bar {
                f.write_str("#")?;
            }
            f.write_str("\n")?;
        }
        Ok(())
    }
}
// ANCHOR_END: display

/// A [`fmt::Write`] into a fixed 4 KiB array on the stack: formats a
/// [`Stats`] report (or any text) while an allocator is being watched,
/// without allocating. Writing more than fits fails with [`fmt::Error`].
///
/// ```
/// use allocators::stats::{StackText, Stats};
/// use std::fmt::Write;
///
/// let mut text = StackText::new();
/// write!(text, "{}", Stats::default()).unwrap();
/// assert!(text.as_str().starts_with("allocations"));
/// ```
pub struct StackText {
    bytes: [u8; 4096],
    len: usize,
}

impl StackText {
    /// An empty text.
    pub const fn new() -> StackText {
        StackText {
            bytes: [0; 4096],
            len: 0,
        }
    }

    /// What was written so far.
    pub fn as_str(&self) -> &str {
        // Only whole `str`s are ever copied in, so this cannot fail.
        std::str::from_utf8(&self.bytes[..self.len]).expect("only str was written")
    }
}

impl Default for StackText {
    fn default() -> StackText {
        StackText::new()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_powers_of_two() {
        let bucket = Stats::bucket;
        assert_eq!([bucket(0), bucket(1), bucket(2)], [0, 0, 1]);
        assert_eq!([bucket(3), bucket(4), bucket(5)], [2, 2, 3]);
        assert_eq!([bucket(64), bucket(65), bucket(128)], [6, 7, 7]);
        assert_eq!(bucket(isize::MAX as usize), BUCKETS - 1);
        assert_eq!(bucket(usize::MAX), BUCKETS - 1);
        for k in 0..BUCKETS - 1 {
            assert_eq!(bucket(Stats::bucket_limit(k)), k);
        }
    }
}
