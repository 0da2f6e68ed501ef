//! No traffic off this machine: a run inside a network namespace that has only loopback, with
//! every `connect()` the client under test attempts recorded by `strace` and judged.
//!
//! [`isolated`] runs a closure on a fresh thread that first moves itself into a new network
//! namespace (`unshare(CLONE_NEWNET)`, which needs root) and brings `lo` up. Namespaces belong to
//! threads and are inherited by whatever a thread starts, so everything the closure starts lives
//! in that namespace: the mock server's and the model stand-in's threads, the scripted browser,
//! and every client process. A server left outside could not be reached from inside (the
//! namespace has its own `lo`), so a run that passes shows that all of it was inside.
//!
//! While the closure runs, every client command the harness launches on that thread
//! ([`CommandSpec::run`], [`crate::drive::terminal::TerminalSession::spawn`]) is started under
//! `strace -f --seccomp-bpf -e trace=connect,bind`, one trace file per command. Afterwards the
//! traces are parsed into a [`ConnectLog`], and [`ConnectLog::judge`] sorts each `connect()` into
//! the run's own loopback servers (the mock's port, the model stand-in the client was pointed at,
//! and listeners the client itself bound, such as its OAuth callback), local sockets (`AF_UNIX`,
//! `AF_UNSPEC` disconnects), and everything else, which is reported with its count.
//!
//! Installs need the registry, so versions are installed before a run enters the namespace.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::rc::Rc;

use mock_server::AccessRecord;
use serde::Serialize;

use crate::checks::{Check, Verdict};
use crate::drive::command::{self, quote, CommandSpec};

/// The check an isolated run adds to its report.
pub const NO_TRAFFIC_OFF_MACHINE: &str = "no-traffic-off-machine";

/// Set to `1` to make an unavailable namespace a failure instead of a skip (CI runs as root).
pub const REQUIRE_NETNS_ENV: &str = "HARNESS_REQUIRE_NETNS";

#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    #[error("network isolation needs root (unshare(CLONE_NEWNET)); running as uid {0}")]
    NotRoot(u32),
    #[error("`{0}` was not found on PATH; install it (Debian: apt-get install -y strace iproute2, or `make setup`)")]
    Missing(&'static str),
    #[error("cannot create a network namespace: unshare(CLONE_NEWNET): {0}")]
    Unshare(nix::Error),
    #[error("cannot bring up loopback in the new namespace (`ip link set lo up`): {0}")]
    Loopback(String),
    #[error("isolation: {0}")]
    Io(#[from] std::io::Error),
    #[error("the isolated thread panicked")]
    Panicked,
}

/// Whether isolation can work here: root, `strace` and `ip` on PATH. (A namespace is only tried
/// for real by [`isolated`].)
pub fn available() -> Result<(), IsolationError> {
    let uid = nix::unistd::geteuid().as_raw();
    if uid != 0 {
        return Err(IsolationError::NotRoot(uid));
    }
    find_program("strace").ok_or(IsolationError::Missing("strace"))?;
    find_program("ip").ok_or(IsolationError::Missing("ip"))?;
    Ok(())
}

/// Whether `HARNESS_REQUIRE_NETNS=1` asks for isolation to be available.
pub fn required() -> bool {
    std::env::var(REQUIRE_NETNS_ENV).is_ok_and(|v| v == "1")
}

fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Which system call a trace line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Call {
    Connect,
    Bind,
}

/// A socket address as strace printed it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Destination {
    Inet {
        ip: IpAddr,
        port: u16,
    },
    Unix(String),
    /// `AF_UNSPEC`: dissolves a datagram socket's association; goes nowhere.
    Unspec,
    Other(String),
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Inet {
                ip: IpAddr::V6(ip),
                port,
            } => write!(f, "[{ip}]:{port}"),
            Destination::Inet { ip, port } => write!(f, "{ip}:{port}"),
            Destination::Unix(path) => write!(f, "AF_UNIX {path}"),
            Destination::Unspec => f.write_str("AF_UNSPEC"),
            Destination::Other(text) => f.write_str(text),
        }
    }
}

/// One traced `connect()` or `bind()`.
#[derive(Debug, Clone, Serialize)]
pub struct TracedCall {
    pub call: Call,
    pub pid: u32,
    pub destination: Destination,
    /// `0`, `-1 ENETUNREACH`, … (`?` when strace split the call and the result was not joined).
    pub result: String,
    /// Which traced command (index into [`ConnectLog::commands`]).
    pub command: usize,
}

impl TracedCall {
    fn succeeded(&self) -> bool {
        self.result == "0"
    }
}

/// Everything the traces recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectLog {
    /// The namespace the run lived in (`net:[…]`), and the one the harness was started in.
    pub netns: String,
    pub host_netns: String,
    /// The traced client commands, as run (without the strace prefix).
    pub commands: Vec<String>,
    pub calls: Vec<TracedCall>,
    /// Ports of the model API the client was pointed at (`ANTHROPIC_BASE_URL`).
    pub model_ports: BTreeSet<u16>,
}

struct Tracer {
    strace: PathBuf,
    dir: PathBuf,
    log: ConnectLog,
}

impl Tracer {
    /// The same command under strace, its trace in a file of its own.
    fn wrap(&mut self, spec: &CommandSpec) -> CommandSpec {
        let tracer = self;
        let index = tracer.log.commands.len();
        let mut line = quote(&spec.program.to_string_lossy());
        for a in &spec.args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        tracer.log.commands.push(line);
        // Clients are pointed at the model stand-in by an environment variable whose name is
        // theirs (ANTHROPIC_BASE_URL, GOOGLE_GEMINI_BASE_URL, …): any loopback URL in the
        // environment names one of the run's own servers.
        for (_, value) in &spec.env {
            if let Some(port) = loopback_port(value) {
                tracer.log.model_ports.insert(port);
            }
        }
        let out = tracer.dir.join(format!("{index:03}.trace"));
        let mut traced = CommandSpec::new(&tracer.strace);
        traced
            .args(
                [
                    "-f",
                    "--seccomp-bpf",
                    "-qq",
                    "-e",
                    "trace=connect,bind",
                    "-e",
                    "signal=none",
                    "-o",
                ]
                .map(String::from),
            )
            .arg(out.to_string_lossy())
            .arg("--")
            .arg(spec.program.to_string_lossy())
            .args(spec.args.iter().cloned());
        traced.env = spec.env.clone();
        traced.cwd = spec.cwd.clone();
        traced
    }
}

/// The port of a `http://127.0.0.1:<port>…` (or `localhost`) URL.
fn loopback_port(value: &str) -> Option<u16> {
    let url = url::Url::parse(value).ok()?;
    match url.host_str()? {
        "127.0.0.1" | "localhost" | "[::1]" => url.port(),
        _ => None,
    }
}

fn netns_of(path: &str) -> String {
    std::fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// Runs `f` on a new thread inside a new network namespace with only loopback up, every client
/// command it launches traced; returns what `f` returned and the parsed traces.
pub fn isolated<T: Send>(f: impl FnOnce() -> T + Send) -> Result<(T, ConnectLog), IsolationError> {
    available()?;
    let strace = find_program("strace").ok_or(IsolationError::Missing("strace"))?;
    let ip = find_program("ip").ok_or(IsolationError::Missing("ip"))?;
    // Registered, so that an interrupted run removes it too.
    let (traces, _tracked) = crate::drive::live::make_dir(
        || {
            tempfile::Builder::new()
                .prefix("harness-connect-trace-")
                .tempdir()
        },
        |dir| dir.path().to_owned(),
    )?;
    let host_netns = netns_of("/proc/thread-self/ns/net");
    let dir = traces.path().to_owned();
    let (value, mut log) = std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name("netns-isolated".into())
            .spawn_scoped(scope, move || -> Result<(T, ConnectLog), IsolationError> {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(IsolationError::Unshare)?;
                let up = std::process::Command::new(&ip)
                    .args(["link", "set", "lo", "up"])
                    .output()?;
                if !up.status.success() {
                    return Err(IsolationError::Loopback(
                        String::from_utf8_lossy(&up.stderr).trim().to_owned(),
                    ));
                }
                let log = ConnectLog {
                    netns: netns_of("/proc/thread-self/ns/net"),
                    ..ConnectLog::default()
                };
                let tracer = Rc::new(RefCell::new(Tracer {
                    strace,
                    dir: dir.clone(),
                    log,
                }));
                let wrapping = tracer.clone();
                let value = command::with_launch_wrapper(
                    Box::new(move |spec| wrapping.borrow_mut().wrap(spec)),
                    f,
                );
                let log = std::mem::take(&mut tracer.borrow_mut().log);
                Ok((value, log))
            })?;
        thread.join().map_err(|_| IsolationError::Panicked)?
    })?;
    log.host_netns = host_netns;
    for (index, _) in log.commands.clone().iter().enumerate() {
        let path = traces.path().join(format!("{index:03}.trace"));
        // A command that could not start leaves no trace file.
        if let Ok(text) = std::fs::read_to_string(&path) {
            log.calls.extend(parse_trace(&text, index));
        }
    }
    Ok((value, log))
}

/// Parses `strace -f -o FILE -e trace=connect,bind` output (lines start with the pid).
pub fn parse_trace(text: &str, command: usize) -> Vec<TracedCall> {
    let mut calls: Vec<TracedCall> = Vec::new();
    // pid → index of its unfinished call, to attach the result of `<... connect resumed>`.
    let mut unfinished: BTreeMap<u32, usize> = BTreeMap::new();
    for line in text.lines() {
        let mut words = line.splitn(2, ' ');
        let (Some(pid), Some(rest)) = (words.next(), words.next()) else {
            continue;
        };
        let (pid, rest) = match pid.parse::<u32>() {
            Ok(pid) => (pid, rest.trim_start()),
            // Without -f strace prints no pid.
            Err(_) => (0, line),
        };
        if rest.starts_with("<...") {
            if let Some(at) = unfinished.remove(&pid) {
                let call: &mut TracedCall = &mut calls[at];
                call.result = result_of(rest);
            }
            continue;
        }
        let call = if rest.starts_with("connect(") {
            Call::Connect
        } else if rest.starts_with("bind(") {
            Call::Bind
        } else {
            continue;
        };
        let destination = rest
            .find('{')
            .and_then(|open| matching_brace(rest, open).map(|close| &rest[open + 1..close]))
            .map(parse_sockaddr)
            .unwrap_or_else(|| Destination::Other(rest.to_owned()));
        let result = if rest.ends_with("<unfinished ...>") {
            unfinished.insert(pid, calls.len());
            "?".to_owned()
        } else {
            result_of(rest)
        };
        calls.push(TracedCall {
            call,
            pid,
            destination,
            result,
            command,
        });
    }
    calls
}

fn result_of(rest: &str) -> String {
    rest.rsplit_once(") = ")
        .map(|(_, r)| {
            // `-1 ENETUNREACH (Network is unreachable)` → `-1 ENETUNREACH`
            r.split(" (").next().unwrap_or(r).trim().to_owned()
        })
        .unwrap_or_else(|| "?".to_owned())
}

fn matching_brace(text: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text[open..].char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn field<'a>(addr: &'a str, prefix: &str, end: char) -> Option<&'a str> {
    let start = addr.find(prefix)? + prefix.len();
    let len = addr[start..].find(end)?;
    Some(&addr[start..start + len])
}

fn parse_sockaddr(addr: &str) -> Destination {
    let family = field(addr, "sa_family=", ',').unwrap_or(addr.trim());
    match family {
        "AF_INET" => {
            let port = field(addr, "sin_port=htons(", ')').and_then(|p| p.parse().ok());
            let ip = field(addr, "inet_addr(\"", '"').and_then(|a| a.parse().ok());
            match (ip, port) {
                (Some(ip), Some(port)) => Destination::Inet { ip, port },
                _ => Destination::Other(format!("{{{addr}}}")),
            }
        }
        "AF_INET6" => {
            let port = field(addr, "sin6_port=htons(", ')').and_then(|p| p.parse().ok());
            let ip = field(addr, "inet_pton(AF_INET6, \"", '"').and_then(|a| a.parse().ok());
            match (ip, port) {
                (Some(ip), Some(port)) => Destination::Inet { ip, port },
                _ => Destination::Other(format!("{{{addr}}}")),
            }
        }
        "AF_UNIX" => Destination::Unix(
            addr.split_once("sun_path=")
                .map(|(_, p)| p.trim().to_owned())
                .unwrap_or_default(),
        ),
        "AF_UNSPEC" => Destination::Unspec,
        _ if addr.trim() == "sa_family=AF_UNSPEC" => Destination::Unspec,
        _ => Destination::Other(format!("{{{addr}}}")),
    }
}

/// What a run's connections came to.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectReport {
    pub netns: String,
    pub host_netns: String,
    pub commands_traced: usize,
    pub connects: usize,
    /// Own loopback servers: `127.0.0.1:PORT (mock)` → count.
    pub own: BTreeMap<String, usize>,
    /// `AF_UNIX` and `AF_UNSPEC` connects: path → count.
    pub local: BTreeMap<String, usize>,
    /// Everything else: destination (with results seen) → count.
    pub foreign: BTreeMap<String, usize>,
    /// Whether the mock served the client while the trace saw no connect to it.
    pub blind: bool,
}

fn is_loopback(ip: &IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

impl ConnectLog {
    /// Sorts every `connect()` by destination: the run's own servers (`mock_ports`, the model
    /// stand-in the client was pointed at, loopback listeners the traced processes bound), local
    /// sockets, and everything else. `access_log` is the mock's: if it served the client, the
    /// trace must have seen the connections, or it is blind.
    pub fn judge(&self, mock_ports: &[u16], access_log: &[AccessRecord]) -> ConnectReport {
        let mut roles: BTreeMap<u16, &str> = BTreeMap::new();
        for c in &self.calls {
            if let (Call::Bind, Destination::Inet { ip, port }) = (c.call, &c.destination) {
                if c.succeeded() && *port != 0 && (is_loopback(ip) || ip.is_unspecified()) {
                    roles.insert(*port, "the client's own listener");
                }
            }
        }
        for p in &self.model_ports {
            roles.insert(*p, "model stand-in");
        }
        for p in mock_ports {
            roles.insert(*p, "mock");
        }
        let mut report = ConnectReport {
            netns: self.netns.clone(),
            host_netns: self.host_netns.clone(),
            commands_traced: self.commands.len(),
            connects: 0,
            own: BTreeMap::new(),
            local: BTreeMap::new(),
            foreign: BTreeMap::new(),
            blind: false,
        };
        let mut foreign_results: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for c in self.calls.iter().filter(|c| c.call == Call::Connect) {
            report.connects += 1;
            match &c.destination {
                Destination::Inet { ip, port } if is_loopback(ip) && roles.contains_key(port) => {
                    let key = format!("{} ({})", c.destination, roles[port]);
                    *report.own.entry(key).or_default() += 1;
                }
                Destination::Unix(_) | Destination::Unspec => {
                    *report.local.entry(c.destination.to_string()).or_default() += 1;
                }
                other => {
                    let key = other.to_string();
                    foreign_results
                        .entry(key.clone())
                        .or_default()
                        .insert(c.result.clone());
                    *report.foreign.entry(key).or_default() += 1;
                }
            }
        }
        report.foreign = report
            .foreign
            .into_iter()
            .map(|(k, n)| {
                let results: Vec<String> = foreign_results
                    .get(&k)
                    .map(|s| s.iter().cloned().collect())
                    .unwrap_or_default();
                (format!("{k} → {}", results.join(", ")), n)
            })
            .collect();
        let client_served = access_log.iter().any(|r| {
            !r.user_agent
                .as_deref()
                .unwrap_or_default()
                .starts_with("harness-")
        });
        let mock_connects: usize = mock_ports
            .iter()
            .map(|p| {
                self.calls
                    .iter()
                    .filter(|c| c.call == Call::Connect)
                    .filter(|c| matches!(&c.destination, Destination::Inet { ip, port } if port == p && is_loopback(ip)))
                    .count()
            })
            .sum();
        report.blind = client_served && mock_connects == 0;
        report
    }
}

impl ConnectReport {
    /// One line: how many connects, and where to.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} connect() call(s) from {} traced client command(s) in {} (the harness started in {}): ",
            self.connects, self.commands_traced, self.netns, self.host_netns
        );
        let own: Vec<String> = self.own.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
        line.push_str(&if own.is_empty() {
            "none to the run's servers".to_owned()
        } else {
            own.join(", ")
        });
        for (k, n) in &self.local {
            let _ = write!(line, ", {k} ×{n}");
        }
        if self.foreign.is_empty() {
            line.push_str("; nothing else");
        } else {
            let foreign: usize = self.foreign.values().sum();
            let _ = write!(line, "; {foreign} elsewhere");
        }
        line
    }

    /// The verdict: pass only if every connect went to the run's own servers or a local socket,
    /// and the trace saw the client's connections to the mock.
    pub fn check(&self) -> Check {
        let mut evidence = vec![self.summary()];
        if !self.foreign.is_empty() {
            evidence.extend(self.foreign.iter().map(|(k, n)| format!("{k} ×{n}")));
            let n: usize = self.foreign.values().sum();
            return Check::fail(
                NO_TRAFFIC_OFF_MACHINE,
                format!(
                    "the client attempted {n} connect() call(s) to destinations that are not the run's loopback servers"
                ),
                evidence,
            );
        }
        if self.blind {
            return Check::fail(
                NO_TRAFFIC_OFF_MACHINE,
                "the mock served the client, yet the trace saw no connect() to it: the trace is blind",
                evidence,
            );
        }
        Check::pass(
            NO_TRAFFIC_OFF_MACHINE,
            "every connect() the client attempted went to the run's own loopback servers or a local socket",
            evidence,
        )
    }

    pub fn passed(&self) -> bool {
        self.check().verdict == Verdict::Pass
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"4242 connect(21, {sa_family=AF_INET, sin_port=htons(40111), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
4242 connect(22, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT (No such file or directory)
4243 bind(30, {sa_family=AF_INET, sin_port=htons(45555), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
4243 connect(31, {sa_family=AF_INET, sin_port=htons(45555), sin_addr=inet_addr("127.0.0.1")}, 16 <unfinished ...>
4244 connect(5, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH (Network is unreachable)
4243 <... connect resumed>) = 0
4245 connect(6, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = -1 ENETUNREACH (Network is unreachable)
4245 connect(7, {sa_family=AF_UNSPEC, sa_data="\0\0\0\0\0\0\0\0\0\0\0\0\0\0"}, 16) = 0
4246 connect(8, {sa_family=AF_INET, sin_port=htons(40112), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)
"#;

    #[test]
    fn trace_lines_parse_into_calls() {
        let calls = parse_trace(SAMPLE, 0);
        assert_eq!(calls.len(), 8);
        assert_eq!(
            calls[0].destination,
            Destination::Inet {
                ip: [127, 0, 0, 1].into(),
                port: 40111
            }
        );
        assert_eq!(calls[0].result, "-1 EINPROGRESS");
        assert_eq!(
            calls[1].destination,
            Destination::Unix("\"/var/run/nscd/socket\"".into())
        );
        assert_eq!(calls[2].call, Call::Bind);
        // The resumed result is joined to its unfinished call.
        assert_eq!(calls[3].result, "0");
        assert_eq!(calls[5].destination.to_string(), "[2001:db8::1]:443");
        assert_eq!(calls[6].destination, Destination::Unspec);
    }

    #[test]
    fn only_the_runs_own_loopback_servers_and_local_sockets_pass() {
        let log = ConnectLog {
            calls: parse_trace(SAMPLE, 0),
            commands: vec!["claude".into()],
            model_ports: BTreeSet::new(),
            ..ConnectLog::default()
        };
        let report = log.judge(&[40111], &[]);
        assert_eq!(report.connects, 7);
        assert_eq!(report.own.get("127.0.0.1:40111 (mock)"), Some(&1));
        assert_eq!(
            report
                .own
                .get("127.0.0.1:45555 (the client's own listener)"),
            Some(&1)
        );
        assert_eq!(report.local.values().sum::<usize>(), 2);
        // DNS off-machine, IPv6 off-machine, and a loopback port that is not the run's.
        assert_eq!(report.foreign.len(), 3, "{:?}", report.foreign);
        assert!(report
            .foreign
            .contains_key("10.255.255.53:53 → -1 ENETUNREACH"));
        assert!(report
            .foreign
            .contains_key("127.0.0.1:40112 → -1 ECONNREFUSED"));
        let check = report.check();
        assert_eq!(check.verdict, Verdict::Fail);
        assert!(check.summary.contains("3 connect() call(s)"), "{check:?}");
    }

    #[test]
    fn a_trace_that_never_saw_the_mock_is_blind() {
        let log = ConnectLog::default();
        let served = mock_server::AccessRecord {
            user_agent: Some("claude-code/2.1.331 (cli)".into()),
            ..served_record()
        };
        let report = log.judge(&[40111], &[served]);
        assert!(report.blind);
        assert_eq!(report.check().verdict, Verdict::Fail);
    }

    fn served_record() -> mock_server::AccessRecord {
        serde_json::from_value(serde_json::json!({
            "seq": 1, "at_ms": 0, "method": "POST", "path": "/", "phase": "mcp",
            "rpc_method": null, "rpc_id": null, "rpc_kind": null, "grant_type": null,
            "client_id": null, "bearer": {"status": "none"}, "session_id": null, "protocol_version": null,
            "accept": null, "user_agent": null, "status": 401, "error": null
        }))
        .expect("an access record")
    }
}
