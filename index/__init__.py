"""Indexing: load, clean, chunk, embed and store documents; open an existing index for reading."""

from index.privacy import disable_phone_home

disable_phone_home()
