//! What the lab's command lines share: [`lexopt`] for parsing, exit status 2
//! for a bad argument (named in the message), `--help` on standard output.

use std::process::ExitCode;

/// Prints `program: error (see --help)` and returns exit status 2, the
/// status of a usage error.
#[cold]
pub fn usage_error(program: &str, error: impl std::fmt::Display) -> ExitCode {
    eprintln!("{program}: {error} (see --help)");
    ExitCode::from(2)
}

/// The value after `flag`, as a whole number of at least 1.
pub fn positive(parser: &mut lexopt::Parser, flag: &str) -> Result<usize, lexopt::Error> {
    use lexopt::prelude::*;
    let n: usize = parser.value()?.parse()?;
    if n == 0 {
        return Err(format!("{flag} needs a whole number of at least 1").into());
    }
    Ok(n)
}

/// Parses a command line that takes only `--help`: `Ok(true)` to go on,
/// `Ok(false)` after printing `usage`.
pub fn help_only(usage: &str) -> Result<bool, lexopt::Error> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    match parser.next()? {
        None => Ok(true),
        Some(Short('h') | Long("help")) => {
            print!("{usage}");
            Ok(false)
        }
        Some(arg) => Err(arg.unexpected()),
    }
}
