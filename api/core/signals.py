"""In-process signals between domains, so one domain reacts to another's change in the
same transaction without reaching into its models."""

from blinker import Namespace

_signals = Namespace()

# Sent by accounts.service.update_profile with db=, changed= (set of field names), now=.
profile_changed = _signals.signal("profile-changed")

# Sent by sync.area.put/delete with db=, before= and after= (an Area or None): the
# listings that left the member's area must leave the phone.
area_changed = _signals.signal("area-changed")

# Sent by api.plans.service when steps are made or changed (or their goal's status is),
# with db=, steps= (the PlanStep rows), now=; the sender is the member's Account. The
# reminders domain re-plans the steps' reminders in the same transaction.
plan_steps_changed = _signals.signal("plan-steps-changed")
