//! `ThreadCached`: a small cache of free blocks per thread, in front of one
//! shared heap behind a lock (the idea of glibc's *tcache*, since 2.26).
//!
//! [`Locked`] serialises every call: two threads that allocate at once take
//! turns, and the lock word's cache line moves between their cores on every
//! call. `ThreadCached` keeps, for each thread, a few free blocks of each
//! small size class. A request of at most [`CACHE_LIMIT`] bytes, aligned to
//! at most [`CACHE_ALIGN`], is served from the calling thread's cache with no
//! lock and no atomic instruction. Only when a class is empty does the thread
//! take the lock, once, to *refill* it with a batch of blocks; only when a
//! class holds its maximum does it take the lock to *drain* a batch back.
//! Larger or over-aligned requests go straight to the shared heap.
//!
//! # Size classes
//!
//! Class `c` holds blocks of `16 * (c + 1)` bytes, aligned to 16: 32
//! classes, up to 512 bytes (glibc's tcache goes to 1032). Every cached block is allocated from the shared
//! heap with its class's layout (`class_layout`), and given back with the
//! same layout, whichever thread gives it back: the shared heap sees
//! consistent calls, and a block can move between caches freely.
//!
//! # Batch size
//!
//! A refill takes [`BATCH`] blocks under one lock, and a class holds at most
//! [`CACHE_MAX`] (twice the batch), so a drain leaves a full batch behind.
//! `cargo run --release --example thread_cache_batch` times batch sizes from
//! 1 to 64, with one and with two threads (the median of several runs), and
//! writes `imgs/thread-cache-batch.md`. The machine is shared and the runs
//! are noisy: in two runs, a batch of 1 was the slowest cache and barely
//! beat `Locked`, batches of 4 and 8 beat it clearly with one and with two
//! threads, and larger batches moved around from run to run. We chose 8:
//! it and 4 were fast in both runs, and 8 takes the lock half as often. It also bounds what an
//! idle thread keeps: at most 16 blocks of each class. (glibc 2.36's tcache
//! keeps 7 per size by default, the `glibc.malloc.tcache_count` tunable.) The
//! lab's scaling bench is the place to confirm it.
//!
//! # Blocks freed by another thread
//!
//! As in glibc's tcache, a block goes into the cache of the thread that frees
//! it, whichever thread allocated it. Every block belongs to the one shared
//! heap either way, so this is only a question of who holds it next.
//!
//! # Threads that exit
//!
//! A cache is a `thread_local!` value with a destructor. When its thread
//! exits, the destructor gives every cached block back to the shared heap.
//! It takes the lock but never allocates. Calls that arrive after the
//! destructor has started (from other thread-locals' destructors) find the
//! thread-local gone (`try_with` fails) and go straight to the shared heap.
//!
//! # Reentrancy
//!
//! Reaching the cache must not allocate, or the allocator would call itself.
//! The thread-local has a `const` initialiser, so it needs no lazy
//! initialisation. The `std` we build with (1.95) promises the rest: its
//! `GlobalAlloc` documentation ("Re-entrance") lists `std::thread_local` among
//! the features "guaranteed to not use `#[global_allocator]` to allocate", and
//! `LocalKey`'s says that where a thread-local needs memory, it gets it
//! "directly through `System`". On Linux with glibc, the destructor is
//! registered with `__cxa_thread_atexit_impl`, which takes its memory from
//! glibc's `malloc`, not from us.
//!
//! # One cache per thread, one owner
//!
//! A `thread_local!` exists once per program, not once per allocator value.
//! So a thread's cache remembers its *owner*, the first shared heap it served,
//! and a `ThreadCached` over any other heap bypasses it and goes straight to
//! its own heap. The owner must outlive every thread: that is why
//! [`ThreadCached::new`] takes a `&'static Locked<A>` (a `static`, as a global
//! allocator is, or a leaked box), and misuse does not compile.
//!
//! # `fork`
//!
//! We register no `pthread_atfork` handlers. After `fork`, the child has one
//! thread: the forking thread's cache is copied and works; the caches of the
//! other threads are copied too but nobody will ever use them, so their blocks
//! stay allocated in the child. If another thread held the shared heap's lock
//! at the moment of the fork, the child's copy of the lock stays locked
//! forever, and the child's next refill or drain blocks. POSIX allows a
//! multithreaded program's child only async-signal-safe calls until it calls
//! `exec` (`fork(2)`), and allocating is not one. glibc's `malloc` goes
//! further: it takes all its locks before `fork`, releases them in the
//! parent, and initialises them afresh in the child
//! (`__malloc_fork_lock_parent`, `__malloc_fork_unlock_parent` and
//! `__malloc_fork_unlock_child` in `malloc/arena.c`, which `posix/fork.c`
//! calls when the process has more than one thread).

use crate::global::Locked;
use crate::raw_allocator::{HeapError, RawAllocator};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::ptr::{NonNull, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};

/// The alignment of every cached block; requests aligned more go to the
/// shared heap.
pub const CACHE_ALIGN: usize = 16;

/// How many size classes a cache has: one per 16 bytes.
pub const CACHED_CLASSES: usize = 32;

/// The largest request a cache serves: 512 bytes.
pub const CACHE_LIMIT: usize = CACHED_CLASSES * CACHE_ALIGN;

/// How many blocks a refill takes from the shared heap, and a drain gives
/// back, under one lock. Chosen by measurement (see the module documentation).
pub const BATCH: u32 = 8;

/// The most blocks a cache keeps per class.
pub const CACHE_MAX: u32 = 2 * BATCH;

// ANCHOR: classes
/// The cache class of a request, or `None` for one the cache does not serve
/// (too large, or aligned to more than 16).
#[inline]
pub const fn cache_class(layout: Layout) -> Option<usize> {
    if layout.size() > CACHE_LIMIT || layout.align() > CACHE_ALIGN {
        return None;
    }
    Some(layout.size().saturating_sub(1) / CACHE_ALIGN)
}

/// The layout every block of class `class` has in the shared heap.
#[inline]
pub const fn class_layout(class: usize) -> Layout {
    assert!(class < CACHED_CLASSES, "class_layout: no such class");
    // SAFETY: the size is at most 512 and the alignment a power of two, so
    // the size rounded up to the alignment does not overflow.
    unsafe { Layout::from_size_align_unchecked((class + 1) * CACHE_ALIGN, CACHE_ALIGN) }
}
// ANCHOR_END: classes

// ANCHOR: cache
/// One size class of a cache: a LIFO list threaded through the first word of
/// each free block, and its length.
struct Bin {
    head: Cell<*mut u8>,
    len: Cell<u32>,
}

/// A thread's cache. `owner` is the shared heap it serves (null until the
/// first call), `drain` the function that gives blocks back to it.
struct Cache {
    owner: Cell<*const ()>,
    drain: Cell<Option<DrainFn>>,
    bins: [Bin; CACHED_CLASSES],
}

/// Gives every block of a cache back to its owner, a `Locked<A>` erased to
/// a pointer (the thread-local cannot be generic).
type DrainFn = unsafe fn(*const (), &Cache);

thread_local! {
    /// No lazy initialisation, so reaching it never allocates.
    static CACHE: Cache = const { Cache::new() };
}

impl Drop for Cache {
    /// The thread is exiting: give every cached block back.
    fn drop(&mut self) {
        if let Some(drain) = self.drain.get() {
            // SAFETY: `drain` was stored with `owner` by `claim`, which
            // erased a `&'static Locked<A>` with the matching `A`.
            unsafe { drain(self.owner.get(), self) }
        }
    }
}
// ANCHOR_END: cache

impl Cache {
    const fn new() -> Cache {
        Cache {
            owner: Cell::new(std::ptr::null()),
            drain: Cell::new(None),
            bins: [const {
                Bin {
                    head: Cell::new(null_mut()),
                    len: Cell::new(0),
                }
            }; CACHED_CLASSES],
        }
    }
}

impl Bin {
    /// Takes the most recently pushed block.
    #[inline]
    fn pop(&self) -> Option<NonNull<u8>> {
        let block = NonNull::new(self.head.get())?;
        // SAFETY: a listed block is a free block of at least 16 bytes,
        // aligned to 16, owned by this cache; its first word is the link.
        let next = unsafe { block.cast::<*mut u8>().read() };
        self.head.set(next);
        self.len.set(self.len.get() - 1);
        Some(block)
    }

    /// Pushes `block`.
    ///
    /// # Safety
    ///
    /// `block` is a block of this bin's class that nobody else uses.
    #[inline]
    unsafe fn push(&self, block: NonNull<u8>) {
        // SAFETY: the caller gives us the block, which is at least 16 bytes
        // and aligned to 16: room for the link.
        unsafe { block.cast::<*mut u8>().write(self.head.get()) };
        self.head.set(block.as_ptr());
        self.len.set(self.len.get() + 1);
    }

    /// The listed blocks, head first, following the links (the checker
    /// bounds the walk by the count; the list itself is not trusted to end).
    fn blocks(&self) -> impl Iterator<Item = NonNull<u8>> + '_ {
        std::iter::successors(NonNull::new(self.head.get()), |block| {
            // SAFETY: as in `pop`.
            NonNull::new(unsafe { block.cast::<*mut u8>().read() })
        })
    }

    /// Whether `block` is on this list (a debug check: walks the list).
    fn contains(&self, block: NonNull<u8>) -> bool {
        self.blocks().any(|at| at == block)
    }
}

/// Gives every block of `cache` back to `owner`, under one lock.
///
/// # Safety
///
/// `owner` is a `&'static Locked<A>` erased to a pointer, and every block in
/// `cache` was allocated from it with its class's layout.
unsafe fn drain_all<A: RawAllocator>(owner: *const (), cache: &Cache) {
    // SAFETY: the caller's guarantee: `owner` is a `&'static Locked<A>`.
    let heap: &Locked<A> = unsafe { &*owner.cast::<Locked<A>>() };
    heap.with_allocator(|heap| {
        for (class, bin) in cache.bins.iter().enumerate() {
            while let Some(block) = bin.pop() {
                // SAFETY: cached blocks were allocated from this heap with
                // `class_layout(class)` and nobody else uses them.
                unsafe { heap.deallocate(block, class_layout(class)) };
            }
        }
    });
}

/// Aborts with `why` written straight to standard error, as it is (no prefix,
/// unlike `Locked`'s `abort_with`): a failed check inside a global allocator
/// must not panic (a panic allocates).
#[cold]
fn abort_with(why: &str) -> ! {
    let bytes = why.as_bytes();
    // SAFETY: the pointer and length describe a live byte slice. A short or
    // failed write loses only the message.
    unsafe { libc::write(libc::STDERR_FILENO, bytes.as_ptr().cast(), bytes.len()) };
    std::process::abort()
}

// ANCHOR: thread_cached
/// Per-thread caches of small free blocks in front of a shared heap behind a
/// lock, usable as `#[global_allocator]`.
///
/// ```
/// use allocators::global::Locked;
/// use allocators::heap::RegionBreak;
/// use allocators::region::Buffer;
/// use allocators::segregated::SegregatedFreeList;
/// use allocators::thread_cache::ThreadCached;
/// use std::ptr::NonNull;
///
/// type Heap = SegregatedFreeList<RegionBreak<Buffer<'static>>>;
/// static mut MEMORY: [u128; 4096] = [0; 4096];
/// // SAFETY: only this heap ever touches MEMORY.
/// static HEAP: Locked<Heap> = Locked::new(SegregatedFreeList::new(RegionBreak::new(unsafe {
///     Buffer::from_raw_parts(NonNull::new_unchecked((&raw mut MEMORY).cast()), 65536)
/// })));
/// static ALLOCATOR: ThreadCached<Heap> = ThreadCached::new(&HEAP);
///
/// std::thread::spawn(|| {
///     // (In a program, `#[global_allocator]` on ALLOCATOR does this.)
///     use std::alloc::{GlobalAlloc, Layout};
///     let layout = Layout::new::<[u8; 24]>();
///     // SAFETY: a non-zero size; the block is freed once, with its layout.
///     unsafe { ALLOCATOR.dealloc(ALLOCATOR.alloc(layout), layout) };
///     assert_eq!(ALLOCATOR.cached_blocks(), allocators::thread_cache::BATCH as usize);
/// })
/// .join()
/// .unwrap();
/// // The thread exited: its cache went back to the heap.
/// ALLOCATOR.check().unwrap();
/// ```
pub struct ThreadCached<A: 'static> {
    shared: &'static Locked<A>,
    batch: u32,
    max: u32,
    refills: AtomicU64,
    drains: AtomicU64,
}

impl<A> ThreadCached<A> {
    /// Caches in front of `shared`, with the measured [`BATCH`].
    pub const fn new(shared: &'static Locked<A>) -> ThreadCached<A> {
        Self::with_batch(shared, BATCH)
    }

    /// Caches that refill and drain `batch` blocks at a time (at least 1)
    /// and keep at most `2 * batch` per class.
    pub const fn with_batch(shared: &'static Locked<A>, batch: u32) -> ThreadCached<A> {
        let batch = if batch == 0 { 1 } else { batch };
        ThreadCached {
            shared,
            batch,
            max: batch.saturating_mul(2),
            refills: AtomicU64::new(0),
            drains: AtomicU64::new(0),
        }
    }

    /// The shared heap.
    pub fn shared(&self) -> &'static Locked<A> {
        self.shared
    }

    /// How many times a cache took the lock to refill a class, and to drain
    /// one (thread exits and `flush` not counted).
    pub fn lock_trips(&self) -> (u64, u64) {
        (
            self.refills.load(Ordering::Relaxed),
            self.drains.load(Ordering::Relaxed),
        )
    }

    /// Our identity in a cache's `owner`: the shared heap's address, as an
    /// untyped pointer, so that caches of any `A` compare alike.
    fn id(&self) -> *const () {
        std::ptr::from_ref(self.shared).cast()
    }
}
// ANCHOR_END: thread_cached

impl<A: RawAllocator> ThreadCached<A> {
    // ANCHOR: claim
    /// Makes `cache` ours if nobody owns it yet; `false` if another heap does.
    #[inline]
    fn claim(&self, cache: &Cache) -> bool {
        let owner = cache.owner.get();
        if owner == self.id() {
            return true;
        }
        if !owner.is_null() {
            return false;
        }
        cache.owner.set(self.id());
        cache.drain.set(Some(drain_all::<A>));
        true
    }
    // ANCHOR_END: claim

    // ANCHOR: alloc_path
    /// Serves a request of class `class` from `cache`, refilling it under the
    /// lock when it is empty. Null if the shared heap is out of memory.
    #[inline]
    fn alloc_cached(&self, cache: &Cache, class: usize) -> *mut u8 {
        let bin = &cache.bins[class];
        if let Some(block) = bin.pop() {
            return block.as_ptr();
        }
        self.refills.fetch_add(1, Ordering::Relaxed);
        let layout = class_layout(class);
        self.shared.with_allocator(|heap| {
            for _ in 0..self.batch {
                match heap.allocate(layout) {
                    // SAFETY: a fresh block of this class, ours alone.
                    Ok(block) => unsafe { bin.push(block) },
                    Err(_) => break,
                }
            }
        });
        bin.pop().map_or(null_mut(), NonNull::as_ptr)
    }

    /// Puts a freed block of class `class` into `cache`, first draining a
    /// batch under the lock if the class is full.
    ///
    /// # Safety
    ///
    /// `block` was allocated from the shared heap with `class_layout(class)`
    /// and is not used by anyone any more.
    #[inline]
    unsafe fn dealloc_cached(&self, cache: &Cache, class: usize, block: NonNull<u8>) {
        let bin = &cache.bins[class];
        if cfg!(debug_assertions) && bin.contains(block) {
            abort_with("allocators: ThreadCached: block freed twice (it is already cached)\n");
        }
        if bin.len.get() >= self.max {
            self.drains.fetch_add(1, Ordering::Relaxed);
            let layout = class_layout(class);
            self.shared.with_allocator(|heap| {
                for _ in 0..self.batch {
                    let Some(old) = bin.pop() else { break };
                    // SAFETY: cached blocks were allocated from this heap
                    // with `layout`, and are ours alone.
                    unsafe { heap.deallocate(old, layout) };
                }
            });
        }
        // SAFETY: the caller's guarantee.
        unsafe { bin.push(block) };
    }
    // ANCHOR_END: alloc_path

    /// Gives every block in the calling thread's cache back to the shared
    /// heap, if the cache is this allocator's. Does not allocate.
    pub fn flush(&self) {
        let _ = CACHE.try_with(|cache| {
            if cache.owner.get() == self.id() {
                // SAFETY: the cache is ours: `owner` is our `&'static
                // Locked<A>`, and its blocks came from it.
                unsafe { drain_all::<A>(self.id(), cache) };
            }
        });
    }

    /// How many blocks the calling thread's cache holds for this allocator.
    pub fn cached_blocks(&self) -> usize {
        CACHE
            .try_with(|cache| {
                if cache.owner.get() != self.id() {
                    return 0;
                }
                cache.bins.iter().map(|bin| bin.len.get() as usize).sum()
            })
            .unwrap_or(0)
    }

    /// Calls `visit` with the address of every block that the calling
    /// thread's cache holds in class `class` (the first [`CACHE_MAX`] of
    /// them, for a cache made `with_batch` larger), most recently pushed
    /// first, for tests and figures. Nothing if the cache is another heap's,
    /// or the class is out of range. Reads the links, changes nothing, and
    /// does not allocate (unless `visit` does).
    pub fn for_each_cached(&self, class: usize, visit: &mut dyn FnMut(usize)) {
        let _ = CACHE.try_with(|cache| {
            let Some(bin) = cache.bins.get(class) else {
                return;
            };
            if cache.owner.get() != self.id() {
                return;
            }
            // Read the whole list first: `visit` may allocate, and so push
            // to or pop from this very bin.
            let mut blocks = [0usize; CACHE_MAX as usize];
            let mut count = 0;
            for (slot, at) in blocks
                .iter_mut()
                .zip(bin.blocks().take(bin.len.get() as usize))
            {
                *slot = at.as_ptr().addr();
                count += 1;
            }
            for &block in &blocks[..count] {
                visit(block);
            }
        });
    }

    // ANCHOR: check
    /// The heap checker: the shared heap's own checker, then the calling
    /// thread's cache (other threads' caches are theirs alone). Each class
    /// holds at most its maximum, its count matches its list, every block is
    /// aligned, lies in the shared heap, and is cached only once.
    /// Does not allocate.
    pub fn check(&self) -> Result<(), HeapError> {
        self.shared.with_allocator(|heap| heap.check())?;
        let checked = CACHE.try_with(|cache| {
            if cache.owner.get() != self.id() {
                return Ok(());
            }
            self.shared
                .with_allocator(|heap| check_cache(cache, heap, self.max))
        });
        checked.unwrap_or(Ok(()))
    }
    // ANCHOR_END: check
}

/// The cache half of `ThreadCached::check`.
fn check_cache<A: RawAllocator>(cache: &Cache, heap: &A, max: u32) -> Result<(), HeapError> {
    for (class, bin) in cache.bins.iter().enumerate() {
        let size = class_layout(class).size();
        let mut count = 0;
        for at in bin.blocks() {
            let addr = at.as_ptr().addr();
            count += 1;
            if count > bin.len.get() || count > max {
                return Err(HeapError::new(addr, "cache list longer than its count"));
            }
            if !addr.is_multiple_of(CACHE_ALIGN) || !heap.owns(addr..addr + size) {
                return Err(HeapError::new(addr, "cached block not in the heap"));
            }
            // Cached twice: in this class further down, or in another class.
            // Only addresses are compared: the walks read links of blocks
            // that are all cached, so all free and ours.
            let same: usize = cache
                .bins
                .iter()
                .map(|other| other.blocks().filter(|&block| block == at).count())
                .sum();
            if same != 1 {
                return Err(HeapError::new(addr, "block cached twice"));
            }
        }
        if count != bin.len.get() {
            return Err(HeapError::new(0, "cache count disagrees with its list"));
        }
    }
    Ok(())
}

// ANCHOR: global_alloc
// SAFETY: a block of a cached class is always allocated from the shared heap
// with its class's layout (at least the size asked for, aligned to 16, which
// is at least the alignment asked for) and given back with it; in between it
// is owned either by the program or by exactly one thread's cache. Other
// requests go to `Locked`, which is a sound `GlobalAlloc`. Nothing here
// unwinds: there is no panic on these paths, and failed checks abort.
unsafe impl<A: RawAllocator> GlobalAlloc for ThreadCached<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = cache_class(layout) else {
            // SAFETY: the caller's guarantees, passed on.
            return unsafe { self.shared.alloc(layout) };
        };
        let served = CACHE.try_with(|cache| {
            if self.claim(cache) {
                Some(self.alloc_cached(cache, class))
            } else {
                None
            }
        });
        match served {
            Ok(Some(block)) => block,
            // Another heap's cache, or the thread-local is being destroyed.
            // SAFETY: `class_layout` has a non-zero size.
            _ => unsafe { self.shared.alloc(class_layout(class)) },
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(block) = NonNull::new(ptr) else {
            return;
        };
        let Some(class) = cache_class(layout) else {
            // SAFETY: the caller's guarantees, passed on.
            return unsafe { self.shared.dealloc(ptr, layout) };
        };
        let cached = CACHE.try_with(|cache| {
            if self.claim(cache) {
                // SAFETY: the caller gives the block back, and it was
                // allocated with `class_layout(class)` (see `alloc`).
                unsafe { self.dealloc_cached(cache, class, block) };
                true
            } else {
                false
            }
        });
        if cached != Ok(true) {
            // SAFETY: as above, straight to the heap it came from.
            unsafe { self.shared.dealloc(ptr, class_layout(class)) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        match (cache_class(layout), cache_class(new_layout)) {
            // Neither is cached: the heap may resize in place.
            // SAFETY: the caller's guarantees, passed on.
            (None, None) => unsafe { self.shared.realloc(ptr, layout, new_size) },
            // The same class: the block is already large enough.
            (Some(old), Some(new)) if old == new => ptr,
            _ => {
                // SAFETY: `new_layout` is a valid layout of a non-zero size
                // (GlobalAlloc's contract for `new_size`).
                let new = unsafe { self.alloc(new_layout) };
                if !new.is_null() {
                    // SAFETY: both blocks are live, distinct, and at least
                    // this long.
                    unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size)) };
                    // SAFETY: the caller's block, freed once.
                    unsafe { self.dealloc(ptr, layout) };
                }
                new
            }
        }
    }
}
// ANCHOR_END: global_alloc

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_the_small_sizes() {
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        assert_eq!(cache_class(l(0, 1)), Some(0));
        assert_eq!(cache_class(l(16, 16)), Some(0));
        assert_eq!(cache_class(l(17, 8)), Some(1));
        assert_eq!(cache_class(l(256, 1)), Some(15));
        assert_eq!(cache_class(l(512, 1)), Some(31));
        assert_eq!(cache_class(l(513, 1)), None);
        assert_eq!(cache_class(l(257, 1)), Some(16));
        assert_eq!(cache_class(l(8, 32)), None);
        for size in 0..=CACHE_LIMIT {
            let class = cache_class(l(size, 1)).unwrap();
            assert!(class_layout(class).size() >= size);
        }
    }
}
