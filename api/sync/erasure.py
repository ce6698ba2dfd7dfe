"""What sync keeps of an erased account: only what the other side's phones must be told.

The cascade that erased the rows left tombstones (triggers). Those addressed to the
erased account are useless (its phones can no longer sign in) and are dropped. Those
addressed to others stay, with their record ids, so each phone that held one of the
erased records (a mentor: the grant and the shared check-ins; a member: the grant of an
erased mentor) drops it whatever sync strategy it honours. The ids are random and name
no one once the rows are gone; they are purged with every tombstone after the horizon.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from api.accounts.models import Account
from api.sync.models import Tombstone


def forget_erased(db: Session, account: Account) -> None:
    db.execute(delete(Tombstone).where(Tombstone.account_id == account.id))
