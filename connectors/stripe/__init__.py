"""The stripe adapter: its HTTP dialect (client), its field mapping (mapping); vendor quirks stay in this package."""
