#!/usr/bin/env python3
"""The integration tests' stub backend: runs examples/backend.py (one implementation)."""
import os, runpy; runpy.run_path(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "backend.py"), run_name="__main__")
