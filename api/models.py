"""Every domain's models, imported once so the metadata (and Alembic) sees all tables."""

from api.accounts import models as accounts_models  # noqa: F401
from api.checkins import models as checkins_models  # noqa: F401
from api.core.crypto import models as crypto_models  # noqa: F401
from api.core.db import Base
from api.mentors import models as mentors_models  # noqa: F401
from api.plans import models as plans_models  # noqa: F401
from api.sync import models as sync_models  # noqa: F401
from reminders import models as reminders_models  # noqa: F401
from resources import models as resources_models  # noqa: F401
from resources.editors import models as editors_models  # noqa: F401
from resources.jobs import models as jobs_models  # noqa: F401
from resources.reports import models as reports_models  # noqa: F401
from resources.saved import models as saved_models  # noqa: F401
from resources.search import models as search_models  # noqa: F401

metadata = Base.metadata
