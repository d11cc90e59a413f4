"""Galley's benchmark: `make bench` (python -m bench.run).

Measures what a push costs: the API key check in-process, refused pushes
under gunicorn, the server time of a small push and the memory a worker
needs to receive a large package. Results go to docs/benchmarks.md.
"""
