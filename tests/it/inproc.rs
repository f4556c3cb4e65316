//! The server in-process: built by the composition root and served by the stdio transport over
//! in-memory pipes (`tokio::io::duplex`), so protocol tests need no process and can set any
//! limit directly in the [`Config`]. (Tokio's paused clock does not help here: it does not
//! advance while blocking jobs run, and tool calls are blocking jobs.)

use crate::util::{modern, samples};
use mcp_media::config::{Config, Limits};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

/// A client end: write lines to the server, read its lines back.
struct Client {
    to_server: Option<DuplexStream>,
    from_server: Lines<BufReader<DuplexStream>>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Client {
    fn start(conformance: bool, limits: Limits) -> Client {
        let cfg = Config {
            roots: vec![("samples".into(), samples())],
            conformance,
            limits,
            ..Config::default()
        };
        let app = mcp_media::build::build(cfg).expect("the server builds");
        let (to_server, server_in) = tokio::io::duplex(1 << 20);
        let (server_out, from_server) = tokio::io::duplex(1 << 20);
        let served = tokio::spawn(mcp_media::transport::stdio::serve(
            app.server.clone(),
            server_in,
            server_out,
        ));
        Client {
            to_server: Some(to_server),
            from_server: BufReader::new(from_server).lines(),
            served,
        }
    }

    async fn send(&mut self, v: Value) {
        let w = self.to_server.as_mut().expect("input open");
        w.write_all(format!("{v}\n").as_bytes())
            .await
            .expect("write");
    }

    async fn next(&mut self) -> Value {
        let line = self
            .from_server
            .next_line()
            .await
            .expect("read")
            .expect("a message before the end");
        serde_json::from_str(&line).expect("JSON")
    }

    /// The response to `id` (other messages are skipped).
    async fn response(&mut self, id: &Value) -> Value {
        loop {
            let m = self.next().await;
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
        }
    }
}

#[tokio::test]
async fn protocol_round_trips_without_a_process() {
    let mut c = Client::start(false, Limits::default());
    c.send(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": modern(json!({}))}))
        .await;
    let r = c.response(&json!(1)).await;
    let names: Vec<&str> = r["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "media_list",
            "media_probe",
            "image_transform",
            "image_tiles",
            "audio_transcode",
            "audio_spectrogram",
            "video_frames",
            "video_storyboard",
            "video_scenes",
            "video_clip"
        ]
    );
    c.send(json!({"jsonrpc": "2.0", "id": 2, "method": "nope", "params": modern(json!({}))}))
        .await;
    assert_eq!(c.response(&json!(2)).await["error"]["code"], -32601);
    c.to_server.take();
    c.served.await.expect("joined").expect("served cleanly");
}

#[tokio::test]
async fn at_end_of_input_a_request_still_running_after_the_grace_gets_a_shutdown_error() {
    let limits = Limits {
        shutdown_grace: Duration::from_millis(100),
        ..Limits::default()
    };
    let mut c = Client::start(true, limits);
    c.send(
        json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "it", "version": "0"}}}),
    )
    .await;
    c.response(&json!("init")).await;
    c.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    c.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "test_elicitation", "arguments": {"message": "Who?"}}}))
        .await;
    let ask = c.next().await;
    assert_eq!(ask["method"], "elicitation/create", "{ask}");
    // The client goes away without answering; after the grace the request is stopped and
    // still answered.
    c.to_server.take();
    let r = c.response(&json!(7)).await;
    assert_eq!(r["error"]["code"], -32000, "{r}");
    c.served.await.expect("joined").expect("served cleanly");
}
