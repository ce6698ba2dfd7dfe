"""Job postings (schema.org JobPosting): model, routes, operations, how they are shown
and their shapes."""
