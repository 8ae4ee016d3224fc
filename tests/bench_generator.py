"""bench/generate.py (a script, not a package) loaded as a module, once, for the tests that
generate clusters with it."""

from __future__ import annotations

import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

GENERATE = Path(__file__).resolve().parents[1] / "bench" / "generate.py"


@functools.cache
def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # before running it: its dataclasses look their module up
    spec.loader.exec_module(module)
    return module
