//! A real server on `127.0.0.1:0` over a SQLite file in a temporary folder, an
//! HTTP client that returns `(status, JSON)` for any response, and helpers
//! that set up operations, users and enrolled devices through the API.

use serde_json::{json, Value};
use server::config::Config;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use sync_core::{
    LocationKind, Op, OperationId, PersonField, PersonId, Replica, ReplicaId, SetTarget, Target,
    VisitField, VisitId, VisitSet,
};
use tempfile::TempDir;
use uuid::Uuid;

/// The first admin's password (user `admin`).
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";
/// The password given to supervisors the helpers create.
pub const STAFF_PASSWORD: &str = "supervisor password 1";

/// A running server. Stopped (without waiting for idle connections) on drop;
/// the temporary folder goes with it unless taken with [`Server::stop`].
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The SQLite file.
    pub db_path: PathBuf,
    /// Where the data is (the SQLite file, or a PostgreSQL database under
    /// `scripts/pg.sh`) and the audit key file.
    pub location: (server::db::Location, PathBuf),
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<JoinHandle<()>>,
    dir: Option<TempDir>,
    /// The folders of the servers this one replaced ([`Server::restart`]),
    /// which may hold its database.
    earlier: Vec<TempDir>,
    agent: ureq::Agent,
}

/// A response of any status.
#[derive(Debug)]
pub struct Resp {
    /// HTTP status.
    pub status: u16,
    /// The body parsed as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// The body as text.
    pub text: String,
    headers: Vec<(String, String)>,
}

impl Resp {
    fn from_ureq(r: ureq::Response) -> Self {
        let status = r.status();
        let headers = r
            .headers_names()
            .into_iter()
            .filter_map(|n| r.header(&n).map(|v| (n.clone(), v.to_owned())))
            .collect();
        let text = r.into_string().expect("response body readable");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            status,
            body,
            text,
            headers,
        }
    }

    /// A header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error `code` of a JSON error body ("" when absent).
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Panics unless the status is `status`.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Panics unless this is a 4xx JSON error `{code, message}` with `code`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.code(), code, "unexpected code; body: {}", self.text);
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "error without a message: {}",
            self.text
        );
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "error not sent as JSON: {:?}",
            self.header("content-type")
        );
    }

    /// [`Resp::expect_error`], and a Retry-After in seconds: the client is
    /// to keep what it sent and try again later.
    #[track_caller]
    pub fn expect_retry_later(&self, status: u16, code: &str) {
        self.expect_error(status, code);
        assert!(
            self.header("retry-after")
                .is_some_and(|s| s.parse::<u64>().is_ok()),
            "Retry-After: {:?}",
            self.header("retry-after")
        );
    }
}

/// An enrolled device: its id is its sync-core replica id.
pub struct Device {
    /// Device id = replica id.
    pub id: ReplicaId,
    /// Bearer token.
    pub token: String,
    /// Its user.
    pub user: Uuid,
    /// The device's own replica (ops it makes carry `id`).
    pub replica: Replica,
}

/// Wall time now, ms since the Unix epoch.
/// Every op the stored segments of a SQLite file hold (each `ops` row is a
/// push's ops of one visit, as a wire batch), with the row's `extra`
/// column (SQL over `o`, the row, joined as `join` says), read straight
/// from the file.
pub fn ops_in_file<T: rusqlite::types::FromSql + Clone>(
    c: &rusqlite::Connection,
    extra: &str,
    join: &str,
) -> Vec<(T, Op)> {
    c.prepare(&format!("SELECT {extra}, o.wire FROM ops o {join}"))
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, T>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .unwrap()
        .flat_map(|row| {
            let (x, wire) = row.unwrap();
            let ops = sync_core::wire::decode(&wire).expect("a stored segment");
            ops.into_iter().map(move |op| (x.clone(), op))
        })
        .collect()
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

/// Under `scripts/pg.sh` (AIDANT_TEST_DATABASE_URL set): a new, empty
/// PostgreSQL database for one test server, as a URL. Otherwise `None`: the
/// server uses its SQLite file.
pub fn fresh_pg_database() -> Option<String> {
    let base = std::env::var("AIDANT_TEST_DATABASE_URL").ok()?;
    let name = format!("t_{}", Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(&base, postgres::NoTls).expect("test cluster");
    c.batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (head, _) = base.rsplit_once('/').expect("URL ends in /DATABASE");
    Some(format!("{head}/{name}"))
}

impl Server {
    /// A server with the default limits, except a rate limit high enough that
    /// the helpers' logins and enrolments never hit it.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A second instance on `other`'s database (its SQLite file, or its
    /// PostgreSQL database) and audit key: both serve the same data.
    pub fn start_beside(other: &Server) -> Self {
        Self::start_beside_with(other, |_| {})
    }

    /// [`Server::start_beside`] with a configuration `tune` may adjust.
    pub fn start_beside_with(other: &Server, tune: impl FnOnce(&mut Config)) -> Self {
        let (location, key) = other.location.clone();
        let db_path = other.db_path.clone();
        Self::start_with(move |c| {
            tune(c);
            c.db_path = db_path;
            c.database_url = match location {
                server::db::Location::Postgres(url) => Some(url),
                server::db::Location::File(_) => None,
            };
            c.audit_key = Some(key);
        })
    }

    /// A server whose configuration `tune` may adjust first.
    pub fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut config = Config {
            db_path: dir.path().join("aidant.sqlite3"),
            static_dir: dir.path().join("www"),
            admin_password: Some(ADMIN_PASSWORD.into()),
            ..Config::default()
        };
        config.limits.auth_per_minute = 100_000;
        config.database_url = fresh_pg_database();
        tune(&mut config);
        let db_path = config.db_path.clone();
        let location = (config.location(), config.audit_key_path());
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let running = server::run(listener, config).expect("server starts");
                tx.send(running.server.handle()).expect("test waits");
                running.server.await.expect("server runs");
            })
        });
        let handle = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server did not start");
        Self {
            base: format!("http://{addr}"),
            db_path,
            location,
            handle: Some(handle),
            thread: Some(thread),
            dir: Some(dir),
            earlier: Vec::new(),
            agent: ureq::AgentBuilder::new()
                .timeout(Duration::from_secs(60))
                .build(),
        }
    }

    fn shutdown(&mut self) {
        if let Some(h) = self.handle.take() {
            // Not graceful: the client's idle keep-alive connections would
            // otherwise hold the workers for the shutdown timeout.
            drop(h.stop(false));
        }
        if let Some(t) = self.thread.take() {
            let finished = t.join();
            if !std::thread::panicking() {
                finished.expect("server thread");
            }
        }
    }

    /// Stops the server and starts another on its database and audit key,
    /// as an operator's restart would (the configuration otherwise fresh).
    pub fn restart(mut self) -> Self {
        self.shutdown();
        let mut next = Self::start_beside(&self);
        next.earlier = std::mem::take(&mut self.earlier);
        next.earlier.extend(self.dir.take());
        next
    }

    /// Stops the server and hands back its folder (holding the SQLite file).
    pub fn stop(mut self) -> TempDir {
        self.shutdown();
        self.dir.take().expect("folder")
    }

    /// Any request. `body` is `(content type, bytes)`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, &[u8])>,
    ) -> Resp {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some((ct, bytes)) => req.set("Content-Type", ct).send_bytes(bytes),
            None => req.call(),
        };
        match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Resp::from_ureq(r),
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    /// A request whose body is streamed with chunked transfer encoding (no
    /// Content-Length), so the server only learns the size while reading.
    pub fn send_chunked(&self, path: &str, token: Option<&str>, ct: &str, body: Vec<u8>) -> Resp {
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .set("Content-Type", ct);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        match req.send(std::io::Cursor::new(body)) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => Resp::from_ureq(r),
            // The server may answer 413 and close before reading everything.
            Err(e) => panic!("POST {path} (chunked): {e}"),
        }
    }

    /// `GET` of a binary body: (status, headers by lower-case name, bytes).
    pub fn get_bytes(
        &self,
        path: &str,
        token: &str,
    ) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
        self.get_bytes_with(path, token, &[])
    }

    /// [`Server::get_bytes`] with more request headers.
    pub fn get_bytes_with(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
    ) -> (u16, std::collections::HashMap<String, String>, Vec<u8>) {
        let mut req = self
            .agent
            .get(&format!("{}{path}", self.base))
            .set("Authorization", &format!("Bearer {token}"));
        for (k, v) in headers {
            req = req.set(k, v);
        }
        let r = match req.call() {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {path}: {e}"),
        };
        let status = r.status();
        let headers = r
            .headers_names()
            .into_iter()
            .filter_map(|n| r.header(&n).map(|v| (n.to_ascii_lowercase(), v.to_owned())))
            .collect();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut bytes).expect("body");
        (status, headers, bytes)
    }

    /// `GET`.
    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send("GET", path, token, None)
    }

    /// `POST` a JSON value.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let bytes = serde_json::to_vec(body).expect("JSON");
        self.send("POST", path, token, Some(("application/json", &bytes)))
    }

    /// Logs in; returns the session token.
    pub fn login(&self, username: &str, password: &str) -> String {
        let r = self
            .post(
                "/api/v1/login",
                None,
                &json!({ "username": username, "password": password }),
            )
            .expect(200);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Logs in as the first admin.
    pub fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD)
    }

    /// Creates an operation.
    pub fn create_operation(&self, admin: &str, name: &str) -> OperationId {
        let r = self
            .post(
                "/api/v1/operations",
                Some(admin),
                &json!({
                    "name": name,
                    "force_area": "Thames Valley",
                    "starts_on": "2026-09-21",
                    "ends_on": "2026-09-27",
                }),
            )
            .expect(201);
        r.body["id"].as_str().expect("id").parse().expect("uuid")
    }

    /// Creates a user; returns their id.
    pub fn create_user(
        &self,
        admin: &str,
        username: &str,
        role: &str,
        password: Option<&str>,
    ) -> Uuid {
        let mut body = json!({ "username": username, "display_name": username, "role": role });
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        let r = self.post("/api/v1/users", Some(admin), &body).expect(201);
        r.body["id"].as_str().expect("id").parse().expect("uuid")
    }

    /// Puts a user in an operation.
    pub fn add_member(&self, admin: &str, operation: OperationId, user: Uuid) {
        self.add_to_team(admin, operation, user, None);
    }

    /// Puts a user in an operation and a team (or moves them to it).
    pub fn add_to_team(&self, admin: &str, operation: OperationId, user: Uuid, team: Option<Uuid>) {
        self.post(
            &format!("/api/v1/operations/{operation}/members"),
            Some(admin),
            &json!({ "user_id": user, "team_id": team }),
        )
        .expect(204);
    }

    /// Creates a team in an operation; returns its id.
    pub fn create_team(&self, admin: &str, operation: OperationId, name: &str) -> Uuid {
        let r = self
            .post(
                &format!("/api/v1/operations/{operation}/teams"),
                Some(admin),
                &json!({ "name": name }),
            )
            .expect(201);
        r.body["id"].as_str().expect("id").parse().expect("uuid")
    }

    /// Issues a one-time enrolment code for a user.
    pub fn issue_code(&self, admin: &str, user: Uuid) -> String {
        let r = self
            .send(
                "POST",
                &format!("/api/v1/users/{user}/enrolment-codes"),
                Some(admin),
                None,
            )
            .expect(201);
        r.body["code"].as_str().expect("code").to_owned()
    }

    /// Trades a code for a device.
    pub fn enrol(&self, code: &str) -> Device {
        let r = self
            .post(
                "/api/v1/enrol",
                None,
                &json!({ "code": code, "label": "test phone" }),
            )
            .expect(201);
        let id: ReplicaId = r.body["device_id"]
            .as_str()
            .expect("device_id")
            .parse()
            .expect("uuid");
        Device {
            id,
            token: r.body["token"].as_str().expect("token").to_owned(),
            user: r.body["user"]["id"]
                .as_str()
                .expect("user")
                .parse()
                .expect("uuid"),
            replica: Replica::new(id),
        }
    }

    /// An officer in `operation` (in no team) with one enrolled device.
    pub fn officer(&self, admin: &str, username: &str, operation: OperationId) -> Device {
        self.officer_in(admin, username, operation, None)
    }

    /// An officer in `operation` and `team` with one enrolled device.
    pub fn officer_in(
        &self,
        admin: &str,
        username: &str,
        operation: OperationId,
        team: Option<Uuid>,
    ) -> Device {
        let user = self.create_user(admin, username, "officer", None);
        self.add_to_team(admin, operation, user, team);
        let code = self.issue_code(admin, user);
        self.enrol(&code)
    }

    /// A supervisor of `operation`, logged in; returns `(user id, token)`.
    pub fn supervisor(
        &self,
        admin: &str,
        username: &str,
        operation: OperationId,
    ) -> (Uuid, String) {
        let user = self.create_user(admin, username, "supervisor", Some(STAFF_PASSWORD));
        self.add_member(admin, operation, user);
        (user, self.login(username, STAFF_PASSWORD))
    }

    /// Pushes ops as JSON; the raw response.
    pub fn push(&self, token: &str, ops: &[Op]) -> Resp {
        self.post("/api/v1/sync/push", Some(token), &json!({ "ops": ops }))
    }

    /// Pushes ops and asserts every one was accepted.
    #[track_caller]
    pub fn push_ok(&self, dev: &Device, ops: &[Op]) {
        let r = self.push(&dev.token, ops).expect(200);
        assert_eq!(r.body["accepted"], json!(ops.len()), "{}", r.text);
    }

    /// One pull page: `(ops, cursor, more)`.
    pub fn pull_page(&self, token: &str, after: i64, limit: Option<i64>) -> (Vec<Op>, i64, bool) {
        let q = match limit {
            Some(l) => format!("/api/v1/sync/pull?after={after}&limit={l}"),
            None => format!("/api/v1/sync/pull?after={after}"),
        };
        let r = self.get(&q, Some(token)).expect(200);
        let ops = r.body["ops"]
            .as_array()
            .expect("ops")
            .iter()
            .map(|v| serde_json::from_value(v.clone()).expect("an op"))
            .collect();
        (
            ops,
            r.body["cursor"].as_i64().expect("cursor"),
            r.body["more"].as_bool().expect("more"),
        )
    }

    /// Every op the caller may pull, following the cursor to the end.
    pub fn pull_all(&self, token: &str) -> Vec<Op> {
        let (mut all, mut after) = (Vec::new(), 0);
        loop {
            let (ops, cursor, more) = self.pull_page(token, after, None);
            all.extend(ops);
            after = cursor;
            if !more {
                return all;
            }
        }
    }

    /// Rows in a table, read straight from the database.
    pub fn count(&self, table: &str) -> i64 {
        self.sql(|c| c.query_row(&format!("SELECT COUNT(*) FROM {table}"), (), |r| r.get(0)))
    }

    /// Runs `f` in a write transaction on the server's database, opened
    /// beside the running server (a second instance on PostgreSQL).
    pub fn sql<T: Send>(
        &self,
        f: impl FnOnce(&server::db::Sql) -> Result<T, server::db::DbError> + Send,
    ) -> T {
        let db =
            server::db::Db::open_at(&self.location.0, &self.location.1).expect("open the database");
        db.write_blocking(f).expect("query")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Records a car-wash visit on a device: create (3 ops), postcode, an
/// indicator, a person with an age group, and a note.
pub fn record_visit(dev: &mut Device, operation: OperationId) -> (VisitId, Vec<Op>) {
    let visit = VisitId(Uuid::new_v4());
    let person = PersonId(Uuid::new_v4());
    let t = now_ms();
    let r = &mut dev.replica;
    let mut ops = r
        .create_visit(t, visit, operation, LocationKind::CarWash)
        .expect("create");
    ops.push(
        r.set(
            t + 1,
            visit,
            Target::Visit(VisitField::Postcode),
            sync_core::Value::Text("OX4 1AA".into()),
        )
        .expect("postcode")
        .clone(),
    );
    ops.push(
        r.add(
            t + 2,
            visit,
            SetTarget::Visit(VisitSet::Indicators),
            "cw_cash_only_no_receipts",
        )
        .expect("indicator")
        .clone(),
    );
    ops.push(r.add_person(t + 3, visit, person).expect("person").clone());
    ops.push(
        r.set(
            t + 4,
            visit,
            Target::Person(person, PersonField::AgeGroup),
            sync_core::Value::Text("adult".into()),
        )
        .expect("age group")
        .clone(),
    );
    ops.push(
        r.note(t + 5, visit, "Workers sleep in the portacabin.")
            .expect("note")
            .clone(),
    );
    (visit, ops)
}

/// Two operations, a supervisor of each, two officers (separate devices) in
/// one team of operation 1 and one in operation 2.
pub struct World {
    /// The server.
    pub srv: Server,
    /// Admin session token.
    pub admin: String,
    /// Operation 1.
    pub op1: OperationId,
    /// Operation 2.
    pub op2: OperationId,
    /// Supervisor of operation 1 (session token).
    pub sup1: String,
    /// Supervisor of operation 2 (session token).
    pub sup2: String,
    /// Officer A, operation 1.
    pub a: Device,
    /// Officer A2, operation 1.
    pub a2: Device,
    /// Officer B, operation 2.
    pub b: Device,
}

impl World {
    /// Sets everything up through the API on a fresh server.
    pub fn new() -> Self {
        Self::on(Server::start())
    }

    /// Sets everything up on `srv`.
    pub fn on(srv: Server) -> Self {
        let admin = srv.admin();
        let op1 = srv.create_operation(&admin, "Operation Aidant North");
        let op2 = srv.create_operation(&admin, "Operation Aidant South");
        let (_, sup1) = srv.supervisor(&admin, "sup.north", op1);
        let (_, sup2) = srv.supervisor(&admin, "sup.south", op2);
        let north = srv.create_team(&admin, op1, "North crew");
        let a = srv.officer_in(&admin, "pc.jones", op1, Some(north));
        let a2 = srv.officer_in(&admin, "pc.singh", op1, Some(north));
        let b = srv.officer(&admin, "pc.brown", op2);
        Self {
            srv,
            admin,
            op1,
            op2,
            sup1,
            sup2,
            a,
            a2,
            b,
        }
    }
}
