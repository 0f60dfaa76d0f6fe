//! The book's allocators are listed once, in `allocators::catalog::Book`:
//! every tool's list must hold each of them.

use allocators::catalog::Book;
use lab::registry;

fn book_names() -> Vec<&'static str> {
    Book::ALL.iter().map(|b| b.name()).collect()
}

#[test]
fn replay_lists_every_book_allocator_in_order() {
    assert_eq!(registry::book_names(), book_names());
    for b in Book::ALL {
        let entry = registry::find(b.name()).expect("in the registry");
        assert_eq!(entry.colour, b.colour(), "{}", b.name());
        assert_eq!(entry.about, b.about(), "{}", b.name());
    }
}

#[test]
fn every_allocator_has_its_own_colour() {
    let mut colours: Vec<u32> = registry::ALLOCATORS.iter().map(|e| e.colour).collect();
    colours.sort_unstable();
    colours.dedup();
    assert_eq!(colours.len(), registry::ALLOCATORS.len());
}

#[test]
fn workload_lists_every_book_allocator_after_the_peers() {
    let peers: Vec<&str> = lab::dispatch::PEERS.iter().map(|(n, _)| *n).collect();
    let names = lab::dispatch::NAMES;
    let books = book_names();
    let global_only: Vec<&str> = allocators::catalog::GLOBAL_ONLY
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(&names[..peers.len()], &peers[..]);
    assert_eq!(&names[peers.len()..peers.len() + books.len()], &books[..]);
    assert_eq!(&names[peers.len() + books.len()..], &global_only[..]);
    for name in names {
        assert!(lab::dispatch::label(name).is_some(), "{name} has a label");
    }
}

#[test]
fn the_stress_test_covers_the_catalog() {
    assert_eq!(allocators::catalog::STRESSED, Book::ALL);
}
