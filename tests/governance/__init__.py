"""Governance: Cedar policies and what decides with them."""
