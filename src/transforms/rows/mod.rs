//! Typed rows of the tables the documents read, the published tables declared as contracts
//! (`table!`, see `contracts`), and how a table becomes typed rows (`read`). Unknown columns are ignored, so a table may grow without breaking a
//! document; a missing column is an error naming the table.

pub mod certification;
pub mod read;

pub use super::contracts::null_as_default;
/// The registry's rows, declared with their tables in `sources::registry`.
pub use crate::sources::registry::{AccessRow, CustomerRow, OwnerRow, ResellerRow};
pub use read::{accounts_records, records};

use serde::{Deserialize, Serialize};
use std::fmt;

/// An account's level, most severe first (`10_flags.sql`); written as in the tables
/// (`REPORTABLE`, `WATCH`, `CIP_GAP`, `CLEAR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Level {
    /// Foreign, and the profile's tests are met: a report is due.
    Reportable,
    /// Foreign, approaching the tests or showing signs of splitting a run: for review.
    Watch,
    /// Foreign, material accelerator use, and the CIP record is not verified.
    CipGap,
    /// None of these.
    Clear,
}

impl Level {
    /// Every level, most severe first.
    pub const ALL: [Level; 4] = [Level::Reportable, Level::Watch, Level::CipGap, Level::Clear];

    /// The level as the tables write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Reportable => "REPORTABLE",
            Level::Watch => "WATCH",
            Level::CipGap => "CIP_GAP",
            Level::Clear => "CLEAR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `level == "REPORTABLE"`: compares with the level's name as the tables write it.
impl PartialEq<str> for Level {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Level {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl crate::transforms::contracts::Nullable for Level {}

crate::table! {
    /// One row per account with accelerator use: its compute, the profile's tests, its level and
    /// reasons, the CIP and reseller facts, its entity and its dates (`queries/10_flags.sql`).
    FLAGS: FlagRow = "flags" from "query flags",
    key ["account_id"], accepted [("level", ["REPORTABLE", "WATCH", "CIP_GAP", "CLEAR"])] {
        account_id: String [Text] default, "The billing account (FOCUS `BillingAccountId`).";
        is_foreign: bool [Boolean] default, "The customer, or a beneficial owner, is a foreign person (unknown counts as foreign).";
        foreign_basis: String [Text] default, "Why: `customer_foreign`, `foreign_beneficial_owner`, `us_customer_and_owners`, `no_cip_record`, ...";
        cip_status: String [Text] default, "The CIP verification status (`verified`, `pending`, `failed`, `exempt`, `no_record`).";
        reseller_id: Option<String> [Text], "The reseller the account was sold through.";
        accelerator_hours: f64 [Float] default, "Accelerator-hours billed up to the as-of date.";
        est_ops: f64 [Float] default, "Estimated operations: accelerator-hours x 3600 x peak op/s x utilisation.";
        upper_ops: f64 [Float] default, "Operations at full utilisation (the upper bound).";
        peak_colocated_ops_per_s: Option<f64> [Float], "The largest theoretical peak of the account's accelerators running at once in one co-location group, op/s.";
        max_interconnect_gbps: Option<f64> [Float], "The fastest interconnect of its usage, Gbit/s.";
        level: Level [Text], "`REPORTABLE`, `WATCH`, `CIP_GAP` or `CLEAR` (docs/method.md).";
        reasons: Option<String> [Text], "Every reason code that applies, `;`-joined.";
        knowledge_date: Option<String> [Date, day "knowledge_day"], "REPORTABLE accounts: the knowledge date counsel adopted (answers `knowledge_date`), else `first_flagged_date`.";
        first_flagged_date: Option<String> [Date, day "first_flagged_day"], "REPORTABLE accounts: the as-of date of the first filing run that found the account REPORTABLE (the knowledge clock).";
        report_due_date: Option<String> [Date, day "report_due_day"], "The report's due date under the profile's deadline.";
        projected_crossing_date: Option<String> [Date, day "projected_crossing_day"], "When the trailing burn rate crosses `training_ops`, within the projection horizon.";
        crossing_date: Option<String> [Date, day "crossing_day"], "The day the estimate (the account's, or its entity's) first exceeded `training_ops`.";
        provisional_due_date: Option<String> [Date, day "provisional_due_day"], "A WATCH account meeting every test but the operations total: the due date of its projected crossing.";
        verification_method: Option<String> [Text], "How the CIP record was verified (`documentary`, `non_documentary`).";
        reseller_name: Option<String> [Text], "The reseller's name.";
        reseller_country: Option<String> [Text], "The reseller's country (ISO 3166-1 alpha-2).";
        reseller_cip_on_file: Option<bool> [Boolean], "The reseller's CIP is on file.";
        beneficial_owners: i64 [Integer] default, "Beneficial owners on file.";
        foreign_beneficial_owners: i64 [Integer] default, "Of those, foreign persons.";
        sub_accounts: Option<String> [Text], "The sub-accounts (FOCUS `SubAccountId`) of its usage, `;`-joined.";
        accelerators: Option<String> [Text], "The accelerator models of its usage, `;`-joined.";
        telemetry_accelerator_hours: f64 [Float] default, "Accelerator-hours whose utilisation telemetry measured.";
        est_ops_low: Option<f64> [Float], "The low end of the estimate (`utilization_low` where utilisation is assumed).";
        peak_colocated_accelerators: Option<f64> [Float], "The most accelerators running at once in one co-location group.";
        training_runs: Option<i64> [Integer], "Training-like run segments.";
        training_confidence: Option<f64> [Float], "The highest confidence of a training-like run (share of the seven signals).";
        largest_run_est_ops: Option<f64> [Float], "Estimated operations of the largest run segment.";
        burn_ops_per_day: Option<f64> [Float], "Estimated operations per day over the trailing `burn_window_days`.";
        entity_id: Option<String> [Text], "The entity of linked accounts the account belongs to.";
        entity_size: Option<i64> [Integer], "Accounts in that entity.";
        entity_est_ops: Option<f64> [Float], "The entity's estimated operations.";
        entity_peak_ops_per_s: Option<f64> [Float], "The entity's peak co-located op/s.";
        ops_met: bool [Boolean] default, "The operations test is met.";
        peak_met: bool [Boolean] default, "The co-located peak test is met.";
        interconnect_met: bool [Boolean] default, "The interconnect test is met.";
        days_to_crossing: Option<f64> [Float], "Days until the trailing burn rate crosses `training_ops`.";
        first_usage: Option<String> [Timestamp, seconds "first_usage_s"], "Start of its first accelerator usage.";
        last_usage: Option<String> [Timestamp, seconds "last_usage_s"], "End of its last accelerator usage.";
    }
}

crate::table! {
    /// One row per run segment: an account's continuous accelerator use in one co-location group,
    /// its peak, compute and class (`queries/05_training_runs.sql`).
    TRAINING_RUNS: RunRow = "training_runs" from "query training_runs",
    key ["account_id", "colocation_group", "run"],
    accepted [("class", ["training-like", "inference-like", "mixed", "unknown"])] {
        account_id: String [Text, renamed "billing_account_id"] default, "The billing account.";
        colocation_group: String [Text] default, "The co-location group (telemetry cluster, placement group, else availability zone or region).";
        run: i64 [Integer, integer "run_seq"] default, "The segment's number within the account and group, in time.";
        start: String [Timestamp, seconds "run_start_s"] default, "Start of the segment.";
        end: String [Timestamp, seconds "run_end_s"] default, "End of the segment.";
        ongoing: bool [Boolean] default, "The segment reaches the end of the as-of day.";
        class: Option<String> [Text], "`training-like`, `inference-like`, `mixed` or `unknown`.";
        confidence: Option<f64> [Float], "Share of the seven training signals present.";
        class_reasons: Option<String> [Text], "The signals present, `;`-joined (`LARGE_FLEET`, `LONG_RUN`, `FAST_FABRIC`, `STEADY`, `COMMITTED`, `BUSY`, `LOW_EGRESS`).";
        training_like: bool [Boolean] default, "The class is training-like.";
        duration_hours: f64 [Float] default, "Hours from start to end.";
        accelerators: Option<String> [Text], "The accelerator models, `;`-joined.";
        instance_types: Option<String> [Text], "The instance types, `;`-joined.";
        peak_accelerators: Option<f64> [Float], "The most accelerators at once.";
        peak_ops_per_s: Option<f64> [Float], "Their theoretical peak, op/s.";
        max_interconnect_gbps: Option<f64> [Float], "The fastest interconnect, Gbit/s.";
        accelerator_hours: f64 [Float] default, "Accelerator-hours of the segment.";
        est_ops_low: Option<f64> [Float], "The low end of its estimate.";
        est_ops: f64 [Float] default, "Its estimated operations.";
        upper_ops: f64 [Float] default, "Its operations at full utilisation.";
    }
}

crate::table! {
    /// The columns of the usage slots (`queries/02_usage_slots.sql`) read after the queries, by
    /// `findings::usage_by_type` and the reports' measured utilisation.
    USAGE_SLOTS: UsageSlot = "usage_slots" from "query usage_slots",
        read by "usage_by_type and the reports",
    key [], accepted [] {
        billing_account_id: String [Text] default, "The billing account.";
        instance_type: String [Text] default, "The instance type.";
        accelerator: String [Text] default, "The accelerator model (the catalog's).";
        start_s: i64 [Integer] default, "Start of the slot, seconds since 1970-01-01 UTC.";
        end_s: i64 [Integer] default, "End of the slot.";
        accelerators: f64 [Float] default, "Accelerators running in the slot.";
        merged_rows: i64 [Integer] default, "Usage rows summed.";
        source_rows: i64 [Integer] default, "Billing rows summed.";
        accelerator_hours: f64 [Float] default, "Accelerator-hours.";
        utilization_source: String [Text] default, "`telemetry` or `assumed`.";
        peak_ops_per_s: Option<f64> [Float], "The peak of one accelerator, op/s (the catalog's).";
        peak_precision_used: Option<String> [Text], "The precision that peak is taken at.";
        interconnect_gbps: Option<f64> [Float], "The instance type's interconnect, Gbit/s.";
        est_ops: f64 [Float] default, "Estimated operations.";
        upper_ops: f64 [Float] default, "Operations at full utilisation.";
    }
}

crate::table! {
    /// Each account's usage by instance type and accelerator, the arithmetic's inputs that
    /// `explain` shows (`findings::usage_by_type`, from the usage slots of
    /// `queries/02_usage_slots.sql`).
    USAGE_BY_TYPE: UsageGroup = "usage_by_type" from "the usage slots",
    key ["account_id", "instance_type", "accelerator"], accepted [] {
        account_id: String [Text, renamed "billing_account_id"] default, "The billing account.";
        instance_type: String [Text] default, "The instance type.";
        accelerator: String [Text] default, "The accelerator model (the catalog's).";
        rows: i64 [Integer] default, "The billing rows of this usage.";
        first_start: String [Timestamp, seconds "first_s"] default, "Start of the first of them.";
        last_end: String [Timestamp, seconds "last_s"] default, "End of the last.";
        sample_rows: String [Text] default, "The first three billing rows in time, as `file:row`, `;`-joined.";
        accelerators_per_instance: f64 [Float] default, "Mean accelerators per instance (accelerators over instances billed).";
        accelerator_hours: f64 [Float] default, "Accelerator-hours.";
        telemetry_accelerator_hours: f64 [Float] default, "Of those, measured by telemetry.";
        peak_ops_per_s: f64 [Float] default, "The theoretical peak of one accelerator at `peak_precision_used`, op/s (the catalog's; `training_runs.peak_ops_per_s` is a fleet's).";
        peak_precision_used: String [Text] default, "The precision that peak is taken at.";
        interconnect_gbps: Option<f64> [Float], "The instance type's interconnect bandwidth, Gbit/s (the catalog's).";
        mean_utilization: f64 [Float] default, "`est_ops` over `upper_ops`: utilisation measured by telemetry where it covers the usage, else `assumed_utilization`.";
        upper_ops: f64 [Float] default, "Operations at full utilisation.";
        est_ops: f64 [Float] default, "Estimated operations.";
    }
}

crate::table! {
    /// Every entity of two or more linked accounts, or with a weak link (`transforms::entities`).
    ENTITIES: EntityRow = "entities" from "the entity resolution",
    key ["entity_id"], accepted [] {
        entity_id: String [Text], "The entity: `E-` and the smallest of its account ids.";
        members: String [Text], "Its accounts, sorted and `;`-joined.";
        size: i64 [Integer], "How many accounts it holds.";
        strong_links: String [Text] default, "The links of a strong type (profile `strong_links`: they join accounts into the entity), per account `;`-joined, accounts ` | `-joined; each as `type:Ln->account`: the link type, an opaque link id of this run and the counterpart account (no hash, no identifier).";
        weak_links: String [Text] default, "The links of a weak type (`weak_links`: for review only), written the same way.";
    }
}

crate::table! {
    /// The sanctions screening's candidates for review (with `[screening]`, `transforms::screening`):
    /// per party of the registry (customer, beneficial owner, reseller: once per account sold
    /// through it) its best entries of the screening lists, at most 5, down to 0.15 under
    /// `min_score`; then one `owned_50pct` row per account whose candidate owners' listed shares
    /// sum to 50% or more. Candidates, never matches. Rows are in the order the screening sorts
    /// them (account, reseller, party, name, best score first).
    SCREENING: ScreeningRow = "screening" from "the sanctions screening",
    key [], accepted [("party", ["customer", "beneficial_owner", "reseller", "beneficial_owners"]),
        ("country", ["match", "mismatch", "unknown"]), ("basis", ["name", "id", "owned_50pct"])] {
        account_id: Option<String> [Text], "The account the party is of; null for a reseller no registered account was sold through.";
        reseller_id: Option<String> [Text], "A reseller's identifier.";
        party: String [Text], "`customer`, `beneficial_owner`, `reseller`, or `beneficial_owners` (an `owned_50pct` row).";
        party_name: String [Text], "The party's name as registered (the candidate owners' names, `;`-joined, on an `owned_50pct` row).";
        party_country: Option<String> [Text], "The party's country as registered.";
        ownership_pct: Option<f64> [Float], "A beneficial owner's share, percent (the candidate owners' summed shares on an `owned_50pct` row).";
        list: Option<String> [Text], "The screening list of the entry.";
        entry_id: String [Text], "The entry's identifier on its list (`list entry`, `;`-joined, on an `owned_50pct` row).";
        listed_name: Option<String> [Text], "The entry's name or alias the party's name was compared with.";
        listed_countries: Option<String> [Text], "The entry's countries, `;`-joined.";
        programs: Option<String> [Text], "The entry's sanctions programs.";
        name_score: Option<f64> [Float], "How alike the two names are, 0–1.";
        country: Option<String> [Text], "The party's country against the entry's: `match`, `mismatch` or `unknown`.";
        id_match: bool [Boolean], "Whether the customer's identification number is on the entry (the number itself is never written).";
        id_kind: Option<String> [Text], "The kind of document the entry names for that number.";
        score: f64 [Float], "The combined score, 0–1.";
        candidate: bool [Boolean], "`score` is at least `min_score`: for review.";
        basis: String [Text], "`name`, `id`, or `owned_50pct`.";
        snapshot_date: String [Text], "The screening lists' snapshot date, `YYYY-MM-DD`.";
    }
}

#[cfg(test)]
mod contract_tests {
    use super::*;
    use polars::prelude::*;

    fn flags(ids: &[Option<&str>], levels: &[Option<&str>]) -> DataFrame {
        let mut df = df!("account_id" => ids, "level" => levels).unwrap();
        for c in FLAGS
            .columns
            .iter()
            .filter(|c| !["account_id", "level"].contains(&c.name))
        {
            df.with_column(Series::full_null(c.name.into(), ids.len(), &DataType::Null).into())
                .unwrap();
        }
        df
    }

    #[test]
    fn published_rows_are_checked_against_the_declaration() {
        let ok = flags(&[Some("a"), Some("b")], &[Some("CLEAR"), Some("WATCH")]);
        FLAGS.check_rows(&ok, "q").unwrap();
        for (df, wanted) in [
            (
                flags(&[Some("a"), Some("a")], &[Some("CLEAR"), Some("CLEAR")]),
                "key (account_id) is not unique",
            ),
            (
                flags(&[None, Some("b")], &[Some("CLEAR"), Some("CLEAR")]),
                "column 'account_id' must not be null",
            ),
            (
                flags(&[Some("a")], &[None]),
                "column 'level' must not be null",
            ),
            (
                flags(&[Some("a")], &[Some("MAYBE")]),
                "column 'level' holds 'MAYBE', not one of REPORTABLE",
            ),
        ] {
            let e = FLAGS
                .check_rows(&df, "query flags")
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted) && e.contains("query flags"), "{e}");
        }
    }

    #[test]
    fn a_result_without_a_source_column_or_of_another_type_is_refused() {
        let schema = Schema::from_iter([
            Field::new("billing_account_id".into(), DataType::String),
            Field::new("run_seq".into(), DataType::String),
        ]);
        let e = TRAINING_RUNS
            .check_schema(&schema, "q")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'colocation_group'"), "{e}");
        let mut full: Schema = TRAINING_RUNS
            .columns
            .iter()
            .map(|c| Field::new(c.source_name().into(), DataType::Float64))
            .collect();
        full.insert("billing_account_id".into(), DataType::String);
        let e = TRAINING_RUNS
            .check_schema(&full, "q")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'colocation_group' is f64"), "{e}");
    }

    #[test]
    fn the_row_struct_reads_what_the_table_publishes() {
        let row: crate::transforms::rows::FlagRow =
            crate::transforms::rows::read::all_null::read_with(&[("level", "WATCH")]);
        assert_eq!(row.level, "WATCH");
        let required: Vec<&str> = FLAGS
            .columns
            .iter()
            .filter(|c| c.required)
            .map(|c| c.name)
            .collect();
        assert_eq!(
            required,
            ["level"],
            "an Option field may be null, a default field reads null as its default"
        );
        assert!(FLAGS.markdown().contains("| `level` | text | never |"));
    }
}

#[cfg(test)]
mod null_rows {
    use super::certification::*;
    use super::read::all_null;
    use super::*;

    #[test]
    fn every_row_type_read_from_a_query_accepts_nulls() {
        // Every field but the level, which is never null (a null level is refused).
        let flag: FlagRow = all_null::read_with(&[("level", "WATCH")]);
        assert_eq!((flag.accelerator_hours, flag.ops_met), (0.0, false));
        assert_eq!(flag.level, Level::Watch);
        let null_level = polars::prelude::df!("level" => [None::<&str>]).unwrap();
        assert!(crate::transforms::rows::records::<FlagRow>(&null_level, "flags").is_err());
        all_null::read::<RunRow>();
        all_null::read::<CustomerRow>();
        all_null::read::<OwnerRow>();
        all_null::read::<AccessRow>();
        all_null::read::<ResellerRow>();
        all_null::read::<CountryCustomers>();
        all_null::read::<CountryOwners>();
        all_null::read::<Reseller>();
        all_null::read::<Unverified>();
        let stats: Stats = all_null::read();
        assert_eq!(stats.customers, 0);
        all_null::read::<FailedVerification>();
        all_null::read::<ReconciliationCounts>();
    }
}
