"""Feature shaping rules: `shaped()` and `credit_systems_using()`, free of I/O."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.api.wire.features import UpdateFeatureRequest
from billing.domain.errors import InvalidRequest
from billing.domain.feature_changes import FeatureChanges, FeatureSpec, shaped
from billing.domain.features import CreditCost, Feature, FeatureDisplay, credit_systems_using


def feature(id: str, type: str = "metered", consumable: bool = True, **fields: object) -> Feature:
    return Feature(id=id, name=id.title(), type=type, consumable=consumable, **fields)


CATALOG = {
    "messages": feature("messages"),
    "tokens": feature("tokens"),
    "seats": feature("seats", consumable=False),
    "sso": feature("sso", type="boolean", consumable=False),
    "ai_credits": feature(
        "ai_credits",
        type="credit_system",
        credit_schema=(CreditCost(metered_feature_id="messages", credit_cost=1),),
    ),
}


def spec(id: str = "f", type: str = "metered", **fields: object) -> FeatureSpec:
    return FeatureSpec(id=id, name=id.title(), type=type, **fields)


def credits(*entries: tuple[str, float], id: str = "credits") -> FeatureSpec:
    return spec(
        id,
        "credit_system",
        credit_schema=tuple(CreditCost(metered_feature_id=f, credit_cost=c) for f, c in entries),
    )


def rejected_field(spec_: FeatureSpec, others: dict[str, Feature] | None = None) -> str:
    with pytest.raises(InvalidRequest) as caught:
        shaped(spec_, CATALOG if others is None else others)
    error = caught.value
    assert error.code == "invalid_inputs"
    assert error.details is not None
    assert len(error.details) == 1
    field = error.details[0]["field"]
    assert field in error.message
    assert error.details[0]["message"]
    return field


class TestMeteredFeatures:
    def test_a_metered_feature_is_consumable_by_default(self):
        result = shaped(spec("messages"), {})

        assert result.consumable is True
        assert result.metered is True

    def test_a_metered_feature_keeps_consumable_false(self):
        assert shaped(spec("seats", consumable=False), {}).consumable is False

    def test_a_metered_feature_keeps_an_explicit_consumable_true(self):
        assert shaped(spec("messages", consumable=True), {}).consumable is True

    def test_every_field_of_the_spec_is_carried_over(self):
        display = FeatureDisplay(singular="message", plural="messages")
        result = shaped(
            spec("messages", archived=True, event_names=("sent", "queued"), display=display), {}
        )

        assert result == Feature(
            id="messages",
            name="Messages",
            type="metered",
            consumable=True,
            archived=True,
            event_names=("sent", "queued"),
            display=display,
        )

    def test_a_metered_feature_with_a_credit_schema_is_rejected(self):
        bad = spec(
            "messages",
            credit_schema=(CreditCost(metered_feature_id="tokens", credit_cost=1),),
        )

        assert rejected_field(bad) == "credit_schema"


class TestBooleanFeatures:
    def test_a_boolean_feature_is_never_consumable(self):
        result = shaped(spec("sso", "boolean"), {})

        assert result.consumable is False
        assert result.metered is False

    def test_a_boolean_feature_accepts_an_explicit_consumable_false(self):
        assert shaped(spec("sso", "boolean", consumable=False), {}).consumable is False

    def test_a_consumable_boolean_feature_is_rejected_on_the_consumable_field(self):
        assert rejected_field(spec("sso", "boolean", consumable=True)) == "consumable"

    def test_a_boolean_feature_with_event_names_is_rejected(self):
        assert rejected_field(spec("sso", "boolean", event_names=("login",))) == "event_names"


class TestCreditSystems:
    def test_a_valid_credit_system_is_always_consumable_and_keeps_its_schema(self):
        result = shaped(credits(("messages", 1), ("tokens", 0.5)), CATALOG)

        assert result.type == "credit_system"
        assert result.consumable is True
        assert result.metered is False
        assert [(c.metered_feature_id, c.credit_cost) for c in result.credit_schema] == [
            ("messages", 1),
            ("tokens", 0.5),
        ]

    def test_a_credit_system_may_draw_on_a_non_consumable_metered_feature(self):
        assert shaped(credits(("seats", 2)), CATALOG).credit_schema[0].metered_feature_id == (
            "seats"
        )

    def test_a_credit_system_accepts_an_explicit_consumable_true(self):
        explicit = credits(("messages", 1)).model_copy(update={"consumable": True})

        assert shaped(explicit, CATALOG).consumable is True

    def test_a_non_consumable_credit_system_is_rejected(self):
        bad = credits(("messages", 1)).model_copy(update={"consumable": False})

        assert rejected_field(bad) == "consumable"

    def test_a_credit_system_without_a_schema_is_rejected(self):
        assert rejected_field(spec("credits", "credit_system")) == "credit_schema"

    def test_an_unknown_feature_in_the_schema_is_rejected_with_its_path(self):
        bad = credits(("messages", 1), ("nope", 1))

        assert rejected_field(bad) == "credit_schema.1.metered_feature_id"

    def test_a_boolean_feature_in_the_schema_is_rejected(self):
        assert rejected_field(credits(("sso", 1))) == "credit_schema.0.metered_feature_id"

    def test_another_credit_system_in_the_schema_is_rejected(self):
        bad = credits(("messages", 1), ("ai_credits", 1))

        assert rejected_field(bad) == "credit_schema.1.metered_feature_id"

    def test_a_credit_system_naming_itself_is_rejected(self):
        # Even when the catalog already holds a metered feature with the same id
        # (an update turning it into a credit system), it may not draw on itself.
        others = {**CATALOG, "credits": feature("credits")}

        assert (
            rejected_field(credits(("credits", 1)), others) == "credit_schema.0.metered_feature_id"
        )

    @pytest.mark.parametrize("cost", [0, -1, -0.01])
    def test_a_credit_cost_that_is_not_positive_is_rejected(self, cost: float):
        bad = credits(("messages", 1), ("tokens", cost))

        assert rejected_field(bad) == "credit_schema.1.credit_cost"

    def test_a_feature_listed_twice_in_the_schema_is_rejected_at_its_second_place(self):
        bad = credits(("messages", 1), ("tokens", 1), ("messages", 2))

        assert rejected_field(bad) == "credit_schema.2.metered_feature_id"

    def test_a_small_positive_credit_cost_is_accepted(self):
        assert shaped(credits(("tokens", 0.0001)), CATALOG).credit_schema[0].credit_cost == Decimal(
            "0.0001"
        )


class TestEventNames:
    def test_distinct_event_names_are_kept_in_order(self):
        assert shaped(spec(event_names=("b", "a")), {}).event_names == ("b", "a")

    def test_an_event_name_given_twice_is_rejected(self):
        assert rejected_field(spec(event_names=("sent", "read", "sent"))) == "event_names"


class TestCreditSystemsUsing:
    def test_names_every_credit_system_drawing_on_the_feature_sorted(self):
        features = {
            **CATALOG,
            "zeta": feature(
                "zeta",
                type="credit_system",
                credit_schema=(
                    CreditCost(metered_feature_id="tokens", credit_cost=1),
                    CreditCost(metered_feature_id="messages", credit_cost=3),
                ),
            ),
            "alpha": feature(
                "alpha",
                type="credit_system",
                credit_schema=(CreditCost(metered_feature_id="messages", credit_cost=2),),
            ),
        }

        assert credit_systems_using("messages", features) == ["ai_credits", "alpha", "zeta"]
        assert credit_systems_using("tokens", features) == ["zeta"]

    def test_a_feature_no_credit_system_draws_on_gives_an_empty_list(self):
        assert credit_systems_using("seats", CATALOG) == []
        assert credit_systems_using("unknown", CATALOG) == []
        assert credit_systems_using("messages", {}) == []


class TestFeatureChanges:
    """features.update's change set: what is not sent keeps its value."""

    seats = Feature(
        id="seats",
        name="Seats",
        type="metered",
        consumable=False,
        event_names=("seat_added",),
        display=FeatureDisplay(singular="seat", plural="seats"),
    )

    def update(self, **body: object) -> FeatureChanges:
        return UpdateFeatureRequest.model_validate({"feature_id": "seats", **body}).changes()

    def test_nothing_sent_keeps_the_feature_as_it_is(self):
        spec = self.update().applied_to(self.seats)

        fields = {k: v for k, v in self.seats._asdict().items() if k in FeatureSpec.model_fields}
        assert spec == FeatureSpec(**fields)

    def test_a_null_name_is_left_alone_but_a_null_display_clears_it(self):
        spec = self.update(name=None, display=None).applied_to(self.seats)

        assert spec.name == "Seats"
        assert spec.display is None

    def test_a_new_type_brings_its_own_default_consumable(self):
        spec = self.update(type="credit_system").applied_to(self.seats)

        assert spec.type == "credit_system"
        assert spec.consumable is None  # decided by `shaped` for the new type

    def test_a_null_list_empties_it(self):
        assert self.update(event_names=None).applied_to(self.seats).event_names == ()
