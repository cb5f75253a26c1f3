"""Port conformance kit: one suite per port, run against every adapter of that port."""
