//! A minimal Kafka connection for the APIs rskafka lacks (groups, ListOffsets by timestamp): one TCP
//! stream, requests encoded with kafka-protocol, one request in flight at a time.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, StrBytes};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The client id of the requests that are not a consumer's (a JoinGroup carries the consumer's own).
pub const CLIENT_ID: &str = "offset-lab";
/// Kafka's default `socket.request.max.bytes` is 100 MiB; our replies are tiny, so refuse anything huge.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub enum WireError {
    /// The connection failed or timed out: Kafka is unreachable (reconnect on the next call).
    Io(String),
    /// The bytes did not decode: a bug or a version mismatch.
    Protocol(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(e) => write!(f, "Kafka connection failed: {e}"),
            WireError::Protocol(e) => write!(f, "Kafka protocol error: {e}"),
        }
    }
}

pub struct Conn {
    stream: TcpStream,
    correlation: i32,
    timeout: Duration,
    /// The request header's client id; a JoinGroup's member id starts with it.
    client_id: String,
}

impl Conn {
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Conn, WireError> {
        Conn::connect_as(addr, timeout, CLIENT_ID).await
    }

    /// A connection whose requests carry `client_id` (the engine's driver consumer, a console consumer).
    pub async fn connect_as(addr: &str, timeout: Duration, client_id: &str) -> Result<Conn, WireError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| WireError::Io(format!("connect to {addr} timed out after {timeout:?}")))?
            .map_err(|e| WireError::Io(format!("connect to {addr}: {e}")))?;
        let _ = stream.set_nodelay(true);
        Ok(Conn { stream, correlation: 0, timeout, client_id: client_id.to_string() })
    }

    /// Sends `req` as `api_key` version `version` and decodes the response.
    pub async fn call<Req, Resp>(&mut self, api_key: i16, version: i16, req: &Req) -> Result<Resp, WireError>
    where
        Req: Encodable + HeaderVersion,
        Resp: Decodable + HeaderVersion,
    {
        self.correlation = self.correlation.wrapping_add(1);
        let header = RequestHeader::default()
            .with_request_api_key(api_key)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_string(self.client_id.clone())));
        let mut body = BytesMut::new();
        header.encode(&mut body, Req::header_version(version)).map_err(|e| WireError::Protocol(e.to_string()))?;
        req.encode(&mut body, version).map_err(|e| WireError::Protocol(e.to_string()))?;
        let mut frame = BytesMut::with_capacity(body.len() + 4);
        frame.put_i32(body.len() as i32);
        frame.extend_from_slice(&body);
        let timeout = self.timeout;
        let io = async {
            self.stream.write_all(&frame).await?;
            let len = self.stream.read_i32().await?;
            if len < 0 || len as usize > MAX_RESPONSE_BYTES {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("response length {len}")));
            }
            let mut buf = vec![0u8; len as usize];
            self.stream.read_exact(&mut buf).await?;
            Ok(buf)
        };
        let buf = tokio::time::timeout(timeout, io)
            .await
            .map_err(|_| WireError::Io(format!("no response within {timeout:?}")))?
            .map_err(|e| WireError::Io(e.to_string()))?;
        let mut bytes = Bytes::from(buf);
        let rh = ResponseHeader::decode(&mut bytes, Resp::header_version(version)).map_err(|e| WireError::Protocol(e.to_string()))?;
        if rh.correlation_id != self.correlation {
            return Err(WireError::Protocol(format!("correlation id {} for request {}", rh.correlation_id, self.correlation)));
        }
        let resp = Resp::decode(&mut bytes, version).map_err(|e| WireError::Protocol(e.to_string()))?;
        if bytes.has_remaining() {
            return Err(WireError::Protocol(format!("{} bytes left after the response", bytes.remaining())));
        }
        Ok(resp)
    }
}

/// Kafka's name for an error code (`UNKNOWN_MEMBER_ID`), `None` for 0.
pub fn error_name(code: i16) -> Option<String> {
    let e = kafka_protocol::error::ResponseError::try_from_code(code)?;
    let camel = e.to_string();
    if camel.starts_with("Unknown error code") {
        return Some(format!("ERROR_{code}"));
    }
    Some(screaming_snake(&camel))
}

/// `UnknownMemberId` → `UNKNOWN_MEMBER_ID`.
pub fn screaming_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// Decodes a classic consumer group member's assignment (`ConsumerProtocolAssignment`, any version:
/// all start with version, then `[topic, [partition]]`).
pub fn decode_assignment(mut b: &[u8]) -> Vec<(String, Vec<i32>)> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        if b.len() < n {
            return None;
        }
        let (h, t) = b.split_at(n);
        *b = t;
        Some(h)
    }
    let mut out = Vec::new();
    let parse = |b: &mut &[u8], out: &mut Vec<(String, Vec<i32>)>| -> Option<()> {
        let _version = i16::from_be_bytes(take(b, 2)?.try_into().ok()?);
        let topics = i32::from_be_bytes(take(b, 4)?.try_into().ok()?);
        for _ in 0..topics.max(0) {
            let len = i16::from_be_bytes(take(b, 2)?.try_into().ok()?);
            let name = String::from_utf8_lossy(take(b, len.max(0) as usize)?).into_owned();
            let n = i32::from_be_bytes(take(b, 4)?.try_into().ok()?);
            let mut parts = Vec::new();
            for _ in 0..n.max(0) {
                parts.push(i32::from_be_bytes(take(b, 4)?.try_into().ok()?));
            }
            out.push((name, parts));
        }
        Some(())
    };
    let _ = parse(&mut b, &mut out);
    out
}

/// Encodes a `ConsumerProtocolSubscription` v0 (topics, no user data) for JoinGroup.
pub fn encode_subscription(topics: &[String]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for t in topics {
        b.put_i16(t.len() as i16);
        b.extend_from_slice(t.as_bytes());
    }
    b.put_i32(-1); // null user data
    b.freeze()
}

/// Encodes a `ConsumerProtocolAssignment` v0 for SyncGroup.
pub fn encode_assignment(topics: &[(String, Vec<i32>)]) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    b.put_i32(topics.len() as i32);
    for (t, parts) in topics {
        b.put_i16(t.len() as i16);
        b.extend_from_slice(t.as_bytes());
        b.put_i32(parts.len() as i32);
        for p in parts {
            b.put_i32(*p);
        }
    }
    b.put_i32(-1);
    b.freeze()
}

/// Decodes a `ConsumerProtocolSubscription` (any version) into its topics.
pub fn decode_subscription(b: &[u8]) -> Vec<String> {
    // Same prefix as an assignment without the partition arrays.
    let mut b = b;
    let mut out = Vec::new();
    if b.len() < 6 {
        return out;
    }
    b = &b[2..];
    let n = i32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    b = &b[4..];
    for _ in 0..n.max(0) {
        if b.len() < 2 {
            break;
        }
        let len = i16::from_be_bytes([b[0], b[1]]).max(0) as usize;
        if b.len() < 2 + len {
            break;
        }
        out.push(String::from_utf8_lossy(&b[2..2 + len]).into_owned());
        b = &b[2 + len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(0), None);
        assert_eq!(error_name(25).as_deref(), Some("UNKNOWN_MEMBER_ID"));
        assert_eq!(error_name(3).as_deref(), Some("UNKNOWN_TOPIC_OR_PARTITION"));
        assert_eq!(error_name(1).as_deref(), Some("OFFSET_OUT_OF_RANGE"));
    }

    #[test]
    fn assignments_and_subscriptions_round_trip() {
        let a = vec![("t".to_string(), vec![0, 2]), ("u".to_string(), vec![])];
        assert_eq!(decode_assignment(&encode_assignment(&a)), a);
        let s = vec!["t".to_string(), "words".to_string()];
        assert_eq!(decode_subscription(&encode_subscription(&s)), s);
        assert!(decode_assignment(&[0, 0, 0]).is_empty());
    }
}
