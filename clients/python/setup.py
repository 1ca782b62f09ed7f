"""Generates the gRPC stubs from the contracts in ../../proto while the package is built.

The stubs are never checked in nor edited: `pip install ./clients/python` (an in-tree build)
runs grpcio-tools on every `.proto` file under `proto/almo` and writes the modules into the
built package as `almo_exchange._proto.almo.<area>.v1`, their imports rewritten to that place so
they do not claim a top-level `almo` package. `ALMO_PROTO_DIR` names another contracts tree.
"""

import os
import re
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PROTO_DIR = Path(os.environ.get("ALMO_PROTO_DIR", HERE / ".." / ".." / "proto")).resolve()
# Packages that are not part of the integrators' contract.
SKIP = {"bench"}


def protobuf_floor():
    """The protobuf runtime the generated code needs: at least the generator's own version."""
    try:
        import google.protobuf

        major, minor = google.protobuf.__version__.split(".")[:2]
        return f"protobuf>={major}.{minor}"
    except ImportError:
        return "protobuf>=5.27"


def generate(out: Path):
    import grpc_tools
    from grpc_tools import protoc

    if not (PROTO_DIR / "almo").is_dir():
        raise SystemExit(
            f"almo-exchange: no contracts at {PROTO_DIR}; build from the repository "
            "(pip install ./clients/python) or set ALMO_PROTO_DIR"
        )
    files = sorted(
        str(p.relative_to(PROTO_DIR))
        for p in (PROTO_DIR / "almo").rglob("*.proto")
        if p.relative_to(PROTO_DIR / "almo").parts[0] not in SKIP
    )
    out.mkdir(parents=True, exist_ok=True)
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_DIR}",
        f"-I{well_known}",
        f"--python_out={out}",
        f"--pyi_out={out}",
        f"--grpc_python_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("almo-exchange: grpcio-tools could not compile the contracts")
    for path in out.rglob("*.py*"):
        if path.suffix not in (".py", ".pyi"):
            continue
        text = path.read_text()
        text = re.sub(r"^from almo\.", "from almo_exchange._proto.almo.", text, flags=re.M)
        text = re.sub(r"^import almo\.", "import almo_exchange._proto.almo.", text, flags=re.M)
        path.write_text(text)
    for d in [out, *[p for p in out.rglob("*") if p.is_dir()]]:
        (d / "__init__.py").touch()


class BuildWithStubs(build_py):
    def run(self):
        super().run()
        generate(Path(self.build_lib) / "almo_exchange" / "_proto")


setup(
    cmdclass={"build_py": BuildWithStubs},
    install_requires=[
        "grpcio>=1.66",
        "grpcio-status>=1.66",
        "googleapis-common-protos>=1.63",
        protobuf_floor(),
        "pyarrow>=15",
        "pandas>=2.0",
        "matplotlib>=3.7",
    ],
)
