//! Finding, fingerprinting and sanity-checking input files before any parser sees them: a path may
//! name a file, a folder or a glob; each file is hashed for the manifest; empty files, UTF-16 and
//! invalid UTF-8 are rejected with the file and line, rather than surfacing as a parser's riddle.
//! Input bombs are refused here too (exit 3): a `.csv.gz` that decompresses beyond
//! [`MAX_GZ_RATIO`] times its size (and [`MIN_GZ_LIMIT`]), a Parquet file whose footer declares
//! more than 1 MiB a row on average; the CSV limits per record and column are the layout pass's.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

use super::layout::{CsvChecker, CsvLayout};
use crate::error::{Error, Location, Result};

/// The formats cipwatch reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    CsvGz,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_string_lossy().to_lowercase();
        if name.ends_with(".csv.gz") {
            Some(Format::CsvGz)
        } else if name.ends_with(".csv") {
            Some(Format::Csv)
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            Some(Format::Parquet)
        } else {
            None
        }
    }
}

/// One input file, located and fingerprinted.
#[derive(Debug, Clone)]
pub struct InputFile {
    pub path: PathBuf,
    /// The path as written relative to the configuration folder, for the manifest.
    pub display: String,
    pub format: Format,
    pub sha256: String,
    pub bytes: u64,
    /// A CSV file's layout (records, their physical lines, blank lines); `None` for Parquet.
    pub layout: Option<std::sync::Arc<CsvLayout>>,
    /// Where the file lives when this is a copy of it (`stage1 --source-name`: a path or a URI):
    /// what a prepared part records as the file's place, while stage 1 reads `path`, the copy.
    pub origin: Option<PathBuf>,
}

/// Resolves `spec` (relative to `base`) to a sorted list of input files: the file itself, every
/// readable file in a folder, or every match of a glob. Nothing found, or a folder holding a data
/// file in a form cipwatch does not read (`unreadable_export`), is an input error.
pub fn resolve(base: &Path, spec: &str) -> Result<Vec<PathBuf>> {
    let joined = base.join(spec);
    let found: Vec<PathBuf> = if joined.is_dir() {
        let entries = std::fs::read_dir(&joined).map_err(|e| {
            Error::input(Location::file(&joined), format!("cannot list folder: {e}"))
        })?;
        let paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        if let Some(sub) = paths.iter().find(|p| holds_data(p, 4)) {
            return Err(Error::input(
                Location::file(sub),
                "a sub-folder holding data files: cipwatch reads the files of the folder given, \
                 not its sub-folders, so their rows would be left out unseen; name them with a \
                 glob (e.g. billing/*/*.parquet) or move them up",
            ));
        }
        if let Some(unread) = paths.iter().find(|p| unreadable_export(p)) {
            return Err(Error::input(
                Location::file(unread),
                "a data file cipwatch cannot read (expected .csv, .csv.gz or .parquet): its rows \
                 would be left out unseen; decompress it or move it out of the folder",
            ));
        }
        paths
            .into_iter()
            .filter(|p| Format::of(p).is_some())
            .collect()
    } else if spec.contains(['*', '?', '[']) {
        let pattern = joined.to_string_lossy().to_string();
        glob::glob(&pattern)
            .map_err(|e| Error::config(spec, format!("bad glob pattern: {e}")))?
            .filter_map(|p| p.ok())
            .collect()
    } else if joined.is_file() {
        vec![joined.clone()]
    } else {
        return Err(Error::input(Location::file(&joined), "file not found"));
    };
    let mut found = found;
    found.sort();
    if found.is_empty() {
        return Err(Error::input(
            Location::file(&joined),
            "no .csv, .csv.gz or .parquet file matches",
        ));
    }
    Ok(found)
}

/// True for a file of a folder that looks like exported data in a form cipwatch does not read
/// (`.csv.zst`, `.csv.gzip`, `.parquet.bz2`, `.tsv`, `.zip`, …): skipping it would lose its rows
/// without a word. Hidden files (`.x.parquet.crc`, as Spark writes) and names with neither a data
/// word nor a compression suffix (`_SUCCESS`, `manifest.json`, `README`) are not data.
fn unreadable_export(path: &Path) -> bool {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().to_lowercase()) else {
        return false;
    };
    const DATA: &[&str] = &[".csv", ".parquet", ".tsv"];
    const COMPRESSED: &[&str] = &[
        ".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz", ".zip", ".snappy", ".lz4",
    ];
    path.is_file()
        && !name.starts_with('.')
        && Format::of(path).is_none()
        && (DATA.iter().any(|d| name.contains(d)) || COMPRESSED.iter().any(|c| name.ends_with(c)))
}

/// True for a non-hidden folder holding, within `depth` levels, a file cipwatch reads or an
/// [`unreadable_export`] (a partitioned export's `BILLING_PERIOD=2026-11/` folder).
fn holds_data(path: &Path, depth: usize) -> bool {
    let hidden = path
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with('.'));
    if depth == 0 || hidden || !path.is_dir() {
        return false;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return false;
    };
    entries.filter_map(|e| e.ok().map(|e| e.path())).any(|p| {
        (p.is_file() && (Format::of(&p).is_some() || unreadable_export(&p)))
            || holds_data(&p, depth - 1)
    })
}

/// Hashes a file and rejects empty and wrongly encoded text files, streaming (inputs may be larger
/// than memory).
pub fn inspect(path: &Path, base: &Path) -> Result<InputFile> {
    let format = Format::of(path).ok_or_else(|| {
        Error::input(
            Location::file(path),
            "unknown file type (expected .csv, .csv.gz or .parquet)",
        )
    })?;
    let open = || {
        std::fs::File::open(path)
            .map_err(|e| Error::input(Location::file(path), format!("cannot read: {e}")))
    };
    let mut hasher = Sha256::new();
    let bytes = stream(path, open()?, |chunk| {
        hasher.update(chunk);
        Ok(())
    })?;
    if bytes == 0 {
        return Err(Error::input(
            Location::file(path),
            "file is empty (not even a header row)",
        ));
    }
    let mut text = TextCheck::default();
    let mut csv = CsvChecker::new();
    let limit = match format {
        Format::CsvGz => max_decompressed(bytes),
        _ => u64::MAX,
    };
    let mut seen = 0u64;
    let mut check = |c: &[u8]| {
        seen += c.len() as u64;
        if seen > limit {
            return Err(decompression_bomb(path, limit));
        }
        text.feed(path, c)?;
        csv.feed(path, c)
    };
    let text_bytes = match format {
        Format::Csv => stream(path, open()?, &mut check)?,
        Format::CsvGz => stream(path, flate2::read::MultiGzDecoder::new(open()?), &mut check)?,
        Format::Parquet => {
            check_parquet_sizes(path, bytes)?;
            1
        }
    };
    if text_bytes == 0 {
        return Err(Error::input(
            Location::file(path),
            "file is empty after decompression",
        ));
    }
    text.finish(path)?;
    let layout = match format {
        Format::Parquet => None,
        _ => Some(std::sync::Arc::new(csv.finish(path)?)),
    };
    let display = path
        .strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string();
    let sha256 = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(InputFile {
        path: path.to_path_buf(),
        display,
        format,
        sha256,
        bytes,
        layout,
        origin: None,
    })
}

/// How many times its own size a `.csv.gz` may grow when decompressed (text compresses 5 to 20
/// times; a decompression bomb thousands of times).
pub const MAX_GZ_RATIO: u64 = 200;
/// Decompressed size a `.csv.gz` may always reach, whatever its ratio: 1 GiB.
pub const MIN_GZ_LIMIT: u64 = 1 << 30;

/// The most bytes a `.csv.gz` of `compressed` bytes may decompress to.
fn max_decompressed(compressed: u64) -> u64 {
    compressed.saturating_mul(MAX_GZ_RATIO).max(MIN_GZ_LIMIT)
}

/// The error of a `.csv.gz` that decompresses beyond [`max_decompressed`].
fn decompression_bomb(path: &Path, limit: u64) -> Error {
    Error::input(
        Location::file(path),
        format!(
            "decompresses to more than {} MiB, over {MAX_GZ_RATIO} times its size (the limit of a .csv.gz): a damaged or hostile file",
            limit >> 20
        ),
    )
}

/// A Parquet file's row groups, as its footer declares them, must stay within the CSV limits: on
/// average at most [`super::layout::MAX_RECORD_BYTES`] per row, and no more than a `.csv.gz` of
/// its size may decompress to ([`max_decompressed`]) in all. Checked before any page is read, so
/// a small file declaring a huge dictionary or cell (a 50 MB string in 13 KB) is refused, not
/// allocated.
///
/// Errors: input (exit 3) naming the file and the row group; a footer that cannot be read is
/// left for the reader to report.
fn check_parquet_sizes(path: &Path, file_bytes: u64) -> Result<()> {
    use polars::prelude::{ParquetReader, SerReader};
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(());
    };
    let mut reader = ParquetReader::new(file);
    let Ok(metadata) = reader.get_metadata() else {
        return Ok(());
    };
    let limit = max_decompressed(file_bytes);
    let mut total = 0u64;
    for (i, group) in metadata.row_groups.iter().enumerate() {
        let size = group.total_byte_size() as u64;
        total = total.saturating_add(size);
        let per_row = size / (group.num_rows().max(1) as u64);
        if per_row > super::layout::MAX_RECORD_BYTES || total > limit {
            return Err(Error::input(
                Location::file(path),
                format!(
                    "row group {} declares {} MiB of values ({} rows): beyond the limits of a file (1 MiB a row on average, {} MiB in all)",
                    i + 1,
                    size >> 20,
                    group.num_rows(),
                    limit >> 20
                ),
            ));
        }
    }
    Ok(())
}

/// Feeds `reader` to `each` in 1 MiB chunks; returns the number of bytes read.
fn stream(
    path: &Path,
    mut reader: impl Read,
    mut each: impl FnMut(&[u8]) -> Result<()>,
) -> Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::input(Location::file(path), format!("cannot read: {e}")))?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        each(&buf[..n])?;
    }
}

/// Decompresses a gzip file into memory.
pub fn gunzip(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .map_err(|e| Error::input(Location::file(path), format!("cannot read: {e}")))?;
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(file)
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::input(
                Location::file(path),
                format!("not a readable gzip file: {e}"),
            )
        })?;
    Ok(out)
}

/// CSV inputs must be UTF-8 (a UTF-8 byte-order mark is tolerated): checked chunk by chunk,
/// carrying an incomplete character across chunk boundaries, counting lines for the message.
#[derive(Default)]
struct TextCheck {
    started: bool,
    carry: Vec<u8>,
    lines: u64,
    offset: u64,
}

impl TextCheck {
    fn feed(&mut self, path: &Path, chunk: &[u8]) -> Result<()> {
        if !self.started {
            self.started = true;
            if chunk.starts_with(&[0xFF, 0xFE]) || chunk.starts_with(&[0xFE, 0xFF]) {
                return Err(Error::input(
                    Location::file(path),
                    "file is UTF-16 encoded; export it as UTF-8",
                ));
            }
        }
        let mut data = std::mem::take(&mut self.carry);
        data.extend_from_slice(chunk);
        let valid = match std::str::from_utf8(&data) {
            Ok(_) => data.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => {
                let upto = e.valid_up_to();
                let line =
                    self.lines + data[..upto].iter().filter(|b| **b == b'\n').count() as u64 + 1;
                return Err(Error::input(
                    Location::file(path).row(line),
                    format!(
                        "not valid UTF-8 at byte {} (export the file as UTF-8)",
                        self.offset + upto as u64
                    ),
                ));
            }
        };
        self.lines += data[..valid].iter().filter(|b| **b == b'\n').count() as u64;
        self.offset += valid as u64;
        self.carry = data[valid..].to_vec();
        Ok(())
    }

    fn finish(&self, path: &Path) -> Result<()> {
        if self.carry.is_empty() {
            return Ok(());
        }
        Err(Error::input(
            Location::file(path).row(self.lines + 1),
            "file ends inside a UTF-8 character",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, b"a,b\n1,2\n3,\xff\n").unwrap();
        let err = inspect(&p, dir.path()).unwrap_err().to_string();
        assert!(err.contains("row 3") && err.contains("UTF-8"), "{err}");
    }

    #[test]
    fn empty_and_utf16_files_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("e.csv");
        std::fs::write(&empty, b"").unwrap();
        assert!(inspect(&empty, dir.path())
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let wide = dir.path().join("w.csv");
        std::fs::write(&wide, [0xFF, 0xFE, b'a', 0]).unwrap();
        assert!(inspect(&wide, dir.path())
            .unwrap_err()
            .to_string()
            .contains("UTF-16"));
    }

    #[test]
    fn folders_and_globs_resolve_sorted() {
        let dir = tempfile::tempdir().unwrap();
        for n in ["b.csv", "a.csv", "notes.txt"] {
            std::fs::write(dir.path().join(n), b"x\n1\n").unwrap();
        }
        let from_dir = resolve(dir.path(), ".").unwrap();
        assert_eq!(
            from_dir
                .iter()
                .map(|p| p.file_name().unwrap().to_str().unwrap())
                .collect::<Vec<_>>(),
            ["a.csv", "b.csv"]
        );
        assert_eq!(resolve(dir.path(), "*.csv").unwrap().len(), 2);
        assert!(resolve(dir.path(), "missing.csv").is_err());
    }
}
