//! iCalendar (RFC 5545) export of inspections, per inspector or per ALMO, so the dates land in
//! ordinary calendar applications: the on-site week and each planned milestone as all-day events.
//!
//! Written here rather than with the `icalendar` crate (0.17): that crate writes an event's
//! properties in alphabetical order and keeps a carriage return inside TEXT, where this feed
//! keeps SEQUENCE, STATUS and TRANSP together and drops it. What the crate would be trusted for,
//! folding at 75 octets (§3.1) and TEXT escaping (§3.3.11), is tested below.

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

    fn event(summary: &str, description: &str) -> CalendarEvent {
        CalendarEvent {
            uid: "x@almo-exchange".into(),
            summary: summary.into(),
            description: description.into(),
            first_day: d("2004-05-10"),
            last_day: d("2004-05-14"),
            sequence: 0,
            cancelled: false,
        }
    }

    fn ics_of(e: CalendarEvent) -> String {
        ics("n", &[e], "2026-01-01T00:00:00Z".parse().unwrap())
    }

    #[test]
    fn a_long_line_folds_at_exactly_75_octets_and_continues_after_one_space() {
        let summary = "a".repeat(100);
        let text = ics_of(event(&summary, ""));
        let at = text.find("SUMMARY:").unwrap();
        let mut lines = text[at..].split("\r\n");
        let first = lines.next().unwrap();
        let second = lines.next().unwrap();
        assert_eq!(first.len(), 75);
        assert_eq!(first, format!("SUMMARY:{}", "a".repeat(67)));
        assert_eq!(second, format!(" {}", "a".repeat(33)));
    }

    #[test]
    fn folding_never_splits_a_multi_byte_character() {
        // "SUMMARY:" and 66 letters fill 74 octets; the 3-octet euro sign would end at octet 77,
        // so the line folds before it, one octet short of the limit.
        let summary = format!("{}€uro 老虎", "a".repeat(66));
        let text = ics_of(event(&summary, ""));
        let at = text.find("SUMMARY:").unwrap();
        let mut lines = text[at..].split("\r\n");
        assert_eq!(lines.next().unwrap(), format!("SUMMARY:{}", "a".repeat(66)));
        assert_eq!(lines.next().unwrap(), " €uro 老虎");
        // Two-octet characters across a boundary, at every offset: no line over 75 octets, and
        // the text comes back whole when unfolded.
        for pad in 0..4 {
            let summary = format!("{}{}", "a".repeat(pad), "é".repeat(100));
            let text = ics_of(event(&summary, ""));
            assert!(text.split("\r\n").all(|l| l.len() <= 75));
            assert!(unfold(&text).contains(&format!("SUMMARY:{summary}\r\n")));
        }
    }

    #[test]
    fn text_escapes_commas_semicolons_backslashes_and_newlines() {
        assert_eq!(
            escape("Leeds, West; C:\\reports\nline two\r\nline three"),
            "Leeds\\, West\\; C:\\\\reports\\nline two\\nline three"
        );
        let text = unfold(&ics_of(event("a,b", "one;two\\three\nfour")));
        assert!(text.contains("SUMMARY:a\\,b\r\n"), "{text}");
        assert!(
            text.contains("DESCRIPTION:one\\;two\\\\three\\nfour\r\n"),
            "{text}"
        );
        // Only line ends are CRLF: no bare newline or carriage return inside a value.
        assert!(!text.replace("\r\n", "").contains(['\n', '\r']));
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
