"""Upstream sources: other NuGet V3 feeds whose packages Galley serves through its
own resources, caches for good and shadows by its own ids (README, "Upstream
sources"). client.py speaks HTTP to them, cache.py keeps their answers, rules.py
says which ids may take their versions, documents.py builds the feed's answers."""
