"""Plain async httpx clients, one per vendor. No Temporal here: the vendor's shape stays inside."""
