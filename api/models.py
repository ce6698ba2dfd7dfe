"""Every domain's models, imported once so the metadata (and Alembic) sees all tables."""

from api.accounts import models as accounts_models  # noqa: F401
from api.db import Base

metadata = Base.metadata
