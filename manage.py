#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # manage.py is a developer's tool first: without DJANGO_DEBUG it runs in
    # development mode. Servers (config/wsgi.py, gunicorn) default to off, and
    # production commands set DJANGO_DEBUG=0 (see the README).
    os.environ.setdefault("DJANGO_DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
