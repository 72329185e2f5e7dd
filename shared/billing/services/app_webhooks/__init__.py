"""Application webhooks: the events this service announces to the application (`events`), the
endpoints it announces them to (`endpoints`), and their signed delivery with retries
(`delivery`).

Owns: every outgoing event, from the moment a use case publishes it to its last attempt.
May call: `billing.domain`, `billing.store`, `billing.sqs`. Every other service calls
`events.publish` downward; nothing here calls another service.
"""
