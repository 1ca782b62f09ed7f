//! The codec every generated client and server uses: prost's, except that a message that
//! cannot be decoded is the sender's fault — `INVALID_ARGUMENT` with the field where prost names
//! it and the reason `MALFORMED_MESSAGE` — where prost's codec says `INTERNAL`.

use std::marker::PhantomData;

use prost::bytes::Buf;
use prost::{Message, Name};

use crate::limits;
use tonic::Status;
use tonic::codec::{BufferSettings, DecodeBuf};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};
use tonic_types::{ErrorDetails, StatusExt};

/// prost's codec with decoding failures reported as the client's fault.
#[derive(Debug, Clone)]
pub struct Codec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Self {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = Decoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        Decoder {
            inner: self.inner.decoder(),
            _pd: PhantomData,
        }
    }
}

/// Decodes with prost; a failure becomes [`malformed`].
#[derive(Debug, Clone)]
pub struct Decoder<U> {
    inner: ProstDecoder<U>,
    _pd: PhantomData<U>,
}

impl<U: Message + Name + Default> tonic::codec::Decoder for Decoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        // Requests (a server reading what a client sent) are held to the input contract; a
        // client reading a response is not.
        if U::NAME.ends_with("Request") && U::PACKAGE.starts_with("almo.") {
            let full = format!("{}.{}", U::PACKAGE, U::NAME);
            let (violations, more) = if buf.chunk().len() >= buf.remaining() {
                limits::check(&full, &buf.chunk()[..buf.remaining()])
            } else {
                limits::check(&full, &buf.copy_to_bytes(buf.remaining()))
            };
            if !violations.is_empty() {
                return Err(over_limits(violations, more));
            }
        }
        self.inner.decode(buf).map_err(|s| malformed(s.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// The refusal of a request over the input contract's limits: every violation (as many as
/// reported) by its field path.
fn over_limits(violations: Vec<(String, String)>, more: usize) -> Status {
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "INVALID_FIELD",
        "almo-exchange",
        std::collections::HashMap::<String, String>::new(),
    );
    let mut message: Vec<String> = Vec::new();
    for (field, reason) in &violations {
        if message.len() < 3 {
            message.push(format!("{field}: {reason}"));
        }
        details.add_bad_request_violation(field.clone(), reason.clone());
    }
    if more > 0 {
        details.add_bad_request_violation(
            "request",
            format!("{more} more violations not listed; correct these and send again"),
        );
    }
    let shown = violations.len() + more;
    if shown > message.len() {
        message.push(format!("and {} more", shown - message.len()));
    }
    Status::with_error_details(tonic::Code::InvalidArgument, message.join("; "), details)
}

/// The status for bytes that are not the protobuf message expected. `prost_error` is prost's
/// text, e.g. `failed to decode Protobuf message: CreatePlanRequest.title: invalid string
/// value: data is not UTF-8 encoded`; the field it names (`title`) goes into `BadRequest`.
pub fn malformed(prost_error: &str) -> Status {
    let detail = prost_error
        .strip_prefix("failed to decode Protobuf message: ")
        .unwrap_or(prost_error);
    // prost puts the path of messages and fields first: `Outer.field: Inner.field: reason`.
    let mut path = Vec::new();
    let mut rest = detail;
    while let Some((head, tail)) = rest.split_once(": ") {
        match head.split_once('.') {
            Some((_message, field))
                if !field.is_empty()
                    && field
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                path.push(field.to_string());
                rest = tail;
            }
            _ => break,
        }
    }
    let mut reason: String = rest.chars().take(160).collect();
    if reason.is_empty() {
        reason = "not a valid protobuf message".into();
    }
    let field = if path.is_empty() {
        "request".to_string()
    } else {
        path.join(".")
    };
    let mut details = ErrorDetails::new();
    details.set_error_info(
        "MALFORMED_MESSAGE",
        "almo-exchange",
        std::collections::HashMap::<String, String>::new(),
    );
    details.add_bad_request_violation(field.clone(), reason.clone());
    Status::with_error_details(
        tonic::Code::InvalidArgument,
        format!("the message is not valid protobuf for this call ({field}: {reason})"),
        details,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undecodable_messages_name_the_field_prost_names() {
        let s = malformed(
            "failed to decode Protobuf message: CreatePlanRequest.title: invalid string value: data is not UTF-8 encoded",
        );
        assert_eq!(s.code(), tonic::Code::InvalidArgument);
        let d = s.get_error_details();
        let v = &d.bad_request().unwrap().field_violations[0];
        assert_eq!(v.field, "title");
        assert_eq!(
            v.description,
            "invalid string value: data is not UTF-8 encoded"
        );
        assert_eq!(d.error_info().unwrap().reason, "MALFORMED_MESSAGE");
        let nested = malformed(
            "failed to decode Protobuf message: Target.milestones: Milestone.value: invalid wire type: Varint (expected LengthDelimited)",
        );
        let nd = nested.get_error_details();
        let nv = &nd.bad_request().unwrap().field_violations[0];
        assert_eq!(nv.field, "milestones.value");
        let bare = malformed("failed to decode Protobuf message: buffer underflow");
        let bd = bare.get_error_details();
        let bv = &bd.bad_request().unwrap().field_violations[0];
        assert_eq!(bv.field, "request");
        assert_eq!(bv.description, "buffer underflow");
    }
}
