//! A throwaway PostgreSQL server for the tests and the benchmark: Debian's packages (installed
//! from apt when missing), a fresh data directory, a free port, stopped when dropped. It speaks
//! TLS with a certificate for `localhost` signed by a CA made for it (openssl CLI), so the API
//! tests can connect with `sslmode=verify-full` (`ca_file`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::setup::{apt_install, is_root, step};
use crate::util::{free_port, run};

pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// A kept server's data outlives it (`cargo xtask bench --keep`): stopped, not removed.
    kept: bool,
}

impl Postgres {
    pub fn start() -> Result<Self> {
        static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("leadcard-pg-{}-{n}", std::process::id()));
        Self::start_in(dir, false)
    }

    /// A server whose data lives in `dir` and stays there when it stops: started again on it
    /// when `dir` holds one already (its databases as they were left), else made there.
    pub fn start_kept(dir: PathBuf) -> Result<Self> {
        Self::start_in(dir, true)
    }

    fn start_in(dir: PathBuf, kept: bool) -> Result<Self> {
        let bin = match find_bin() {
            Some(bin) => bin,
            None if is_root() => {
                step("installing postgresql from apt");
                apt_install(&["postgresql"])?;
                find_bin().context("postgresql installed but initdb not found under /usr/lib/postgresql")?
            }
            None => bail!("PostgreSQL is missing: install it with `sudo apt-get install -y postgresql`"),
        };
        let port = free_port()?;
        let data = dir.join("data");
        let existing = kept && data.join("PG_VERSION").exists();
        let as_root = is_root();
        if !existing {
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir)?;
            if as_root {
                run(Command::new("chown").arg("postgres").arg(&dir))?;
            }
            make_certificates(&dir)?;
            if as_root {
                run(Command::new("chown").arg("postgres").arg(dir.join("server.key")).arg(dir.join("server.crt")))?;
            }
        }
        let initdb = if existing {
            "true".to_owned()
        } else {
            format!("{} -D {} -A trust -U postgres --no-sync -E UTF8", bin.join("initdb").display(), data.display())
        };
        let start = format!(
            "{} -D {} -o \"-p {port} -k {dir} -c fsync=off -c listen_addresses=127.0.0.1 \
             -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key\" -l {} -w start",
            bin.join("pg_ctl").display(),
            data.display(),
            dir.join("log").display(),
            dir = dir.display(),
        );
        shell(as_root, &format!("{initdb} > {}/initdb.log 2>&1 && {start} > /dev/null", dir.display()))
            .with_context(|| format!("starting PostgreSQL (see {})", dir.display()))?;
        Ok(Self { bin, dir, port, kept })
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The CA that signed the server's certificate (for `sslrootcert`).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// A fresh, empty database on this server.
    pub fn create_database(&self, name: &str) -> Result<String> {
        run(Command::new(self.bin.join("psql")).args([
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            "postgres",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ]))?;
        Ok(format!("postgres://postgres@127.0.0.1:{}/{name}", self.port))
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let stop = format!(
            "{} -D {} -m fast -w stop > /dev/null 2>&1",
            self.bin.join("pg_ctl").display(),
            self.dir.join("data").display()
        );
        let _ = shell(is_root(), &stop);
        if !self.kept {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `ca.crt` (a CA made for this server) and `server.crt`/`server.key` it signed, valid for the
/// name `localhost` only: connecting as `127.0.0.1` with `verify-full` must fail.
fn make_certificates(dir: &std::path::Path) -> Result<()> {
    let script = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj "/CN=leadcard test CA" -keyout ca.key -out ca.crt \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
  -keyout server.key -out server.csr
printf 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt
chmod 600 server.key
"#;
    run(Command::new("sh").args(["-c", script]).current_dir(dir).stdout(std::process::Stdio::null()))
        .context("making the test server's TLS certificate (openssl)")
}

fn shell(as_postgres: bool, script: &str) -> Result<()> {
    if as_postgres {
        run(Command::new("su").args(["postgres", "-s", "/bin/sh", "-c", script]))
    } else {
        run(Command::new("sh").args(["-c", script]))
    }
}

fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}
