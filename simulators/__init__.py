"""Local stand-ins for HubSpot, NetSuite, Stripe and Zendesk, speaking their real dialects."""
