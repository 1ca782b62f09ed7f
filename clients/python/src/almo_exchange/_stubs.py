"""The generated gRPC stubs (built from proto/ by setup.py, never edited)."""

from ._proto.almo.common.v1 import common_pb2 as common_pb  # noqa: F401
from ._proto.almo.delivery_plan.v1 import delivery_plan_pb2 as dp_pb  # noqa: F401
from ._proto.almo.delivery_plan.v1 import delivery_plan_pb2_grpc as dp_grpc  # noqa: F401
from ._proto.almo.directory.v1 import directory_pb2 as directory_pb  # noqa: F401
from ._proto.almo.directory.v1 import directory_pb2_grpc as directory_grpc  # noqa: F401
from ._proto.almo.inspection.v1 import inspection_pb2 as inspection_pb  # noqa: F401
from ._proto.almo.inspection.v1 import inspection_pb2_grpc as inspection_grpc  # noqa: F401
from ._proto.almo.pi_returns.v1 import pi_returns_pb2 as pi_pb  # noqa: F401
from ._proto.almo.pi_returns.v1 import pi_returns_pb2_grpc as pi_grpc  # noqa: F401
from ._proto.almo.sla_charging.v1 import sla_charging_pb2 as sla_pb  # noqa: F401
from ._proto.almo.sla_charging.v1 import sla_charging_pb2_grpc as sla_grpc  # noqa: F401
