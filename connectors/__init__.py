"""PACS and RIS feeds in: each connector normalises its source and delivers over the HTTP API."""
