"""DynamoDB for the local stack and the tests: moto's server over real HTTP, and the table."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import boto3

from local.template import ROOT, load_template, table_definition, ttl_attribute


class MotoServer:
    """moto's DynamoDB in its own process (local/dynamodb_server.py): real HTTP, atomic
    requests, and off the functions' interpreter lock."""

    def __init__(self, port: int = 0) -> None:
        # A fixed command line; stdin is a pipe the server watches so that it ends with us.
        # A session of its own: Ctrl-C in a terminal (SIGINT to the foreground process
        # group) or a SIGTERM to `make dev`'s group reaches us, not the server, which we stop
        # after saving the kept data (LOCAL_KEEP_DATA=1) from it.
        self._process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "local.dynamodb_server", "--port", str(port)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self._process.stdout is not None
        ready = self._process.stdout.readline().split()
        if ready[:1] != ["ready"]:
            self.stop()
            raise RuntimeError("the DynamoDB server did not start")
        self.url = f"http://127.0.0.1:{ready[1]}"

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


def start_moto_server(port: int = 0) -> tuple[MotoServer, str]:
    server = MotoServer(port)
    return server, server.url


def ensure_table(endpoint_url: str, table_name: str, region: str = "us-east-1") -> bool:
    """Creates the template's table at this endpoint unless it exists. True if it created it."""
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    template = load_template()
    definition = table_definition(template, table_name)
    if table_name in client.list_tables()["TableNames"]:
        _add_missing_indexes(client, definition)
        return False
    client.create_table(**definition)
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = ttl_attribute(template)
    if ttl:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl, "Enabled": True},
        )
    return True


def _add_missing_indexes(client: Any, definition: dict[str, Any]) -> None:
    """A table made before the template gained an index gets it, as a deploy would add it
    (one index per update, as DynamoDB allows)."""
    table_name = definition["TableName"]
    described = client.describe_table(TableName=table_name)["Table"]
    present = {index["IndexName"] for index in described.get("GlobalSecondaryIndexes", [])}
    for index in definition.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] in present:
            continue
        client.update_table(
            TableName=table_name,
            AttributeDefinitions=definition["AttributeDefinitions"],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        client.get_waiter("table_exists").wait(TableName=table_name)
