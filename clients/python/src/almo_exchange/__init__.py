"""almo-exchange for Python: PI returns, invoices and variances as pandas DataFrames (over gRPC
and Arrow Flight), quartile plots, and typed errors carrying the server's reasons."""

from . import errors
from .client import Client, financial_year
from .errors import AlmoError, FieldViolation

__all__ = ["AlmoError", "Client", "FieldViolation", "errors", "financial_year"]
