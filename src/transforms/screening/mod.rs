//! Sanctions and export screening, offline: every customer, beneficial owner and reseller of the
//! CIP registry against snapshots of the Consolidated Screening List and OFAC's SDN list
//! (`[screening] files`), by name, country and identity number.
//!
//! What a comparison gives are **candidates for review**, never a match: `screening.csv` lists
//! each party's best-scoring entries with their score parts (name, country, identity number) down
//! to [`SHOW_BELOW`] under the threshold, marking those at or above `[screening] min_score` as
//! candidates; an account with a candidate (its customer, an owner, its reseller) gets the reason
//! `SANCTIONS_CANDIDATE`, and its report draft a section listing them. Owners whose names are
//! candidates have their listed shares summed: 50% or more adds `OWNED_50PCT_LISTED`.
//!
//! Score: an exact identity-number match (the customer's `national_id` against the numbers the
//! list gives) is 1.0; otherwise the name score ([`names::Index::score`]) plus 0.02 where a listed
//! country is the party's, minus 0.05 where the entry lists countries and none is the party's
//! (a country the lists name in words cipwatch does not know counts as unknown), within [0, 1].
//!
//! The snapshot's date is `[screening] downloaded_on`, else the oldest file's modification time;
//! older than `max_age_days` before the as-of date is exit 4 (unless `--allow-stale`), like a
//! stale registry.

pub mod bench;
pub mod lists;
pub mod names;

use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::config::calendar::days_since_epoch;
use crate::error::{Context, Error, Location, Result};
use crate::transforms::registry::Registry;
use lists::Listed;
use names::{Index, Name};

/// How far under `min_score` a party's best entries are still listed in `screening.csv` (as not
/// candidates), so a reviewer sees the near misses and why they stayed below.
pub const SHOW_BELOW: f64 = 0.15;
/// At most this many entries per party in `screening.csv`, best first.
pub const MAX_PER_PARTY: usize = 5;
/// Listed ownership summed over candidate owners from which `OWNED_50PCT_LISTED` is raised.
pub const OWNED_PCT: f64 = 50.0;

/// One snapshot file, located and fingerprinted when the plan is built.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotFile {
    /// As the configuration names it.
    pub file: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// The file's modification date (UTC), YYYY-MM-DD.
    pub modified: String,
}

/// `[screening]` resolved: the snapshot files and the limits.
#[derive(Debug, Clone)]
pub struct ScreeningPlan {
    pub files: Vec<SnapshotFile>,
    pub downloaded_on: Option<NaiveDate>,
    pub max_age_days: i64,
    pub min_score: f64,
}

impl ScreeningPlan {
    /// Locates and hashes every file (relative to `base`). Errors: input (exit 3) naming a file
    /// that is missing or unreadable.
    pub fn resolve(
        base: &std::path::Path,
        files: &[String],
        downloaded_on: Option<NaiveDate>,
        max_age_days: i64,
        min_score: f64,
    ) -> Result<ScreeningPlan> {
        let files = files
            .iter()
            .map(|spec| {
                let path = base.join(spec);
                let read = |e: std::io::Error| {
                    Error::input(Location::file(&path), format!("cannot read: {e}"))
                };
                let meta = std::fs::metadata(&path).map_err(read)?;
                let bytes = std::fs::read(&path).map_err(read)?;
                let modified: chrono::DateTime<chrono::Utc> = meta.modified().map_err(read)?.into();
                Ok(SnapshotFile {
                    file: spec.clone(),
                    sha256: crate::fingerprint::sha256_bytes(&bytes),
                    bytes: bytes.len() as u64,
                    modified: modified.date_naive().to_string(),
                    path,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(ScreeningPlan {
            files,
            downloaded_on,
            max_age_days,
            min_score,
        })
    }

    /// The snapshot's date and where it comes from.
    fn date(&self) -> (NaiveDate, &'static str) {
        match self.downloaded_on {
            Some(d) => (d, "screening.downloaded_on"),
            None => (
                self.files
                    .iter()
                    .filter_map(|f| NaiveDate::parse_from_str(&f.modified, "%Y-%m-%d").ok())
                    .min()
                    .unwrap_or(NaiveDate::MIN),
                "oldest file's modification time",
            ),
        }
    }
}

/// What the manifest records of the screening (`screening`).
#[derive(Debug, Clone, Serialize)]
pub struct ScreeningRecord {
    pub files: Vec<SnapshotFile>,
    pub snapshot_date: String,
    pub snapshot_date_source: String,
    pub max_age_days: i64,
    pub min_score: f64,
    pub listed_entries: usize,
    pub listed_names: usize,
    pub parties_screened: usize,
    pub candidates: usize,
}

/// The screening stage's result.
#[derive(Default)]
pub struct Screened {
    /// `screening.csv` (none when `[screening]` is not configured).
    pub table: Option<DataFrame>,
    /// `screening_candidates` for the queries (`account_id, best_score, owned_50pct_listed`;
    /// empty without `[screening]`).
    pub candidates: DataFrame,
    pub record: Option<ScreeningRecord>,
    /// `--allow-stale` let a stale snapshot through.
    pub warning: Option<String>,
}

/// A party of the registry to screen.
struct Party {
    account_id: Option<String>,
    reseller_id: Option<String>,
    role: &'static str,
    name: String,
    country: Option<String>,
    id: Option<String>,
    ownership_pct: Option<f64>,
}

/// One party's comparison with one listed entry.
#[derive(Clone)]
struct Hit {
    entry: u32,
    name: u32,
    name_score: f64,
    country: &'static str,
    id_kind: Option<String>,
    score: f64,
}

/// The screening stage: reads the snapshots, checks their age (exit 4, or a warning with
/// `--allow-stale`), screens every party of `registry` and returns the candidates for the queries
/// ([`Screened::candidates`]) with the screening table.
///
/// Errors: input (exit 3) for an unreadable or malformed list; reference data (exit 4) for a stale
/// snapshot.
pub fn stage(
    plan: Option<&ScreeningPlan>,
    registry: &Registry,
    as_of_day: i32,
    allow_stale: bool,
) -> Result<Screened> {
    let Some(plan) = plan else {
        return Ok(Screened {
            candidates: candidates_table(None)?,
            ..Screened::default()
        });
    };
    let (date, date_source) = plan.date();
    let age = as_of_day as i64 - days_since_epoch(date) as i64;
    let mut warning = None;
    if age > plan.max_age_days {
        let stale = format!(
            "the screening lists' snapshot ({date_source} {date}) is {age} days older than the as-of date (screening.max_age_days = {})",
            plan.max_age_days
        );
        match allow_stale {
            true => warning = Some(format!("--allow-stale: {stale}")),
            false => {
                return Err(Error::Reference(format!(
                    "{stale}; download the lists again or run with --allow-stale"
                )))
            }
        }
    }
    let mut files = Vec::new();
    for f in &plan.files {
        let bytes = std::fs::read(&f.path)
            .map_err(|e| Error::input(Location::file(&f.path), format!("cannot read: {e}")))?;
        let text = lists::text(&bytes);
        let kind = lists::kind(&f.path, &text)?;
        files.push((f.path.clone(), kind, text));
    }
    let listed = lists::read(&files)?;
    let parties = parties(registry)?;
    let screen = Screen::new(&listed);
    let results = screen.all(&parties, plan.min_score);
    let table = table(
        &screen,
        &parties,
        &results,
        plan.min_score,
        &date.to_string(),
    )?;
    let candidates = candidates_table(Some(&table))?;
    let record = ScreeningRecord {
        files: plan.files.clone(),
        snapshot_date: date.to_string(),
        snapshot_date_source: date_source.to_string(),
        max_age_days: plan.max_age_days,
        min_score: plan.min_score,
        listed_entries: listed.len(),
        listed_names: screen.index.names.len(),
        parties_screened: parties.len(),
        candidates: candidate_count(&table)?,
    };
    tracing::info!(
        stage = "screening",
        listed_entries = record.listed_entries,
        parties = record.parties_screened,
        candidates = record.candidates,
        accounts = candidates.height(),
        "screened against the lists"
    );
    Ok(Screened {
        candidates,
        table: Some(table),
        record: Some(record),
        warning,
    })
}

/// The listed entries, their names indexed, their identity numbers by number.
pub struct Screen<'a> {
    listed: &'a [Listed],
    index: Index,
    /// Listed name → its entry.
    owner: Vec<u32>,
    /// Listed name as written.
    written: Vec<&'a str>,
    ids: HashMap<&'a str, Vec<(u32, &'a str)>>,
}

impl<'a> Screen<'a> {
    pub fn new(listed: &'a [Listed]) -> Screen<'a> {
        let mut names = Vec::new();
        let mut owner = Vec::new();
        let mut written = Vec::new();
        let mut ids: HashMap<&str, Vec<(u32, &str)>> = HashMap::new();
        for (e, l) in listed.iter().enumerate() {
            for n in &l.names {
                let norm = names::normalise(n);
                if !norm.is_empty() {
                    names.push(norm);
                    owner.push(e as u32);
                    written.push(n.as_str());
                }
            }
            for (kind, number) in &l.ids {
                ids.entry(number.as_str())
                    .or_default()
                    .push((e as u32, kind.as_str()));
            }
        }
        Screen {
            listed,
            index: Index::new(names),
            owner,
            written,
            ids,
        }
    }

    /// Every party's hits, best first, at most [`MAX_PER_PARTY`], down to `min_score -
    /// SHOW_BELOW` (in parallel).
    fn all(&self, parties: &[Party], min_score: f64) -> Vec<Vec<Hit>> {
        parties
            .par_iter()
            .map_init(
                || (Vec::new(), 0u32),
                |(seen, stamp), p| {
                    *stamp = stamp.wrapping_add(1);
                    let name = names::normalise(&p.name);
                    self.party(
                        &name,
                        p.country.as_deref(),
                        p.id.as_deref(),
                        seen,
                        *stamp,
                        min_score,
                    )
                },
            )
            .collect()
    }

    /// The hits of one party (its normalised name, country and identity number).
    fn party(
        &self,
        name: &Name,
        country: Option<&str>,
        id: Option<&str>,
        seen: &mut Vec<u32>,
        stamp: u32,
        min_score: f64,
    ) -> Vec<Hit> {
        let floor = (min_score - SHOW_BELOW).max(0.0);
        // Entry → (name score, listed name).
        let mut best: HashMap<u32, (f64, u32)> = HashMap::new();
        if !name.is_empty() {
            self.index.candidates(name, seen, stamp, |i| {
                let s = self.index.score(name, i);
                let e = self.owner[i as usize];
                let slot = best.entry(e).or_insert((-1.0, i));
                if s > slot.0 {
                    *slot = (s, i);
                }
            });
        }
        let mut id_hits: HashMap<u32, &str> = HashMap::new();
        if let Some(n) = id.and_then(names::identifier) {
            for (e, kind) in self.ids.get(n.as_str()).into_iter().flatten() {
                id_hits.insert(*e, kind);
                best.entry(*e).or_insert_with(|| (0.0, self.first_name(*e)));
            }
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .filter_map(|(e, (name_score, n))| {
                let listed = &self.listed[e as usize];
                let part = country_part(country, &listed.countries);
                let id_kind = id_hits.get(&e).map(|k| k.to_string());
                let score = match id_kind {
                    Some(_) => 1.0,
                    None => (name_score
                        + match part {
                            "match" => 0.02,
                            "mismatch" => -0.05,
                            _ => 0.0,
                        })
                    .clamp(0.0, 1.0),
                };
                (score >= floor && (name_score > 0.0 || id_kind.is_some())).then_some(Hit {
                    entry: e,
                    name: n,
                    name_score,
                    country: part,
                    id_kind,
                    score,
                })
            })
            .collect();
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| self.key(a.entry).cmp(&self.key(b.entry)))
        });
        hits.truncate(MAX_PER_PARTY);
        hits
    }

    fn first_name(&self, entry: u32) -> u32 {
        self.owner.iter().position(|o| *o == entry).unwrap_or(0) as u32
    }

    fn key(&self, entry: u32) -> (&str, &str) {
        let l = &self.listed[entry as usize];
        (l.list.as_str(), l.entry_id.as_str())
    }

    /// The best score of one name against the lists (the benchmark's unit of work).
    pub fn best(&self, name: &str, seen: &mut Vec<u32>, stamp: u32) -> f64 {
        self.party(&names::normalise(name), None, None, seen, stamp, 0.9)
            .first()
            .map(|h| h.score)
            .unwrap_or(0.0)
    }
}

/// `match` where one of the entry's countries is the party's, `mismatch` where the entry names
/// countries cipwatch knows and none is the party's, else `unknown`.
fn country_part(party: Option<&str>, listed: &[String]) -> &'static str {
    let Some(p) = party.map(str::trim).filter(|p| !p.is_empty()) else {
        return "unknown";
    };
    let codes: Vec<&String> = listed.iter().filter(|c| c.len() == 2).collect();
    match (
        codes.is_empty(),
        codes.iter().any(|c| c.eq_ignore_ascii_case(p)),
    ) {
        (_, true) => "match",
        (true, false) => "unknown",
        (false, false) => "mismatch",
    }
}

/// The registry's parties: customers (with their national ID), beneficial owners (with their
/// share) and resellers (once per account sold through them; once alone if none is).
fn parties(registry: &Registry) -> Result<Vec<Party>> {
    let texts = |df: &DataFrame, name: &str| -> Result<Vec<Option<String>>> {
        match df.column(name) {
            Ok(c) => Ok(c
                .cast(&DataType::String)
                .or_internal("screening parties")?
                .str()
                .or_internal("screening parties")?
                .iter()
                .map(|v| v.map(String::from))
                .collect()),
            Err(_) => Ok(vec![None; df.height()]),
        }
    };
    let c = &registry.customers;
    let mut out = Vec::new();
    let accounts = texts(c, "account_id")?;
    let sellers = texts(c, "reseller_id")?;
    for (((account, name), country), id) in accounts
        .iter()
        .zip(texts(c, "legal_name")?)
        .zip(texts(c, "country")?)
        .zip(texts(c, "national_id")?)
    {
        out.push(Party {
            account_id: account.clone(),
            reseller_id: None,
            role: "customer",
            name: name.unwrap_or_default(),
            country,
            id,
            ownership_pct: None,
        });
    }
    let o = &registry.owners;
    let pct: Vec<Option<f64>> = match o.column("ownership_pct") {
        Ok(col) => col
            .cast(&DataType::Float64)
            .or_internal("ownership")?
            .f64()
            .or_internal("ownership")?
            .iter()
            .collect(),
        Err(_) => vec![None; o.height()],
    };
    for (((account, name), country), pct) in texts(o, "account_id")?
        .into_iter()
        .zip(texts(o, "name")?)
        .zip(texts(o, "country")?)
        .zip(pct)
    {
        out.push(Party {
            account_id: account,
            reseller_id: None,
            role: "beneficial_owner",
            name: name.unwrap_or_default(),
            country,
            id: None,
            ownership_pct: pct,
        });
    }
    // Reseller → the accounts sold through it.
    let mut sold: HashMap<&str, Vec<Option<String>>> = HashMap::new();
    for (account, seller) in accounts.iter().zip(&sellers) {
        if let Some(s) = seller {
            sold.entry(s.as_str()).or_default().push(account.clone());
        }
    }
    let r = &registry.resellers;
    for ((reseller, name), country) in texts(r, "reseller_id")?
        .into_iter()
        .zip(texts(r, "name")?)
        .zip(texts(r, "country")?)
    {
        let accounts = reseller
            .as_deref()
            .and_then(|id| sold.get(id).cloned())
            .unwrap_or_else(|| vec![None]);
        for account in accounts {
            out.push(Party {
                account_id: account,
                reseller_id: reseller.clone(),
                role: "reseller",
                name: name.clone().unwrap_or_default(),
                country: country.clone(),
                id: None,
                ownership_pct: None,
            });
        }
    }
    Ok(out)
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// `screening.csv`'s columns as they are filled.
#[derive(Default)]
struct Rows {
    account_id: Vec<Option<String>>,
    reseller_id: Vec<Option<String>>,
    party: Vec<String>,
    party_name: Vec<String>,
    party_country: Vec<Option<String>>,
    ownership_pct: Vec<Option<f64>>,
    list: Vec<Option<String>>,
    entry_id: Vec<String>,
    listed_name: Vec<Option<String>>,
    listed_countries: Vec<Option<String>>,
    programs: Vec<Option<String>>,
    name_score: Vec<Option<f64>>,
    country: Vec<Option<String>>,
    id_match: Vec<bool>,
    id_kind: Vec<Option<String>>,
    score: Vec<f64>,
    candidate: Vec<bool>,
    basis: Vec<String>,
}

/// An account's candidate owners: names, entries, summed listed share, best score.
#[derive(Default)]
struct Owned {
    owners: Vec<String>,
    entries: Vec<String>,
    pct: f64,
    score: f64,
}

impl Rows {
    /// One party's comparison with one entry.
    fn hit(&mut self, screen: &Screen, p: &Party, h: &Hit, min_score: f64) {
        let l = &screen.listed[h.entry as usize];
        self.account_id.push(p.account_id.clone());
        self.reseller_id.push(p.reseller_id.clone());
        self.party.push(p.role.to_string());
        self.party_name.push(p.name.clone());
        self.party_country.push(p.country.clone());
        self.ownership_pct.push(p.ownership_pct);
        self.list.push(Some(l.list.clone()));
        self.entry_id.push(l.entry_id.clone());
        self.listed_name
            .push(Some(screen.written[h.name as usize].to_string()));
        self.listed_countries.push(Some(l.countries.join(";")));
        self.programs.push(Some(l.programs.clone()));
        self.name_score.push(Some(round4(h.name_score)));
        self.country.push(Some(h.country.to_string()));
        self.id_match.push(h.id_kind.is_some());
        self.id_kind.push(h.id_kind.clone());
        self.score.push(round4(h.score));
        self.candidate.push(h.score >= min_score);
        self.basis.push(match h.id_kind {
            Some(_) => "id".into(),
            None => "name".into(),
        });
    }

    /// The `owned_50pct` row of an account.
    fn owned(&mut self, account: String, o: Owned) {
        self.account_id.push(Some(account));
        self.reseller_id.push(None);
        self.party.push("beneficial_owners".into());
        self.party_name.push(o.owners.join(";"));
        self.party_country.push(None);
        self.ownership_pct.push(Some(round4(o.pct)));
        self.list.push(None);
        self.entry_id.push(o.entries.join(";"));
        self.listed_name.push(None);
        self.listed_countries.push(None);
        self.programs.push(None);
        self.name_score.push(None);
        self.country.push(None);
        self.id_match.push(false);
        self.id_kind.push(None);
        self.score.push(round4(o.score));
        self.candidate.push(true);
        self.basis.push("owned_50pct".into());
    }

    fn frame(self, date: &str) -> Result<DataFrame> {
        let n = self.score.len();
        DataFrame::new(
            n,
            vec![
                Column::new("account_id".into(), self.account_id),
                Column::new("reseller_id".into(), self.reseller_id),
                Column::new("party".into(), self.party),
                Column::new("party_name".into(), self.party_name),
                Column::new("party_country".into(), self.party_country),
                Column::new("ownership_pct".into(), self.ownership_pct),
                Column::new("list".into(), self.list),
                Column::new("entry_id".into(), self.entry_id),
                Column::new("listed_name".into(), self.listed_name),
                Column::new("listed_countries".into(), self.listed_countries),
                Column::new("programs".into(), self.programs),
                Column::new("name_score".into(), self.name_score),
                Column::new("country".into(), self.country),
                Column::new("id_match".into(), self.id_match),
                Column::new("id_kind".into(), self.id_kind),
                Column::new("score".into(), self.score),
                Column::new("candidate".into(), self.candidate),
                Column::new("basis".into(), self.basis),
                Column::new("snapshot_date".into(), vec![date.to_string(); n]),
            ],
        )
        .or_internal("screening table")
    }
}

/// `screening.csv`: one row per party and entry shown, then one `owned_50pct` row per account
/// whose candidate owners' listed shares sum to [`OWNED_PCT`] or more; sorted.
fn table(
    screen: &Screen,
    parties: &[Party],
    results: &[Vec<Hit>],
    min_score: f64,
    date: &str,
) -> Result<DataFrame> {
    let mut rows = Rows::default();
    let mut owned: BTreeMap<String, Owned> = BTreeMap::new();
    for (p, hits) in parties.iter().zip(results) {
        for h in hits {
            rows.hit(screen, p, h, min_score);
        }
        // Each candidate owner counts once, with its best entry.
        if let (Some(account), "beneficial_owner", Some(best)) = (
            &p.account_id,
            p.role,
            hits.first().filter(|h| h.score >= min_score),
        ) {
            let l = &screen.listed[best.entry as usize];
            let o = owned.entry(account.clone()).or_default();
            o.owners.push(p.name.clone());
            o.entries.push(format!("{} {}", l.list, l.entry_id));
            o.pct += p.ownership_pct.unwrap_or(0.0);
            o.score = o.score.max(best.score);
        }
    }
    for (account, o) in owned {
        if o.pct >= OWNED_PCT {
            rows.owned(account, o);
        }
    }
    rows.frame(date)?
        .sort(
            [
                "account_id",
                "reseller_id",
                "party",
                "party_name",
                "score",
                "list",
                "entry_id",
            ],
            SortMultipleOptions::default()
                .with_order_descending_multi([false, false, false, false, true, false, false])
                .with_nulls_last(true)
                .with_maintain_order(true),
        )
        .or_internal("sorting the screening table")
        .and_then(|df| crate::transforms::rows::SCREENING.present(df, "the screening"))
}

/// Per account with a candidate: its best score and whether its candidate owners hold 50% or
/// more (`screening_candidates`, read by `queries/10_flags.sql`).
fn candidates_table(table: Option<&DataFrame>) -> Result<DataFrame> {
    let Some(table) = table else {
        return DataFrame::new(
            0,
            vec![
                Column::new_empty("account_id".into(), &DataType::String),
                Column::new_empty("best_score".into(), &DataType::Float64),
                Column::new_empty("owned_50pct_listed".into(), &DataType::Boolean),
            ],
        )
        .or_internal("screening candidates");
    };
    table
        .clone()
        .lazy()
        .filter(col("candidate").and(col("account_id").is_not_null()))
        .group_by([col("account_id")])
        .agg([
            col("score").max().alias("best_score"),
            col("basis")
                .eq(lit("owned_50pct"))
                .any(true)
                .alias("owned_50pct_listed"),
        ])
        .sort(["account_id"], Default::default())
        .collect()
        .or_internal("screening candidates")
}

fn candidate_count(table: &DataFrame) -> Result<usize> {
    table
        .column("candidate")
        .and_then(|c| c.bool().map(|b| b.sum().unwrap_or(0) as usize))
        .or_internal("screening candidates")
}
