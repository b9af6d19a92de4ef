"""The seeded demo network and the `worklist demo` runner."""

from worklist.demo.runner import run_demo

__all__ = ["run_demo"]
