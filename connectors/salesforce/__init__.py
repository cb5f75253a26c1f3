"""The Salesforce adapter: OAuth (auth), its REST dialect (client), field mapping (mapping), the CRM port
(adapter) and Outbound Messages (webhooks); Salesforce's quirks stay in this package."""
