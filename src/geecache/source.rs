//! Where an API answer came from, as the API node tells its client in the
//! `X-GeeCache-Source` header: its own cache, the key's owner, or a load
//! from the slow store. The load driver keeps a latency histogram for
//! each, so a cache hit's latency is not mixed with a slow load's.

/// The header an `/api` answer carries.
pub const HEADER: &str = "x-geecache-source";

/// Where a value came from, as the API node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The API node's main or hot cache.
    Hit,
    /// The key's owner, another node (from its cache or its own load).
    Peer,
    /// The API node's getter: a load from the slow store, or a wait for
    /// one already under way (singleflight).
    Load,
}

impl Source {
    /// Every source, in the order results list them.
    pub const ALL: [Source; 3] = [Source::Hit, Source::Peer, Source::Load];

    /// The header's value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Source::Hit => "hit",
            Source::Peer => "peer",
            Source::Load => "load",
        }
    }

    /// The source a header value names; `None` for anything else.
    pub fn parse(value: &[u8]) -> Option<Source> {
        Source::ALL.into_iter().find(|source| {
            value
                .trim_ascii()
                .eq_ignore_ascii_case(source.as_str().as_bytes())
        })
    }

    /// Its place in [`Source::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_read_back_as_their_source() {
        for source in Source::ALL {
            assert_eq!(Source::parse(source.as_str().as_bytes()), Some(source));
            assert_eq!(Source::ALL[source.index()], source);
        }
        assert_eq!(Source::parse(b" HIT "), Some(Source::Hit));
        assert_eq!(Source::parse(b"miss"), None);
        assert_eq!(Source::parse(b""), None);
    }
}
