//! [`Cause`]: the underlying error of a failed step when it comes from a crate outside the
//! workspace (the HTTP client, a JSON or ZIP decoder, the certificate generator).
//!
//! Public error types keep such an error as their `#[source]`, so that a report still shows
//! what the library said, without naming the library's type in their own signature: callers
//! are not tied to that crate's version, and swapping the library changes no public type.

use std::error::Error;
use std::fmt;

/// An error from a library outside the workspace, kept as the cause of one of ours. Its
/// message and its own causes are the wrapped error's.
pub struct Cause(Box<dyn Error + Send + Sync + 'static>);

impl Cause {
    /// Wraps `error`.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// The wrapped error, when it is a `T`.
    pub fn downcast_ref<T: Error + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn message_and_causes_are_the_wrapped_errors() {
        let inner = std::io::Error::other("disk on fire");
        let cause = Cause::new(Outer(inner));
        assert_eq!(cause.to_string(), "outer");
        assert_eq!(cause.source().unwrap().to_string(), "disk on fire");
        assert!(cause.downcast_ref::<Outer>().is_some());
        assert!(cause.downcast_ref::<std::io::Error>().is_none());
    }
}
