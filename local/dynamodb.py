"""DynamoDB for the local stack and the tests: moto's server over real HTTP, and the table."""

from __future__ import annotations

import logging

import boto3
from moto.server import ThreadedMotoServer

from local.template import load_template, table_definition, ttl_attribute


def start_moto_server(port: int = 0) -> tuple[ThreadedMotoServer, str]:
    # werkzeug logs every DynamoDB call otherwise, drowning the functions' own logs.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    host, bound = server.get_host_and_port()
    return server, f"http://{host}:{bound}"


def ensure_table(endpoint_url: str, table_name: str, region: str = "us-east-1") -> bool:
    """Creates the template's table at this endpoint unless it exists. True if it created it."""
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, region_name=region)
    if table_name in client.list_tables()["TableNames"]:
        return False
    template = load_template()
    client.create_table(**table_definition(template, table_name))
    client.get_waiter("table_exists").wait(TableName=table_name)
    ttl = ttl_attribute(template)
    if ttl:
        client.update_time_to_live(
            TableName=table_name,
            TimeToLiveSpecification={"AttributeName": ttl, "Enabled": True},
        )
    return True
