"""Networked reporting worklist balancer: domain, storage and HTTP API."""
