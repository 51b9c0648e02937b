//! A TCP forwarder in front of the S3 server that records the head (request line and headers)
//! of every HTTP/1.1 request the client sends, byte for byte as it went: what a picky server
//! such as COS would see. Bodies are passed on unread, skipped by their `Content-Length`; a
//! request without one (chunked) is recorded and ends the reading of its connection.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The head of one request.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// `PUT /media/media/ab.jpg?partNumber=1&uploadId=… HTTP/1.1`.
    pub(crate) line: String,
    /// The headers, names lowercased, in the order sent.
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    /// The value of header `name` (lowercase), if sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The method.
    pub(crate) fn method(&self) -> &str {
        self.line.split(' ').next().unwrap_or_default()
    }
}

type Log = Arc<Mutex<Vec<Head>>>;

/// A running recorder; stops when dropped.
pub(crate) struct Recorder {
    addr: SocketAddr,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// A recorder on 127.0.0.1 forwarding to `upstream`.
    pub(crate) async fn start(upstream: SocketAddr) -> Recorder {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Log = Arc::default();
        let shared = Arc::clone(&log);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, Arc::clone(&shared)));
            }
        });
        Recorder { addr, log, task }
    }

    /// Its endpoint, to give the client in place of the server's.
    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request head so far, in the order they were sent.
    pub(crate) fn requests(&self) -> Vec<Head> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Passes one connection on, recording the heads of the requests on it.
async fn forward(client: TcpStream, upstream: SocketAddr, log: Log) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let answers = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut parser = Parser::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let heads = parser.feed(&buf[..n]);
        log.lock().unwrap().extend(heads);
        if server_write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = server_write.shutdown().await;
    let _ = answers.await;
}

/// Splits a stream of HTTP/1.1 requests into heads and bodies.
#[derive(Default)]
struct Parser {
    /// The head read so far.
    head: Vec<u8>,
    /// Body bytes still to pass.
    body_left: usize,
    /// A body of unknown length came: the rest of the connection is not read.
    lost: bool,
}

impl Parser {
    /// The heads completed by `data`.
    fn feed(&mut self, data: &[u8]) -> Vec<Head> {
        let mut heads = Vec::new();
        let mut data = data.to_vec();
        while !data.is_empty() && !self.lost {
            if self.body_left > 0 {
                let n = self.body_left.min(data.len());
                self.body_left -= n;
                data.drain(..n);
                continue;
            }
            self.head.append(&mut data);
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                break;
            };
            data = self.head.split_off(end + 4);
            let head = parse(&std::mem::take(&mut self.head));
            if head.header("transfer-encoding").is_some() {
                self.lost = true;
            }
            self.body_left = head
                .header("content-length")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            heads.push(head);
        }
        heads
    }
}

fn parse(bytes: &[u8]) -> Head {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let line = lines.next().unwrap_or_default().to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Head { line, headers }
}
