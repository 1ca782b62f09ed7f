//! FindSlots names the own-landlord conflict: when the only TIA free in a week is a tenant of the
//! ALMO or its council, the week says TIA_OWN_LANDLORD, as a booking with that TIA is refused,
//! not only "no TIA available" (003 §35, §111).

mod common;

use almo_proto::inspection::{self as pb};
use common::*;

const SHEFFIELD: &str = "SHEFFIELD-HOMES";

/// The codes and descriptions of a ruled-out week's rules.
fn rules(s: &pb::Slot) -> Vec<(String, String)> {
    s.broken_rules
        .iter()
        .map(|r| (r.code.clone(), r.description.clone()))
        .collect()
}

#[tokio::test]
async fn find_slots_names_the_tia_own_landlord_conflict() {
    let (_app, mut client) = app().await;
    // Sheffield Homes (council E08000019): TIA-HALL rents from the council. Every other TIA is
    // away the weeks of 5 and 12 November 2007.
    for (n, tia) in ["TIA-DUNCAN", "TIA-FERREIRA", "TIA-GREEN"]
        .iter()
        .enumerate()
    {
        client
            .record_unavailability(ins(leave(
                &format!("leave-{n}"),
                tia,
                "2007-11-05",
                "2007-11-16",
                "v1",
            )))
            .await
            .unwrap();
    }
    let found = client
        .find_slots(ins(slots(SHEFFIELD, "2007-11-05", "2007-11-25", 5)))
        .await
        .unwrap()
        .into_inner();
    let weeks: Vec<&str> = found
        .slots
        .iter()
        .map(|s| s.on_site_start_date.as_str())
        .collect();
    assert_eq!(weeks, vec!["2007-11-05", "2007-11-12", "2007-11-19"]);
    let own_landlord = (
        "TIA_OWN_LANDLORD".to_string(),
        "TIA TIA-HALL is a tenant of E08000019 and may not inspect their own landlord".to_string(),
    );
    for slot in &found.slots[..2] {
        let rules = rules(slot);
        assert!(!slot.feasible);
        assert!(rules.contains(&own_landlord), "{rules:?}");
        assert!(rules.iter().all(|(code, _)| code != "NO_TIA"), "{rules:?}");
    }
    // The others back: the week of 19 November has TIAs free, and neither rule.
    let back = rules(&found.slots[2]);
    assert!(
        back.iter()
            .all(|(code, _)| code != "NO_TIA" && code != "TIA_OWN_LANDLORD"),
        "{back:?}"
    );

    // The booking attempt with that TIA names the same rule.
    let err = client
        .book_inspection(ins(booking(
            "b-sheffield",
            SHEFFIELD,
            "2007-11-05",
            &[
                "LEAD-PATEL",
                "INSP-KOWALSKI",
                "INSP-WALSH",
                "INSP-MORGAN",
                "INSP-SINGH",
                "TIA-HALL",
            ],
        )))
        .await
        .unwrap_err();
    assert!(
        err.message()
            .contains("TIA TIA-HALL is a tenant of E08000019")
    );
}
