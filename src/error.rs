//! The one error type every store returns, with a stable machine-readable code per variant.

use std::fmt;

/// Why a session operation failed. [`Error::code`] is stable and is what the JS facade exposes
/// as `error.code`; the message is for people and names the session id where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No session has this id.
    NotFound {
        /// The id that was looked up.
        id: String,
    },
    /// The caller passed something the store will not hold; nothing was written.
    InvalidInput {
        /// What was wrong, naming the field.
        message: String,
    },
    /// The origin's storage quota is exhausted; the write was rolled back.
    QuotaExceeded {
        /// What was being written, and the browser's words.
        message: String,
    },
    /// The storage engine failed (or holds data this version cannot read).
    Storage {
        /// What was being done, and the underlying cause.
        message: String,
    },
    /// The store was closed, by `close()` or because a newer version of the database took over.
    Closed {
        /// Why it is closed.
        message: String,
    },
    /// Storage cannot be used here: IndexedDB is missing, refused or blocked, or a server or
    /// database cannot be reached.
    Unavailable {
        /// What was tried and why it failed.
        message: String,
    },
    /// The write would clash with sessions already stored (an import told to fail on them);
    /// nothing was written.
    Conflict {
        /// Which sessions clash.
        message: String,
    },
    /// A server refused the request's credentials (none, unknown or revoked); nothing was read
    /// or written.
    Unauthorized {
        /// Why the credentials were refused.
        message: String,
    },
    /// A request or value is larger than the configured limit; nothing was written.
    TooLarge {
        /// What was too large, and the limit.
        message: String,
    },
    /// A bug in this library, not a problem with the input or the storage; nothing was written.
    Internal {
        /// What failed, and the cause.
        message: String,
    },
}

impl Error {
    /// Every code [`Error::code`] returns, in declaration order.
    pub const CODES: [&'static str; 10] = [
        "NOT_FOUND",
        "INVALID_INPUT",
        "QUOTA_EXCEEDED",
        "STORAGE",
        "CLOSED",
        "UNAVAILABLE",
        "CONFLICT",
        "UNAUTHORIZED",
        "TOO_LARGE",
        "INTERNAL",
    ];

    /// The stable code of this error, one of [`Error::CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound { .. } => "NOT_FOUND",
            Error::InvalidInput { .. } => "INVALID_INPUT",
            Error::QuotaExceeded { .. } => "QUOTA_EXCEEDED",
            Error::Storage { .. } => "STORAGE",
            Error::Closed { .. } => "CLOSED",
            Error::Unavailable { .. } => "UNAVAILABLE",
            Error::Conflict { .. } => "CONFLICT",
            Error::Unauthorized { .. } => "UNAUTHORIZED",
            Error::TooLarge { .. } => "TOO_LARGE",
            Error::Internal { .. } => "INTERNAL",
        }
    }

    pub(crate) fn not_found(id: &str) -> Self {
        Error::NotFound { id: id.to_owned() }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn storage(message: impl Into<String>) -> Self {
        Error::Storage {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound { id } => write!(f, "session \"{id}\" not found"),
            Error::InvalidInput { message }
            | Error::QuotaExceeded { message }
            | Error::Storage { message }
            | Error::Closed { message }
            | Error::Unavailable { message }
            | Error::Conflict { message }
            | Error::Unauthorized { message }
            | Error::TooLarge { message }
            | Error::Internal { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Result of every store operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
