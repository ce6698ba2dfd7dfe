"""The directory's services as members and staff see them: routes, operations
(``service``), how a listing is shown (``serialize``), the places staff give it
(``locations``) and its shapes (``schemas``)."""
