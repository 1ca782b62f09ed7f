//! The suite in-process on 127.0.0.1:0 with every service's demo data (as `almo up --demo`
//! loads it), the console on 127.0.0.1:0 in front of it, and a small HTTP/1.1 client that keeps
//! cookies like a browser.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;

use almo_testkit::{TestApp, TestDb, default_args};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const PLAN: &str = "LAMBETH-LIVING-2026-2028";

pub struct Suite {
    pub app: TestApp,
    pub console: SocketAddr,
}

impl Suite {
    pub async fn start() -> Suite {
        Self::start_with(default_args(), |backend| {
            almo_console::Config::new(
                "127.0.0.1:0".parse().unwrap(),
                format!("http://{backend}"),
                true,
            )
        })
        .await
    }

    /// The suite started with `args`; the console configured by `console` from the suite's address.
    pub async fn start_with(
        args: almo_server::ServerArgs,
        console: impl FnOnce(SocketAddr) -> almo_console::Config,
    ) -> Suite {
        let db = TestDb::with_demo().await.expect("a demo database");
        almo_pi_returns::seed_catalogue(db.db.conn()).await.unwrap();
        almo_delivery_plan::demo::seed(&db.db).await.unwrap();
        almo_pi_returns::demo::seed(&db.db).await.unwrap();
        almo_inspection_scheduling::demo::seed(&db.db)
            .await
            .unwrap();
        almo_sla_charging::demo::seed(&db.db).await.unwrap();
        let mounts = vec![
            almo_directory::mount(),
            almo_delivery_plan::mount(),
            almo_sla_charging::mount(),
            almo_pi_returns::mount(),
            almo_inspection_scheduling::mount(),
        ];
        let app = TestApp::spawn_on(args, mounts, db)
            .await
            .expect("the suite starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let console_addr = listener.local_addr().unwrap();
        let mut config = console(app.addr);
        config.listen = console_addr;
        let console = console_addr;
        tokio::spawn(almo_console::serve(
            config,
            listener,
            std::future::pending(),
        ));
        Suite { app, console }
    }

    /// A browser with no cookies yet.
    pub fn browser(&self) -> Browser {
        Browser {
            addr: self.console,
            cookies: HashMap::new(),
        }
    }

    /// A browser signed in through the development sign-in page.
    pub async fn signed_in(&self, organisation: &str, role: &str) -> Browser {
        let mut b = self.browser();
        let page = b.get("/sign-in").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let csrf = b.cookies["almo_csrf"].clone();
        let r = b
            .post_form(
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("organisation", organisation),
                    ("role", role),
                ],
            )
            .await;
        assert_eq!(
            r.status, 303,
            "sign-in as {role}@{organisation}: {}",
            r.body
        );
        assert!(b.cookies.contains_key("almo_session"));
        let home = b.get("/").await;
        assert_eq!(home.status, 200);
        b
    }
}

pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    /// The value of the first `name="field" value="..."` input after `after` in the page.
    pub fn hidden(&self, after: &str, field: &str) -> String {
        let from = self
            .body
            .find(after)
            .unwrap_or_else(|| panic!("{after} not in page"));
        let rest = &self.body[from..];
        let at = rest
            .find(&format!("name=\"{field}\" value=\""))
            .unwrap_or_else(|| panic!("no field {field} after {after}"));
        let v = &rest[at + field.len() + 15..];
        v[..v.find('"').unwrap()].to_string()
    }
}

pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: HashMap<String, String>,
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn form_body(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser {
    pub async fn get(&mut self, path: &str) -> Response {
        self.send("GET", path, None, &[]).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Response {
        let body = form_body(fields);
        self.send(
            "POST",
            path,
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
            &[],
        )
        .await
    }

    /// A multipart form: text fields and one file field.
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> Response {
        let boundary = "----almo-console-test-boundary";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        let (name, filename, content) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let ct = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", path, Some((&ct, body)), &[]).await
    }

    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
        extra: &[(&str, &str)],
    ) -> Response {
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.addr
        );
        if !self.cookies.is_empty() {
            let c: Vec<_> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req.push_str(&format!("Cookie: {}\r\n", c.join("; ")));
        }
        for (k, v) in extra {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let payload = match body {
            Some((ct, bytes)) => {
                req.push_str(&format!(
                    "Content-Type: {ct}\r\nContent-Length: {}\r\n",
                    bytes.len()
                ));
                bytes
            }
            None => vec![],
        };
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).await.unwrap();
        stream.write_all(&payload).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let mut body = raw[split + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status: u16 = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        for (k, v) in &headers {
            if k == "set-cookie" {
                let first = v.split(';').next().unwrap();
                let (name, value) = first.split_once('=').unwrap();
                if value.is_empty() || v.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_string(), value.to_string());
                }
            }
        }
        Response {
            status,
            headers,
            body: String::from_utf8_lossy(&body).to_string(),
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[eol + 2 + size + 2..];
    }
    out
}
