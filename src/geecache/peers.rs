//! The seams between a group and its peers, as GeeCache's `peers.go`: one
//! picks the peer that owns a key, the other fetches a value from a peer.
//! Tests put fakes behind them; the HTTP pool is the real thing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::byteview::ByteView;
use super::h1::{Broken, ConnectionError};
use super::path::BadUrl;

/// A boxed future that can cross threads, for object-safe async seams.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Finds the peer that owns a key.
pub trait PeerPicker: Send + Sync {
    /// The owner of `key`, or `None` when this node owns it (or knows no peers).
    fn pick_peer(&self, key: &str) -> Option<Arc<dyn PeerGetter>>;
}

/// Fetches a value from one peer.
pub trait PeerGetter: Send + Sync {
    /// Fetches `key` of `group` from the peer.
    fn get<'a>(
        &'a self,
        group: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<ByteView, PeerError>>;

    /// The peer's name on the ring (its base URL).
    fn peer(&self) -> &str;
}

/// Why a fetch from a peer failed; each kind is counted apart by the harness.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// The peer did not answer within the client's timeout.
    #[error("peer {peer}: no answer within {after:?}")]
    Timeout {
        /// The peer's base URL.
        peer: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// No connection could be made, or it broke before an answer came.
    #[error("peer {peer}: connection failed: {source}")]
    Connection {
        /// The peer's base URL.
        peer: String,
        /// Which step failed, and what the operating system said.
        source: ConnectionError,
    },
    /// The peer's answer began and then went wrong: the connection was
    /// reset, the body cut short, the answer stalled or did not parse.
    #[error("peer {peer}: {kind} answer: {message}")]
    Broken {
        /// The peer's base URL.
        peer: String,
        /// How it went wrong.
        kind: Broken,
        /// What the client saw.
        message: String,
    },
    /// The peer answered with a status other than 200.
    #[error("peer {peer} answered {status}: {text}")]
    Status {
        /// The peer's base URL.
        peer: String,
        /// The HTTP status code.
        status: u16,
        /// The answer's body, the peer's error text.
        text: String,
    },
    /// The request could not be formed, e.g. a peer URL that does not parse.
    #[error("peer {peer}: bad request: {source}")]
    Request {
        /// The peer's base URL.
        peer: String,
        /// The URL that is not `http://HOST:PORT`.
        source: BadUrl,
    },
}

impl PeerError {
    /// The owner's own load error, when the peer answered 500: the owner
    /// asked the store and the store said no. Loading locally would only ask
    /// the same store again, so this answer is final.
    pub fn owner_load_error(&self) -> Option<&str> {
        match self {
            PeerError::Status {
                status: 500, text, ..
            } => Some(text),
            _ => None,
        }
    }
}
