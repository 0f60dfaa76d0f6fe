//! Recording a real program's allocations as a trace.
//!
//! [`Recorder`] is a `#[global_allocator]` that forwards every call to
//! [`System`] and, between [`Recorder::start`] and [`Recorder::finish`],
//! logs it into a buffer that was mapped up front. Logging never allocates
//! (an allocation inside the global allocator would call the global
//! allocator again), so the buffer is a fixed array of [`Event`]s in an
//! anonymous `mmap` mapping, behind a `Mutex` (a futex word on Linux: locking
//! it does not allocate either). When the buffer is full, recording stops
//! and [`Recorder::finish`] reports it.
//!
//! [`Recorder::finish`] turns the log into a trace: each allocation gets the
//! next block id, a reallocation keeps its block's id, and addresses are
//! matched to ids as they are freed and reused. Blocks allocated before
//! recording started are left out (their frees too, and a reallocation of
//! one becomes an allocation), and blocks still live at the end are freed
//! in id order, because every trace frees all its blocks. The trace format
//! has no alignment, so the alignments are only counted: the replay tool
//! asks for 16 bytes for every block, which covers what Rust programs ask
//! `malloc` for in practice.

use crate::trace::{Op, write_trace};
use allocators::os::Mapping;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// What the log holds for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `alloc(layout)` returned `addr`.
    Alloc {
        /// The block's address.
        addr: usize,
        /// Bytes asked for.
        size: usize,
        /// The alignment asked for.
        align: usize,
    },
    /// `dealloc(addr)`.
    Free {
        /// The block's address.
        addr: usize,
    },
    /// `realloc(old, .., size)` returned `new`.
    Realloc {
        /// The address before.
        old: usize,
        /// The address after.
        new: usize,
        /// The new size.
        size: usize,
    },
}

struct Log {
    buffer: Option<Mapping>,
    len: usize,
    overflowed: bool,
}

/// The recording global allocator. Put it in a `static` with
/// `#[global_allocator]`.
pub struct Recorder {
    on: AtomicBool,
    log: Mutex<Log>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

/// A recorded trace and what it took.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The trace in the file format.
    pub text: String,
    /// Calls logged.
    pub events: usize,
    /// `true` if the buffer filled up and the tail is missing.
    pub overflowed: bool,
    /// The largest alignment any call asked for.
    pub max_align: usize,
}

impl Recorder {
    /// A recorder that is not recording yet. `const`, for a `static`.
    pub const fn new() -> Recorder {
        Recorder {
            on: AtomicBool::new(false),
            log: Mutex::new(Log {
                buffer: None,
                len: 0,
                overflowed: false,
            }),
        }
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Maps a buffer for `capacity` events and starts recording.
    pub fn start(&self, capacity: usize) -> std::io::Result<()> {
        let bytes = capacity
            .checked_mul(size_of::<Event>())
            .ok_or_else(|| std::io::Error::other("event buffer size overflows"))?;
        let mapping = Mapping::new(bytes)?;
        {
            let mut log = self.log();
            log.buffer = Some(mapping);
            log.len = 0;
            log.overflowed = false;
        }
        self.on.store(true, Ordering::SeqCst);
        Ok(())
    }

    #[inline]
    fn record(&self, event: Event) {
        if !self.on.load(Ordering::Relaxed) {
            return;
        }
        let mut log = self.log();
        let len = log.len;
        let Some(buffer) = &log.buffer else { return };
        if (len + 1) * size_of::<Event>() > buffer.len() {
            log.overflowed = true;
            self.on.store(false, Ordering::Relaxed);
            return;
        }
        let slots = buffer.as_ptr().cast::<Event>();
        // SAFETY: the mapping is page-aligned (so aligned for Event) and has
        // room for `len + 1` events (checked above); the lock makes this the
        // only writer.
        unsafe { slots.add(len).write(event) };
        log.len = len + 1;
    }

    /// Stops recording and turns the log into a trace.
    pub fn finish(&self) -> Recording {
        self.on.store(false, Ordering::SeqCst);
        // From here on allocating is fine: nothing is recorded any more.
        let (events, overflowed) = {
            let mut log = self.log();
            let events = match &log.buffer {
                // SAFETY: the first `len` events were written by `record`,
                // and recording is off, so nothing writes them now.
                Some(b) => {
                    // SAFETY: as said above the match arm.
                    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<Event>(), log.len) }
                        .to_vec()
                }
                None => Vec::new(),
            };
            log.buffer = None;
            (events, log.overflowed)
        };
        let (ops, ids, max_align) = to_ops(&events);
        Recording {
            text: write_trace(0, ids, 1, &ops),
            events: events.len(),
            overflowed,
            max_align,
        }
    }
}

/// Turns logged calls into trace operations: `(ops, number of ids, largest
/// alignment)`.
pub fn to_ops(events: &[Event]) -> (Vec<Op>, usize, usize) {
    let mut live: HashMap<usize, u32> = HashMap::new();
    let mut ops = Vec::with_capacity(events.len());
    let mut next = 0u32;
    let mut max_align = 1;
    for event in events {
        match *event {
            Event::Alloc { addr, size, align } => {
                max_align = max_align.max(align);
                live.insert(addr, next);
                ops.push(Op::Alloc { id: next, size });
                next += 1;
            }
            Event::Free { addr } => {
                if let Some(id) = live.remove(&addr) {
                    ops.push(Op::Free { id });
                }
            }
            Event::Realloc { old, new, size } => match live.remove(&old) {
                Some(id) => {
                    live.insert(new, id);
                    ops.push(Op::Realloc { id, size });
                }
                None => {
                    live.insert(new, next);
                    ops.push(Op::Alloc { id: next, size });
                    next += 1;
                }
            },
        }
    }
    let mut rest: Vec<u32> = live.into_values().collect();
    rest.sort_unstable();
    ops.extend(rest.into_iter().map(|id| Op::Free { id }));
    (ops, next as usize, max_align)
}

impl Recorder {
    /// Records `p`, a new block with `layout` (nothing if the call failed),
    /// and returns it.
    #[inline]
    fn allocated(&self, p: *mut u8, layout: Layout) -> *mut u8 {
        if !p.is_null() {
            self.record(Event::Alloc {
                addr: p.addr(),
                size: layout.size(),
                align: layout.align(),
            });
        }
        p
    }
}

// SAFETY: every call is forwarded to System with the caller's arguments, so
// System's guarantees are ours; recording only reads the arguments and the
// result, and never allocates.
unsafe impl GlobalAlloc for Recorder {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's guarantees for GlobalAlloc::alloc.
        let p = unsafe { System.alloc(layout) };
        self.allocated(p, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        let p = unsafe { System.alloc_zeroed(layout) };
        self.allocated(p, layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // Logged first: once freed, the address may be handed out again by
        // another thread before this one logs.
        self.record(Event::Free { addr: ptr.addr() });
        // SAFETY: the caller's guarantees for GlobalAlloc::dealloc.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's guarantees for GlobalAlloc::realloc.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            self.record(Event::Realloc {
                old: ptr.addr(),
                new: p.addr(),
                size: new_size,
            });
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_become_ops() {
        let events = [
            Event::Free { addr: 5 }, // allocated before recording: skipped
            Event::Alloc {
                addr: 100,
                size: 8,
                align: 8,
            },
            Event::Alloc {
                addr: 200,
                size: 16,
                align: 16,
            },
            Event::Realloc {
                old: 100,
                new: 300,
                size: 32,
            },
            Event::Free { addr: 200 },
            Event::Alloc {
                addr: 200,
                size: 4,
                align: 1,
            }, // address reused: a new id
            Event::Realloc {
                old: 7,
                new: 400,
                size: 9,
            }, // unknown block: an allocation
        ];
        let (ops, ids, align) = to_ops(&events);
        assert_eq!(ids, 4);
        assert_eq!(align, 16);
        assert_eq!(
            ops,
            vec![
                Op::Alloc { id: 0, size: 8 },
                Op::Alloc { id: 1, size: 16 },
                Op::Realloc { id: 0, size: 32 },
                Op::Free { id: 1 },
                Op::Alloc { id: 2, size: 4 },
                Op::Alloc { id: 3, size: 9 },
                Op::Free { id: 0 },
                Op::Free { id: 2 },
                Op::Free { id: 3 },
            ]
        );
    }
}
