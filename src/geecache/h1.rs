//! One HTTP/1.1 client connection, driven by the task that sends the
//! request: the request is written with one write, the answer read into a
//! reusable buffer and parsed with `httparse`. There is no connection task,
//! no channel and no header map in between, so an exchange costs its two
//! system calls and little else; the peer client and the load driver both
//! use it.
//!
//! Bodies are framed as RFC 9112 says: no body for 1xx, 204 and 304;
//! `Transfer-Encoding: chunked`; `Content-Length`; otherwise until the
//! server closes. A connection is kept for the next request only when the
//! answer was framed, complete, and did not say `Connection: close`.

use std::mem::MaybeUninit;

use bytes::{Buf, Bytes, BytesMut};
use hyper::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::source::{self, Source};

pub use super::failure::{Broken, ConnectionError, ExchangeError, IoError};

/// The largest body accepted, so that a broken length cannot exhaust memory.
pub const MAX_BODY: usize = 1 << 30;

/// The longest answer head accepted.
const MAX_HEAD: usize = 64 << 10;

/// The most header lines an answer may have.
const MAX_HEADERS: usize = 64;

/// Bodies up to this size are copied out of the read buffer, which is then
/// reused; larger ones are split off it without a copy.
const COPY_BELOW: usize = 4096;

/// A broken answer of kind `kind` that says `message`.
fn broken(kind: Broken, message: impl Into<String>) -> ExchangeError {
    ExchangeError::Broken(kind, message.into())
}

/// An open connection to one host.
pub struct Connection {
    stream: TcpStream,
    /// What has been read and not yet used.
    input: BytesMut,
    /// The request being written.
    output: Vec<u8>,
    /// Whether an answer has been read on it before.
    used: bool,
}

/// What one exchange brought back.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The whole body.
    pub body: Bytes,
    /// Whether the connection may carry the next request.
    pub reusable: bool,
    /// Where the value came from, when the answer says (an API node's
    /// `X-GeeCache-Source`).
    pub source: Option<Source>,
}

impl Connection {
    /// Connects to `authority` (`127.0.0.1:8001`) with Nagle's delay off.
    pub async fn open(authority: &str) -> std::io::Result<Connection> {
        let stream = TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            input: BytesMut::with_capacity(8192),
            output: Vec::with_capacity(256),
            used: false,
        })
    }

    /// Whether the connection has carried an exchange before.
    pub fn used(&self) -> bool {
        self.used
    }

    /// Sends `GET path_and_query` with `Host: host` and reads the answer.
    pub async fn get(&mut self, host: &str, path_and_query: &str) -> Result<Answer, ExchangeError> {
        self.get_noting(host, path_and_query, &mut false).await
    }

    /// As [`Connection::get`], setting `began` once a byte of the answer
    /// has arrived: a caller whose timeout ends the exchange can then tell
    /// an answer that stalled from one that never came.
    pub async fn get_noting(
        &mut self,
        host: &str,
        path_and_query: &str,
        began: &mut bool,
    ) -> Result<Answer, ExchangeError> {
        self.output.clear();
        self.output.extend_from_slice(b"GET ");
        self.output.extend_from_slice(path_and_query.as_bytes());
        self.output.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        self.output.extend_from_slice(host.as_bytes());
        self.output.extend_from_slice(b"\r\n\r\n");
        if let Err(error) = self.stream.write_all(&self.output).await {
            return Err(ExchangeError::NothingReceived(ConnectionError::Send {
                authority: host.to_owned(),
                source: error.into(),
            }));
        }
        let answer = self.read_answer(host, began).await?;
        self.used = true;
        Ok(answer)
    }

    /// Reads more input; `Ok(false)` at the end of the stream.
    async fn fill(&mut self) -> std::io::Result<bool> {
        if self.input.capacity() - self.input.len() < 1024 {
            self.input.reserve(8192);
        }
        Ok(self.stream.read_buf(&mut self.input).await? > 0)
    }

    async fn read_answer(&mut self, host: &str, began: &mut bool) -> Result<Answer, ExchangeError> {
        self.input.clear();
        // The head.
        let (status, head_length, framing, close, source) = loop {
            match parse_head(&self.input)? {
                Head::Informational(length) => {
                    // 100 Continue and the like: the real answer follows.
                    self.input.advance(length);
                    continue;
                }
                Head::Complete(head) => break head,
                Head::Partial if self.input.len() > MAX_HEAD => {
                    return Err(broken(
                        Broken::Malformed,
                        format!("answer head longer than {MAX_HEAD} bytes"),
                    ))
                }
                Head::Partial => {}
            }
            let nothing_yet = self.input.is_empty();
            match self.fill().await {
                Ok(true) => *began = true,
                Ok(false) if nothing_yet => {
                    return Err(ExchangeError::NothingReceived(ConnectionError::Closed {
                        authority: host.to_owned(),
                    }))
                }
                Ok(false) => {
                    return Err(broken(
                        Broken::Truncated,
                        "the server closed the connection in the middle of an answer",
                    ))
                }
                Err(error) if nothing_yet => {
                    return Err(ExchangeError::NothingReceived(ConnectionError::Read {
                        authority: host.to_owned(),
                        source: error.into(),
                    }))
                }
                Err(error) => return Err(broken(Broken::Reset, format!("reading: {error}"))),
            }
        };
        self.input.advance(head_length);
        // The body.
        let (body, framed) = match framing {
            Framing::Empty => (Bytes::new(), true),
            Framing::Length(length) => (self.take_exactly(length).await?, true),
            Framing::Chunked => (self.take_chunked().await?, true),
            Framing::UntilClose => (self.take_until_close().await?, false),
        };
        // Bytes beyond a framed answer are an answer nobody asked for, or
        // the rest of a body whose length was announced short: either way
        // the body read may not be the one sent.
        if framed && !self.input.is_empty() {
            return Err(broken(
                Broken::Malformed,
                format!(
                    "{} bytes came after the answer's body: its framing was wrong",
                    self.input.len()
                ),
            ));
        }
        let reusable = framed && !close;
        Ok(Answer {
            status,
            body,
            reusable,
            source,
        })
    }

    /// Reads until `length` bytes are buffered.
    async fn buffer(&mut self, length: usize) -> Result<(), ExchangeError> {
        if self.input.len() < length {
            self.input.reserve(length - self.input.len());
        }
        while self.input.len() < length {
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => {
                    return Err(broken(
                        Broken::Truncated,
                        "the server closed the connection in the middle of a body",
                    ))
                }
                Err(error) => return Err(broken(Broken::Reset, format!("reading: {error}"))),
            }
        }
        Ok(())
    }

    /// The next `length` buffered bytes, reading as needed.
    async fn take_exactly(&mut self, length: usize) -> Result<Bytes, ExchangeError> {
        self.buffer(length).await?;
        Ok(if length < COPY_BELOW {
            let body = Bytes::copy_from_slice(&self.input[..length]);
            self.input.advance(length);
            body
        } else {
            self.input.split_to(length).freeze()
        })
    }

    async fn take_chunked(&mut self) -> Result<Bytes, ExchangeError> {
        let mut body = BytesMut::new();
        loop {
            let (line, size) = loop {
                match httparse::parse_chunk_size(&self.input) {
                    Ok(httparse::Status::Complete((line, size))) => break (line, size),
                    Ok(httparse::Status::Partial) => {
                        let have = self.input.len();
                        self.buffer(have + 1).await?;
                    }
                    Err(_) => return Err(broken(Broken::Malformed, "malformed chunk size")),
                }
            };
            let size = usize::try_from(size)
                .ok()
                .filter(|size| body.len().saturating_add(*size) <= MAX_BODY)
                .ok_or_else(|| broken(Broken::Malformed, "chunked body too large"))?;
            self.input.advance(line);
            if size == 0 {
                // Trailer lines, if any, up to an empty line.
                loop {
                    let end = loop {
                        match self.input.windows(2).position(|pair| pair == b"\r\n") {
                            Some(end) => break end,
                            None => {
                                let have = self.input.len();
                                self.buffer(have + 1).await?;
                            }
                        }
                    };
                    self.input.advance(end + 2);
                    if end == 0 {
                        return Ok(body.freeze());
                    }
                }
            }
            self.buffer(size + 2).await?;
            body.extend_from_slice(&self.input[..size]);
            if &self.input[size..size + 2] != b"\r\n" {
                return Err(broken(Broken::Malformed, "chunk not followed by CRLF"));
            }
            self.input.advance(size + 2);
        }
    }

    async fn take_until_close(&mut self) -> Result<Bytes, ExchangeError> {
        loop {
            if self.input.len() > MAX_BODY {
                return Err(broken(Broken::Malformed, "body too large"));
            }
            match self.fill().await {
                Ok(true) => {}
                Ok(false) => return Ok(self.input.split().freeze()),
                Err(error) => return Err(broken(Broken::Reset, format!("reading: {error}"))),
            }
        }
    }
}

/// What the buffered input holds of an answer's head.
enum Head {
    /// Not all of it yet.
    Partial,
    /// A 1xx head of this length, to skip.
    Informational(usize),
    /// The head: status, length, framing, whether the server will close,
    /// and where the value came from.
    Complete((StatusCode, usize, Framing, bool, Option<Source>)),
}

fn parse_head(input: &[u8]) -> Result<Head, ExchangeError> {
    // Room for the headers left uninitialised: setting up 64 empty ones
    // (32 bytes each) for every answer would cost more than parsing the
    // few an answer has.
    let mut headers = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        input,
        &mut headers,
    );
    match parsed {
        Ok(httparse::Status::Complete(length)) => {
            let code = response.code.unwrap_or(0);
            let status = StatusCode::from_u16(code)
                .map_err(|_| broken(Broken::Malformed, format!("answer with status {code}")))?;
            if status.is_informational() {
                return Ok(Head::Informational(length));
            }
            let (framing, close, source) = framing(&response, status)?;
            Ok(Head::Complete((status, length, framing, close, source)))
        }
        Ok(httparse::Status::Partial) => Ok(Head::Partial),
        Err(error) => Err(broken(
            Broken::Malformed,
            format!("malformed answer: {error}"),
        )),
    }
}

/// How an answer's body is delimited.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

/// A header value as trimmed text; empty when it is not UTF-8.
fn text(value: &[u8]) -> &str {
    std::str::from_utf8(value).unwrap_or("").trim()
}

/// A Content-Length value: decimal digits, optionally padded with spaces.
fn parse_length(value: &[u8]) -> Option<usize> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0usize, |length, &digit| {
        if !digit.is_ascii_digit() {
            return None;
        }
        length
            .checked_mul(10)?
            .checked_add(usize::from(digit - b'0'))
    })
}

/// The body's framing and whether the server will close the connection.
fn framing(
    response: &httparse::Response<'_, '_>,
    status: StatusCode,
) -> Result<(Framing, bool, Option<Source>), ExchangeError> {
    let mut source = None;
    let mut length: Option<usize> = None;
    let mut chunked = false;
    let mut close = response.version == Some(0);
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            let value = parse_length(header.value);
            let parsed = value.filter(|parsed| *parsed <= MAX_BODY).ok_or_else(|| {
                broken(
                    Broken::Malformed,
                    format!("bad Content-Length {:?}", text(header.value)),
                )
            })?;
            if length.is_some_and(|earlier| earlier != parsed) {
                return Err(broken(
                    Broken::Malformed,
                    "conflicting Content-Length headers",
                ));
            }
            length = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = text(header.value)
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
        } else if header.name.eq_ignore_ascii_case(source::HEADER) {
            source = Source::parse(header.value);
        } else if header.name.eq_ignore_ascii_case("connection") {
            for token in text(header.value).split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") && response.version == Some(0) {
                    close = false;
                }
            }
        }
    }
    let framing = if status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok((framing, close, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request on a connection with the next of
    /// `answers`, as raw bytes, then closes the connection when out.
    async fn scripted(answers: Vec<&'static [u8]>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            for answer in answers {
                let mut seen = Vec::new();
                while !seen.windows(4).any(|window| window == b"\r\n\r\n") {
                    let read = stream.read(&mut request).await.unwrap();
                    if read == 0 {
                        return;
                    }
                    seen.extend_from_slice(&request[..read]);
                }
                // Dribble the answer out in small pieces.
                for piece in answer.chunks(7) {
                    stream.write_all(piece).await.unwrap();
                    stream.flush().await.unwrap();
                    tokio::task::yield_now().await;
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn answers_of_every_framing_are_read_and_the_connection_kept_when_it_can_be() {
        let addr = scripted(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nX-GeeCache-Source: Peer\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\nTrailer: x\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 4\r\n\r\noops",
        ])
        .await;
        let mut connection = Connection::open(&addr).await.unwrap();
        let answer = connection.get("h", "/a").await.unwrap();
        assert_eq!(
            (answer.status, &answer.body[..], answer.reusable),
            (StatusCode::OK, &b"hello"[..], true)
        );
        assert_eq!(answer.source, None);
        assert!(connection.used());
        let answer = connection.get("h", "/b").await.unwrap();
        assert_eq!(
            (answer.status, answer.body.len(), answer.source),
            (StatusCode::NOT_FOUND, 0, Some(Source::Peer))
        );
        let answer = connection.get("h", "/c").await.unwrap();
        assert_eq!((&answer.body[..], answer.reusable), (&b"abcdefg"[..], true));
        let answer = connection.get("h", "/d").await.unwrap();
        assert_eq!(
            (answer.status, answer.reusable),
            (StatusCode::NO_CONTENT, true)
        );
        let answer = connection.get("h", "/e").await.unwrap();
        assert_eq!(
            (answer.status, &answer.body[..], answer.reusable),
            (StatusCode::INTERNAL_SERVER_ERROR, &b"oops"[..], false)
        );
        // The server is out of answers and closes: nothing received.
        match connection.get("h", "/f").await {
            Err(ExchangeError::NothingReceived(error)) => {
                assert_eq!(
                    error,
                    ConnectionError::Closed {
                        authority: "h".to_owned()
                    }
                );
                assert_eq!(error.kind(), None);
                assert_eq!(error.to_string(), "h: the server closed the connection");
            }
            Err(ExchangeError::Broken(kind, message)) => panic!("broken ({kind}): {message}"),
            Ok(answer) => panic!("an answer: {}", answer.status),
        }
    }

    #[tokio::test]
    async fn an_answer_without_a_length_runs_to_the_close_and_is_not_reused() {
        let addr = scripted(vec![b"HTTP/1.0 200 OK\r\n\r\nall of it"]).await;
        let mut connection = Connection::open(&addr).await.unwrap();
        let answer = connection.get("h", "/").await.unwrap();
        assert_eq!(
            (&answer.body[..], answer.reusable),
            (&b"all of it"[..], false)
        );
    }

    #[tokio::test]
    async fn broken_answers_are_errors_that_say_what_broke_and_of_which_kind() {
        let long_head: &'static [u8] = Box::leak(
            [&b"HTTP/1.1 200 OK\r\nX: "[..], &vec![b'a'; 70_000]]
                .concat()
                .into_boxed_slice(),
        );
        for (answer, kind, says) in [
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
                Broken::Truncated,
                "middle of a body",
            ),
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"[..],
                Broken::Malformed,
                "Content-Length",
            ),
            (
                &b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"[..],
                Broken::Malformed,
                "Content-Length",
            ),
            (
                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n"[..],
                Broken::Malformed,
                "too large",
            ),
            (
                &b"NOT HTTP AT ALL\r\n\r\n"[..],
                Broken::Malformed,
                "malformed answer",
            ),
            (long_head, Broken::Malformed, "head longer"),
            (
                &b"HTTP/1.1 200 OK\r\nContent-Le"[..],
                Broken::Truncated,
                "middle of an answer",
            ),
            (
                &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"[..],
                Broken::Malformed,
                "chunk size",
            ),
        ] {
            let addr = scripted(vec![answer]).await;
            let mut connection = Connection::open(&addr).await.unwrap();
            let mut began = false;
            match connection.get_noting("h", "/", &mut began).await {
                Err(ExchangeError::Broken(got, message)) => {
                    assert!(message.contains(says), "{message} for {answer:?}");
                    assert_eq!(got, kind, "{message}");
                }
                other => panic!("{answer:?}: {:?}", other.map(|answer| answer.status)),
            }
            assert!(began, "bytes of {answer:?} arrived");
        }
    }

    /// How a one-answer server ends once its answer is written.
    enum After {
        /// Closes the connection.
        Close,
        /// Keeps it open until the client closes it.
        Hold,
        /// Resets it, a moment later.
        Reset,
    }

    /// A server that reads one request, writes `answer` in one write and
    /// ends as `after` says.
    async fn answering_once(answer: &'static [u8], after: After) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await.unwrap();
            stream.write_all(answer).await.unwrap();
            match after {
                After::Close => {}
                After::Hold => {
                    let _ = stream.read(&mut request).await;
                }
                After::Reset => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    stream.set_zero_linger().unwrap();
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_body_longer_than_its_content_length_is_malformed_not_a_short_value() {
        // Sent in one write, as a server that announced the wrong length
        // would: the extra bytes are buffered with the body. The server
        // holds the connection, so nothing but the framing is wrong.
        let addr = answering_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nvalue",
            After::Hold,
        )
        .await;
        let mut connection = Connection::open(&addr).await.unwrap();
        match connection.get("h", "/").await {
            Err(ExchangeError::Broken(Broken::Malformed, message)) => {
                assert!(message.contains("2 bytes came after"), "{message}")
            }
            other => panic!("{:?}", other.map(|answer| answer.body)),
        }
    }

    #[tokio::test]
    async fn a_reset_in_the_middle_of_an_answer_is_a_reset() {
        // The head and part of the body, then a reset.
        let addr = answering_once(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal",
            After::Reset,
        )
        .await;
        let mut connection = Connection::open(&addr).await.unwrap();
        match connection.get("h", "/").await {
            Err(ExchangeError::Broken(kind, message)) => {
                assert_eq!(kind, Broken::Reset, "{message}")
            }
            other => panic!("{:?}", other.map(|answer| answer.body)),
        }
    }

    #[test]
    fn heads_with_many_headers_parse_up_to_the_allowance() {
        let head = |headers: usize| {
            let mut head = b"HTTP/1.1 200 OK\r\nX-GeeCache-Source: load\r\n".to_vec();
            for header in 1..headers {
                head.extend_from_slice(format!("X-{header}: {header}\r\n").as_bytes());
            }
            head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
            head
        };
        // Up to the allowance exactly.
        for headers in [1, 5, 20, MAX_HEADERS - 1] {
            let input = head(headers);
            match parse_head(&input) {
                Ok(Head::Complete((status, length, framing, _, source))) => {
                    assert_eq!((status, length), (StatusCode::OK, input.len()));
                    assert_eq!(framing, Framing::Length(0), "{headers}");
                    assert_eq!(source, Some(Source::Load), "{headers}");
                }
                _ => panic!("{} headers did not parse", headers + 1),
            }
        }
        match parse_head(&head(MAX_HEADERS + 3)) {
            Err(ExchangeError::Broken(Broken::Malformed, message)) => {
                assert!(message.contains("too many headers"), "{message}")
            }
            _ => panic!("more than {MAX_HEADERS} headers parsed"),
        }
    }

    mod arbitrary {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever a server sends, reading its head ends in a verdict,
            /// never a panic; a complete head's length fits the input.
            #[test]
            fn any_bytes_get_a_verdict(input in proptest::collection::vec(any::<u8>(), 0..300)) {
                if let Ok(Head::Complete((_, length, _, _, _)) | Head::Informational(length)) =
                    parse_head(&input)
                {
                    prop_assert!(length <= input.len());
                }
            }

            /// Heads with arbitrary header values: a length is read when it
            /// is a number and refused otherwise.
            #[test]
            fn any_content_length_is_read_or_refused(value in "[ -~]{0,24}|[0-9]{1,22}|\\+[0-9]{1,3}") {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {value}\r\n\r\n");
                let digits = value.trim();
                let expected = (!digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit()))
                    .then(|| digits.parse::<usize>().ok())
                    .flatten()
                    .filter(|length| *length <= MAX_BODY);
                match parse_head(head.as_bytes()) {
                    Ok(Head::Complete((_, _, Framing::Length(length), _, _))) => {
                        prop_assert_eq!(Some(length), expected);
                    }
                    Ok(Head::Complete((_, _, framing, _, _))) => {
                        prop_assert!(false, "framing {:?} for {:?}", framing, value);
                    }
                    Ok(_) => prop_assert!(false, "incomplete head for {:?}", value),
                    Err(_) => prop_assert_eq!(expected, None),
                }
            }
        }
    }

    #[tokio::test]
    async fn large_bodies_arrive_whole() {
        let body = vec![b'v'; 300_000];
        let mut answer =
            format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        answer.extend_from_slice(&body);
        let answer: &'static [u8] = Box::leak(answer.into_boxed_slice());
        let addr = answering_once(answer, After::Close).await;
        let mut connection = Connection::open(&addr).await.unwrap();
        let got = connection.get("h", "/").await.unwrap();
        assert_eq!(got.body.len(), 300_000);
        assert!(got.body.iter().all(|&byte| byte == b'v'));
    }
}
