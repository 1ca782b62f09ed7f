//! Billing a period: the typed lines of an agreement's invoice (prorated fixed fees, usage,
//! service credits, each with its VAT and account) and its totals by account. Totals are sums of
//! lines, each line rounded once by the rule in `rounding`, so an invoice always adds up.
//!
//! A draft can be regenerated; an issued invoice never changes (corrections are credit notes).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::agreement::Terms;
use crate::domain::charging::{Account, ChargingBasis, VatTreatment, usage_charge};
use crate::domain::period::BillingPeriod;
use crate::domain::proration::{DaySpan, prorated_fixed_fee};
use crate::domain::service_credit::{missed, service_credit};

/// What an invoice line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// A fixed annual fee for the days of the period the agreement covers.
    FixedFee,
    /// Units used in the period at the unit price.
    Usage,
    /// A credit for a missed service level (negative).
    ServiceCredit,
}

impl LineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LineKind::FixedFee => "fixed_fee",
            LineKind::Usage => "usage",
            LineKind::ServiceCredit => "service_credit",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LineKind::FixedFee, LineKind::Usage, LineKind::ServiceCredit]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceLine {
    pub kind: LineKind,
    /// The agreement's service line this charges for.
    pub line_code: String,
    pub description: String,
    /// Thousandths of a unit (usage), or days covered (fixed fee).
    pub quantity_milli: i64,
    pub unit_price: i64,
    pub net: i64,
    pub vat_treatment: VatTreatment,
    pub vat: i64,
    pub account: Account,
}

/// Net and VAT on one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AccountTotal {
    pub net: i64,
    pub vat: i64,
}

impl AccountTotal {
    pub fn gross(&self) -> i64 {
        self.net + self.vat
    }
}

/// An invoice's totals: per account and overall.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Totals {
    pub by_account: BTreeMap<Account, AccountTotal>,
    pub net: i64,
    pub vat: i64,
}

impl Totals {
    pub fn gross(&self) -> i64 {
        self.net + self.vat
    }

    pub fn account(&self, a: Account) -> AccountTotal {
        self.by_account.get(&a).copied().unwrap_or_default()
    }
}

/// The totals of `lines`: each account's sums, and the overall sums.
pub fn totals<'a>(lines: impl IntoIterator<Item = &'a InvoiceLine>) -> Totals {
    let mut t = Totals::default();
    for l in lines {
        let a = t.by_account.entry(l.account).or_default();
        a.net += l.net;
        a.vat += l.vat;
        t.net += l.net;
        t.vat += l.vat;
    }
    t
}

/// What billing one agreement for one period needs.
pub struct BillingInput<'a> {
    pub period: BillingPeriod,
    /// The days each active version governs (see `agreement::windows`), already clipped to the
    /// agreement's term.
    pub windows: Vec<(DaySpan, &'a Terms)>,
    /// Units used in the period per line code, in thousandths, corrections applied.
    pub usage: BTreeMap<String, i64>,
    /// The result of each service level for the period, by level code.
    pub results: BTreeMap<String, f64>,
}

/// The lines of an agreement's invoice for a period; empty when the agreement does not cover
/// any day of it.
///
/// Fixed fees are prorated by day for each version in effect during the period. Usage is priced
/// by the version in effect on the last day of the period the agreement covers (a variation
/// changes prices from the next period that ends after it). A missed service level credits a
/// share of its line's charge in this invoice.
pub fn bill(input: &BillingInput<'_>) -> Vec<InvoiceLine> {
    let period = DaySpan::new(input.period.start(), input.period.end()).expect("period");
    let mut lines = Vec::new();
    let mut covered: Vec<(DaySpan, &Terms)> = input
        .windows
        .iter()
        .filter_map(|(span, terms)| span.intersect(&period).map(|s| (s, *terms)))
        .collect();
    covered.sort_by_key(|(s, _)| s.first);
    for (span, terms) in &covered {
        for l in terms
            .lines
            .iter()
            .filter(|l| l.basis == ChargingBasis::FixedAnnualFee)
        {
            let net = prorated_fixed_fee(l.unit_price, *span);
            lines.push(InvoiceLine {
                kind: LineKind::FixedFee,
                line_code: l.code.clone(),
                description: format!(
                    "{}: annual fee, {} to {} ({} days)",
                    l.service,
                    span.first,
                    span.last,
                    span.days()
                ),
                quantity_milli: span.days() * 1000,
                unit_price: l.unit_price,
                net,
                vat_treatment: l.vat,
                vat: l.vat.vat_on(net),
                account: l.account,
            });
        }
    }
    let Some((_, last_terms)) = covered.last() else {
        return lines;
    };
    for l in last_terms.lines.iter().filter(|l| l.basis.is_usage_based()) {
        let quantity = input.usage.get(&l.code).copied().unwrap_or(0);
        if quantity == 0 {
            continue;
        }
        let net = usage_charge(quantity, l.unit_price);
        lines.push(InvoiceLine {
            kind: LineKind::Usage,
            line_code: l.code.clone(),
            description: format!(
                "{}: {} × {}",
                l.service,
                format_quantity(quantity),
                l.basis.unit_name()
            ),
            quantity_milli: quantity,
            unit_price: l.unit_price,
            net,
            vat_treatment: l.vat,
            vat: l.vat.vat_on(net),
            account: l.account,
        });
    }
    let mut credits = Vec::new();
    for level in &last_terms.levels {
        let Some(value) = input.results.get(&level.code) else {
            continue;
        };
        let Some(line) = last_terms.line(&level.line_code) else {
            continue;
        };
        if !missed(level, *value) {
            continue;
        }
        let charge: i64 = lines
            .iter()
            .filter(|l| l.line_code == level.line_code && l.kind != LineKind::ServiceCredit)
            .map(|l| l.net)
            .sum();
        let net = service_credit(level, charge);
        if net == 0 {
            continue;
        }
        credits.push(InvoiceLine {
            kind: LineKind::ServiceCredit,
            line_code: line.code.clone(),
            description: format!(
                "Service credit: {} was {value} against a target of {}; {}% of {}",
                level.measure,
                level.target,
                format_quantity(level.credit_basis_points * 10),
                format_pounds(charge)
            ),
            quantity_milli: 0,
            unit_price: 0,
            net,
            vat_treatment: line.vat,
            vat: line.vat.vat_on(net),
            account: line.account,
        });
    }
    lines.extend(credits);
    lines
}

/// 7500 -> "7.5", 120000 -> "120".
pub fn format_quantity(milli: i64) -> String {
    let whole = milli / 1000;
    let frac = (milli % 1000).abs();
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// 222000 -> "£2,220.00".
pub fn format_pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    let pounds = (p / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in pounds.chars().enumerate() {
        if i > 0 && (pounds.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}£{grouped}.{:02}", p % 100)
}

/// Where an invoice is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    /// Produced by a billing run; a later run of the same period replaces it.
    Draft,
    /// Numbered and sent: it never changes again.
    Issued,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Draft => "draft",
            InvoiceStatus::Issued => "issued",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(InvoiceStatus::Draft),
            "issued" => Some(InvoiceStatus::Issued),
            _ => None,
        }
    }
}

/// An issued invoice is never changed, re-issued or regenerated.
pub fn ensure_draft(status: InvoiceStatus) -> Result<(), &'static str> {
    match status {
        InvoiceStatus::Draft => Ok(()),
        InvoiceStatus::Issued => {
            Err("the invoice has been issued and never changes; correct it with a credit note")
        }
    }
}

/// The invoice number for the `seq`-th invoice a council issues (gapless per council).
pub fn invoice_number(council_id: &str, seq: i64) -> String {
    format!("SLA-{council_id}-{seq:06}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::agreement::tests::legal_line;
    use crate::domain::agreement::{Direction, ServiceLevel, ServiceLine};
    use crate::domain::period::PeriodKind;
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn lambeth_terms() -> Terms {
        Terms {
            lines: vec![
                legal_line(),
                ServiceLine {
                    code: "IT".into(),
                    service: "IT support".into(),
                    basis: ChargingBasis::PerUser,
                    unit_price: 1_850,
                    vat: VatTreatment::Standard,
                    account: Account::Hra,
                    benchmark_unit_cost: 1_700,
                },
                ServiceLine {
                    code: "HR".into(),
                    service: "Human resources".into(),
                    basis: ChargingBasis::FixedAnnualFee,
                    unit_price: 3_650_000,
                    vat: VatTreatment::Exempt,
                    account: Account::GeneralFund,
                    benchmark_unit_cost: 3_400_000,
                },
            ],
            levels: vec![ServiceLevel {
                code: "IT-FIX-4H".into(),
                line_code: "IT".into(),
                measure: "% of P1 incidents fixed within 4 hours".into(),
                target: 95.0,
                direction: Direction::HigherIsBetter,
                credit_basis_points: 500,
            }],
        }
    }

    fn input<'a>(
        terms: &'a Terms,
        from: &str,
        usage: &[(&str, i64)],
        it_fix: f64,
    ) -> BillingInput<'a> {
        BillingInput {
            period: BillingPeriod::new(2026, PeriodKind::Month, 1).unwrap(),
            windows: vec![(DaySpan::new(d(from), d("2029-03-31")).unwrap(), terms)],
            usage: usage.iter().map(|(c, q)| (c.to_string(), *q)).collect(),
            results: [("IT-FIX-4H".to_string(), it_fix)].into(),
        }
    }

    #[test]
    fn invoice_has_typed_lines_with_vat_per_line_and_totals_by_account() {
        let terms = lambeth_terms();
        let lines = bill(&input(
            &terms,
            "2026-04-01",
            &[("LEGAL", 7_500), ("IT", 120_000)],
            97.0,
        ));
        let kinds: Vec<_> = lines
            .iter()
            .map(|l| (l.kind, l.line_code.as_str(), l.net, l.vat))
            .collect();
        assert_eq!(
            kinds,
            [
                (LineKind::FixedFee, "HR", 300_000, 0), // 30 days of £36,500 a year
                (LineKind::Usage, "LEGAL", 71_250, 14_250),
                (LineKind::Usage, "IT", 222_000, 44_400),
            ]
        );
        let t = totals(&lines);
        assert_eq!(
            t.account(Account::Hra),
            AccountTotal {
                net: 293_250,
                vat: 58_650
            }
        );
        assert_eq!(
            t.account(Account::GeneralFund),
            AccountTotal {
                net: 300_000,
                vat: 0
            }
        );
        assert_eq!(t.gross(), 651_900);
    }

    #[test]
    fn service_credit_applied_on_the_invoice_when_a_level_is_missed() {
        let terms = lambeth_terms();
        let lines = bill(&input(&terms, "2026-04-01", &[("IT", 120_000)], 91.5));
        let credit = lines
            .iter()
            .find(|l| l.kind == LineKind::ServiceCredit)
            .unwrap();
        assert_eq!(credit.line_code, "IT");
        assert_eq!((credit.net, credit.vat), (-11_100, -2_220));
        assert!(
            credit.description.ends_with("5% of £2,220.00"),
            "{}",
            credit.description
        );
        assert_eq!(credit.account, Account::Hra);
        assert_eq!(totals(&lines).account(Account::Hra).net, 222_000 - 11_100);
    }

    #[test]
    fn fixed_fee_prorated_on_the_invoice_when_agreement_starts_mid_period() {
        let terms = lambeth_terms();
        let lines = bill(&input(&terms, "2026-04-16", &[], 99.0));
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].quantity_milli, 15_000);
        assert_eq!(lines[0].net, 150_000); // 15 days at £100 a day
    }

    #[test]
    fn a_period_the_agreement_does_not_cover_bills_nothing() {
        let terms = lambeth_terms();
        assert!(bill(&input(&terms, "2026-05-01", &[("LEGAL", 1000)], 50.0)).is_empty());
    }

    #[test]
    fn issued_invoice_never_changes() {
        assert!(ensure_draft(InvoiceStatus::Draft).is_ok());
        assert!(ensure_draft(InvoiceStatus::Issued).is_err());
    }

    #[test]
    fn invoice_numbers_are_gapless_per_council() {
        assert_eq!(invoice_number("E09000022", 1), "SLA-E09000022-000001");
        assert_eq!(invoice_number("E09000022", 42), "SLA-E09000022-000042");
    }

    #[test]
    fn quantities_print_without_trailing_zeros() {
        assert_eq!(format_quantity(7_500), "7.5");
        assert_eq!(format_quantity(120_000), "120");
        assert_eq!(format_quantity(1_005), "1.005");
        assert_eq!(format_pounds(222_000), "£2,220.00");
        assert_eq!(format_pounds(-5), "-£0.05");
        assert_eq!(format_pounds(123_456_789), "£1,234,567.89");
    }

    fn arb_line() -> impl Strategy<Value = InvoiceLine> {
        (
            -10_000_000i64..100_000_000,
            prop_oneof![
                Just(VatTreatment::Standard),
                Just(VatTreatment::Reduced),
                Just(VatTreatment::Exempt)
            ],
            prop_oneof![Just(Account::Hra), Just(Account::GeneralFund)],
        )
            .prop_map(|(net, vat_treatment, account)| InvoiceLine {
                kind: if net < 0 {
                    LineKind::ServiceCredit
                } else {
                    LineKind::Usage
                },
                line_code: "X".into(),
                description: String::new(),
                quantity_milli: 0,
                unit_price: 0,
                net,
                vat_treatment,
                vat: vat_treatment.vat_on(net),
                account,
            })
    }

    proptest! {
        #[test]
        fn invoice_total_equals_the_sum_of_its_lines_per_account_and_overall(
            lines in proptest::collection::vec(arb_line(), 0..40)
        ) {
            let t = totals(&lines);
            prop_assert_eq!(t.net, lines.iter().map(|l| l.net).sum::<i64>());
            prop_assert_eq!(t.vat, lines.iter().map(|l| l.vat).sum::<i64>());
            for a in [Account::Hra, Account::GeneralFund] {
                let mine = lines.iter().filter(|l| l.account == a);
                prop_assert_eq!(t.account(a).net, mine.clone().map(|l| l.net).sum::<i64>());
                prop_assert_eq!(t.account(a).vat, mine.map(|l| l.vat).sum::<i64>());
            }
            prop_assert_eq!(t.account(Account::Hra).gross() + t.account(Account::GeneralFund).gross(), t.gross());
        }

        /// Usage records summed in any order bill the same invoice.
        #[test]
        fn totals_stay_the_same_whichever_order_usage_arrives_in(
            records in proptest::collection::vec((0usize..2, 0i64..50_000), 1..30),
            seed in any::<u64>(),
            it_fix in 80.0f64..100.0,
        ) {
            let terms = lambeth_terms();
            let codes = ["LEGAL", "IT"];
            let sum = |recs: &[(usize, i64)]| {
                let mut m: BTreeMap<String, i64> = BTreeMap::new();
                for (c, q) in recs {
                    *m.entry(codes[*c].to_string()).or_default() += q;
                }
                m
            };
            let mut shuffled = records.clone();
            // A deterministic shuffle from the seed.
            let mut s = seed;
            for i in (1..shuffled.len()).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (s >> 33) as usize % (i + 1));
            }
            let mut a = input(&terms, "2026-04-01", &[], it_fix);
            a.usage = sum(&records);
            let mut b = input(&terms, "2026-04-01", &[], it_fix);
            b.usage = sum(&shuffled);
            prop_assert_eq!(totals(&bill(&a)), totals(&bill(&b)));
            // And every credit stays within its line's charge.
            let lines = bill(&a);
            for c in lines.iter().filter(|l| l.kind == LineKind::ServiceCredit) {
                let charged: i64 = lines.iter().filter(|l| l.line_code == c.line_code && l.kind != LineKind::ServiceCredit).map(|l| l.net).sum();
                prop_assert!(-c.net <= charged);
            }
        }
    }
}
