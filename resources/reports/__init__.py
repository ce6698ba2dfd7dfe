"""Members' reports of wrong listings, for the organization's staff: model, routes,
operations and shapes."""
