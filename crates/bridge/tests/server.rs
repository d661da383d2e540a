//! Server rules that need no Kafka: listening beyond loopback requires a token, and the token is checked.

use bridge::server::{serve, Config};
use futures_util::StreamExt;
use protocol::{Reply, Response};
use tokio_tungstenite::tungstenite::Message;

fn closed_port_config() -> Config {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    Config::new(format!("127.0.0.1:{port}"))
}

#[tokio::test]
async fn beyond_loopback_without_a_token_is_refused() {
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = serve(listener, closed_port_config()).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("requires --token"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_required_when_set() {
    let mut config = closed_port_config();
    config.token = Some("s3cret".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, config));
    match tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token=wrong")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("wrong token accepted: {:?}", other.map(|_| ())),
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws?token=s3cret")).await.unwrap();
    match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => assert!(matches!(serde_json::from_str::<Response>(t.as_str()).unwrap().reply, Reply::Welcome { .. })),
        m => panic!("{m:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn floods_are_rate_limited_and_the_connection_survives() {
    use futures_util::SinkExt;
    let mut config = closed_port_config();
    // A bucket of 5 that never refills: exactly the 6th frame on is refused, however slow the machine.
    config.rate_burst = 5.0;
    config.rate_per_sec = 0.0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(serve(listener, config));
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
    ws.next().await.unwrap().unwrap(); // welcome
    for id in 1..=8u64 {
        // `watch` is answered by the connection itself, without Kafka.
        let req = protocol::Request::new(id, protocol::Op::Watch { topic: "t".into(), on: false });
        ws.send(Message::Text(req.to_json().into())).await.unwrap();
    }
    let mut limited = 0;
    for _ in 1..=8 {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            if let Reply::Error { code: protocol::ErrorCode::RateLimited, .. } = serde_json::from_str::<Response>(t.as_str()).unwrap().reply
            {
                limited += 1;
            }
        }
    }
    assert_eq!(limited, 3, "frames 6, 7 and 8 are over the burst of 5");
}
