//! `kubescape http-request` against a real (minimal) HTTP server: upstream's Go-style flags,
//! body from a file, bearer token, failure exit code.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;

/// Serves one request, answers `status`, returns (request line, headers, body).
fn serve_once(
    listener: TcpListener,
    status: u16,
) -> std::thread::JoinHandle<(String, Vec<String>, String)> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end().to_string();
            if h.is_empty() {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            headers.push(h);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = r#"{"status":"accepted"}"#;
        write!(
            &stream,
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        (
            line.trim_end().to_string(),
            headers,
            String::from_utf8(body).unwrap(),
        )
    })
}

#[test]
fn posts_the_body_file_with_a_token_using_upstream_flags() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"{"commands":[{"commandName":"kubescapeScan","args":{"scanV1":{"targetType":"framework","targetNames":["nsa"]}}}]}"#;
    std::fs::write(dir.path().join("request-body.json"), body).unwrap();
    std::fs::write(dir.path().join("token"), "secret-token\n").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_once(listener, 200);
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "http-request",
            "-method=post",
            "-scheme=http",
            &format!("-host=127.0.0.1:{port}"),
            "-path=v1/triggerAction",
        ])
        .arg(format!(
            "-path-body={}",
            dir.path().join("request-body.json").display()
        ))
        .arg(format!(
            "--token-file={}",
            dir.path().join("token").display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("accepted"));
    let (line, headers, got) = server.join().unwrap();
    assert_eq!(line, "POST /v1/triggerAction HTTP/1.1");
    assert!(
        headers
            .iter()
            .any(|h| h == "Authorization: Bearer secret-token"
                || h == "authorization: Bearer secret-token"),
        "{headers:?}"
    );
    assert_eq!(got, body);
}

#[test]
fn refused_requests_and_bad_input_fail_clearly() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = serve_once(listener, 401);
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "http-request",
            "--host",
            &format!("127.0.0.1:{port}"),
            "--path",
            "v1/triggerAction",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
    server.join().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kubescape"))
        .args([
            "http-request",
            "--host",
            "127.0.0.1:1",
            "--path-body",
            "/nonexistent/body.json",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--path-body /nonexistent/body.json"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
