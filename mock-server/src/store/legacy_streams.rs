//! The open streams of the older HTTP+SSE transport (MCP 2024-11-05, Transports › "HTTP with
//! SSE"): each `GET` opens one, named by an id the `endpoint` event's messages URL carries, and
//! the responses to the messages POSTed there go out on it. A stream is forgotten when its
//! client hangs up.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::util::lock;

#[derive(Debug, Default)]
pub(crate) struct LegacyStreams {
    streams: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

impl LegacyStreams {
    /// A new stream with a UUID v4 id (unguessable: the id is all that ties a POST to its
    /// stream), and the receiving end its SSE response reads.
    pub fn open(&self) -> (String, mpsc::UnboundedReceiver<String>) {
        let id = uuid::Uuid::new_v4().to_string();
        let (sender, receiver) = mpsc::unbounded_channel();
        lock(&self.streams).insert(id.clone(), sender);
        (id, receiver)
    }

    pub fn is_open(&self, id: &str) -> bool {
        lock(&self.streams)
            .get(id)
            .is_some_and(|sender| !sender.is_closed())
    }

    /// Queues a JSON-RPC message for the stream; `false` when it is gone.
    pub fn send(&self, id: &str, message: String) -> bool {
        lock(&self.streams)
            .get(id)
            .is_some_and(|sender| sender.send(message).is_ok())
    }

    /// Sends a message on every open stream; how many took it.
    pub fn broadcast(&self, message: &str) -> usize {
        lock(&self.streams)
            .values()
            .filter(|sender| sender.send(message.to_owned()).is_ok())
            .count()
    }

    pub fn close(&self, id: &str) {
        lock(&self.streams).remove(id);
    }

    /// Ends every stream (a restart without persistence); how many there were.
    pub fn forget_all(&self) -> usize {
        let mut streams = lock(&self.streams);
        let count = streams.len();
        streams.clear();
        count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_reaches_its_own_stream_only() {
        let streams = LegacyStreams::default();
        let (first, mut first_rx) = streams.open();
        let (_second, mut second_rx) = streams.open();
        assert!(streams.send(&first, "hello".to_owned()));
        assert_eq!(first_rx.recv().await.as_deref(), Some("hello"));
        assert!(second_rx.try_recv().is_err(), "the other stream heard it");
    }

    #[test]
    fn a_closed_or_unknown_stream_takes_nothing() {
        let streams = LegacyStreams::default();
        let (id, receiver) = streams.open();
        drop(receiver);
        assert!(!streams.is_open(&id));
        assert!(!streams.send(&id, "x".to_owned()));
        assert!(!streams.send("no-such-stream", "x".to_owned()));
    }
}
