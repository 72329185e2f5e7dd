"""template.yaml's alarms and dashboard against the README's Runbook and the metrics the code
emits: each alarm has its runbook entry and each entry its alarm; every dead-letter queue is
watched for depth and age; every alarm reaches on-call; every metric of our own that an alarm
reads is one the code records."""

from __future__ import annotations

import re
from typing import Any

import pytest

from local.template import ROOT, load_template

ALARM = "AWS::CloudWatch::Alarm"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def alarms(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == ALARM
    }


def runbook_entries() -> list[str]:
    """The alarm each `### `Name`` heading of the README's Runbook section is about."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Runbook\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^### `(\w+)`", section, flags=re.MULTILINE)


def metric_stats(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """Each metric the alarm reads (by itself or in its metric math)."""
    if "MetricName" in alarm:
        return [alarm]
    return [query["MetricStat"]["Metric"] for query in alarm["Metrics"] if "MetricStat" in query]


def test_every_alarm_has_a_runbook_entry_and_every_entry_an_alarm(template: dict[str, Any]):
    entries = runbook_entries()

    assert len(entries) == len(set(entries)), "an alarm described twice"
    assert set(entries) == set(alarms(template))


def test_every_dead_letter_queue_is_watched_for_its_depth_and_its_oldest_message(
    template: dict[str, Any],
):
    resources = template["Resources"]
    dead_letter_queues = {
        resource["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["GetAtt"][0]
        for resource in resources.values()
        if resource["Type"] == "AWS::SQS::Queue" and "RedrivePolicy" in resource["Properties"]
    }
    watched: dict[str, set[str]] = {}
    for alarm in alarms(template).values():
        for metric in metric_stats(alarm):
            if metric["Namespace"] == "AWS/SQS":
                (dimension,) = metric["Dimensions"]
                queue = dimension["Value"]["GetAtt"][0]
                watched.setdefault(queue, set()).add(metric["MetricName"])

    assert len(dead_letter_queues) >= 3
    for queue in dead_letter_queues:
        assert watched.get(queue) == {
            "ApproximateNumberOfMessagesVisible",
            "ApproximateAgeOfOldestMessage",
        }, queue


def test_every_alarm_notifies_the_alarm_topic(template: dict[str, Any]):
    for name, alarm in alarms(template).items():
        assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
    assert template["Resources"]["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert template["Outputs"]["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


def test_the_alarms_watch_5xx_throttles_stripe_and_the_audit(template: dict[str, Any]):
    read = {
        (metric["Namespace"], metric["MetricName"])
        for alarm in alarms(template).values()
        for metric in metric_stats(alarm)
    }

    assert {
        ("AWS/ApiGateway", "5xx"),
        ("AWS/Lambda", "Throttles"),
        ("AWS/DynamoDB", "ReadThrottleEvents"),
        ("AWS/DynamoDB", "WriteThrottleEvents"),
        ("Billing", "StripeEventFailures"),
        ("Billing", "StripeCalls"),
        ("Billing", "BillingDrift"),
    } <= read


def test_every_metric_of_ours_an_alarm_or_the_dashboard_reads_is_recorded_by_the_code(
    template: dict[str, Any],
):
    code = "\n".join(
        path.read_text()
        for folder in ("shared/billing", "functions")
        for path in (ROOT / folder).rglob("*.py")
    )
    recorded = set(re.findall(r'(?:count|milliseconds)\(\s*"(\w+)"', code))
    from_alarms = {
        metric["MetricName"]
        for alarm in alarms(template).values()
        for metric in metric_stats(alarm)
        if metric["Namespace"] == "Billing"
    }
    (dashboard,) = [
        r["Properties"]["DashboardBody"]["Sub"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ]
    on_dashboard = set(re.findall(r'\\"(\w+)\\"', dashboard))
    on_dashboard |= set(re.findall(r'\["Billing", "(\w+)"', dashboard))

    assert from_alarms <= recorded
    assert on_dashboard <= recorded, on_dashboard - recorded
    # The Stripe error rate reads every outcome the Stripe client records.
    (stripe_rate,) = [a for n, a in alarms(template).items() if n == "StripeErrorRateAlarm"]
    outcomes = {
        dimension["Value"]
        for metric in metric_stats(stripe_rate)
        for dimension in metric["Dimensions"]
        if dimension["Name"] == "outcome"
    }
    observed = (ROOT / "shared/billing/stripe_api/observed.py").read_text()
    assert outcomes == set(re.findall(r'return "(\w+)"', observed)) | {"unreachable"}
