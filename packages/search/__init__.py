"""Search: the rows it reads (rows.py, written by packages/lifecycle.py) and the
queries the feed and the site answer with them (queries.py)."""
