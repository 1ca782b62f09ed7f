//! Accepted connections as tonic serves them: the hard end of a connection's life.
//!
//! tonic sends GOAWAY once a connection reaches `ALMO_MAX_CONNECTION_AGE_SECS` and then lets the
//! calls still open run to their end; its own `max_connection_age_grace` skips that GOAWAY and
//! only cuts the connection later (tonic 0.14). So tonic is given the age alone, and the grace is
//! enforced here: once age + grace have passed, reads and writes fail and the connection closes
//! under whatever was still open (a watch stream, whose client resumes elsewhere).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::time::Sleep;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::server::{Connected, TcpIncoming};

/// An accepted connection that fails its reads and writes once its time is up.
pub struct AgeLimited<IO> {
    io: IO,
    deadline: Option<Pin<Box<Sleep>>>,
}

impl<IO> AgeLimited<IO> {
    /// `io`, ended `limit` from now (never, without one).
    pub fn new(io: IO, limit: Option<Duration>) -> Self {
        Self {
            io,
            deadline: limit.map(|l| Box::pin(tokio::time::sleep(l))),
        }
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline
            .as_mut()
            .is_some_and(|d| d.as_mut().poll(cx).is_ready())
    }
}

fn past_grace() -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        "connection past its maximum age and grace period",
    )
}

impl<IO: AsyncRead + Unpin> AsyncRead for AgeLimited<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            return Poll::Ready(Err(past_grace()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for AgeLimited<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(past_grace()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.expired(cx) {
            return Poll::Ready(Err(past_grace()));
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The peer address (and, over TLS, certificates) as tonic reports them for the inner stream, so
/// `Request::remote_addr` and `Request::peer_certs` work as usual.
impl<IO: Connected> Connected for AgeLimited<IO> {
    type ConnectInfo = IO::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.io.connect_info()
    }
}

/// Plaintext connections accepted on `listener`, with TCP_NODELAY (tonic does not set it on a
/// listener it was handed), counted and limited.
pub(crate) fn plaintext(
    listener: TcpListener,
    accepted: Arc<AtomicU64>,
    hard_limit: Option<Duration>,
) -> impl Stream<Item = io::Result<AgeLimited<tokio::net::TcpStream>>> + Send + 'static {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(move |conn| {
            conn.map(|tcp| {
                accepted.fetch_add(1, Ordering::Relaxed);
                AgeLimited::new(tcp, hard_limit)
            })
        })
}
