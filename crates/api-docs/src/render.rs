//! The reference as Markdown: an index (how to call, the errors every call can give) and one page
//! per contract file (its service, RPCs, messages and enums).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, FieldDescriptorProto, FileDescriptorProto,
};

use crate::comments::{self as c, Comments, split_rpc};

const COMMAND: &str = "cargo run -p almo-api-docs -- docs/api";

/// Where a type is documented: the page and the anchor on it.
struct Target {
    page: String,
    anchor: String,
}

pub struct Reference<'a> {
    files: Vec<&'a FileDescriptorProto>,
    /// Fully qualified type name (".almo.common.v1.Money") to its place in the reference.
    types: HashMap<String, Target>,
    /// Map-entry message names, rendered as `map<K, V>` and never as messages.
    map_entries: HashMap<String, (String, String)>,
}

/// The page of a contract file: `almo.pi_returns.v1` -> `pi_returns.md`.
fn page_of(file: &FileDescriptorProto) -> String {
    let package = file.package();
    let area = package
        .strip_prefix("almo.")
        .and_then(|p| p.split('.').next())
        .unwrap_or(package);
    format!("{area}.md")
}

/// GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped, spaces to `-`.
pub(crate) fn slug(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|ch| match ch {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Hands out each page's anchors in the order their headings appear, as GitHub numbers repeats.
#[derive(Default)]
struct Anchors(HashSet<String>);

impl Anchors {
    fn take(&mut self, heading: &str) -> String {
        let base = slug(heading);
        let mut anchor = base.clone();
        let mut n = 0;
        while !self.0.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        anchor
    }
}

/// Every message and enum of a file with its dotted name inside the package and its
/// source-info path, in the order the page lists them (messages, nested ones after their parent,
/// then enums).
struct Decls<'f> {
    messages: Vec<(String, &'f DescriptorProto, Vec<i32>)>,
    enums: Vec<(String, &'f EnumDescriptorProto, Vec<i32>)>,
}

fn decls(file: &FileDescriptorProto) -> Decls<'_> {
    fn walk<'f>(prefix: &str, m: &'f DescriptorProto, path: Vec<i32>, out: &mut Decls<'f>) {
        let name = format!("{prefix}{}", m.name());
        for (i, e) in m.enum_type.iter().enumerate() {
            let mut p = path.clone();
            p.extend([c::MESSAGE_ENUM, i as i32]);
            out.enums.push((format!("{name}.{}", e.name()), e, p));
        }
        let nested: Vec<_> = m.nested_type.iter().enumerate().collect();
        out.messages.push((name.clone(), m, path.clone()));
        for (i, n) in nested {
            let mut p = path.clone();
            p.extend([c::MESSAGE_NESTED, i as i32]);
            walk(&format!("{name}."), n, p, out);
        }
    }
    let mut out = Decls {
        messages: Vec::new(),
        enums: Vec::new(),
    };
    for (i, m) in file.message_type.iter().enumerate() {
        walk("", m, vec![c::FILE_MESSAGE, i as i32], &mut out);
    }
    let nested_enums = std::mem::take(&mut out.enums);
    for (i, e) in file.enum_type.iter().enumerate() {
        out.enums
            .push((e.name().to_string(), e, vec![c::FILE_ENUM, i as i32]));
    }
    out.enums.extend(nested_enums);
    out
}

fn is_map_entry(m: &DescriptorProto) -> bool {
    m.options
        .as_ref()
        .and_then(|o| o.map_entry)
        .unwrap_or(false)
}

/// A comment fit for one table cell: one line, pipes escaped, paragraphs kept apart.
fn cell(text: &str) -> String {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("<br><br>")
        .replace('|', "\\|")
}

/// The first sentence of a comment, for a summary table.
fn first_sentence(text: &str) -> String {
    let one = text.split("\n\n").next().unwrap_or("");
    let one = one.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = one
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .next()
        .unwrap_or(one.len());
    one[..end].replace('|', "\\|")
}

impl<'a> Reference<'a> {
    pub fn new(files: &[&'a FileDescriptorProto]) -> Self {
        let mut files = files.to_vec();
        files.sort_by_key(|f| f.name().to_string());
        let mut types = HashMap::new();
        let mut map_entries = HashMap::new();
        for file in &files {
            let page = page_of(file);
            let mut anchors = Anchors::default();
            for s in &file.service {
                anchors.take(s.name());
                for m in &s.method {
                    anchors.take(m.name());
                }
            }
            let d = decls(file);
            for (name, m, _) in &d.messages {
                let full = format!(".{}.{name}", file.package());
                if is_map_entry(m) {
                    let key = m.field.iter().find(|f| f.number() == 1);
                    let value = m.field.iter().find(|f| f.number() == 2);
                    if let (Some(k), Some(v)) = (key, value) {
                        map_entries.insert(full, (type_name(k), type_name(v)));
                    }
                    continue;
                }
                let anchor = anchors.take(name);
                types.insert(
                    full,
                    Target {
                        page: page.clone(),
                        anchor,
                    },
                );
            }
            for (name, _, _) in &d.enums {
                let full = format!(".{}.{name}", file.package());
                let anchor = anchors.take(name);
                types.insert(
                    full,
                    Target {
                        page: page.clone(),
                        anchor,
                    },
                );
            }
        }
        Self {
            files,
            types,
            map_entries,
        }
    }

    /// RPCs whose comment lacks an `Access:` or an `Errors:` paragraph.
    pub fn undocumented_rpcs(&self) -> Vec<String> {
        let mut out = Vec::new();
        for file in &self.files {
            let comments = Comments::of(file);
            for (si, s) in file.service.iter().enumerate() {
                for (mi, m) in s.method.iter().enumerate() {
                    let text =
                        comments.at(&[c::FILE_SERVICE, si as i32, c::SERVICE_METHOD, mi as i32]);
                    let rpc = split_rpc(text);
                    let mut lacks = Vec::new();
                    if rpc.access.is_none() {
                        lacks.push("Access:");
                    }
                    if rpc.errors.is_none() {
                        lacks.push("Errors:");
                    }
                    if !lacks.is_empty() {
                        out.push(format!(
                            "{}.{}/{} ({}): its comment has no {} paragraph",
                            file.package(),
                            s.name(),
                            m.name(),
                            file.name(),
                            lacks.join(" or ")
                        ));
                    }
                }
            }
        }
        out
    }

    /// Every page by file name: the index and one per contract file.
    pub fn pages(&self) -> BTreeMap<String, String> {
        let mut pages = BTreeMap::new();
        pages.insert("README.md".to_string(), self.index());
        for file in &self.files {
            pages.insert(page_of(file), self.page(file, &page_of(file)));
        }
        pages
    }

    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let pages = self.pages();
        // A page for a contract that is gone must not linger.
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".md") && !pages.contains_key(name) {
                std::fs::remove_file(&path)?;
            }
        }
        for (name, text) in pages {
            std::fs::write(dir.join(name), text)?;
        }
        Ok(())
    }

    /// A field's type as a link to where it is documented, `map<K, V>` for a map.
    fn field_type(&self, page: &str, f: &FieldDescriptorProto) -> String {
        if let Some((k, v)) = self.map_entries.get(f.type_name()) {
            return format!("map<{k}, {}>", self.link_name(page, v));
        }
        let base = self.link_name(page, &type_name(f));
        if f.label() == Label::Repeated {
            format!("repeated {base}")
        } else if f.proto3_optional() {
            format!("optional {base}")
        } else {
            base
        }
    }

    /// `name` (a scalar or a fully qualified type) as Markdown, linked when it is documented.
    fn link_name(&self, page: &str, name: &str) -> String {
        if let Some(t) = self.types.get(name) {
            let short = name.rsplit('.').next().unwrap_or(name);
            let href = if t.page == page {
                format!("#{}", t.anchor)
            } else {
                format!("{}#{}", t.page, t.anchor)
            };
            return format!("[`{short}`]({href})");
        }
        if let Some(wkt) = name.strip_prefix(".google.protobuf.") {
            return format!(
                "[`google.protobuf.{wkt}`](https://protobuf.dev/reference/protobuf/google.protobuf/#{})",
                wkt.to_lowercase()
            );
        }
        format!("`{}`", name.trim_start_matches('.'))
    }

    fn index(&self) -> String {
        let mut o = String::new();
        o.push_str(INDEX_HEAD);
        o.push_str("\n| service | page | RPCs | what it is |\n|---|---|---|---|\n");
        for file in &self.files {
            let comments = Comments::of(file);
            let page = page_of(file);
            for (si, s) in file.service.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "| `{}.{}` | [{page}]({page}) | {} | {} |",
                    file.package(),
                    s.name(),
                    s.method.len(),
                    first_sentence(comments.at(&[c::FILE_SERVICE, si as i32]))
                );
            }
            if file.service.is_empty() {
                let _ = writeln!(
                    o,
                    "| (shared types of `{}`) | [{page}]({page}) | | messages and enums every service uses |",
                    file.package()
                );
            }
        }
        o.push_str(INDEX_TAIL);
        o
    }

    fn page(&self, file: &FileDescriptorProto, page: &str) -> String {
        let comments = Comments::of(file);
        let mut o = String::new();
        let title = file
            .service
            .first()
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| "Shared types".to_string());
        let _ = writeln!(o, "# {title} (`{}`)\n", file.package());
        let _ = writeln!(
            o,
            "<!-- Generated from proto/{} by `{COMMAND}`. Do not edit: change the .proto comments. -->\n",
            file.name()
        );
        let _ = writeln!(
            o,
            "Contract: [`proto/{0}`](../../proto/{0}). [All services](README.md); errors every call can give: [Errors](README.md#errors-every-call-can-give).\n",
            file.name()
        );
        for (si, s) in file.service.iter().enumerate() {
            if file.service.len() > 1 {
                let _ = writeln!(o, "## {}\n", s.name());
            }
            let text = comments.at(&[c::FILE_SERVICE, si as i32]);
            if !text.is_empty() {
                let _ = writeln!(o, "{text}\n");
            }
            let _ = writeln!(
                o,
                "gRPC path: `/{}.{}/<RPC>`.\n\n| RPC | request | response | what it does |\n|---|---|---|---|",
                file.package(),
                s.name()
            );
            for (mi, m) in s.method.iter().enumerate() {
                let text = comments.at(&[c::FILE_SERVICE, si as i32, c::SERVICE_METHOD, mi as i32]);
                let _ = writeln!(
                    o,
                    "| [{0}](#{1}) | {2}{3} | {4}{5} | {6} |",
                    m.name(),
                    slug(m.name()),
                    if m.client_streaming() { "stream " } else { "" },
                    self.link_name(page, m.input_type()),
                    if m.server_streaming() { "stream " } else { "" },
                    self.link_name(page, m.output_type()),
                    first_sentence(&split_rpc(text).summary)
                );
            }
            o.push('\n');
            for (mi, m) in s.method.iter().enumerate() {
                let text = comments.at(&[c::FILE_SERVICE, si as i32, c::SERVICE_METHOD, mi as i32]);
                let rpc = split_rpc(text);
                let short = |t: &str| t.rsplit('.').next().unwrap_or(t).to_string();
                let _ = writeln!(o, "### {}\n", m.name());
                let _ = writeln!(
                    o,
                    "```proto\nrpc {}({}{}) returns ({}{});\n```\n",
                    m.name(),
                    if m.client_streaming() { "stream " } else { "" },
                    short(m.input_type()),
                    if m.server_streaming() { "stream " } else { "" },
                    short(m.output_type())
                );
                if !rpc.summary.is_empty() {
                    let _ = writeln!(o, "{}\n", rpc.summary);
                }
                let _ = writeln!(
                    o,
                    "Request: {}{}. Response: {}{}.\n",
                    if m.client_streaming() {
                        "a stream of "
                    } else {
                        ""
                    },
                    self.link_name(page, m.input_type()),
                    if m.server_streaming() {
                        "a stream of "
                    } else {
                        ""
                    },
                    self.link_name(page, m.output_type())
                );
                let _ = writeln!(
                    o,
                    "**Access:** {}\n",
                    rpc.access.unwrap_or("as the service's access rule above.")
                );
                let _ = writeln!(
                    o,
                    "**Errors:** {}\n",
                    match rpc.errors {
                        Some(e) => format!("{e} And [the errors every call can give](README.md#errors-every-call-can-give)."),
                        None => "[the errors every call can give](README.md#errors-every-call-can-give).".to_string(),
                    }
                );
            }
        }
        let d = decls(file);
        let messages: Vec<_> = d
            .messages
            .iter()
            .filter(|(_, m, _)| !is_map_entry(m))
            .collect();
        if !messages.is_empty() {
            o.push_str("## Messages\n\n");
        }
        for (name, m, path) in messages {
            let _ = writeln!(o, "### {name}\n");
            let text = comments.at(path);
            if !text.is_empty() {
                let _ = writeln!(o, "{text}\n");
            }
            if m.field.is_empty() {
                o.push_str("No fields.\n\n");
                continue;
            }
            o.push_str("| field | type | number | description |\n|---|---|---|---|\n");
            for (fi, f) in m.field.iter().enumerate() {
                let mut fp = path.clone();
                fp.extend([c::MESSAGE_FIELD, fi as i32]);
                let mut desc = cell(comments.at(&fp));
                if let Some(oi) = f.oneof_index.filter(|_| !f.proto3_optional()) {
                    let oneof = m
                        .oneof_decl
                        .get(oi as usize)
                        .map(|x| x.name())
                        .unwrap_or("");
                    desc = format!("In oneof `{oneof}`. {desc}").trim_end().to_string();
                }
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} | {} |",
                    f.name(),
                    self.field_type(page, f).replace('|', "\\|"),
                    f.number(),
                    desc
                );
            }
            o.push('\n');
        }
        if !d.enums.is_empty() {
            o.push_str("## Enums\n\n");
        }
        for (name, e, path) in &d.enums {
            let _ = writeln!(o, "### {name}\n");
            let text = comments.at(path);
            if !text.is_empty() {
                let _ = writeln!(o, "{text}\n");
            }
            o.push_str("| value | number | description |\n|---|---|---|\n");
            for (vi, v) in e.value.iter().enumerate() {
                let mut vp = path.clone();
                vp.extend([c::ENUM_VALUE, vi as i32]);
                let _ = writeln!(
                    o,
                    "| `{}` | {} | {} |",
                    v.name(),
                    v.number(),
                    cell(comments.at(&vp))
                );
            }
            o.push('\n');
        }
        let mut o = o.trim_end().to_string();
        o.push('\n');
        o
    }
}

/// A field's type as written in the contract: a scalar's name, or the fully qualified name.
fn type_name(f: &FieldDescriptorProto) -> String {
    match f.r#type() {
        Type::Message | Type::Enum | Type::Group => f.type_name().to_string(),
        Type::Double => "double".into(),
        Type::Float => "float".into(),
        Type::Int64 => "int64".into(),
        Type::Uint64 => "uint64".into(),
        Type::Int32 => "int32".into(),
        Type::Fixed64 => "fixed64".into(),
        Type::Fixed32 => "fixed32".into(),
        Type::Bool => "bool".into(),
        Type::String => "string".into(),
        Type::Bytes => "bytes".into(),
        Type::Uint32 => "uint32".into(),
        Type::Sfixed32 => "sfixed32".into(),
        Type::Sfixed64 => "sfixed64".into(),
        Type::Sint32 => "sint32".into(),
        Type::Sint64 => "sint64".into(),
    }
}

const INDEX_HEAD: &str = "# almo-exchange API reference

<!-- Generated from proto/ by `cargo run -p almo-api-docs -- docs/api`. Do not edit: change the .proto comments. CI checks it is current. -->

For the council and ledger vendors who write the systems that call the suite. The contracts in
[`proto/`](../../proto) are the source of truth; this reference is generated from them and their
comments, and CI fails when it is out of date.

## Calling the suite

- **Transport**: gRPC over HTTP/2, every service on one port (`almo up`: 50051) or one port per
  service container; TLS when the server is configured with a certificate. Server reflection is on,
  so `grpcurl` lists and describes every call.
- **Authentication**: a JWT bearer token in the `authorization` metadata
  (`authorization: Bearer <token>`) on every call. The token names the caller's organisation and
  role; what a call may see or change follows from them (each RPC's **Access** below, and
  DOMAIN.md's \"Who may see what\").
- **Conventions** ([`almo.common.v1`](common.md)): dates are ISO-8601 strings in fields ending
  `_date`; instants are `google.protobuf.Timestamp`; money is integer pence; a financial year is
  its start year (2003 is 2003/04). Lists page with `page_size`/`page_token`/`next_page_token`
  (AIP-158). Every write carries a `request_id` (AIP-155): a retry with the same id and payload
  replays the first answer. Mutable resources carry an `etag` (AIP-154): a stale one is `ABORTED`.
- **Bulk reads** go over Arrow Flight on the same port, with the same TLS and token (the
  README's [Bulk data](../../README.md#bulk-data-arrow-flight-and-parquet) lists the datasets); the
  Python client
  ([`clients/python`](../../clients/python/README.md)) wraps both.

## Services
";

const INDEX_TAIL: &str = "
## Errors every call can give

Every error a service raises carries a `google.rpc.ErrorInfo` (domain `almo-exchange`) with a
stable `reason`;
every `INVALID_ARGUMENT` also carries a `google.rpc.BadRequest` listing each bad field and why (at
most 10, and one more saying how many were left out). Both travel in the `grpc-status-details-bin`
trailer as a `google.rpc.Status`. Each RPC's own errors are listed with it.

| code | reason | when |
|---|---|---|
| `UNAUTHENTICATED` | `TOKEN_MISSING` | no `authorization: Bearer <token>` metadata: refused by the token check before any service |
| `UNAUTHENTICATED` | `TOKEN_MALFORMED` | the metadata is not `Bearer <token>`, the token is over 8 KiB, or it is not a JWT |
| `UNAUTHENTICATED` | `TOKEN_EXPIRED` | the token has expired: get a new one |
| `UNAUTHENTICATED` | `TOKEN_INVALID` | the token does not verify: signature, key, algorithm, issuer, audience, claims, or not valid yet |
| `UNAUTHENTICATED` | `UNAUTHENTICATED` | a valid token whose organisation is not in the directory |
| `INVALID_ARGUMENT` | `INVALID_FIELD` | a field is malformed or out of its limits (BadRequest names each) |
| `INVALID_ARGUMENT` | `MALFORMED_MESSAGE` | the bytes are not the request's protobuf message |
| `INVALID_ARGUMENT` | `REQUEST_ID_REUSED` | a write's `request_id` was used before with another payload |
| `PERMISSION_DENIED` | `NOT_ALLOWED` | the caller's organisation or role may not make this call on this data |
| `OUT_OF_RANGE` | | the request is larger than the server's limit (4 MiB by default) |
| `RESOURCE_EXHAUSTED` | `OVERLOADED` | too many calls or streams in flight (refused at once, never queued): retry with backoff |
| `DEADLINE_EXCEEDED` | | the call ran past the server's time limit (60 s by default); a watch resumes from its cursor |
| `UNAVAILABLE` | `UNAVAILABLE` | the database is unavailable or the server is shutting down: retry |
| `INTERNAL` | `INTERNAL` | a fault on the server, logged there; the message says nothing more |
";
