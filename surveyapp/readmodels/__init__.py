"""The read side: page-shaped read models (results, comparison, scorecards, follow-up
lists, export sheets) and the lookups both sides use (rounds, published definitions).
Nothing here changes state; services may import these, never the reverse."""
