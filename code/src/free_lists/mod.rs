//! The free-list allocators and the parts they share.
//!
//! - [`block`]: the block format: headers, footers (boundary tags), the
//!   minimum block.
//! - `fit`: what a request needs from a free block, and the split in front
//!   of an over-aligned payload.
//! - [`heap`]: memory that grows at a break, the heap on top of it, and the
//!   walk over its blocks.
//! - [`list`]: a doubly linked list threaded through free blocks.
//! - `shared`: what every free-list allocator does the same way (freeing,
//!   growing, resizing in place), written once.
//! - [`implicit`], [`explicit`] and [`segregated`]: the three allocators.

pub mod block;
pub mod explicit;
mod fit;
pub mod heap;
pub mod implicit;
pub mod list;
pub mod segregated;
mod shared;
