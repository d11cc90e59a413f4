"""Galley's own plumbing that no app owns: the bottom layer, which imports no app.

What lives here serves every layer above (e.g. `bodies`, the guard against slow
request bodies that config/wsgi.py installs and the publish API answers with 408).
It has no models and no settings of its own; see the README's architecture section.
"""
