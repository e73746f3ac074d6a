//! Sinks: what a run leaves behind. Tables (CSV and Parquet) and rendered documents are written by
//! `output` into the staging folder that `publish` moves into place in one step, with the
//! `manifest`; `prepared` writes a part of a prepared
//! dataset. `pdf` prints the HTML documents to PDF with headless Chromium. The output folder's
//! lasting state (lock, history, filings, scenarios, status.json) is `crate::state`.

pub mod manifest;
pub mod output;
pub mod pdf;
pub mod prepared_part;
pub mod publish;
pub mod tables;

/// Makes every file and folder this process creates owner-only unless it asks otherwise (umask
/// 077): cipwatch's own files are opened 0600 anyway, but Polars' sinks take no mode (the staged
/// usage's day buckets and rewrites were 0644 inside their 0700 folder). Called once, first thing
/// in `main`, before any thread starts.
pub fn owner_only_by_default() {
    #[cfg(target_os = "linux")]
    // SAFETY: umask sets the process's file mode creation mask and cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(test)]
mod tests {
    use polars::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    /// A file a Polars sink creates is owner-only once the mask is set.
    #[test]
    fn a_file_a_polars_sink_creates_is_owner_only() {
        super::owner_only_by_default();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sunk.parquet");
        df!("a" => [1i64, 2])
            .unwrap()
            .lazy()
            .sink(
                SinkDestination::File {
                    target: SinkTarget::Path(PlRefPath::new(path.to_string_lossy().into_owned())),
                },
                FileWriteFormat::Parquet(Arc::new(ParquetWriteOptions::default())),
                UnifiedSinkArgs::default(),
            )
            .unwrap()
            .collect_with_engine(Engine::Streaming)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}
