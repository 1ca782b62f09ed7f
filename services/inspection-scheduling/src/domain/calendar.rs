//! iCalendar (RFC 5545) export of inspections, per inspector or per ALMO, so the dates land in
//! ordinary calendar applications: the on-site week and each planned milestone as all-day events.

use chrono::{DateTime, Days, NaiveDate, Utc};

/// One all-day event; `last_day` is included (DTEND is the day after, RFC 5545 §3.6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Globally unique and stable, so a re-import updates instead of duplicating.
    pub uid: String,
    pub summary: String,
    pub description: String,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    /// Revision number (RFC 5545 §3.8.7.4): greater on every change, so a subscriber replaces
    /// the copy it holds.
    pub sequence: u32,
    /// STATUS:CANCELLED rather than CONFIRMED (§3.8.1.11): kept in the feed so that subscribed
    /// calendars remove the event instead of keeping the last copy they saw.
    pub cancelled: bool,
}

/// TEXT escaping (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line at 75 octets, never inside a UTF-8 character (RFC 5545 §3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn ymd(d: NaiveDate) -> String {
    d.format("%Y%m%d").to_string()
}

/// A VCALENDAR holding `events`, with CRLF line ends and folded lines.
pub fn ics(name: &str, events: &[CalendarEvent], stamp: DateTime<Utc>) -> String {
    let mut out = String::new();
    let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    for l in [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".into(),
        "PRODID:-//almo-exchange//inspection scheduling//EN".into(),
        "CALSCALE:GREGORIAN".into(),
        "METHOD:PUBLISH".into(),
        format!("X-WR-CALNAME:{}", escape(name)),
    ] {
        fold(&l, &mut out);
    }
    for e in events {
        let end = e.last_day + Days::new(1);
        for l in [
            "BEGIN:VEVENT".to_string(),
            format!("UID:{}", escape(&e.uid)),
            format!("DTSTAMP:{stamp}"),
            format!("DTSTART;VALUE=DATE:{}", ymd(e.first_day)),
            format!("DTEND;VALUE=DATE:{}", ymd(end)),
            format!("SUMMARY:{}", escape(&e.summary)),
            format!("DESCRIPTION:{}", escape(&e.description)),
            format!("SEQUENCE:{}", e.sequence),
            format!(
                "STATUS:{}",
                if e.cancelled {
                    "CANCELLED"
                } else {
                    "CONFIRMED"
                }
            ),
            // A cancelled event no longer blocks the time.
            if e.cancelled {
                "TRANSP:TRANSPARENT"
            } else {
                "TRANSP:OPAQUE"
            }
            .into(),
            "END:VEVENT".into(),
        ] {
            fold(&l, &mut out);
        }
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::readiness::tests::d;
    use proptest::prelude::*;

    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    #[test]
    fn calendar_is_rfc5545_with_all_day_events() {
        let e = CalendarEvent {
            uid: "LAMBETH-LIVING-2008-11-03-on-site@almo-exchange".into(),
            summary: "ALMO inspection on site: Lambeth Living".into(),
            description: "Team: Owen Hughes (lead), Marta Kowalski; TIA Janet Green".into(),
            first_day: d("2008-11-03"),
            last_day: d("2008-11-07"),
            sequence: 0,
            cancelled: false,
        };
        let stamp = "2026-11-23T11:00:00Z".parse().unwrap();
        let text = ics("Lambeth Living inspections", &[e], stamp);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
        assert!(!text.replace("\r\n", "").contains('\n'));
        let flat = unfold(&text);
        assert!(flat.contains("DTSTART;VALUE=DATE:20081103\r\n"));
        // DTEND is exclusive: the Friday's next day.
        assert!(flat.contains("DTEND;VALUE=DATE:20081108\r\n"));
        assert!(flat.contains("DTSTAMP:20261123T110000Z\r\n"));
        // Commas and semicolons in TEXT are escaped.
        assert!(flat.contains(
            "DESCRIPTION:Team: Owen Hughes (lead)\\, Marta Kowalski\\; TIA Janet Green\r\n"
        ));
        assert_eq!(text.matches("BEGIN:VEVENT").count(), 1);
        assert!(flat.contains("SEQUENCE:0\r\nSTATUS:CONFIRMED\r\nTRANSP:OPAQUE\r\n"));
    }

    #[test]
    fn cancelled_event_is_published_cancelled_with_a_greater_sequence() {
        let e = CalendarEvent {
            uid: "LEEDS-ENE-HOMES-2007-10-22-on-site@almo-exchange".into(),
            summary: "Cancelled: ALMO inspection on site: Leeds ENE Homes".into(),
            description: String::new(),
            first_day: d("2007-10-22"),
            last_day: d("2007-10-26"),
            sequence: 1,
            cancelled: true,
        };
        let text = unfold(&ics("n", &[e], "2026-01-01T00:00:00Z".parse().unwrap()));
        assert!(text.contains("SEQUENCE:1\r\nSTATUS:CANCELLED\r\nTRANSP:TRANSPARENT\r\n"));
        assert!(!text.contains("CONFIRMED"));
    }

    proptest! {
        #[test]
        fn lines_are_folded_at_75_octets_and_unfold_to_the_text(summary in "\\PC{0,300}") {
            let e = CalendarEvent {
                uid: "x@almo-exchange".into(),
                summary: summary.clone(),
                description: String::new(),
                first_day: d("2004-05-10"),
                last_day: d("2004-05-14"),
                sequence: 0,
                cancelled: false,
            };
            let text = ics("n", &[e], "2026-01-01T00:00:00Z".parse().unwrap());
            for line in text.split("\r\n") {
                prop_assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
            }
            let wanted = format!("SUMMARY:{}\r\n", escape(&summary));
            prop_assert!(unfold(&text).contains(&wanted));
        }
    }
}
