//! The visitor's city and country from its IP address (`--geoip-db`): a MaxMind-format database
//! (GeoLite2 / GeoIP2 City or Country, or any database of that layout) read with the `maxminddb`
//! crate. A refresh replaces the file; the first lookup after its modification time (or size)
//! changed opens it again, off the async threads, while other lookups go on with the old copy.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use leadcard_core::location::GeoIpPlace;
use maxminddb::{Reader, geoip2};

/// What tells one version of the file from the next.
type FileStamp = (Option<SystemTime>, u64);

#[derive(Debug, thiserror::Error)]
#[error("the GeoIP database {path}: {reason}")]
pub struct GeoIpError {
    path: String,
    reason: String,
}

struct Loaded {
    reader: Reader<Vec<u8>>,
    stamp: FileStamp,
}

pub struct GeoIp {
    path: PathBuf,
    loaded: RwLock<Arc<Loaded>>,
    /// Held while the file is read again: one reload at a time.
    reloading: tokio::sync::Mutex<()>,
    /// A replacement that could not be opened, not tried again until the file changes again.
    refused: Mutex<Option<FileStamp>>,
}

fn stamp_of(metadata: &std::fs::Metadata) -> FileStamp {
    (metadata.modified().ok(), metadata.len())
}

fn open(path: &Path) -> Result<Loaded, GeoIpError> {
    let error = |reason: String| GeoIpError { path: path.display().to_string(), reason };
    let metadata = std::fs::metadata(path).map_err(|e| error(e.to_string()))?;
    let reader = Reader::open_readfile(path).map_err(|e| error(e.to_string()))?;
    Ok(Loaded { reader, stamp: stamp_of(&metadata) })
}

impl GeoIp {
    /// Opens the database; a file that is missing or not a MaxMind database is an error.
    pub fn open(path: &Path) -> Result<GeoIp, GeoIpError> {
        let loaded = open(path)?;
        tracing::info!(path = %path.display(), kind = %loaded.reader.metadata().database_type, "GeoIP database ready");
        Ok(GeoIp {
            path: path.to_owned(),
            loaded: RwLock::new(Arc::new(loaded)),
            reloading: tokio::sync::Mutex::new(()),
            refused: Mutex::new(None),
        })
    }

    /// Where the database places `ip`: city and country when it knows them.
    pub async fn locate(&self, ip: IpAddr) -> Option<GeoIpPlace> {
        self.reload_if_replaced().await;
        let loaded = self.loaded.read().ok()?.clone();
        place_of(&loaded.reader, ip.to_canonical())
    }

    async fn reload_if_replaced(&self) {
        let Ok(metadata) = tokio::fs::metadata(&self.path).await else { return };
        let stamp = stamp_of(&metadata);
        let current = self.loaded.read().map(|l| l.stamp).ok();
        let refused = self.refused.lock().ok().and_then(|r| *r);
        if current == Some(stamp) || refused == Some(stamp) {
            return;
        }
        // Another lookup is reading the new file: this one answers from the old.
        let Ok(_reloading) = self.reloading.try_lock() else { return };
        let path = self.path.clone();
        match tokio::task::spawn_blocking(move || open(&path)).await {
            Ok(Ok(loaded)) => {
                tracing::info!(path = %self.path.display(), "GeoIP database replaced: reopened");
                if let Ok(mut slot) = self.loaded.write() {
                    *slot = Arc::new(loaded);
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the replaced GeoIP database cannot be opened; the old one stays");
                if let Ok(mut slot) = self.refused.lock() {
                    *slot = Some(stamp);
                }
            }
            Err(e) => tracing::warn!(error = %e, "reopening the GeoIP database failed"),
        }
    }
}

fn place_of(reader: &Reader<Vec<u8>>, ip: IpAddr) -> Option<GeoIpPlace> {
    // A City record reads a Country database too (it has no city).
    let record = match reader.lookup(ip).and_then(|found| found.decode::<geoip2::City>()) {
        Ok(record) => record?,
        Err(e) => {
            tracing::debug!(error = %e, %ip, "no GeoIP record");
            return None;
        }
    };
    let place = GeoIpPlace {
        city: record.city.names.english.map(str::to_owned),
        country_code: record.country.iso_code.map(str::to_owned),
        country_name: record.country.names.english.map(str::to_owned),
    };
    (place != GeoIpPlace::default()).then_some(place)
}
