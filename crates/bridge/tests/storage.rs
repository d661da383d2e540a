//! Checkpoint storage through the websocket: real files on disk, per namespace. Needs no Kafka.

use bridge::server::{serve, Config};
use engine::storage::{StorageReply, StorageRequest};
use futures_util::{SinkExt, StreamExt};
use protocol::*;
use tokio_tungstenite::tungstenite::Message;

async fn call(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    id: u64,
    op: Op,
) -> Reply {
    ws.send(Message::Text(Request::new(id, op).to_json().into())).await.unwrap();
    loop {
        if let Message::Text(t) = ws.next().await.unwrap().unwrap() {
            let r: Response = serde_json::from_str(t.as_str()).unwrap();
            if r.id == Some(id) {
                return r.reply;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoint_files_are_real_files_in_the_connections_folder() {
    let root = std::env::temp_dir().join(format!("offset-lab-bridge-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    // Kafka is not needed: point the bridge at a closed port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = Config::new(format!("127.0.0.1:{port}"));
    config.checkpoint_root = root.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { serve(listener, config).await.unwrap() });

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.unwrap();
    let ns = match ws.next().await.unwrap().unwrap() {
        Message::Text(t) => match serde_json::from_str::<Response>(t.as_str()).unwrap().reply {
            Reply::Welcome { namespace, .. } => namespace,
            r => panic!("{r:?}"),
        },
        m => panic!("{m:?}"),
    };
    let folder = root.join(ns.trim_end_matches('-'));

    let write = StorageRequest::WriteCheckpoint { dir: "ckpt".into(), file_time: engine::time::Time(2000), bytes: b"graph".to_vec() };
    match call(&mut ws, 1, Op::Storage { request: write }).await {
        Reply::Storage { storage: StorageReply::Written { result: Ok(files) } } => assert_eq!(files, vec!["checkpoint-2000".to_string()]),
        r => panic!("{r:?}"),
    }
    assert_eq!(std::fs::read(folder.join("ckpt/checkpoint-2000")).unwrap(), b"graph");
    let write = StorageRequest::Write { path: "ckpt/0f1e/rdd-7/part-00000".into(), bytes: vec![0, 255] };
    assert_eq!(call(&mut ws, 2, Op::Storage { request: write }).await, Reply::Storage { storage: StorageReply::Done { result: Ok(()) } });
    assert_eq!(std::fs::read(folder.join("ckpt/0f1e/rdd-7/part-00000")).unwrap(), vec![0, 255]);
    assert_eq!(
        call(&mut ws, 3, Op::Storage { request: StorageRequest::Read { path: "ckpt/checkpoint-2000".into() } }).await,
        Reply::Storage { storage: StorageReply::Bytes { result: Ok(b"graph".to_vec()) } }
    );
    assert_eq!(
        call(&mut ws, 4, Op::Storage { request: StorageRequest::List { dir: "ckpt".into() } }).await,
        Reply::Storage { storage: StorageReply::Listing { result: Ok(vec!["checkpoint-2000".into()]) } }
    );
    match call(&mut ws, 5, Op::Storage { request: StorageRequest::Read { path: "../../etc/passwd".into() } }).await {
        Reply::Storage { storage: StorageReply::Bytes { result: Err(e) } } => assert!(e.contains("invalid storage path"), "{e}"),
        r => panic!("{r:?}"),
    }
    assert_eq!(
        call(&mut ws, 6, Op::Storage { request: StorageRequest::Delete { path: "ckpt".into() } }).await,
        Reply::Storage { storage: StorageReply::Done { result: Ok(()) } }
    );
    assert!(!folder.join("ckpt").exists());
    std::fs::remove_dir_all(&root).unwrap();
}
