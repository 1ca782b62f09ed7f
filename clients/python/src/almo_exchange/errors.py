"""Typed errors: one class per gRPC status code, each carrying the server's reason
(`google.rpc.ErrorInfo`, domain `almo-exchange`) and, for INVALID_ARGUMENT, every bad field
(`google.rpc.BadRequest`), decoded from the `grpc-status-details-bin` trailer."""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request and why."""

    field: str
    description: str


class AlmoError(Exception):
    """A call the server (or the transport) refused.

    `code` is the gRPC status code name (`"INVALID_ARGUMENT"`), `reason` the stable reason of the
    server's ErrorInfo (`"STALE_ETAG"`, `"NO_SIGNED_OFF_VALUES"`, ...) or None, `metadata` the
    ErrorInfo's metadata, `field_violations` the BadRequest's fields.
    """

    code = "UNKNOWN"

    def __init__(
        self,
        message: str,
        reason: str | None = None,
        domain: str | None = None,
        metadata: dict[str, str] | None = None,
        field_violations: list[FieldViolation] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.field_violations = list(field_violations or [])

    def __str__(self) -> str:
        head = f"{self.code}"
        if self.reason:
            head += f" ({self.reason})"
        return f"{head}: {self.message}"


class InvalidArgument(AlmoError):
    code = "INVALID_ARGUMENT"


class NotFound(AlmoError):
    code = "NOT_FOUND"


class AlreadyExists(AlmoError):
    code = "ALREADY_EXISTS"


class PermissionDenied(AlmoError):
    code = "PERMISSION_DENIED"


class Unauthenticated(AlmoError):
    code = "UNAUTHENTICATED"


class FailedPrecondition(AlmoError):
    code = "FAILED_PRECONDITION"


class Aborted(AlmoError):
    code = "ABORTED"


class OutOfRange(AlmoError):
    code = "OUT_OF_RANGE"


class ResourceExhausted(AlmoError):
    code = "RESOURCE_EXHAUSTED"


class DeadlineExceeded(AlmoError):
    code = "DEADLINE_EXCEEDED"


class Unavailable(AlmoError):
    code = "UNAVAILABLE"


class Internal(AlmoError):
    code = "INTERNAL"


class Unimplemented(AlmoError):
    code = "UNIMPLEMENTED"


class Cancelled(AlmoError):
    code = "CANCELLED"


_BY_CODE = {
    cls.code: cls
    for cls in (
        InvalidArgument,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        Unauthenticated,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        ResourceExhausted,
        DeadlineExceeded,
        Unavailable,
        Internal,
        Unimplemented,
        Cancelled,
    )
}


def error_class(code_name: str) -> type[AlmoError]:
    """The error class of a gRPC status code name; AlmoError for the others."""
    return _BY_CODE.get(code_name, AlmoError)


def from_rpc_error(e: grpc.RpcError) -> AlmoError:
    """The typed error of a failed gRPC call, with the details the server sent."""
    code = e.code() if hasattr(e, "code") else grpc.StatusCode.UNKNOWN
    message = e.details() if hasattr(e, "details") else str(e)
    reason = domain = None
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    status = None
    try:
        status = rpc_status.from_call(e)
    except ValueError:
        # The trailer's code or message disagrees with the call's: keep the call's.
        status = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations.extend(
                    FieldViolation(v.field, v.description) for v in bad.field_violations
                )
    cls = error_class(code.name if code is not None else "UNKNOWN")
    return cls(
        message or "",
        reason=reason,
        domain=domain,
        metadata=metadata,
        field_violations=violations,
    )


_FLIGHT_CONTEXT = re.compile(r"gRPC client debug context: ([A-Z_]+):(.*?)\. Client context:", re.S)


def from_flight_error(e: Exception) -> AlmoError:
    """The typed error of a failed Arrow Flight call. pyarrow passes on the gRPC code and message
    (not the status details), so for INVALID_ARGUMENT the field violations are read back from
    the message, which the server writes as `field: why; field: why`."""
    text = str(e)
    m = _FLIGHT_CONTEXT.search(text)
    if m:
        code, message = m.group(1), m.group(2).strip()
    else:
        code, message = _flight_code(e), text
    violations = []
    if code == "INVALID_ARGUMENT":
        for part in message.split("; "):
            field, sep, why = part.partition(": ")
            if sep and field and " " not in field:
                violations.append(FieldViolation(field, why))
    return error_class(code)(message, field_violations=violations)


def _flight_code(e: Exception) -> str:
    from pyarrow import flight

    kinds = [
        (flight.FlightUnauthenticatedError, "UNAUTHENTICATED"),
        (flight.FlightUnauthorizedError, "PERMISSION_DENIED"),
        (flight.FlightTimedOutError, "DEADLINE_EXCEEDED"),
        (flight.FlightUnavailableError, "UNAVAILABLE"),
        (flight.FlightCancelledError, "CANCELLED"),
        (flight.FlightInternalError, "INTERNAL"),
        (KeyError, "NOT_FOUND"),
        (ValueError, "INVALID_ARGUMENT"),
        (NotImplementedError, "UNIMPLEMENTED"),
    ]
    for kind, code in kinds:
        if isinstance(e, kind):
            return code
    return "UNKNOWN"
