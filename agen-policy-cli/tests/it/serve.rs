//! `agen-policy serve` over real loopback HTTP: every endpoint, bad input, revisions, the token,
//! hand edits of the file, concurrent edits and the decision log.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const TOKEN: &str = "serve-test-token-0123456789";

/// A server on a copy of `examples/acme.json`, stopped when dropped.
struct Served {
    child: Child,
    address: String,
    dir: PathBuf,
    stdout: String,
    _tmp: super::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(extra: &[&str]) -> Served {
    serve_with(extra, &[])
}

fn serve_with(extra: &[&str], env: &[(&str, &str)]) -> Served {
    let tmp = super::TempDir::new();
    let dir = PathBuf::from(tmp.path());
    let doc = dir.join("acme.json");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/acme.json"),
        &doc,
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_agen-policy"));
    command
        .arg("serve")
        .arg(&doc)
        .args(["--listen", "127.0.0.1:0", "--poll-ms", "50"])
        .args(extra)
        .env_remove("AGEN_POLICY_ADMIN_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    let address = loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the server stopped: {stdout}"
        );
        stdout.push_str(&line);
        if let Some(rest) = line.split(" on http://").nth(1) {
            break rest.trim().trim_end_matches('/').to_owned();
        }
    };
    // Lines printed after the first (a generated token) are read while they come.
    let mut more = String::new();
    if extra.iter().all(|a| *a != "--token") && env.is_empty() {
        for _ in 0..2 {
            reader.read_line(&mut more).unwrap();
        }
    }
    stdout.push_str(&more);
    Served {
        child,
        address,
        dir,
        stdout,
        _tmp: tmp,
    }
}

/// One response.
#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Served {
    fn doc(&self) -> PathBuf {
        self.dir.join("acme.json")
    }

    /// One HTTP/1.1 request on a new connection, read to its end.
    fn raw(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).unwrap();
        // A server may answer (413) before reading a large body, and close: that is fine.
        let _ = stream.write_all(body);
        let mut bytes = Vec::new();
        let _ = stream.read_to_end(&mut bytes);
        parse_response(&bytes)
    }

    fn get(&self, path: &str) -> Response {
        self.raw("GET", path, &[("Authorization", &bearer())], b"")
    }

    fn send(&self, method: &str, path: &str, revision: Option<&str>, body: &Value) -> Response {
        let tag = revision.map(|r| format!("\"{r}\""));
        let auth = bearer();
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        if let Some(tag) = &tag {
            headers.push(("If-Match", tag.as_str()));
        }
        self.raw(method, path, &headers, body.to_string().as_bytes())
    }

    fn version(&self) -> String {
        self.get("/api/document").json()["version"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn evaluate(&self, body: &Value) -> Response {
        self.raw(
            "POST",
            "/access/v1/evaluation",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }
}

fn bearer() -> String {
    format!("Bearer {TOKEN}")
}

fn parse_response(bytes: &[u8]) -> Response {
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response: {}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = bytes[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..end]).unwrap().trim(), 16)
                .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
        body = out;
    }
    Response {
        status,
        headers,
        body,
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn evaluation(user: &str, connector: &str, tool: &str) -> Value {
    json!({
        "subject": { "type": "user", "id": user },
        "resource": { "type": "connector", "id": connector },
        "action": { "name": tool },
        "context": { "agent": { "type": "ChatGPT" } }
    })
}

// --- the page and health ------------------------------------------------------------------------

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let s = serve(&["--token", TOKEN]);
    let page = s.raw("GET", "/", &[], b"");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("script-src 'self'"));
    let html = String::from_utf8_lossy(&page.body);
    assert!(html.contains("Create policy") && html.contains("/assets/app.js"));
    for asset in [
        "app.js",
        "style.css",
        "dom.js",
        "targeting.js",
        "try.js",
        "findings.js",
        "access.js",
    ] {
        let r = s.raw("GET", &format!("/assets/{asset}"), &[], b"");
        assert_eq!(r.status, 200, "{asset}");
    }
    // No request path reaches the file system.
    for path in [
        "/assets/..%2F..%2FCargo.toml",
        "/assets/../../Cargo.toml",
        "/assets/acme.json",
        "/etc/passwd",
        "/assets/%2e%2e/main.rs",
    ] {
        let r = s.raw("GET", path, &[], b"");
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json()["code"], "not_found");
    }
}

#[test]
fn health_tells_the_version_and_the_file() {
    let s = serve(&["--token", TOKEN]);
    let h = s.raw("GET", "/health", &[], b"");
    assert_eq!(h.status, 200);
    let h = h.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["policies"], 11);
    assert_eq!(h["document_file"]["ok"], true);
    assert_eq!(h["version"].as_str().unwrap().len(), 64);
}

// --- the token ----------------------------------------------------------------------------------

#[test]
fn admin_endpoints_need_the_token() {
    let s = serve(&["--token", TOKEN]);
    for (method, path) in [
        ("GET", "/api/document"),
        ("GET", "/api/policies"),
        ("POST", "/api/policies"),
        ("GET", "/api/policies/github-read"),
        ("DELETE", "/api/policies/github-read"),
        ("PUT", "/api/policies/github-read/settings"),
        ("PUT", "/api/policies/github-read/tools"),
        ("POST", "/api/policies/github-read/users"),
        ("POST", "/api/policies/github-read/groups"),
        ("PUT", "/api/policies/github-read/targeting"),
        ("POST", "/api/try"),
        ("GET", "/api/lint"),
        ("GET", "/api/access?connector=github&tool=delete_repository"),
    ] {
        for auth in [None, Some("Bearer wrong-token-0123456789"), Some(TOKEN)] {
            let headers: Vec<(&str, &str)> =
                auth.map(|a| ("Authorization", a)).into_iter().collect();
            let r = s.raw(method, path, &headers, b"{}");
            assert_eq!(r.status, 401, "{method} {path} {auth:?}");
            assert_eq!(r.json()["code"], "unauthorized");
            assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
        }
    }
    assert_eq!(s.get("/api/document").status, 200);
    // The file was never touched.
    assert_eq!(
        s.get("/api/document").json()["document"]["policies"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

#[test]
fn without_a_token_one_is_made_and_printed_and_short_ones_are_refused() {
    let s = serve(&[]);
    let token = s
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("admin token: "))
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 48);
    assert!(s.stdout.contains(&format!("#token={token}")));
    let r = s.raw(
        "GET",
        "/api/document",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(r.status, 200);

    let from_env = serve_with(&[], &[("AGEN_POLICY_ADMIN_TOKEN", TOKEN)]);
    assert!(!from_env.stdout.contains("admin token"));
    assert_eq!(from_env.get("/api/document").status, 200);

    let run = super::agen(&["serve", &super::acme(), "--token", "short"]);
    assert_eq!(run.code, 2);
    assert!(run.error().contains("at least 16 characters"));
}

// --- reading ------------------------------------------------------------------------------------

#[test]
fn the_table_is_the_cores_with_search_filter_and_sort() {
    let s = serve(&["--token", TOKEN]);
    let r = s.get("/api/policies?search=GITHUB&action=allow&sort=name&descending=true");
    assert_eq!(r.status, 200);
    assert!(r.header("etag").unwrap().starts_with('"'));
    let rows = r.json()["rows"].as_array().unwrap().clone();
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r["action"] == "allow" && r["connector"] == "github"));
    let names: Vec<String> = rows
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(names, sorted);
    for bad in [
        "sort=size",
        "action=maybe",
        "descending=perhaps",
        "unknown=1",
    ] {
        let r = s.get(&format!("/api/policies?{bad}"));
        assert_eq!(r.status, 400, "{bad}");
        assert_eq!(r.json()["code"], "invalid_request");
    }
}

#[test]
fn a_policy_detail_and_an_unknown_one() {
    let s = serve(&["--token", TOKEN]);
    let d = s.get("/api/policies/github-read").json();
    assert_eq!(d["detail"]["policy"]["id"], "github-read");
    assert!(d["detail"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["on"] == true));
    let r = s.get("/api/policies/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "unknown_policy");
}

// --- editing ------------------------------------------------------------------------------------

#[test]
fn every_edit_is_validated_written_and_live() {
    let s = serve(&["--token", TOKEN]);
    let v0 = s.version();
    let created = s.send(
        "POST",
        "/api/policies",
        Some(&v0),
        &json!({"name": "Drive for sales", "connector": "google_drive", "action": "step_up"}),
    );
    assert_eq!(created.status, 201);
    let body = created.json();
    assert_eq!(body["policy"], "drive-for-sales");
    let v1 = body["version"].as_str().unwrap().to_owned();
    assert_eq!(created.header("etag").unwrap(), format!("\"{v1}\""));
    assert_ne!(v0, v1);

    let p = "/api/policies/drive-for-sales";
    let tools = s.send(
        "PUT",
        &format!("{p}/tools"),
        Some(&v1),
        &json!({"all": true, "tools": [{"name": "delete_file", "on": false}]}),
    );
    assert_eq!(tools.status, 200, "{:?}", tools.json());
    let v2 = tools.json()["version"].as_str().unwrap().to_owned();
    let groups = s.send(
        "POST",
        &format!("{p}/groups"),
        Some(&v2),
        &json!({"add": ["sales"]}),
    );
    assert_eq!(groups.status, 200);
    let v3 = groups.json()["version"].as_str().unwrap().to_owned();
    let users = s.send(
        "POST",
        &format!("{p}/users"),
        Some(&v3),
        &json!({"add": ["erin", "dan"], "remove": ["dan"]}),
    );
    assert_eq!(users.status, 200);
    let v4 = users.json()["version"].as_str().unwrap().to_owned();
    let targeting = s.send(
        "PUT",
        &format!("{p}/targeting"),
        Some(&v4),
        &json!({"rules": [{"conditions": [
            {"attribute": "agent.type", "operator": "equals", "values": ["ChatGPT"]}]}],
            "otherwise": "deny"}),
    );
    assert_eq!(targeting.status, 200);
    let v5 = targeting.json()["version"].as_str().unwrap().to_owned();
    let settings = s.send(
        "PUT",
        &format!("{p}/settings"),
        Some(&v5),
        &json!({"name": "Drive sharing", "description": "d", "action": "step_up", "all_users": false}),
    );
    assert_eq!(settings.status, 200);

    // The file holds the edits, and the engine serves them.
    let file: Value = serde_json::from_slice(&std::fs::read(s.doc()).unwrap()).unwrap();
    let policy = file["policies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "drive-for-sales")
        .unwrap()
        .clone();
    assert_eq!(policy["name"], "Drive sharing");
    assert_eq!(policy["groups"], json!(["sales"]));
    assert_eq!(policy["users"], json!(["erin"]));
    assert_eq!(policy["tools"]["exclude"], json!(["delete_file"]));
    let mut request = evaluation("sam", "google_drive", "share_file");
    request["subject"]["properties"] = json!({"groups": ["sales"]});
    let decided = s.evaluate(&request).json();
    assert_eq!(decided["decision"], false);
    assert_eq!(decided["context"]["action"], "step_up");
    assert!(decided["context"]["policies"]
        .as_array()
        .unwrap()
        .contains(&json!("drive-for-sales")));

    let v6 = s.version();
    let deleted = s.send("DELETE", p, Some(&v6), &json!(null));
    assert_eq!(deleted.status, 200);
    assert_eq!(s.get(p).status, 404);
    assert_eq!(
        s.get("/api/document").json()["document"]["policies"]
            .as_array()
            .unwrap()
            .len(),
        11
    );
}

#[test]
fn a_refused_edit_lists_every_problem_and_changes_nothing() {
    let s = serve(&["--token", TOKEN]);
    let before = std::fs::read(s.doc()).unwrap();
    let v = s.version();
    let r = s.send(
        "POST",
        "/api/policies",
        Some(&v),
        &json!({"name": " ", "description": "x".repeat(161), "connector": "gitlab", "action": "maybe"}),
    );
    assert_eq!(r.status, 422);
    let e = r.json();
    assert_eq!(e["policy_path"], "/policies/11");
    let got: Vec<(String, String)> = e["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["code"].as_str().unwrap().into(),
                p["path"].as_str().unwrap().into(),
            )
        })
        .collect();
    for want in [
        ("empty_name", "/policies/11/name"),
        ("description_too_long", "/policies/11/description"),
        ("unknown_connector", "/policies/11/connector"),
        ("invalid_document", "/policies/11/action"),
    ] {
        assert!(
            got.contains(&(want.0.into(), want.1.into())),
            "{want:?} in {got:?}"
        );
    }
    let r = s.send(
        "PUT",
        "/api/policies/github-read/targeting",
        Some(&v),
        &json!({"rules": [{"conditions": [{"attribute": "n", "operator": "lt", "values": ["ten"]}]}]}),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.json()["problems"][0]["path"],
        "/policies/0/targeting/rules/0/conditions/0/values/0"
    );
    let r = s.send("DELETE", "/api/policies/ghost", Some(&v), &json!(null));
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["code"], "unknown_policy");
    assert_eq!(std::fs::read(s.doc()).unwrap(), before);
    assert_eq!(s.version(), v);
}

#[test]
fn bad_bodies_are_refused_with_a_code() {
    let s = serve(&["--token", TOKEN]);
    let v = s.version();
    let tag = format!("\"{v}\"");
    let auth = bearer();
    let headers = [("Authorization", auth.as_str()), ("If-Match", tag.as_str())];
    for body in [
        &b"{"[..],
        b"not json",
        b"[]",
        br#"{"name": "n", "connector": "github", "action": "allow", "colour": "red"}"#,
        br#"{"connector": "github", "action": "allow"}"#,
        br#"{"name": 5, "connector": "github", "action": "allow"}"#,
    ] {
        let r = s.raw("POST", "/api/policies", &headers, body);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(body));
        let e = r.json();
        assert_eq!(e["code"], "invalid_request");
        assert!(e["message"].as_str().unwrap().contains("JSON"), "{e}");
    }
    let unknown = s.raw(
        "PUT",
        "/api/policies/github-read/tools",
        &headers,
        br#"{"all": true, "tool": []}"#,
    );
    assert_eq!(unknown.status, 400);
    assert!(unknown.json()["message"]
        .as_str()
        .unwrap()
        .contains("unknown field `tool`"));

    // Bodies beyond the limits: 413, before anything is parsed.
    let huge = vec![b' '; 2 * 1024 * 1024];
    let r = s.raw("POST", "/api/policies", &headers, &huge);
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["code"], "limit_exceeded");
    let r = s.raw("POST", "/access/v1/evaluation", &[], &huge);
    assert_eq!(r.status, 413);
    let r = s.raw(
        "POST",
        "/access/v1/evaluations",
        &[],
        &vec![b' '; 9 * 1024 * 1024],
    );
    assert_eq!(r.status, 413);
    assert_eq!(s.version(), v);
}

#[test]
fn an_edit_needs_the_current_revision() {
    let s = serve(&["--token", TOKEN]);
    let v = s.version();
    let body = json!({"add": ["erin"]});
    let missing = s.send("POST", "/api/policies/github-read/users", None, &body);
    assert_eq!(missing.status, 428);
    assert_eq!(missing.json()["code"], "revision_required");
    let ok = s.send("POST", "/api/policies/github-read/users", Some(&v), &body);
    assert_eq!(ok.status, 200);
    let stale = s.send(
        "POST",
        "/api/policies/github-read/users",
        Some(&v),
        &json!({"add": ["dan"]}),
    );
    assert_eq!(stale.status, 412);
    assert_eq!(stale.json()["code"], "stale_revision");
    let users = &s.get("/api/policies/github-read").json()["detail"]["policy"]["users"];
    assert_eq!(users, &json!(["erin"]));
}

#[test]
fn concurrent_edits_on_one_revision_make_exactly_one_change() {
    let s = serve(&["--token", TOKEN]);
    let v = s.version();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, v) = (&s, &v);
                scope.spawn(move || {
                    s.send(
                        "POST",
                        "/api/policies",
                        Some(v),
                        &json!({"name": format!("Concurrent {i}"), "connector": "github", "action": "deny"}),
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        7,
        "{statuses:?}"
    );
    let file: Value = serde_json::from_slice(&std::fs::read(s.doc()).unwrap()).unwrap();
    assert_eq!(file["policies"].as_array().unwrap().len(), 12);
}

#[test]
fn a_hand_edit_is_picked_up_and_a_broken_one_refused() {
    let s = serve(&["--token", TOKEN]);
    let v = s.version();
    let good = std::fs::read_to_string(s.doc()).unwrap();

    // A valid hand edit is served.
    let mut doc: Value = serde_json::from_str(&good).unwrap();
    doc["policies"].as_array_mut().unwrap().pop();
    std::fs::write(s.doc(), serde_json::to_vec(&doc).unwrap()).unwrap();
    wait_for("the hand edit", || s.version() != v);
    let v_hand = s.version();
    assert_eq!(
        s.get("/api/policies").json()["rows"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // An edit based on the old revision is stale.
    let stale = s.send(
        "DELETE",
        "/api/policies/github-read",
        Some(&v),
        &json!(null),
    );
    assert_eq!(stale.status, 412);

    // A broken one is refused: the last good set keeps serving, health and the API say why,
    // and edits wait.
    std::fs::write(
        s.doc(),
        good.replace("\"action\": \"deny\"", "\"action\": \"maybe\""),
    )
    .unwrap();
    wait_for("the refusal", || {
        s.raw("GET", "/health", &[], b"").json()["status"] == "degraded"
    });
    let health = s.raw("GET", "/health", &[], b"").json();
    assert!(health["document_file"]["message"]
        .as_str()
        .unwrap()
        .contains("does not load"));
    assert_eq!(health["version"], v_hand);
    let doc = s.get("/api/document").json();
    assert_eq!(
        doc["document_file"]["problems"][0]["code"],
        "invalid_document"
    );
    let blocked = s.send(
        "DELETE",
        "/api/policies/github-read",
        Some(&v_hand),
        &json!(null),
    );
    assert_eq!(blocked.status, 409);
    assert_eq!(blocked.json()["code"], "document_file_invalid");
    let decided = s.evaluate(&evaluation("alice", "github", "list_user_repositories"));
    assert_eq!(decided.json()["context"]["version"], v_hand);

    // Fixed: served again.
    std::fs::write(s.doc(), &good).unwrap();
    wait_for("the fix", || {
        s.raw("GET", "/health", &[], b"").json()["status"] == "ok"
    });
    assert_eq!(s.version(), v);
}

#[test]
fn try_a_request_explains() {
    let s = serve(&["--token", TOKEN]);
    let r = s.send(
        "POST",
        "/api/try",
        None,
        &json!({"user": "alice", "connector": "github", "tool": "list_user_repositories"}),
    );
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["decision"]["action"], "allow");
    assert!(body["text"].as_str().unwrap().contains("github-read"));
    assert!(body["explanation"]["policies"].is_array());
    let bad = s.send(
        "POST",
        "/api/try",
        None,
        &json!({"user": "", "connector": "github", "tool": "t"}),
    );
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["path"], "/user");
}

#[test]
fn lint_is_the_cores_findings_on_the_live_set() {
    let s = serve(&["--token", TOKEN]);
    let r = s.get("/api/lint");
    assert_eq!(r.status, 200);
    let body = r.json();
    let version = body["version"].as_str().unwrap().to_owned();
    assert_eq!(r.header("etag"), Some(format!("\"{version}\"").as_str()));
    let findings = body["findings"].as_array().unwrap();
    let ungoverned = findings
        .iter()
        .find(|f| f["code"] == "ungoverned_tool")
        .expect("an ungoverned_tool finding");
    assert_eq!(ungoverned["severity"], "warning");
    assert_eq!(ungoverned["path"], "/connectors/1/tools/3");
    assert!(ungoverned["message"]
        .as_str()
        .unwrap()
        .contains("google_drive/delete_file"));
    let broad = findings
        .iter()
        .find(|f| f["code"] == "broad_allow")
        .unwrap();
    assert_eq!(broad["severity"], "security_warning");
    assert_eq!(broad["path"], "/policies/5/tools");
    assert_eq!(broad["policies"], json!(["drive-everyone"]));
    // Most severe first.
    assert_eq!(findings[0]["severity"], "security_warning");

    // After an edit, the findings are those of the new set: the tool is governed, and no
    // longer by an allow of every tool.
    let detail = s.get("/api/policies/drive-everyone");
    let edit = s.send(
        "PUT",
        "/api/policies/drive-everyone/tools",
        Some(detail.json()["version"].as_str().unwrap()),
        &json!({"all": false, "tools": [{"name": "delete_file", "on": true}]}),
    );
    assert_eq!(edit.status, 200, "{}", edit.json());
    let after = s.get("/api/lint").json();
    assert_ne!(after["version"], version);
    let after = after["findings"].as_array().unwrap();
    assert!(
        !after.iter().any(|f| f["code"] == "broad_allow"),
        "{after:?}"
    );
    assert!(
        !after.iter().any(|f| f["message"]
            .as_str()
            .unwrap()
            .contains("google_drive/delete_file")),
        "{after:?}"
    );
}

#[test]
fn access_is_the_cores_review_of_a_tool() {
    let s = serve(&["--token", TOKEN]);
    let r = s.get("/api/access?connector=github&tool=delete_repository");
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["connector"], "github");
    assert_eq!(body["tool"], "delete_repository");
    assert!(body["version"].is_string());
    let principals = body["principals"].as_array().unwrap();
    let users: Vec<&str> = principals
        .iter()
        .filter(|p| p["principal"]["kind"] == "user")
        .map(|p| p["user"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"alice") && users.contains(&"bob"),
        "{users:?}"
    );
    assert_eq!(principals.last().unwrap()["principal"]["kind"], "anyone");
    let alice = principals.iter().find(|p| p["user"] == "alice").unwrap();
    let piece = &alice["pieces"][0];
    assert_eq!(piece["action"], "request_approval");
    assert_eq!(piece["policies"], json!(["github-delete-approval"]));
    assert_eq!(piece["approval_flows"], json!(["security-review"]));
    assert_eq!(piece["when"], json!([[]]));
    assert_eq!(piece["certain"], true);

    // One user, with a context-dependent answer.
    let one = s
        .get("/api/access?connector=google_drive&tool=get_file&user=alice")
        .json();
    let principals = one["principals"].as_array().unwrap();
    assert_eq!(principals.len(), 1);
    let actions: Vec<&Value> = principals[0]["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["action"])
        .collect();
    assert_eq!(actions, [&json!("allow"), &json!("request_approval")]);
    assert_eq!(
        principals[0]["pieces"][1]["when"][0][0]["policy"],
        "drive-untrusted-agents"
    );

    // An unknown tool is the core's answer: denied to everyone, with the reason.
    let unknown = s
        .get("/api/access?connector=github&tool=no_such_tool&user=alice")
        .json();
    assert_eq!(unknown["principals"][0]["pieces"][0]["action"], "deny");
    assert_eq!(
        unknown["principals"][0]["pieces"][0]["reason"],
        "unknown_tool"
    );
}

#[test]
fn access_needs_a_connector_and_a_tool() {
    let s = serve(&["--token", TOKEN]);
    for path in [
        "/api/access",
        "/api/access?connector=github",
        "/api/access?tool=delete_repository",
        "/api/access?connector=github&tool=delete_repository&group=x",
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 400, "{path}");
        let body = r.json();
        assert_eq!(body["code"], "invalid_request", "{path}");
        assert_eq!(body["path"], "", "{path}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("invalid query"),
            "{path}: {body}"
        );
    }
}

// --- the decision API ---------------------------------------------------------------------------

#[test]
fn authzen_evaluation_maps_the_request_and_the_decision() {
    let s = serve(&["--token", TOKEN]);
    let allow = s.evaluate(&evaluation("alice", "github", "list_user_repositories"));
    assert_eq!(allow.status, 200);
    let allow = allow.json();
    assert_eq!(allow["decision"], true);
    assert_eq!(allow["context"]["action"], "allow");
    assert_eq!(allow["context"]["reason"], "policy");
    for (tool, action) in [
        ("delete_repository", "request_approval"),
        ("transfer_repository", "deny"),
    ] {
        let d = s.evaluate(&evaluation("alice", "github", tool)).json();
        assert_eq!(d["decision"], false, "{tool}");
        assert_eq!(d["context"]["action"], action, "{tool}");
    }
    let approval = s
        .evaluate(&evaluation("alice", "github", "delete_repository"))
        .json();
    assert!(!approval["context"]["approval_flows"]
        .as_array()
        .unwrap()
        .is_empty());
    let unknown = s.evaluate(&evaluation("alice", "jira", "x")).json();
    assert_eq!(unknown["context"]["reason"], "unknown_connector");
}

#[test]
fn authzen_evidence_rides_on_the_subject() {
    let s = serve(&["--token", TOKEN]);
    // Find a step_up decision in the example, then satisfy it with fresh authentication.
    let mut found = None;
    let doc = s.get("/api/document").json();
    'outer: for c in doc["document"]["connectors"].as_array().unwrap() {
        for t in c["tools"].as_array().unwrap() {
            for u in ["alice", "bob", "carol", "dan", "erin"] {
                let e = evaluation(u, c["id"].as_str().unwrap(), t["name"].as_str().unwrap());
                if s.evaluate(&e).json()["context"]["action"] == "step_up" {
                    found = Some(e);
                    break 'outer;
                }
            }
        }
    }
    let mut request = found.expect("the example has a step_up decision");
    let stepped = s.evaluate(&request).json();
    assert!(!stepped["context"]["step_up"].as_array().unwrap().is_empty());
    request["subject"]["properties"] = json!({
        "now": "2026-11-29T10:00:00Z",
        "auth": { "time": "2026-11-29T09:59:00Z", "acr": "urn:acme:mfa" }
    });
    let satisfied = s.evaluate(&request).json();
    assert_eq!(satisfied["decision"], true, "{satisfied}");
    assert!(!satisfied["context"]["satisfied"]
        .as_array()
        .unwrap()
        .is_empty());
    // Evidence in the context is only context: it satisfies nothing.
    let mut in_context = request.clone();
    let props = in_context["subject"]
        .as_object_mut()
        .unwrap()
        .remove("properties")
        .unwrap();
    in_context["context"] = props;
    assert_eq!(s.evaluate(&in_context).json()["decision"], false);
}

#[test]
fn authzen_refuses_what_it_does_not_know_at_its_path() {
    let s = serve(&["--token", TOKEN]);
    let base = evaluation("alice", "github", "list_user_repositories");
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), ""),
        (
            {
                let mut b = base.clone();
                b["subject"]["type"] = json!("agent");
                b
            },
            "/subject/type",
        ),
        (
            {
                let mut b = base.clone();
                b["resource"]["type"] = json!("repo");
                b
            },
            "/resource/type",
        ),
        (
            {
                let mut b = base.clone();
                b.as_object_mut().unwrap().remove("action");
                b
            },
            "/action",
        ),
        (
            {
                let mut b = base.clone();
                b["extra"] = json!(1);
                b
            },
            "/extra",
        ),
        (
            {
                let mut b = base.clone();
                b["subject"]["properties"] = json!({"role": "admin"});
                b
            },
            "/subject/properties/role",
        ),
        (
            {
                let mut b = base.clone();
                b["subject"]["id"] = json!("");
                b
            },
            "/subject/id",
        ),
        (
            {
                let mut b = base.clone();
                b["subject"]["properties"] = json!({"groups": [1]});
                b
            },
            "/subject/properties/groups/0",
        ),
        (
            {
                let mut b = base.clone();
                b["action"]["name"] = json!(7);
                b
            },
            "/action/name",
        ),
        (
            {
                let mut b = base.clone();
                b["context"] = json!("text");
                b
            },
            "/context",
        ),
        (
            {
                let mut b = base.clone();
                b["subject"]["properties"] = json!({"auth": {"time": 1}});
                b
            },
            "/subject/properties/auth",
        ),
    ];
    for (body, path) in cases {
        let r = s.evaluate(&body);
        assert_eq!(r.status, 400, "{body}");
        let e = r.json();
        assert_eq!(e["code"], "invalid_request", "{body}");
        assert_eq!(e["path"], path, "{body} → {e}");
    }
    let r = s.raw("POST", "/access/v1/evaluation", &[], b"{\"subject\":");
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["code"], "invalid_request");
}

#[test]
fn authzen_batches_take_defaults_and_semantics() {
    let s = serve(&["--token", TOKEN]);
    let batch = json!({
        "subject": { "type": "user", "id": "alice" },
        "resource": { "type": "connector", "id": "github" },
        "evaluations": [
            { "action": { "name": "list_user_repositories" } },
            { "action": { "name": "transfer_repository" } },
            { "action": { "name": "list_user_repositories" } }
        ]
    });
    let post = |body: &Value| {
        s.raw(
            "POST",
            "/access/v1/evaluations",
            &[],
            body.to_string().as_bytes(),
        )
    };
    let all = post(&batch).json();
    let decisions: Vec<bool> = all["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["decision"].as_bool().unwrap())
        .collect();
    assert_eq!(decisions, [true, false, true]);
    let mut first_deny = batch.clone();
    first_deny["options"] = json!({"evaluations_semantic": "deny_on_first_deny"});
    assert_eq!(
        post(&first_deny).json()["evaluations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mut first_permit = batch.clone();
    first_permit["options"] = json!({"evaluations_semantic": "permit_on_first_permit"});
    assert_eq!(
        post(&first_permit).json()["evaluations"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let mut bad = batch.clone();
    bad["evaluations"][1]["action"]["name"] = json!("");
    let e = post(&bad);
    assert_eq!(e.status, 400);
    let e = e.json();
    assert_eq!(e["index"], 1);
    assert_eq!(e["path"], "/action/name");
    let too_many = json!({
        "subject": { "type": "user", "id": "alice" },
        "resource": { "type": "connector", "id": "github" },
        "action": { "name": "list_user_repositories" },
        "evaluations": vec![json!({}); 1001]
    });
    assert_eq!(post(&too_many).status, 400);
}

#[test]
fn decisions_are_logged_as_json_lines() {
    let tmp = super::TempDir::new();
    let log = PathBuf::from(tmp.path()).join("decisions.jsonl");
    let s = serve(&["--token", TOKEN, "--decision-log", log.to_str().unwrap()]);
    s.evaluate(&evaluation("alice", "github", "list_user_repositories"));
    s.evaluate(&evaluation("bob", "github", "transfer_repository"));
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["user"], "alice");
    assert_eq!(lines[0]["action"], "allow");
    assert_eq!(lines[1]["action"], "deny");
    assert_ne!(lines[0]["id"], lines[1]["id"]);
    assert!(lines[0]["time"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn an_invalid_document_does_not_start_the_server() {
    let tmp = super::TempDir::new();
    let doc = tmp.write(
        "bad.json",
        r#"{"connectors": [], "policies": [{"id": "p"}]}"#,
    );
    let run = super::agen(&["serve", &doc, "--token", TOKEN]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("/policies/0"), "{}", run.stderr);
}
