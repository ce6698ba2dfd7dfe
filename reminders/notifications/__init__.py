"""The notifications outbox: what it holds and how other domains put notices in it.

The outbox (``reminder_deliveries``) holds deliveries of several kinds (``NoticeKind``):
reminders of appointments, planned by ``reminders.service``, reminders of plan steps,
planned by ``reminders.step_reminders``, and help alerts, queued by
``api.mentors.alerts`` through the port ``api.core.notify`` (the domains of ``api/`` never
import ``reminders/``). Here:

- ``queue``: the one way to queue a notice that is not a reminder, who a notice reaches
  now, and the ``Outbox`` that holds each kind's describer, installed on the app;
- ``kinds``, ``reminder_notices``, ``step_notices``, ``help_alerts``: what each kind of
  notice says when the dispatcher sends it;
- ``inbox``: the in-app channel, the mentors' synced table of help alerts.

The sending side (``reminders.outbox``, ``prepare``, ``dispatch``, ``sending``,
``channels``, ``fallback``) claims the rows and owns only its channels.
"""

from __future__ import annotations

from flask import Flask

from api.accounts import rights
from api.core import notify
from api.sync import registry
from reminders.models import NoticeKind
from reminders.notifications import help_alerts, inbox, reminder_notices, step_notices
from reminders.notifications.queue import Outbox


def init_app(app: Flask) -> Outbox:
    """Install the app's outbox with its kinds of notice, and the mentors' in-app inbox."""
    outbox = Outbox(app.config)
    outbox.describe(NoticeKind.REMINDER, reminder_notices.describe_reminders)
    outbox.describe(NoticeKind.HELP_ALERT, help_alerts.describe_help_alerts)
    outbox.describe(NoticeKind.STEP_REMINDER, step_notices.describe_step_reminders)
    notify.install(app, outbox)
    registry.register(app, inbox.table())
    registry.before_stamping(app, inbox.withdrawn)
    rights.add_eraser(app, inbox.forget_erased)
    return outbox
