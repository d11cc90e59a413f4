"""What people and clients do with packages, apart from HTTP (as allauth's internal/flows).

- `publish`: push, symbol push, unlist and relist through the API, top to bottom.
- `owners`: ownership requests, and adding and removing owners.
- `listing`: unlist and relist from the web page.
- `deletion`: deleting a version for good (administrators).
"""
