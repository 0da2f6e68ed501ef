//! Running an axum app on its own OS thread and tokio runtime.
//!
//! A test that blocks its own thread on a child process (the CLI under test) must not starve the
//! servers the child talks to, so every server in this crate gets a thread and a runtime of its
//! own, like wiremock's `MockServer`. Dropping the handle stops the server and joins the thread.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use axum::Router;
use tokio::sync::watch;

use crate::MockServerError;

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
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = started_tx.send(Err(error));
                            return;
                        }
                    };
                    let _ = started_tx.send(Ok(()));
                    let service = app.into_make_service_with_connect_info::<SocketAddr>();
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

async fn stop_requested(mut rx: watch::Receiver<bool>) {
    // An error means the handle is gone, which also means stop.
    let _ = rx.wait_for(|stop| *stop).await;
}
