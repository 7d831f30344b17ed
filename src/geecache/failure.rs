//! How an exchange on a connection fails: nothing of an answer came
//! ([`ConnectionError`]: the connection could not be made, or failed or
//! closed first), or an answer began and then broke ([`Broken`]).

use std::sync::Arc;

/// How an exchange failed.
#[derive(Debug)]
pub enum ExchangeError {
    /// Nothing of an answer arrived before the connection failed: on a
    /// connection that had served before, the server most likely closed it
    /// while idle, and the request can be sent again on a new one.
    NothingReceived(ConnectionError),
    /// The answer broke off or did not parse.
    Broken(Broken, String),
}

/// Why a connection brought no answer: it could not be made, or it failed
/// or closed before the first byte of the answer came.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// The connection could not be made.
    #[error("connecting to {authority}: {source}")]
    Connect {
        /// The host and port connected to.
        authority: String,
        /// What the operating system said.
        source: IoError,
    },
    /// The request could not be sent.
    #[error("{authority}: sending: {source}")]
    Send {
        /// The host and port the connection is to.
        authority: String,
        /// What the operating system said.
        source: IoError,
    },
    /// Reading failed before any of the answer came.
    #[error("{authority}: reading: {source}")]
    Read {
        /// The host and port the connection is to.
        authority: String,
        /// What the operating system said.
        source: IoError,
    },
    /// The server closed the connection without answering.
    #[error("{authority}: the server closed the connection")]
    Closed {
        /// The host and port the connection is to.
        authority: String,
    },
}

impl ConnectionError {
    /// What the operating system said went wrong, when it said anything
    /// (a connection the server closed has no error of its own).
    pub fn kind(&self) -> Option<std::io::ErrorKind> {
        match self {
            ConnectionError::Connect { source, .. }
            | ConnectionError::Send { source, .. }
            | ConnectionError::Read { source, .. } => Some(source.0.kind()),
            ConnectionError::Closed { .. } => None,
        }
    }
}

/// An I/O error that can be cloned, so that one failed fetch can be handed
/// to every caller that waited on it, and compared (by its kind and text).
#[derive(Clone, Debug, thiserror::Error)]
#[error(transparent)]
pub struct IoError(Arc<std::io::Error>);

impl From<std::io::Error> for IoError {
    fn from(error: std::io::Error) -> IoError {
        IoError(Arc::new(error))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &IoError) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoError {}

/// How an answer that had begun to arrive went wrong, each kind counted
/// apart by the peer client's callers and by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Broken {
    /// The connection failed (a reset) in the middle of the answer.
    Reset,
    /// The server closed the connection before the answer was whole: a
    /// body shorter than its `Content-Length`, a head cut off.
    Truncated,
    /// Part of the answer came (the head, say), then nothing more within
    /// the client's timeout. The exchange itself never says this; the
    /// client does when its timeout ends an answer that had begun.
    Stalled,
    /// The answer did not parse, or did not agree with its own framing:
    /// a bad `Content-Length`, or bytes beyond the body it announced.
    Malformed,
}

impl Broken {
    /// Every kind, in the order results list them.
    pub const ALL: [Broken; 4] = [
        Broken::Reset,
        Broken::Truncated,
        Broken::Stalled,
        Broken::Malformed,
    ];

    /// The kind's name as results and scenarios write it: `reset`, ...
    pub fn name(self) -> &'static str {
        match self {
            Broken::Reset => "reset",
            Broken::Truncated => "truncated",
            Broken::Stalled => "stalled",
            Broken::Malformed => "malformed",
        }
    }
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
