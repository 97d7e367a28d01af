//! Small process helpers: run a command, find a free port, keep a server alive for a while.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

/// Runs a command to completion, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// Runs a command and returns its standard output, or None when it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Where cargo puts what it builds (`CARGO_TARGET_DIR`, else `target/`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

pub fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

pub fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A child process that is killed when dropped.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `url` answers 200, or the child exits, or the time is up.
pub fn wait_for_http(url: &str, child: &mut Child, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let agent = agent();
    while start.elapsed() < timeout {
        if let Some(status) = child.try_wait()? {
            bail!("the server exited before it answered ({status})");
        }
        if agent.get(url).call().is_ok_and(|r| r.status() == 200) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{url} did not answer within {timeout:?}")
}

/// An HTTP client that returns error statuses as responses instead of errors.
/// Adds an operator to the database at `url` with the server's own `operator add` (the password
/// on its standard input, as an administrator types it); `role` as the command takes it.
pub fn add_operator(
    server: &Path,
    url: &str,
    email: &str,
    name: &str,
    role: Option<&str>,
    password: &str,
) -> Result<()> {
    let mut cmd = Command::new(server);
    cmd.args(["operator", "add", "--email", email, "--name", name, "--database-url", url]);
    if let Some(role) = role {
        cmd.args(["--role", role]);
    }
    let mut add = cmd.stdin(Stdio::piped()).stdout(Stdio::null()).spawn()?;
    std::io::Write::write_all(&mut add.stdin.take().context("stdin")?, format!("{password}\n").as_bytes())?;
    if !add.wait()?.success() {
        bail!("operator add {email} failed");
    }
    Ok(())
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}
