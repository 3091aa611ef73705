//! The listener: actix-http's HTTP/1.1 dispatcher under actix-server, on plain
//! TCP or rustls, set up as actix-web's `HttpServer` would with one addition.
//! The answers actix-http writes by itself, below the App and so below our
//! error handling (a malformed request head: 400; a head over its 128 KiB
//! limit: 431; a head that does not arrive in time: 408; an internal fault of
//! the dispatcher: 500), carry our JSON `{code, message}` body instead of none.
//!
//! actix-http has no hook for those answers, so [`JsonErrors`] wraps each
//! connection's stream (under TLS, its plaintext side) and rewrites such a
//! head as it is written. It recognises one exactly: the last thing written on
//! the connection (actix-http closes after each of them), a status of the four
//! above with its standard reason, and no header but `content-length: 0`,
//! `connection` and `date`. Every answer of the App carries more headers (the
//! security headers are added to all of them) and every error of ours has a
//! body, so none of them can be taken for one.
//!
//! The same wrapper holds back a connection's reads while its request waits
//! for room to receive a large body ([`gate`]).

pub mod gate;

use crate::error::ApiError;
use actix_http::{body::MessageBody, HttpService, Protocol, Request, Response};
use actix_server::{GracefulShutdownSignal, Server};
use actix_service::{
    apply_fn_factory, fn_service, map_config, IntoServiceFactory, Service, ServiceFactory,
    ServiceFactoryExt,
};
use actix_web::dev::AppConfig;
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::http::StatusCode;
use gate::{Gate, OpenOnDrop};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How the listener runs (what `HttpServer`'s builder methods set).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Worker threads.
    pub workers: usize,
    /// Connections each worker holds at once; the rest wait in the backlog.
    pub max_connections_per_worker: usize,
    /// Listen backlog (applies to sockets the server binds itself).
    pub backlog: u32,
    /// Time for a connection's first request head to arrive (then 408).
    pub head_timeout: Duration,
    /// Time for the client to go after the server closed its side.
    pub disconnect_timeout: Duration,
    /// Idle time kept between requests on a connection.
    pub keep_alive: Duration,
    /// Seconds to let requests finish on a graceful stop.
    pub shutdown_timeout_secs: u64,
}

/// Serves `app` (a closure making the actix-web `App`, called once per
/// worker) on `listener`, over TLS when `tls` is given. HTTP/1.1 only (as
/// `HttpServer` without actix-web's `http2` feature).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    tls: Option<rustls::ServerConfig>,
    settings: Settings,
    app: F,
) -> io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = listener.local_addr()?;
    let builder = Server::build()
        .workers(settings.workers)
        .max_concurrent_connections(settings.max_connections_per_worker)
        .backlog(settings.backlog)
        .shutdown_timeout(settings.shutdown_timeout_secs);
    let signal = builder.graceful_shutdown_signal();
    let builder = match tls {
        None => {
            let http = move || http_service(&app, &settings, &signal, false, addr);
            builder.listen("aidant", listener, move || {
                fn_service(|io: actix_web::rt::net::TcpStream| async move {
                    let peer = io.peer_addr().ok();
                    Ok::<_, ()>((JsonErrors::new(io), Protocol::Http1, peer))
                })
                .and_then(http())
            })?
        }
        Some(mut config) => {
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            let http = move || http_service(&app, &settings, &signal, true, addr);
            builder.listen("aidant-tls", listener, move || {
                actix_tls::accept::rustls_0_23::Acceptor::new(config.clone())
                    .map_err(|_| ())
                    .and_then(fn_service(
                        |io: actix_tls::accept::rustls_0_23::TlsStream<
                            actix_web::rt::net::TcpStream,
                        >| async move {
                            let peer = io.get_ref().0.peer_addr().ok();
                            Ok::<_, ()>((JsonErrors::new(io), Protocol::Http1, peer))
                        },
                    ))
                    .and_then(http())
            })?
        }
    };
    Ok(builder.run())
}

/// One worker's HTTP/1.1 service over connections of type `T`.
fn http_service<T, F, I, S, B>(
    app: &F,
    settings: &Settings,
    signal: &GracefulShutdownSignal,
    secure: bool,
    addr: SocketAddr,
) -> impl ServiceFactory<
    (JsonErrors<T>, Protocol, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = (),
    InitError = (),
>
where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
    F: Fn() -> I,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let signal = signal.clone();
    let mut b = HttpService::build()
        .graceful_shutdown_signal(move || {
            let signal = signal.clone();
            async move { signal.notified().await }
        })
        .keep_alive(settings.keep_alive)
        .client_request_timeout(settings.head_timeout)
        .client_disconnect_timeout(settings.disconnect_timeout)
        .h1_allow_half_closed(true)
        .on_connect_ext(|io: &JsonErrors<T>, data| {
            data.insert(io.gate.clone());
        });
    if !secure {
        b = b.local_addr(addr);
    }
    let app = app().into_factory().map_err(|e| e.into().error_response());
    // Called as the dispatcher hands over a request, before it reads on.
    let app = apply_fn_factory(app, |req: Request, app: &_| {
        let mut open = OpenOnDrop(hold_back(&req));
        let answer = Service::call(app, req);
        async move {
            let answer: Response<B> = answer.await?.into();
            // Refused while it waited for room (503, 429, 408 at the
            // deadline): its body is never read. The gate stays closed, so
            // the dispatcher's lingering close (`disconnect_timeout`) lets
            // the client read the answer but does not drain megabytes the
            // client queued, hundreds of connections at once.
            let waited = matches!(
                answer.status(),
                StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::REQUEST_TIMEOUT
            );
            if waited && open.0.as_ref().is_some_and(Gate::is_closed) {
                open.0 = None;
            }
            drop(open);
            Ok(answer)
        }
    });
    b.finish(map_config(app, move |_| {
        // What `HttpServer` passes (its constructor is crate-private; this
        // is the same call under the name actix-test uses).
        AppConfig::__priv_test_new(secure, addr.to_string(), addr)
    }))
    .map_err(|_| ())
}

/// Closes the connection's gate when `req` declares a body over
/// [`gate::LARGE_BODY`]: its bytes are not read until the body reader has
/// room for them. Returns the gate to open once the request is answered.
fn hold_back(req: &Request) -> Option<Gate> {
    let length = req.head().headers().get(CONTENT_LENGTH)?.to_str().ok()?;
    if length.trim().parse::<u64>().ok()? <= gate::LARGE_BODY {
        return None;
    }
    let gate = req.conn_data::<Gate>()?.clone();
    gate.close();
    Some(gate)
}

/// A connection's stream whose write side turns actix-http's own empty error
/// answers into JSON ones (see the module's note), and whose read side waits
/// while its [`Gate`] is closed.
///
/// A rewritten answer is taken whole at once (so a partial write never splits
/// the head it replaces) and kept here until the socket has taken it: the next
/// write, flush or shutdown sends the rest first.
pub struct JsonErrors<T> {
    io: T,
    pending: Vec<u8>,
    sent: usize,
    gate: Gate,
    /// The last read brought bytes: the next one yields first.
    just_read: bool,
}

impl<T> JsonErrors<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> Self {
        Self {
            io,
            pending: Vec::new(),
            sent: 0,
            gate: Gate::default(),
            just_read: false,
        }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrors<T> {
    /// Writes what is pending.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            match ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.sent..]))? {
                0 => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                n => self.sent += n,
            }
        }
        self.pending = Vec::new();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrors<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.gate.poll_open(cx));
        // actix-http reads until the socket is empty (or 128 KiB are
        // buffered) before it parses what it read: after each read that
        // brought bytes, let it parse (and the App close the gate) first.
        if std::mem::take(&mut this.just_read) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.io).poll_read(cx, buf))?;
        this.just_read = buf.filled().len() > before;
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrors<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        if let Some(rewritten) = rewrite(buf) {
            this.pending = rewritten;
            // As far as the socket takes it now; the rest comes with the flush
            // or shutdown actix-http does next.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// The longest head actix-http writes for its own errors (the 431's status
/// line, `content-length`, `connection` and `date`) is under 160 bytes.
const LONGEST_OWN_HEAD: usize = 256;

/// The error an answer of actix-http's own stands for.
fn own_error(status: StatusCode) -> Option<ApiError> {
    Some(match status {
        StatusCode::BAD_REQUEST => ApiError::bad_request(
            "bad_request",
            "the request's head (its request line or a header) is not valid HTTP/1.1",
        ),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => ApiError::new(
            status,
            "headers_too_large",
            "the request's head (request line and headers) is larger than the server accepts (128 KiB)",
        ),
        StatusCode::REQUEST_TIMEOUT => ApiError::new(
            status,
            "request_timeout",
            "the request's head did not arrive in time; the connection is closed",
        ),
        StatusCode::INTERNAL_SERVER_ERROR => ApiError::new(
            status,
            "internal",
            "something went wrong on the server",
        ),
        _ => return None,
    })
}

/// When `buf` ends with an answer actix-http made by itself: `buf` with that
/// answer made JSON. `None` for anything else.
pub fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    if !buf.ends_with(b"\r\n\r\n") {
        return None;
    }
    let from = buf.len().saturating_sub(LONGEST_OWN_HEAD);
    let at = from + memchr::memmem::rfind(&buf[from..], b"HTTP/1.")?;
    let head = std::str::from_utf8(&buf[at..])
        .ok()?
        .strip_suffix("\r\n\r\n")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let (version, rest) = status_line.split_once(' ')?;
    let (code, reason) = rest.split_once(' ')?;
    let status = StatusCode::from_bytes(code.as_bytes()).ok()?;
    if !matches!(version, "HTTP/1.0" | "HTTP/1.1")
        || status.canonical_reason() != Some(reason)
        || code.len() != 3
    {
        return None;
    }
    let error = own_error(status)?;
    let (mut empty, mut date) = (false, None);
    for line in lines {
        let (name, value) = line.split_once(": ")?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" if value == "0" => empty = true,
            "connection" if matches!(value, "close" | "keep-alive") => {}
            "date" if value.len() == 29 => date = Some(line),
            _ => return None,
        }
    }
    let date = date.filter(|_| empty)?;
    let body = error.json_body();
    let mut out = Vec::with_capacity(at + 256 + body.len());
    out.extend_from_slice(&buf[..at]);
    out.extend_from_slice(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\nx-content-type-options: nosniff\r\ncache-control: no-store\r\n{date}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{rewrite, JsonErrors};
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWrite;

    /// A socket that takes at most `step` bytes a call and is full (Pending)
    /// every other call.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        calls: usize,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.calls += 1;
            if this.calls.is_multiple_of(2) {
                return Poll::Pending;
            }
            let n = buf.len().min(this.step);
            this.out.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Writes `parts` as actix-http's dispatcher does: each part appended to
    /// its write buffer, the buffer written until the stream takes no more,
    /// the rest kept for the next round; then flushed.
    fn dispatch(parts: &[&[u8]], step: usize) -> Vec<u8> {
        let mut cx = Context::from_waker(Waker::noop());
        let mut io = JsonErrors::new(Trickle {
            out: Vec::new(),
            step,
            calls: 0,
        });
        let mut write_buf = Vec::new();
        for part in parts {
            write_buf.extend_from_slice(part);
            // One round: as far as it goes before Pending.
            while !write_buf.is_empty() {
                match Pin::new(&mut io).poll_write(&mut cx, &write_buf) {
                    Poll::Ready(Ok(n)) => drop(write_buf.drain(..n)),
                    Poll::Pending => break,
                    Poll::Ready(Err(e)) => panic!("{e}"),
                }
            }
        }
        loop {
            while !write_buf.is_empty() {
                if let Poll::Ready(r) = Pin::new(&mut io).poll_write(&mut cx, &write_buf) {
                    drop(write_buf.drain(..r.unwrap()));
                }
            }
            if let Poll::Ready(r) = Pin::new(&mut io).poll_shutdown(&mut cx) {
                r.unwrap();
                break;
            }
        }
        io.io.out
    }

    /// Partial writes and a full socket neither split nor lose the head that
    /// is replaced, nor change anything around it.
    #[test]
    fn partial_writes_deliver_the_rewritten_answer_whole() {
        let earlier: &[u8] =
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-content-type-options: nosniff\r\n\r\n{}";
        let own = format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
        let own = own.as_bytes();
        let whole = [earlier, own].concat();
        let expected = rewrite(&whole).unwrap();
        for step in [1, 7, 64, 4096] {
            assert_eq!(dispatch(&[earlier, own], step), expected, "step {step}");
            assert_eq!(dispatch(&[&whole], step), expected, "step {step}");
            assert_eq!(dispatch(&[earlier], step), earlier, "step {step}");
        }
    }

    const DATE: &str = "date: Tue, 01 Dec 2026 11:00:00 GMT";

    fn split(out: &[u8]) -> (String, serde_json::Value) {
        let text = String::from_utf8(out.to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(length, body.len(), "{text}");
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    /// Each answer actix-http writes itself, as its encoder writes it.
    #[test]
    fn own_answers_become_json_with_their_code() {
        for (head, code) in [
            ("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n", "bad_request"),
            ("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n", "bad_request"),
            ("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n", "bad_request"),
            ("HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n", "headers_too_large"),
            ("HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n", "request_timeout"),
            ("HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n", "internal"),
        ] {
            let input = format!("{head}{DATE}\r\n\r\n");
            let out = rewrite(input.as_bytes()).unwrap_or_else(|| panic!("{head}"));
            let (new_head, body) = split(&out);
            assert_eq!(body["code"], code, "{head}");
            assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(new_head.starts_with(head.lines().next().unwrap()), "{new_head}");
            assert!(new_head.contains("content-type: application/json"), "{new_head}");
            assert!(new_head.contains("connection: close"), "{new_head}");
            assert!(new_head.ends_with(&DATE[6..]), "{new_head}");
        }
    }

    /// An error head after the tail of an earlier answer (pipelined requests)
    /// is rewritten; what came before it is kept byte for byte.
    #[test]
    fn what_precedes_the_error_head_is_kept() {
        let earlier =
            "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-content-type-options: nosniff\r\n\r\n{}";
        let input =
            format!("{earlier}HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n\r\n");
        let out = rewrite(input.as_bytes()).unwrap();
        assert!(out.starts_with(earlier.as_bytes()));
        let (_, body) = split(&out[earlier.len()..]);
        assert_eq!(body["code"], "bad_request");
    }

    /// The App's answers are never touched: its errors have bodies, all its
    /// answers carry more headers, and other statuses are not actix-http's.
    #[test]
    fn anything_else_passes_unchanged() {
        for input in [
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 60\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nx-content-type-options: nosniff\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 400 Nope\r\ncontent-length: 0\r\n{DATE}\r\n\r\n"),
            format!("HTTP/1.1 400 Bad Request\r\n{DATE}\r\n\r\n"),
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_owned(),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n\r\nx"),
            format!("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n{DATE}\r\n"),
            "HTTP/1.1 204 No Content\r\n\r\n".to_owned(),
            "0\r\n\r\n".to_owned(),
            String::new(),
        ] {
            assert_eq!(rewrite(input.as_bytes()), None, "{input:?}");
        }
    }
}
