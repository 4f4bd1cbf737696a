//! A `jeugdpad` process on a temporary data directory for the steps that need a real server,
//! and a minimal HTTP client for talking to it (no dependencies: one request per connection).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::steps::{cargo, repository, run_checked};

/// The debug `jeugdpad` binary, built if needed (after `cargo test` it already is).
pub fn jeugdpad_binary() -> Result<PathBuf, String> {
    run_checked(cargo().args(["build", "--quiet", "-p", "jeugdpad"]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| repository().join("target"), PathBuf::from);
    Ok(target.join("debug").join("jeugdpad"))
}

/// `jeugdpad --data DATA ARGS…` with logs kept quiet; its standard output.
pub fn jeugdpad(binary: &Path, data: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new(binary)
        .arg("--data")
        .arg(data)
        .args(args)
        .env("JEUGDPAD_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", binary.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`jeugdpad {}` failed ({})",
            args.join(" "),
            output.status
        ));
    }
    String::from_utf8(output.stdout).map_err(|e| format!("`jeugdpad {}`: {e}", args.join(" ")))
}

/// A free loopback port (the operating system's choice).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// `jeugdpad serve` on `data`, stopped when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl Server {
    /// Starts the server and waits (up to a minute) until `/health` answers.
    pub fn start(binary: &Path, data: &Path) -> Result<Server, String> {
        let port = free_port()?;
        let log = data.with_extension("server.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let child = Command::new(binary)
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("JEUGDPAD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = Server { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = server.request("GET", "/health", None, None) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("the server exited ({status}):\n{}", server.log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the server did not answer within a minute:\n{}",
                    server.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }

    /// What the server logged so far (for a failure message).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts a GraphQL operation as the token's user; the answer's JSON.
    pub fn graphql(
        &self,
        token: &str,
        query: &str,
        variables: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let body = serde_json::json!({ "query": query, "variables": variables }).to_string();
        let (status, text) = self.request("POST", "/graphql", Some(token), Some(&body))?;
        let answer: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("HTTP {status}, not JSON ({e}): {text}"))?;
        Ok(answer)
    }

    /// One HTTP/1.1 request on a fresh connection; the status and the body.
    fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<(u16, String), String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .map_err(|e| format!("cannot connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(|e| e.to_string())?;
        let body = body.unwrap_or("");
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Type: application/json\r\nAccept: application/graphql-response+json\r\n\
             Content-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = token {
            request.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("cannot send: {e}"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        let (head, body) = response
            .split_once("\r\n\r\n")
            .ok_or("the answer has no header end")?;
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or("the answer has no status")?;
        Ok((status, body.to_owned()))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGKILL is fine here: the data directory is thrown away.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
