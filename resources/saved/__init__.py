"""Members' saved listings: model, routes, operations and shapes."""
