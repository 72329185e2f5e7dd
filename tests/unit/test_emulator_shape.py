"""The Stripe emulator's modules and functions stay small enough to read: files of at most
600 lines, functions of at most 60. (Its imports are checked for cycles with the rest of
`local/` by `test_import_cycles.py`.)"""

from __future__ import annotations

from pathlib import Path

import local
from tests.shape import line_count, long_functions

_EMULATOR = Path(local.__file__).parent / "stripe_emulator"
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 60


def test_no_emulator_file_is_over_600_lines() -> None:
    too_long = {
        path.name: lines
        for path in sorted(_EMULATOR.rglob("*.py"))
        if (lines := line_count(path)) > MAX_FILE_LINES
    }
    assert too_long == {}


def test_no_emulator_function_is_over_60_lines() -> None:
    too_long = {
        f"{path.name}: {function}"
        for path in sorted(_EMULATOR.rglob("*.py"))
        for function in long_functions(path.read_text(), MAX_FUNCTION_LINES)
    }
    assert too_long == set()
