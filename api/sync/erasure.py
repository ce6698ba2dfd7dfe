"""What sync keeps of an erased member: nothing that names them or their records.

The cascade that erased the rows left tombstones (triggers). Those addressed to the
erased account are useless (its phones can no longer sign in) and are dropped. When a
member is erased, those addressed to their mentors (the grant) keep their signal,
"something you held is gone", which makes the mentor's next pull a replacement sync, but
lose the record id, which was the member's. When a mentor is erased, the member is told
the grant's id: the grant is part of the member's own record.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.accounts.models import Account, Role
from api.data_rights import after_erase
from api.db import new_id
from api.sync.models import Tombstone


@after_erase
def forget_erased(db: Session, account: Account) -> None:
    db.execute(delete(Tombstone).where(Tombstone.account_id == account.id))
    if account.role != Role.MEMBER:
        return
    pending = list(
        db.scalars(
            select(Tombstone.id).where(
                Tombstone.sync_version.is_(None), Tombstone.account_id.is_not(None)
            )
        )
    )
    for tombstone_id in pending:
        db.execute(
            update(Tombstone)
            .where(Tombstone.id == tombstone_id)
            .values(record_id=f"erased-{new_id()}")
        )
