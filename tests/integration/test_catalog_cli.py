"""The catalog file pushed with `python -m local.catalog` against the local stack."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import yaml

from local.catalog import CatalogError, desired, main, push, read, render
from local.dev import catalog_command
from local.stack import LocalStack
from local.template import ROOT
from tests.conftest import SECRET_KEY, table_items

SAMPLE = ROOT / "local" / "catalog.yaml"


def test_the_sample_pushes_then_a_second_push_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack
) -> None:
    first = push(SAMPLE, clean_stack.api_url, SECRET_KEY)
    items_after_first = table_items(clean_stack)
    assert clean_stack.emulator is not None
    stripe_after_first = clean_stack.emulator.counts()

    second = push(SAMPLE, clean_stack.api_url, SECRET_KEY)

    assert {c.action for c in first} == {"create"}
    assert {c.action for c in second} == {"unchanged"}
    assert render(second).endswith("no change")
    assert table_items(clean_stack) == items_after_first
    assert clean_stack.emulator.counts() == stripe_after_first
    # One product per paid plan, one price per priced thing: pro (base, overage), the
    # credits top-up, the priority support add-on.
    assert stripe_after_first["product"] == 3
    assert stripe_after_first["price"] == 4
    plans = api.post("/v1/plans.list", json={}).json()["list"]
    assert [p["id"] for p in plans] == ["free", "pro", "credits_top_up", "priority_support"]


def test_a_dry_run_prints_the_diff_and_changes_nothing(
    api: httpx.Client, clean_stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["push", str(SAMPLE), "--url", clean_stack.api_url, "--key", SECRET_KEY, "--dry-run"]
    )

    out = capsys.readouterr().out
    assert code == 0
    assert "+ plan pro (create)" in out
    assert "dry run" in out
    assert api.post("/v1/features.list", json={}).json()["list"] == []


def test_a_changed_price_is_an_update_with_new_stripe_prices(
    api: httpx.Client, clean_stack: LocalStack, tmp_path: Path
) -> None:
    push(SAMPLE, clean_stack.api_url, SECRET_KEY)
    catalog = yaml.safe_load(SAMPLE.read_text())
    catalog["plans"][1]["price"]["amount"] = 25
    changed = tmp_path / "catalog.yaml"
    changed.write_text(yaml.safe_dump(catalog))

    found = push(changed, clean_stack.api_url, SECRET_KEY)

    [update] = [c for c in found if c.action == "update"]
    assert (update.id, update.fields) == ("pro", ("price",))
    pro = api.post("/v1/plans.get", json={"plan_id": "pro"}).json()
    assert pro["price"]["amount"] == 25
    assert clean_stack.emulator is not None
    assert clean_stack.emulator.count("price") == 5, "the new base price; the others are reused"


@pytest.mark.parametrize(
    ("catalog", "message"),
    [
        (
            {"plans": [{"id": "p", "name": "P", "items": [{"feature_id": "ghost"}]}]},
            "plans[0] (p): items.0.feature_id: no such feature",
        ),
        (
            {"features": [{"id": "f", "name": "F", "type": "metered", "consumable": "yes"}]},
            "features[0] (f): consumable",
        ),
        (
            {"features": [{"id": "c", "name": "C", "type": "credit_system", "credit_schema": []}]},
            "features[0] (c): credit_schema",
        ),
        (
            {"plans": [{"id": "p", "name": "P", "price": {"amount": -1, "interval": "month"}}]},
            "plans[0] (p): price.amount",
        ),
        ({"products": []}, "products"),
    ],
)
def test_a_bad_catalog_is_refused_naming_the_place_and_nothing_is_sent(
    api: httpx.Client,
    clean_stack: LocalStack,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    catalog: dict[str, object],
    message: str,
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(catalog))

    code = main(["push", str(bad), "--url", clean_stack.api_url, "--key", SECRET_KEY])

    assert code == 2
    assert message in capsys.readouterr().err
    assert table_items(clean_stack) == []


def test_credit_systems_may_come_before_their_features_in_the_file() -> None:
    catalog = read(SAMPLE)
    catalog.features.reverse()

    features, _ = desired(catalog)

    assert features["credits"].credit_schema[0].metered_feature_id == "messages"


def test_a_missing_file_is_a_catalog_error(tmp_path: Path) -> None:
    with pytest.raises(CatalogError):
        read(tmp_path / "nope.yaml")


def test_a_bare_push_follows_the_local_stacks_port_key_and_catalog_file(
    api: httpx.Client,
    clean_stack: LocalStack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`make catalog` with no arguments, run where `make dev` runs with PORT, LOCAL_SECRET_KEY
    and LOCAL_CATALOG set: it pushes that file to that stack with that key."""
    own = tmp_path / "mine.yaml"
    own.write_text(yaml.safe_dump({"features": [{"id": "f", "name": "F", "type": "boolean"}]}))
    for name in ("BILLING_API_URL", "BILLING_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORT", clean_stack.api_url.rpartition(":")[2])
    monkeypatch.setenv("LOCAL_SECRET_KEY", SECRET_KEY)
    monkeypatch.setenv("LOCAL_CATALOG", str(own))

    code = main(["push"])

    assert code == 0, capsys.readouterr().err
    features = api.post("/v1/features.list", json={}).json()["list"]
    assert [f["id"] for f in features] == ["f"]


def test_the_hint_to_push_again_names_what_differs_from_make_catalogs_defaults(
    clean_stack: LocalStack, tmp_path: Path
) -> None:
    port = clean_stack.api_url.rpartition(":")[2]

    assert catalog_command(SAMPLE, clean_stack) == (
        f"PORT={port} LOCAL_SECRET_KEY={SECRET_KEY} make catalog"
    )
    assert catalog_command(tmp_path / "c.yaml", clean_stack).endswith(
        f"make catalog FILE={tmp_path / 'c.yaml'}"
    )
