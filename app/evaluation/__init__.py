"""``main.py evaluate``: a scenario's day played undisrupted, with a static plan and with
the tower closing the loop, and what each run comes to (issue 20)."""
