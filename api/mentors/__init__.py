"""Mentors by invitation: invites, scoped and revocable grants, the one function that
decides every mentor read, and the access log the member reads."""
