"""Open Referral HSDS 3.0: our rows as HSDS objects (``serialize``, with the fields per
table in ``fields``), the public read API (``routes``), the dump (``export``) and the
importers of HSDS 3.0, HSDS 1.x and Ohana directories (``importers``)."""
