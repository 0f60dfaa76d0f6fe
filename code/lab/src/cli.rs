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

/// Why a command line was not turned into arguments: `--help` was asked
/// for (and printed), or an argument was bad.
#[derive(Debug)]
pub enum Stop {
    /// `--help`: the usage is printed; exit 0.
    Help,
    /// A bad argument, named in the error; exit 2.
    Bad(lexopt::Error),
}

impl From<lexopt::Error> for Stop {
    fn from(error: lexopt::Error) -> Stop {
        Stop::Bad(error)
    }
}

impl From<String> for Stop {
    fn from(message: String) -> Stop {
        Stop::Bad(message.into())
    }
}

impl From<&str> for Stop {
    fn from(message: &str) -> Stop {
        Stop::Bad(message.into())
    }
}

/// The next argument, after handling `-h` and `--help` (which print
/// `usage` and stop) the same way in every binary.
pub fn next<'p>(
    parser: &'p mut lexopt::Parser,
    usage: &str,
) -> Result<Option<lexopt::Arg<'p>>, Stop> {
    use lexopt::prelude::*;
    match parser.next()? {
        Some(Short('h') | Long("help")) => {
            print!("{usage}");
            Err(Stop::Help)
        }
        arg => Ok(arg),
    }
}

/// The exit status after a [`Stop`]: 0 after `--help`, 2 (with the error
/// on standard error) after a bad argument.
#[cold]
pub fn stopped(program: &str, stop: Stop) -> ExitCode {
    match stop {
        Stop::Help => ExitCode::SUCCESS,
        Stop::Bad(error) => usage_error(program, error),
    }
}

/// The value after a flag, split at commas (empty pieces skipped), each
/// piece turned into a `T` by `item`.
pub fn list<T>(
    parser: &mut lexopt::Parser,
    mut item: impl FnMut(&str) -> Result<T, String>,
) -> Result<Vec<T>, lexopt::Error> {
    use lexopt::prelude::*;
    let value = parser.value()?.string()?;
    value
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| item(s).map_err(lexopt::Error::from))
        .collect()
}
