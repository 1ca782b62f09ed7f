//! A variation agreed with effect inside a period already invoiced is settled by an adjustment
//! referencing the original invoice — never by editing it, never by forgetting it (DOMAIN.md §2;
//! Kill Bill's invoice "repair" is the model). The period is billed again under the terms now
//! agreed; per service line, what that bills less what has been billed for it (the original, its
//! supplementary invoices, its adjustment credit notes) is the difference, to the penny, net and
//! VAT. A rise goes on a supplementary invoice, a cut on a credit note against the original.

use std::collections::BTreeMap;

use crate::domain::charging::{Account, VatTreatment};
use crate::domain::invoice::{InvoiceLine, LineKind};

/// What one service line of an invoiced period is short (positive) or over (negative).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub line_code: String,
    pub kind: LineKind,
    pub net: i64,
    pub vat: i64,
    pub vat_treatment: VatTreatment,
    pub account: Account,
    /// What was billed for the line before, net.
    pub billed_net: i64,
    /// What the terms now agreed bill for it, net.
    pub rebilled_net: i64,
}

/// The differences per service line between `rebilled` (the period billed under the terms now
/// agreed) and `billed` (every line billed for the period so far, adjustments included, credit
/// notes raised as adjustments given as negative lines). Lines that match are left out.
pub fn differences(rebilled: &[InvoiceLine], billed: &[InvoiceLine]) -> Vec<Difference> {
    fn entry<'a>(
        by_code: &'a mut BTreeMap<String, Difference>,
        l: &InvoiceLine,
    ) -> &'a mut Difference {
        by_code
            .entry(l.line_code.clone())
            .or_insert_with(|| Difference {
                line_code: l.line_code.clone(),
                kind: l.kind,
                net: 0,
                vat: 0,
                vat_treatment: l.vat_treatment,
                account: l.account,
                billed_net: 0,
                rebilled_net: 0,
            })
    }
    let mut by_code = BTreeMap::new();
    // The new terms first, so that a line's kind, treatment and account are theirs.
    for l in rebilled {
        let d = entry(&mut by_code, l);
        if l.kind != LineKind::ServiceCredit {
            d.kind = l.kind;
        }
        d.net += l.net;
        d.vat += l.vat;
        d.rebilled_net += l.net;
    }
    for l in billed {
        let d = entry(&mut by_code, l);
        d.net -= l.net;
        d.vat -= l.vat;
        d.billed_net += l.net;
    }
    by_code
        .into_values()
        .filter(|d| d.net != 0 || d.vat != 0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, kind: LineKind, net: i64) -> InvoiceLine {
        InvoiceLine {
            kind,
            line_code: code.into(),
            description: String::new(),
            quantity_milli: 0,
            unit_price: 0,
            net,
            vat_treatment: VatTreatment::Standard,
            vat: VatTreatment::Standard.vat_on(net),
            account: Account::Hra,
        }
    }

    #[test]
    fn a_back_dated_variation_is_settled_to_the_penny_per_service_line() {
        // HR doubles from 16 April: April billed 300,000; now 150,000 + 300,000.
        let billed = [
            line("HR", LineKind::FixedFee, 300_000),
            line("IT", LineKind::Usage, 222_000),
        ];
        let rebilled = [
            line("HR", LineKind::FixedFee, 150_000),
            line("HR", LineKind::FixedFee, 300_000),
            line("IT", LineKind::Usage, 222_000),
        ];
        let d = differences(&rebilled, &billed);
        assert_eq!(d.len(), 1);
        assert_eq!(
            (d[0].line_code.as_str(), d[0].net, d[0].vat),
            ("HR", 150_000, 30_000)
        );
        // Once the supplementary invoice is billed too, nothing is left to adjust.
        let mut settled = billed.to_vec();
        settled.push(line("HR", LineKind::FixedFee, 150_000));
        assert!(differences(&rebilled, &settled).is_empty());
        // A cut is negative: a credit note.
        let cut = differences(&[line("IT", LineKind::Usage, 200_000)], &billed[1..]);
        assert_eq!((cut[0].net, cut[0].vat), (-22_000, -4_400));
    }
}
