//! The peer protocol's paths, as GeeCache's `http.go` forms and reads
//! them: the base path, escaping, and the query parameters of `/api`.
//!
//! A peer request is `GET /geecache/{group}/{key}` with group and key
//! escaped. We escape every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`, and
//! decode `+` as a space, so requests from Go nodes (which escape with
//! `url.QueryEscape`) and from ours mean the same thing. Because `/` is
//! escaped inside a segment, keys with slashes, spaces, `%` or any Unicode
//! round-trip exactly.

use std::borrow::Cow;

/// A peer's or a target's URL that is not `http://HOST:PORT`, or a request
/// path that holds spaces or control bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad URL {0:?}: expected http://HOST:PORT")]
pub struct BadUrl(pub String);

/// Where peer requests live on every node by default, as in the source
/// document; the upstream repository's later days use `/_geecache/`.
pub const BASE_PATH: &str = "/geecache/";

/// Checks a base path for peer requests and gives it its trailing slash:
/// `/_geecache` becomes `/_geecache/`. It must start with `/` and hold only
/// letters, digits and `-._~/`.
pub fn base_path(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("{path:?}: a base path starts with '/'"));
    }
    if let Some(bad) = path
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~/".contains(*c)))
    {
        return Err(format!(
            "{path:?}: {bad:?} is not allowed in a base path (letters, digits and -._~/ are)"
        ));
    }
    if path.contains("//") || path == "/" {
        return Err(format!("{path:?}: not a base path such as /geecache/"));
    }
    Ok(if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    })
}

/// A path or query that does not follow the protocol.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is not `{base}{group}/{key}`.
    #[error("malformed path {0:?}: expected <base path><group>/<key>")]
    Shape(String),
    /// A `%` not followed by two hex digits, or bytes that are not UTF-8.
    #[error("malformed escape in {0:?}")]
    Escape(String),
}

/// Appends `text` to `out`, escaped as one path segment or query value.
pub fn escape_into(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if text.bytes().all(unreserved) {
        out.push_str(text);
        return;
    }
    for &byte in text.as_bytes() {
        if unreserved(byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xf)] as char);
        }
    }
}

/// Whether `byte` stands for itself in a path segment or query value
/// (RFC 3986's unreserved characters).
fn unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// Escapes one path segment or query value.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    escape_into(&mut escaped, text);
    escaped
}

/// Undoes [`escape`] and Go's `url.QueryEscape`: `%XX` becomes the byte,
/// `+` a space. Bad escapes and bytes that are not UTF-8 are errors. Text
/// with nothing escaped is borrowed, not copied.
pub fn unescape(raw: &str) -> Result<Cow<'_, str>, PathError> {
    if !raw.bytes().any(|byte| byte == b'%' || byte == b'+') {
        return Ok(Cow::Borrowed(raw));
    }
    let bad = || PathError::Escape(raw.to_owned());
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'%' => {
                let hex = bytes.get(at + 1..at + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                decoded.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                at += 3;
            }
            b'+' => {
                decoded.push(b' ');
                at += 1;
            }
            byte => {
                decoded.push(byte);
                at += 1;
            }
        }
    }
    String::from_utf8(decoded)
        .map(Cow::Owned)
        .map_err(|_| bad())
}

/// The path of a peer request for `key` in `group` under `base`, in one
/// allocation.
pub fn peer_path(base: &str, group: &str, key: &str) -> String {
    let mut path = String::with_capacity(base.len() + group.len() + key.len() + 8);
    path.push_str(base);
    escape_into(&mut path, group);
    path.push('/');
    escape_into(&mut path, key);
    path
}

/// Splits a peer request's raw path into its group and key. The key may be
/// empty (the group then answers "key is required"); the group may not.
pub fn parse_peer_path<'a>(
    base: &str,
    path: &'a str,
) -> Result<(Cow<'a, str>, Cow<'a, str>), PathError> {
    let shape = || PathError::Shape(path.to_owned());
    let rest = path.strip_prefix(base).ok_or_else(shape)?;
    let (group, key) = rest.split_once('/').ok_or_else(shape)?;
    if group.is_empty() {
        return Err(shape());
    }
    Ok((unescape(group)?, unescape(key)?))
}

/// The first value of each of `names` in a raw query string, unescaped, in
/// one pass over it. A malformed escape is an error only in a pair read
/// before every name was found.
pub fn query_params<'a, const N: usize>(
    query: &'a str,
    names: [&str; N],
) -> Result<[Option<Cow<'a, str>>; N], PathError> {
    let mut found: [Option<Cow<'a, str>>; N] = std::array::from_fn(|_| None);
    let mut missing = N;
    let mut rest = query;
    while missing > 0 {
        let pair = Pair::first(rest);
        let field = pair.field(rest)?;
        for (slot, name) in found.iter_mut().zip(names) {
            if slot.is_none() && field == name {
                *slot = Some(pair.value(rest)?);
                missing -= 1;
            }
        }
        if pair.end == rest.len() {
            break;
        }
        rest = &rest[pair.end + 1..];
    }
    Ok(found)
}

/// The first `field=value` pair of a query, found in one pass over its
/// bytes: where its `=` and its end (`&` or the end) are, and whether its
/// field or its value has anything escaped. Every position is of an ASCII
/// byte, so slicing there falls between characters.
struct Pair {
    equals: Option<usize>,
    end: usize,
    field_escaped: bool,
    value_escaped: bool,
}

impl Pair {
    fn first(query: &str) -> Pair {
        let mut pair = Pair {
            equals: None,
            end: query.len(),
            field_escaped: false,
            value_escaped: false,
        };
        for (at, &byte) in query.as_bytes().iter().enumerate() {
            match byte {
                b'&' => {
                    pair.end = at;
                    break;
                }
                b'=' if pair.equals.is_none() => pair.equals = Some(at),
                b'%' | b'+' if pair.equals.is_none() => pair.field_escaped = true,
                b'%' | b'+' => pair.value_escaped = true,
                _ => {}
            }
        }
        pair
    }

    fn field<'a>(&self, query: &'a str) -> Result<Cow<'a, str>, PathError> {
        let field = &query[..self.equals.unwrap_or(self.end)];
        if self.field_escaped {
            unescape(field)
        } else {
            Ok(Cow::Borrowed(field))
        }
    }

    fn value<'a>(&self, query: &'a str) -> Result<Cow<'a, str>, PathError> {
        let Some(equals) = self.equals else {
            return Ok(Cow::Borrowed(""));
        };
        let value = &query[equals + 1..self.end];
        if self.value_escaped {
            unescape(value)
        } else {
            Ok(Cow::Borrowed(value))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_round_trips_awkward_keys() {
        for key in [
            "Tom", "a b", "a/b", "/", "100%", "%41", "ключ", "日本", "a+b", "", "~-._", "?#&=",
        ] {
            let escaped = escape(key);
            assert!(!escaped.contains('/'), "{escaped}");
            assert_eq!(unescape(&escaped).unwrap(), key);
        }
    }

    #[test]
    fn go_query_escape_output_decodes_the_same() {
        // Go's url.QueryEscape("a b/c") is "a+b%2Fc".
        assert_eq!(unescape("a+b%2Fc").unwrap(), "a b/c");
        assert_eq!(unescape("%e6%97%a5").unwrap(), "日");
    }

    #[test]
    fn bad_escapes_are_errors() {
        for raw in ["%", "%4", "%zz", "%ff", "a%2"] {
            assert_eq!(
                unescape(raw),
                Err(PathError::Escape(raw.to_owned())),
                "{raw}"
            );
        }
    }

    #[test]
    fn peer_paths_parse_back() {
        let path = peer_path(BASE_PATH, "my group", "a/b c");
        assert_eq!(path, "/geecache/my%20group/a%2Fb%20c");
        assert_eq!(
            parse_peer_path(BASE_PATH, &path).unwrap(),
            ("my group".into(), "a/b c".into())
        );
        assert_eq!(
            parse_peer_path(BASE_PATH, "/geecache/scores/").unwrap(),
            ("scores".into(), "".into())
        );
        // A raw slash after the group belongs to the key, as with Go's SplitN.
        assert_eq!(
            parse_peer_path(BASE_PATH, "/geecache/g/x/y").unwrap().1,
            "x/y"
        );
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for path in [
            "/geecache/",
            "/geecache/scores",
            "/geecache//Tom",
            "/other/scores/Tom",
            "/",
        ] {
            assert!(
                matches!(parse_peer_path(BASE_PATH, path), Err(PathError::Shape(_))),
                "{path}"
            );
        }
        assert!(matches!(
            parse_peer_path(BASE_PATH, "/geecache/g/%zz"),
            Err(PathError::Escape(_))
        ));
    }

    #[test]
    fn query_params_are_found_and_unescaped() {
        let key = |query| query_params(query, ["key"]).map(|[value]| value);
        assert_eq!(key("key=Tom").unwrap().as_deref(), Some("Tom"));
        assert_eq!(key("a=1&key=a+b%2F").unwrap().as_deref(), Some("a b/"));
        assert_eq!(key("other=1").unwrap(), None);
        assert_eq!(key("key").unwrap().as_deref(), Some(""));
        assert!(key("key=%zz").is_err());
    }

    #[test]
    fn several_params_are_found_in_one_pass_each_its_first_value() {
        let values = |query| {
            query_params(query, ["key", "group"])
                .map(|found| found.map(|value| value.map(|value| value.into_owned())))
        };
        let some = |text: &str| Some(text.to_owned());
        assert_eq!(values("key=k1&group=g"), Ok([some("k1"), some("g")]));
        assert_eq!(
            values("group=g&x=1&key=k%201"),
            Ok([some("k 1"), some("g")])
        );
        assert_eq!(
            values("key=a&key=b&group=c&group=d"),
            Ok([some("a"), some("c")])
        );
        assert_eq!(values("key=a"), Ok([some("a"), None]));
        assert_eq!(values(""), Ok([None, None]));
        assert_eq!(values("&&key=&group"), Ok([some(""), some("")]));
        assert_eq!(values("k%65y=x"), Ok([some("x"), None]));
        // A bad escape in a name is found where reading reaches it: before
        // both names are found, or anywhere when one is missing; not after
        // both. Other names' values are not read.
        assert!(values("%zz=1&key=a&group=b").is_err());
        assert!(values("key=a&%zz=1").is_err());
        assert!(values("key=%zz&group=b").is_err());
        assert_eq!(values("key=a&group=b&%zz=1"), Ok([some("a"), some("b")]));
        assert_eq!(values("x=%zz&key=a"), Ok([some("a"), None]));
        // Keys of any characters, split only at ASCII bytes.
        assert_eq!(
            values("key=\u{e9}t\u{e9}&group=\u{1f600}"),
            Ok([some("\u{e9}t\u{e9}"), some("\u{1f600}")])
        );
    }
}
