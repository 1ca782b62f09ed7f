//! The comments of one `.proto` file, looked up by descriptor path (the source info's
//! `location.path`: field numbers and indexes from the `FileDescriptorProto` down).

use std::collections::HashMap;

use prost_types::FileDescriptorProto;

// Field numbers in descriptor.proto, the steps of a source-info path.
pub const FILE_MESSAGE: i32 = 4;
pub const FILE_ENUM: i32 = 5;
pub const FILE_SERVICE: i32 = 6;
pub const MESSAGE_FIELD: i32 = 2;
pub const MESSAGE_NESTED: i32 = 3;
pub const MESSAGE_ENUM: i32 = 4;
pub const ENUM_VALUE: i32 = 2;
pub const SERVICE_METHOD: i32 = 2;

pub struct Comments {
    by_path: HashMap<Vec<i32>, String>,
}

impl Comments {
    pub fn of(file: &FileDescriptorProto) -> Self {
        let mut by_path = HashMap::new();
        if let Some(info) = &file.source_code_info {
            for loc in &info.location {
                let text = loc
                    .leading_comments
                    .as_deref()
                    .or(loc.trailing_comments.as_deref())
                    .map(tidy)
                    .unwrap_or_default();
                if !text.is_empty() {
                    by_path.insert(loc.path.clone(), text);
                }
            }
        }
        Self { by_path }
    }

    /// The comment at `path`, or "" when there is none.
    pub fn at(&self, path: &[i32]) -> &str {
        self.by_path.get(path).map(String::as_str).unwrap_or("")
    }
}

/// A comment as Markdown: the one space after `//` dropped from each line, outer blank lines
/// trimmed. Lines are kept (Markdown joins a paragraph's lines; blank lines separate them).
fn tidy(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end())
        .collect();
    lines.join("\n").trim().to_string()
}

/// The comment with its `Access:` and `Errors:` paragraphs taken out, and those two.
pub struct RpcComment<'a> {
    pub summary: String,
    pub access: Option<&'a str>,
    pub errors: Option<&'a str>,
}

/// Splits an RPC's comment into its description, `Access:` and `Errors:` paragraphs (each such
/// paragraph runs to the next blank line or the next labelled paragraph).
pub fn split_rpc(comment: &str) -> RpcComment<'_> {
    let mut summary = Vec::new();
    let mut access = None;
    let mut errors = None;
    // Byte offsets of each labelled paragraph's text.
    let mut current: Option<(&str, usize)> = None;
    let mut offset = 0;
    let mut close = |label: &str, start: usize, end: usize| {
        let text = comment[start..end].trim();
        match label {
            "Access:" => access = Some(text),
            _ => errors = Some(text),
        }
    };
    for line in comment.split_inclusive('\n') {
        let trimmed = line.trim();
        let label = ["Access:", "Errors:"]
            .into_iter()
            .find(|l| trimmed.starts_with(l));
        if let Some(label) = label {
            if let Some((prev, start)) = current.take() {
                close(prev, start, offset);
            }
            let start = offset + line.find(label).unwrap_or(0) + label.len();
            current = Some((label, start));
        } else if trimmed.is_empty() {
            if let Some((prev, start)) = current.take() {
                close(prev, start, offset);
            }
            summary.push(line.trim_end());
        } else if current.is_none() {
            summary.push(line.trim_end());
        }
        offset += line.len();
    }
    if let Some((prev, start)) = current.take() {
        close(prev, start, comment.len());
    }
    let summary = summary.join("\n");
    RpcComment {
        summary: collapse_blank_lines(summary.trim()),
        access,
        errors,
    }
}

fn collapse_blank_lines(s: &str) -> String {
    let mut out = String::new();
    let mut blank = false;
    for line in s.lines() {
        if line.trim().is_empty() {
            if !blank {
                out.push('\n');
            }
            blank = true;
        } else {
            out.push_str(line);
            out.push('\n');
            blank = false;
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_and_errors_paragraphs_are_taken_out_of_the_description() {
        let c = "Does a thing.\nOn two lines.\n\nAccess: the council.\nErrors: NOT_FOUND no plan;\nABORTED stale etag.";
        let s = split_rpc(c);
        assert_eq!(s.summary, "Does a thing.\nOn two lines.");
        assert_eq!(s.access, Some("the council."));
        assert_eq!(s.errors, Some("NOT_FOUND no plan;\nABORTED stale etag."));
    }

    #[test]
    fn a_comment_without_labels_is_all_description() {
        let s = split_rpc("Lists plans.\n\nNewest first.");
        assert_eq!(s.summary, "Lists plans.\n\nNewest first.");
        assert!(s.access.is_none() && s.errors.is_none());
    }

    #[test]
    fn text_after_a_labelled_paragraph_stays_in_the_description() {
        let s = split_rpc("Reads.\n\nErrors: NOT_FOUND.\n\nMore words.");
        assert_eq!(s.summary, "Reads.\n\nMore words.");
        assert_eq!(s.errors, Some("NOT_FOUND."));
    }
}
