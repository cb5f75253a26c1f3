"""The Stripe simulator driven by Stripe's own Python SDK, every answer checked against Stripe's spec."""
