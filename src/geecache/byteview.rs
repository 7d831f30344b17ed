//! An immutable view of a cached value.
//!
//! The Go original hands out copies of its byte slice so that a caller can
//! never scribble over what the cache holds. `bytes::Bytes` gives the same
//! guarantee without the copy: it is reference counted and offers no mutable
//! access, so cloning a `ByteView` is a counter increment.

use bytes::Bytes;

use super::lru::Weigh;

/// An immutable, cheaply cloned value held by the cache.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ByteView {
    bytes: Bytes,
}

impl ByteView {
    /// Wraps bytes that nobody else can mutate any more.
    pub fn new(bytes: Bytes) -> Self {
        ByteView { bytes }
    }

    /// Copies a slice into a new view.
    pub fn copy_from_slice(data: &[u8]) -> Self {
        ByteView {
            bytes: Bytes::copy_from_slice(data),
        }
    }

    /// The number of bytes in the value.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the value holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A read-only borrow of the value.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes
    }

    /// A copy the caller owns and may change freely.
    pub fn to_vec(&self) -> Vec<u8> {
        self.bytes.to_vec()
    }

    /// A shared handle on the same bytes, for writing into a response body
    /// without a copy. `Bytes` has no mutable access, so this is no alias.
    pub fn to_bytes(&self) -> Bytes {
        self.bytes.clone()
    }
}

impl From<Bytes> for ByteView {
    fn from(bytes: Bytes) -> Self {
        ByteView::new(bytes)
    }
}

impl From<Vec<u8>> for ByteView {
    fn from(data: Vec<u8>) -> Self {
        ByteView::new(Bytes::from(data))
    }
}

impl From<&'static str> for ByteView {
    fn from(text: &'static str) -> Self {
        ByteView::new(Bytes::from_static(text.as_bytes()))
    }
}

impl Weigh for ByteView {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl std::fmt::Display for ByteView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_copy_changes_without_touching_the_view() {
        let view = ByteView::from(b"630".to_vec());
        let mut copy = view.to_vec();
        copy[0] = b'9';
        assert_eq!(view.as_slice(), b"630");
        assert_eq!(copy, b"930");
    }

    #[test]
    fn clones_share_the_same_bytes() {
        let view = ByteView::copy_from_slice(b"hello");
        let clone = view.clone();
        assert_eq!(view.as_slice().as_ptr(), clone.as_slice().as_ptr());
        assert_eq!(clone.len(), 5);
        assert_eq!(clone.to_string(), "hello");
    }

    #[test]
    fn a_view_made_from_a_slice_does_not_alias_it() {
        let mut source = b"abc".to_vec();
        let view = ByteView::copy_from_slice(&source);
        source[0] = b'z';
        assert_eq!(view.as_slice(), b"abc");
        assert!(!view.is_empty());
        assert!(ByteView::default().is_empty());
    }
}
