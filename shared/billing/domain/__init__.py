"""Pure domain logic and models: no I/O, no boto3, no stripe."""
