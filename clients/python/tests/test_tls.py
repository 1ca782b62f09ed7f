"""The client over TLS: gRPC and Arrow Flight on the same port, verified against the CA."""

import pytest

from almo_exchange import Client, errors


def test_grpc_and_flight_both_speak_tls_with_the_ca(tls_suite):
    suite, ca = tls_suite
    token = suite.token("RSH", "regulator")
    with Client(suite.address, token, ca=ca) as c:
        quartiles = c.pi.benchmark(year=2001, indicator="BVPI 66a", authority_type="district")
        assert quartiles.loc[0, "upper_quartile"] == 98.6
        values = c.pi.returns(year=2001, indicator="BVPI 66a", authority_type="district")
        assert len(values) == quartiles.loc[0, "count"]


def test_a_plaintext_client_cannot_call_a_tls_port(tls_suite):
    suite, _ = tls_suite
    plain = suite.address.replace("https://", "")
    with Client(plain, suite.token("RSH", "regulator"), timeout=5) as c:
        with pytest.raises(errors.Unavailable):
            c.pi.benchmark(year=2001, indicator="BVPI 66a", authority_type="district")
