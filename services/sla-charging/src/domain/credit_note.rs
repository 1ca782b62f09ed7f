//! Corrections to an issued invoice are credit notes against its lines, never edits; a line can
//! never be credited more than it charged, across all its credit notes together.

use crate::domain::charging::VatTreatment;

/// An issued line and what has been credited against it so far (all positive amounts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreditableLine {
    pub net: i64,
    pub vat: i64,
    pub treatment: VatTreatment,
    pub credited_net: i64,
    pub credited_vat: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    #[error("a credit must be more than zero")]
    NotPositive,
    #[error("only a charge can be credited; this line is itself a credit")]
    NotACharge,
    #[error("at most {remaining} pence of this line is left to credit")]
    ExceedsCharge { remaining: i64 },
}

/// The (net, VAT) to credit for `net` pence of the line. The VAT is the line rate rounded by
/// the rule, except that crediting the whole remainder credits exactly the VAT that remains,
/// so rounding can never make the VAT credited exceed the VAT charged.
pub fn credit_line(line: &CreditableLine, net: i64) -> Result<(i64, i64), CreditError> {
    if line.net <= 0 {
        return Err(CreditError::NotACharge);
    }
    if net <= 0 {
        return Err(CreditError::NotPositive);
    }
    let remaining = line.net - line.credited_net;
    if net > remaining {
        return Err(CreditError::ExceedsCharge { remaining });
    }
    let vat_left = line.vat - line.credited_vat;
    let vat = if net == remaining {
        vat_left
    } else {
        line.treatment.vat_on(net).clamp(0, vat_left)
    };
    Ok((net, vat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn line(net: i64) -> CreditableLine {
        CreditableLine {
            net,
            vat: VatTreatment::Standard.vat_on(net),
            treatment: VatTreatment::Standard,
            credited_net: 0,
            credited_vat: 0,
        }
    }

    #[test]
    fn credit_note_never_exceeds_the_charge() {
        let mut l = line(71_250);
        assert_eq!(credit_line(&l, 9_500).unwrap(), (9_500, 1_900));
        l.credited_net = 70_000;
        l.credited_vat = 14_000;
        assert_eq!(
            credit_line(&l, 1_251).unwrap_err(),
            CreditError::ExceedsCharge { remaining: 1_250 }
        );
        assert_eq!(credit_line(&l, 1_250).unwrap(), (1_250, 250));
        assert_eq!(credit_line(&l, 0).unwrap_err(), CreditError::NotPositive);
        assert_eq!(
            credit_line(&line(-500), 100).unwrap_err(),
            CreditError::NotACharge
        );
    }

    proptest! {
        /// However a line is credited piece by piece, the net and the VAT credited never exceed
        /// what was charged, and crediting it all credits exactly the charge.
        #[test]
        fn repeated_credits_never_exceed_the_charge(net in 1i64..10_000_000, pieces in proptest::collection::vec(1i64..1_000_000, 1..20)) {
            let mut l = line(net);
            for p in pieces {
                if let Ok((n, v)) = credit_line(&l, p) {
                    l.credited_net += n;
                    l.credited_vat += v;
                }
                prop_assert!(l.credited_net <= l.net);
                prop_assert!(l.credited_vat <= l.vat && l.credited_vat >= 0);
            }
            let rest = l.net - l.credited_net;
            if rest > 0 {
                let (n, v) = credit_line(&l, rest).unwrap();
                l.credited_net += n;
                l.credited_vat += v;
            }
            prop_assert_eq!((l.credited_net, l.credited_vat), (l.net, l.vat));
        }
    }
}
