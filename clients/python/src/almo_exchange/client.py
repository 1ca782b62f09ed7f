"""The connection: one gRPC channel and one Arrow Flight client to the same address, both
carrying the bearer token, with TLS when asked for."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import grpc

from . import _stubs
from .errors import from_flight_error, from_rpc_error

DEFAULT_TIMEOUT = 60.0


def financial_year(year) -> str:
    """`2024`, `"2024"` or `"2024/25"` as the suite writes a financial year: `"2024/25"`."""
    text = str(year).strip()
    start = text.split("/")[0]
    if len(start) != 4 or not start.isdigit():
        raise ValueError(f"{year!r} is not a financial year such as 2024/25")
    first = int(start)
    return f"{first}/{(first + 1) % 100:02d}"


def start_year(year) -> int:
    """The start year of a financial year given as 2024 or "2024/25"."""
    return int(financial_year(year)[:4])


class Client:
    """A client of almo-exchange.

    `address` is `host:port`, or `http://host:port` / `https://host:port`; `token` a bearer token
    (see `almo token`). TLS is used with an `https://` address, with `tls=True`, or when `ca` (the
    PEM of the certificate authority, as bytes or a path) is given; `server_name` overrides the
    name the certificate must carry.

    `client.pi`, `client.invoices` and `client.variances` hold the analyst's calls;
    `client.stubs` the raw gRPC stubs (with `client.call(stub.Method, request)` to call one with
    the token and typed errors); `client.read_flight(dataset, **filters)` reads any Flight dataset
    as a `pyarrow.Table`.
    """

    def __init__(
        self,
        address: str,
        token: str,
        tls: bool | None = None,
        ca: bytes | str | Path | None = None,
        server_name: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ):
        host = address.strip()
        scheme_tls = None
        for scheme, is_tls in (("https://", True), ("http://", False)):
            if host.startswith(scheme):
                host, scheme_tls = host[len(scheme) :], is_tls
        host = host.rstrip("/")
        use_tls = tls if tls is not None else (scheme_tls or ca is not None)
        if isinstance(token, bytes):
            token = token.decode()
        self.address = host
        self.timeout = timeout
        self._token = token.strip()
        self._metadata = (("authorization", f"Bearer {self._token}"),)
        root = _read_pem(ca)
        options = []
        if server_name:
            options.append(("grpc.ssl_target_name_override", server_name))
        if use_tls:
            creds = grpc.ssl_channel_credentials(root_certificates=root)
            self._channel = grpc.secure_channel(host, creds, options=options)
        else:
            self._channel = grpc.insecure_channel(host, options=options)
        self._tls, self._root, self._server_name = use_tls, root, server_name
        self._flight = None
        self.stubs = SimpleNamespace(
            directory=_stubs.directory_grpc.DirectoryServiceStub(self._channel),
            pi_returns=_stubs.pi_grpc.PiReturnsServiceStub(self._channel),
            sla_charging=_stubs.sla_grpc.SlaChargingServiceStub(self._channel),
            delivery_plan=_stubs.dp_grpc.DeliveryPlanServiceStub(self._channel),
            inspection=_stubs.inspection_grpc.InspectionSchedulingServiceStub(self._channel),
        )
        from .invoices import Invoices
        from .pi import Pi
        from .variances import Variances

        self.pi = Pi(self)
        self.invoices = Invoices(self)
        self.variances = Variances(self)

    def call(self, method, request, timeout: float | None = None):
        """Calls a unary RPC with the token; a refusal raises its `AlmoError` subclass."""
        try:
            return method(request, metadata=self._metadata, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def call_stream(self, method, requests, timeout: float | None = None):
        """Calls a client-streaming RPC with the token (an iterator of requests)."""
        try:
            return method(iter(requests), metadata=self._metadata, timeout=timeout or self.timeout)
        except grpc.RpcError as e:
            raise from_rpc_error(e) from None

    def _flight_client(self):
        from pyarrow import flight

        if self._flight is None:
            scheme = "grpc+tls" if self._tls else "grpc+tcp"
            kwargs = {}
            if self._tls and self._root:
                kwargs["tls_root_certs"] = self._root
            if self._server_name:
                kwargs["override_hostname"] = self._server_name
            self._flight = flight.FlightClient(f"{scheme}://{self.address}", **kwargs)
        return self._flight

    def _flight_options(self):
        from pyarrow import flight

        return flight.FlightCallOptions(
            headers=[(b"authorization", b"Bearer " + self._token.encode())],
            timeout=self.timeout,
        )

    def read_flight(self, dataset: str, **filters):
        """Reads a Flight dataset as a `pyarrow.Table`; filters travel in the JSON ticket
        (None values are left out, every value is sent as a string)."""
        from pyarrow import flight

        ticket = {"dataset": dataset}
        ticket.update({k: str(v) for k, v in filters.items() if v is not None and v != ""})
        try:
            reader = self._flight_client().do_get(
                flight.Ticket(json.dumps(ticket).encode()), self._flight_options()
            )
            return reader.read_all()
        except flight.FlightError as e:
            raise from_flight_error(e) from None
        except Exception as e:  # pyarrow raises ArrowInvalid, KeyError, ... for other codes
            if type(e).__module__.startswith("pyarrow"):
                raise from_flight_error(e) from None
            raise

    def list_flights(self) -> list[str]:
        """The Flight datasets the caller may read."""
        from pyarrow import flight

        try:
            return [
                info.descriptor.command.decode() if info.descriptor.command else
                "/".join(p.decode() if isinstance(p, bytes) else p for p in info.descriptor.path)
                for info in self._flight_client().list_flights(options=self._flight_options())
            ]
        except flight.FlightError as e:
            raise from_flight_error(e) from None

    def close(self):
        self._channel.close()
        if self._flight is not None:
            self._flight.close()
            self._flight = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_pem(ca) -> bytes | None:
    if ca is None:
        return None
    if isinstance(ca, bytes):
        return ca
    text = str(ca)
    if "-----BEGIN" in text:
        return text.encode()
    return Path(text).read_bytes()
