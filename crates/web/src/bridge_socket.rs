//! The websocket to the bridge as a service: every incoming frame is read into the protocol's
//! [`Response`] (or a clear error) before the page sees it, reconnecting waits with a capped
//! exponential backoff, and the socket itself (browser only) lives here, never in the page's state.

use protocol::{Response, PROTOCOL_VERSION};

/// The first reconnect waits this long; each failed attempt doubles it, up to [`BACKOFF_CAP_MS`].
pub const BACKOFF_FIRST_MS: i64 = 1_000;
pub const BACKOFF_CAP_MS: i64 = 30_000;

/// What the socket reports to the page.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Opened,
    /// A frame, already validated: a protocol reply, or why it is not one.
    Frame(Result<Response, String>),
    /// The socket closed (why).
    Closed(String),
}

/// How long to wait before reconnect attempt `attempt` (1 = the first after a loss).
pub fn backoff_ms(attempt: u32) -> i64 {
    let doublings = attempt.saturating_sub(1).min(16);
    (BACKOFF_FIRST_MS << doublings).min(BACKOFF_CAP_MS)
}

/// Reads a text frame from the bridge: JSON of the protocol's [`Response`], in this page's version.
pub fn read_frame(text: &str) -> Result<Response, String> {
    let r: Response = serde_json::from_str(text).map_err(|e| format!("{e} in {}", excerpt(text)))?;
    if r.v != PROTOCOL_VERSION {
        return Err(format!("protocol version {} (this page speaks {PROTOCOL_VERSION}) in {}", r.v, excerpt(text)));
    }
    Ok(r)
}

/// The page never asks for binary record batches (`hello` with `binaryRecords: false`).
pub fn binary_frame(len: u32) -> Result<Response, String> {
    Err(format!("a binary frame of {len} bytes, but this page asked for JSON text only"))
}

/// The frame's start, for error messages (a frame may be up to 256 KiB).
fn excerpt(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("`{}…` ({} bytes)", &text[..cut], text.len()),
        None => format!("`{text}`"),
    }
}

#[cfg(target_arch = "wasm32")]
pub use socket::BridgeSocket;

#[cfg(target_arch = "wasm32")]
mod socket {
    use super::{binary_frame, read_frame, Event};
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{CloseEvent, Event as DomEvent, MessageEvent, WebSocket};

    /// An open (or opening) websocket and its handlers; dropping it detaches them and closes it, so
    /// a replaced socket reports nothing more.
    pub struct BridgeSocket {
        ws: WebSocket,
        // Kept alive as long as the socket may call them.
        _on_open: Closure<dyn Fn(DomEvent)>,
        _on_message: Closure<dyn Fn(MessageEvent)>,
        _on_close: Closure<dyn Fn(CloseEvent)>,
    }

    impl BridgeSocket {
        pub fn connect(url: &str, report: impl Fn(Event) + Clone + 'static) -> Result<BridgeSocket, String> {
            let ws = WebSocket::new(url).map_err(|e| format!("could not open {url}: {e:?}"))?;
            let r = report.clone();
            let on_open = Closure::<dyn Fn(DomEvent)>::new(move |_| r(Event::Opened));
            let r = report.clone();
            let on_message = Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
                let data = e.data();
                let frame = match data.as_string() {
                    Some(text) => read_frame(&text),
                    None => binary_frame(data.dyn_ref::<js_sys::ArrayBuffer>().map_or(0, |b| b.byte_length())),
                };
                r(Event::Frame(frame))
            });
            let on_close = Closure::<dyn Fn(CloseEvent)>::new(move |e: CloseEvent| {
                let why = if e.reason().is_empty() { format!("closed with code {}", e.code()) } else { e.reason() };
                report(Event::Closed(why))
            });
            ws.set_binary_type(web_sys::BinaryType::Arraybuffer);
            ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            Ok(BridgeSocket { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close })
        }

        pub fn send(&self, frame: &str) -> Result<(), String> {
            self.ws.send_with_str(frame).map_err(|e| format!("could not send to the bridge: {e:?}"))
        }
    }

    impl Drop for BridgeSocket {
        fn drop(&mut self) {
            self.ws.set_onopen(None);
            self.ws.set_onmessage(None);
            self.ws.set_onclose(None);
            let _ = self.ws.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_from_one_second_and_stops_at_thirty() {
        let waits: Vec<i64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(waits, vec![1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
        assert_eq!(backoff_ms(u32::MAX), BACKOFF_CAP_MS);
    }

    #[test]
    fn frames_are_read_into_replies_or_refused_with_what_was_wrong() {
        let ok = read_frame(r#"{"v":1,"reply":"kafkaStatus","kafka":{"up":false,"bootstrap":"127.0.0.1:9092"}}"#).unwrap();
        assert!(matches!(ok.reply, protocol::Reply::KafkaStatus { kafka } if !kafka.up));
        let e = read_frame(r#"{"v":1,"reply":"surprise"}"#).unwrap_err();
        assert!(e.contains("unknown variant `surprise`") && e.contains(r#"`{"v":1,"reply":"surprise"}`"#), "{e}");
        let e = read_frame(r#"{"v":2,"reply":"kafkaStatus","kafka":{"up":true,"bootstrap":"b"}}"#).unwrap_err();
        assert!(e.starts_with("protocol version 2 (this page speaks 1)"), "{e}");
        let long = format!("{{\"v\":1,\"reply\":\"{}", "x".repeat(500));
        let e = read_frame(&long).unwrap_err();
        assert!(e.ends_with("…` (516 bytes)"), "{e}");
        assert!(binary_frame(12).unwrap_err().contains("12 bytes"));
    }
}
