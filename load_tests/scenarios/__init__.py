"""Locust user classes, one module per kind of user; ``load_tests/locustfile.py`` re-exports."""
