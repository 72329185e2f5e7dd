"""Every field a dashboard page's form sends is one its form model declares (a field no
model has is refused with a 400), and every field a model requires is on the page."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from pydantic import BaseModel

from billing.dashboard import forms

TEMPLATES = Path(forms.__file__).parent / "templates"

# What reads each form the templates send: (method, path) -> the model, or the fields a
# page reads without one (signing out reads only the token; the search box, its query).
READ_BY: dict[tuple[str, str], type[BaseModel] | frozenset[str]] = {
    ("post", "/sign-in"): forms.SignInForm,
    ("post", "/sign-out"): frozenset({"csrf"}),
    ("get", "/customers"): frozenset({"q"}),
    ("post", "/customers"): forms.NewCustomerForm,
    ("post", "/customer/profile"): forms.ProfileForm,
    ("post", "/customer/plans"): forms.EnablePlanForm,
    ("post", "/customer/balances"): forms.BalanceForm,
    ("post", "/customer/cancel"): forms.CancelForm,
    ("get", "/customer/attach"): forms.AttachQuery,
    ("post", "/customer/attach"): forms.EnablePlanForm,
}
_CONTROLS = {"input", "select", "textarea", "button"}


class _Forms(HTMLParser):
    """Each form of a template: its method, the path `link()` gives it, the names it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            path = re.search(r"link\('([^']*)'", named.get("action") or "")
            assert path is not None, f"a form's action is a link(): {named}"
            self.found.append(((named.get("method") or "get").lower(), path.group(1), set()))
        elif tag in _CONTROLS and named.get("name"):
            assert self.found, f"a control outside any form: {named}"
            self.found[-1][2].add(str(named["name"]))


def template_forms() -> list[tuple[str, str, set[str]]]:
    found = []
    for template in sorted(TEMPLATES.glob("*.html")):
        parser = _Forms()
        parser.feed(template.read_text())
        found.extend(parser.found)
    return found


def test_every_form_sends_only_fields_its_model_declares_and_all_it_requires() -> None:
    sent = template_forms()
    assert {(method, path) for method, path, _ in sent} == set(READ_BY)
    for method, path, names in sent:
        reader = READ_BY[(method, path)]
        if isinstance(reader, frozenset):
            assert names == reader, (method, path)
            continue
        declared = set(reader.model_fields)
        required = {name for name, field in reader.model_fields.items() if field.is_required()}
        assert names <= declared, (method, path, names - declared)
        assert required <= names, (method, path, required - names)
        # A posted form carries the session's token, declared where it is read.
        assert ("csrf" in names) == (method == "post"), (method, path)
