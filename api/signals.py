"""In-process signals between domains, so one domain reacts to another's change in the
same transaction without reaching into its models."""

from blinker import Namespace

_signals = Namespace()

# Sent by accounts.service.update_profile with db=, changed= (set of field names), now=.
profile_changed = _signals.signal("profile-changed")
