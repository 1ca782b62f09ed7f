//! The suite's input contract, enforced once for every request of every service before a
//! handler sees it: how long each kind of string may be, which characters it may hold, and how
//! many items a repeated field may carry. The README's "Limits" table is this file.
//!
//! The check walks the request's wire bytes with the contracts' descriptors (no allocation per
//! field, one pass) and reports every violation by its field path (`records[12].commentary`),
//! at most [`MAX_REPORTED`] of them. Handlers still apply their own, narrower rules.

use std::collections::HashMap;
use std::sync::OnceLock;

use prost::Message;
use prost_types::field_descriptor_proto::{Label, Type};

/// What a string field holds, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringKind {
    /// `request_id`: at most 128 characters, no spaces or control characters.
    RequestId,
    /// Ids, codes, dates, etags (`*_id`, `*_ids`, `id`, `code`, `*_date`, `etag`, ...): at most
    /// 128 characters, no control characters.
    Id,
    /// Page tokens, cursors and watermarks: at most 1,024 characters, no control characters.
    Token,
    /// Names and titles (`name`, `title`, `label`, ...): at most 200 characters, no control
    /// characters.
    Name,
    /// Free text (reasons, notes, justifications, commentary): at most 10,000 characters, no
    /// control characters but line breaks and tabs.
    Text,
}

impl StringKind {
    /// The kind of the string field `name`.
    pub fn of(name: &str) -> Self {
        const TEXT: &[&str] = &[
            "reason",
            "note",
            "justification",
            "explanation",
            "commentary",
            "description",
            "decision_note",
            "change_note",
            "recovery_action",
            "revision_reason",
            "returned_reason",
            "summary",
            "cause",
            "response",
            "delegated_functions",
            "warning",
            "warnings",
        ];
        const NAME: &[&str] = &[
            "name",
            "title",
            "label",
            "unit_name",
            "star_label",
            "period_label",
        ];
        const TOKEN: &[&str] = &[
            "page_token",
            "next_page_token",
            "after_cursor",
            "cursor",
            "watermark",
        ];
        if name == "request_id" {
            StringKind::RequestId
        } else if TOKEN.contains(&name) {
            StringKind::Token
        } else if NAME.contains(&name) {
            StringKind::Name
        } else if TEXT.contains(&name) {
            StringKind::Text
        } else {
            StringKind::Id
        }
    }

    /// Most characters.
    pub fn max_chars(self) -> usize {
        match self {
            StringKind::RequestId | StringKind::Id => 128,
            StringKind::Token => 1024,
            StringKind::Name => 200,
            StringKind::Text => 10_000,
        }
    }

    fn allows(self, c: char) -> bool {
        match self {
            StringKind::RequestId => !c.is_control() && !c.is_whitespace(),
            StringKind::Text => !c.is_control() || matches!(c, '\n' | '\r' | '\t'),
            StringKind::Id | StringKind::Token | StringKind::Name => !c.is_control(),
        }
    }

    fn what(self) -> &'static str {
        match self {
            StringKind::RequestId => "has spaces or control characters",
            StringKind::Text => "has control characters other than line breaks and tabs",
            StringKind::Id | StringKind::Token | StringKind::Name => "has control characters",
        }
    }
}

/// Most items a repeated field of a request may carry, unless [`BULK`] says otherwise.
pub const MAX_ITEMS: usize = 1_000;

/// Repeated fields that carry bulk data, with their own maximum.
pub const BULK: &[(&str, usize)] = &[
    (
        "almo.delivery_plan.v1.PushVariancesRequest.records",
        200_000,
    ),
    (
        "almo.sla_charging.v1.BulkRecordUsageRequest.records",
        200_000,
    ),
    ("almo.directory.v1.CreatePeerGroupRequest.member_ids", 200),
];

/// Most violations one refusal reports.
pub const MAX_REPORTED: usize = 10;

#[derive(Debug, Clone)]
struct Field {
    name: String,
    repeated: bool,
    /// The full name of the message type, for message fields.
    message: Option<String>,
    string: Option<StringKind>,
    max_items: usize,
}

type Schema = HashMap<String, HashMap<u32, Field>>;

fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let set = prost_types::FileDescriptorSet::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("the compiled descriptor set decodes");
        let mut out = Schema::new();
        for file in &set.file {
            let package = file.package();
            let mut stack: Vec<(String, &prost_types::DescriptorProto)> = file
                .message_type
                .iter()
                .map(|m| (format!("{package}.{}", m.name()), m))
                .collect();
            while let Some((full, m)) = stack.pop() {
                let mut fields = HashMap::new();
                for f in &m.field {
                    let path = format!("{full}.{}", f.name());
                    let max_items = BULK
                        .iter()
                        .find(|(p, _)| *p == path)
                        .map(|(_, n)| *n)
                        .unwrap_or(MAX_ITEMS);
                    fields.insert(
                        f.number() as u32,
                        Field {
                            name: f.name().to_string(),
                            repeated: f.label() == Label::Repeated,
                            message: (f.r#type() == Type::Message)
                                .then(|| f.type_name().trim_start_matches('.').to_string()),
                            string: (f.r#type() == Type::String).then(|| StringKind::of(f.name())),
                            max_items,
                        },
                    );
                }
                for nested in &m.nested_type {
                    stack.push((format!("{full}.{}", nested.name()), nested));
                }
                out.insert(full, fields);
            }
        }
        out
    })
}

/// Reads a varint; `None` when the bytes end or it runs past ten bytes (prost refuses those).
fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

struct Walk {
    violations: Vec<(String, String)>,
    more: usize,
}

impl Walk {
    fn add(&mut self, field: String, reason: String) {
        if self.violations.len() < MAX_REPORTED {
            self.violations.push((field, reason));
        } else {
            self.more += 1;
        }
    }

    /// Walks `b` as a `message`; stops quietly at anything malformed (prost reports it).
    fn message(&mut self, schema: &Schema, message: &str, b: &[u8], prefix: &str, depth: usize) {
        if depth > 64 {
            return;
        }
        let Some(fields) = schema.get(message) else {
            return;
        };
        let mut counts: HashMap<u32, usize> = HashMap::new();
        let mut at = 0;
        while at < b.len() {
            let Some(tag) = varint(b, &mut at) else {
                return;
            };
            let (number, wire) = ((tag >> 3) as u32, tag & 7);
            let len = match wire {
                0 => {
                    if varint(b, &mut at).is_none() {
                        return;
                    }
                    None
                }
                1 => {
                    at += 8;
                    None
                }
                5 => {
                    at += 4;
                    None
                }
                2 => {
                    let Some(n) = varint(b, &mut at) else {
                        return;
                    };
                    let n = usize::try_from(n).unwrap_or(usize::MAX);
                    if n > b.len().saturating_sub(at) {
                        return;
                    }
                    let start = at;
                    at += n;
                    Some(&b[start..at])
                }
                _ => return,
            };
            let Some(f) = fields.get(&number) else {
                continue;
            };
            let index = if f.repeated {
                let n = counts.entry(number).or_insert(0);
                *n += 1;
                // Packed scalars count as one here; their length is bounded by the message size.
                if *n == f.max_items + 1 {
                    self.add(
                        format!("{prefix}{}", f.name),
                        format!("at most {} items", f.max_items),
                    );
                }
                if *n > f.max_items {
                    continue;
                }
                Some(*n - 1)
            } else {
                None
            };
            let (Some(bytes), path) = (len, || match index {
                Some(i) => format!("{prefix}{}[{i}]", f.name),
                None => format!("{prefix}{}", f.name),
            }) else {
                continue;
            };
            if let Some(kind) = f.string {
                let Ok(s) = std::str::from_utf8(bytes) else {
                    continue;
                };
                let n = s.chars().count();
                if n > kind.max_chars() {
                    self.add(
                        path(),
                        format!("at most {} characters ({n} sent)", kind.max_chars()),
                    );
                } else if !s.chars().all(|c| kind.allows(c)) {
                    self.add(path(), kind.what().to_string());
                }
            } else if let Some(inner) = &f.message {
                let p = format!("{}.", path());
                self.message(schema, inner, bytes, &p, depth + 1);
            }
        }
    }
}

/// The violations of the limits in `bytes`, a `message` (full name, e.g.
/// `almo.directory.v1.GetOrganisationRequest`), and how many more were not listed.
pub fn check(message: &str, bytes: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut walk = Walk {
        violations: Vec::new(),
        more: 0,
    };
    walk.message(schema(), message, bytes, "", 0);
    (walk.violations, walk.more)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery_plan::{PushVariancesRequest, VarianceRecord};
    use crate::directory::{
        CreatePeerGroupRequest, GetOrganisationRequest, RegisterCouncilRequest,
    };

    fn violations<M: Message>(name: &str, m: &M) -> Vec<(String, String)> {
        check(name, &m.encode_to_vec()).0
    }

    #[test]
    fn string_kinds_follow_field_names() {
        assert_eq!(StringKind::of("request_id"), StringKind::RequestId);
        assert_eq!(StringKind::of("almo_id"), StringKind::Id);
        assert_eq!(StringKind::of("page_token"), StringKind::Token);
        assert_eq!(StringKind::of("title"), StringKind::Name);
        assert_eq!(StringKind::of("justification"), StringKind::Text);
    }

    #[test]
    fn names_with_nul_or_escape_characters_are_refused() {
        let m = RegisterCouncilRequest {
            request_id: "r1".into(),
            ons_code: "E09000022".into(),
            name: "Lam\u{0}beth\u{1b}[31m".into(),
            region: "London".into(),
        };
        let v = violations("almo.directory.v1.RegisterCouncilRequest", &m);
        assert_eq!(
            v,
            [("name".to_string(), "has control characters".to_string())]
        );
    }

    #[test]
    fn long_ids_and_request_ids_are_refused_by_their_length() {
        let m = GetOrganisationRequest {
            id: "x".repeat(1_000_000),
        };
        let v = violations("almo.directory.v1.GetOrganisationRequest", &m);
        assert_eq!(v[0].0, "id");
        assert_eq!(v[0].1, "at most 128 characters (1000000 sent)");
        let m = RegisterCouncilRequest {
            request_id: "r".repeat(100_000),
            ..Default::default()
        };
        let v = violations("almo.directory.v1.RegisterCouncilRequest", &m);
        assert_eq!(v[0].0, "request_id");
    }

    #[test]
    fn repeated_fields_are_bounded_and_bulk_fields_have_their_own_bound() {
        let m = CreatePeerGroupRequest {
            member_ids: (0..100_000).map(|i| format!("E{i:08}")).collect(),
            justification: "j".repeat(3_000_000),
            ..Default::default()
        };
        let (v, more) = check(
            "almo.directory.v1.CreatePeerGroupRequest",
            &m.encode_to_vec(),
        );
        assert!(
            v.contains(&("member_ids".into(), "at most 200 items".into())),
            "{v:?}"
        );
        assert!(v.iter().any(|(f, _)| f == "justification"), "{v:?}");
        assert_eq!(more, 0);
        let push = PushVariancesRequest {
            records: vec![
                VarianceRecord {
                    commentary: "fine\nmultiline\tcommentary".into(),
                    ..Default::default()
                };
                5_000
            ],
            ..Default::default()
        };
        assert!(violations("almo.delivery_plan.v1.PushVariancesRequest", &push).is_empty());
    }

    #[test]
    fn nested_violations_name_their_path_and_stop_at_the_cap() {
        let push = PushVariancesRequest {
            records: vec![
                VarianceRecord {
                    commentary: "bell\u{7}".into(),
                    ..Default::default()
                };
                50
            ],
            ..Default::default()
        };
        let (v, more) = check(
            "almo.delivery_plan.v1.PushVariancesRequest",
            &push.encode_to_vec(),
        );
        assert_eq!(v.len(), MAX_REPORTED);
        assert_eq!(more, 40);
        assert_eq!(v[3].0, "records[3].commentary");
    }

    #[test]
    fn malformed_bytes_are_left_to_prost() {
        assert!(
            check(
                "almo.directory.v1.GetOrganisationRequest",
                &[0x0a, 0x10, 0x41]
            )
            .0
            .is_empty()
        );
        assert!(
            check("almo.directory.v1.GetOrganisationRequest", &[0xff; 5])
                .0
                .is_empty()
        );
        assert!(check("no.such.Message", &[0x0a, 0x00]).0.is_empty());
    }
}
