"""Canonical business objects shared by every layer; imports nothing above it."""
