"""Each simulator driven by its vendor's own client, and each connector against the vendor's documented dialect."""
