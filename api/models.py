"""Every domain's models, imported once so the metadata (and Alembic) sees all tables."""

from api.accounts import models as accounts_models  # noqa: F401
from api.db import Base
from reminders import models as reminders_models  # noqa: F401

metadata = Base.metadata
