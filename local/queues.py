"""SQS for the local stack: the template's queues in moto, and a poller that feeds batches to
their functions the way Lambda's SQS event source does (partial batch failures included)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3

from local.background import Holdable
from local.gateway import FunctionPool
from local.template import QueueSource

# Lambda leaves a failed message invisible for the queue's visibility timeout (minutes);
# locally a retry comes after a second, so trying things by hand stays quick.
LOCAL_RETRY_DELAY_S = 1
# An idle poller waits this long in one receive (SQS long polling, as Lambda's event source
# polls) rather than asking again every few milliseconds: short polls of three idle queues
# kept a fifth of a core busy per stack, the suite's four stacks most of a core.
LONG_POLL_S = 1


def create_queues(endpoint_url: str, prefix: str, sources: list[QueueSource]) -> dict[str, str]:
    """Creates each source's queue (and dead-letter queue): queue name -> URL."""
    sqs = boto3.client("sqs", endpoint_url=endpoint_url)
    urls: dict[str, str] = {}
    for source in sources:
        attributes: dict[str, str] = {}
        if source.dead_letter_queue is not None:
            dlq = sqs.create_queue(QueueName=f"{prefix}-{source.dead_letter_queue}")["QueueUrl"]
            urls[source.dead_letter_queue] = dlq
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                    "maxReceiveCount": str(source.max_receive_count),
                }
            )
        urls[source.queue] = sqs.create_queue(
            QueueName=f"{prefix}-{source.queue}",
            Attributes=attributes,  # type: ignore[arg-type]
        )["QueueUrl"]
    return urls


class QueuePoller(Holdable):
    """Receives batches from one queue and invokes its function with the SQS event. Held
    (`held`), it takes no batch: a batch in hand, or a receive under way (at most
    LONG_POLL_S), ends first; what queues meanwhile is handled after."""

    def __init__(
        self,
        endpoint_url: str,
        queue_url: str,
        source: QueueSource,
        window_s: float | None = None,
        retry_delay_s: int = LOCAL_RETRY_DELAY_S,
    ) -> None:
        super().__init__()
        self._sqs = boto3.client("sqs", endpoint_url=endpoint_url)
        self.queue_url = queue_url
        self._source = source
        self._window_s = source.window_s if window_s is None else window_s
        self._retry_delay_s = retry_delay_s
        self._pool = FunctionPool(source.function)
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.invocations = 0

    @property
    def queue(self) -> str:
        """The template's name of the queue this poller serves."""
        return self._source.queue

    def start(self) -> QueuePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def drain(self, timeout_s: float = 30) -> None:
        """Returns once every message is handled (applied or in the dead-letter queue)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._idle.is_set() and self._waiting() == 0:
                return
            time.sleep(0.05)
        raise TimeoutError(f"the queue {self._source.queue} did not drain")

    def _waiting(self) -> int:
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )

    def _run(self) -> None:
        while not self._stop.is_set():
            with self.round_of_work() as free:
                held = not free
                batch = self._gather() if free else []
                if batch:
                    self._idle.clear()
                    self._handle(batch)
            # Between batches: `drain` asks SQS whether anything is left.
            self._idle.set()
            if held:
                self._stop.wait(0.02)

    def _gather(self) -> list[dict[str, Any]]:
        """Up to the batch size, waiting at most the batching window once messages arrive."""
        batch: list[dict[str, Any]] = []
        window_ends = None
        while len(batch) < self._source.batch_size:
            got: list[Any] = self._sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self._source.batch_size - len(batch)),
                AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                # The first receive waits for a message; later ones only fill the window.
                WaitTimeSeconds=0 if batch else LONG_POLL_S,
            ).get("Messages", [])
            if got:
                self._idle.clear()
                batch += got
                window_ends = window_ends or time.monotonic() + self._window_s
            elif window_ends is None or time.monotonic() >= window_ends:
                break
            else:
                time.sleep(0.02)
            if window_ends is not None and time.monotonic() >= window_ends:
                break
        return batch

    def _handle(self, batch: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in batch]}
        self.invocations += 1
        try:
            answer = self._pool.invoke(event)
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        except Exception:  # a crashed invocation: Lambda retries the whole batch
            failed = {m["MessageId"] for m in batch}
        done = [m for m in batch if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(done[start : start + 10])
                ],
            )
        for message in batch:
            if message["MessageId"] in failed:
                self._sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=self._retry_delay_s,
                )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": f"arn:aws:sqs:us-east-1:000000000000:{self._source.queue}",
            "awsRegion": "us-east-1",
        }
