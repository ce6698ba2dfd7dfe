"""Finding listings: the queries (``queries``), the derived data they read and how it is
kept (``models``, ``indexing``), opening hours (``hours``), the reentry facts (``facets``,
``reentry_terms``) and the shared search arguments (``schemas``)."""
