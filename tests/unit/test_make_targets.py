"""Every `make` target the README documents exists and is run by CI (.ci/make_targets, after
`make test`), each within a time bound: a command a newcomer copies from the README works."""

from __future__ import annotations

import re

from local.template import ROOT


def documented_targets() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    return set(re.findall(r"`make ([a-z][a-z-]*)", readme)) | set(
        re.findall(r"^make ([a-z][a-z-]*)", readme, flags=re.MULTILINE)
    )


def test_every_documented_make_target_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    defined = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))

    assert documented_targets() - defined == set()


def test_ci_runs_every_documented_make_target_within_a_bound() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    script = (ROOT / ".ci" / "make_targets").read_text()
    bounded = set(re.findall(r"^step \d+ make ([a-z][a-z-]*)", script, flags=re.MULTILINE))
    # Targets whose tests `make test` already ran: their recipe is resolved (make -n).
    bounded |= set(re.findall(r"^covered ([a-z][a-z-]*) ", script, flags=re.MULTILINE))
    # `make dev` runs in the background (stopped by a signal), `make test` in .ci/run itself.
    bounded |= {"test"} if re.search(r"^make test$", run, flags=re.MULTILINE) else set()
    bounded |= {"dev"} if "setsid make dev" in script else set()

    assert ".ci/make_targets" in run
    assert documented_targets() - bounded == set()
