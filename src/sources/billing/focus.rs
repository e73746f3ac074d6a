//! The FOCUS column set cipwatch requires of a billing export, and the internal columns the billing
//! source adds for the transforms after it. Their one home: the billing source, the native-export
//! mappings and accelerator identification all name these columns from here.

/// The FOCUS columns a billing file must have, by their FOCUS names; a native export must map to
/// all of them (its `[columns]` mapping) or it is not recognised.
pub const REQUIRED: &[&str] = &[
    "BillingAccountId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
];

/// The billing column that is true on rows of capacity nobody used: an unused commitment
/// (`CommitmentDiscountStatus = Unused`) or the idle part of a capacity reservation
/// (`CapacityReservationStatus = Unused`).
pub const UNUSED_COMMITMENT: &str = "_unused_commitment";

/// The billing column that is true on the rows of a format that bills one VM as one row per SKU
/// (its mapping sets `x_BilledPer = "sku"`).
pub const SPLIT_SKU_ROWS: &str = "_split_sku_rows";

/// The kept billing column naming why a stated `SkuPriceDetails.GpuCount` is not used.
pub const GPU_COUNT_RULE: &str = "_gpu_count_rule";
