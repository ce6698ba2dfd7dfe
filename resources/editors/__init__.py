"""The directory's editors: which organization's listings each staff account edits.

The binding is the directory's, not the account's: ``api.accounts`` knows staff and admins
but nothing of organizations, and this package adds what needs both (``flask users
create-staff --organization``, ``users list``'s organization column, ``users bind``)."""
