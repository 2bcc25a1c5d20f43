"""Full-text search: one query language for the app's `/` and `deskline search` (SPEC D19).

`tokens` turns text into the words the index holds, the same on SQLite and PostgreSQL (no
stemming, case and accents folded); `query` reads what a person types into a `SearchQuery`.
The index and the SQL live in `storage.search`.
"""
