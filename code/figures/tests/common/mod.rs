//! What both test binaries of this crate share, taken in with `mod common;`
//! (cargo builds only `tests/*.rs` as tests, so this is not one of its own).

use std::path::PathBuf;

/// Compares `text` with the committed `imgs/NAME`, or writes it there under
/// UPDATE_FIGURES.
pub fn check_committed(name: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../imgs")
        .join(name);
    if std::env::var_os("UPDATE_FIGURES").is_some() {
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write imgs/{name}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "imgs/{name} is stale: regenerate it with `UPDATE_FIGURES=1 cargo test -p figures`"
    );
}
