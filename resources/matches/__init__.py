"""A plan step's matches: the directory listings its search (``directory_query``, copied
from a template) finds near the member's area, by the same search as /api/v1/resources.
Also what a step may link: any listing of the directory, a service or a job posting."""
