//! Running an axum app on its own OS thread and tokio runtime.
//!
//! A test that blocks its own thread on a child process (the CLI under test) must not starve the
//! servers the child talks to, so every server in this crate gets a thread and a runtime of its
//! own, like wiremock's `MockServer`. Dropping the handle stops the server and joins the thread.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::serve::IncomingStream;
use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::error::MockServerError;

/// A server running in the background; stops when dropped.
pub struct BackgroundServer {
    local_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundServer {
    /// Binds `addr` (port 0 picks a free port) and serves `app` until the handle is dropped.
    /// Handlers can extract `ConnectInfo<SocketAddr>` to see the peer.
    pub fn spawn(
        name: &str,
        addr: SocketAddr,
        app: Router,
    ) -> Result<BackgroundServer, MockServerError> {
        Self::spawn_with(name, addr, |_| Ok(app))
    }

    /// Like [`BackgroundServer::spawn`], for apps that need to know their own address (an OAuth
    /// server advertises its URLs): `make_app` gets the bound address before serving starts.
    pub fn spawn_with(
        name: &str,
        addr: SocketAddr,
        make_app: impl FnOnce(SocketAddr) -> Result<Router, MockServerError>,
    ) -> Result<BackgroundServer, MockServerError> {
        let listener = bind(addr)?;
        let local_addr = listener
            .local_addr()
            .map_err(|source| MockServerError::Bind { addr, source })?;
        let app = make_app(local_addr)?;
        BackgroundServer::spawn_on(name, listener, app)
    }

    /// Serves `app` on a listener bound with [`bind`], for servers that must know several
    /// addresses before any of them starts (an MCP server naming a separate authorization
    /// server, and the other way round).
    pub fn spawn_on(
        name: &str,
        listener: std::net::TcpListener,
        app: Router,
    ) -> Result<BackgroundServer, MockServerError> {
        let local_addr = listener
            .local_addr()
            .map_err(|source| MockServerError::Bind {
                addr: ([0, 0, 0, 0], 0).into(),
                source,
            })?;
        let addr = local_addr;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<Result<(), std::io::Error>>();
        let thread = std::thread::Builder::new()
            .name(format!("{name}-{}", local_addr.port()))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = started_tx.send(Err(error));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(listener) => KillableListener(listener),
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(()));
                    // Handlers see the peer as `ConnectInfo<SocketAddr>` and can close their
                    // connection without a response through the `KillSwitch` extension.
                    let app = app.layer(axum::middleware::map_request(peer_extensions));
                    let service = app.into_make_service_with_connect_info::<Peer>();
                    let serve = axum::serve(listener, service)
                        .with_graceful_shutdown(stop_requested(shutdown_rx.clone()));
                    // Graceful shutdown waits for every connection, and an open SSE stream
                    // never ends by itself: give in-flight requests a moment, then drop them.
                    let deadline = async {
                        stop_requested(shutdown_rx).await;
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                    };
                    tokio::select! {
                        _ = serve => {}
                        _ = deadline => {}
                    }
                });
                // Long-lived responses (SSE streams) would otherwise hold the runtime open.
                runtime.shutdown_timeout(std::time::Duration::from_millis(200));
            })
            .map_err(MockServerError::Thread)?;
        match started_rx.recv() {
            Ok(Ok(())) => {}
            Ok(Err(source)) => return Err(MockServerError::Bind { addr, source }),
            Err(_) => {
                return Err(MockServerError::Thread(std::io::Error::other(
                    "server thread ended before it started serving",
                )))
            }
        }
        Ok(BackgroundServer {
            local_addr,
            shutdown: shutdown_tx,
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops serving and waits for the thread to end.
    pub fn stop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds `addr` (port 0 picks a free port) synchronously, so that a taken port is reported to
/// the caller rather than lost in a server thread.
pub fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, MockServerError> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|source| MockServerError::Bind { addr, source })?;
    listener
        .set_nonblocking(true)
        .map_err(|source| MockServerError::Bind { addr, source })?;
    Ok(listener)
}

/// Closes the connection a request came on, before any byte of its response is written: the
/// handler flips it and returns; the connection's next write fails and hyper drops the socket.
/// Present in the extensions of every request a [`BackgroundServer`] serves.
#[derive(Debug, Clone, Default)]
pub struct KillSwitch(Arc<AtomicBool>);

impl KillSwitch {
    pub fn kill(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn killed(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What the make-service learns of each connection: the peer and the connection's kill switch.
#[derive(Debug, Clone)]
struct Peer {
    addr: SocketAddr,
    kill: KillSwitch,
}

impl Connected<IncomingStream<'_, KillableListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        Peer {
            addr: *stream.remote_addr(),
            kill: stream.io().kill.clone(),
        }
    }
}

/// Puts `ConnectInfo<SocketAddr>` (what handlers and tests use) and the [`KillSwitch`] into the
/// request's extensions.
async fn peer_extensions(mut request: Request) -> Request {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<Peer>>().cloned() {
        request.extensions_mut().insert(ConnectInfo(peer.addr));
        request.extensions_mut().insert(peer.kill);
    }
    request
}

struct KillableListener(TcpListener);

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        (
            KillableStream {
                stream,
                kill: KillSwitch::default(),
            },
            addr,
        )
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// A TCP stream that, once its switch is flipped, reads end-of-file and refuses every write, so
/// hyper gives the connection up and the socket is closed with nothing sent.
struct KillableStream {
    stream: TcpStream,
    kill: KillSwitch,
}

fn killed_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::ConnectionAborted,
        "connection dropped on purpose (mock fault)",
    )
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.kill.killed() {
            return Poll::Ready(Err(killed_error()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

async fn stop_requested(mut rx: watch::Receiver<bool>) {
    // An error means the handle is gone, which also means stop.
    let _ = rx.wait_for(|stop| *stop).await;
}
