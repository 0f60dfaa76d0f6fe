//! The book's allocators are listed once, in `allocators::catalog::Book`:
//! every tool's list must hold each of them, or leave it out only for the
//! property the tool states (`Book::search`).

use allocators::catalog::{Book, Search};
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

/// `tests/suite/stress.rs` runs `STRESSED`.
#[test]
fn the_stress_test_covers_the_catalog() {
    assert_eq!(allocators::catalog::STRESSED, Book::ALL);
}

#[test]
fn scaling_takes_every_book_allocator_that_reuses_without_a_walk() {
    let books = registry::scaling_books();
    for b in Book::ALL {
        let expected = b.search() == Search::SizeClass;
        assert_eq!(books.contains(&b), expected, "{}", b.name());
    }
    assert!(!books.is_empty(), "scaling measures at least one");
}

#[test]
fn cost_curve_takes_every_book_allocator_that_searches() {
    let books = registry::cost_curve_books();
    for b in Book::ALL {
        let expected = b.is_free_list();
        assert_eq!(books.contains(&b), expected, "{}", b.name());
    }
    let in_order: Vec<Book> = Book::ALL
        .into_iter()
        .filter(|b| books.contains(b))
        .collect();
    assert_eq!(books, in_order, "in catalog order");
}

/// `imgs/bad-inputs.md` has a column for each allocator of the catalog:
/// its own (`growing bump` for `growing-bump`), or the free lists' shared
/// one, which names its family (`implicit` for `implicit-next`).
/// `code/tests/suite/bad_inputs.rs` checks the whole header, and runs its
/// tests on every `Book::ALL` entry.
#[test]
fn the_bad_input_table_has_a_column_for_every_book_allocator() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../imgs/bad-inputs.md");
    let text = std::fs::read_to_string(path).expect("the bad-input table");
    let header = text.lines().next().unwrap_or_default();
    let columns: Vec<&str> = header.split('|').map(str::trim).collect();
    for b in Book::ALL {
        let own = b.name().replace('-', " ");
        let family = b.name().split('-').next().unwrap_or_default();
        let shared = |column: &&str| {
            column
                .strip_suffix(" free lists")
                .is_some_and(|list| list.split(", ").any(|f| f == family))
        };
        assert!(
            columns.contains(&own.as_str()) || columns.iter().any(shared),
            "{} has no column in {path}: {header}",
            b.name()
        );
    }
}
