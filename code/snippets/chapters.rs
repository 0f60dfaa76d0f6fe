//! Every ```` ```rust ```` block of every chapter, as a test (see
//! `code/snippets/book_build.rs`). Test names are the chapter's file name, the
//! section and the line of the block in the expanded chapter.
include!(concat!(env!("OUT_DIR"), "/skeptic-tests.rs"));
