//! Re-delivered report versions. AWS rewrites its Cost and Usage Report (legacy and CUR 2.0) for a
//! billing period many times a month, each delivery cumulative; a provider that keeps the earlier
//! deliveries beside the newest one would count every line of the period twice or more. Two files
//! of an AWS format that share a line (the same `identity/LineItemId` in the same
//! `identity/TimeInterval`) are two versions of one report: the newest wins and the other is left
//! out whole, named in the manifest. Parts of one delivery (`report-1.csv.gz`, `report-2.csv.gz`)
//! share no line and are all read.

use std::collections::{BTreeMap, BTreeSet};

use polars::prelude::*;

use super::files::InputFile;
use super::Scan;
use crate::error::{Error, Location, Result};

/// A line's own id and its time interval, as the AWS mappings name them (`queries/mappings/aws-cur*.toml`).
const LINE: [&str; 2] = ["x_LineItemId", "x_LineItemInterval"];

/// A billing file left out because a newer delivery of the same report holds its lines.
#[derive(Debug, Clone)]
pub struct Superseded {
    /// Index of the superseded file in the billing file list.
    pub file: usize,
    /// Index of the file that supersedes it.
    pub by: usize,
    /// The superseded file's rows.
    pub rows: u64,
}

/// Per file: its rows and latest charge end, to tell which of two versions is the newer.
struct Extent {
    rows: u64,
    latest_end: Option<String>,
}

/// The files of `scans` (billing files already mapped to FOCUS names, in input order) that an
/// AWS delivery later in the same report supersedes. Only files whose mapping gives a line id
/// take part, and only when two or more do (one file cannot hold two versions). Of two versions
/// the newer is the one whose latest `ChargePeriodEnd` is later (a cumulative delivery covers
/// more days), then the one with more rows, then the later in path order.
///
/// Errors: an input error naming the files when their line ids cannot be read.
pub fn superseded(files: &[InputFile], scans: &[Scan]) -> Result<Vec<Superseded>> {
    let candidates: Vec<usize> = (0..scans.len())
        .filter(|&i| LINE.iter().all(|c| scans[i].schema.get(c).is_some()))
        .collect();
    if candidates.len() < 2 {
        return Ok(Vec::new());
    }
    let extents = candidates
        .iter()
        .map(|&i| extent(&scans[i]).map(|e| (i, e)))
        .collect::<Result<BTreeMap<usize, Extent>>>()?;
    let shared = shared_lines(files, scans, &candidates)?;
    let newer = |a: usize, b: usize| -> usize {
        let (x, y) = (&extents[&a], &extents[&b]);
        match (x.latest_end.cmp(&y.latest_end), x.rows.cmp(&y.rows)) {
            (std::cmp::Ordering::Greater, _) => a,
            (std::cmp::Ordering::Less, _) => b,
            (_, std::cmp::Ordering::Greater) => a,
            (_, std::cmp::Ordering::Less) => b,
            _ => a.max(b),
        }
    };
    let mut out: BTreeMap<usize, usize> = BTreeMap::new();
    for (a, b) in shared {
        let keep = newer(a, b);
        let drop = if keep == a { b } else { a };
        // A file superseded by several keeps the newest of them as the one named.
        let by = match out.get(&drop) {
            Some(&other) => newer(other, keep),
            None => keep,
        };
        out.insert(drop, by);
    }
    // A winner that is itself superseded points on to the newest version.
    let resolve = |mut by: usize| {
        while let Some(&next) = out.get(&by) {
            if next == by {
                break;
            }
            by = next;
        }
        by
    };
    Ok(out
        .iter()
        .map(|(&file, &by)| Superseded {
            file,
            by: resolve(by),
            rows: extents[&file].rows,
        })
        .collect())
}

/// A file's rows and latest `ChargePeriodEnd` (as written: ISO 8601 text sorts as time).
fn extent(scan: &Scan) -> Result<Extent> {
    let df = scan
        .lf
        .clone()
        .select([
            len().cast(DataType::UInt64).alias("rows"),
            col("ChargePeriodEnd")
                .cast(DataType::String)
                .max()
                .alias("latest_end"),
        ])
        .collect()
        .map_err(|e| Error::input(Location::file(&scan.file.path), e))?;
    let rows = df
        .column("rows")
        .ok()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<u64>())
        .unwrap_or(0);
    let latest_end = df
        .column("latest_end")
        .ok()
        .and_then(|c| c.str().ok().and_then(|s| s.get(0).map(String::from)));
    Ok(Extent { rows, latest_end })
}

/// The pairs `(a, b)`, `a < b`, of candidate files that hold a line in common: one streaming
/// group-by over the candidates' line ids, keeping the set of files of each line.
fn shared_lines(
    files: &[InputFile],
    scans: &[Scan],
    candidates: &[usize],
) -> Result<BTreeSet<(usize, usize)>> {
    let frames: Vec<LazyFrame> = candidates
        .iter()
        .map(|&i| {
            scans[i]
                .lf
                .clone()
                .select([
                    col(LINE[0]).cast(DataType::String),
                    col(LINE[1]).cast(DataType::String),
                    lit(i as u32).cast(DataType::UInt32).alias("_file"),
                ])
                .filter(col(LINE[0]).is_not_null().and(col(LINE[0]).neq(lit(""))))
        })
        .collect();
    let error = |e: PolarsError| {
        let names: Vec<&str> = candidates
            .iter()
            .map(|&i| files[i].display.as_str())
            .collect();
        Error::input(Location::file(names.join(", ")), e)
    };
    let plan = concat(frames, UnionArgs::default())
        .map_err(error)?
        .group_by([col(LINE[0]), col(LINE[1])])
        .agg([col("_file")
            .unique()
            .sort(Default::default())
            .alias("files")])
        .filter(col("files").list().len().gt(lit(1)))
        .select([col("files")])
        .unique(None, UniqueKeepStrategy::Any);
    let optimizations = plan.get_current_optimizations();
    let groups = LazyFrame::collect_all_with_engine(
        vec![plan.logical_plan],
        Engine::Streaming,
        optimizations,
    )
    .map_err(error)?
    .pop()
    .ok_or_else(|| Error::bug("report versions: no result"))?;
    let mut pairs = BTreeSet::new();
    let lists = groups
        .column("files")
        .and_then(|c| c.list().cloned())
        .map_err(|e| Error::internal("report versions", e))?;
    for files in lists.amortized_iter().flatten() {
        let files: Vec<usize> = files
            .as_ref()
            .u32()
            .map_err(|e| Error::internal("report versions", e))?
            .iter()
            .flatten()
            .map(|f| f as usize)
            .collect();
        for (n, &a) in files.iter().enumerate() {
            for &b in &files[n + 1..] {
                pairs.insert((a, b));
            }
        }
    }
    Ok(pairs)
}
