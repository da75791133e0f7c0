"""Marshmallow schemas: every request body and query string is loaded through one of these.

Unknown fields are rejected (marshmallow 4's default `RAISE`), types are strict, strings are
bounded, and money is an integer number of rupiah.
"""
