//! The ticket (and a command descriptor's `cmd`): a UTF-8 JSON object naming the dataset and its
//! filters, e.g. `{"dataset": "pi.values", "year": "2024/25", "indicator": "BV66a"}`. Every value
//! is a string; each dataset says which keys it takes and parses their values itself.

use std::collections::BTreeMap;

use almo_server::AppError;

/// A parsed ticket: the dataset's name and its filters, by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub dataset: String,
    filters: BTreeMap<String, String>,
}

impl Ticket {
    /// A ticket for `dataset` with no filters.
    pub fn new(dataset: impl Into<String>) -> Self {
        Self {
            dataset: dataset.into(),
            filters: BTreeMap::new(),
        }
    }

    /// The same ticket with the filter `key` set to `value`.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.filters.insert(key.to_string(), value.into());
        self
    }

    /// Reads `bytes` (a ticket or a descriptor's cmd, named `what` in refusals).
    pub fn parse(bytes: &[u8], what: &str) -> Result<Self, AppError> {
        let bad = |why: String| AppError::invalid(what, why);
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            bad(format!(
                "a JSON object such as {{\"dataset\": \"pi.values\"}} ({e})"
            ))
        })?;
        let serde_json::Value::Object(map) = value else {
            return Err(bad(
                "a JSON object such as {\"dataset\": \"pi.values\"}".into()
            ));
        };
        let mut dataset = None;
        let mut filters = BTreeMap::new();
        for (key, v) in map {
            let serde_json::Value::String(s) = v else {
                return Err(AppError::invalid(key, "a string"));
            };
            if key == "dataset" {
                dataset = Some(s);
            } else {
                filters.insert(key, s);
            }
        }
        let dataset = dataset.ok_or_else(|| AppError::invalid("dataset", "required"))?;
        Ok(Self { dataset, filters })
    }

    /// The filter `key`, trimmed; `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.filters
            .get(key)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// Refuses a key the dataset does not take, naming it.
    pub fn check_keys(&self, takes: &[&str]) -> Result<(), AppError> {
        for key in self.filters.keys() {
            if !takes.contains(&key.as_str()) {
                let known = if takes.is_empty() {
                    "none".to_string()
                } else {
                    takes.join(", ")
                };
                return Err(AppError::invalid(
                    key.clone(),
                    format!("not a filter of {} (it takes: {known})", self.dataset),
                ));
            }
        }
        Ok(())
    }

    /// The ticket as bytes, the same JSON a client sends.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut map = serde_json::Map::new();
        map.insert("dataset".into(), self.dataset.clone().into());
        for (k, v) in &self.filters {
            map.insert(k.clone(), v.clone().into());
        }
        serde_json::Value::Object(map).to_string().into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(e: AppError) -> String {
        match e {
            AppError::InvalidArgument { violations, .. } => violations[0].field.clone(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn a_ticket_round_trips_through_its_bytes() {
        let t = Ticket::new("pi.values").with("year", "2024/25");
        assert_eq!(Ticket::parse(&t.to_bytes(), "ticket").unwrap(), t);
        assert_eq!(t.get("year"), Some("2024/25"));
        assert_eq!(t.get("indicator"), None);
    }

    #[test]
    fn a_ticket_that_is_not_a_json_object_names_the_ticket() {
        assert_eq!(
            field_of(Ticket::parse(b"pi.values", "ticket").unwrap_err()),
            "ticket"
        );
        assert_eq!(field_of(Ticket::parse(b"[1]", "cmd").unwrap_err()), "cmd");
    }

    #[test]
    fn a_ticket_without_a_dataset_or_with_a_number_names_the_key() {
        assert_eq!(
            field_of(Ticket::parse(b"{}", "ticket").unwrap_err()),
            "dataset"
        );
        let e = Ticket::parse(br#"{"dataset":"pi.values","year":2024}"#, "ticket").unwrap_err();
        assert_eq!(field_of(e), "year");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let t = Ticket::parse(br#"{"dataset":"pi.values","colour":"red"}"#, "ticket").unwrap();
        assert_eq!(field_of(t.check_keys(&["year"]).unwrap_err()), "colour");
        assert!(t.check_keys(&["colour"]).is_ok());
    }
}
