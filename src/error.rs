//! The one error type of samlab. Everything a user can cause (a malformed spec or data file, a
//! shape mismatch, a non-finite or impossible parameter, an unwritable output path) becomes an
//! [`Error`] that names the file and the field; the CLI maps every variant to exit code 2.

use std::path::PathBuf;

/// A typed, user-facing error. `Display` gives a one-line message naming the file and field.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// An output file could not be written (nothing was left half-written).
    #[error("{}: cannot write: {source}", file.display())]
    Write {
        /// The file.
        file: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// A file is not valid TOML/JSON, or does not have the expected structure.
    #[error("{}: malformed {format}: {message}", file.display())]
    Parse {
        /// The file.
        file: PathBuf,
        /// What was expected (e.g. "spec (TOML)", "samlab-regression-v1 data (JSON)").
        format: &'static str,
        /// The parser's message, which locates the problem.
        message: String,
    },
    /// A field has an impossible value: missing, non-finite, negative, wrong shape, unknown name.
    #[error("{}field `{field}`: {message}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Invalid {
        /// The file the field came from, when there is one.
        file: Option<PathBuf>,
        /// The field, as a dotted path (e.g. `phase[1].lr`).
        field: String,
        /// What is wrong and, where useful, what is allowed.
        message: String,
    },
}

impl Error {
    /// An [`Error::Invalid`] with no file attached yet (see [`Error::in_file`]).
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            file: None,
            field: field.into(),
            message: message.into(),
        }
    }

    /// Attach a file to an [`Error::Invalid`] that has none; other variants are returned as-is.
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            Error::Invalid {
                file: None,
                field,
                message,
            } => Error::Invalid {
                file: Some(path.into()),
                field,
                message,
            },
            other => other,
        }
    }

    /// Prefix the field of an [`Error::Invalid`] with `prefix.` (e.g. `phase[0]`); an error that
    /// already names its own file (a data file inside a spec) keeps its field as it is.
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Error::Invalid {
                file: None,
                field,
                message,
            } => Error::Invalid {
                file: None,
                field: format!("{prefix}.{field}"),
                message,
            },
            other => other,
        }
    }
}

/// Shorthand for `std::result::Result<T, samlab::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Check that a value is finite, naming the field otherwise.
pub fn finite(field: &str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Error::invalid(field, format!("must be finite, got {v}")))
    }
}

/// Check that a value is finite and strictly positive.
pub fn positive(field: &str, v: f64) -> Result<f64> {
    finite(field, v)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(Error::invalid(field, format!("must be > 0, got {v}")))
    }
}

/// Check that a value is finite and non-negative.
pub fn non_negative(field: &str, v: f64) -> Result<f64> {
    finite(field, v)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(Error::invalid(field, format!("must be >= 0, got {v}")))
    }
}
