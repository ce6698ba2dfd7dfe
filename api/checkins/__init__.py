"""A member's own check-ins (mood, needs, wins, a note, a call for help) and the replies
of the mentors they shared them with."""
