//! Corrections to an issued invoice are credit notes against its lines, never edits. Together
//! they never give back more than the customer paid for a line: its charge, less the service
//! credits already given on it, less earlier credit notes — net and VAT alike (DOMAIN.md §2).

use crate::domain::charging::VatTreatment;

/// Net and VAT, both as positive amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Amount {
    pub net: i64,
    pub vat: i64,
}

/// An issued charge line and what has already been taken off what the customer paid for it.
///
/// A service credit is given on a service line (its code), not on one invoice line; when a
/// service line has more than one charge line on an invoice (the days either side of a
/// variation), `service_line` holds all of them together, and a credit must fit both the invoice
/// line and its service line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditableLine {
    /// The invoice line's number and its service line's code, to name it in a refusal.
    pub line_number: i32,
    pub line_code: String,
    pub treatment: VatTreatment,
    /// What this invoice line charged (negative for a credit line, which cannot be credited).
    pub charged: Amount,
    /// Earlier credit notes on this invoice line.
    pub credited: Amount,
    /// Every charge line of the service line on the invoice, this one included.
    pub service_line_charged: Amount,
    /// Service credits given on the service line on the invoice.
    pub service_credits: Amount,
    /// Earlier credit notes on any charge line of the service line.
    pub service_line_credited: Amount,
}

impl CreditableLine {
    /// A service line with one charge line: the common case.
    pub fn single(
        line_number: i32,
        line_code: &str,
        treatment: VatTreatment,
        charged: Amount,
        service_credits: Amount,
        credited: Amount,
    ) -> Self {
        Self {
            line_number,
            line_code: line_code.to_string(),
            treatment,
            charged,
            credited,
            service_line_charged: charged,
            service_credits,
            service_line_credited: credited,
        }
    }

    /// What may still be credited on the line: the least of what remains of the invoice line
    /// and of what the customer paid for its service line; never below zero.
    pub fn remaining(&self) -> Amount {
        let paid = |f: fn(&Amount) -> i64| {
            (f(&self.charged) - f(&self.credited))
                .min(
                    f(&self.service_line_charged)
                        - f(&self.service_credits)
                        - f(&self.service_line_credited),
                )
                .max(0)
        };
        Amount {
            net: paid(|a| a.net),
            vat: paid(|a| a.vat),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    #[error("a credit must be more than zero")]
    NotPositive,
    #[error("only a charge can be credited; this line is itself a credit")]
    NotACharge,
    #[error(
        "at most {remaining} pence remain creditable on line {line_number} ({line_code}): \
         charged {charged}, less service credits {service_credits}, less earlier credit notes \
         {credited}"
    )]
    ExceedsPaid {
        remaining: i64,
        line_number: i32,
        line_code: String,
        charged: i64,
        service_credits: i64,
        credited: i64,
    },
}

/// The (net, VAT) to credit for `net` pence of the line. The VAT is the line rate rounded by
/// the rule, never more than the VAT that remains creditable; crediting the whole remainder
/// credits exactly the VAT that remains, so the line ends at zero, net and VAT.
pub fn credit_line(line: &CreditableLine, net: i64) -> Result<(i64, i64), CreditError> {
    if line.charged.net <= 0 {
        return Err(CreditError::NotACharge);
    }
    if net <= 0 {
        return Err(CreditError::NotPositive);
    }
    let remaining = line.remaining();
    if net > remaining.net {
        return Err(CreditError::ExceedsPaid {
            remaining: remaining.net,
            line_number: line.line_number,
            line_code: line.line_code.clone(),
            charged: line.service_line_charged.net,
            service_credits: line.service_credits.net,
            credited: line.service_line_credited.net,
        });
    }
    let vat = if net == remaining.net {
        remaining.vat
    } else {
        line.treatment.vat_on(net).clamp(0, remaining.vat)
    };
    Ok((net, vat))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn amount(net: i64) -> Amount {
        Amount {
            net,
            vat: VatTreatment::Standard.vat_on(net),
        }
    }

    fn line(net: i64) -> CreditableLine {
        CreditableLine::single(
            1,
            "LEGAL",
            VatTreatment::Standard,
            amount(net),
            Amount::default(),
            Amount::default(),
        )
    }

    fn credit(l: &mut CreditableLine, net: i64, vat: i64) {
        for a in [&mut l.credited, &mut l.service_line_credited] {
            a.net += net;
            a.vat += vat;
        }
    }

    #[test]
    fn credit_note_never_exceeds_the_charge() {
        let mut l = line(71_250);
        assert_eq!(credit_line(&l, 9_500).unwrap(), (9_500, 1_900));
        credit(&mut l, 70_000, 14_000);
        assert!(matches!(
            credit_line(&l, 1_251).unwrap_err(),
            CreditError::ExceedsPaid {
                remaining: 1_250,
                ..
            }
        ));
        assert_eq!(credit_line(&l, 1_250).unwrap(), (1_250, 250));
        assert_eq!(credit_line(&l, 0).unwrap_err(), CreditError::NotPositive);
        assert_eq!(
            credit_line(&line(-500), 100).unwrap_err(),
            CreditError::NotACharge
        );
    }

    #[test]
    fn credit_note_never_refunds_more_than_was_paid_for_the_line() {
        // £1,162.50 charged, a £58.13 service credit already given on it: £1,104.37 was paid.
        let mut l = line(116_250);
        l.service_credits = amount(5_813);
        let err = credit_line(&l, 116_250).unwrap_err();
        assert_eq!(
            err.to_string(),
            "at most 110437 pence remain creditable on line 1 (LEGAL): charged 116250, less \
             service credits 5813, less earlier credit notes 0"
        );
        // Crediting what was paid leaves the line at zero, net and VAT.
        let (n, v) = credit_line(&l, 110_437).unwrap();
        assert_eq!((n, v), (110_437, 23_250 - 1_163));
        credit(&mut l, n, v);
        assert_eq!(l.remaining(), Amount::default());
        assert!(matches!(
            credit_line(&l, 1).unwrap_err(),
            CreditError::ExceedsPaid { remaining: 0, .. }
        ));
    }

    #[test]
    fn a_service_line_split_by_a_variation_is_capped_as_a_whole() {
        // Two charge lines of one service line (either side of a variation), 1,000 + 2,000,
        // with a 600 service credit on the service line: 2,400 was paid in all.
        let mut second = line(2_000);
        second.line_number = 2;
        second.service_line_charged = amount(3_000);
        second.service_credits = amount(600);
        assert_eq!(second.remaining().net, 2_000);
        second.service_line_credited = amount(1_000); // line 1 credited in full
        assert_eq!(second.remaining().net, 1_400);
    }

    proptest! {
        /// However a line is credited piece by piece, the net and the VAT credited never exceed
        /// what was paid for it, and crediting it all leaves exactly zero.
        #[test]
        fn repeated_credits_never_exceed_what_was_paid(
            net in 1i64..10_000_000,
            credit_bp in 0i64..=10_000,
            pieces in proptest::collection::vec(1i64..1_000_000, 1..20),
        ) {
            let mut l = line(net);
            l.service_credits = amount(crate::domain::rounding::share(net, credit_bp, 10_000));
            let paid = Amount {
                net: l.charged.net - l.service_credits.net,
                vat: l.charged.vat - l.service_credits.vat,
            };
            for p in pieces {
                if let Ok((n, v)) = credit_line(&l, p) {
                    credit(&mut l, n, v);
                }
                prop_assert!(l.credited.net <= paid.net);
                prop_assert!(l.credited.vat <= paid.vat && l.credited.vat >= 0);
            }
            let rest = l.remaining();
            if rest.net > 0 {
                let (n, v) = credit_line(&l, rest.net).unwrap();
                credit(&mut l, n, v);
            }
            prop_assert_eq!(l.credited.net, paid.net);
            prop_assert!(l.credited.vat <= paid.vat);
        }
    }
}
