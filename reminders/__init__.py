"""Appointments, reminder planning and delivery (issue 2)."""
