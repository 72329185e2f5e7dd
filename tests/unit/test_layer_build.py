"""The layer as `sam build` makes it (template.yaml: BuildMethod makefile, shared/Makefile):
our package shipped with bytecode that Lambda's read-only file system can use as it is."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
from pathlib import Path

from local.template import ROOT, load_template

# The pyc header's flags: bit 0 says the pyc is tied to its source by hash, bit 1 that the
# hash is checked at import. Unchecked: the import never reads the source.
_UNCHECKED_HASH = 0b01


def built_layer_code(artifacts: Path) -> Path:
    """The layer's own half, as `sam build` makes it (the other half, the dependencies, is
    fetched from the package index for arm64)."""
    make = ["make", "-s", "-C", str(ROOT / "shared"), "layer-code"]
    subprocess.run(  # noqa: S603 (make, with our own interpreter for the runtime's)
        [*make, f"ARTIFACTS_DIR={artifacts}", f"LAMBDA_PYTHON={sys.executable}"], check=True
    )
    return artifacts / "python"


def test_the_layer_is_built_by_its_makefile_for_arm64() -> None:
    layer = load_template()["Resources"]["BillingLayer"]

    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}
    makefile = (ROOT / "shared" / "Makefile").read_text()
    assert "build-BillingLayer:" in makefile
    assert "--platform manylinux2014_aarch64" in makefile


def test_every_module_of_ours_ships_with_unchecked_bytecode_of_its_own_source(
    tmp_path: Path,
) -> None:
    # When the layer's code is built
    layer = built_layer_code(tmp_path)

    # Then each module has a pyc, tied to its source by hash and never checked at import
    sources = sorted((layer / "billing").rglob("*.py"))
    assert len(sources) > 100
    for source in sources:
        header = Path(importlib.util.cache_from_source(str(source))).read_bytes()[:16]
        flags, source_hash = struct.unpack("<I", header[4:8])[0], header[8:16]
        assert flags == _UNCHECKED_HASH, source
        assert source_hash == importlib.util.source_hash(source.read_bytes()), source


def test_the_hot_handlers_import_from_the_built_layer_without_compiling(tmp_path: Path) -> None:
    layer = built_layer_code(tmp_path)
    # Each source made unreadable to compile from: only the shipped bytecode can be used.
    for source in (layer / "billing").rglob("*.py"):
        source.write_text(source.read_text() + "\nraise RuntimeError('compiled from source')\n")
    handler = str(ROOT / "functions" / "balances_track" / "app.py")
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('app', {handler!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print(sys.modules['billing.services.balances.track'].__file__)\n"
    )
    env = {"PYTHONPATH": str(layer), "TABLE_NAME": "layer", "API_KEY_HASHES": "0" * 64}

    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )

    assert out.stdout.strip() == str(layer / "billing" / "services" / "balances" / "track.py")
