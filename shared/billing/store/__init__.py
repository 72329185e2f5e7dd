"""The only code that talks to DynamoDB: keys, item mapping, conditional writes, transactions."""
