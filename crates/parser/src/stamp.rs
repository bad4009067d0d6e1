//! [`FileStamp`]: what tells, without reading a file, that it may have
//! changed. The one definition that the caches of the graph and the index
//! pipeline, and the in-memory map's freshness, share.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How long after its modification a stamp is trusted: a file written
/// within this window of being stamped may change again within the same
/// tick of the file system's clock, size unchanged ("racily clean", as git
/// calls it), so its content must be compared.
const RACY: Duration = Duration::from_secs(2);

/// A file's size and modification time (nanoseconds since the Unix epoch;
/// 0 when the file system does not say).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileStamp {
    /// Size in bytes.
    pub size: u64,
    /// Modification time, in nanoseconds since the Unix epoch (0: unknown).
    pub modified_ns: u128,
}

impl FileStamp {
    /// The stamp of the file at `path`, or `None` when it cannot be read
    /// (a file that is gone).
    pub fn of(path: &Path) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        let modified_ns =
            metadata.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        Some(Self { size: metadata.len(), modified_ns })
    }

    /// `true` when `now` matches this stamp and the match can be trusted to
    /// mean "unchanged": the time is known and was not within two seconds
    /// of `stamped_at`, when this stamp was taken (before the content it
    /// stands for was read). Otherwise the content must be compared.
    pub fn vouches_for(&self, now: &Self, stamped_at: SystemTime) -> bool {
        let stamped_ns = stamped_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        self == now && self.modified_ns != 0 && self.modified_ns.saturating_add(RACY.as_nanos()) < stamped_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_vouches_only_for_an_old_unchanged_file() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("a.py");
        std::fs::write(&path, "x = 1\n").expect("written");
        let stamp = FileStamp::of(&path).expect("a stamp");
        assert_eq!(stamp.size, 6);
        assert!(stamp.modified_ns > 0);
        // Stamped right after the write: the same tick may hide an edit.
        assert!(!stamp.vouches_for(&stamp, SystemTime::now()));
        let later = SystemTime::now() + Duration::from_secs(10);
        assert!(stamp.vouches_for(&stamp, later));
        let edited = FileStamp { size: 7, ..stamp };
        assert!(!stamp.vouches_for(&edited, later));
        assert!(!FileStamp { modified_ns: 0, ..stamp }.vouches_for(&FileStamp { modified_ns: 0, ..stamp }, later));
        assert_eq!(FileStamp::of(&dir.path().join("gone.py")), None);
    }
}
