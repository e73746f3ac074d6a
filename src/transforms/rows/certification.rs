//! The `cert_*` query results the annual certification reads (`queries/11_…` to `18_…`), declared
//! as contracts with [`table!`](crate::table): each gives the row type the certification reads
//! and the [`Table`](crate::transforms::contracts::Table) a query override's planned result is
//! checked against before any query runs (a dropped or retyped column is exit 2 naming it).

crate::table! {
    /// Customers on file by country, largest first (`11_cert_customers_by_country.sql`).
    CERT_CUSTOMERS_BY_COUNTRY: CountryCustomers = "cert_customers_by_country"
        from "query cert_customers_by_country", read by "the certification",
    key [], accepted [] {
        country: String [Text] default, "ISO 3166-1 alpha-2, or `unknown`.";
        customers: i64 [Integer] default, "Customers on file.";
        foreign_customers: i64 [Integer] default, "Of those, foreign persons.";
    }
}

crate::table! {
    /// Foreign beneficial owners by country, largest first (`12_cert_foreign_owners_by_country.sql`).
    CERT_FOREIGN_OWNERS_BY_COUNTRY: CountryOwners = "cert_foreign_owners_by_country"
        from "query cert_foreign_owners_by_country", read by "the certification",
    key [], accepted [] {
        country: String [Text] default, "ISO 3166-1 alpha-2, or `unknown`.";
        foreign_beneficial_owners: i64 [Integer] default, "Foreign beneficial owners on file.";
    }
}

crate::table! {
    /// Foreign accounts whose identity is not verified, by status and age
    /// (`13_cert_unverified_foreign.sql`).
    CERT_UNVERIFIED_FOREIGN: Unverified = "cert_unverified_foreign"
        from "query cert_unverified_foreign", read by "the certification",
    key [], accepted [] {
        verification_status: String [Text] default, "The CIP verification status, or `unknown`.";
        age: String [Text] default, "Days since the account opened, as a band (`0-30 days` ... `over 365 days`, `age unknown`).";
        accounts: i64 [Integer] default, "Accounts.";
    }
}

crate::table! {
    /// Verifications of the period, one row (`14_cert_verification_stats.sql`); no row when there
    /// are no customers (all zero).
    CERT_VERIFICATION_STATS: Stats = "cert_verification_stats"
        from "query cert_verification_stats", read by "the certification", derive [Default],
    key [], accepted [] {
        customers: i64 [Integer] default, "Customers on file.";
        verified_in_period: i64 [Integer] default, "Verifications completed in the period.";
        failed_in_period: i64 [Integer] default, "Verifications failed in the period.";
        median_days_to_verify: Option<f64> [Float], "Median days from opening to verification.";
        p90_days_to_verify: Option<f64> [Float], "90th percentile of the same.";
    }
}

crate::table! {
    /// Foreign resellers and their CIP status (`15_cert_foreign_resellers.sql`).
    CERT_FOREIGN_RESELLERS: Reseller = "cert_foreign_resellers"
        from "query cert_foreign_resellers", read by "the certification",
    key [], accepted [] {
        reseller_id: String [Text] default, "The reseller.";
        name: Option<String> [Text], "Its name.";
        country: Option<String> [Text], "Its country (ISO 3166-1 alpha-2).";
        cip_on_file: Option<bool> [Boolean], "Its CIP is on file.";
        cip_attested_at: Option<String> [Timestamp], "When it attested its CIP.";
        accounts: i64 [Integer] default, "Accounts sold through it.";
    }
}

crate::table! {
    /// The period's failed verifications, whose resolutions counsel answers
    /// (`16_cert_failed_verifications.sql`).
    CERT_FAILED_VERIFICATIONS: FailedVerification = "cert_failed_verifications"
        from "query cert_failed_verifications", read by "the certification",
    key [], accepted [] {
        account_id: String [Text] default, "The billing account.";
        legal_name: Option<String> [Text], "The customer's legal name.";
        country: Option<String> [Text], "The customer's country.";
        opened_at: Option<String> [Timestamp], "When the account was opened.";
    }
}

crate::table! {
    /// Closed accounts and their purge-eligible day (`17_cert_retention.sql`; days since
    /// 1970-01-01).
    CERT_RETENTION: RetentionRow = "cert_retention"
        from "query cert_retention", read by "the certification",
    key [], accepted [] {
        account_id: String [Text], "The billing account.";
        closed_day: i64 [Integer], "The day it closed.";
        last_access_day: Option<i64> [Integer], "The day of its last access, if any.";
        purge_eligible_day: i64 [Integer], "`retention_days` after it closed or was last accessed, whichever is later.";
        past_retention: bool [Boolean], "The purge-eligible day has passed by the as-of day.";
    }
}

crate::table! {
    /// The unverified foreign accounts reconciled with the customers on file and the run's CIP_GAP
    /// count, one row (`18_cert_reconciliation.sql`).
    CERT_RECONCILIATION: ReconciliationCounts = "cert_reconciliation"
        from "query cert_reconciliation", read by "the certification", derive [Default],
    key [], accepted [] {
        customers_on_file: i64 [Integer] default, "Customers on file.";
        unverified_on_file: i64 [Integer] default, "Open foreign customers on file not verified or exempt.";
        unverified_no_cip_record: i64 [Integer] default, "Billing accounts with accelerator use and no CIP record.";
        unverified_quarantined: i64 [Integer] default, "Accounts whose customer rows were quarantined.";
        unverified_total: i64 [Integer] default, "The sum of the three above.";
        cip_gap: i64 [Integer] default, "Accounts at CIP_GAP in this run.";
        unverified_no_usage: i64 [Integer] default, "Of the unverified, those with no accelerator use.";
        unverified_below_material: i64 [Integer] default, "Of the unverified, those with use below `material_accelerator_hours` (CLEAR).";
        unverified_more_severe: i64 [Integer] default, "Of the unverified, those at a more severe level (REPORTABLE, WATCH).";
        cip_gap_not_unverified: i64 [Integer] default, "CIP_GAP accounts whose identity is verified (sold through a reseller without a CIP on file, or closed).";
    }
}
