"""Source adapters: read a source's raw files as its spec declares them."""
