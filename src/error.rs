//! Errors typed by who must act on them, so the binary can map each to its exit code and a scheduler
//! can tell a bad invocation (2) from rejected input (3), missing reference data (4) and our own
//! bugs (1). Input errors carry file, row and column so the person fixing the file can find the cell.

use std::fmt;
use std::path::PathBuf;

/// Exit code for success, whatever was flagged.
pub const EXIT_OK: i32 = 0;
/// Exit code for internal errors (a bug in cipwatch or its environment).
pub const EXIT_INTERNAL: i32 = 1;
/// Exit code for usage or configuration errors.
pub const EXIT_USAGE: i32 = 2;
/// Exit code for rejected input (missing file or column, unreadable file).
pub const EXIT_INPUT: i32 = 3;
/// Exit code for missing or stale reference data (catalog, registry age).
pub const EXIT_REFERENCE: i32 = 4;
/// Exit code when another run holds the output folder's lock.
pub const EXIT_BUSY: i32 = 5;

/// Where in an input a problem is: file, and where known the row (1-based line for CSV) and column.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: PathBuf,
    pub row: Option<u64>,
    pub column: Option<String>,
}

impl Location {
    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location {
            file: file.into(),
            row: None,
            column: None,
        }
    }
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column {column}")?;
        }
        Ok(())
    }
}

/// The error a failure keeps as its cause (`std::error::Error::source`).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What every internal error tells the person who reads it.
pub const BUG_REPORT: &str = "this is a bug in cipwatch or a failure of its environment (disk, \
memory); if the environment is fine, please report it with the command line, `cipwatch --version`, \
the run's line in runs.jsonl and this message (an engine's message may quote cell values: card and \
ID numbers are masked, but read it before you send it)";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line or a parameter override is wrong.
    #[error("usage: {0}")]
    Usage(String),
    /// The configuration, rule profile, query or template files are wrong.
    #[error("config: {source_name}: {message}")]
    Config {
        source_name: String,
        message: String,
        /// The failure behind it, where there is one (a query that does not plan).
        #[source]
        cause: Option<Cause>,
    },
    /// An input file cannot be used at all.
    #[error("input rejected: {location}: {message}")]
    Input { location: Location, message: String },
    /// The accelerator catalog or another piece of reference data lacks what the data needs.
    #[error("reference data: {0}")]
    Reference(String),
    /// Another run is writing the same output folder.
    #[error("busy: {0}")]
    Busy(String),
    /// A failure that is cipwatch's own fault or its environment's (disk full, out of memory, a
    /// bug): what was being done, and the failure itself as the cause.
    #[error("internal error: {context}{}", cause.as_ref().map(|c| format!(": {c}")).unwrap_or_default())]
    Internal {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Config { .. } => EXIT_USAGE,
            Error::Input { .. } => EXIT_INPUT,
            Error::Reference(_) => EXIT_REFERENCE,
            Error::Busy(_) => EXIT_BUSY,
            Error::Internal { .. } => EXIT_INTERNAL,
        }
    }

    /// A short name of the kind, for logs and the run history.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Config { .. } => "config",
            Error::Input { .. } => "input",
            Error::Reference(_) => "reference",
            Error::Busy(_) => "busy",
            Error::Internal { .. } => "internal",
        }
    }

    /// A TOML file that does not parse: the message names the line and column (1-based) of the
    /// fault, found from the error's byte span in `text`.
    pub fn toml(source_name: impl fmt::Display, text: &str, err: &toml::de::Error) -> Self {
        Error::config(
            source_name,
            format!("{}{}", toml_place(text, err), err.message()),
        )
    }

    /// A configuration error without a cause of its own.
    pub fn config(source_name: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Config {
            source_name: source_name.to_string(),
            message: message.to_string(),
            cause: None,
        }
    }

    /// A configuration error caused by `err` (its text is the message; `source()` returns it).
    pub fn config_caused<E>(source_name: impl fmt::Display, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Config {
            source_name: source_name.to_string(),
            message: err.to_string(),
            cause: Some(Box::new(err)),
        }
    }

    pub fn input(location: Location, message: impl fmt::Display) -> Self {
        Error::Input {
            location,
            message: message.to_string(),
        }
    }

    /// An I/O or engine failure while doing `context`, kept as the cause.
    pub fn internal<E>(context: impl fmt::Display, err: E) -> Self
    where
        E: std::error::Error + Send + Sync + 'static,
    {
        Error::Internal {
            context: context.to_string(),
            cause: Some(Box::new(err)),
        }
    }

    /// A broken invariant: a bug, described by `what`.
    pub fn bug(what: impl fmt::Display) -> Self {
        Error::Internal {
            context: what.to_string(),
            cause: None,
        }
    }
}

/// Where a TOML parse error is: `line L, column C: ` (1-based, from the error's byte span in
/// `text`), or the place its own text names, or nothing.
pub fn toml_place(text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: ")
        }
        // Some parse errors carry no span; their text names the place ("… at line 3, column 7").
        None => err
            .to_string()
            .lines()
            .next()
            .and_then(|l| l.split_once(" at "))
            .map(|(_, place)| format!("{place}: "))
            .unwrap_or_default(),
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Attaches a context to Polars and I/O failures, which are internal unless a caller knows better.
pub trait Context<T> {
    fn or_internal(self, what: impl fmt::Display) -> Result<T>;
}

impl<T, E> Context<T> for std::result::Result<T, E>
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn or_internal(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::internal(what, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_internal_error_keeps_its_cause_and_says_what_it_was_doing() {
        let io = std::io::Error::new(std::io::ErrorKind::StorageFull, "no space left");
        let err = Error::internal("writing flags.csv", io);
        assert_eq!(err.exit_code(), EXIT_INTERNAL);
        assert_eq!(
            err.to_string(),
            "internal error: writing flags.csv: no space left"
        );
        let cause = err.source().expect("the cause is kept");
        assert_eq!(cause.to_string(), "no space left");
        assert!(Error::bug("a broken invariant").source().is_none());
    }

    #[test]
    fn a_query_that_does_not_plan_is_a_config_error_with_its_cause() {
        let io = std::io::Error::other("column 'x' not found");
        let err = Error::config_caused("query 02_usage_slots.sql (embedded)", io);
        assert_eq!(err.exit_code(), EXIT_USAGE);
        assert!(err.to_string().contains("column 'x' not found"), "{err}");
        assert!(err.source().is_some());
    }
}
