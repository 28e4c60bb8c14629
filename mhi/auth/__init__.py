"""Accounts, roles and access: who may see which federation, scheme and record."""
