"""customers.* requests and the Customer response."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from billing.api.wire.common import (
    Email,
    Id,
    Metadata,
    Moment,
    Name,
    StripeId,
    Text,
    WireRequest,
    WireResponse,
    omitted_when_none,
)
from billing.api.wire.features import FeatureResponse, feature_response
from billing.api.wire.flags import FlagResponse, flag_response
from billing.api.wire.holdings import BalanceResponse, balance_response
from billing.api.wire.subscriptions import (
    PurchaseResponse,
    SubscriptionResponse,
    purchase_response,
    subscription_response,
)
from billing.domain.customer_changes import CustomerChanges, CustomerConfigChanges, CustomerDraft
from billing.domain.customers import (
    MAX_CREATED_AT,
    Customer,
    CustomerConfig,
    Environment,
    PageQuery,
)
from billing.domain.errors import InvalidRequest
from billing.domain.features import Feature
from billing.domain.holdings import balances
from billing.domain.keep import KEEP


class CustomerConfigFields(WireRequest):
    disable_pooled_balance: bool | None = None
    disable_overage_billing: bool | None = None

    def changes(self) -> CustomerConfigChanges:
        return CustomerConfigChanges(**self.model_dump())


# Autumn's billing controls. Each one changes how a customer is billed or served (top-ups
# bought on their own, spend and usage limits, alerts, overage per feature), none of which
# is built here: an entry in any of them is refused, never kept and ignored.
BILLING_CONTROLS = (
    "auto_topups",
    "spend_limits",
    "usage_alerts",
    "usage_limits",
    "overage_allowed",
)


class BillingControlsFields(WireRequest):
    auto_topups: list[dict[str, Any]] | None = None
    spend_limits: list[dict[str, Any]] | None = None
    usage_alerts: list[dict[str, Any]] | None = None
    usage_limits: list[dict[str, Any]] | None = None
    overage_allowed: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _none_set(self) -> BillingControlsFields:
        named = [name for name in BILLING_CONTROLS if getattr(self, name)]
        if named:
            raise InvalidRequest(
                "Billing controls (auto top-ups, spend and usage limits, usage alerts, "
                "overage per feature) are not supported yet.",
                details=[
                    {"field": f"billing_controls.{name}", "message": "not supported yet"}
                    for name in named
                ],
            )
        return self


class CustomerFields(WireRequest):
    """What a caller may say about a customer, on creation as on update."""

    name: Name = None
    email: Email = None
    fingerprint: Text = None
    metadata: Metadata = None
    stripe_id: StripeId = None
    send_email_receipts: bool | None = None
    config: CustomerConfigFields | None = None
    # Only empty controls pass (see BillingControlsFields): nothing to keep.
    billing_controls: BillingControlsFields | None = None


class GetOrCreateCustomerRequest(CustomerFields):
    customer_id: Id | None  # required, but null asks for a customer without an id
    create_in_stripe: bool | None = None
    auto_enable_plan_id: Id | None = None
    expand: list[str] | None = None

    def draft(self) -> CustomerDraft:
        return CustomerDraft(
            name=self.name,
            email=self.email,
            fingerprint=self.fingerprint,
            metadata=self.metadata,
            send_email_receipts=self.send_email_receipts,
            config=None if self.config is None else self.config.changes(),
        )


class GetCustomerRequest(WireRequest):
    customer_id: Id
    expand: list[str] | None = None


class CreatedAtRange(WireRequest):
    start: Moment | None = None
    end: Moment | None = None


class ListCustomersRequest(WireRequest):
    start_cursor: str | None = None
    limit: int = Field(default=50, ge=1, le=100)
    sort_order: Literal["asc", "desc"] = "desc"
    search: str | None = Field(default=None, max_length=256)
    plans: list[Any] | None = None
    processors: list[Literal["stripe", "revenuecat", "vercel"]] | None = None
    created_at_range: CreatedAtRange | None = None

    def page_query(self) -> PageQuery:
        if self.plans:
            raise InvalidRequest(
                "Filtering customers by plan is not supported yet.",
                details=[{"field": "plans", "message": "not supported yet"}],
            )
        span = self.created_at_range or CreatedAtRange()
        # Bounds are inclusive milliseconds: a fractional start rounds up, an end down.
        created_from = None if span.start is None else min(math.ceil(span.start), MAX_CREATED_AT)
        created_to = None if span.end is None else min(math.floor(span.end), MAX_CREATED_AT)
        if created_from is not None and created_to is not None and created_from > created_to:
            raise InvalidRequest(
                "created_at_range starts after it ends.",
                details=[{"field": "created_at_range", "message": "start must not exceed end"}],
            )
        return PageQuery(
            cursor=self.start_cursor or None,
            limit=self.limit,
            ascending=self.sort_order == "asc",
            search=self.search or None,
            created_from=created_from,
            created_to=created_to,
            linked_to_stripe="stripe" in (self.processors or ()),
        )


class UpdateCustomerRequest(CustomerFields):
    customer_id: Id
    new_customer_id: Id | None = None

    def changes(self) -> CustomerChanges:
        """Only what the caller sent: a field sent as null clears it; one left out stays."""
        sent = self.model_fields_set

        def given(name: str) -> Any:
            return getattr(self, name) if name in sent else KEEP

        return CustomerChanges(
            name=given("name"),
            email=given("email"),
            fingerprint=given("fingerprint"),
            metadata=KEEP if "metadata" not in sent else (self.metadata or {}),
            stripe_id=given("stripe_id"),
            # Null is "not said" here: there is no unset state to go back to.
            send_email_receipts=KEEP
            if self.send_email_receipts is None
            else self.send_email_receipts,
            config=None if self.config is None else self.config.changes(),
        )


class DeleteCustomerRequest(WireRequest):
    customer_id: Id
    delete_in_stripe: bool = False


# The feature is embedded here, not in wire.holdings: check and track answer balances too, and
# their cold start should not load the feature models.
class CustomerBalanceResponse(BalanceResponse):
    # Only when asked for with `expand: ["balances.feature"]`.
    feature: FeatureResponse | None = omitted_when_none()


class CustomerFlagResponse(FlagResponse):
    # Only when asked for with `expand: ["flags.feature"]`.
    feature: FeatureResponse | None = omitted_when_none()


class CustomerConfigResponse(WireResponse):
    disable_pooled_balance: bool
    disable_overage_billing: bool


class CustomerResponse(WireResponse):
    id: str | None
    name: str | None
    email: str | None
    created_at: int
    fingerprint: str | None
    stripe_id: str | None
    env: Environment
    metadata: dict[str, Any]
    send_email_receipts: bool
    billing_controls: dict[str, Any] = Field(default_factory=dict)
    config: CustomerConfigResponse
    subscriptions: list[SubscriptionResponse]
    purchases: list[PurchaseResponse]
    licenses: list[dict[str, Any]] = Field(default_factory=list)
    balances: dict[str, CustomerBalanceResponse]
    flags: dict[str, CustomerFlagResponse]
    # Present only when asked for with `expand`.
    invoices: list[dict[str, Any]] | None = omitted_when_none()
    entities: list[dict[str, Any]] | None = omitted_when_none()
    trials_used: list[dict[str, Any]] | None = omitted_when_none()
    referrals: list[dict[str, Any]] | None = omitted_when_none()


class CustomerListResponse(WireResponse):
    list: list[CustomerResponse]
    next_cursor: str | None


# Expansions we can answer: invoices (given by the caller), the others empty lists until the
# feature behind them exists.
_EXPANDABLE_LISTS = ("invoices", "entities", "trials_used", "referrals")


def customer_response(
    customer: Customer,
    env: Environment,
    expand: list[str] | None = None,
    features: Mapping[str, Feature] | None = None,
    invoices: Sequence[WireResponse] = (),
) -> CustomerResponse:
    """`features` are embedded in the balances and flags `expand` names (see
    services.customers.expand)."""
    held = customer.holdings
    wanted = set(expand or ())
    balance_features = (features or {}) if "balances.feature" in wanted else {}
    flag_features = (features or {}) if "flags.feature" in wanted else {}
    expanded: dict[str, list[Any]] = {
        name: [] for name in _EXPANDABLE_LISTS if expand and name in expand
    }
    if "invoices" in expanded:
        expanded["invoices"] = [i.model_dump() for i in invoices]
    return CustomerResponse(
        id=customer.id,
        name=customer.name,
        email=customer.email,
        created_at=customer.created_at,
        fingerprint=customer.fingerprint,
        stripe_id=customer.stripe_id,
        env=env,
        metadata=customer.metadata,
        send_email_receipts=customer.send_email_receipts,
        config=_config_response(customer.config),
        subscriptions=[subscription_response(s) for s in held.subscriptions if not s.one_off],
        purchases=[purchase_response(s) for s in held.subscriptions if s.one_off],
        balances={
            f: CustomerBalanceResponse(
                **dict(balance_response(b)), feature=_embedded(balance_features.get(f))
            )
            for f, b in balances(held.grants).items()
        },
        flags={
            flag.feature_id: CustomerFlagResponse(
                **dict(flag_response(flag)), feature=_embedded(flag_features.get(flag.feature_id))
            )
            for flag in held.flags
        },
        **expanded,
    )


def customer_page(
    customers: list[Customer], next_cursor: str | None, env: Environment
) -> CustomerListResponse:
    return CustomerListResponse(
        list=[customer_response(customer, env) for customer in customers], next_cursor=next_cursor
    )


def _embedded(feature: Feature | None) -> FeatureResponse | None:
    return None if feature is None else feature_response(feature)


def _config_response(config: CustomerConfig) -> CustomerConfigResponse:
    return CustomerConfigResponse(**config._asdict())
