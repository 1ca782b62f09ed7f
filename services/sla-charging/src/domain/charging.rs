//! What a service line charges for, how VAT applies to it and which account it falls on
//! (DOMAIN.md §2).

use serde::{Deserialize, Serialize};

use crate::domain::rounding::{round_pence, share};

/// How a service line is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum ChargingBasis {
    /// A fixed annual fee, billed by day over the financial year; the unit price is the annual fee.
    FixedAnnualFee,
    /// A price per unit of use, the unit named (e.g. "hour of legal work").
    PerUnit { unit: String },
    /// A price per user per month; usage is recorded in user-months.
    PerUser,
    /// A price per full-time equivalent per month; usage is recorded in FTE-months.
    PerFte,
}

impl ChargingBasis {
    /// The unit a usage quantity counts.
    pub fn unit_name(&self) -> &str {
        match self {
            ChargingBasis::FixedAnnualFee => "year",
            ChargingBasis::PerUnit { unit } => unit,
            ChargingBasis::PerUser => "user-month",
            ChargingBasis::PerFte => "FTE-month",
        }
    }

    pub fn is_usage_based(&self) -> bool {
        !matches!(self, ChargingBasis::FixedAnnualFee)
    }
}

/// Usage quantities are recorded in thousandths of a unit (7.5 hours is 7500) so that fractional
/// hours and part-time FTEs are exact.
pub const QUANTITY_SCALE: i64 = 1000;

/// The charge for `quantity_milli` thousandths of a unit at `unit_price` pence per unit, rounded
/// by the rule.
pub fn usage_charge(quantity_milli: i64, unit_price: i64) -> i64 {
    round_pence(
        quantity_milli as i128 * unit_price as i128,
        QUANTITY_SCALE as i128,
    )
}

/// How VAT applies to a service line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VatTreatment {
    /// Standard rate, 20%.
    Standard,
    /// Reduced rate, 5%.
    Reduced,
    /// Zero-rated: VAT at 0%, still a taxable supply.
    Zero,
    /// Exempt supply.
    Exempt,
    /// Outside the scope of VAT (e.g. a statutory service between council and its ALMO).
    OutsideScope,
}

impl VatTreatment {
    /// The rate in basis points (2000 = 20%).
    pub fn rate_basis_points(self) -> i64 {
        match self {
            VatTreatment::Standard => 2000,
            VatTreatment::Reduced => 500,
            VatTreatment::Zero | VatTreatment::Exempt | VatTreatment::OutsideScope => 0,
        }
    }

    pub const ALL: [VatTreatment; 5] = [
        VatTreatment::Standard,
        VatTreatment::Reduced,
        VatTreatment::Zero,
        VatTreatment::Exempt,
        VatTreatment::OutsideScope,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VatTreatment::Standard => "standard",
            VatTreatment::Reduced => "reduced",
            VatTreatment::Zero => "zero",
            VatTreatment::Exempt => "exempt",
            VatTreatment::OutsideScope => "outside_scope",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// VAT on one line's net amount, rounded per line by the rule (a credit carries negative VAT).
    pub fn vat_on(self, net: i64) -> i64 {
        share(net, self.rate_basis_points(), 10_000)
    }
}

/// The account a charge falls on; contested between HRA and General Fund (000 §6.2), so every
/// charge carries its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Account {
    /// The Housing Revenue Account.
    Hra,
    /// The General Fund.
    GeneralFund,
}

impl Account {
    pub fn as_str(self) -> &'static str {
        match self {
            Account::Hra => "hra",
            Account::GeneralFund => "general_fund",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Account::Hra, Account::GeneralFund]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_unit_charge_is_quantity_times_price_rounded_per_line() {
        // 7.5 hours of legal work at £95.00 an hour.
        assert_eq!(usage_charge(7_500, 9_500), 71_250);
        // 0.333 of a unit at 1p: 0.333p rounds to 0.
        assert_eq!(usage_charge(333, 1), 0);
        // 1.5 units at 1p: 1.5p rounds half away from zero to 2p.
        assert_eq!(usage_charge(1_500, 1), 2);
    }

    #[test]
    fn per_user_and_per_fte_are_charged_by_the_month() {
        assert_eq!(ChargingBasis::PerUser.unit_name(), "user-month");
        assert_eq!(ChargingBasis::PerFte.unit_name(), "FTE-month");
        // 120 users for a month at £18.50.
        assert_eq!(usage_charge(120_000, 1_850), 222_000);
        // 2.5 FTE for a month at £1,234.57.
        assert_eq!(usage_charge(2_500, 123_457), 308_643); // 308642.5 -> 308643
    }

    #[test]
    fn vat_is_charged_per_line_at_the_line_rate() {
        assert_eq!(VatTreatment::Standard.vat_on(71_250), 14_250);
        assert_eq!(VatTreatment::Standard.vat_on(3), 1); // 0.6p -> 1p
        assert_eq!(VatTreatment::Standard.vat_on(-3), -1);
        assert_eq!(VatTreatment::Reduced.vat_on(1_000), 50);
        assert_eq!(VatTreatment::Exempt.vat_on(71_250), 0);
        assert_eq!(VatTreatment::OutsideScope.vat_on(71_250), 0);
    }
}
